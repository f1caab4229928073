"""Browser: the messy demo company's Hygiene Tray triaged with the keyboard only.

Move, fix one issue, dismiss one, snooze one; the counters and the score change as it happens, and a reload
shows the same state.
"""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Page, expect

from tests.support.browser import keys_ready

DEMO_LOGIN = "advisor@demo.runway.example"
DEMO_PASSWORD = "runway-demo"
MESSY = "Brightside Landscaping"


def business_id(data_dir, name: str) -> int:
    with sqlite3.connect(data_dir / "runway.db") as conn:
        (found,) = conn.execute("SELECT id FROM businesses WHERE name = ?", (name,)).fetchone()
    return int(found)


def counter(page: Page, severity: str) -> int:
    return int(page.locator(f'#tray-counters [data-count="{severity}"] dd').inner_text())


def score(page: Page) -> int:
    return int(page.locator("#tray-counters [data-score]").get_attribute("data-score") or "0")


def selected(page: Page):
    return page.locator("#tray [data-keynav-item].is-selected")


def wait_until_idle(page: Page) -> None:
    """A person reads the panel before pressing a key: let htmx finish swapping and settling it first."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")


def move_to(page: Page, rule: str) -> str:
    """Press j until the selected row is an issue of `rule`; returns that row's id."""
    for _ in range(30):
        if selected(page).count() and selected(page).get_attribute("data-rule") == rule:
            return selected(page).get_attribute("id") or ""
        page.keyboard.press("j")
    raise AssertionError(f"no {rule} row reached with j")


def test_triage_three_issues_with_the_keyboard_only(page: Page, demo_server, console_errors):
    messy = business_id(demo_server.data_dir, MESSY)
    page.goto(f"{demo_server.url}/login?next=/b/{messy}/hygiene")
    page.keyboard.type(DEMO_LOGIN)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Hygiene Tray")).to_be_visible()
    keys_ready(page)
    high, first_score = counter(page, "high"), score(page)
    cleared = page.locator("#tray-counters .cleared")
    expect(cleared).to_have_attribute("data-cleared", "0")

    # Move and dismiss: "not a duplicate".
    page.keyboard.press("j")
    dismissed = move_to(page, "possible_duplicate_bill")
    page.keyboard.press("x")
    expect(page.locator(f"#{dismissed}")).to_have_attribute("data-cleared", "dismissed")
    expect(cleared).to_have_attribute("data-cleared", "1")
    expect(page.locator('#tray-counters [data-count="high"] dd')).to_have_text(str(high - 1))
    expect(selected(page)).to_have_count(1)
    assert selected(page).get_attribute("id") != dismissed, "focus moved on to the next row"

    # Fix: f opens the inline form with the suggested due date focused; Enter writes it to QuickBooks.
    fixed = move_to(page, "bill_missing_due_date")
    page.keyboard.press("f")
    due = page.locator(f'#{fixed} input[name="due_date"]')
    expect(due).to_be_focused()
    expect(page.locator(f"#{fixed} .impact")).to_contain_text("Runway")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{fixed}")).to_have_attribute("data-cleared", "fixed")
    expect(page.locator(f"#{fixed}")).to_contain_text("Due date set to")
    expect(page.locator('#tray-counters [data-count="high"] dd')).to_have_text(str(high - 2))
    expect(page.locator("#tray-counters [data-score]")).not_to_have_attribute("data-score", str(first_score))
    assert score(page) > first_score

    # Snooze the row the focus landed on: z, then 1 for one week.
    snoozed = selected(page).get_attribute("id") or ""
    page.keyboard.press("z")
    expect(page.locator(f'#{snoozed} [data-hotkey="1"]')).to_be_visible()
    wait_until_idle(page)
    page.keyboard.press("1")
    expect(page.locator(f"#{snoozed}")).to_have_attribute("data-cleared", "snoozed")
    expect(page.locator(f"#{snoozed}")).to_contain_text("Snoozed until")
    after = {s: counter(page, s) for s in ("high", "medium", "low")}
    final_score = score(page)
    triaged = int(cleared.get_attribute("data-cleared") or "0")
    assert triaged >= 3

    page.reload()
    expect(page.get_by_role("heading", name="Hygiene Tray")).to_be_visible()
    keys_ready(page)
    for row_id in (dismissed, fixed, snoozed):
        expect(page.locator(f"#{row_id}")).to_have_count(0)
    assert {s: counter(page, s) for s in ("high", "medium", "low")} == after
    assert score(page) == final_score
    expect(cleared).to_have_attribute("data-cleared", str(triaged))
    expect(cleared).to_contain_text(re.compile(rf"{triaged} of \d+ cleared this week"))
    assert console_errors == []
