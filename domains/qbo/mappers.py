"""Domain (QBO): pure mappers from one raw QBO JSON entity to the row (and line) values we store.

Input is one entity object as QBO sends it, parsed with `json.loads(..., parse_float=Decimal)`; amounts may
also arrive as int or numeric str, never as float. A malformed entity raises `MappingError` with a reason a
person can act on, so the sync quarantines that one entity and carries on with the rest.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String, Table

from domains.ap.models import Bill, BillPayment, Term, Vendor, VendorCredit
from domains.ar.models import CreditMemo, Customer, Invoice, Payment, SalesReceipt
from domains.bank.models import Account, Deposit, Purchase
from domains.core.money import decimal_to_cents
from domains.synced import EntityRow, SyncedEntity

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIGITS = re.compile(r"\d+")
_CURRENCY = re.compile(r"[A-Z]{3}")


class MappingError(ValueError):
    """A QBO entity we cannot store as it is; `reason` says what is wrong and where."""

    def __init__(self, reason: str, *, entity: str | None = None, qbo_id: str | None = None) -> None:
        self.reason = reason
        self.entity = entity
        self.qbo_id = qbo_id
        where = " ".join(part for part in (entity, f"Id {qbo_id}" if qbo_id else None) if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class _Obj:
    """A JSON object being read, remembering its path so every error names the offending field."""

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str) -> None:
        # The exact-type test first: parsed JSON objects are dicts, and the ABC check costs more.
        if type(data) is not dict and not isinstance(data, Mapping):
            raise MappingError(f"{path or 'entity'}: expected an object, got {_kind(data)}")
        self.data: Mapping[str, Any] = data
        self.path = path

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            raise MappingError(f"{self._where(key)} is missing")
        return value

    def obj(self, key: str) -> _Obj | None:
        value = self.data.get(key)
        return None if value is None else _Obj(value, self._where(key))

    def objects(self, key: str) -> list[_Obj]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise MappingError(f"{self._where(key)}: expected a list, got {_kind(value)}")
        return [_Obj(item, f"{self._where(key)}[{index}]") for index, item in enumerate(value)]

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise MappingError(f"{self._where(key)}: expected a string, got {_kind(value)}")
        return value

    def req_text(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def ident(self, key: str, *, required: bool = False) -> str | None:
        """A QBO Id: a string of digits (ints are accepted and converted)."""
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if not isinstance(value, str) or not _DIGITS.fullmatch(value):
            raise MappingError(f"{self._where(key)}: expected an id of digits, got {value!r}")
        return value

    def req_ident(self, key: str) -> str:
        value = self.ident(key, required=True)
        assert value is not None
        return value

    def ref(self, key: str, *, required: bool = False) -> _Obj | None:
        ref = self.obj(key)
        if ref is None and required:
            raise MappingError(f"{self._where(key)} is missing")
        return ref

    def ref_id(self, key: str, *, required: bool = False) -> str | None:
        ref = self.ref(key, required=required)
        return None if ref is None else ref.text("value", required=True)

    def ref_name(self, key: str) -> str | None:
        ref = self.obj(key)
        return None if ref is None else ref.text("name")

    def cents(self, key: str, *, required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, float):
            raise MappingError(
                f"{self._where(key)}: float money {value!r} (parse QBO JSON with parse_float=Decimal)"
            )
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            raise MappingError(f"{self._where(key)}: expected a number, got {_kind(value)}")
        try:
            return decimal_to_cents(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError) as exc:
            raise MappingError(f"{self._where(key)}: not a numeric amount: {value!r}") from exc

    def req_cents(self, key: str) -> int:
        value = self.cents(key, required=True)
        assert value is not None
        return value

    def decimal_text(self, key: str) -> str | None:
        """An exact non-money decimal (rate, percent) kept as text; SQLite has no exact decimal type."""
        value = self._get(key, False)
        if value is None:
            return None
        if isinstance(value, float):
            raise MappingError(
                f"{self._where(key)}: float {value!r} (parse QBO JSON with parse_float=Decimal)"
            )
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            raise MappingError(f"{self._where(key)}: expected a number, got {_kind(value)}")
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation as exc:
            raise MappingError(f"{self._where(key)}: not a number: {value!r}") from exc
        if not number.is_finite() or number < 0:
            raise MappingError(f"{self._where(key)}: expected a finite non-negative number, got {value!r}")
        return str(number)

    def integer(self, key: str) -> int | None:
        value = self._get(key, False)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise MappingError(f"{self._where(key)}: expected a whole number, got {value!r}")

    def flag(self, key: str, *, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise MappingError(f"{self._where(key)}: expected true or false, got {value!r}")
        return value

    def date(self, key: str, *, required: bool = False) -> dt.date | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise MappingError(f"{self._where(key)}: expected a YYYY-MM-DD date, got {value!r}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise MappingError(f"{self._where(key)}: not a calendar date: {value!r}") from exc

    def req_date(self, key: str) -> dt.date:
        value = self.date(key, required=True)
        assert value is not None
        return value

    def timestamp(self, key: str) -> dt.datetime:
        """A QBO timestamp with its local offset (2015-07-14T12:34:04-07:00), as an aware UTC datetime."""
        value = self._get(key, True)
        if not isinstance(value, str):
            raise MappingError(f"{self._where(key)}: expected a timestamp string, got {_kind(value)}")
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise MappingError(f"{self._where(key)}: not a timestamp: {value!r}") from exc
        if parsed.tzinfo is None:
            raise MappingError(f"{self._where(key)}: timestamp without a UTC offset: {value!r}")
        return parsed.astimezone(dt.UTC)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def is_deleted(obj: Mapping[str, Any]) -> bool:
    """True for a deleted-entity marker (CDC and delete responses: `"status": "Deleted"`, Id, MetaData)."""
    return obj.get("status") == "Deleted"


def deleted_id(obj: Mapping[str, Any]) -> str:
    """The QBO Id of a deleted-entity marker."""
    return _Obj(obj, "").req_ident("Id")


def _currency(r: _Obj, home_currency: str) -> str:
    # QBO omits CurrencyRef in companies without multicurrency: everything is then in the home currency.
    code = r.ref_id("CurrencyRef") or home_currency
    if not _CURRENCY.fullmatch(code):
        raise MappingError(f"CurrencyRef.value: expected a 3-letter currency code, got {code!r}")
    return code


def _email(r: _Obj, key: str) -> str | None:
    holder = r.obj(key)
    return None if holder is None else holder.text("Address")


def _base(r: _Obj) -> dict[str, Any]:
    meta = r.obj("MetaData")
    if meta is None:
        raise MappingError("MetaData is missing")
    return {
        "qbo_id": r.req_ident("Id"),
        "sync_token": r.req_ident("SyncToken"),
        "qbo_updated_at": meta.timestamp("LastUpdatedTime"),
        "raw": r.data,
    }


def _txn(r: _Obj, home_currency: str) -> dict[str, Any]:
    rate = r.decimal_text("ExchangeRate")
    if rate is not None and Decimal(rate) == 0:
        raise MappingError("ExchangeRate: must be positive, got 0")
    return {
        **_base(r),
        "txn_date": r.req_date("TxnDate"),
        "total_cents": r.req_cents("TotalAmt"),
        "currency": _currency(r, home_currency),
        "exchange_rate": rate,
        "home_total_cents": r.cents("HomeTotalAmt"),
        "doc_number": r.text("DocNumber"),
        "private_note": r.text("PrivateNote"),
    }


def _total_tax(r: _Obj) -> int | None:
    tax = r.obj("TxnTaxDetail")
    return None if tax is None else tax.cents("TotalTax")


def _single_link(line: _Obj) -> _Obj | None:
    links = line.objects("LinkedTxn")
    if len(links) > 1:
        # The line carries one Amount; splitting it between several transactions would be a guess.
        raise MappingError(
            f"{line.path}: links {len(links)} transactions with one Amount; cannot attribute it"
        )
    return links[0] if links else None


def _expense_line(line: _Obj) -> dict[str, Any]:
    account = line.obj("AccountBasedExpenseLineDetail")
    item = line.obj("ItemBasedExpenseLineDetail")
    return {
        "line_id": line.text("Id"),
        "detail_type": line.text("DetailType"),
        "account_qbo_id": account.ref_id("AccountRef") if account else None,
        "account_name": account.ref_name("AccountRef") if account else None,
        "item_qbo_id": item.ref_id("ItemRef") if item else None,
        "amount_cents": line.req_cents("Amount"),
        "description": line.text("Description"),
    }


def _linked_amount_line(line: _Obj) -> dict[str, Any]:
    link = _single_link(line)
    return {
        "line_id": line.text("Id"),
        "amount_cents": line.req_cents("Amount"),
        "linked_txn_id": link.text("TxnId", required=True) if link else None,
        "linked_txn_type": link.text("TxnType", required=True) if link else None,
    }


# Each mapper takes the entity object and the business's home currency (for entities without CurrencyRef).


def map_term(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_base(r),
            "name": r.req_text("Name"),
            "type": r.text("Type"),
            "due_days": r.integer("DueDays"),
            "discount_percent": r.decimal_text("DiscountPercent"),
            "discount_days": r.integer("DiscountDays"),
            "day_of_month_due": r.integer("DayOfMonthDue"),
            "due_next_month_days": r.integer("DueNextMonthDays"),
            "active": r.flag("Active", default=True),
        }
    )


def map_vendor(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_base(r),
            "display_name": r.req_text("DisplayName"),
            "company_name": r.text("CompanyName"),
            "term_qbo_id": r.ref_id("TermRef"),
            "balance_cents": r.cents("Balance") or 0,
            "currency": _currency(r, home_currency),
            "email": _email(r, "PrimaryEmailAddr"),
            "active": r.flag("Active", default=True),
        }
    )


def map_customer(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_base(r),
            "display_name": r.req_text("DisplayName"),
            "company_name": r.text("CompanyName"),
            "sales_term_qbo_id": r.ref_id("SalesTermRef"),
            "parent_qbo_id": r.ref_id("ParentRef"),
            "balance_cents": r.cents("Balance") or 0,
            "currency": _currency(r, home_currency),
            "email": _email(r, "PrimaryEmailAddr"),
            "active": r.flag("Active", default=True),
        }
    )


def map_account(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_base(r),
            "name": r.req_text("Name"),
            "fully_qualified_name": r.text("FullyQualifiedName"),
            "account_type": r.req_text("AccountType"),
            "account_sub_type": r.text("AccountSubType"),
            "classification": r.text("Classification"),
            "current_balance_cents": r.cents("CurrentBalance") or 0,
            "currency": _currency(r, home_currency),
            "parent_qbo_id": r.ref_id("ParentRef"),
            "active": r.flag("Active", default=True),
        }
    )


def map_bill(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "vendor_qbo_id": r.ref_id("VendorRef", required=True),
            "vendor_name": r.ref_name("VendorRef"),
            "due_date": r.date("DueDate"),
            "balance_cents": r.req_cents("Balance"),
            "home_balance_cents": r.cents("HomeBalance"),
            "sales_term_qbo_id": r.ref_id("SalesTermRef"),
            "total_tax_cents": _total_tax(r),
            "ap_account_qbo_id": r.ref_id("APAccountRef"),
        },
        [_expense_line(line) for line in r.objects("Line")],
    )


def map_bill_payment(r: _Obj, home_currency: str) -> EntityRow:
    pay_type = r.req_text("PayType")
    check = r.obj("CheckPayment")
    card = r.obj("CreditCardPayment")
    if pay_type == "Check":
        pay_from = check.ref_id("BankAccountRef") if check else None
    elif pay_type == "CreditCard":
        pay_from = card.ref_id("CCAccountRef") if card else None
    else:
        raise MappingError(f"PayType: expected Check or CreditCard, got {pay_type!r}")
    return EntityRow(
        {
            **_txn(r, home_currency),
            "vendor_qbo_id": r.ref_id("VendorRef", required=True),
            "vendor_name": r.ref_name("VendorRef"),
            "pay_type": pay_type,
            "pay_from_account_qbo_id": pay_from,
            "ap_account_qbo_id": r.ref_id("APAccountRef"),
        },
        [_linked_amount_line(line) for line in r.objects("Line")],
    )


def map_vendor_credit(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "vendor_qbo_id": r.ref_id("VendorRef", required=True),
            "vendor_name": r.ref_name("VendorRef"),
            "balance_cents": r.req_cents("Balance"),
            "home_balance_cents": r.cents("HomeBalance"),
            "ap_account_qbo_id": r.ref_id("APAccountRef"),
        }
    )


def _invoice_line(line: _Obj) -> dict[str, Any]:
    sales = line.obj("SalesItemLineDetail")
    return {
        "line_id": line.text("Id"),
        "detail_type": line.text("DetailType"),
        "item_qbo_id": sales.ref_id("ItemRef") if sales else None,
        "item_name": sales.ref_name("ItemRef") if sales else None,
        "amount_cents": line.req_cents("Amount"),
        "description": line.text("Description"),
    }


def map_invoice(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "customer_qbo_id": r.ref_id("CustomerRef", required=True),
            "customer_name": r.ref_name("CustomerRef"),
            "due_date": r.date("DueDate"),
            "balance_cents": r.req_cents("Balance"),
            "home_balance_cents": r.cents("HomeBalance"),
            "sales_term_qbo_id": r.ref_id("SalesTermRef"),
            "total_tax_cents": _total_tax(r),
            "email_status": r.text("EmailStatus"),
            "bill_email": _email(r, "BillEmail"),
        },
        [_invoice_line(line) for line in r.objects("Line")],
    )


def map_payment(r: _Obj, home_currency: str) -> EntityRow:
    txn = _txn(r, home_currency)
    lines = [_linked_amount_line(line) for line in r.objects("Line")]
    unapplied = r.cents("UnappliedAmt")
    if unapplied is None:
        # Older payloads omit UnappliedAmt; what the lines do not apply is still on account.
        unapplied = txn["total_cents"] - sum(line["amount_cents"] for line in lines)
    return EntityRow(
        {
            **txn,
            "customer_qbo_id": r.ref_id("CustomerRef", required=True),
            "customer_name": r.ref_name("CustomerRef"),
            "unapplied_cents": unapplied,
            "deposit_to_account_qbo_id": r.ref_id("DepositToAccountRef"),
            "payment_ref_num": r.text("PaymentRefNum"),
        },
        lines,
    )


def map_sales_receipt(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "customer_qbo_id": r.ref_id("CustomerRef"),
            "customer_name": r.ref_name("CustomerRef"),
            "deposit_to_account_qbo_id": r.ref_id("DepositToAccountRef"),
        }
    )


def map_credit_memo(r: _Obj, home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "customer_qbo_id": r.ref_id("CustomerRef", required=True),
            "customer_name": r.ref_name("CustomerRef"),
            "balance_cents": r.req_cents("Balance"),
            "home_balance_cents": r.cents("HomeBalance"),
            "remaining_credit_cents": r.cents("RemainingCredit"),
        }
    )


def map_purchase(r: _Obj, home_currency: str) -> EntityRow:
    entity = r.obj("EntityRef")
    return EntityRow(
        {
            **_txn(r, home_currency),
            "payment_type": r.req_text("PaymentType"),
            "account_qbo_id": r.ref_id("AccountRef", required=True),
            "account_name": r.ref_name("AccountRef"),
            "entity_qbo_id": entity.text("value", required=True) if entity else None,
            "entity_type": entity.text("type") if entity else None,
            "entity_name": entity.text("name") if entity else None,
            "credit": r.flag("Credit", default=False),
        },
        [_expense_line(line) for line in r.objects("Line")],
    )


def _deposit_line(line: _Obj) -> dict[str, Any]:
    link = _single_link(line)
    detail = line.obj("DepositLineDetail")
    entity = detail.obj("Entity") if detail else None
    return {
        "line_id": line.text("Id"),
        "detail_type": line.text("DetailType"),
        "amount_cents": line.req_cents("Amount"),
        "linked_txn_id": link.text("TxnId", required=True) if link else None,
        "linked_txn_type": link.text("TxnType", required=True) if link else None,
        "linked_txn_line_id": link.text("TxnLineId") if link else None,
        "account_qbo_id": detail.ref_id("AccountRef") if detail else None,
        "entity_qbo_id": entity.text("value", required=True) if entity else None,
        "entity_type": entity.text("type") if entity else None,
        "description": line.text("Description"),
    }


def map_deposit(r: _Obj, home_currency: str) -> EntityRow:
    cash_back = r.obj("CashBack")
    return EntityRow(
        {
            **_txn(r, home_currency),
            "deposit_to_account_qbo_id": r.ref_id("DepositToAccountRef", required=True),
            "cash_back_cents": cash_back.cents("Amount") if cash_back else None,
        },
        [_deposit_line(line) for line in r.objects("Line")],
    )


@dataclass(frozen=True, slots=True)
class EntityMapper:
    """How one QBO entity type becomes rows: the model it fills and the pure function that maps it."""

    entity: str
    model: type[SyncedEntity]
    mapper: Callable[[_Obj, str], EntityRow]

    def __call__(self, obj: Mapping[str, Any], *, home_currency: str) -> EntityRow:
        """Map one entity object; raises MappingError (naming the entity and its Id) if it is malformed."""
        raw_id = obj.get("Id") if isinstance(obj, Mapping) else None
        qbo_id = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
        try:
            r = _Obj(obj, "")
            if is_deleted(r.data):
                raise MappingError("is a deleted-entity marker; delete the stored row instead of mapping it")
            row = self.mapper(r, home_currency)
            _check_lengths(self.model, row)
        except MappingError as exc:
            raise MappingError(exc.reason, entity=self.entity, qbo_id=qbo_id) from exc
        return row


def _check_lengths(model: type[SyncedEntity], row: EntityRow) -> None:
    # PostgreSQL rejects an over-long VARCHAR and would fail the whole batch; refuse just this entity.
    limits, line_limits = _length_limits(model)
    _check_table_lengths(limits, row.values, "")
    if line_limits is not None:
        for index, line in enumerate(row.lines):
            _check_table_lengths(line_limits, line, f"Line[{index}] ")


_Limits = tuple[tuple[str, int], ...]


@functools.cache
def _length_limits(model: type[SyncedEntity]) -> tuple[_Limits, _Limits | None]:
    """The (column, max length) pairs of the model's table and of its line table (None without lines)."""
    table = model.__table__
    assert isinstance(table, Table)
    rel = model.__mapper__.relationships.get("lines")
    if rel is None:
        return _string_limits(table), None
    line_table = rel.target
    assert isinstance(line_table, Table)
    return _string_limits(table), _string_limits(line_table)


