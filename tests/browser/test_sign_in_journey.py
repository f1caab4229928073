"""Browser: sign in with the keyboard, find "Your businesses", use the shortcut overlay and j/k/Enter."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import keys_ready
from tests.support.personas import PASSWORD


def test_it_signs_in_with_the_keyboard_and_shows_the_shortcut_help(page: Page, live_server, console_errors):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login"))
    # The e-mail field has focus on arrival (autofocus lands a moment after the load event): type, Tab,
    # type, Enter.
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.type("alice@acme.test")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    keys_ready(page)
    expect(page.locator("[data-business-id]")).to_have_count(2)

    help_overlay = page.locator("#shortcut-help")
    expect(help_overlay).to_be_hidden()
    page.keyboard.press("?")
    expect(help_overlay).to_be_visible()
    expect(help_overlay).to_contain_text("Move down / up a list")
    page.keyboard.press("Escape")
    expect(help_overlay).to_be_hidden()

    page.keyboard.press("j")
    first = page.locator("[data-business-id]").first
    expect(first).to_have_class(re.compile("is-selected"))
    page.keyboard.press("j")
    expect(page.locator("[data-business-id]").nth(1)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("k")
    expect(first).to_have_class(re.compile("is-selected"))
    page.keyboard.press("Enter")
    # Firm staff land on the client list; a client opens on its Digest tab.
    expect(page).to_have_url(f"{live_server.url}/b/{live_server.world.acme_client_one}/digest")
    expect(page.get_by_role("heading", name="Acme Client One")).to_be_visible()
    assert console_errors == []


def test_keys_do_not_fire_while_typing_in_a_field(page: Page, live_server, console_errors):
    page.goto(f"{live_server.url}/login")
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.type("alice@acme.test")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    keys_ready(page)
    page.keyboard.press("/")
    filter_field = page.get_by_placeholder(re.compile("Filter"))
    expect(filter_field).to_be_focused()
    page.keyboard.type("two?j")
    expect(page.locator("#shortcut-help")).to_be_hidden()
    expect(page.locator("[data-business-id].is-selected")).to_have_count(0)
    expect(filter_field).to_have_value("two?j")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    expect(page.locator("[data-business-id]:visible")).to_have_count(1)
    expect(page.locator("[data-business-id]:visible")).to_contain_text("Acme Client Two")
    assert console_errors == []


def test_a_wrong_password_shows_a_clear_message(page: Page, live_server, console_errors):
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mail").fill("alice@acme.test")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("do not match an account")
    expect(page.get_by_label("E-mail")).to_have_value("alice@acme.test")
    assert [e for e in console_errors if "400" not in e] == []


def test_the_demo_advisor_sees_the_four_synced_demo_clients(page: Page, demo_server, console_errors):
    page.goto(f"{demo_server.url}/login")
    page.keyboard.type("advisor@demo.runway.example")
    page.keyboard.press("Tab")
    page.keyboard.type("runway-demo")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    keys_ready(page)
    expect(page.locator("[data-business-id]")).to_have_count(4)
    expect(page.locator("#client-list")).to_contain_text("Brightside Landscaping")
    assert console_errors == []
