"""Domain (QBO): the fast path of `mappers` — each synced entity's usual shape as msgspec structs, mapped
straight from QBO's text.

msgspec checks an object against its entity's struct in C while it parses it, so a well-formed object is
mapped without the field-by-field checks of `mappers`. Anything the structs do not take as it is (an
integer Id, a numeric string where a number goes, a malformed field, a deleted-entity marker) makes
`map_fast` answer None, and the caller maps that object with `mappers`, which accepts or refuses it and
says why. For every object both accept they give the same row: tests/unit/test_qbo_fast_mappers.py holds
them to it over the recorded payloads, the demo companies and random mutations of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from domains.core.money import decimal_to_cents
from domains.qbo.mappers import MAPPERS, MappingError, utc_timestamp
from domains.synced import EntityRow, RawJSON

# A QBO Id as `mappers._ident` takes it from a string: decimal digits only (\Z, as $ would allow a newline).
Digits = Annotated[str, msgspec.Meta(pattern=r"^\d+\Z", max_length=32)]
Token = Annotated[str, msgspec.Meta(pattern=r"^\d+\Z", max_length=16)]
CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}\Z")]
# The column limits strings are checked against (`mappers.check_lengths` on the slow path).
Id = Annotated[str, msgspec.Meta(max_length=32)]
Code = Annotated[str, msgspec.Meta(max_length=16)]
Kind = Annotated[str, msgspec.Meta(max_length=32)]
Label = Annotated[str, msgspec.Meta(max_length=64)]
Name = Annotated[str, msgspec.Meta(max_length=500)]
_DECIMAL_TEXT_LIMIT = 32
# A whole number a BIGINT column holds.
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class _NotUsual(Exception):
    """The object is valid JSON of its struct but outside the fast path's rules; `mappers` decides."""


class Ref(msgspec.Struct, gc=False):
    value: Id
    name: Name | None = None


class CurrencyRef(msgspec.Struct, gc=False):
    value: CurrencyCode


class EntityRef(msgspec.Struct, gc=False):
    value: Id
    type: Kind | None = None
    name: Name | None = None


class Email(msgspec.Struct, gc=False):
    Address: Name | None = None


class MetaData(msgspec.Struct, gc=False):
    LastUpdatedTime: str


class TaxDetail(msgspec.Struct, gc=False):
    TotalTax: Decimal | None = None


class LinkedTxn(msgspec.Struct, gc=False):
    TxnId: Id
    TxnType: Kind
    TxnLineId: Id | None = None


class AccountDetail(msgspec.Struct, gc=False):
    AccountRef: Ref | None = None


class ItemDetail(msgspec.Struct, gc=False):
    ItemRef: Ref | None = None


class DepositDetail(msgspec.Struct, gc=False):
    AccountRef: Ref | None = None
    Entity: EntityRef | None = None


class ExpenseLine(msgspec.Struct, gc=False):
    Amount: Decimal
    Id: Id | None = None
    DetailType: Label | None = None
    Description: str | None = None
    AccountBasedExpenseLineDetail: AccountDetail | None = None
    ItemBasedExpenseLineDetail: ItemDetail | None = None


class InvoiceLine(msgspec.Struct, gc=False):
    Amount: Decimal
    Id: Id | None = None
    DetailType: Label | None = None
    Description: str | None = None
    SalesItemLineDetail: ItemDetail | None = None


class LinkedAmountLine(msgspec.Struct, gc=False):
    Amount: Decimal
    Id: Id | None = None
    LinkedTxn: list[LinkedTxn] = []


class DepositLine(msgspec.Struct, gc=False):
    Amount: Decimal
    Id: Id | None = None
    DetailType: Label | None = None
    Description: str | None = None
    LinkedTxn: list[LinkedTxn] = []
    DepositLineDetail: DepositDetail | None = None


class Entity(msgspec.Struct, gc=False):
    Id: Digits
    SyncToken: Token
    MetaData: MetaData
    status: str | None = None


class Transaction(Entity, kw_only=True):
    TxnDate: dt.date
    TotalAmt: Decimal
    CurrencyRef: CurrencyRef | None = None
    ExchangeRate: Decimal | None = None
    HomeTotalAmt: Decimal | None = None
    DocNumber: Label | None = None
    PrivateNote: str | None = None


