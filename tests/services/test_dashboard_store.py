"""Services: the runway dashboard served from the stored summary row and grid — the same numbers as a fresh
computation and as `runway report`, and right again after a sync (even one that refreshed nothing), a
decision, a hygiene fix written to QuickBooks, a dismissal, and the day the last sync turns stale."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from domains.core.permissions import capabilities
from domains.qbo import repository as qbo_repo
from domains.summaries import repository as summaries
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
)
from runway.services.data_orchestrators.decision_console_data_orchestrator import (
    DecisionConsoleDataOrchestrator,
    NewDecision,
)
from runway.services.data_orchestrators.hygiene_tray_data_orchestrator import HygieneTrayDataOrchestrator
from runway.services.data_orchestrators.runway_dashboard_data_orchestrator import (
    RunwayDashboardDataOrchestrator,
)
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.runway_dashboard import DashboardView, RunwayDashboardService
from tests.support.personas import build_world
from tests.support.qbo import bank_account
from tests.support.runway_world import (
    IN_TROUBLE,
    MESSY,
    add_demo_business,
    bill_leaving_before_cash_zero,
    report_for,
    syncing,
)

pytestmark = pytest.mark.anyio

ACME = "Acme Accounting"


def _service(db) -> RunwayDashboardService:
    return RunwayDashboardService(RunwayDashboardDataOrchestrator(db, None))


def _business(business_id: int, name: str) -> BusinessContext:
    return BusinessContext(business_id, name, "advisor", None, ACME, capabilities("advisor"))


async def _computed_at(db, business_id: int) -> dt.datetime:
    async with db.read() as session:
        row = await summaries.get_summary(session, business_id)
    assert row is not None
    return row.computed_at


def _figures(view: DashboardView) -> DashboardView:
    """The view without what is not a figure (the sync box and whether the date was chosen)."""
    return dataclasses.replace(view, sync=None, as_of_is_today=True)  # type: ignore[arg-type]


async def assert_current(db, business: BusinessContext, name: str, qbo=None) -> DashboardView:
    """The dashboard equals a fresh computation for the same date, and `runway report`'s numbers."""
    service = _service(db)
    view = await service.dashboard(business)
    fresh = await service.dashboard(business, as_of=view.as_of)
    assert _figures(view) == _figures(fresh), "the stored figures are exactly what a computation gives"
    if qbo is not None:
        report = await report_for(qbo, name, view.as_of)
        assert view.cash_now_cents == report["cash_now_cents"]
        assert view.runway_days == report["runway"]["days"]
        assert view.status == report["runway"]["status"]
        assert view.lowest_cash_cents == report["lowest_cash_cents"]
        assert [(row.week, row.ending_cents) for row in view.grid] == [
            (week["week"], week["ending_cents"]) for week in report["grid"]
        ]
        assert view.ap is not None
        assert view.ap.days_91_plus_cents == report["aging"]["ap"]["91_plus"]
        assert view.hygiene_score == report["hygiene"]["score"]
    return view


async def _alice_id(db) -> int:
    from domains.core import repository as core

    async with db.read() as session:
        alice = await core.get_user_by_email(session, "alice@acme.test")
    assert alice is not None
    return alice.id


async def test_a_second_view_reads_the_store_and_matches_the_report(qbo):
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, MESSY, firm=ACME)
    business = _business(business_id, MESSY)
    first = await assert_current(qbo.db, business, MESSY, qbo)
    stored_at = await _computed_at(qbo.db, business_id)

    again = await _service(qbo.db).dashboard(business)
    assert _figures(again) == _figures(first)
    assert await _computed_at(qbo.db, business_id) == stored_at, "nothing changed: nothing recomputed"

    export = await _service(qbo.db).grid_csv(business)
    report = await report_for(qbo, MESSY, first.as_of)
    assert [dict(zip(export.header, row, strict=True)) for row in export.rows] == report["grid"]


async def test_a_sync_that_refreshed_nothing_still_shows_on_the_dashboard(qbo):
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, MESSY, firm=ACME)
    business = _business(business_id, MESSY)
    before = await assert_current(qbo.db, business, MESSY, qbo)
    async with qbo.db.read() as session:
        realm_id = (await qbo_repo.get_connection(session, business_id)).realm_id

    # $2,500 of new cash in QuickBooks, synced by a process that keeps no summary rows (no run listener).
    qbo.clock.advance(60)
    account = {k: v for k, v in bank_account(balance="2500.00").items() if k != "Id"}
    await qbo.qbo_write(realm_id, "Account", account | {"Name": "Reserve"})
    outcome = await qbo.smart_sync().sync_now(business_id)
    assert outcome.status == "succeeded"

    after = await assert_current(qbo.db, business, MESSY, qbo)
    assert after.cash_now_cents == before.cash_now_cents + 2_500_00


