"""Browser: the demo advisor finds the client in trouble first, moves through the client list with the
keyboard, opens the tight client and switches between its Digest, Hygiene Tray and Decision Console
with 1/2/3."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import keys_ready


def test_an_advisor_works_the_client_list_and_the_client_tabs_by_keyboard(
    page: Page, demo_server, console_errors
):
    page.goto(f"{demo_server.url}/login")
    page.keyboard.type("advisor@demo.runway.example")
    page.keyboard.press("Tab")
    page.keyboard.type("runway-demo")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    keys_ready(page)
    rows = page.locator("#client-list [data-business-id]")
    expect(rows).to_have_count(4)
    # Shortest runway first: the client in trouble, then the tight one.
    expect(rows.nth(0)).to_contain_text("Ironclad Fabrication")
    expect(rows.nth(0).locator(".chip")).to_have_text("Red")
    expect(rows.nth(1)).to_contain_text("Tidewater Design Studio")
    expect(rows.nth(1).locator(".chip")).to_have_text("Amber")

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/b/\d+/digest$"))
    business_path = page.url.rsplit("/", 1)[0]
    expect(page.get_by_role("heading", name=re.compile("^Tidewater Design Studio: week"))).to_be_visible()
    keys_ready(page)
    expect(page.locator("#digest-runway")).to_contain_text("weeks of cash")
    current_tab = page.locator('#business-tabs [aria-current="page"]')
    expect(current_tab).to_contain_text("Digest")

    page.keyboard.press("2")
    expect(page).to_have_url(f"{business_path}/hygiene")
    keys_ready(page)
    expect(current_tab).to_contain_text("Hygiene Tray")
    page.keyboard.press("3")
    expect(page).to_have_url(f"{business_path}/console")
    keys_ready(page)
    expect(current_tab).to_contain_text("Decision Console")
    page.keyboard.press("1")
    expect(page).to_have_url(f"{business_path}/digest")
    expect(current_tab).to_contain_text("Digest")
    assert console_errors == []