class TermShape(Entity, kw_only=True):
    Name: Annotated[str, msgspec.Meta(max_length=100)]
    Type: Kind | None = None
    DueDays: Int64 | None = None
    DiscountPercent: Decimal | None = None
    DiscountDays: Int64 | None = None
    DayOfMonthDue: Int64 | None = None
    DueNextMonthDays: Int64 | None = None
    Active: bool | None = None


class VendorShape(Entity, kw_only=True):
    DisplayName: Name
    CompanyName: Name | None = None
    TermRef: Ref | None = None
    Balance: Decimal | None = None
    CurrencyRef: CurrencyRef | None = None
    PrimaryEmailAddr: Email | None = None
    Active: bool | None = None


class CustomerShape(Entity, kw_only=True):
    DisplayName: Name
    CompanyName: Name | None = None
    SalesTermRef: Ref | None = None
    ParentRef: Ref | None = None
    Balance: Decimal | None = None
    CurrencyRef: CurrencyRef | None = None
    PrimaryEmailAddr: Email | None = None
    Active: bool | None = None


class AccountShape(Entity, kw_only=True):
    Name: Name
    AccountType: Label
    FullyQualifiedName: str | None = None
    AccountSubType: Label | None = None
    Classification: Kind | None = None
    CurrentBalance: Decimal | None = None
    CurrencyRef: CurrencyRef | None = None
    ParentRef: Ref | None = None
    Active: bool | None = None


class BillShape(Transaction, kw_only=True):
    VendorRef: Ref
    Balance: Decimal
    DueDate: dt.date | None = None
    HomeBalance: Decimal | None = None
    SalesTermRef: Ref | None = None
    TxnTaxDetail: TaxDetail | None = None
    APAccountRef: Ref | None = None
    Line: list[ExpenseLine] = []


class CheckPayment(msgspec.Struct, gc=False):
    BankAccountRef: Ref | None = None


class CardPayment(msgspec.Struct, gc=False):
    CCAccountRef: Ref | None = None


class BillPaymentShape(Transaction, kw_only=True):
    PayType: Code
    VendorRef: Ref
    CheckPayment: CheckPayment | None = None
    CreditCardPayment: CardPayment | None = None
    APAccountRef: Ref | None = None
    Line: list[LinkedAmountLine] = []


class VendorCreditShape(Transaction, kw_only=True):
    VendorRef: Ref
    Balance: Decimal
    HomeBalance: Decimal | None = None
    APAccountRef: Ref | None = None


class InvoiceShape(Transaction, kw_only=True):
    CustomerRef: Ref
    Balance: Decimal
    DueDate: dt.date | None = None
    HomeBalance: Decimal | None = None
    SalesTermRef: Ref | None = None
    TxnTaxDetail: TaxDetail | None = None
    EmailStatus: Code | None = None
    BillEmail: Email | None = None
    Line: list[InvoiceLine] = []


class PaymentShape(Transaction, kw_only=True):
    CustomerRef: Ref
    UnappliedAmt: Decimal | None = None
    DepositToAccountRef: Ref | None = None
    PaymentRefNum: Label | None = None
    Line: list[LinkedAmountLine] = []


class SalesReceiptShape(Transaction, kw_only=True):
    CustomerRef: Ref | None = None
    DepositToAccountRef: Ref | None = None


class CreditMemoShape(Transaction, kw_only=True):
    CustomerRef: Ref
    Balance: Decimal
    HomeBalance: Decimal | None = None
    RemainingCredit: Decimal | None = None


class PurchaseShape(Transaction, kw_only=True):
    PaymentType: Kind
    AccountRef: Ref
    EntityRef: EntityRef | None = None
    Credit: bool | None = None
    Line: list[ExpenseLine] = []


class CashBack(msgspec.Struct, gc=False):
    Amount: Decimal | None = None


class DepositShape(Transaction, kw_only=True):
    DepositToAccountRef: Ref
    CashBack: CashBack | None = None
    Line: list[DepositLine] = []


# --- struct -> row values, the same values `mappers` produces -----------------------------------------


def _cents(amount: Decimal | None) -> int | None:
    return None if amount is None else decimal_to_cents(amount)


def _decimal_text(number: Decimal | None) -> str | None:
    if number is None:
        return None
    text = str(number)
    if not number.is_finite() or number < 0 or len(text) > _DECIMAL_TEXT_LIMIT:
        raise _NotUsual
    return text