def _string_limits(table: Table) -> _Limits:
    return tuple(
        (column.key, column.type.length)
        for column in table.columns
        if isinstance(column.type, String) and column.type.length is not None
    )


def _check_table_lengths(limits: _Limits, values: Mapping[str, Any], where: str) -> None:
    for key, length in limits:
        value = values.get(key)
        if isinstance(value, str) and len(value) > length:
            raise MappingError(f"{where}{key}: {len(value)} characters, longer than {length}")


MAPPERS: dict[str, EntityMapper] = {
    mapper.entity: mapper
    for mapper in (
        EntityMapper("Term", Term, map_term),
        EntityMapper("Vendor", Vendor, map_vendor),
        EntityMapper("Customer", Customer, map_customer),
        EntityMapper("Account", Account, map_account),
        EntityMapper("Bill", Bill, map_bill),
        EntityMapper("BillPayment", BillPayment, map_bill_payment),
        EntityMapper("VendorCredit", VendorCredit, map_vendor_credit),
        EntityMapper("Invoice", Invoice, map_invoice),
        EntityMapper("Payment", Payment, map_payment),
        EntityMapper("SalesReceipt", SalesReceipt, map_sales_receipt),
        EntityMapper("CreditMemo", CreditMemo, map_credit_memo),
        EntityMapper("Purchase", Purchase, map_purchase),
        EntityMapper("Deposit", Deposit, map_deposit),
    )
}


