"""Services: the client list's order and the per-business summary rows it reads — right after a sync
(through the same run listener the app registers), after QBO changes, and after decisions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domains.core.db import utcnow
from domains.hygiene import repository as hygiene_repo
from domains.qbo import repository as qbo_repo
from domains.summaries import repository as summaries
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
)
from runway.services.data_orchestrators.client_list_data_orchestrator import ClientListDataOrchestrator
from runway.services.data_orchestrators.decision_console_data_orchestrator import (
    DecisionConsoleDataOrchestrator,
    NewDecision,
)
from runway.services.data_orchestrators.runway_report_data_orchestrator import RunwayReportDataOrchestrator
from runway.services.experiences.client_list import ClientListService
from runway.services.experiences.runway_report import RunwayReportService
from tests.support.personas import build_world
from tests.support.qbo import bank_account
from tests.support.runway_world import (
    HEALTHY,
    IN_TROUBLE,
    MESSY,
    TIGHT,
    add_demo_business,
    bill_leaving_before_cash_zero,
    report_for,
    syncing,
)

pytestmark = pytest.mark.anyio

ACME = "Acme Accounting"


async def _alice_id(db) -> int:
    from domains.core import repository as core

    async with db.read() as session:
        user = await core.get_user_by_email(session, "alice@acme.test")
        assert user is not None
        return user.id


def _assert_summary_matches_report(summary, report) -> None:
    assert summary is not None
    assert summary.cash_now_cents == report["cash_now_cents"]
    assert summary.runway_days == report["runway"]["days"]
    weeks = report["runway"]["weeks"]
    assert summary.runway_weeks == (None if weeks is None else str(weeks))
    assert (summary.cash_zero_date.isoformat() if summary.cash_zero_date else None) == report["runway"][
        "cash_zero_date"
    ]
    assert summary.status == report["runway"]["status"]
    assert summary.not_burning == report["runway"]["not_burning"]
    assert summary.lowest_cash_cents == report["lowest_cash_cents"]
    assert summary.hygiene_score == report["hygiene"]["score"]
    severities = [issue["severity"] for issue in report["hygiene"]["issues"]]
    assert (summary.issues_high, summary.issues_medium, summary.issues_low) == (
        severities.count("high"),
        severities.count("medium"),
        severities.count("low"),
    )
    lowest_week = min(report["grid"], key=lambda week: week["ending_cents"])
    assert summary.lowest_cash_week == lowest_week["week"]


async def test_the_demo_firm_lists_the_client_in_trouble_first_and_rows_match_the_report(qbo):
    await build_world(qbo.db)
    ids = {
        name: await add_demo_business(qbo, name, firm=ACME) for name in (HEALTHY, TIGHT, IN_TROUBLE, MESSY)
    }

    view = await ClientListService(ClientListDataOrchestrator(qbo.db)).list_for(await _alice_id(qbo.db))

    names = [row.name for row in view.rows]
    # Runway days: Ironclad 13, Tidewater 44, Brightside 93, Maple not burning; the unsynced personas' clients
    # (no figures yet) come last.
    assert names[:4] == [IN_TROUBLE, TIGHT, MESSY, HEALTHY]
    assert set(names[4:]) == {"Acme Client One", "Acme Client Two"}
    assert [row.status for row in view.rows[:4]] == ["red", "amber", "green", "green"]
    for name, business_id in ids.items():
        stored = (await BusinessSummaryDataOrchestrator(qbo.db).summaries_for([business_id]))[business_id]
        _assert_summary_matches_report(stored, await report_for(qbo, name))
    messy = next(row for row in view.rows if row.name == MESSY)
    assert messy.issues_high > 0
    assert messy.hygiene_score is not None
    assert messy.hygiene_score < 100
    assert all(not row.sync_stale for row in view.rows[:4])
    assert all(row.sync_stale for row in view.rows[4:]), "never synced shows as stale"


async def test_equal_runways_put_more_high_severity_issues_first_and_not_burning_after_finite(
    sqlite_database,
):
    world = await build_world(sqlite_database)
    from domains.core import repository as core

    async with sqlite_database.write() as session:
        firm = await core.get_or_create_firm(session, ACME)
        extra = {}
        for name in ("Short Runway", "Same Days Fewer Issues", "Same Days More Issues", "Not Burning"):
            extra[name] = (await core.create_business(session, name=name, firm_id=firm.id)).id
        today = dt.date(2026, 11, 23)

        def row(days, high, not_burning=False):
            return {
                "as_of": today,
                "currency": "USD",
                "status": "green" if not_burning else "amber",
                "cash_now_cents": 100_00,
                "runway_days": days,
                "runway_weeks": None if days is None else str(Decimal(days) / 7),
                "not_burning": not_burning,
                "issues_high": high,
                "last_sync_at": utcnow(),
            }

        await summaries.upsert_summary(session, extra["Short Runway"], **row(5, 0))
        await summaries.upsert_summary(session, extra["Same Days Fewer Issues"], **row(30, 1))
        await summaries.upsert_summary(session, extra["Same Days More Issues"], **row(30, 4))
        await summaries.upsert_summary(session, extra["Not Burning"], **row(None, 9, not_burning=True))
        await summaries.upsert_summary(session, world.acme_client_one, **row(2, 0) | {"last_sync_at": None})

    view = await ClientListService(ClientListDataOrchestrator(sqlite_database)).list_for(
        await _alice_id(sqlite_database)
    )
    assert [row.name for row in view.rows] == [
        "Acme Client One",
        "Short Runway",
        "Same Days More Issues",
        "Same Days Fewer Issues",
        "Not Burning",
        "Acme Client Two",
    ]
    assert view.rows[0].sync_stale, "a client never synced shows its last sync as stale"
    assert not view.rows[1].sync_stale


async def test_an_advisor_sees_only_their_firms_clients(sqlite_database):
    world = await build_world(sqlite_database)
    from domains.core import repository as core

    async with sqlite_database.read() as session:
        oscar = await core.get_user_by_email(session, "oscar@other.test")
        bob = await core.get_user_by_email(session, "bob@bikes.test")
    service = ClientListService(ClientListDataOrchestrator(sqlite_database))
    other = await service.list_for(oscar.id)
    assert [row.business_id for row in other.rows] == [world.other_client]
    owner = await service.list_for(bob.id)
    assert not owner.is_firm_member
    assert owner.rows == ()


async def _add_bank_account_and_sync(qbo, business_id: int, name: str, balance: str) -> str:
    """A bank account added in QuickBooks a minute later, brought in by a sync with the app's listener;
    the business's realm id."""
    async with qbo.db.read() as session:
        realm_id = (await qbo_repo.get_connection(session, business_id)).realm_id
    qbo.clock.advance(60)
    account = {k: v for k, v in bank_account(balance=balance).items() if k != "Id"}
    await qbo.qbo_write(realm_id, "Account", account | {"Name": name})
    outcome = await syncing(qbo).sync_now(business_id)
    assert outcome.status == "succeeded"
    return realm_id


