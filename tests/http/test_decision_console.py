"""HTTP: the Decision Console screens — rows, one small swap per keypress, 409 on a stale write, roles,
forms without JavaScript, finalize one item per request, and the CSV log."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.main import create_app
from runway.services.experiences.runway_report import business_today
from tests.conftest import make_settings
from tests.services.test_decision_console import (
    ConsoleWorld,
    console_world,
    fast_password_hashing,  # noqa: F401  (autouse fixture)
)
from tests.support.http import csrf_token, sign_in
from tests.support.sql import statements_through_sqlalchemy

pytestmark = pytest.mark.anyio

VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source", "wbr"}


class _TopLevel(HTMLParser):
    """Collects the id and attributes of each top-level element of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            values = dict(attrs)
            self.found.append((values.get("id") or "", values))
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID:
            self.depth -= 1


@pytest.fixture
async def console_app(qbo_sqlite, tmp_path: Path) -> AsyncIterator[tuple[ConsoleWorld, AsyncTestClient]]:  # type: ignore[type-arg]
    qbo = qbo_sqlite
    cw = await console_world(qbo, as_of=business_today("America/New_York"))
    app = create_app(make_settings(tmp_path, qbo.db.url), database=qbo.db, smart_sync=qbo.smart_sync())
    async with AsyncTestClient(app=app) as client:
        yield cw, client


