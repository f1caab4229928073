"""Services: the Decision Console queue, every verb and undo, roles, finalize and optimistic concurrency.

Runs on SQLite and PostgreSQL against the in-memory QBO sandbox. The company below is small and dated
relative to AS_OF so every queue rule, block and verb has an item to act on. Other console tests import
its helpers (`console_world`, `ConsoleWorld`).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from domains.core import passwords
from domains.core.models import AuditLog, User
from domains.decisions.models import Decision
from runway.services.calculators import Chase, Delay, ImpactCalculator, PayNow, PlannedDate, Schedule, Skip
from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator
from runway.services.data_orchestrators.business_list_data_orchestrator import BusinessListDataOrchestrator
from runway.services.data_orchestrators.business_snapshot import load_business_snapshot
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
)
from runway.services.data_orchestrators.decision_console_data_orchestrator import (
    DecisionConsoleDataOrchestrator,
)
from runway.services.data_orchestrators.hygiene_tray_data_orchestrator import HygieneTrayDataOrchestrator
from runway.services.experiences.business_list import BusinessContext, BusinessListService
from runway.services.experiences.decision_console import (
    ConsoleConflictError,
    ConsoleForbiddenError,
    ConsoleInputError,
    DecisionConsoleService,
)
from runway.services.experiences.sign_in import CurrentUser, SignInService
from tests.support.personas import World, build_world
from tests.support.qbo import QboHarness, bank_account, bill, vendor

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for the personas: these tests are about decisions, not password strength."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# A Wednesday: its week runs Monday 23 Nov to Sunday 29 Nov 2026.
AS_OF = dt.date(2026, 11, 25)


def day(offset: int, as_of: dt.date = AS_OF) -> str:
    return (as_of + dt.timedelta(days=offset)).isoformat()


def customer(qbo_id: str, name: str, email: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"Id": qbo_id, "DisplayName": name, "Active": True}
    if email:
        doc["PrimaryEmailAddr"] = {"Address": email}
    return doc


def invoice(
    qbo_id: str, customer_id: str, amount: str, due: str, txn: str, email: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Id": qbo_id,
        "DocNumber": f"INV-{qbo_id}",
        "CustomerRef": {"value": customer_id},
        "TxnDate": txn,
        "DueDate": due,
        "TotalAmt": Decimal(amount),
        "Balance": Decimal(amount),
        "Line": [{"Amount": Decimal(amount), "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {}}],
    }
    if email:
        doc["BillEmail"] = {"Address": email}
    return doc


def purchase(qbo_id: str, txn_date: str, amount: str) -> dict[str, Any]:
    return {
        "Id": qbo_id,
        "PaymentType": "Check",
        "AccountRef": {"value": "35"},
        "TxnDate": txn_date,
        "TotalAmt": Decimal(amount),
        "Line": [
            {
                "Amount": Decimal(amount),
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7", "name": "Rent"}},
            }
        ],
    }


def company(as_of: dt.date = AS_OF) -> dict[str, list[dict[str, Any]]]:
    """Cash 10,000 and a weekly spend of 1,500: the business burns, about 47 days of runway."""

    def on(offset: int) -> str:
        return day(offset, as_of)

    return {
        "Account": [bank_account("35", "10000.00")],
        "Term": [
            {"Id": "10", "Name": "Net 30", "DueDays": 30, "Active": True},
            {
                "Id": "11",
                "Name": "2% 10 Net 30",
                "DueDays": 30,
                "DiscountPercent": Decimal("2"),
                "DiscountDays": 10,
                "Active": True,
            },
        ],
        "Vendor": [
            vendor("1", "Paper Co"),
            vendor("2", "Harbor Rent LLC"),
            vendor("3", "Critical Supplies", TermRef={"value": "11"}),
            vendor("4", "Loose Ends Ltd", TermRef={"value": "10"}),
        ],
        "Customer": [customer("5", "Acme Stores", "ap@acme.test"), customer("6", "Quiet Client")],
        "Bill": [
            bill("101", "1", "2000.00", on(-35), on(-5), DocNumber="P-101"),
            bill("102", "2", "3000.00", on(-27), on(3), DocNumber="R-102"),
            bill("103", "3", "500.00", on(-5), on(10), DocNumber="C-103"),
            # No DueDate: due by its vendor's Net 30, and blocked by the high-severity hygiene rule.
            bill("104", "4", "800.00", on(-20), None, DocNumber="L-104"),
            bill("105", "1", "1000.00", on(0), on(40), DocNumber="P-105"),
        ],
        "Invoice": [
            invoice("201", "5", "4000.00", on(-10), on(-40), "ap@acme.test"),
            invoice("202", "6", "1500.00", on(-3), on(-33), None),
            invoice("203", "5", "2000.00", on(5), on(-25), "ap@acme.test"),
        ],
        "Purchase": [purchase(str(300 + k), on(-7 * k), "1500.00") for k in range(1, 14)],
    }


QUEUE_ORDER = [
    "item-invoice-201",  # 10 days overdue
    "item-bill-101",  # 5 days overdue
    "item-invoice-202",  # 3 days overdue
    "item-bill-102",  # due in 3 days
    "item-bill-104",  # due in 10 days, the larger amount (blocked)
    "item-bill-103",  # due in 10 days
]


@dataclass
class ConsoleWorld:
    qbo: QboHarness
    world: World
    business_id: int
    realm_id: str
    users: dict[str, CurrentUser]
    contexts: dict[str, BusinessContext]
    as_of: dt.date

    def service(self, *, smart_sync: Any = None, db: Any = None) -> DecisionConsoleService:
        orchestrator = DecisionConsoleDataOrchestrator(db or self.qbo.db, smart_sync)
        return DecisionConsoleService(orchestrator, today=lambda _tz: self.as_of)

    def who(self, name: str) -> tuple[BusinessContext, CurrentUser]:
        return self.contexts[name], self.users[name]


PEOPLE = {
    "alice": "alice@acme.test",
    "bert": "bert@acme.test",
    "vera": "vera@acme.test",
}


async def console_world(qbo: QboHarness, as_of: dt.date = AS_OF) -> ConsoleWorld:
    """The Acme personas, with Acme Client One connected to a sandbox company holding `company(as_of)`."""
    world = await build_world(qbo.db)
    realm_id = await qbo.sandbox.create_company("Acme Client One", company(as_of))
    business_id = world.acme_client_one
    await qbo.connect(business_id, realm_id)
    outcome = await qbo.smart_sync().sync_now(business_id)
    assert outcome.status == "succeeded", outcome.error
    sign_in = SignInService(AccountsDataOrchestrator(qbo.db))
    businesses = BusinessListService(BusinessListDataOrchestrator(qbo.db))
    users: dict[str, CurrentUser] = {}
    contexts: dict[str, BusinessContext] = {}
    async with qbo.db.read() as session:
        ids = {email: uid for uid, email in (await session.execute(select(User.id, User.email))).all()}
    for name, email in PEOPLE.items():
        user = await sign_in.current_user(ids[email])
        assert user is not None
        users[name] = user
        contexts[name] = await businesses.resolve(user.id, business_id)
    return ConsoleWorld(qbo, world, business_id, realm_id, users, contexts, as_of)


def row_of(view: Any, dom_id: str) -> Any:
    return next(r for r in view.rows if r.dom_id == dom_id)


async def decisions(db: Any, business_id: int) -> list[Decision]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(Decision).where(Decision.business_id == business_id).order_by(Decision.id)
            )
        )


async def test_queue_holds_due_bills_and_overdue_invoices_in_priority_order(qbo):
    cw = await console_world(qbo)
    console = cw.service()
    view = await console.console(*cw.who("alice"))
    assert [r.dom_id for r in view.rows] == QUEUE_ORDER
    assert view.header.cash_now_cents == 1_000_000
    assert not view.header.not_burning
    assert view.header.cash_zero_date is not None

    blocked = row_of(view, "item-bill-104")
    assert blocked.blocked_by == ("no due date",)
    assert not blocked.can_decide, "a blocked item offers a link to the tray, not decision keys"
    assert row_of(view, "item-bill-101").can_decide
    assert view.counters.items == 6
    assert view.counters.blocked == 1
    assert view.counters.undecided == 6

    # A vendor the firm flags critical leads the queue.
    await console.set_vendor_critical(*cw.who("alice"), "3", critical=True)
    view = await console.console(*cw.who("alice"))
    assert next(r.dom_id for r in view.rows) == "item-bill-103"
    assert row_of(view, "item-bill-103").critical


async def test_every_verb_is_priced_and_the_header_reruns_the_queued_decisions_together(qbo):
    cw = await console_world(qbo)
    console = cw.service()
    alice = cw.who("alice")

    await console.decide(*alice, "bill", "101", "pay_now", {"seen": "none", "bank_account": ""})
    # Scheduled after the cash-zero date (about 47 days out): the runway gets longer.
    await console.decide(*alice, "bill", "102", "schedule", {"seen": "none", "on": day(70)})
    await console.decide(*alice, "bill", "103", "delay", {"seen": "none", "preset": "14"})
    await console.decide(*alice, "invoice", "201", "chase", {"seen": "none"})
    last = await console.decide(*alice, "invoice", "202", "skip", {"seen": "none"})

    # The header's running total is one re-run of all five decisions, not a sum of single deltas.
    async with qbo.db.read() as session:
        snapshot = await load_business_snapshot(session, cw.business_id)
    changes = [
        PayNow("101"),
        Schedule("102", AS_OF + dt.timedelta(days=70)),
        Delay("103", AS_OF + dt.timedelta(days=24)),
        Chase("201"),
        Skip("invoice", "202"),
    ]
    expected = ImpactCalculator().impact(snapshot, AS_OF, changes)
    header = last.header
    assert header.queued_count == 5
    assert header.decisions_label == "these 5 decisions"
    assert header.delta.delta_days == expected.delta_runway_days
    assert header.delta.new_cash_zero_date == expected.new_cash_zero_date
    assert header.delta.new_lowest_cash_cents == expected.new_lowest_cash_cents
    assert header.delta.delta_days > 0, "paying rent after the cash-zero date moves that date"

    view = await console.console(*alice)
    pay = row_of(view, "item-bill-101").decision
    assert (pay.verb, pay.status, pay.planned_on) == ("pay_now", "approved", AS_OF)
    delay = row_of(view, "item-bill-103").decision
    assert delay.planned_on == AS_OF + dt.timedelta(days=24), "+14 days from the due date"
    assert delay.delta.days_past_terms == 14
    assert row_of(view, "item-invoice-202").decision.verb == "skip"
    assert view.counters.approved == 5

    # The deltas stored at decision time are each decision on top of the ones before it.
    rows = await decisions(qbo.db, cw.business_id)
    first = ImpactCalculator().impact(snapshot, AS_OF, [PayNow("101")])
    assert rows[0].delta_runway_days == first.delta_runway_days
    assert rows[0].new_lowest_cash_cents == first.new_lowest_cash_cents
    assert all(r.idempotency_key for r in rows)
    assert len({r.idempotency_key for r in rows}) == 5

    # The forecast elsewhere uses the same plan.
    planned, chased = await console.planned_dates(cw.business_id)
    assert set(planned) == {
        PlannedDate("bill", "101", AS_OF),
        PlannedDate("bill", "102", AS_OF + dt.timedelta(days=70)),
        PlannedDate("bill", "103", AS_OF + dt.timedelta(days=24)),
    }
    assert chased == ("201",)


async def test_verbs_are_checked_against_the_item_and_the_form(qbo):
    cw = await console_world(qbo)
    console = cw.service()
    alice = cw.who("alice")
    with pytest.raises(ConsoleInputError, match="does not apply to invoices"):
        await console.decide(*alice, "invoice", "201", "pay_now", {"seen": "none"})
    with pytest.raises(ConsoleInputError, match="in the past"):
        await console.decide(*alice, "bill", "102", "schedule", {"seen": "none", "on": day(-1)})
    with pytest.raises(ConsoleInputError, match="not a date"):
        await console.decide(*alice, "bill", "102", "delay", {"seen": "none", "on": "next week"})
    with pytest.raises(ConsoleInputError, match="bank account"):
        await console.decide(*alice, "bill", "101", "pay_now", {"seen": "none", "bank_account": "999"})
    with pytest.raises(ConsoleConflictError) as blocked:
        await console.decide(*alice, "bill", "104", "pay_now", {"seen": "none"})
    assert blocked.value.view.row.blocked
    assert await decisions(qbo.db, cw.business_id) == []


async def test_undo_brings_back_the_decision_it_replaced(qbo):
    cw = await console_world(qbo)
    console = cw.service()
    alice = cw.who("alice")
    first = await console.decide(*alice, "bill", "102", "schedule", {"seen": "none", "on": day(5)})
    second = await console.decide(*alice, "bill", "102", "delay", {"seen": first.row.seen, "on": day(20)})
    assert second.row.decision.verb == "delay"

    undone = await console.undo(*alice)
    assert undone.row.decision.verb == "schedule"
    assert undone.row.decision.planned_on == AS_OF + dt.timedelta(days=5)
    assert "Undid delay" in undone.message

    undone = await console.undo(*alice)
    assert undone.row.decision is None
    assert undone.header.queued_count == 0

    nothing = await console.undo(*alice)
    assert nothing.row is None
    assert nothing.message.startswith("Nothing to undo")
    statuses = [(d.verb, d.status, d.is_current) for d in await decisions(qbo.db, cw.business_id)]
    assert statuses == [("schedule", "undone", False), ("delay", "undone", False)]

    # Undo is per person: Bert's proposal is not Alice's to undo.
    await console.decide(*cw.who("bert"), "bill", "103", "skip", {"seen": "none"})
    assert (await console.undo(*alice)).row is None


async def test_roles_viewers_read_bookkeepers_propose_approvers_approve_and_finalize(qbo):
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    view = await console.console(*cw.who("vera"))
    assert not view.can_propose
    assert not row_of(view, "item-bill-101").can_decide
    with pytest.raises(ConsoleForbiddenError):
        await console.decide(*cw.who("vera"), "bill", "101", "skip", {"seen": "none"})
    with pytest.raises(ConsoleForbiddenError):
        await console.undo(*cw.who("vera"))

    proposed = await console.decide(*cw.who("bert"), "bill", "101", "skip", {"seen": "none"})
    assert proposed.row.decision.status == "proposed"
    with pytest.raises(ConsoleForbiddenError):
        await console.decide(*cw.who("bert"), "bill", "101", "approve", {"seen": proposed.row.seen})
    with pytest.raises(ConsoleForbiddenError):
        await console.start_finalize(*cw.who("bert"))
    assert await console.start_finalize(*cw.who("alice")) is None, "nothing is approved yet"

    approved = await console.decide(*cw.who("alice"), "bill", "101", "approve", {"seen": proposed.row.seen})
    assert approved.row.decision.status == "approved"
    assert approved.row.decision.approved_by_label == "Alice"
    result = await console.finalize(*cw.who("alice"))
    assert (result.total, result.done) == (1, 1)


async def test_a_stale_write_is_refused_with_the_item_as_it_is_now(qbo):
    cw = await console_world(qbo)
    console = cw.service()
    alice, bert = cw.who("alice"), cw.who("bert")
    seen_by_both = (await console.console(*alice)).rows[1].seen
    assert seen_by_both == "none"

    await console.decide(*bert, "bill", "101", "skip", {"seen": seen_by_both})
    with pytest.raises(ConsoleConflictError) as stale:
        await console.decide(*alice, "bill", "101", "pay_now", {"seen": seen_by_both})
    current = stale.value.view.row
    assert current.mode == "conflict"
    assert (current.decision.verb, current.decision.status) == ("skip", "proposed")
    assert "someone else" in current.message

    # Approving with a version that has moved on is refused the same way.
    seen = current.seen
    changed = await console.decide(*bert, "bill", "101", "delay", {"seen": seen, "preset": "7"})
    with pytest.raises(ConsoleConflictError):
        await console.decide(*alice, "bill", "101", "approve", {"seen": seen})
    rows = await decisions(qbo.db, cw.business_id)
    assert [(r.verb, r.is_current) for r in rows] == [("skip", False), ("delay", True)]
    assert changed.row.decision.verb == "delay"


async def test_finalize_writes_each_decision_once_and_reports_each_item(qbo):
    cw = await console_world(qbo)
    sync = qbo.smart_sync()
    console = cw.service(smart_sync=sync)
    alice = cw.who("alice")
    await console.decide(*alice, "bill", "101", "pay_now", {"seen": "none", "bank_account": "35"})
    await console.decide(*alice, "bill", "102", "schedule", {"seen": "none", "on": day(12), "add_note": "1"})
    await console.decide(*alice, "bill", "103", "delay", {"seen": "none", "preset": "7"})
    await console.decide(*alice, "invoice", "201", "chase", {"seen": "none"})
    await console.decide(*alice, "invoice", "202", "chase", {"seen": "none"})

    result = await console.finalize(*alice)
    outcomes = {i.label: (i.outcome, i.message) for i in result.items}
    assert (result.total, result.done, result.failed, result.conflict) == (5, 4, 1, 0)
    assert outcomes["Bill P-101"][0] == "done"
    assert "BillPayment" in outcomes["Bill P-101"][1]
    assert outcomes["Invoice INV-202"][0] == "failed"

    payments = (await qbo.qbo(cw.realm_id, "SELECT * FROM BillPayment"))["BillPayment"]
    assert len(payments) == 1
    assert payments[0]["TotalAmt"] == Decimal("2000.00")
    assert payments[0]["Line"][0]["LinkedTxn"][0]["TxnId"] == "101"
    assert payments[0]["TxnDate"] == AS_OF.isoformat()
    note = (await qbo.qbo(cw.realm_id, "SELECT * FROM Bill WHERE Id = '102'"))["Bill"][0]["PrivateNote"]
    assert "Payment planned for" in note
    assert [e["address"] for e in await qbo.sandbox.sent_emails(cw.realm_id)] == ["ap@acme.test"]

    # Done items leave this week's queue; the failed one stays, with QBO's reason.
    view = await console.console(*alice)
    assert [r.dom_id for r in view.rows] == ["item-invoice-202", "item-bill-104"]
    failed = row_of(view, "item-invoice-202").decision
    assert failed.status == "failed"
    assert failed.result_message
    assert view.counters.done_this_week == 4
    assert view.counters.failed == 1

    # Finalizing again writes nothing twice; retrying the failed item fails again, visibly.
    assert await console.finalize(*alice) is None
    retry = await console.decide(
        *alice, "invoice", "202", "approve", {"seen": row_of(view, "item-invoice-202").seen}
    )
    assert retry.row.decision.status == "approved"
    again = await console.finalize(*alice)
    assert (again.total, again.failed) == (1, 1)
    assert len((await qbo.qbo(cw.realm_id, "SELECT * FROM BillPayment"))["BillPayment"]) == 1
    assert len(await qbo.sandbox.sent_emails(cw.realm_id)) == 1

    async with qbo.db.read() as session:
        actions = [
            a
            for (a,) in (
                await session.execute(select(AuditLog.action).where(AuditLog.business_id == cw.business_id))
            ).all()
        ]
    for action in (
        "decision.approved",
        "decision.finalize.start",
        "decision.finalize.done",
        "decision.finalize.failed",
    ):
        assert action in actions
    assert "decision.bill_payment" in actions, "SmartSync audited the QBO write"


async def test_a_conflict_at_finalize_shows_what_quickbooks_says_now(qbo):
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice = cw.who("alice")
    await console.decide(*alice, "bill", "101", "pay_now", {"seen": "none", "bank_account": "35"})
    await console.decide(*alice, "bill", "102", "schedule", {"seen": "none", "on": day(12), "add_note": "1"})

    # Meanwhile, someone in QuickBooks pays bill 101 and changes bill 102's due date.
    await qbo.qbo_write(
        cw.realm_id,
        "BillPayment",
        {
            "VendorRef": {"value": "1"},
            "PayType": "Check",
            "TotalAmt": Decimal("2000.00"),
            "CheckPayment": {"BankAccountRef": {"value": "35"}},
            "Line": [{"Amount": Decimal("2000.00"), "LinkedTxn": [{"TxnId": "101", "TxnType": "Bill"}]}],
        },
    )
    bill_102 = (await qbo.qbo(cw.realm_id, "SELECT * FROM Bill WHERE Id = '102'"))["Bill"][0]
    await qbo.qbo_write(
        cw.realm_id,
        "Bill",
        {"Id": "102", "SyncToken": bill_102["SyncToken"], "sparse": True, "DueDate": day(9)},
    )

    result = await console.finalize(*alice)
    assert (result.total, result.conflict) == (2, 2)
    assert len((await qbo.qbo(cw.realm_id, "SELECT * FROM BillPayment"))["BillPayment"]) == 1, (
        "ours was not added"
    )
    in_qbo = (await qbo.qbo(cw.realm_id, "SELECT * FROM Bill WHERE Id = '102'"))["Bill"][0]
    assert in_qbo["DueDate"] == day(9), "their change was not overwritten"
    assert not in_qbo.get("PrivateNote")

    view = await console.console(*alice)
    paid = row_of(view, "item-bill-101").decision
    assert paid.status == "conflict"
    assert ("Balance", "0.00") in paid.qbo_current
    moved = row_of(view, "item-bill-102").decision
    assert moved.status == "conflict"
    assert ("Due date", day(9)) in moved.qbo_current


async def test_planned_dates_leave_out_undone_failed_and_skipped_decisions(qbo):
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice = cw.who("alice")
    await console.decide(*alice, "bill", "102", "delay", {"seen": "none", "on": day(30)})
    await console.decide(*alice, "bill", "103", "skip", {"seen": "none"})
    await console.decide(*alice, "invoice", "202", "chase", {"seen": "none"})
    await console.finalize(*alice)  # the chase of 202 fails: it has no e-mail address
    await console.decide(*alice, "bill", "101", "pay_now", {"seen": "none"})
    await console.undo(*alice)
    planned, chased = await DecisionConsoleDataOrchestrator(qbo.db).planned_dates(cw.business_id)
    assert planned == (PlannedDate("bill", "102", AS_OF + dt.timedelta(days=30)),)
    assert chased == ()


async def test_the_decision_log_exports_every_decision_as_csv(qbo):
    cw = await console_world(qbo)
    console = cw.service()
    alice = cw.who("alice")
    await console.decide(*alice, "bill", "102", "schedule", {"seen": "none", "on": day(5)})
    await console.undo(*alice)
    await console.decide(*cw.who("bert"), "invoice", "201", "chase", {"seen": "none"})
    rows = list(csv.DictReader(io.StringIO(await console.decision_log_csv(cw.contexts["alice"]))))
    assert [(r["verb"], r["status"], r["decided_by"]) for r in rows] == [
        ("schedule", "undone", "Alice"),
        ("chase", "proposed", "bert@acme.test"),
    ]
    assert rows[0]["planned_on"] == day(5)
    assert rows[0]["amount"] == "3000.00"
    assert rows[1]["party"] == "Acme Stores"
    assert rows[1]["idempotency_key"]


async def test_the_queue_follows_the_books_after_a_sync_and_after_a_write_of_ours(qbo):
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice = cw.who("alice")
    before = await console.console(*alice)
    assert row_of(before, "item-bill-102").amount_cents == 300_000
    assert "item-bill-105" not in {r.dom_id for r in before.rows}

    # Someone changes bill 102 in QuickBooks; the next sync brings it in, and the queue shows it at once.
    bill_102 = (await qbo.qbo(cw.realm_id, "SELECT * FROM Bill WHERE Id = '102'"))["Bill"][0]
    await qbo.qbo_write(
        cw.realm_id,
        "Bill",
        {
            "Id": "102",
            "SyncToken": bill_102["SyncToken"],
            "sparse": True,
            "Line": [
                {
                    "Amount": Decimal("3500.00"),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}},
                }
            ],
        },
    )
    assert row_of(await console.console(*alice), "item-bill-102").amount_cents == 300_000, "not synced yet"
    assert (await qbo.smart_sync().sync_now(cw.business_id)).status == "succeeded"
    assert row_of(await console.console(*alice), "item-bill-102").amount_cents == 350_000

    # Our own write (bill 105's due date brought forward) changes the queue without waiting for a sync.
    bill_105 = (await qbo.qbo(cw.realm_id, "SELECT * FROM Bill WHERE Id = '105'"))["Bill"][0]
    await qbo.smart_sync().update_entity(
        cw.business_id,
        "Bill",
        "105",
        {"DueDate": day(2)},
        sync_token=bill_105["SyncToken"],
        user_id=cw.users["alice"].id,
    )
    after = await console.console(*alice)
    assert row_of(after, "item-bill-105").due_date == dt.date.fromisoformat(day(2))


async def test_while_the_refresh_after_a_sync_runs_the_console_shows_the_books_of_just_before(qbo):
    """From the moment a sync replaces the books until the refresh after it has worked the new ones out,
    the console answers from the books it had (the decisions are the current ones); then from the new."""
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice = cw.who("alice")
    assert row_of(await console.console(*alice), "item-bill-102").amount_cents == 300_000
    bill_102 = (await qbo.qbo(cw.realm_id, "SELECT * FROM Bill WHERE Id = '102'"))["Bill"][0]
    line = {
        "Amount": Decimal("3500.00"),
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}},
    }
    changed = {"Id": "102", "SyncToken": bill_102["SyncToken"], "sparse": True, "Line": [line]}
    await qbo.qbo_write(cw.realm_id, "Bill", changed)
    summaries = BusinessSummaryDataOrchestrator(qbo.db)
    async with summaries.sync_scope(cw.business_id):
        assert (await qbo.smart_sync().sync_now(cw.business_id)).status == "succeeded"
        during = await console.console(*alice)
        assert row_of(during, "item-bill-102").amount_cents == 300_000, "the books of just before"
        # A decision taken meanwhile is recorded and shown, on the books of just before.
        view = await console.decide(*alice, "bill", "102", "skip", {"seen": "none"})
        assert view.row is not None
        assert view.row.decision is not None
        assert view.row.amount_cents == 300_000
        # The app's run listener then works out the new books ahead of the next keypress.
        await console.on_sync_run(cw.business_id, None)
    after = await console.console(*alice)
    assert row_of(after, "item-bill-102").amount_cents == 350_000
    assert row_of(after, "item-bill-102").decision is not None


def _counted_from_rows(view: Any) -> dict[str, int]:
    live = [r.decision.status for r in view.rows if r.decision is not None and r.decision.status != "done"]
    return {
        "items": len(view.rows),
        "blocked": sum(1 for r in view.rows if r.blocked),
        "undecided": len(view.rows) - len(live),
        "proposed": live.count("proposed"),
        "approved": live.count("approved"),
        "failed": live.count("failed"),
        "conflict": live.count("conflict"),
    }


async def test_the_counters_a_keypress_answers_with_agree_with_the_rows_of_the_page(qbo):
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice, bert = cw.who("alice"), cw.who("bert")
    await console.decide(*alice, "invoice", "201", "chase", {"seen": "none"})
    await console.finalize(*alice)  # 201 is done this week and leaves the queue
    await console.decide(*bert, "bill", "102", "delay", {"seen": "none", "preset": "7"})  # proposed
    await console.decide(*alice, "bill", "103", "skip", {"seen": "none"})  # approved
    await console.decide(*alice, "bill", "101", "pay_now", {"seen": "none"})
    # Bill 101 is paid in QuickBooks before finalize: its decision stays on screen outside the queue.
    await qbo.qbo_write(
        cw.realm_id,
        "BillPayment",
        {
            "VendorRef": {"value": "1"},
            "PayType": "Check",
            "TotalAmt": Decimal("2000.00"),
            "CheckPayment": {"BankAccountRef": {"value": "35"}},
            "Line": [{"Amount": Decimal("2000.00"), "LinkedTxn": [{"TxnId": "101", "TxnType": "Bill"}]}],
        },
    )
    assert (await qbo.smart_sync().sync_now(cw.business_id)).status == "succeeded"

    keypress = await console.decide(*alice, "invoice", "202", "skip", {"seen": "none"})
    view = await console.console(*alice)
    assert not row_of(view, "item-bill-101").in_queue
    counted = _counted_from_rows(view)
    assert counted == {
        "items": 5,
        "blocked": 1,
        "undecided": 1,
        "proposed": 1,
        "approved": 3,
        "failed": 0,
        "conflict": 0,
    }
    for counters in (keypress.counters, view.counters):
        assert {name: getattr(counters, name) for name in counted} == counted
        assert counters.done_this_week == 1


async def test_counters_and_header_stay_true_through_replacing_approving_and_undoing(qbo):
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice, bert = cw.who("alice"), cw.who("bert")

    async def seen(dom_id: str) -> str:
        decision = row_of(await console.console(*alice), dom_id).decision
        return decision.seen if decision is not None else "none"

    steps = [
        lambda: console.decide(*bert, "bill", "102", "delay", {"seen": "none", "preset": "7"}),
        lambda: console.decide(*alice, "bill", "103", "skip", {"seen": "none"}),
        lambda: seen("item-bill-103"),
        lambda: console.decide(*alice, "bill", "103", "schedule", {"seen": last_seen, "on": day(9)}),
        lambda: seen("item-bill-102"),
        lambda: console.decide(*alice, "bill", "102", "approve", {"seen": last_seen}),
        lambda: console.decide(*bert, "invoice", "202", "skip", {"seen": "none"}),
        lambda: console.undo(*bert),
        lambda: console.undo(*alice),
    ]
    last_seen = "none"
    for step in steps:
        keypress = await step()
        if isinstance(keypress, str):
            last_seen = keypress
            continue
        view = await console.console(*alice)
        counted = _counted_from_rows(view)
        assert {name: getattr(keypress.counters, name) for name in counted} == counted
        queued = sum(
            1 for r in view.rows if r.decision is not None and r.decision.status in ("proposed", "approved")
        )
        assert keypress.header.queued_count == view.header.queued_count == queued
        assert keypress.header.delta == view.header.delta


async def test_keypresses_sent_together_are_each_priced_on_the_queue_the_one_before_left(qbo):
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice = cw.who("alice")
    items = [("bill", "101"), ("bill", "102"), ("bill", "103"), ("invoice", "201"), ("invoice", "202")]
    answers = await asyncio.gather(
        *(console.decide(*alice, kind, qbo_id, "skip", {"seen": "none"}) for kind, qbo_id in items)
    )
    # One after another: each answer counts every decision made before it, none twice.
    assert sorted(a.header.queued_count for a in answers) == [1, 2, 3, 4, 5]
    assert sorted(a.counters.undecided for a in answers) == [1, 2, 3, 4, 5]
    view = await console.console(*alice)
    assert view.header.queued_count == 5


async def test_dismissing_the_blocking_hygiene_issue_unblocks_the_item_and_reopening_blocks_it_again(qbo):
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice = cw.who("alice")
    assert row_of(await console.console(*alice), "item-bill-104").blocked
    hygiene = HygieneTrayDataOrchestrator(qbo.db, qbo.smart_sync())
    issue = next(
        i
        for i in await hygiene.open_issues(cw.business_id, cw.as_of)
        if (i.rule, i.qbo_id) == ("bill_missing_due_date", "104")
    )
    await hygiene.dismiss(cw.business_id, issue, user_id=cw.users["alice"].id)
    unblocked = row_of(await console.console(*alice), "item-bill-104")
    assert not unblocked.blocked
    assert unblocked.can_decide
    await console.decide(*alice, "bill", "104", "skip", {"seen": "none"})

    await hygiene.reopen(cw.business_id, issue, user_id=cw.users["alice"].id)
    assert row_of(await console.console(*alice), "item-bill-104").blocked
