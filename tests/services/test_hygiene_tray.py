"""Services: the Hygiene Tray's lifecycle on SQLite and PostgreSQL — dismissals by fingerprint, snoozes that
reopen on their date, issues resolved by new QBO data or by a fix, firm scoping, and fixes written to QBO."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from domains.core import repository as core
from domains.core.models import AuditLog
from domains.core.permissions import capabilities
from domains.hygiene.models import HygieneFix, HygieneIssueRecord
from runway.services.calculators import RunwayCalculator
from runway.services.data_orchestrators.business_snapshot import load_business_snapshot
from runway.services.data_orchestrators.hygiene_tray_data_orchestrator import (
    HygieneConflictError,
    HygieneTrayDataOrchestrator,
    local_date,
)
from runway.services.experiences.business_list import BusinessContext
from runway.services.experiences.hygiene_tray import HygieneTrayService, TrayFilters
from runway.services.experiences.sign_in import CurrentUser, FirmMembershipView
from tests.support.personas import build_world
from tests.support.qbo import bank_account, bill, vendor

pytestmark = pytest.mark.anyio

TZ = "America/New_York"


def today() -> dt.date:
    return local_date(dt.datetime.now(dt.UTC), TZ)


def company() -> dict[str, list[dict]]:
    day = today()
    return {
        "Account": [bank_account("35", "5000.00")],
        "Vendor": [vendor("1", "Paper Co"), vendor("2", "Ink Ltd")],
        # No DueDate, vendor without terms: bill_missing_due_date (high) + vendor_missing_terms (low).
        "Bill": [
            bill("10", "1", "420.00", (day - dt.timedelta(days=10)).isoformat()),
            # Due 70 days ago: stale_open_bill (medium).
            bill(
                "11",
                "2",
                "300.00",
                (day - dt.timedelta(days=100)).isoformat(),
                (day - dt.timedelta(days=70)).isoformat(),
            ),
        ],
    }


async def synced(qbo, name="Harbor Plumbing", entities=None):
    business_id, realm_id = await qbo.connected_business(name, entities or company())
    sync = qbo.smart_sync()
    await sync.sync_now(business_id)
    return business_id, realm_id, sync


async def local_token(qbo, business_id, qbo_id):
    orchestrator = HygieneTrayDataOrchestrator(qbo.db)
    version = await orchestrator.entity_version(business_id, "bill", qbo_id)
    assert version is not None
    return version.sync_token


async def first(orchestrator, business_id, rule):
    return next(i for i in await orchestrator.open_issues(business_id, today()) if i.rule == rule)


def keys(issues):
    return {(i.rule, i.entity_type, i.qbo_id) for i in issues}


async def alice_at_client_one(qbo, world):
    """Alice, an advisor of Acme Accounting, and Acme Client One as she reaches it through the firm."""
    async with qbo.db.read() as session:
        alice = await core.get_user_by_email(session, "alice@acme.test")
        acme = await core.get_or_create_firm(session, "Acme Accounting")
    firm = FirmMembershipView(acme.id, "Acme Accounting", "advisor")
    user = CurrentUser(alice.id, alice.email, "Alice", (firm,))
    one = BusinessContext(
        world.acme_client_one, "Acme Client One", "advisor", acme.id, firm.name, capabilities("advisor")
    )
    return user, one


async def test_open_issues_lists_detected_issues_in_product_order(qbo):
    business_id, _realm, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    issues = await orchestrator.open_issues(business_id, today())
    assert [(i.rule, i.qbo_id) for i in issues] == [
        ("bill_missing_due_date", "10"),
        ("stale_open_bill", "11"),
        ("vendor_missing_terms", "1"),
    ]
    score, counts = await orchestrator.hygiene_summary(business_id, today())
    assert counts == {"high": 1, "medium": 1, "low": 0 + 1}
    assert score == 0, "both open bills carry a high or medium issue"


async def test_a_dismissal_holds_until_the_fingerprinted_fields_change(qbo):
    business_id, realm_id, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    stale = next(
        i for i in await orchestrator.open_issues(business_id, today()) if i.rule == "stale_open_bill"
    )
    await orchestrator.dismiss(business_id, stale, user_id=None)
    assert ("stale_open_bill", "bill", "11") not in keys(await orchestrator.open_issues(business_id, today()))

    # A sync that changes nothing the rule looked at keeps it dismissed.
    await sync.sync_now(business_id)
    data = await orchestrator.tray_data(business_id, now=dt.datetime.now(dt.UTC))
    assert data.hidden[("stale_open_bill", "bill", "11")] == "dismissed"

    # Someone moves the due date in QuickBooks (still over 60 days late): the issue is back.
    token = await local_token(qbo, business_id, "11")
    new_due = (today() - dt.timedelta(days=80)).isoformat()
    await qbo.qbo_write(
        realm_id, "Bill", {"Id": "11", "SyncToken": token, "sparse": True, "DueDate": new_due}
    )
    await sync.sync_now(business_id)
    reopened = await orchestrator.open_issues(business_id, today())
    assert ("stale_open_bill", "bill", "11") in keys(reopened)
    await orchestrator.tray_data(business_id, now=dt.datetime.now(dt.UTC))
    state = await orchestrator.tray_data(business_id, now=dt.datetime.now(dt.UTC))
    assert ("stale_open_bill", "bill", "11") not in state.triage.dismissals, (
        "the stale dismissal is forgotten"
    )


async def test_a_snooze_reopens_on_its_date(qbo):
    business_id, _realm, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    day = today()
    issue = next(
        i for i in await orchestrator.open_issues(business_id, day) if i.rule == "vendor_missing_terms"
    )
    await orchestrator.snooze(business_id, issue, until=day + dt.timedelta(days=7), user_id=None)
    assert issue.rule not in {i.rule for i in await orchestrator.open_issues(business_id, day)}
    six_days = await orchestrator.open_issues(business_id, day + dt.timedelta(days=6))
    assert issue.rule not in {i.rule for i in six_days}
    on_the_day = await orchestrator.open_issues(business_id, day + dt.timedelta(days=7))
    assert issue.rule in {i.rule for i in on_the_day}


async def test_an_issue_fixed_in_quickbooks_resolves_itself_after_the_sync(qbo):
    business_id, realm_id, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    first = await orchestrator.tray_data(business_id, now=dt.datetime.now(dt.UTC))
    assert ("bill_missing_due_date", "bill", "10") in keys(first.open)
    assert first.cleared_this_week == 0

    token = await local_token(qbo, business_id, "10")
    due = (today() + dt.timedelta(days=20)).isoformat()
    await qbo.qbo_write(realm_id, "Bill", {"Id": "10", "SyncToken": token, "sparse": True, "DueDate": due})
    await sync.sync_now(business_id)

    after = await orchestrator.tray_data(business_id, now=dt.datetime.now(dt.UTC))
    assert ("bill_missing_due_date", "bill", "10") not in keys(after.open)
    assert ("vendor_missing_terms", "vendor", "1") not in keys(after.open), "its only undated bill has a date"
    assert after.cleared_this_week == 2
    async with qbo.db.read() as session:
        record = await session.scalar(
            select(HygieneIssueRecord).where(
                HygieneIssueRecord.business_id == business_id,
                HygieneIssueRecord.rule == "bill_missing_due_date",
            )
        )
    assert record.status == "resolved"
    assert record.resolution == "cleared_in_qbo"


async def test_fixing_a_due_date_writes_qbo_logs_the_fix_and_can_be_undone(qbo):
    business_id, realm_id, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    issue = next(
        i for i in await orchestrator.open_issues(business_id, today()) if i.rule == "bill_missing_due_date"
    )
    token = await local_token(qbo, business_id, "10")
    due = today() + dt.timedelta(days=5)
    outcome = await orchestrator.set_due_date(
        business_id, issue, due_date=due, sync_token=token, user_id=None, summary="Due date set"
    )
    in_qbo = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '10'"))["Bill"][0]
    assert in_qbo["DueDate"] == due.isoformat()
    assert int(in_qbo["SyncToken"]) == int(token) + 1
    assert ("bill_missing_due_date", "bill", "10") not in keys(
        await orchestrator.open_issues(business_id, today())
    )
    async with qbo.db.read() as session:
        fix = await session.get(HygieneFix, outcome.fix_id)
        audit = (
            await session.scalars(select(AuditLog).where(AuditLog.action == "hygiene.fix.set_due_date"))
        ).one()
    assert fix.before == {"DueDate": None}
    assert fix.after == {"DueDate": due.isoformat()}
    assert audit.before["DueDate"] is None
    assert audit.after["DueDate"] == due.isoformat()

    await orchestrator.revert_fix(business_id, outcome.fix_id, user_id=None)
    reverted = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '10'"))["Bill"][0]
    assert reverted.get("DueDate") is None, "the old (missing) due date is restored in QuickBooks"
    assert ("bill_missing_due_date", "bill", "10") in keys(
        await orchestrator.open_issues(business_id, today())
    )


async def test_a_stale_sync_token_is_a_conflict_not_an_overwrite(qbo):
    business_id, realm_id, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    issue = next(
        i for i in await orchestrator.open_issues(business_id, today()) if i.rule == "stale_open_bill"
    )
    seen = await local_token(qbo, business_id, "11")
    theirs = (today() - dt.timedelta(days=65)).isoformat()
    await qbo.qbo_write(realm_id, "Bill", {"Id": "11", "SyncToken": seen, "sparse": True, "DueDate": theirs})
    with pytest.raises(HygieneConflictError) as caught:
        await orchestrator.set_due_date(
            business_id, issue, due_date=today(), sync_token=seen, user_id=None, summary="x"
        )
    assert caught.value.current["DueDate"] == theirs
    in_qbo = (await qbo.qbo(realm_id, "SELECT * FROM Bill WHERE Id = '11'"))["Bill"][0]
    assert in_qbo["DueDate"] == theirs


async def test_a_recorded_payment_hides_the_issue_until_the_sync_confirms_it(qbo):
    business_id, realm_id, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    issue = next(
        i for i in await orchestrator.open_issues(business_id, today()) if i.rule == "stale_open_bill"
    )
    await orchestrator.record_bill_payment(
        business_id,
        issue,
        bank_account_qbo_id="35",
        paid_on=today(),
        request_id="a1b2c3d4e5f6a7b8",
        user_id=None,
        summary="Payment recorded",
    )
    payments = (await qbo.qbo(realm_id, "SELECT * FROM BillPayment"))["BillPayment"]
    assert len(payments) == 1
    assert payments[0]["TotalAmt"] == Decimal("300.00")
    assert ("stale_open_bill", "bill", "11") not in keys(await orchestrator.open_issues(business_id, today()))
    # The same form sent twice replays QuickBooks' first answer: still one payment.
    await orchestrator.record_bill_payment(
        business_id,
        issue,
        bank_account_qbo_id="35",
        paid_on=today(),
        request_id="a1b2c3d4e5f6a7b8",
        user_id=None,
        summary="Payment recorded",
    )
    assert len((await qbo.qbo(realm_id, "SELECT * FROM BillPayment"))["BillPayment"]) == 1

    await sync.sync_now(business_id)
    data = await orchestrator.tray_data(business_id, now=dt.datetime.now(dt.UTC))
    assert ("stale_open_bill", "bill", "11") not in data.hidden, "the bill is paid now: no longer detected"
    assert ("stale_open_bill", "bill", "11") not in keys(data.open)


async def test_triage_state_is_per_business_and_the_firm_tray_is_the_firms(qbo):
    world = await build_world(qbo.db)
    realm_one = await qbo.sandbox.create_company("One", company())
    realm_two = await qbo.sandbox.create_company("Two", company())
    await qbo.connect(world.acme_client_one, realm_one)
    await qbo.connect(world.acme_client_two, realm_two)
    sync = qbo.smart_sync()
    await sync.sync_now(world.acme_client_one)
    await sync.sync_now(world.acme_client_two)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    issue = next(
        i for i in await orchestrator.open_issues(world.acme_client_one, today()) if i.qbo_id == "10"
    )
    await orchestrator.dismiss(world.acme_client_one, issue, user_id=None)
    assert ("bill_missing_due_date", "bill", "10") not in keys(
        await orchestrator.open_issues(world.acme_client_one, today())
    )
    assert ("bill_missing_due_date", "bill", "10") in keys(
        await orchestrator.open_issues(world.acme_client_two, today())
    ), "the same QBO ids in another business are untouched"

    async with qbo.db.read() as session:
        alice = await core.get_user_by_email(session, "alice@acme.test")
        oscar = await core.get_user_by_email(session, "oscar@other.test")
        acme = await core.get_or_create_firm(session, "Acme Accounting")
    assert set(await orchestrator.firm_business_ids(alice.id, acme.id)) == {
        world.acme_client_one,
        world.acme_client_two,
    }
    assert await orchestrator.firm_business_ids(oscar.id, acme.id) == []

    service = HygieneTrayService(orchestrator)

    user = CurrentUser(
        alice.id, alice.email, "Alice", (FirmMembershipView(acme.id, "Acme Accounting", "advisor"),)
    )
    view = await service.firm_tray(user, TrayFilters())
    clients = {row.business_name for group in view.groups for row in group.rows}
    assert clients == {"Acme Client One", "Acme Client Two"}
    assert view.counters.high == 1, "client one's dismissed issue is not counted"
    only_two = await service.firm_tray(user, TrayFilters(client=world.acme_client_two))
    assert {row.business_name for group in only_two.groups for row in group.rows} == {"Acme Client Two"}


async def test_the_runway_delta_shown_for_a_due_date_matches_the_runway_after_the_fix(qbo):
    day = today()
    entities = company()
    # Little cash: moving the undated bill earlier shortens the runway.
    entities["Account"] = [bank_account("35", "500.00")]
    business_id, _realm, sync = await synced(qbo, entities=entities)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    service = HygieneTrayService(orchestrator)
    business = BusinessContext(business_id, "Harbor Plumbing", "owner", None, None, capabilities("owner"))
    key = ("bill_missing_due_date", "bill", "10")
    chosen = day + dt.timedelta(days=2)
    shown = await service.preview(business, key, {"due_date": chosen.isoformat()})
    impact = shown.fix_panel.impact
    async with qbo.db.read() as session:
        before = RunwayCalculator().calculate(await load_business_snapshot(session, business_id), day)
    token = await local_token(qbo, business_id, "10")
    await orchestrator.set_due_date(
        business_id,
        next(i for i in await orchestrator.open_issues(business_id, day) if i.rule == key[0]),
        due_date=chosen,
        sync_token=token,
        user_id=None,
        summary="x",
    )
    async with qbo.db.read() as session:
        after = RunwayCalculator().calculate(await load_business_snapshot(session, business_id), day)
    assert impact.new_cash_zero_date == after.runway.cash_zero_date
    assert impact.delta_days == after.runway.days - before.runway.days
    assert impact.delta_days < 0
    assert impact.new_lowest_cash_cents == after.lowest_cash_cents


async def test_rows_link_to_quickbooks_in_intuit_mode_and_explain_the_sandbox(qbo):
    business_id, _realm, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    business = BusinessContext(business_id, "Harbor Plumbing", "owner", None, None, capabilities("owner"))
    intuit = await HygieneTrayService(orchestrator, qbo_links="intuit").tray(business, TrayFilters())
    rows = {(r.rule, r.qbo_id): r for g in intuit.groups for r in g.rows}
    assert (
        rows[("bill_missing_due_date", "10")].qbo_links[0].url
        == "https://app.qbo.intuit.com/app/bill?txnId=10"
    )
    assert rows[("vendor_missing_terms", "1")].qbo_links[0].url == (
        "https://app.qbo.intuit.com/app/vendordetail?nameId=1"
    )
    developer = await HygieneTrayService(orchestrator, qbo_links="intuit_sandbox").tray(
        business, TrayFilters()
    )
    assert developer.groups[0].rows[0].qbo_links[0].url.startswith("https://app.sandbox.qbo.intuit.com/app/")
    local = await HygieneTrayService(orchestrator, qbo_links="local_sandbox").tray(business, TrayFilters())
    first = local.groups[0].rows[0]
    assert first.qbo_links == ()
    assert "built-in QuickBooks sandbox" in (first.qbo_note or "")


async def test_the_firm_tray_from_the_register_agrees_with_each_clients_books_and_follows_syncs(qbo):
    world = await build_world(qbo.db)
    realm_one = await qbo.sandbox.create_company("One", company())
    realm_two = await qbo.sandbox.create_company("Two", company())
    await qbo.connect(world.acme_client_one, realm_one)
    await qbo.connect(world.acme_client_two, realm_two)
    sync = qbo.smart_sync()
    await sync.sync_now(world.acme_client_one)
    await sync.sync_now(world.acme_client_two)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    service = HygieneTrayService(orchestrator)
    user, one = await alice_at_client_one(qbo, world)

    async def own_tray(business_id, name):
        business = BusinessContext(
            business_id, name, "advisor", one.firm_id, "Acme Accounting", capabilities("advisor")
        )
        return await service.tray(business, TrayFilters())

    def rows(view):
        return [
            (r.business_id, r.rule, r.qbo_id, r.entity_label, r.impact) for g in view.groups for r in g.rows
        ]

    firm = await service.firm_tray(user, TrayFilters())
    trays = [
        await own_tray(world.acme_client_one, "Acme Client One"),
        await own_tray(world.acme_client_two, "Acme Client Two"),
    ]
    assert firm.counters.high == sum(t.counters.high for t in trays)
    assert firm.counters.medium + firm.counters.low == sum(t.counters.medium + t.counters.low for t in trays)
    assert {c.id: c.score for c in firm.client_options} == {t.business_id: t.counters.score for t in trays}
    assert sorted(rows(firm)) == sorted(r for t in trays for r in rows(t)), (
        "the register's rows say what each client's own tray says: labels and runway deltas included"
    )
    again = await service.firm_tray(user, TrayFilters())
    assert rows(again) == rows(firm), "read back from the register"

    dismissed = await service.dismiss(
        one,
        user,
        ("vendor_missing_terms", "vendor", "1"),
        scope="firm",
        filters=TrayFilters(),
        want_page=False,
    )
    assert dismissed.row.state == "dismissed"
    assert dismissed.row.entity_label == "Vendor Paper Co"
    assert dismissed.counters.low == firm.counters.low - 1
    assert dismissed.counters.cleared == firm.counters.cleared + 1
    after_dismiss = await service.firm_tray(user, TrayFilters())
    assert after_dismiss.counters.low == firm.counters.low - 1
    reopened = await service.reopen(
        one,
        user,
        ("vendor_missing_terms", "vendor", "1"),
        scope="firm",
        filters=TrayFilters(),
        want_page=False,
    )
    assert reopened.row.is_open
    assert reopened.counters.low == firm.counters.low

    token = await local_token(qbo, world.acme_client_one, "10")
    due = (today() + dt.timedelta(days=20)).isoformat()
    await qbo.qbo_write(realm_one, "Bill", {"Id": "10", "SyncToken": token, "sparse": True, "DueDate": due})
    await sync.sync_now(world.acme_client_one)
    synced_view = await service.firm_tray(user, TrayFilters())
    shown = {(r[0], r[1], r[2]) for r in rows(synced_view)}
    assert (world.acme_client_one, "bill_missing_due_date", "10") not in shown, "cleared in QuickBooks"
    assert (world.acme_client_two, "bill_missing_due_date", "10") in shown
    assert synced_view.counters.high == firm.counters.high - 1


async def test_triage_keeps_the_stored_summary_equal_to_the_books_one_object_at_a_time(qbo):
    """A triage action adjusts the stored header numbers by the one object it touched: after every action
    they must equal the numbers worked out again from the books (the tray) and from the whole register."""
    world = await build_world(qbo.db)
    entities = company()
    # A third bill with no due date from a vendor without terms: two objects carrying several issues.
    entities["Bill"].append(bill("12", "1", "150.00", (today() - dt.timedelta(days=3)).isoformat()))
    realm = await qbo.sandbox.create_company("One", entities)
    await qbo.connect(world.acme_client_one, realm)
    sync = qbo.smart_sync()
    await sync.sync_now(world.acme_client_one)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    service = HygieneTrayService(orchestrator)
    user, one = await alice_at_client_one(qbo, world)
    start = await service.tray(one, TrayFilters())
    assert start.counters.score < 100, "the bills' issues weigh on the score"

    def numbers(counters):
        return (counters.high, counters.medium, counters.low, counters.cleared, counters.score)

    until = {"days": "7"}
    steps = [
        ("dismiss", ("vendor_missing_terms", "vendor", "1")),
        ("snooze", ("stale_open_bill", "bill", "11")),
        ("dismiss", ("bill_missing_due_date", "bill", "10")),
        ("snooze", ("bill_missing_due_date", "bill", "12")),
        ("reopen", ("stale_open_bill", "bill", "11")),
        ("reopen", ("vendor_missing_terms", "vendor", "1")),
        ("dismiss", ("stale_open_bill", "bill", "11")),
        ("reopen", ("bill_missing_due_date", "bill", "10")),
    ]
    versions = []
    for verb, key in steps:
        common = {"scope": "business", "filters": TrayFilters(), "want_page": False}
        if verb == "snooze":
            result = await service.snooze(one, user, key, until, **common)
        else:
            result = await getattr(service, verb)(one, user, key, **common)
        books = await service.tray(one, TrayFilters())
        assert numbers(result.counters) == numbers(books.counters), f"after {verb} {key}"
        register = await orchestrator.register_summary(world.acme_client_one, now=dt.datetime.now(dt.UTC))
        assert register.summary == await _stored_summary(orchestrator, world.acme_client_one)
        versions.append(await _summary_version(qbo, world.acme_client_one))
    assert None not in versions, f"each action stores the version it adjusted: {versions}"
    assert versions == list(range(versions[0], versions[0] + len(steps))), "one version after another"
    assert numbers((await service.tray(one, TrayFilters())).counters)[3] >= 2, "cleared this week"


async def _stored_summary(orchestrator, business_id):
    async with orchestrator.db.read() as session:
        from domains.hygiene import repository as hygiene_repo

        return (await hygiene_repo.evaluation_states(session, [business_id]))[business_id].summary


async def _summary_version(qbo, business_id):
    from domains.hygiene.models import HygieneState

    async with qbo.db.read() as session:
        return await session.scalar(
            select(HygieneState.summary_version).where(HygieneState.business_id == business_id)
        )


async def test_triage_read_in_turns_is_the_same_state(qbo, monkeypatch):
    """Outside a write, the register is read a batch of rows at a time with turns of the event loop in
    between; the state is the same as read at once, dismissals and snoozes included."""
    from domains.hygiene import repository as hygiene_repo

    monkeypatch.setattr(hygiene_repo, "_TRIAGE_ROWS_PER_TURN", 1)
    business_id, _realm, sync = await synced(qbo)
    orchestrator = HygieneTrayDataOrchestrator(qbo.db, sync)
    issues = await orchestrator.open_issues(business_id, today())
    await orchestrator.dismiss(business_id, issues[0], user_id=None)
    await orchestrator.snooze(business_id, issues[1], until=today() + dt.timedelta(days=3), user_id=None)
    await orchestrator.tray_data(business_id, now=dt.datetime.now(dt.UTC))
    async with qbo.db.read() as session:
        at_once = await hygiene_repo.load_triage_state(session, business_id)
        in_turns = await hygiene_repo.load_triage_state(session, business_id, in_turns=True)
    assert in_turns == at_once
    assert len(at_once.register) >= 3
    assert len(at_once.dismissals) == len(at_once.snoozes) == 1
