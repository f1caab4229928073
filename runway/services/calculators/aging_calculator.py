"""Calculator: AP and AR aging buckets and the unapplied amounts beside them (PRODUCT §3 Aging).

AP ages open bills, AR open invoices (doubtful ones included). Days past due = ``as_of`` - (``DueDate``,
else ``TxnDate``): aging deliberately does not use terms, so an item without ``DueDate`` ages from its date
and is listed in ``aged_from_txn_date`` for the Hygiene Tray to flag. Every amount is integer cents of the
home currency. Unapplied customer payments and open credit memos (AR) and open vendor credits (AP) are a
separate positive ``unapplied`` amount: buckets - unapplied equals QBO's AgedReceivables/AgedPayables
total for the same data and date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from runway.services.calculators.arithmetic import qbo_id_key
from runway.services.calculators.snapshots import BillSnap, BusinessSnapshot, EntityKind, InvoiceSnap

Bucket = Literal["current", "1_30", "31_60", "61_90", "91_plus"]
BUCKETS: tuple[Bucket, ...] = ("current", "1_30", "31_60", "61_90", "91_plus")


def bucket_for(days_past_due: int) -> Bucket:
    """Bucket of an item: Current (<= 0 days past due), 1-30, 31-60, 61-90, 91+."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1_30"
    if days_past_due <= 60:
        return "31_60"
    if days_past_due <= 90:
        return "61_90"
    return "91_plus"


@dataclass(frozen=True, slots=True)
class AgedItem:
    """One open bill or invoice in the aging.

    Attributes:
        entity_type: ``bill`` or ``invoice``.
        qbo_id: Its QBO Id.
        party_qbo_id: Vendor or customer Id.
        balance_cents: Open ``Balance`` in cents of the home currency.
        aged_from: ``DueDate``, else ``TxnDate``.
        has_due_date: False when aged from ``TxnDate``.
        days_past_due: ``as_of`` - ``aged_from`` in days (negative when not yet due).
        bucket: The bucket it falls in.
    """

    entity_type: EntityKind
    qbo_id: str
    party_qbo_id: str
    balance_cents: int
    aged_from: dt.date
    has_due_date: bool
    days_past_due: int
    bucket: Bucket


@dataclass(frozen=True, slots=True)
class AgingBuckets:
    """One side of the aging (AP or AR), every field in cents of the home currency."""

    current_cents: int
    days_1_30_cents: int
    days_31_60_cents: int
    days_61_90_cents: int
    days_91_plus_cents: int
    unapplied_cents: int

    @property
    def open_cents(self) -> int:
        """Sum of the five buckets: the open balances."""
        return (
            self.current_cents
            + self.days_1_30_cents
            + self.days_31_60_cents
            + self.days_61_90_cents
            + self.days_91_plus_cents
        )

    @property
    def net_cents(self) -> int:
        """Buckets - unapplied: QBO's aged report total for the same data and date."""
        return self.open_cents - self.unapplied_cents

    def as_report(self) -> dict[str, int]:
        """The report's JSON object (PRODUCT §6 keys)."""
        return {
            "current": self.current_cents,
            "1_30": self.days_1_30_cents,
            "31_60": self.days_31_60_cents,
            "61_90": self.days_61_90_cents,
            "91_plus": self.days_91_plus_cents,
            "unapplied": self.unapplied_cents,
        }


@dataclass(frozen=True, slots=True)
class AgingResult:
    """AP and AR aging on ``as_of``.

    Attributes:
        as_of: The date days past due are counted to.
        ap: Open bills, with open vendor credits as unapplied.
        ar: Open invoices (doubtful included), with unapplied payments and open credit memos as unapplied.
        ap_items: Every open bill, oldest first.
        ar_items: Every open invoice, oldest first.
    """

    as_of: dt.date
    ap: AgingBuckets
    ar: AgingBuckets
    ap_items: tuple[AgedItem, ...]
    ar_items: tuple[AgedItem, ...]

    @property
    def aged_from_txn_date(self) -> tuple[AgedItem, ...]:
        """Items without ``DueDate``, aged from ``TxnDate`` (the tray flags them)."""
        return tuple(item for item in self.ap_items + self.ar_items if not item.has_due_date)


class AgingCalculator:
    """PRODUCT §3 Aging for one snapshot and ``as_of``."""

    def calculate(self, snapshot: BusinessSnapshot, as_of: dt.date) -> AgingResult:
        """Age open bills and invoices.

        Args:
            snapshot: The business snapshot (balances as of its last sync).
            as_of: Business-local date days past due are counted to.

        Returns:
            The AP and AR buckets and the aged items.

        Raises:
            MissingExchangeRateError: A foreign-currency open amount cannot be converted.
        """
        home = snapshot.home_currency
        # Plain `balance_cents` reads instead of `is_open`: these loops visit every bill and invoice
        # ever synced, most of them paid.
        ap_items = tuple(
            _age(bill, "bill", bill.vendor_qbo_id, as_of, home)
            for bill in snapshot.bills
            if bill.balance_cents > 0
        )
        ar_items = tuple(
            _age(invoice, "invoice", invoice.customer_qbo_id, as_of, home)
            for invoice in snapshot.invoices
            if invoice.balance_cents > 0
        )
        ap_unapplied = sum(c.home_balance(home) for c in snapshot.vendor_credits if c.balance_cents > 0)
        ar_unapplied = sum(
            p.home(p.unapplied_cents, home) for p in snapshot.payments if p.unapplied_cents > 0
        ) + sum(m.home_balance(home) for m in snapshot.credit_memos if m.balance_cents > 0)
        return AgingResult(
            as_of=as_of,
            ap=_buckets(ap_items, ap_unapplied),
            ar=_buckets(ar_items, ar_unapplied),
            ap_items=_oldest_first(ap_items),
            ar_items=_oldest_first(ar_items),
        )


def _age(
    item: BillSnap | InvoiceSnap, kind: EntityKind, party_qbo_id: str, as_of: dt.date, home: str
) -> AgedItem:
    due = item.due_date
    aged_from = due if due is not None else item.txn_date
    days = (as_of - aged_from).days
    return AgedItem(
        kind,
        item.qbo_id,
        party_qbo_id,
        item.home_balance(home),
        aged_from,
        due is not None,
        days,
        bucket_for(days),
    )


def _buckets(items: tuple[AgedItem, ...], unapplied: int) -> AgingBuckets:
    sums = dict.fromkeys(BUCKETS, 0)
    for item in items:
        sums[item.bucket] += item.balance_cents
    return AgingBuckets(
        current_cents=sums["current"],
        days_1_30_cents=sums["1_30"],
        days_31_60_cents=sums["31_60"],
        days_61_90_cents=sums["61_90"],
        days_91_plus_cents=sums["91_plus"],
        unapplied_cents=unapplied,
    )


def _oldest_first(items: tuple[AgedItem, ...]) -> tuple[AgedItem, ...]:
    return tuple(sorted(items, key=lambda i: (-i.days_past_due, qbo_id_key(i.qbo_id))))