async def test_the_summary_follows_a_sync_that_brings_new_cash_and_a_failed_sync(qbo):
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, TIGHT, firm=ACME)
    before = (await BusinessSummaryDataOrchestrator(qbo.db).summaries_for([business_id]))[business_id]
    # Someone adds a bank account holding $500,000 in QuickBooks; the next (incremental) sync brings it.
    realm_id = await _add_bank_account_and_sync(qbo, business_id, "Windfall savings", "500000.00")

    after = (await BusinessSummaryDataOrchestrator(qbo.db).summaries_for([business_id]))[business_id]
    assert after.cash_now_cents == before.cash_now_cents + 500_000_00
    _assert_summary_matches_report(after, await report_for(qbo, TIGHT))
    assert after.computed_at > before.computed_at

    # A failed run refreshes the row too: the data is now stale, which the hygiene counts show.
    await qbo.sandbox.invalidate_refresh_tokens(realm_id)
    await qbo.sandbox.expire_access_tokens(realm_id)
    failed = await syncing(qbo).sync_now(business_id)
    assert failed.status == "failed"
    stale = (await BusinessSummaryDataOrchestrator(qbo.db).summaries_for([business_id]))[business_id]
    assert stale.issues_high == after.issues_high + 1, "sync_stale is a high-severity issue"