async def test_a_decision_moves_the_dashboard_at_once(qbo):
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, IN_TROUBLE, firm=ACME)
    business = _business(business_id, IN_TROUBLE)
    before = await assert_current(qbo.db, business, IN_TROUBLE, qbo)
    # Chosen from the stored summary's waiting items (five; the dashboard shows three).
    summary = (await BusinessSummaryDataOrchestrator(qbo.db).summaries_for([business_id]))[business_id]
    bill = bill_leaving_before_cash_zero(summary)

    later = before.as_of + dt.timedelta(days=60)
    await DecisionConsoleDataOrchestrator(qbo.db).record_decision(
        business_id,
        NewDecision(
            entity_type="bill",
            qbo_id=bill.qbo_id,
            party_qbo_id=None,
            party_name=bill.party,
            doc_number=bill.doc_number,
            amount_cents=bill.amount_cents,
            currency="USD",
            verb="delay",
            parameters={"on": later.isoformat()},
            planned_on=later,
            status="approved",
            delta_runway_days=None,
            delta_direction="longer",
            new_cash_zero_date=None,
            new_lowest_cash_cents=before.lowest_cash_cents,
            days_past_terms=None,
            decided_on=before.as_of,
        ),
        seen=None,
        user_id=await _alice_id(qbo.db),
    )

    after = await assert_current(qbo.db, business, IN_TROUBLE, qbo)
    assert after.decisions_waiting == before.decisions_waiting - 1
    assert bill.qbo_id not in {item.qbo_id for item in after.top_decisions}
    assert before.runway_days is not None
    assert after.runway_days is not None
    assert after.runway_days > before.runway_days, "the delayed bill no longer leaves before cash zero"


async def test_a_hygiene_fix_and_a_dismissal_show_on_the_dashboard_at_once(qbo):
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, MESSY, firm=ACME)
    business = _business(business_id, MESSY)
    before = await assert_current(qbo.db, business, MESSY, qbo)
    tray = HygieneTrayDataOrchestrator(qbo.db, syncing(qbo))
    issues = await tray.open_issues(business_id, before.as_of)

    # The fix is written to QuickBooks through SmartSync and stored locally: the books changed.
    undated = next(i for i in issues if i.rule == "bill_missing_due_date")
    version = await tray.entity_version(business_id, "bill", undated.qbo_id)
    assert version is not None
    await tray.set_due_date(
        business_id,
        undated,
        due_date=before.as_of + dt.timedelta(days=3),
        sync_token=version.sync_token,
        user_id=await _alice_id(qbo.db),
        summary="Due date set",
    )
    fixed = await assert_current(qbo.db, business, MESSY, qbo)
    counts = (fixed.issues_high, fixed.issues_medium, fixed.issues_low)
    assert counts != (before.issues_high, before.issues_medium, before.issues_low)

    # A dismissal changes no books, only the triage: one open issue fewer.
    remaining = await tray.open_issues(business_id, before.as_of)
    dismissed = next(i for i in remaining if i.severity == "medium")
    await tray.dismiss(business_id, dismissed, user_id=await _alice_id(qbo.db))
    after = await assert_current(qbo.db, business, MESSY, qbo)
    assert after.issues_medium == fixed.issues_medium - 1


async def test_the_stored_figures_expire_when_the_last_sync_turns_stale(qbo):
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, MESSY, firm=ACME)
    orchestrator = BusinessSummaryDataOrchestrator(qbo.db)
    record = await orchestrator.refresh_summary(business_id)
    assert record is not None
    assert record.last_sync_at is not None
    fresh_at = record.last_sync_at + dt.timedelta(hours=1)
    fresh = await orchestrator.current(business_id, now=fresh_at)
    stale = await orchestrator.current(business_id, now=record.last_sync_at + dt.timedelta(hours=25))
    assert fresh is not None
    assert stale is not None
    assert stale.issues_high == fresh.issues_high + 1, "a sync older than a day is a high-severity issue"
    again = await orchestrator.current(business_id, now=fresh_at)
    assert again is not None
    assert again.issues_high == fresh.issues_high


async def test_the_books_read_the_same_within_a_request_and_after_a_sync(qbo, monkeypatch):
    """A request reads a business's books at once; the refresh after a sync reads them a batch at a time
    with turns of the event loop between. Both give the same snapshot, row for row."""
    from domains.core import foreground
    from runway.services.data_orchestrators import business_snapshot

    # Small batches, so that every table of a demo company spans several.
    monkeypatch.setattr(business_snapshot, "_ROWS_PER_TURN", 7)
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, MESSY, firm="Acme Accounting")
    async with qbo.db.read() as session:
        in_turns = await business_snapshot.read_business_snapshot(session, business_id)
    async with foreground.serving(), qbo.db.read() as session:
        at_once = await business_snapshot.read_business_snapshot(session, business_id)
    assert in_turns == at_once
    assert len(in_turns.bills) > 7
    assert sum(len(bill.lines) for bill in in_turns.bills) > 7
