"""Services: `runway report` — the demo companies' numbers through the whole path, in the public shape."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from app.cli import main
from domains.core import repository as core
from domains.qbo.demo import demo_companies
from domains.qbo.sandbox import seed_company
from runway.services.data_orchestrators.runway_report_data_orchestrator import (
    BusinessNameError,
    RunwayReportDataOrchestrator,
)
from runway.services.experiences.runway_report import RunwayReportService
from tests.conftest import TEST_SECRET
from tests.support import in_fresh_thread

pytestmark = pytest.mark.anyio

TODAY = dt.date(2026, 11, 27)
REPORT_KEYS = {
    "business",
    "as_of",
    "snapshot_at",
    "currency",
    "cash_now_cents",
    "grid",
    "runway",
    "lowest_cash_cents",
    "lowest_daily_cents",
    "lowest_daily_date",
    "aging",
    "hygiene",
}
WEEK_KEYS = {
    "week",
    "start",
    "opening_cents",
    "receipts_invoices_cents",
    "receipts_baseline_cents",
    "disbursements_bills_cents",
    "disbursements_baseline_cents",
    "net_change_cents",
    "ending_cents",
}


async def _synced_demo(qbo, profile: str) -> str:
    company = next(c for c in demo_companies(TODAY) if c.profile == profile)
    realm_id = await seed_company(
        qbo.sandbox.storage,
        company.name,
        company.entities,
        company_info=company.company_info,
        preferences=company.preferences,
    )
    async with qbo.db.write() as session:
        business_id = (await core.create_business(session, name=company.name)).id
    await qbo.connect(business_id, realm_id)
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    return company.name


@pytest.mark.parametrize(
    ("profile", "status"), [("healthy", "green"), ("tight", "amber"), ("in_trouble", "red")]
)
async def test_the_demo_companies_land_on_their_runway_status(qbo_sqlite, profile, status):
    name = await _synced_demo(qbo_sqlite, profile)
    report = await RunwayReportService(RunwayReportDataOrchestrator(qbo_sqlite.db)).report(name, TODAY)
    assert set(report) == REPORT_KEYS
    assert report["business"] == name
    assert report["as_of"] == "2026-11-27"
    assert report["runway"]["status"] == status
    assert len(report["grid"]) == 13
    assert all(set(week) == WEEK_KEYS for week in report["grid"])
    assert report["grid"][0]["opening_cents"] == report["cash_now_cents"]
    for week in report["grid"]:
        receipts = week["receipts_invoices_cents"] + week["receipts_baseline_cents"]
        spending = week["disbursements_bills_cents"] + week["disbursements_baseline_cents"]
        assert week["ending_cents"] - week["opening_cents"] == receipts - spending == week["net_change_cents"]
    if status == "green":
        assert report["runway"]["not_burning"] is True
        assert report["runway"]["days"] is None
    else:
        assert 0 < report["runway"]["days"] <= 56
        assert report["runway"]["cash_zero_date"] > "2026-11-27"


async def test_the_messy_company_reports_every_data_rule(qbo_sqlite):
    name = await _synced_demo(qbo_sqlite, "messy")
    report = await RunwayReportService(RunwayReportDataOrchestrator(qbo_sqlite.db)).report(name, TODAY)
    rules = {issue["rule"] for issue in report["hygiene"]["issues"]}
    assert rules == {
        "bill_missing_due_date",
        "bill_due_before_txn",
        "possible_duplicate_bill",
        "invoice_missing_due_date",
        "stale_overdue_invoice",
        "stale_open_bill",
        "uncategorized_line",
        "vendor_missing_terms",
        "unapplied_customer_payment",
        "expense_to_vendor_with_open_bill",
        "undeposited_funds_lingering",
        "totals_mismatch",
        "orphan_reference",
    }
    assert 0 < report["hygiene"]["score"] < 100
    assert all(isinstance(issue["qbo_id"], str) for issue in report["hygiene"]["issues"])


async def test_an_unknown_business_name_is_a_clear_error(qbo_sqlite):
    with pytest.raises(BusinessNameError, match="no business is named 'Nobody Inc'"):
        await RunwayReportService(RunwayReportDataOrchestrator(qbo_sqlite.db)).report("Nobody Inc", TODAY)


async def test_the_cli_prints_the_report_as_json(qbo_sqlite, tmp_path):
    name = await _synced_demo(qbo_sqlite, "tight")
    env = {
        "RUNWAY_DATA_DIR": str(tmp_path),
        "RUNWAY_DATABASE_URL": qbo_sqlite.db.url,
        "RUNWAY_SECRET_KEY": TEST_SECRET,
    }
    # The CLI runs its own event loop, so it cannot run on this test's.
    result = in_fresh_thread(
        lambda: CliRunner().invoke(main, ["report", "--business", name, "--as-of", "2026-11-27"], env=env)
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["runway"]["status"] == "amber"
    assert isinstance(document["runway"]["weeks"], float), "weeks is a JSON number"
    missing = in_fresh_thread(
        lambda: CliRunner().invoke(main, ["report", "--business", "Nobody Inc"], env=env)
    )
    assert missing.exit_code == 1
    assert "no business is named" in missing.output