async def test_the_client_list_refreshes_a_row_after_a_decision_moves_the_runway(qbo):
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, IN_TROUBLE, firm=ACME)
    orchestrator = BusinessSummaryDataOrchestrator(qbo.db)
    before = (await orchestrator.summaries_for([business_id]))[business_id]
    assert before.decisions_waiting > 0
    bill = bill_leaving_before_cash_zero(before)

    # Alice delays a waiting bill due before cash zero by 60 days in the Decision Console.
    await _delay(qbo, business_id, bill, before, status="proposed")
    # Opening the client list brings the row up to date: the decision came after it was computed.
    view = await ClientListService(ClientListDataOrchestrator(qbo.db)).list_for(await _alice_id(qbo.db))
    listed = next(row for row in view.rows if row.business_id == business_id)
    after = (await orchestrator.summaries_for([business_id]))[business_id]

    assert after is not None
    assert after.decisions_waiting == before.decisions_waiting - 1
    assert listed.last_worked_by == "Alice"
    assert bill.qbo_id not in {item.qbo_id for item in after.top_decisions if item.entity_type == "bill"}
    assert after.runway_days is not None
    assert before.runway_days is not None
    # The bill's cash leaves after the old cash-zero date now, so the runway is longer.
    assert after.runway_days > before.runway_days


async def test_a_business_without_synced_data_has_a_row_without_figures(sqlite_database):
    world = await build_world(sqlite_database)
    record = await BusinessSummaryDataOrchestrator(sqlite_database).refresh_summary(world.acme_client_one)
    assert record is not None
    assert record.status == "unknown"
    assert not record.has_figures
    assert await BusinessSummaryDataOrchestrator(sqlite_database).refresh_summary(424242) is None


async def test_the_report_counts_a_decisions_planned_date_like_the_screens(qbo):
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, IN_TROUBLE, firm=ACME)
    before = (await BusinessSummaryDataOrchestrator(qbo.db).summaries_for([business_id]))[business_id]
    bill = bill_leaving_before_cash_zero(before)
    name = await _business_name(qbo.db, business_id)
    report_before = await RunwayReportService(RunwayReportDataOrchestrator(qbo.db)).report(name, before.as_of)
    await _delay(qbo, business_id, bill, before, status="approved")
    report_after = await RunwayReportService(RunwayReportDataOrchestrator(qbo.db)).report(name, before.as_of)
    assert report_after["runway"]["days"] > report_before["runway"]["days"]


async def _business_name(db, business_id: int) -> str:
    from domains.core import repository as core

    async with db.read() as session:
        business = await core.get_business(session, business_id)
    assert business is not None
    return business.name


async def _delay(qbo, business_id: int, bill, before, *, status: str) -> None:
    """Alice delays a waiting bill by 60 days in the Decision Console."""
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
            status=status,
            delta_runway_days=None,
            delta_direction="longer",
            new_cash_zero_date=None,
            new_lowest_cash_cents=before.lowest_cash_cents or 0,
            days_past_terms=None,
            decided_on=before.as_of,
        ),
        seen=None,
        user_id=await _alice_id(qbo.db),
    )


async def test_the_refresh_after_a_sync_brings_the_hygiene_register_up_to_date(qbo):
    """The run listener works the hygiene rules out once for the summary and the register alike: after a
    sync the register already holds the new books, so the next tray or console does not evaluate them
    again, and the summary counts what the register holds."""
    await build_world(qbo.db)
    business_id = await add_demo_business(qbo, MESSY, firm=ACME)
    await _add_bank_account_and_sync(qbo, business_id, "Petty cash", "1.00")

    async with qbo.db.read() as session:
        state = (await hygiene_repo.evaluation_states(session, [business_id]))[business_id]
        register = await hygiene_repo.register_rows(session, [business_id])
    assert state.evaluated_run_id == state.last_succeeded_run_id
    summary = (await BusinessSummaryDataOrchestrator(qbo.db).summaries_for([business_id]))[business_id]
    # Nothing is dismissed or snoozed in this business: every open entry is an issue the summary counts.
    assert all(row.dismissed_at is None and row.snoozed_until is None for row in register)
    assert summary.issues_high + summary.issues_medium + summary.issues_low == len(register) > 0
