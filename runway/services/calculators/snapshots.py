"""Calculator: the frozen input snapshots every calculator reads, and their home-currency conversion.

A data orchestrator builds one `BusinessSnapshot` from the synced QBO rows; calculators only read it.

Units and conventions (PRODUCT §2-§3):

* Every ``*_cents`` field is an ``int`` of minor units in the document's own currency, except the
  ``home_*_cents`` fields, which QBO already gives in the home currency (``HomeBalance``,
  ``HomeTotalAmt``).
* ``currency`` is the ISO code of the document (QBO ``CurrencyRef``); ``None`` means the business's home
  currency, as QBO omits ``CurrencyRef`` in single-currency companies.
* ``exchange_rate`` is QBO's ``ExchangeRate`` (home units per one foreign unit), a ``Decimal``.
* Dates are business-local calendar dates. The snapshot is taken as current: balances are those of the
  last sync, whatever ``as_of`` a calculator is asked about.

Conversion to home currency (`to_home_cents`): a home-currency amount passes through; a foreign amount
uses the home amount QBO supplied when there is one, else amount x ``exchange_rate`` rounded to the cent
half away from zero; a non-zero foreign amount with neither raises `MissingExchangeRateError` instead of
being summed as if it were home currency. The snapshots' own conversion methods return a home-currency
amount before building anything else, because the calculators call them once per row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeVar

from domains.core.money import CurrencyMismatchError, Money

BANK = "Bank"
CREDIT_CARD = "Credit Card"

Status = Literal["red", "amber", "green"]
EntityKind = Literal["bill", "invoice"]


class MissingExchangeRateError(CurrencyMismatchError):
    """A foreign-currency amount has neither a home amount nor an ExchangeRate to convert it with."""


class SnapshotValueError(TypeError):
    """A snapshot field holds the wrong kind of value (a float or bool where int cents belong, ...)."""


# What `_check_fields` checks in a field: nothing but lists, int cents, or a finite Decimal.
_PLAIN, _CENTS, _DECIMAL = 0, 1, 2


_FIELD_CHECKS: dict[type, tuple[tuple[str, int], ...]] = {}


def _field_checks(cls: type) -> tuple[tuple[str, int], ...]:
    """Each field of a snapshot class with the check its name calls for (worked out once per class: the
    books of a large company build tens of thousands of snapshots)."""
    checks = _FIELD_CHECKS.get(cls)
    if checks is None:
        checks = _FIELD_CHECKS[cls] = tuple(
            (
                f.name,
                _CENTS
                if f.name.endswith("_cents")
                else _DECIMAL
                if f.name in ("exchange_rate", "discount_percent")
                else _PLAIN,
            )
            for f in dataclasses.fields(cls)
        )
    return checks


def _check_fields(obj: Any) -> None:
    """Reject floats and bools in money fields and freeze list fields into tuples.

    Snapshots come from hand-written orchestrator code and from tests; catching a float at construction
    time points at the culprit instead of at a sum three calls later.
    """
    for name, check in _field_checks(type(obj)):
        value = getattr(obj, name)
        if isinstance(value, list):
            value = tuple(value)
            object.__setattr__(obj, name, value)
        if value is None or check == _PLAIN:
            continue
        if check == _CENTS:
            if type(value) is not int and (isinstance(value, bool) or not isinstance(value, int)):
                raise SnapshotValueError(
                    f"{type(obj).__name__}.{name} must be int cents, got {type(value).__name__}"
                )
        else:
            if not isinstance(value, Decimal):
                raise SnapshotValueError(
                    f"{type(obj).__name__}.{name} must be a Decimal, got {type(value).__name__}"
                )
            if not value.is_finite():
                raise SnapshotValueError(f"{type(obj).__name__}.{name} must be finite, got {value}")


def to_home_cents(
    amount_cents: int,
    *,
    currency: str | None,
    home_currency: str,
    exchange_rate: Decimal | None,
    home_amount_cents: int | None = None,
    what: str = "amount",
) -> int:
    """Convert one document amount to integer cents of the home currency.

    Args:
        amount_cents: The amount in the document's currency, in cents.
        currency: The document's ISO currency code; ``None`` means the home currency.
        home_currency: The business's home currency (``Preferences.CurrencyPrefs.HomeCurrency``).
        exchange_rate: QBO ``ExchangeRate`` of the document (home units per foreign unit), if any.
        home_amount_cents: QBO's own home-currency figure (``HomeBalance``/``HomeTotalAmt``), if any.
        what: A label naming the amount, used in the error message.

    Returns:
        Cents of the home currency.

    Raises:
        MissingExchangeRateError: A non-zero foreign amount has neither a home figure nor a rate.
    """
    if currency is None or currency == home_currency:
        return amount_cents
    if home_amount_cents is not None:
        return home_amount_cents
    if amount_cents == 0:
        # Zero is zero in every currency; a paid-off foreign bill needs no rate to be left out.
        return 0
    if exchange_rate is None:
        raise MissingExchangeRateError(
            f"{what} is {amount_cents} cents of {currency} with no ExchangeRate and no home amount; "
            f"refusing to add it to {home_currency} totals"
        )
    return Money(amount_cents, currency).convert(exchange_rate, home_currency).cents


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSnap:
    """A QBO Account. ``current_balance_cents`` is ``CurrentBalance`` in the account's currency.

    For "Credit Card" accounts a positive balance is the amount owed (QBO's sign for card accounts).
    ``exchange_rate`` is only needed for a foreign-currency account (QBO's Account carries none, so the
    orchestrator supplies the day's rate).
    """

    qbo_id: str
    name: str
    account_type: str
    account_sub_type: str | None = None
    current_balance_cents: int = 0
    currency: str | None = None
    active: bool = True
    exchange_rate: Decimal | None = None

    def __post_init__(self) -> None:
        _check_fields(self)

    def home_balance(self, home_currency: str) -> int:
        """``CurrentBalance`` in cents of the home currency."""
        if self.currency is None or self.currency == home_currency:
            return self.current_balance_cents
        return to_home_cents(
            self.current_balance_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            what=f"Account {self.qbo_id} ({self.name}) CurrentBalance",
        )


BankAccount = AccountSnap


@dataclass(frozen=True, slots=True, kw_only=True)
class TermSnap:
    """A QBO Term. ``due_days`` is ``None`` for date-driven terms, which count as no term."""

    qbo_id: str
    name: str
    due_days: int | None = None
    discount_percent: Decimal | None = None
    discount_days: int | None = None
    active: bool = True

    def __post_init__(self) -> None:
        _check_fields(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorSnap:
    """A QBO Vendor (active or not); ``term_qbo_id`` is its ``TermRef``."""

    qbo_id: str
    display_name: str
    term_qbo_id: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerSnap:
    """A QBO Customer (active or not); ``sales_term_qbo_id`` is its ``SalesTermRef``."""

    qbo_id: str
    display_name: str
    sales_term_qbo_id: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class LineSnap:
    """One document line: ``Amount`` in cents of the document currency and its ``DetailType``.

    ``account_qbo_id``/``account_name`` are the line's ``AccountRef`` (account-based lines only).
    """

    amount_cents: int
    detail_type: str = "AccountBasedExpenseLineDetail"
    account_qbo_id: str | None = None
    account_name: str | None = None

    def __post_init__(self) -> None:
        _check_fields(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class _OpenItem:
    """Fields and conversions shared by bills and invoices (amounts in cents of ``currency``)."""

    qbo_id: str
    txn_date: dt.date
    due_date: dt.date | None = None
    total_cents: int
    balance_cents: int
    currency: str | None = None
    exchange_rate: Decimal | None = None
    home_balance_cents: int | None = None
    home_total_cents: int | None = None
    sales_term_qbo_id: str | None = None
    doc_number: str | None = None
    total_tax_cents: int | None = None
    lines: tuple[LineSnap, ...] = ()

    def __post_init__(self) -> None:
        _check_fields(self)

    @property
    def is_open(self) -> bool:
        """Open means ``Balance`` > 0 (PRODUCT §3)."""
        return self.balance_cents > 0

    def home_balance(self, home_currency: str) -> int:
        """Open ``Balance`` in cents of the home currency (``HomeBalance``, else x ``ExchangeRate``)."""
        if self.currency is None or self.currency == home_currency:
            return self.balance_cents
        return to_home_cents(
            self.balance_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            home_amount_cents=self.home_balance_cents,
            what=f"{type(self).__name__} {self.qbo_id} Balance",
        )

    def home_total(self, home_currency: str) -> int:
        """``TotalAmt`` in cents of the home currency (``HomeTotalAmt``, else x ``ExchangeRate``)."""
        if self.currency is None or self.currency == home_currency:
            return self.total_cents
        return to_home_cents(
            self.total_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            home_amount_cents=self.home_total_cents,
            what=f"{type(self).__name__} {self.qbo_id} TotalAmt",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BillSnap(_OpenItem):
    """A QBO Bill: ``vendor_qbo_id`` is ``VendorRef``, ``total_tax_cents`` is ``TxnTaxDetail.TotalTax``."""

    vendor_qbo_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceSnap(_OpenItem):
    """A QBO Invoice; ``customer_qbo_id`` is its ``CustomerRef``."""

    customer_qbo_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentSnap:
    """A QBO (customer) Payment. ``linked_invoice_ids`` are the Invoices its lines link to."""

    qbo_id: str
    customer_qbo_id: str
    txn_date: dt.date
    total_cents: int
    unapplied_cents: int = 0
    deposit_to_account_qbo_id: str | None = None
    linked_invoice_ids: tuple[str, ...] = ()
    currency: str | None = None
    exchange_rate: Decimal | None = None

    def __post_init__(self) -> None:
        _check_fields(self)

    def home(self, amount_cents: int, home_currency: str) -> int:
        """One of this payment's amounts in cents of the home currency."""
        if self.currency is None or self.currency == home_currency:
            return amount_cents
        return to_home_cents(
            amount_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            what=f"Payment {self.qbo_id}",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BillPaymentSnap:
    """A QBO BillPayment; ``paid_from_account_qbo_id`` is its bank (``CheckPayment``) or card account."""

    qbo_id: str
    vendor_qbo_id: str
    txn_date: dt.date
    total_cents: int
    paid_from_account_qbo_id: str | None = None
    linked_bill_ids: tuple[str, ...] = ()
    currency: str | None = None
    exchange_rate: Decimal | None = None

    def __post_init__(self) -> None:
        _check_fields(self)

    def home_total(self, home_currency: str) -> int:
        """``TotalAmt`` in cents of the home currency."""
        if self.currency is None or self.currency == home_currency:
            return self.total_cents
        return to_home_cents(
            self.total_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            what=f"BillPayment {self.qbo_id} TotalAmt",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PurchaseSnap:
    """A QBO Purchase (expense, check, card charge). ``account_qbo_id`` is the paying account.

    ``entity_type`` is "Vendor", "Customer" or "Employee" when ``EntityRef`` is set; ``credit`` true
    marks a refund.
    """

    qbo_id: str
    txn_date: dt.date
    total_cents: int
    account_qbo_id: str
    entity_qbo_id: str | None = None
    entity_type: str | None = None
    credit: bool = False
    lines: tuple[LineSnap, ...] = ()
    currency: str | None = None
    exchange_rate: Decimal | None = None

    def __post_init__(self) -> None:
        _check_fields(self)

    def home_total(self, home_currency: str) -> int:
        """``TotalAmt`` in cents of the home currency (positive even for a refund)."""
        if self.currency is None or self.currency == home_currency:
            return self.total_cents
        return to_home_cents(
            self.total_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            what=f"Purchase {self.qbo_id} TotalAmt",
        )


@dataclass(frozen=True, slots=True)
class DepositLineSnap:
    """One Deposit line: ``Amount`` in cents and the transaction it moves, if any (``LinkedTxn``)."""

    amount_cents: int
    linked_txn_type: str | None = None
    linked_txn_id: str | None = None

    def __post_init__(self) -> None:
        _check_fields(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositSnap:
    """A QBO Deposit. ``CashBack`` is deliberately absent: PRODUCT §3 ignores it."""

    qbo_id: str
    txn_date: dt.date
    deposit_to_account_qbo_id: str
    lines: tuple[DepositLineSnap, ...] = ()
    currency: str | None = None
    exchange_rate: Decimal | None = None

    def __post_init__(self) -> None:
        _check_fields(self)

    def home(self, amount_cents: int, home_currency: str) -> int:
        """One line amount in cents of the home currency."""
        if self.currency is None or self.currency == home_currency:
            return amount_cents
        return to_home_cents(
            amount_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            what=f"Deposit {self.qbo_id} line",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesReceiptSnap:
    """A QBO SalesReceipt and the account it was deposited to (a bank or Undeposited Funds)."""

    qbo_id: str
    txn_date: dt.date
    total_cents: int
    deposit_to_account_qbo_id: str | None
    customer_qbo_id: str | None = None
    currency: str | None = None
    exchange_rate: Decimal | None = None

    def __post_init__(self) -> None:
        _check_fields(self)

    def home_total(self, home_currency: str) -> int:
        """``TotalAmt`` in cents of the home currency."""
        if self.currency is None or self.currency == home_currency:
            return self.total_cents
        return to_home_cents(
            self.total_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            what=f"SalesReceipt {self.qbo_id} TotalAmt",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Credit:
    """Fields shared by vendor credits and credit memos: ``balance_cents`` is the unused credit."""

    qbo_id: str
    txn_date: dt.date
    total_cents: int
    balance_cents: int
    currency: str | None = None
    exchange_rate: Decimal | None = None
    home_balance_cents: int | None = None

    def __post_init__(self) -> None:
        _check_fields(self)

    def home_balance(self, home_currency: str) -> int:
        """Unused credit in cents of the home currency."""
        if self.currency is None or self.currency == home_currency:
            return self.balance_cents
        return to_home_cents(
            self.balance_cents,
            currency=self.currency,
            home_currency=home_currency,
            exchange_rate=self.exchange_rate,
            home_amount_cents=self.home_balance_cents,
            what=f"{type(self).__name__} {self.qbo_id} Balance",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorCreditSnap(_Credit):
    """A QBO VendorCredit; open while ``balance_cents`` > 0."""

    vendor_qbo_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditMemoSnap(_Credit):
    """A QBO CreditMemo; open while ``balance_cents`` (``RemainingCredit``) > 0."""

    customer_qbo_id: str


@dataclass(frozen=True, slots=True)
class PlannedDate:
    """A date set by a decision.

    For a bill it is the planned pay date (schedule, delay, pay now). For an invoice it is an expected
    receipt date that replaces effective due date + typical lateness. Either way a date before
    ``as_of`` is moved to ``as_of``.
    """

    entity_type: EntityKind
    qbo_id: str
    on: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class RunwaySettings:
    """Firm settings for the status colours and the minimum-cash line of the grid.

    Attributes:
        red_below_days: Runway shorter than this many days is red.
        amber_through_days: Runway from ``red_below_days`` through this many days (inclusive) is amber;
            longer is green.
        minimum_cash_cents: The firm's minimum cash line, in cents of the home currency.
    """

    red_below_days: int = 28
    amber_through_days: int = 56
    minimum_cash_cents: int = 0

    def __post_init__(self) -> None:
        _check_fields(self)
        if self.red_below_days > self.amber_through_days + 1:
            raise ValueError("red_below_days must not exceed amber_through_days + 1")

    def status_for(self, runway_days: int | None) -> Status:
        """Colour for a runway length; ``None`` (not burning) is green."""
        if runway_days is None or runway_days > self.amber_through_days:
            return "green"
        if runway_days < self.red_below_days:
            return "red"
        return "amber"


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessSnapshot:
    """Everything the calculators read about one business, as of its last sync.

    Attributes:
        business_name: The business's name in Runway.
        home_currency: ISO code of ``Preferences.CurrencyPrefs.HomeCurrency``.
        snapshot_at: When the orchestrator assembled the snapshot (timezone-aware).
        realm_id: The QBO company Id; issues about the business itself carry it.
        last_successful_sync_at: End of the last successful sync (timezone-aware), if any.
        last_sync_failed: Whether the most recent sync run failed.
    """

    business_name: str
    home_currency: str
    snapshot_at: dt.datetime
    accounts: tuple[AccountSnap, ...] = ()
    terms: tuple[TermSnap, ...] = ()
    vendors: tuple[VendorSnap, ...] = ()
    customers: tuple[CustomerSnap, ...] = ()
    bills: tuple[BillSnap, ...] = ()
    invoices: tuple[InvoiceSnap, ...] = ()
    payments: tuple[PaymentSnap, ...] = ()
    purchases: tuple[PurchaseSnap, ...] = ()
    deposits: tuple[DepositSnap, ...] = ()
    sales_receipts: tuple[SalesReceiptSnap, ...] = ()
    vendor_credits: tuple[VendorCreditSnap, ...] = ()
    credit_memos: tuple[CreditMemoSnap, ...] = ()
    bill_payments: tuple[BillPaymentSnap, ...] = ()
    last_successful_sync_at: dt.datetime | None = None
    last_sync_failed: bool = False
    realm_id: str = ""

    def __post_init__(self) -> None:
        Money.zero(self.home_currency)
        _check_fields(self)


@dataclass(frozen=True, slots=True, eq=False)
class SnapshotIndex:
    """Lookups over one snapshot, built once per calculation.

    Attributes:
        snapshot: The snapshot indexed.
        accounts: Accounts by QBO Id.
        terms: Terms by QBO Id.
        vendors: Vendors by QBO Id.
        customers: Customers by QBO Id.
        bank_account_ids: Ids of every account of ``AccountType`` "Bank", active or not.
    """

    snapshot: BusinessSnapshot
    accounts: Mapping[str, AccountSnap]
    terms: Mapping[str, TermSnap]
    vendors: Mapping[str, VendorSnap]
    customers: Mapping[str, CustomerSnap]
    bank_account_ids: frozenset[str]

    @classmethod
    def of(cls, snapshot: BusinessSnapshot) -> SnapshotIndex:
        """Index a snapshot."""
        return cls(
            snapshot=snapshot,
            accounts=_by_id(snapshot.accounts),
            terms=_by_id(snapshot.terms),
            vendors=_by_id(snapshot.vendors),
            customers=_by_id(snapshot.customers),
            bank_account_ids=frozenset(a.qbo_id for a in snapshot.accounts if a.account_type == BANK),
        )

    @property
    def home(self) -> str:
        """The home currency code."""
        return self.snapshot.home_currency

    def term_days(self, term_qbo_id: str | None) -> int | None:
        """``DueDays`` of a term; ``None`` for no ref, an unsynced term or a date-driven term."""
        if term_qbo_id is None:
            return None
        term = self.terms.get(term_qbo_id)
        return None if term is None else term.due_days

    def party_term_id(self, item: BillSnap | InvoiceSnap) -> str | None:
        """The vendor's ``TermRef`` for a bill, the customer's ``SalesTermRef`` for an invoice."""
        if isinstance(item, BillSnap):
            vendor = self.vendors.get(item.vendor_qbo_id)
            return None if vendor is None else vendor.term_qbo_id
        customer = self.customers.get(item.customer_qbo_id)
        return None if customer is None else customer.sales_term_qbo_id


_Named = TypeVar("_Named", AccountSnap, TermSnap, VendorSnap, CustomerSnap)


def _by_id(items: Iterable[_Named]) -> dict[str, _Named]:
    return {item.qbo_id: item for item in items}
