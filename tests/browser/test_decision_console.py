"""Browser: the tight demo company's decision queue worked with the keyboard only.

Six items: pay one bill (recording the BillPayment), schedule one, delay one past the cash-zero date, chase
an invoice, skip one, and chase-then-undo another. The header's running total changes before anything is
finalized; F finalizes; the sandbox then holds exactly the expected writes and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.browser import keys_ready

DEMO_LOGIN = "advisor@demo.runway.example"
DEMO_PASSWORD = "runway-demo"
TIGHT = "Tidewater Design Studio"


def business_and_realm(data_dir: Path, name: str) -> tuple[int, str]:
    with sqlite3.connect(data_dir / "runway.db") as conn:
        business_id, realm_id = conn.execute(
            "SELECT b.id, c.realm_id FROM businesses b JOIN qbo_connections c ON c.business_id = b.id"
            " WHERE b.name = ?",
            (name,),
        ).fetchone()
    return int(business_id), str(realm_id)


def sandbox_writes(data_dir: Path, realm_id: str) -> tuple[list[str], list[str], dict[str, int]]:
    """(bills paid by a BillPayment, invoices e-mailed, bill SyncTokens) as the QBO sandbox stores them."""
    with sqlite3.connect(data_dir / "qbo-sandbox.db") as conn:
        payments = [
            json.loads(doc)
            for (doc,) in conn.execute(
                "SELECT doc FROM sandbox_entities"
                " WHERE realm_id = ? AND entity = 'BillPayment' AND NOT deleted",
                (realm_id,),
            )
        ]
        emails = [
            entity_id
            for (entity_id,) in conn.execute(
                "SELECT entity_id FROM sent_emails WHERE realm_id = ? AND entity = 'Invoice' ORDER BY id",
                (realm_id,),
            )
        ]
        tokens = dict(
            conn.execute(
                "SELECT id, sync_token FROM sandbox_entities WHERE realm_id = ? AND entity = 'Bill'",
                (realm_id,),
            )
        )
    paid = sorted(
        link["TxnId"] for p in payments for line in p.get("Line", []) for link in line.get("LinkedTxn", [])
    )
    return paid, emails, {str(k): int(v) for k, v in tokens.items()}


def selected(page: Page):
    return page.locator("#queue [data-keynav-item].is-selected")


def move_to(page: Page, row_id: str) -> None:
    """Press j or k until `row_id` is the selected row."""
    ids = page.locator("#queue [data-keynav-item]").evaluate_all("rows => rows.map(r => r.id)")
    target = ids.index(row_id)
    for _ in range(2 * len(ids)):
        current = selected(page).get_attribute("id") if selected(page).count() else None
        if current == row_id:
            return
        index = ids.index(current) if current in ids else -1
        page.keyboard.press("j" if index < target else "k")
    raise AssertionError(f"could not reach {row_id} with j/k")


def plan_delta(page: Page) -> str:
    return page.locator("#plan-total .delta").get_attribute("data-delta-days") or ""


def test_work_six_items_with_the_keyboard_and_finalize_exactly_once(page: Page, demo_server, console_errors):
    business_id, realm_id = business_and_realm(demo_server.data_dir, TIGHT)
    paid_before, emailed_before, tokens_before = sandbox_writes(demo_server.data_dir, realm_id)
    page.goto(f"{demo_server.url}/login?next=/b/{business_id}/console")
    page.keyboard.type(DEMO_LOGIN)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Decisions")).to_be_visible()
    keys_ready(page)
    expect(page.locator("#plan-total")).to_contain_text("No decisions yet")

    rows = page.locator("#queue [data-keynav-item]")
    bills = rows.and_(page.locator("[data-entity-type=bill]")).evaluate_all(
        "rows => rows.map(r => [r.id, r.dataset.qboId,"
        " Number(r.querySelector('.row-amount').textContent.replace(/[^0-9.]/g, ''))])"
    )
    invoices = rows.and_(page.locator("[data-entity-type=invoice]")).evaluate_all(
        "rows => rows.map(r => [r.id, r.dataset.qboId])"
    )
    assert len(bills) >= 3
    assert len(invoices) >= 3
    by_size = sorted(bills, key=lambda b: -b[2])
    (delayed, delayed_id, _), (paid, paid_id, _), (scheduled, scheduled_id, _) = by_size[:3]
    (chased, chased_id), (undone, undone_id), (skipped, skipped_id) = invoices[:3]

    # 1. Pay now, recording the payment from the bank account: p, choose the account, Enter.
    page.keyboard.press("j")
    move_to(page, paid)
    page.keyboard.press("p")
    account = page.locator(f"#{paid} select[name=bank_account]")
    expect(account).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{paid}")).to_have_attribute("data-status", "approved")
    expect(page.locator(f"#{paid} .decision-verb")).to_contain_text("record from")
    expect(page.locator("#plan-total")).to_contain_text("This decision")

    # 2. Schedule on the due date: s, Enter.
    move_to(page, scheduled)
    page.keyboard.press("s")
    expect(page.locator(f"#{scheduled} input[name=on]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f"#{scheduled} .decision-verb")).to_contain_text("Schedule to")

    # 3. Delay the largest bill well past the cash-zero date: d, Tab to the date, type it, Enter.
    before_delay = plan_delta(page)
    move_to(page, delayed)
    page.keyboard.press("d")
    expect(page.locator(f"#{delayed} button[name=preset]").first).to_be_focused()
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(page.locator(f"#{delayed} input[name=on]")).to_be_focused()
    later = dt.date.today() + dt.timedelta(days=80)
    page.keyboard.type(later.strftime("%m%d%Y"))
    page.keyboard.press("Enter")
    expect(page.locator(f"#{delayed} .decision-verb")).to_contain_text("Delay to")
    expect(page.locator("#plan-total .delta")).not_to_have_attribute("data-delta-days", before_delay)
    assert int(plan_delta(page)) > 0, "paying after the cash-zero date lengthens the runway"
    expect(page.locator("#plan-total")).to_contain_text("These 3 decisions")

    # 4. Chase an invoice; 5. skip another; 6. chase a third, then undo it.
    move_to(page, chased)
    page.keyboard.press("c")
    expect(page.locator(f"#{chased}")).to_have_attribute("data-status", "approved")
    move_to(page, skipped)
    page.keyboard.press("x")
    expect(page.locator(f"#{skipped} .decision-verb")).to_have_text("Skip this week")
    move_to(page, undone)
    page.keyboard.press("c")
    expect(page.locator(f"#{undone}")).to_have_attribute("data-status", "approved")
    expect(page.locator("#plan-total")).to_contain_text("These 6 decisions")
    page.keyboard.press("u")
    expect(page.locator(f"#{undone}")).not_to_have_attribute("data-decision-id", re.compile(r".+"))
    expect(page.locator("#plan-total")).to_contain_text("These 5 decisions")
    expect(page.locator('#console-counters [data-count="approved"]')).to_contain_text("5")

    # Nothing has reached QuickBooks yet.
    assert sandbox_writes(demo_server.data_dir, realm_id) == (paid_before, emailed_before, tokens_before)

    page.keyboard.press("F")
    expect(page.locator("#finalize")).to_contain_text("Finalized: 5 of 5", timeout=20_000)
    expect(page.locator("#finalize [data-outcome=done]")).to_have_count(5)
    for done in (paid, scheduled, delayed, chased, skipped):
        expect(page.locator(f"#{done}")).to_have_count(0)
    expect(page.locator(f"#{undone}")).to_have_count(1)
    expect(page.locator('#console-counters [data-count="done"]')).to_contain_text("5")

    paid_after, emailed_after, tokens_after = sandbox_writes(demo_server.data_dir, realm_id)
    assert paid_after == sorted([*paid_before, paid_id])
    assert emailed_after == [*emailed_before, chased_id]
    changed = {bill for bill, token in tokens_after.items() if tokens_before.get(bill) != token}
    assert changed == {paid_id}, "only the paid bill changed in QuickBooks (its balance)"
    assert {scheduled_id, delayed_id, skipped_id, undone_id}.isdisjoint(changed)
    assert console_errors == []
