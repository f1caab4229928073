"""Domain (QBO): pure mappers from one raw QBO JSON entity to the row (and line) values we store.

Input is one entity object as QBO sends it, parsed with `json.loads(..., parse_float=Decimal)`; amounts may
also arrive as int or numeric str, never as float. A malformed entity raises `MappingError` with a reason a
person can act on, so the sync quarantines that one entity and carries on with the rest.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
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
from domains.core.money import MAX_CENTS, decimal_to_cents
from domains.synced import EntityRow, RawJSON, SyncedEntity

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


# Readers of one field of a parsed JSON object `d` found at `path` ("" for the entity itself, else e.g.
# "Line[0].AccountBasedExpenseLineDetail"), so every error names the offending field. Plain functions over
# the dicts with the common case tested first: they run for every field of every entity a sync stores.


def _where(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: Any, path: str) -> Mapping[str, Any]:
    # The exact-type test first: parsed JSON objects are dicts, and the ABC check costs more.
    if type(value) is not dict and not isinstance(value, Mapping):
        raise MappingError(f"{path or 'entity'}: expected an object, got {_kind(value)}")
    return value


def _missing(path: str, key: str) -> MappingError:
    return MappingError(f"{_where(path, key)} is missing")


def _obj(d: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any] | None:
    value = d.get(key)
    if value is None or type(value) is dict:
        return value
    return _object(value, _where(path, key))


def _objects(d: Mapping[str, Any], key: str, path: str = "") -> list[tuple[Mapping[str, Any], str]]:
    """The objects of a list field, each with its path (`Line[0]`, ...)."""
    value = d.get(key)
    if value is None:
        return []
    where = _where(path, key)
    if not isinstance(value, list):
        raise MappingError(f"{where}: expected a list, got {_kind(value)}")
    items = []
    for index, item in enumerate(value):
        item_path = f"{where}[{index}]"
        items.append((_object(item, item_path), item_path))
    return items


def _text(d: Mapping[str, Any], key: str, path: str = "") -> str | None:
    value = d.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MappingError(f"{_where(path, key)}: expected a string, got {_kind(value)}")


def _req_text(d: Mapping[str, Any], key: str, path: str = "") -> str:
    value = d.get(key)
    if isinstance(value, str):
        return value
    if value is None:
        raise _missing(path, key)
    raise MappingError(f"{_where(path, key)}: expected a string, got {_kind(value)}")


def _ident(d: Mapping[str, Any], key: str, path: str = "", *, required: bool = False) -> str | None:
    """A QBO Id: a string of digits (ints are accepted and converted)."""
    value = d.get(key)
    if type(value) is str and value.isdecimal():  # isdecimal() is exactly re's \d+ on a non-empty str
        return value
    if value is None:
        if required:
            raise _missing(path, key)
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise MappingError(f"{_where(path, key)}: expected an id of digits, got {value!r}")
    return value


def _req_ident(d: Mapping[str, Any], key: str, path: str = "") -> str:
    value = _ident(d, key, path, required=True)
    assert value is not None
    return value


def _ref_id(d: Mapping[str, Any], key: str, path: str = "", *, required: bool = False) -> str | None:
    """The `value` of a reference object (VendorRef, ...)."""
    ref = d.get(key)
    if ref is None:
        if required:
            raise _missing(path, key)
        return None
    if type(ref) is dict:
        value = ref.get("value")
        if type(value) is str:
            return value
    return _req_text(_object(ref, _where(path, key)), "value", _where(path, key))


def _ref_name(d: Mapping[str, Any], key: str, path: str = "") -> str | None:
    ref = _obj(d, key, path)
    return None if ref is None else _text(ref, "name", _where(path, key))


def _cents(d: Mapping[str, Any], key: str, path: str = "", *, required: bool = False) -> int | None:
    value = d.get(key)
    if value is None:
        if required:
            raise _missing(path, key)
        return None
    if isinstance(value, float):
        raise MappingError(
            f"{_where(path, key)}: float money {value!r} (parse QBO JSON with parse_float=Decimal)"
        )
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise MappingError(f"{_where(path, key)}: expected a number, got {_kind(value)}")
    try:
        return decimal_to_cents(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError) as exc:
        if str(exc).startswith("amount out of range"):
            raise MappingError(f"{_where(path, key)}: {exc}") from exc
        raise MappingError(f"{_where(path, key)}: not a numeric amount: {value!r}") from exc


def _req_cents(d: Mapping[str, Any], key: str, path: str = "") -> int:
    value = _cents(d, key, path, required=True)
    assert value is not None
    return value


def _decimal_text(d: Mapping[str, Any], key: str, path: str = "") -> str | None:
    """An exact non-money decimal (rate, percent) kept as text; SQLite has no exact decimal type."""
    value = d.get(key)
    if value is None:
        return None
    where = _where(path, key)
    if isinstance(value, float):
        raise MappingError(f"{where}: float {value!r} (parse QBO JSON with parse_float=Decimal)")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise MappingError(f"{where}: expected a number, got {_kind(value)}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation as exc:
        raise MappingError(f"{where}: not a number: {value!r}") from exc
    if not number.is_finite() or number < 0:
        raise MappingError(f"{where}: expected a finite non-negative number, got {value!r}")
    return str(number)


def _integer(d: Mapping[str, Any], key: str, path: str = "") -> int | None:
    value = d.get(key)
    if value is None:
        return None
    whole = isinstance(value, int) and not isinstance(value, bool)
    whole = whole or (isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value())
    whole = whole or (isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()) is not None)
    if not whole:
        raise MappingError(f"{_where(path, key)}: expected a whole number, got {value!r}")
    number = int(value)
    if not -MAX_CENTS - 1 <= number <= MAX_CENTS:
        raise MappingError(f"{_where(path, key)}: {number} is out of range")
    return number


def _flag(d: Mapping[str, Any], key: str, *, default: bool, path: str = "") -> bool:
    value = d.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise MappingError(f"{_where(path, key)}: expected true or false, got {value!r}")
    return value


def _date(d: Mapping[str, Any], key: str, path: str = "", *, required: bool = False) -> dt.date | None:
    value = d.get(key)
    if value is None:
        if required:
            raise _missing(path, key)
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise MappingError(f"{_where(path, key)}: expected a YYYY-MM-DD date, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise MappingError(f"{_where(path, key)}: not a calendar date: {value!r}") from exc


def _req_date(d: Mapping[str, Any], key: str, path: str = "") -> dt.date:
    value = _date(d, key, path, required=True)
    assert value is not None
    return value


def _timestamp(d: Mapping[str, Any], key: str, path: str = "") -> dt.datetime:
    """A QBO timestamp with its local offset (2015-07-14T12:34:04-07:00), as an aware UTC datetime."""
    value = d.get(key)
    if value is None:
        raise _missing(path, key)
    if not isinstance(value, str):
        raise MappingError(f"{_where(path, key)}: expected a timestamp string, got {_kind(value)}")
    try:
        return utc_timestamp(value)
    except _NaiveTimestampError as exc:
        raise MappingError(f"{_where(path, key)}: timestamp without a UTC offset: {value!r}") from exc
    except ValueError as exc:
        raise MappingError(f"{_where(path, key)}: not a timestamp: {value!r}") from exc


class _NaiveTimestampError(ValueError):
    """A timestamp without a UTC offset (its own reason in `_timestamp`)."""


def utc_timestamp(text: str) -> dt.datetime:
    """An ISO 8601 timestamp with its UTC offset as an aware UTC datetime; ValueError for anything else."""
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise _NaiveTimestampError(text)
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
    return _req_ident(_object(obj, ""), "Id")


# Each function below reads the entity object `r` (or one of its lines, at `path`).


def _currency(r: Mapping[str, Any], home_currency: str) -> str:
    # QBO omits CurrencyRef in companies without multicurrency: everything is then in the home currency.
    code = _ref_id(r, "CurrencyRef") or home_currency
    if not _CURRENCY.fullmatch(code):
        raise MappingError(f"CurrencyRef.value: expected a 3-letter currency code, got {code!r}")
    return code


def _email(r: Mapping[str, Any], key: str) -> str | None:
    holder = _obj(r, key)
    return None if holder is None else _text(holder, "Address", key)


def _base(r: Mapping[str, Any]) -> dict[str, Any]:
    meta = _obj(r, "MetaData")
    if meta is None:
        raise MappingError("MetaData is missing")
    return {
        "qbo_id": _req_ident(r, "Id"),
        "sync_token": _req_ident(r, "SyncToken"),
        "qbo_updated_at": _timestamp(meta, "LastUpdatedTime", "MetaData"),
        "raw": r,
    }


def _txn(r: Mapping[str, Any], home_currency: str) -> dict[str, Any]:
    rate = _decimal_text(r, "ExchangeRate")
    if rate is not None and Decimal(rate) == 0:
        raise MappingError("ExchangeRate: must be positive, got 0")
    return {
        **_base(r),
        "txn_date": _req_date(r, "TxnDate"),
        "total_cents": _req_cents(r, "TotalAmt"),
        "currency": _currency(r, home_currency),
        "exchange_rate": rate,
        "home_total_cents": _cents(r, "HomeTotalAmt"),
        "doc_number": _text(r, "DocNumber"),
        "private_note": _text(r, "PrivateNote"),
    }


def _total_tax(r: Mapping[str, Any]) -> int | None:
    tax = _obj(r, "TxnTaxDetail")
    return None if tax is None else _cents(tax, "TotalTax", "TxnTaxDetail")


def _single_link(line: Mapping[str, Any], path: str) -> tuple[Mapping[str, Any], str] | None:
    links = _objects(line, "LinkedTxn", path)
    if len(links) > 1:
        # The line carries one Amount; splitting it between several transactions would be a guess.
        raise MappingError(f"{path}: links {len(links)} transactions with one Amount; cannot attribute it")
    return links[0] if links else None


def _expense_line(line: Mapping[str, Any], path: str) -> dict[str, Any]:
    account = _obj(line, "AccountBasedExpenseLineDetail", path)
    item = _obj(line, "ItemBasedExpenseLineDetail", path)
    account_path = f"{path}.AccountBasedExpenseLineDetail"
    return {
        "line_id": _text(line, "Id", path),
        "detail_type": _text(line, "DetailType", path),
        "account_qbo_id": _ref_id(account, "AccountRef", account_path) if account is not None else None,
        "account_name": _ref_name(account, "AccountRef", account_path) if account is not None else None,
        "item_qbo_id": _ref_id(item, "ItemRef", f"{path}.ItemBasedExpenseLineDetail")
        if item is not None
        else None,
        "amount_cents": _req_cents(line, "Amount", path),
        "description": _text(line, "Description", path),
    }


def _linked_amount_line(line: Mapping[str, Any], path: str) -> dict[str, Any]:
    link, link_path = _single_link(line, path) or (None, "")
    return {
        "line_id": _text(line, "Id", path),
        "amount_cents": _req_cents(line, "Amount", path),
        "linked_txn_id": _req_text(link, "TxnId", link_path) if link is not None else None,
        "linked_txn_type": _req_text(link, "TxnType", link_path) if link is not None else None,
    }


def _lines(
    r: Mapping[str, Any], line: Callable[[Mapping[str, Any], str], dict[str, Any]]
) -> list[dict[str, Any]]:
    return [line(item, path) for item, path in _objects(r, "Line")]


# Each mapper takes the entity object and the business's home currency (for entities without CurrencyRef).


def map_term(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_base(r),
            "name": _req_text(r, "Name"),
            "type": _text(r, "Type"),
            "due_days": _integer(r, "DueDays"),
            "discount_percent": _decimal_text(r, "DiscountPercent"),
            "discount_days": _integer(r, "DiscountDays"),
            "day_of_month_due": _integer(r, "DayOfMonthDue"),
            "due_next_month_days": _integer(r, "DueNextMonthDays"),
            "active": _flag(r, "Active", default=True),
        }
    )


def map_vendor(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_base(r),
            "display_name": _req_text(r, "DisplayName"),
            "company_name": _text(r, "CompanyName"),
            "term_qbo_id": _ref_id(r, "TermRef"),
            "balance_cents": _cents(r, "Balance") or 0,
            "currency": _currency(r, home_currency),
            "email": _email(r, "PrimaryEmailAddr"),
            "active": _flag(r, "Active", default=True),
        }
    )


def map_customer(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_base(r),
            "display_name": _req_text(r, "DisplayName"),
            "company_name": _text(r, "CompanyName"),
            "sales_term_qbo_id": _ref_id(r, "SalesTermRef"),
            "parent_qbo_id": _ref_id(r, "ParentRef"),
            "balance_cents": _cents(r, "Balance") or 0,
            "currency": _currency(r, home_currency),
            "email": _email(r, "PrimaryEmailAddr"),
            "active": _flag(r, "Active", default=True),
        }
    )


def map_account(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_base(r),
            "name": _req_text(r, "Name"),
            "fully_qualified_name": _text(r, "FullyQualifiedName"),
            "account_type": _req_text(r, "AccountType"),
            "account_sub_type": _text(r, "AccountSubType"),
            "classification": _text(r, "Classification"),
            "current_balance_cents": _cents(r, "CurrentBalance") or 0,
            "currency": _currency(r, home_currency),
            "parent_qbo_id": _ref_id(r, "ParentRef"),
            "active": _flag(r, "Active", default=True),
        }
    )


def map_bill(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "vendor_qbo_id": _ref_id(r, "VendorRef", required=True),
            "vendor_name": _ref_name(r, "VendorRef"),
            "due_date": _date(r, "DueDate"),
            "balance_cents": _req_cents(r, "Balance"),
            "home_balance_cents": _cents(r, "HomeBalance"),
            "sales_term_qbo_id": _ref_id(r, "SalesTermRef"),
            "total_tax_cents": _total_tax(r),
            "ap_account_qbo_id": _ref_id(r, "APAccountRef"),
        },
        _lines(r, _expense_line),
    )


def map_bill_payment(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    pay_type = _req_text(r, "PayType")
    check = _obj(r, "CheckPayment")
    card = _obj(r, "CreditCardPayment")
    if pay_type == "Check":
        pay_from = _ref_id(check, "BankAccountRef", "CheckPayment") if check is not None else None
    elif pay_type == "CreditCard":
        pay_from = _ref_id(card, "CCAccountRef", "CreditCardPayment") if card is not None else None
    else:
        raise MappingError(f"PayType: expected Check or CreditCard, got {pay_type!r}")
    return EntityRow(
        {
            **_txn(r, home_currency),
            "vendor_qbo_id": _ref_id(r, "VendorRef", required=True),
            "vendor_name": _ref_name(r, "VendorRef"),
            "pay_type": pay_type,
            "pay_from_account_qbo_id": pay_from,
            "ap_account_qbo_id": _ref_id(r, "APAccountRef"),
        },
        _lines(r, _linked_amount_line),
    )


def map_vendor_credit(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "vendor_qbo_id": _ref_id(r, "VendorRef", required=True),
            "vendor_name": _ref_name(r, "VendorRef"),
            "balance_cents": _req_cents(r, "Balance"),
            "home_balance_cents": _cents(r, "HomeBalance"),
            "ap_account_qbo_id": _ref_id(r, "APAccountRef"),
        }
    )


def _invoice_line(line: Mapping[str, Any], path: str) -> dict[str, Any]:
    sales = _obj(line, "SalesItemLineDetail", path)
    sales_path = f"{path}.SalesItemLineDetail"
    return {
        "line_id": _text(line, "Id", path),
        "detail_type": _text(line, "DetailType", path),
        "item_qbo_id": _ref_id(sales, "ItemRef", sales_path) if sales is not None else None,
        "item_name": _ref_name(sales, "ItemRef", sales_path) if sales is not None else None,
        "amount_cents": _req_cents(line, "Amount", path),
        "description": _text(line, "Description", path),
    }


def map_invoice(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "customer_qbo_id": _ref_id(r, "CustomerRef", required=True),
            "customer_name": _ref_name(r, "CustomerRef"),
            "due_date": _date(r, "DueDate"),
            "balance_cents": _req_cents(r, "Balance"),
            "home_balance_cents": _cents(r, "HomeBalance"),
            "sales_term_qbo_id": _ref_id(r, "SalesTermRef"),
            "total_tax_cents": _total_tax(r),
            "email_status": _text(r, "EmailStatus"),
            "bill_email": _email(r, "BillEmail"),
        },
        _lines(r, _invoice_line),
    )


def map_payment(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    txn = _txn(r, home_currency)
    lines = _lines(r, _linked_amount_line)
    unapplied = _cents(r, "UnappliedAmt")
    if unapplied is None:
        # Older payloads omit UnappliedAmt; what the lines do not apply is still on account.
        unapplied = txn["total_cents"] - sum(line["amount_cents"] for line in lines)
    return EntityRow(
        {
            **txn,
            "customer_qbo_id": _ref_id(r, "CustomerRef", required=True),
            "customer_name": _ref_name(r, "CustomerRef"),
            "unapplied_cents": unapplied,
            "deposit_to_account_qbo_id": _ref_id(r, "DepositToAccountRef"),
            "payment_ref_num": _text(r, "PaymentRefNum"),
        },
        lines,
    )


def map_sales_receipt(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "customer_qbo_id": _ref_id(r, "CustomerRef"),
            "customer_name": _ref_name(r, "CustomerRef"),
            "deposit_to_account_qbo_id": _ref_id(r, "DepositToAccountRef"),
        }
    )


def map_credit_memo(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    return EntityRow(
        {
            **_txn(r, home_currency),
            "customer_qbo_id": _ref_id(r, "CustomerRef", required=True),
            "customer_name": _ref_name(r, "CustomerRef"),
            "balance_cents": _req_cents(r, "Balance"),
            "home_balance_cents": _cents(r, "HomeBalance"),
            "remaining_credit_cents": _cents(r, "RemainingCredit"),
        }
    )


def map_purchase(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    entity = _obj(r, "EntityRef")
    return EntityRow(
        {
            **_txn(r, home_currency),
            "payment_type": _req_text(r, "PaymentType"),
            "account_qbo_id": _ref_id(r, "AccountRef", required=True),
            "account_name": _ref_name(r, "AccountRef"),
            "entity_qbo_id": _req_text(entity, "value", "EntityRef") if entity is not None else None,
            "entity_type": _text(entity, "type", "EntityRef") if entity is not None else None,
            "entity_name": _text(entity, "name", "EntityRef") if entity is not None else None,
            "credit": _flag(r, "Credit", default=False),
        },
        _lines(r, _expense_line),
    )


def _deposit_line(line: Mapping[str, Any], path: str) -> dict[str, Any]:
    link, link_path = _single_link(line, path) or (None, "")
    detail_path = f"{path}.DepositLineDetail"
    detail = _obj(line, "DepositLineDetail", path)
    entity = _obj(detail, "Entity", detail_path) if detail is not None else None
    entity_path = f"{detail_path}.Entity"
    return {
        "line_id": _text(line, "Id", path),
        "detail_type": _text(line, "DetailType", path),
        "amount_cents": _req_cents(line, "Amount", path),
        "linked_txn_id": _req_text(link, "TxnId", link_path) if link is not None else None,
        "linked_txn_type": _req_text(link, "TxnType", link_path) if link is not None else None,
        "linked_txn_line_id": _text(link, "TxnLineId", link_path) if link is not None else None,
        "account_qbo_id": _ref_id(detail, "AccountRef", detail_path) if detail is not None else None,
        "entity_qbo_id": _req_text(entity, "value", entity_path) if entity is not None else None,
        "entity_type": _text(entity, "type", entity_path) if entity is not None else None,
        "description": _text(line, "Description", path),
    }


def map_deposit(r: Mapping[str, Any], home_currency: str) -> EntityRow:
    cash_back = _obj(r, "CashBack")
    return EntityRow(
        {
            **_txn(r, home_currency),
            "deposit_to_account_qbo_id": _ref_id(r, "DepositToAccountRef", required=True),
            "cash_back_cents": _cents(cash_back, "Amount", "CashBack") if cash_back is not None else None,
        },
        _lines(r, _deposit_line),
    )


@dataclass(frozen=True, slots=True)
class EntityMapper:
    """How one QBO entity type becomes rows: the model it fills and the pure function that maps it."""

    entity: str
    model: type[SyncedEntity]
    mapper: Callable[[Mapping[str, Any], str], EntityRow]

    def __call__(
        self, obj: Mapping[str, Any], *, home_currency: str, raw_json: RawJSON | None = None
    ) -> EntityRow:
        """Map one entity object; raises MappingError (naming the entity and its Id) if it is malformed.

        The row keeps `obj` as its raw JSON, or `raw_json` when given: the text `obj` was parsed from.
        """
        raw_id = obj.get("Id") if isinstance(obj, Mapping) else None
        qbo_id = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
        try:
            r = _object(obj, "")
            if is_deleted(r):
                raise MappingError("is a deleted-entity marker; delete the stored row instead of mapping it")
            row = self.mapper(r, home_currency)
            check_lengths(self.model, row)
        except MappingError as exc:
            raise MappingError(exc.reason, entity=self.entity, qbo_id=qbo_id) from exc
        if raw_json is not None:
            return EntityRow({**row.values, "raw": raw_json}, row.lines)
        return row


def check_lengths(model: type[SyncedEntity], row: EntityRow) -> None:
    # PostgreSQL rejects an over-long VARCHAR and would fail the whole batch; refuse just this entity.
    limits, line_limits = _length_limits(model)
    limits.check(row.values, "")
    if line_limits is not None:
        for index, line in enumerate(row.lines):
            line_limits.check(line, f"Line[{index}] ")


@dataclass(frozen=True, slots=True)
class _Limits:
    """The length-limited string columns of one table and their limits."""

    keys: tuple[str, ...]
    lengths: tuple[int, ...]

    def check(self, values: Mapping[str, Any], where: str) -> None:
        texts = [value if isinstance(value, str) else "" for value in map(values.get, self.keys)]
        # Compared in C; only a row with an over-long value goes on to find which one it is.
        if not any(map(operator.gt, map(len, texts), self.lengths)):
            return
        for key, length, value in zip(self.keys, self.lengths, texts, strict=True):
            if len(value) > length:
                raise MappingError(f"{where}{key}: {len(value)} characters, longer than {length}")


@functools.cache
def _length_limits(model: type[SyncedEntity]) -> tuple[_Limits, _Limits | None]:
    """The string limits of the model's table and of its line table (None without lines)."""
    table = model.__table__
    assert isinstance(table, Table)
    rel = model.__mapper__.relationships.get("lines")
    if rel is None:
        return _string_limits(table), None
    line_table = rel.target
    assert isinstance(line_table, Table)
    return _string_limits(table), _string_limits(line_table)