def roots(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """(id, attributes) of each top-level element of a response."""
    parser = _TopLevel()
    parser.feed(html)
    return parser.found


async def htmx_headers(client, path: str) -> dict[str, str]:
    return {"HX-Request": "true", "x-csrftoken": await csrf_token(client, path)}


async def undecided_keypress(client, path: str, qbo_id: str, action: str, headers: dict[str, str]) -> Any:
    """One keypress on bill `qbo_id` of the console at `path`, as from a page that showed it undecided."""
    return await client.post(
        f"{path}/items/bill/{qbo_id}", data={"action": action, "seen": "none"}, headers=headers
    )


async def test_the_page_lists_the_queue_with_stable_row_attributes(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    page = await client.get(f"/b/{cw.business_id}/console")
    assert page.status_code == 200
    html = page.text
    order = re.findall(r'<article id="(item-[a-z]+-\d+)"', html)
    assert order == [
        "item-invoice-201",
        "item-bill-101",
        "item-invoice-202",
        "item-bill-102",
        "item-bill-104",
        "item-bill-103",
    ]
    assert 'data-entity-type="bill" data-qbo-id="101"' in html
    assert "Cash now" in html
    assert "Cash-zero date" in html
    assert "Lowest cash" in html
    blocked = html[html.index('id="item-bill-104"') : html.index('id="item-bill-103"')]
    assert f'href="/b/{cw.business_id}/hygiene"' in blocked
    assert "data-hotkey" not in blocked, "a blocked item shows the block, not decision keys"
    # Strict CSP: no inline styles, handlers or scripts.
    assert " style=" not in html
    assert " onclick=" not in html
    assert "<script>" not in html
    assert "<dt><kbd>F</kbd></dt>" in html


async def test_a_keypress_answers_with_the_row_the_header_and_the_counters_only(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    response = await client.post(
        f"{path}/items/bill/101",
        data={"action": "skip", "seen": "none"},
        headers=await htmx_headers(client, path),
    )
    assert response.status_code == 200
    assert response.headers["vary"] == "HX-Request"
    top = roots(response.text)
    assert [element_id for element_id, _ in top] == ["item-bill-101", "console-header", "console-counters"]
    row_attrs, header_attrs, counter_attrs = (attrs for _, attrs in top)
    assert "hx-swap-oob" not in row_attrs
    assert header_attrs["hx-swap-oob"] == "true"
    assert counter_attrs["hx-swap-oob"] == "true"
    assert re.search(r'data-decision-id="\d+" data-status="approved"', response.text)
    assert "This decision" in response.text


async def test_a_keypress_runs_its_statements_on_the_driver(console_app):
    """As a triage action (see the tray's test): only BEGINs pass through SQLAlchemy's execution."""
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    headers = await htmx_headers(client, path)
    assert (await undecided_keypress(client, path, "101", "skip", headers)).status_code == 200
    with statements_through_sqlalchemy(cw.qbo.db) as seen:
        response = await undecided_keypress(client, path, "102", "skip", headers)
        assert response.status_code == 200
    assert set(seen) == {"BEGIN", "BEGIN IMMEDIATE"}


async def test_a_stale_keypress_answers_409_with_the_item_as_it_is_now(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    headers = await htmx_headers(client, path)
    assert (await undecided_keypress(client, path, "102", "skip", headers)).status_code == 200
    # A second tab that still shows the item undecided.
    stale = await undecided_keypress(client, path, "102", "pay_now", headers)
    assert stale.status_code == 409
    assert roots(stale.text)[0][0] == "item-bill-102"
    assert "Not saved" in stale.text
    assert "Skip this week" in stale.text


async def test_a_business_never_synced_shows_an_empty_queue(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    page = await client.get(f"/b/{cw.world.acme_client_two}/console")
    assert page.status_code == 200
    assert "Nothing needs a decision this week" in page.text
    assert "13+ weeks" in page.text, "no data, no burn: never a negative or infinite runway"


async def test_viewers_read_and_other_firms_see_nothing(console_app):
    cw, client = console_app
    path = f"/b/{cw.business_id}/console"
    await sign_in(client, "vera@acme.test")
    page = await client.get(path)
    assert page.status_code == 200
    assert 'data-hotkey="p"' not in page.text
    denied = await client.post(
        f"{path}/items/bill/101",
        data={"action": "skip", "seen": "none"},
        headers=await htmx_headers(client, path),
    )
    assert denied.status_code == 403
    assert "Viewers can read" in denied.text
    await client.post("/logout", headers={"x-csrftoken": await csrf_token(client, path)})

    await sign_in(client, "oscar@other.test")
    assert (await client.get(path)).status_code == 404
    assert (await client.get(f"{path}/decisions.csv")).status_code == 404


async def test_the_schedule_form_and_the_detail_panel(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    form = await client.get(f"{path}/items/bill/102/form/schedule", headers={"HX-Request": "true"})
    assert form.status_code == 200
    due = (cw.as_of + dt.timedelta(days=3)).isoformat()
    assert re.search(rf'<input type="date" name="on" value="{due}"[^>]* required autofocus>', form.text)
    assert "data-keynav-item" not in form.text, "typing a date is not taken for j/k"

    detail = await client.get(f"{path}/items/bill/103", headers={"HX-Request": "true"})
    assert roots(detail.text)[0][0] == "detail"
    assert re.findall(r'data-what-if="(\w+)"', detail.text) == ["pay_now", "schedule", "delay", "delay"]
    assert "2% off" in detail.text

    # Without htmx the same address is the whole console with that panel open.
    page = await client.get(f"{path}/items/bill/103")
    assert '<aside id="detail"' in page.text
    assert "<html" in page.text


async def test_without_javascript_a_plain_form_post_decides_and_redirects_back(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    token = await csrf_token(client, path)
    response = await client.post(
        f"{path}/items/bill/102",
        data={"action": "delay", "seen": "none", "preset": "14", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{path}#item-bill-102"
    page = await client.get(path)
    assert "Delay to" in page.text


async def test_finalize_runs_one_item_per_request_and_ends_with_the_whole_queue(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    headers = await htmx_headers(client, path)
    await client.post(
        f"{path}/items/bill/101",
        data={"action": "pay_now", "seen": "none", "bank_account": "35"},
        headers=headers,
    )
    await client.post(f"{path}/items/invoice/201", data={"action": "chase", "seen": "none"}, headers=headers)

    started = await client.post(f"{path}/finalize", headers=headers)
    assert started.status_code == 200
    step_url = re.search(r'hx-post="(/b/\d+/console/finalize/\d+/step)" hx-trigger="load"', started.text)
    assert step_url
    assert "Finalizing: 0 of 2" in started.text
    responses = []
    for _ in range(5):
        step = await client.post(step_url.group(1), headers=headers)
        assert step.status_code == 200
        responses.append(step.text)
        if 'id="queue"' in step.text:
            break
    assert "Finalizing: 1 of 2" in responses[0]
    assert roots(responses[0])[1][0] == "item-bill-101", "the finished item's row is swapped out of band"
    final = responses[-1]
    assert "Finalized: 2 of 2" in final
    assert 'hx-trigger="load"' not in final
    assert 'id="item-bill-101"' not in final, "done items leave the queue"
    payments = (await cw.qbo.qbo(cw.realm_id, "SELECT * FROM BillPayment"))["BillPayment"]
    assert len(payments) == 1


async def test_finalize_without_javascript_runs_everything_and_shows_the_results(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    token = await csrf_token(client, path)
    await client.post(
        f"{path}/items/invoice/201",
        data={"action": "chase", "seen": "none", "_csrf_token": token},
        follow_redirects=False,
    )
    response = await client.post(f"{path}/finalize", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(rf"{path}\?finalized=\d+", location)
    page = await client.get(location)
    assert "Finalized: 1 of 1" in page.text
    assert (await client.get(f"{path}?finalized=999999")).status_code == 404


async def test_undo_swaps_the_undone_row_out_of_band(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    headers = await htmx_headers(client, path)
    await client.post(f"{path}/items/invoice/202", data={"action": "chase", "seen": "none"}, headers=headers)
    undone = await client.post(f"{path}/undo", headers=headers)
    assert undone.status_code == 200
    top = roots(undone.text)
    assert [i for i, _ in top] == ["item-invoice-202", "console-header", "console-counters"]
    assert all(attrs.get("hx-swap-oob") == "true" for _, attrs in top)
    assert "data-decision-id" not in undone.text.split('id="console-header"')[0]
    assert "Undid chase" in undone.text


async def test_the_decision_log_downloads_as_csv(console_app):
    cw, client = console_app
    await sign_in(client, "alice@acme.test")
    path = f"/b/{cw.business_id}/console"
    headers = await htmx_headers(client, path)
    await client.post(f"{path}/items/bill/103", data={"action": "skip", "seen": "none"}, headers=headers)
    log = await client.get(f"{path}/decisions.csv")
    assert log.status_code == 200
    assert log.headers["content-type"].startswith("text/csv")
    assert "attachment" in log.headers["content-disposition"]
    lines = log.text.strip().splitlines()
    assert lines[0].startswith("decision_id,decided_at,decided_by,item,qbo_id")
    assert ",bill,103,Critical Supplies,C-103,500.00,USD,skip," in lines[1]