def _value(ref: Ref | None) -> str | None:
    return None if ref is None else ref.value


def _name(ref: Ref | None) -> str | None:
    return None if ref is None else ref.name


def _currency(ref: CurrencyRef | None, home_currency: str) -> str:
    # An empty CurrencyRef.value falls back to the home currency in `mappers`; the pattern refuses it here.
    if ref is not None:
        return ref.value
    if (
        len(home_currency) == 3
        and home_currency.isascii()
        and home_currency.isalpha()
        and home_currency.isupper()
    ):
        return home_currency
    raise _NotUsual


def _base(s: Entity, raw: RawJSON) -> dict[str, Any]:
    return {
        "qbo_id": s.Id,
        "sync_token": s.SyncToken,
        "qbo_updated_at": utc_timestamp(s.MetaData.LastUpdatedTime),
        "raw": raw,
    }


def _txn(s: Transaction, home_currency: str, raw: RawJSON) -> dict[str, Any]:
    rate = _decimal_text(s.ExchangeRate)
    if s.ExchangeRate is not None and s.ExchangeRate == 0:
        raise _NotUsual
    return {
        **_base(s, raw),
        "txn_date": s.TxnDate,
        "total_cents": decimal_to_cents(s.TotalAmt),
        "currency": _currency(s.CurrencyRef, home_currency),
        "exchange_rate": rate,
        "home_total_cents": _cents(s.HomeTotalAmt),
        "doc_number": s.DocNumber,
        "private_note": s.PrivateNote,
    }


def _total_tax(tax: TaxDetail | None) -> int | None:
    return None if tax is None else _cents(tax.TotalTax)


def _email(holder: Email | None) -> str | None:
    return None if holder is None else holder.Address


def _single_link(links: list[LinkedTxn]) -> LinkedTxn | None:
    if len(links) > 1:
        raise _NotUsual  # `mappers` refuses it, naming the line
    return links[0] if links else None


def _expense_line(line: ExpenseLine) -> dict[str, Any]:
    account = line.AccountBasedExpenseLineDetail
    item = line.ItemBasedExpenseLineDetail
    account_ref = None if account is None else account.AccountRef
    return {
        "line_id": line.Id,
        "detail_type": line.DetailType,
        "account_qbo_id": _value(account_ref),
        "account_name": _name(account_ref),
        "item_qbo_id": None if item is None else _value(item.ItemRef),
        "amount_cents": decimal_to_cents(line.Amount),
        "description": line.Description,
    }


def _linked_amount_line(line: LinkedAmountLine) -> dict[str, Any]:
    link = _single_link(line.LinkedTxn)
    return {
        "line_id": line.Id,
        "amount_cents": decimal_to_cents(line.Amount),
        "linked_txn_id": None if link is None else link.TxnId,
        "linked_txn_type": None if link is None else link.TxnType,
    }


def _invoice_line(line: InvoiceLine) -> dict[str, Any]:
    sales = line.SalesItemLineDetail
    item_ref = None if sales is None else sales.ItemRef
    return {
        "line_id": line.Id,
        "detail_type": line.DetailType,
        "item_qbo_id": _value(item_ref),
        "item_name": _name(item_ref),
        "amount_cents": decimal_to_cents(line.Amount),
        "description": line.Description,
    }


def _deposit_line(line: DepositLine) -> dict[str, Any]:
    link = _single_link(line.LinkedTxn)
    detail = line.DepositLineDetail
    entity = None if detail is None else detail.Entity
    return {
        "line_id": line.Id,
        "detail_type": line.DetailType,
        "amount_cents": decimal_to_cents(line.Amount),
        "linked_txn_id": None if link is None else link.TxnId,
        "linked_txn_type": None if link is None else link.TxnType,
        "linked_txn_line_id": None if link is None else link.TxnLineId,
        "account_qbo_id": None if detail is None else _value(detail.AccountRef),
        "entity_qbo_id": None if entity is None else entity.value,
        "entity_type": None if entity is None else entity.type,
        "description": line.Description,
    }


def _active(flag: bool | None, default: bool = True) -> bool:
    return default if flag is None else flag


def _term(s: TermShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_base(s, raw),
            "name": s.Name,
            "type": s.Type,
            "due_days": s.DueDays,
            "discount_percent": _decimal_text(s.DiscountPercent),
            "discount_days": s.DiscountDays,
            "day_of_month_due": s.DayOfMonthDue,
            "due_next_month_days": s.DueNextMonthDays,
            "active": _active(s.Active),
        }
    )


