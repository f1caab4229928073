"""Calculator: which bills and invoices enter the Decision Console queue, and in what order (PRODUCT §5).

The queue holds open bills whose effective due date is within 14 days of ``as_of`` or past, and open
invoices past their effective due date (doubtful ones included: they need a decision most). Order:
vendors flagged critical by the firm first; then overdue items, most days overdue first; then by
effective due date; then larger amount (home-currency cents) first; then QBO Id compared as integers
(bills before invoices on an exact tie, as the two Id spaces are separate in QBO).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from runway.services.calculators.arithmetic import qbo_id_key
from runway.services.calculators.runway_calculator import DOUBTFUL_AFTER_DAYS, effective_due_date
from runway.services.calculators.snapshots import BusinessSnapshot, EntityKind, SnapshotIndex

BILL_HORIZON_DAYS = 14


class IssueRef(Protocol):
    """What the queue reads of an open hygiene issue (a `HygieneIssue`, or an entry of the register)."""

    @property
    def rule(self) -> str: ...
    @property
    def entity_type(self) -> str: ...
    @property
    def qbo_id(self) -> str: ...
    @property
    def severity(self) -> str: ...


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One bill or invoice waiting for a decision.

    Attributes:
        entity_type: ``bill`` or ``invoice``.
        qbo_id: Its QBO Id.
        party_qbo_id: Vendor or customer Id.
        amount_cents: Open ``Balance`` in cents of the home currency.
        effective_due_date: Its effective due date (PRODUCT §3).
        days_overdue: ``as_of`` - effective due date when positive, else 0.
        critical: The vendor is flagged critical by the firm (bills only).
        doubtful: An invoice more than 90 days past its effective due date (contributes nothing).
        blocked_by: Rule ids of open high-severity hygiene issues on the item itself; while any is
            open the console shows the block and a link to fix it instead of decision keys.
    """

    entity_type: EntityKind
    qbo_id: str
    party_qbo_id: str
    amount_cents: int
    effective_due_date: dt.date
    days_overdue: int
    critical: bool
    doubtful: bool
    blocked_by: tuple[str, ...]

    @property
    def overdue(self) -> bool:
        """Past its effective due date."""
        return self.days_overdue > 0

    @property
    def blocked(self) -> bool:
        """An open high-severity hygiene issue blocks the decision keys."""
        return bool(self.blocked_by)

    def sort_key(self) -> tuple[int, int, int, dt.date, int, tuple[int, int, str], str]:
        """Critical first, overdue most days first, due date, larger amount, Id as an integer."""
        return (
            0 if self.critical else 1,
            0 if self.overdue else 1,
            -self.days_overdue,
            self.effective_due_date,
            -self.amount_cents,
            qbo_id_key(self.qbo_id),
            self.entity_type,
        )


class PriorityCalculator:
    """Builds the ordered decision queue for one snapshot and ``as_of``."""

    def queue(
        self,
        snapshot: BusinessSnapshot,
        as_of: dt.date,
        *,
        critical_vendor_ids: Iterable[str] = (),
        open_issues: Iterable[IssueRef] = (),
    ) -> tuple[QueueItem, ...]:
        """The items needing a decision this week, in console order.

        Args:
            snapshot: The business snapshot (balances as of its last sync).
            as_of: Business-local date; bills due on or before ``as_of`` + 14 days and invoices due
                before ``as_of`` qualify.
            critical_vendor_ids: Vendor Ids the firm flagged critical.
            open_issues: Hygiene issues still open (dismissed and snoozed ones left out by the caller);
                only high-severity issues on the bill or invoice itself block it.

        Returns:
            The queue, first item first.

        Raises:
            MissingExchangeRateError: A foreign-currency open amount cannot be converted.
        """
        index = SnapshotIndex.of(snapshot)
        home = index.home
        critical = frozenset(critical_vendor_ids)
        blocks: dict[tuple[str, str], set[str]] = defaultdict(set)
        for issue in open_issues:
            if issue.severity == "high" and issue.entity_type in ("bill", "invoice"):
                blocks[(issue.entity_type, issue.qbo_id)].add(issue.rule)

        items: list[QueueItem] = []
        horizon = as_of + dt.timedelta(days=BILL_HORIZON_DAYS)
        for bill in snapshot.bills:
            if not bill.is_open:
                continue
            due = effective_due_date(bill, index)
            if due > horizon:
                continue
            items.append(
                QueueItem(
                    entity_type="bill",
                    qbo_id=bill.qbo_id,
                    party_qbo_id=bill.vendor_qbo_id,
                    amount_cents=bill.home_balance(home),
                    effective_due_date=due,
                    days_overdue=max((as_of - due).days, 0),
                    critical=bill.vendor_qbo_id in critical,
                    doubtful=False,
                    blocked_by=tuple(sorted(blocks.get(("bill", bill.qbo_id), ()))),
                )
            )
        for invoice in snapshot.invoices:
            if not invoice.is_open:
                continue
            due = effective_due_date(invoice, index)
            if due >= as_of:
                continue
            items.append(
                QueueItem(
                    entity_type="invoice",
                    qbo_id=invoice.qbo_id,
                    party_qbo_id=invoice.customer_qbo_id,
                    amount_cents=invoice.home_balance(home),
                    effective_due_date=due,
                    days_overdue=(as_of - due).days,
                    critical=False,
                    doubtful=(as_of - due).days > DOUBTFUL_AFTER_DAYS,
                    blocked_by=tuple(sorted(blocks.get(("invoice", invoice.qbo_id), ()))),
                )
            )
        return tuple(sorted(items, key=QueueItem.sort_key))