def _string_limits(table: Table) -> _Limits:
    limited = [
        (column.key, column.type.length)
        for column in table.columns
        if isinstance(column.type, String) and column.type.length is not None
    ]
    return _Limits(tuple(key for key, _ in limited), tuple(length for _, length in limited))


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


def _timezone(holder: Mapping[str, Any] | None, path: str) -> str | None:
    # QBO documents no company time-zone field; take an IANA zone only if a NameValue pair carries one.
    if holder is None:
        return None
    for pair, pair_path in _objects(holder, "NameValue", path):
        if (_text(pair, "Name", pair_path) or "").replace(" ", "").lower() != "timezone":
            continue
        zone = _text(pair, "Value", pair_path)
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
        r = _object(obj, "")
        return CompanyInfoFields(
            company_name=_req_text(r, "CompanyName"),
            legal_name=_text(r, "LegalName"),
            country=_text(r, "Country"),
            timezone=_timezone(r, ""),
        )
    except MappingError as exc:
        raise MappingError(exc.reason, entity="CompanyInfo") from exc


def map_preferences(obj: Mapping[str, Any]) -> PreferencesFields:
    """Home currency, whether multicurrency is on, and a time zone when QBO gives one."""
    try:
        r = _object(obj, "")
        currency = _obj(r, "CurrencyPrefs")
        home = _ref_id(currency, "HomeCurrency", "CurrencyPrefs") if currency is not None else None
        if home is not None and not _CURRENCY.fullmatch(home):
            raise MappingError(f"CurrencyPrefs.HomeCurrency.value: not a currency code: {home!r}")
        multicurrency = (
            _flag(currency, "MultiCurrencyEnabled", default=False, path="CurrencyPrefs")
            if currency is not None
            else False
        )
        return PreferencesFields(
            home_currency=home,
            multicurrency_enabled=multicurrency,
            timezone=_timezone(_obj(r, "OtherPrefs"), "OtherPrefs"),
        )
    except MappingError as exc:
        raise MappingError(exc.reason, entity="Preferences") from exc
