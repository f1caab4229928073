"""Domain (QBO demo): the declarative description of a demo business — its parties and recurring activity.

A `Profile` says who the business deals with and how often money moves (bills every 14 days, payroll every
other Friday...), with amounts as ranges of cents and habits as ranges of days. The history generator
turns it into a year of QBO documents. Every schedule counts back from `today`, so moving `today` moves
the whole history with it and the runway tells the same story whenever the demo runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

DepositTo = Literal["bank", "uf"]


@dataclass(frozen=True, slots=True)
class Cadence:
    """Dates of a recurring event: every `every` days, the latest `lag` days before today.

    `weekday` (0 = Monday) pins the latest occurrence to that weekday on or before today - `lag`;
    with `every` a multiple of 7 every occurrence then falls on it. Occurrences run from `first_ago`
    days before today up to `last_ago` days before today (an inactive party stops early).
    """

    every: int
    lag: int = 1
    weekday: int | None = None
    first_ago: int = 365
    last_ago: int = 1

    def dates(self, today: dt.date) -> list[dt.date]:
        latest = today - dt.timedelta(days=max(self.lag, 1))
        if self.weekday is not None:
            latest -= dt.timedelta(days=(latest.weekday() - self.weekday) % 7)
        found: list[dt.date] = []
        day = latest
        while (today - day).days <= self.first_ago:
            if (today - day).days >= self.last_ago:
                found.append(day)
            day -= dt.timedelta(days=self.every)
        return sorted(found)


@dataclass(frozen=True, slots=True)
class VendorSpec:
    name: str
    term: str | None = None
    active: bool = True
    is_1099: bool = False
    account_number: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerSpec:
    name: str
    term: str | None = None
    active: bool = True
    email: bool = True


@dataclass(frozen=True, slots=True)
class ItemSpec:
    name: str
    unit_cents: int
    income_account: str
    description: str
    kind: Literal["Service", "NonInventory"] = "Service"


@dataclass(frozen=True, slots=True)
class BillStream:
    """Bills from one vendor; the business pays each `pay_after_due` days after its due date."""

    vendor: str
    cadence: Cadence
    cents: tuple[int, int]
    accounts: tuple[str, ...]
    description: str
    pay_after_due: tuple[int, int] = (0, 0)
    card: str | None = None
    on_pay_run: bool = True


@dataclass(frozen=True, slots=True)
class SpendStream:
    """Purchases (expenses, checks, card charges) to one payee from a bank or card account."""

    payee: str
    cadence: Cadence
    cents: tuple[int, int]
    account: str
    paid_from: str
    description: str
    check: bool = False


@dataclass(frozen=True, slots=True)
class SaleLine:
    """One line of a generated sale: `qty` hours or units of an item, at its list price or a drawn price."""

    item: str
    qty: tuple[int, int]
    unit_cents: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class InvoiceStream:
    """Invoices to one customer, who habitually pays `pays_after_due` days after the due date."""

    customer: str
    cadence: Cadence
    lines: tuple[SaleLine, ...]
    pays_after_due: tuple[int, int]
    deposit_to: DepositTo


@dataclass(frozen=True, slots=True)
class SalesStream:
    """Sales receipts (card payouts, cash takings) deposited to the bank or to Undeposited Funds."""

    customer: str | None
    cadence: Cadence
    lines: tuple[SaleLine, ...]
    deposit_to: DepositTo
    memo: str


@dataclass(frozen=True, slots=True)
class Refund:
    """A returned purchase: a Purchase with Credit true back to the account that paid it."""

    payee: str
    days_ago: int
    cents: int
    account: str
    paid_from: str
    description: str


@dataclass(frozen=True, slots=True)
class VendorCreditSpec:
    """The open vendor credit every company carries (a return or a short delivery)."""

    vendor: str
    days_ago: int
    cents: int
    account: str
    description: str


@dataclass(frozen=True, slots=True)
class CreditMemoSpec:
    """The open credit memo every company carries: `qty` of an item at `unit_cents`."""

    customer: str
    days_ago: int
    item: str
    qty: int
    unit_cents: int


@dataclass(frozen=True, slots=True)
class Loan:
    """Loan proceeds deposited to the bank from a lender, booked to a liability account."""

    days_ago: int
    cents: int
    account: str
    lender: str
    memo: str


@dataclass(frozen=True, slots=True)
class Place:
    street: str
    city: str
    state: str
    postal_code: str
    area_code: str


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything that makes one demo business what it is."""

    key: str
    name: str
    legal_name: str
    place: Place
    web: str
    started: tuple[int, int]
    checking_cents: int
    card_account: str
    card_issuer: str
    income_accounts: tuple[str, ...]
    items: tuple[ItemSpec, ...]
    vendors: tuple[VendorSpec, ...]
    customers: tuple[CustomerSpec, ...]
    bills: tuple[BillStream, ...]
    spending: tuple[SpendStream, ...]
    invoices: tuple[InvoiceStream, ...]
    sales: tuple[SalesStream, ...]
    refund: Refund
    vendor_credit: VendorCreditSpec
    credit_memo: CreditMemoSpec
    pay_run_weekday: int
    deposit_weekdays: tuple[int, ...]
    card_payoff: Cadence
    interest_cents: tuple[int, int]
    savings_cents: int | None = None
    employees: tuple[tuple[str, str, bool], ...] = ()
    extra_accounts: tuple[str, ...] = ()
    loan: Loan | None = None
    # Whether the deliberate bookkeeping mistakes (one per hygiene rule) are written into the year.
    messy_books: bool = False