def map_entity(entity: str, obj: Mapping[str, Any], *, home_currency: str) -> EntityRow:
    """Map one object of the named QBO entity type ("Bill", "Invoice", ...)."""
    mapper = MAPPERS.get(entity)
    if mapper is None:
        raise MappingError(f"no mapper for QBO entity {entity!r}")
    return mapper(obj, home_currency=home_currency)


@dataclass(frozen=True, slots=True)
class CompanyInfoFields:
    """The CompanyInfo fields Runway keeps."""

    company_name: str
    legal_name: str | None
    country: str | None
    timezone: str | None


@dataclass(frozen=True, slots=True)
class PreferencesFields:
    """The Preferences fields Runway keeps; home_currency None means QBO did not say."""

    home_currency: str | None
    multicurrency_enabled: bool
    timezone: str | None


def _timezone(*holders: _Obj | None) -> str | None:
    # QBO documents no company time-zone field; take an IANA zone only if a NameValue pair carries one.
    for holder in holders:
        if holder is None:
            continue
        for pair in holder.objects("NameValue"):
            if (pair.text("Name") or "").replace(" ", "").lower() != "timezone":
                continue
            zone = pair.text("Value")
            if zone:
                try:
                    zoneinfo.ZoneInfo(zone)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    continue
                return zone
    return None


