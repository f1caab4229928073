"""HTTP: the runway dashboard as page and fragment — the same numbers as `runway report`, its CSV export,
tenant scoping, "sync now" with its progress and the numbers refreshing, and the reconnect banner."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from domains.qbo import repository as qbo_repo
from tests.support.http import csrf_token, sign_in
from tests.support.personas import build_world
from tests.support.qbo import bank_account
from tests.support.runway_world import TIGHT, add_demo_business, app_client, report_for, syncing

pytestmark = pytest.mark.anyio

HX = {"HX-Request": "true"}


def attr(html: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', html)
    assert match, f"no {name} on the page"
    return match.group(1)


def chart_endings(html: str) -> list[tuple[int, int]]:
    return [
        (int(week), int(cents))
        for week, cents in re.findall(
            r'<rect class="chart-bar[^"]*"[^>]*data-week="(\d+)" data-ending-cents="(-?\d+)"', html
        )
    ]


def table_endings(html: str) -> list[tuple[int, int]]:
    return [
        (int(week), int(cents))
        for week, cents in re.findall(r'<tr data-week="(\d+)" data-ending-cents="(-?\d+)"', html)
    ]


def assert_dashboard_matches(html: str, report: dict) -> None:
    assert int(attr(html, "data-cash-now-cents")) == report["cash_now_cents"]
    assert attr(html, "data-runway-weeks") == str(report["runway"]["weeks"] or "")
    assert attr(html, "data-runway-days") == str(report["runway"]["days"] or "")
    assert attr(html, "data-cash-zero-date") == (report["runway"]["cash_zero_date"] or "")
    assert attr(html, "data-status") == report["runway"]["status"]
    assert int(attr(html, "data-lowest-cash-cents")) == report["lowest_cash_cents"]
    assert int(attr(html, "data-lowest-daily-cents")) == report["lowest_daily_cents"]
    assert int(attr(html, "data-hygiene-score")) == report["hygiene"]["score"]
    grid = [(week["week"], week["ending_cents"]) for week in report["grid"]]
    assert chart_endings(html) == grid, "the chart draws the report's weekly ending cash"
    assert table_endings(html) == grid, "the table view holds the same weeks"


async def test_the_dashboard_shows_the_reports_numbers_as_page_and_as_fragment(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    business_id = await add_demo_business(qbo_sqlite, TIGHT, firm="Acme Accounting")
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "alice@acme.test")

        page = await client.get(f"/b/{business_id}")
        assert page.status_code == 200
        assert "<html" in page.text
        assert "13-week cash forecast for Tidewater Design Studio" in page.text
        assert_dashboard_matches(page.text, await report_for(qbo_sqlite, TIGHT))
        assert f'href="/b/{business_id}/hygiene"' in page.text
        assert f'href="/b/{business_id}/console"' in page.text
        assert '<desc id="forecast-chart-desc">' in page.text
        assert " style=" not in page.text
        assert "<script>" not in page.text

        fragment = await client.get(f"/b/{business_id}", headers=HX)
        assert fragment.text.strip().startswith('<div id="dashboard"')
        assert "<html" not in fragment.text
        assert fragment.headers["vary"] == "HX-Request"
        assert_dashboard_matches(fragment.text, await report_for(qbo_sqlite, TIGHT))

        # Another date, as `runway report --as-of` takes it.
        later = dt.date.today() + dt.timedelta(days=9)
        dated = await client.get(f"/b/{business_id}?as_of={later.isoformat()}")
        assert_dashboard_matches(dated.text, await report_for(qbo_sqlite, TIGHT, later))
        assert (await client.get(f"/b/{business_id}?as_of=not-a-date")).status_code == 400


async def test_the_grid_csv_has_the_reports_columns_and_rows(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    business_id = await add_demo_business(qbo_sqlite, TIGHT, firm="Acme Accounting")
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "alice@acme.test")
        response = await client.get(f"/b/{business_id}/grid.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    report = await report_for(qbo_sqlite, TIGHT)
    assert [{key: int(v) if key != "start" else v for key, v in row.items()} for row in rows] == report[
        "grid"
    ]


async def test_other_tenants_get_404_on_every_dashboard_url(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    business_id = await add_demo_business(qbo_sqlite, TIGHT, firm="Acme Accounting")
    async with app_client(qbo_sqlite, tmp_path) as client:
        for email in ("oscar@other.test", "bob@bikes.test"):
            await sign_in(client, email)
            token = await csrf_token(client, "/connect")
            for path in ("", "/grid.csv"):
                response = await client.get(f"/b/{business_id}{path}")
                assert response.status_code == 404
                assert "Tidewater" not in response.text
            assert (await client.get(f"/b/{business_id}/sync", headers=HX)).status_code == 404
            assert (await client.get(f"/b/{business_id}/connection", headers=HX)).status_code == 404
            posted = await client.post(f"/b/{business_id}/sync", headers={**HX, "x-csrftoken": token})
            assert posted.status_code == 404


async def test_sync_now_shows_progress_then_the_numbers_refresh_by_themselves(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    business_id = await add_demo_business(qbo_sqlite, TIGHT, firm="Acme Accounting")
    async with qbo_sqlite.db.read() as session:
        realm_id = (await qbo_repo.get_connection(session, business_id)).realm_id
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "vera@acme.test")  # a viewer may refresh the numbers too
        before = await client.get(f"/b/{business_id}")
        cash_before = int(attr(before.text, "data-cash-now-cents"))
        token = await csrf_token(client, f"/b/{business_id}")

        # Meanwhile someone adds $1,000 of cash in QuickBooks.
        qbo_sqlite.clock.advance(60)
        account = {k: v for k, v in bank_account(balance="1000.00").items() if k != "Id"}
        await qbo_sqlite.qbo_write(realm_id, "Account", account | {"Name": "Petty cash"})

        pressed = await client.post(f"/b/{business_id}/sync", headers={**HX, "x-csrftoken": token})
        assert pressed.status_code == 200
        assert pressed.text.strip().startswith('<section id="sync-status"')
        assert "<progress" in pressed.text
        assert 'hx-trigger="load delay:1s"' in pressed.text
        run_id = re.search(r"/sync\?run=(\d+)", pressed.text).group(1)
        again = await client.post(f"/b/{business_id}/sync", headers={**HX, "x-csrftoken": token})
        assert re.search(r"/sync\?run=(\d+)", again.text).group(1) == run_id, "pressing twice joins the run"

        polled = await client.get(f"/b/{business_id}/sync?run={run_id}", headers=HX)
        assert "<progress" in polled.text
        assert "HX-Trigger-After-Settle" not in polled.headers

        # The worker runs the queued sync (on the harness's clock, which moves only when told).
        qbo_sqlite.clock.advance(600)
        outcomes = await syncing(qbo_sqlite).run_due()
        assert [o.status for o in outcomes] == ["succeeded"]

        done = await client.get(f"/b/{business_id}/sync?run={run_id}", headers=HX)
        assert "<progress" not in done.text
        assert "Sync finished" in done.text
        assert done.headers["HX-Trigger-After-Settle"] == "runway-synced"
        # #dashboard listens for that event and reloads itself with the new numbers.
        assert 'hx-trigger="runway-synced from:body"' in before.text
        refreshed = await client.get(f"/b/{business_id}", headers=HX)
        assert int(attr(refreshed.text, "data-cash-now-cents")) == cash_before + 1000_00
        assert_dashboard_matches(refreshed.text, await report_for(qbo_sqlite, TIGHT))

        # Without JavaScript the form posts and comes back to the dashboard.
        plain = await client.post(
            f"/b/{business_id}/sync", data={"_csrf_token": token}, follow_redirects=False
        )
        assert plain.status_code == 303
        assert plain.headers["location"] == f"/b/{business_id}"


async def test_a_business_that_needs_reconnecting_shows_the_banner_and_cannot_sync(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    business_id = await add_demo_business(qbo_sqlite, TIGHT, firm="Acme Accounting")
    async with qbo_sqlite.db.write() as session:
        await qbo_repo.mark_connection(session, business_id, "reconnect_needed", "invalid_grant")
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "alice@acme.test")
        page = await client.get(f"/b/{business_id}")
        assert "Reconnect QuickBooks" in page.text
        assert f'href="/connect/qbo/start?business={business_id}"' in page.text
        banner = await client.get(f"/b/{business_id}/connection", headers=HX)
        assert banner.text.strip().startswith('<div id="connection-banner"')
        assert "Reconnect QuickBooks" in banner.text
        # Every other page about the business loads that banner.
        digest = await client.get(f"/b/{business_id}/digest")
        assert f'hx-get="/b/{business_id}/connection"' in digest.text
        clients = await client.get("/clients")
        assert "Reconnect QuickBooks" in clients.text
        token = await csrf_token(client, f"/b/{business_id}")
        pressed = await client.post(f"/b/{business_id}/sync", headers={**HX, "x-csrftoken": token})
        assert "needs to be connected again" in pressed.text
        assert "<progress" not in pressed.text

        await sign_in(client, "vera@acme.test")
        viewer = await client.get(f"/b/{business_id}/connection", headers=HX)
        assert "An owner or advisor can reconnect it" in viewer.text
        assert "/connect/qbo/start" not in viewer.text


async def test_a_business_not_yet_connected_offers_to_connect_quickbooks(client, sqlite_database):
    world = await build_world(sqlite_database)
    await sign_in(client, "bob@bikes.test")
    page = await client.get(f"/b/{world.bobs_bikes}")
    assert page.status_code == 200
    assert "Connect QuickBooks to see the runway" in page.text
    assert f'href="/connect/qbo/start?business={world.bobs_bikes}"' in page.text
    assert 'data-hotkey="1"' in page.text
    assert f'href="/b/{world.bobs_bikes}/digest"' in page.text
