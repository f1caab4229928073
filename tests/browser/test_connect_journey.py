"""Browser: a new owner connects their business's QuickBooks company through the sandbox's consent page,
watches the first sync's progress bar finish, and sees a dashboard whose chart and table agree with
`runway report` run against the same data."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from domains.qbo.demo import generate_company
from domains.qbo.sandbox import seed_company
from domains.qbo.sandbox.server import database_url
from domains.qbo.sandbox.storage import SandboxStorage
from tests.browser.conftest import REPO, DemoServer, running_server, server_env
from tests.support import in_fresh_thread
from tests.support.postgres import free_port

OWNER = "harbor@owner.test"
PASSWORD = "harbor lights 2026"
BUSINESS = "Harbor Lights"
COMPANY = "Harbor Lights Bookshop"


def cli(data_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=server_env(data_dir, free_port()),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout


@pytest.fixture
def connect_server(demo_data_template: Path, tmp_path: Path) -> Iterator[DemoServer]:
    """The demo data, a company waiting in the sandbox, and a new owner whose business is unconnected."""
    data_dir = tmp_path / "demo-data"
    shutil.copytree(demo_data_template, data_dir)

    async def add_company() -> None:
        company = generate_company("tight", today=dt.datetime.now(dt.UTC).date(), seed=7)
        storage = SandboxStorage(database_url(data_dir / "qbo-sandbox.db"))
        try:
            await seed_company(
                storage,
                COMPANY,
                company.entities,
                company_info=company.company_info,
                preferences=company.preferences,
            )
        finally:
            await storage.close()

    in_fresh_thread(asyncio.run, add_company())
    cli(data_dir, "create-user", OWNER, "--business", BUSINESS, "--role", "owner", "--password", PASSWORD)
    with running_server(data_dir, tmp_path / "server.log") as (url, process):
        yield DemoServer(url, data_dir, process)


def test_a_new_owner_connects_quickbooks_and_sees_the_reports_numbers(
    page: Page, connect_server, console_errors
):
    landings: list[str] = []
    page.on(
        "response",
        lambda response: (
            landings.append(response.text())
            if re.search(r"/b/\d+$", response.url) and response.request.resource_type == "document"
            else None
        ),
    )
    page.goto(f"{connect_server.url}/login")
    page.get_by_label("E-mail").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # An owner of one business lands on its dashboard, which offers to connect QuickBooks.
    expect(page.get_by_role("heading", name=BUSINESS, exact=True)).to_be_visible()
    dashboard_url = page.url
    page.locator(".first-run").get_by_role("link", name="Connect QuickBooks").click()

    # The sandbox's consent page, as Intuit's would be: pick the company and connect.
    expect(page.get_by_role("heading", name="Connect to QuickBooks")).to_be_visible()
    page.get_by_label(re.compile(COMPANY)).check()
    page.get_by_role("button", name="Connect").click()

    # Back on the dashboard: the first sync's progress bar, then the numbers once it finishes.
    expect(page).to_have_url(dashboard_url)
    assert "<progress" in landings[-1], "the dashboard showed the first sync's progress"
    expect(page.locator("#kpi-runway")).to_be_visible(timeout=60_000)
    expect(page.locator("#sync-status progress")).to_have_count(0)
    expect(page.locator("#sync-status")).to_contain_text("Last synced")

    report = json.loads(cli(connect_server.data_dir, "report", "--business", BUSINESS))
    grid = [(str(week["week"]), str(week["ending_cents"])) for week in report["grid"]]
    bars = page.locator("svg.forecast-chart rect.chart-bar").evaluate_all(
        "els => els.map(e => [e.dataset.week, e.dataset.endingCents])"
    )
    rows = page.locator("table.grid-table tbody tr").evaluate_all(
        "els => els.map(e => [e.dataset.week, e.dataset.endingCents])"
    )
    assert [tuple(bar) for bar in bars] == grid
    assert [tuple(row) for row in rows] == grid
    runway = page.locator("#kpi-runway")
    expect(runway).to_have_attribute("data-runway-weeks", str(report["runway"]["weeks"] or ""))
    expect(runway).to_have_attribute("data-cash-zero-date", report["runway"]["cash_zero_date"] or "")
    expect(page.locator("#kpi-cash")).to_have_attribute("data-cash-now-cents", str(report["cash_now_cents"]))

    # The table view opens under the chart with the same weeks.
    page.get_by_text("Table view of the 13 weeks").click()
    expect(page.locator("table.grid-table tbody tr")).to_have_count(13)
    assert console_errors == []