def map_company_info(obj: Mapping[str, Any]) -> CompanyInfoFields:
    """The company's name (and legal name, country, time zone when QBO gives them)."""
    try:
        r = _Obj(obj, "")
        return CompanyInfoFields(
            company_name=r.req_text("CompanyName"),
            legal_name=r.text("LegalName"),
            country=r.text("Country"),
            timezone=_timezone(r),
        )
    except MappingError as exc:
        raise MappingError(exc.reason, entity="CompanyInfo") from exc


def map_preferences(obj: Mapping[str, Any]) -> PreferencesFields:
    """Home currency, whether multicurrency is on, and a time zone when QBO gives one."""
    try:
        r = _Obj(obj, "")
        currency = r.obj("CurrencyPrefs")
        home = currency.ref_id("HomeCurrency") if currency else None
        if home is not None and not _CURRENCY.fullmatch(home):
            raise MappingError(f"CurrencyPrefs.HomeCurrency.value: not a currency code: {home!r}")
        return PreferencesFields(
            home_currency=home,
            multicurrency_enabled=currency.flag("MultiCurrencyEnabled", default=False) if currency else False,
            timezone=_timezone(r.obj("OtherPrefs")),
        )
    except MappingError as exc:
        raise MappingError(exc.reason, entity="Preferences") from exc
