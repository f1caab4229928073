"""Services: the weekly digest's content for the demo companies, hygiene changes since last week, the firm
digest from summary rows, and sending each week's digest at most once across runs."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domains.core import repository as core
from domains.summaries import repository as summaries
from runway.services.data_orchestrators.digest_data_orchestrator import DigestDataOrchestrator
from runway.services.experiences.digest import DigestEmail, DigestService
from tests.support.personas import build_world
from tests.support.runway_world import CAFE, HEALTHY, IN_TROUBLE, MESSY, TIGHT, add_demo_business, report_for

pytestmark = pytest.mark.anyio

PUBLIC = "https://runway.example.test"
FIRM = "Ledgerline Advisors"


def service(db) -> DigestService:
    return DigestService(DigestDataOrchestrator(db), PUBLIC)


async def test_the_business_digest_of_each_demo_company_tells_its_week_as_the_report_does(qbo):
    ids = {}
    for name in (HEALTHY, TIGHT, IN_TROUBLE, MESSY):
        ids[name] = await add_demo_business(qbo, name, firm=FIRM)
    ids[CAFE] = await add_demo_business(qbo, CAFE)

    for name, business_id in ids.items():
        view = await service(qbo.db).business_digest(business_id)
        report = await report_for(qbo, name, view.as_of)
        runway = report["runway"]
        assert view.has_data
        assert view.status == runway["status"]
        assert view.runway_days == runway["days"]
        assert view.runway_weeks == (None if runway["weeks"] is None else str(runway["weeks"]))
        assert (view.cash_zero_date.isoformat() if view.cash_zero_date else None) == runway["cash_zero_date"]
        lowest = min(report["grid"], key=lambda week: week["ending_cents"])
        assert (view.lowest_cash_week, view.lowest_cash_cents) == (lowest["week"], lowest["ending_cents"])
        assert view.lowest_cash_week_start.isoformat() == lowest["start"]
        # The bills due this week are exactly the bill payments the forecast puts in W1.
        assert view.bills_due_cents == report["grid"][0]["disbursements_bills_cents"]
        assert all(item.due_date <= view.week_end or item.days_overdue for item in view.bills_due)
        assert all(item.days_overdue > 0 and item.entity_type == "invoice" for item in view.overdue_invoices)
        assert len(view.top_decisions) <= 5
        assert view.decisions_waiting >= len(view.top_decisions)
        assert view.hygiene_score == report["hygiene"]["score"]
        assert view.links.dashboard == f"{PUBLIC}/b/{business_id}"
        assert view.iso_week == "{}-W{:02d}".format(*view.as_of.isocalendar()[:2])

    trouble = await service(qbo.db).business_digest(ids[IN_TROUBLE])
    assert trouble.status == "red"
    # The weeks themselves follow the calendar (the demo books are dated from today); the report's figure
    # is held above, here the subject that carries it.
    assert trouble.runway_weeks is not None
    assert float(trouble.runway_weeks) < 4
    weeks = trouble.runway_weeks
    assert trouble.subject == f"{IN_TROUBLE}: {weeks} weeks of cash (red), week {trouble.iso_week}"
    assert trouble.overdue_invoices_count > 0
    assert trouble.top_decisions
    healthy = await service(qbo.db).business_digest(ids[HEALTHY])
    assert healthy.not_burning
    assert "13+ weeks of cash, not burning" in healthy.subject
    messy = await service(qbo.db).business_digest(ids[MESSY])
    assert messy.issues_high > 0
    assert messy.hygiene_score is not None
    assert messy.hygiene_score < 100


async def test_hygiene_issues_opened_and_closed_since_last_weeks_record(qbo):
    business_id = await add_demo_business(qbo, MESSY, firm=FIRM)
    first = await service(qbo.db).business_digest(business_id)
    assert not first.issue_changes.has_history, "the first week has nothing to compare with"

    # Last week's record: one issue that is gone now, and all of today's but two.
    async with qbo.db.read() as session:
        this_week = (await summaries.marks_of_week(session, [business_id], first.week_start))[business_id]
    current = list(this_week.open_keys)
    assert len(current) > 2
    last_week = [*current[2:], "possible_duplicate_bill|bill|999999"]
    async with qbo.db.write() as session:
        await summaries.set_week_mark(
            session, business_id, first.week_start - dt.timedelta(days=7), last_week
        )

    view = await service(qbo.db).business_digest(business_id)
    assert view.issue_changes.opened == 2
    assert view.issue_changes.closed == 1
    assert len(view.issue_changes.opened_effects) == 2


async def test_the_firm_digest_reads_summary_rows_in_client_list_order(qbo):
    for name in (HEALTHY, TIGHT, IN_TROUBLE):
        await add_demo_business(qbo, name, firm=FIRM)
    async with qbo.db.read() as session:
        firm = await core.get_or_create_firm(session, FIRM)
        firm_id = firm.id

    view = await service(qbo.db).firm_digest(firm_id)

    assert [line.name for line in view.clients] == [IN_TROUBLE, TIGHT, HEALTHY]
    assert (view.red, view.amber, view.green) == (1, 1, 1)
    assert 0 < len(view.top_decisions) <= 5
    overdue = [line.item.days_overdue for line in view.top_decisions]
    assert overdue == sorted(overdue, reverse=True), "most overdue first"
    assert all(line.has_figures for line in view.clients)


async def test_each_digest_is_sent_once_per_week_across_runs_and_a_failed_one_is_retried(qbo):
    await build_world(qbo.db)
    owned = await add_demo_business(qbo, CAFE, business_name="Bob's Bikes Cafe")
    async with qbo.db.write() as session:
        bob = await core.get_user_by_email(session, "bob@bikes.test")
        await core.ensure_membership(session, user_id=bob.id, business_id=owned, role="owner")
    await add_demo_business(qbo, TIGHT, firm="Acme Accounting")

    delivered: list[DigestEmail] = []
    fail_firms = True

    async def deliver(email: DigestEmail) -> None:
        if email.kind == "firm" and fail_firms:
            raise ConnectionRefusedError("SMTP server unreachable")
        delivered.append(email)

    first = await service(qbo.db).send_weekly(deliver)
    by_name = {(o.kind, o.name): o for o in first}
    assert by_name[("business", "Bob's Bikes Cafe")].status == "sent"
    assert by_name[("business", "Bob's Bikes Cafe")].recipients == ("bob@bikes.test",)
    assert by_name[("business", TIGHT)].status == "no_recipients", "a firm client without owners has none"
    assert by_name[("business", "Acme Client One")].status == "no_recipients"
    assert by_name[("business", "Bob's Bikes")].status == "no_data", "its owner gets nothing without figures"
    assert by_name[("firm", "Acme Accounting")].status == "failed"
    assert [(e.kind, e.subject) for e in delivered] == [
        ("business", f"Bob's Bikes Cafe: 13+ weeks of cash, not burning, week {first[0].iso_week}")
    ]

    # The second run the same week sends nothing twice; the firm digest that failed goes out now.
    fail_firms = False
    delivered.clear()
    second = await service(qbo.db).send_weekly(deliver)
    again = {(o.kind, o.name): o.status for o in second}
    assert again[("business", "Bob's Bikes Cafe")] == "already_sent"
    assert again[("firm", "Acme Accounting")] == "sent"
    assert [e.kind for e in delivered] == ["firm"]
    assert set(delivered[0].recipients) == {"alice@acme.test"}, "admins and advisors get the firm digest"

    # Two runs at the same moment: still nothing twice.
    delivered.clear()
    await asyncio.gather(service(qbo.db).send_weekly(deliver), service(qbo.db).send_weekly(deliver))
    assert delivered == []

    # Next week it goes out again.
    next_week = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    third = await service(qbo.db).send_weekly(deliver, now=next_week)
    assert {(o.kind, o.name): o.status for o in third}[("business", "Bob's Bikes Cafe")] == "sent"


async def test_a_dry_run_records_nothing(qbo):
    await build_world(qbo.db)
    owned = await add_demo_business(qbo, CAFE, business_name="Dry Run Cafe")
    async with qbo.db.write() as session:
        bob = await core.get_user_by_email(session, "bob@bikes.test")
        await core.ensure_membership(session, user_id=bob.id, business_id=owned, role="owner")
    seen: list[DigestEmail] = []

    async def deliver(email: DigestEmail) -> None:
        seen.append(email)

    dry = await service(qbo.db).send_weekly(deliver, dry_run=True)
    assert {(o.kind, o.name): o.status for o in dry}[("business", "Dry Run Cafe")] == "would_send"
    real = await service(qbo.db).send_weekly(deliver)
    assert {(o.kind, o.name): o.status for o in real}[("business", "Dry Run Cafe")] == "sent"
    week_start = (await service(qbo.db).business_digest(owned)).week_start
    async with qbo.db.read() as session:
        send = await summaries.get_digest_send(session, week_start=week_start, business_id=owned)
    assert send is not None
    assert send.status == "sent"
    assert send.attempts == 1
