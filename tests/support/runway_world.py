"""Test support: demo companies connected and synced as Runway businesses, with summary rows kept by the
same run listener the app registers, and an app over that world for HTTP tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from app.main import create_app
from domains.core import repository as core
from domains.qbo.demo import DemoCompany, demo_companies
from domains.qbo.sandbox import seed_company
from domains.qbo.smart_sync import SmartSyncService
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
)
from runway.services.data_orchestrators.runway_report_data_orchestrator import RunwayReportDataOrchestrator
from runway.services.experiences.runway_report import RunwayReportService
from tests.support.qbo import QboHarness

HEALTHY = "Maple Street Bakery"
TIGHT = "Tidewater Design Studio"
IN_TROUBLE = "Ironclad Fabrication"
MESSY = "Brightside Landscaping"
CAFE = "Copper Kettle Cafe"


def demo_company(name: str, today: dt.date | None = None) -> DemoCompany:
    today = today or dt.datetime.now(dt.UTC).date()
    return next(c for c in demo_companies(today) if c.name == name)


def syncing(qbo: QboHarness) -> SmartSyncService:
    """SmartSync over the harness with the app's summary listener, as QboRuntime.start wires it."""
    smart_sync = qbo.smart_sync()
    smart_sync.add_run_listener(BusinessSummaryDataOrchestrator(qbo.db).on_sync_run)
    return smart_sync


async def add_demo_business(
    qbo: QboHarness, name: str, *, firm: str | None = None, business_name: str | None = None
) -> int:
    """A demo company in the sandbox, a Runway business (in `firm`) connected to it, fully synced."""
    company = demo_company(name)
    realm_id = await seed_company(
        qbo.sandbox.storage,
        company.name,
        company.entities,
        company_info=company.company_info,
        preferences=company.preferences,
    )
    async with qbo.db.write() as session:
        firm_id = (await core.get_or_create_firm(session, firm)).id if firm else None
        business = await core.create_business(session, name=business_name or name, firm_id=firm_id)
        business_id = business.id
    await qbo.connect(business_id, realm_id)
    outcome = await syncing(qbo).sync_now(business_id, full=True, trigger="initial")
    assert outcome.status == "succeeded", outcome.error
    return business_id


def bill_leaving_before_cash_zero(figures: Any) -> Any:
    """The largest waiting bill (of a summary's or dashboard's `top_decisions`) whose cash leaves on or
    before the cash-zero date: delaying it past that date lengthens the runway, whichever day the demo
    books are dated from (the first waiting bill did on 27 Nov, not on 28 Nov)."""
    zero = figures.cash_zero_date
    assert zero is not None, "the business runs out of cash"
    bills = [i for i in figures.top_decisions if i.entity_type == "bill" and i.due_date <= zero]
    assert bills, "a waiting bill leaves before cash zero"
    return max(bills, key=lambda item: item.amount_cents)


async def report_for(qbo: QboHarness, name: str, as_of: dt.date | None = None) -> dict[str, Any]:
    """`runway report --business NAME [--as-of]`'s document, through the CLI's own service."""
    return await RunwayReportService(RunwayReportDataOrchestrator(qbo.db)).report(name, as_of)


@asynccontextmanager
async def app_client(qbo: QboHarness, tmp_path: Path, **env: str) -> AsyncIterator[AsyncTestClient[Any]]:
    """The web app over the harness's database and SmartSync (no worker: tests run syncs themselves)."""
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, qbo.db.url)
    if env:
        settings = type(settings).from_env(
            {
                "RUNWAY_DATA_DIR": str(tmp_path),
                "RUNWAY_DATABASE_URL": qbo.db.url,
                "RUNWAY_SECRET_KEY": settings.secret_key,
                "RUNWAY_LOG_LEVEL": "WARNING",
                **env,
            }
        )
    app = create_app(settings, database=qbo.db, smart_sync=syncing(qbo))
    async with AsyncTestClient(app=app) as client:
        yield client