def _vendor(s: VendorShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_base(s, raw),
            "display_name": s.DisplayName,
            "company_name": s.CompanyName,
            "term_qbo_id": _value(s.TermRef),
            "balance_cents": _cents(s.Balance) or 0,
            "currency": _currency(s.CurrencyRef, home_currency),
            "email": _email(s.PrimaryEmailAddr),
            "active": _active(s.Active),
        }
    )


def _customer(s: CustomerShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_base(s, raw),
            "display_name": s.DisplayName,
            "company_name": s.CompanyName,
            "sales_term_qbo_id": _value(s.SalesTermRef),
            "parent_qbo_id": _value(s.ParentRef),
            "balance_cents": _cents(s.Balance) or 0,
            "currency": _currency(s.CurrencyRef, home_currency),
            "email": _email(s.PrimaryEmailAddr),
            "active": _active(s.Active),
        }
    )


def _account(s: AccountShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_base(s, raw),
            "name": s.Name,
            "fully_qualified_name": s.FullyQualifiedName,
            "account_type": s.AccountType,
            "account_sub_type": s.AccountSubType,
            "classification": s.Classification,
            "current_balance_cents": _cents(s.CurrentBalance) or 0,
            "currency": _currency(s.CurrencyRef, home_currency),
            "parent_qbo_id": _value(s.ParentRef),
            "active": _active(s.Active),
        }
    )


def _bill(s: BillShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_txn(s, home_currency, raw),
            "vendor_qbo_id": s.VendorRef.value,
            "vendor_name": s.VendorRef.name,
            "due_date": s.DueDate,
            "balance_cents": decimal_to_cents(s.Balance),
            "home_balance_cents": _cents(s.HomeBalance),
            "sales_term_qbo_id": _value(s.SalesTermRef),
            "total_tax_cents": _total_tax(s.TxnTaxDetail),
            "ap_account_qbo_id": _value(s.APAccountRef),
        },
        [_expense_line(line) for line in s.Line],
    )


def _bill_payment(s: BillPaymentShape, home_currency: str, raw: RawJSON) -> EntityRow:
    if s.PayType == "Check":
        pay_from = None if s.CheckPayment is None else _value(s.CheckPayment.BankAccountRef)
    elif s.PayType == "CreditCard":
        pay_from = None if s.CreditCardPayment is None else _value(s.CreditCardPayment.CCAccountRef)
    else:
        raise _NotUsual
    return EntityRow(
        {
            **_txn(s, home_currency, raw),
            "vendor_qbo_id": s.VendorRef.value,
            "vendor_name": s.VendorRef.name,
            "pay_type": s.PayType,
            "pay_from_account_qbo_id": pay_from,
            "ap_account_qbo_id": _value(s.APAccountRef),
        },
        [_linked_amount_line(line) for line in s.Line],
    )


def _vendor_credit(s: VendorCreditShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_txn(s, home_currency, raw),
            "vendor_qbo_id": s.VendorRef.value,
            "vendor_name": s.VendorRef.name,
            "balance_cents": decimal_to_cents(s.Balance),
            "home_balance_cents": _cents(s.HomeBalance),
            "ap_account_qbo_id": _value(s.APAccountRef),
        }
    )


def _invoice(s: InvoiceShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_txn(s, home_currency, raw),
            "customer_qbo_id": s.CustomerRef.value,
            "customer_name": s.CustomerRef.name,
            "due_date": s.DueDate,
            "balance_cents": decimal_to_cents(s.Balance),
            "home_balance_cents": _cents(s.HomeBalance),
            "sales_term_qbo_id": _value(s.SalesTermRef),
            "total_tax_cents": _total_tax(s.TxnTaxDetail),
            "email_status": s.EmailStatus,
            "bill_email": _email(s.BillEmail),
        },
        [_invoice_line(line) for line in s.Line],
    )


def _payment(s: PaymentShape, home_currency: str, raw: RawJSON) -> EntityRow:
    txn = _txn(s, home_currency, raw)
    lines = [_linked_amount_line(line) for line in s.Line]
    unapplied = _cents(s.UnappliedAmt)
    if unapplied is None:
        unapplied = txn["total_cents"] - sum(line["amount_cents"] for line in lines)
    return EntityRow(
        {
            **txn,
            "customer_qbo_id": s.CustomerRef.value,
            "customer_name": s.CustomerRef.name,
            "unapplied_cents": unapplied,
            "deposit_to_account_qbo_id": _value(s.DepositToAccountRef),
            "payment_ref_num": s.PaymentRefNum,
        },
        lines,
    )


def _sales_receipt(s: SalesReceiptShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_txn(s, home_currency, raw),
            "customer_qbo_id": _value(s.CustomerRef),
            "customer_name": _name(s.CustomerRef),
            "deposit_to_account_qbo_id": _value(s.DepositToAccountRef),
        }
    )


def _credit_memo(s: CreditMemoShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_txn(s, home_currency, raw),
            "customer_qbo_id": s.CustomerRef.value,
            "customer_name": s.CustomerRef.name,
            "balance_cents": decimal_to_cents(s.Balance),
            "home_balance_cents": _cents(s.HomeBalance),
            "remaining_credit_cents": _cents(s.RemainingCredit),
        }
    )


def _purchase(s: PurchaseShape, home_currency: str, raw: RawJSON) -> EntityRow:
    entity = s.EntityRef
    return EntityRow(
        {
            **_txn(s, home_currency, raw),
            "payment_type": s.PaymentType,
            "account_qbo_id": s.AccountRef.value,
            "account_name": s.AccountRef.name,
            "entity_qbo_id": None if entity is None else entity.value,
            "entity_type": None if entity is None else entity.type,
            "entity_name": None if entity is None else entity.name,
            "credit": _active(s.Credit, default=False),
        },
        [_expense_line(line) for line in s.Line],
    )


def _deposit(s: DepositShape, home_currency: str, raw: RawJSON) -> EntityRow:
    return EntityRow(
        {
            **_txn(s, home_currency, raw),
            "deposit_to_account_qbo_id": s.DepositToAccountRef.value,
            "cash_back_cents": None if s.CashBack is None else _cents(s.CashBack.Amount),
        },
        [_deposit_line(line) for line in s.Line],
    )


class _FastMapper:
    """One entity type's decoder for its struct and the function from the struct to the row."""

    __slots__ = ("decoder", "map")

    def __init__(self, shape: type[Any], map_shape: Callable[[Any, str, RawJSON], EntityRow]) -> None:
        self.decoder = msgspec.json.Decoder(shape)
        self.map = map_shape


# Each entity `mappers.MAPPERS` knows (importing fails if one has no struct here).
_SHAPES: dict[str, tuple[type[Any], Callable[[Any, str, RawJSON], EntityRow]]] = {
    "Term": (TermShape, _term),
    "Vendor": (VendorShape, _vendor),
    "Customer": (CustomerShape, _customer),
    "Account": (AccountShape, _account),
    "Bill": (BillShape, _bill),
    "BillPayment": (BillPaymentShape, _bill_payment),
    "VendorCredit": (VendorCreditShape, _vendor_credit),
    "Invoice": (InvoiceShape, _invoice),
    "Payment": (PaymentShape, _payment),
    "SalesReceipt": (SalesReceiptShape, _sales_receipt),
    "CreditMemo": (CreditMemoShape, _credit_memo),
    "Purchase": (PurchaseShape, _purchase),
    "Deposit": (DepositShape, _deposit),
}
FAST_MAPPERS: dict[str, _FastMapper] = {entity: _FastMapper(*_SHAPES[entity]) for entity in MAPPERS}

# What makes an object leave the fast path: outside its struct, or outside the rules `mappers` applies.
_LEAVES = (msgspec.ValidationError, msgspec.DecodeError, MappingError, _NotUsual, ValueError, ArithmeticError)


def map_fast(entity: str, text: bytes | msgspec.Raw, home_currency: str) -> EntityRow | None:
    """The row of one well-formed QBO object of `entity` given as its JSON text, keeping that text as its
    raw JSON; None when the object is not of the usual shape (map it with `mappers` instead)."""
    fast = FAST_MAPPERS[entity]
    try:
        shape = fast.decoder.decode(text)
        if shape.status is not None:
            return None  # a deleted-entity marker, or a status `mappers` should see
        return fast.map(shape, home_currency, RawJSON(str(text, "utf-8")))
    except _LEAVES:
        return None
