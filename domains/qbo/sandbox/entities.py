"""Domain (QBO sandbox): the entity catalogue and the per-entity rules QBO applies to a document on write.

Documents are held as QBO JSON, so any entity type can be stored; this module only knows which names QBO
serves, which are name lists (hidden when inactive), and the computed fields Runway depends on
(TotalAmt, Balance, DueDate, DisplayName, Active). The rules here are pure: anything that needs another
stored document (terms, payment links, name uniqueness) lives in `operations`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from domains.qbo.sandbox import faults
from domains.qbo.sandbox.codec import parse_date, to_decimal

KNOWN_ENTITIES: tuple[str, ...] = (
    "Account",
    "Attachable",
    "Bill",
    "BillPayment",
    "Budget",
    "Class",
    "CompanyCurrency",
    "CompanyInfo",
    "CreditCardPayment",
    "CreditMemo",
    "Customer",
    "CustomerType",
    "Department",
    "Deposit",
    "Employee",
    "Estimate",
    "ExchangeRate",
    "Invoice",
    "Item",
    "JournalCode",
    "JournalEntry",
    "Payment",
    "PaymentMethod",
    "Preferences",
    "Purchase",
    "PurchaseOrder",
    "RecurringTransaction",
    "RefundReceipt",
    "ReimburseCharge",
    "SalesReceipt",
    "TaxAgency",
    "TaxClassification",
    "TaxCode",
    "TaxRate",
    "Term",
    "TimeActivity",
    "Transfer",
    "Vendor",
    "VendorCredit",
)

# Entities with an `Active` flag: queries hide inactive ones unless the WHERE clause mentions Active.
NAME_LISTS = frozenset(
    {
        "Account",
        "Class",
        "Customer",
        "CustomerType",
        "Department",
        "Employee",
        "Item",
        "JournalCode",
        "PaymentMethod",
        "TaxCode",
        "TaxRate",
        "Term",
        "Vendor",
    }
)

# One per company, read by its own endpoint and only ever updated.
SINGLETONS = frozenset({"CompanyInfo", "Preferences"})

CDC_UNSUPPORTED = frozenset({"JournalCode", "TaxAgency", "TimeActivity", "TaxCode", "TaxRate"})

# DisplayName is unique across these three together.
PARTIES = frozenset({"Customer", "Vendor", "Employee"})

# TotalAmt is computed from the lines for these (read-only in QBO).
LINE_TOTALLED = frozenset(
    {
        "Bill",
        "CreditMemo",
        "Deposit",
        "Estimate",
        "Invoice",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "VendorCredit",
    }
)

# Open-balance documents: Balance = TotalAmt minus what payments (or credits) have applied.
BALANCED = frozenset({"Bill", "Invoice", "VendorCredit", "CreditMemo"})

TRANSACTIONS = LINE_TOTALLED | {"BillPayment", "Payment", "JournalEntry", "Transfer", "CreditCardPayment"}

# Payment-like documents and the documents their lines pay: the target's Balance falls by the line Amount.
PAYMENT_TARGETS = {"BillPayment": "Bill", "Payment": "Invoice"}

# LinkedTxn types on a Bill/Invoice that the server maintains for those payments.
PAYMENT_LINK_TYPES = frozenset({"BillPaymentCheck", "BillPaymentCreditCard", "BillPayment", "Payment"})

# Fields the server owns: a client may send them but never sets them.
SYSTEM_KEYS = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})

_CLASSIFICATION = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}

_ENTITY_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_BY_LOWER = {name.lower(): name for name in KNOWN_ENTITIES}


def is_entity_name(name: str) -> bool:
    """QBO entity names are capitalised identifiers (Bill, BillPayment, TaxAgency...)."""
    return bool(_ENTITY_NAME.match(name))


def resolve_entity(name: str, stored: set[str] | frozenset[str] = frozenset()) -> str | None:
    """Canonical name for a query/CDC entity name, matched without regard to case (Intuit's own samples
    write `from billpayment`); `stored` adds types present in the company that the catalogue lacks."""
    lowered = name.lower()
    if lowered in _BY_LOWER:
        return _BY_LOWER[lowered]
    for candidate in stored:
        if candidate.lower() == lowered:
            return candidate
    return None


def resource_entity(segment: str, stored: set[str] | frozenset[str] = frozenset()) -> str | None:
    """Entity for a URL resource segment; URI parts are case-sensitive, so only the lower-case form works."""
    if segment != segment.lower():
        return None
    return resolve_entity(segment, stored)


def numeric_id(value: Any) -> int:
    """A QBO Id (digits, as a string) as an int, or the 2030 Invalid ID fault."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18:
        return value
    raise faults.invalid_id(value)


def sync_token(value: Any) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def name_key(entity: str, doc: dict[str, Any]) -> str | None:
    """The uniqueness key behind 6240: DisplayName across parties, FullyQualifiedName among accounts."""
    if entity in PARTIES and isinstance(doc.get("DisplayName"), str):
        return "party:" + doc["DisplayName"].strip().casefold()
    if entity == "Account":
        name = doc.get("FullyQualifiedName") or doc.get("Name")
        if isinstance(name, str):
            return "account:" + name.strip().casefold()
    return None


def is_active(entity: str, doc: dict[str, Any]) -> bool:
    return doc.get("Active") is not False


def amount(value: Any, element: str) -> Decimal:
    parsed = to_decimal(value)
    if parsed is None:
        raise faults.invalid_property(f"{element} must be a number, got {value!r}")
    return parsed


def line_total(entity: str, doc: dict[str, Any]) -> Decimal | None:
    """The document total implied by its lines (plus tax), or None when it has no Line array."""
    lines = doc.get("Line")
    if not isinstance(lines, list):
        return None
    total = Decimal(0)
    for line in lines:
        if not isinstance(line, dict) or "Amount" not in line:
            continue
        kind = line.get("DetailType")
        if entity == "JournalEntry":
            detail = line.get("JournalEntryLineDetail") or {}
            if isinstance(detail, dict) and detail.get("PostingType") == "Debit":
                total += amount(line["Amount"], "Line.Amount")
            continue
        if kind == "SubTotalLineDetail":
            continue
        value = amount(line["Amount"], "Line.Amount")
        total += -value if kind == "DiscountLineDetail" else value
    tax = doc.get("TxnTaxDetail")
    if isinstance(tax, dict) and tax.get("TotalTax") is not None:
        total += amount(tax["TotalTax"], "TxnTaxDetail.TotalTax")
    return total


def number_lines(doc: dict[str, Any]) -> None:
    """QBO numbers the lines it receives without an Id, and answers every line Amount as a number."""
    lines = doc.get("Line")
    if not isinstance(lines, list):
        return
    for line in lines:
        if isinstance(line, dict) and "Amount" in line:
            line["Amount"] = amount(line["Amount"], "Line.Amount")
    used = {line.get("Id") for line in lines if isinstance(line, dict)}
    counter = 0
    for line in lines:
        if not isinstance(line, dict) or line.get("DetailType") == "SubTotalLineDetail" or "Id" in line:
            continue
        counter += 1
        while str(counter) in used:
            counter += 1
        line["Id"] = str(counter)
        line.setdefault("LineNum", counter)


def _require_ref(doc: dict[str, Any], element: str) -> None:
    ref = doc.get(element)
    if not isinstance(ref, dict) or not ref.get("value"):
        raise faults.required(element)


def _party_display_name(entity: str, doc: dict[str, Any]) -> None:
    if isinstance(doc.get("DisplayName"), str) and doc["DisplayName"].strip():
        return
    parts = [doc.get(key) for key in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
    derived = " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
    if not derived and isinstance(doc.get("CompanyName"), str):
        derived = doc["CompanyName"].strip()
    if not derived:
        raise faults.required("DisplayName")
    doc["DisplayName"] = derived


def apply_rules(
    entity: str,
    doc: dict[str, Any],
    *,
    creating: bool,
    applied: Decimal,
    today: dt.date,
    home_currency: str,
    due_days: int | None = None,
    lines_changed: bool = True,
) -> None:
    """Validate and complete a document about to be written (create or update), in place.

    `applied` is what payments/credits have already taken off an open-balance document, so Balance stays
    TotalAmt minus applied when the lines change. `due_days` comes from the document's SalesTermRef.
    `lines_changed` is False for a sparse update that leaves Line and tax alone: the stored total stands
    (and a document seeded without lines can still have, say, its DueDate moved).
    """
    if entity in NAME_LISTS:
        doc.setdefault("Active", True)
    if entity in PARTIES:
        _party_display_name(entity, doc)
        if entity in ("Vendor", "Customer"):
            doc.setdefault("PrintOnCheckName", doc["DisplayName"])
            doc.setdefault("Balance", 0)
            doc.setdefault("CurrencyRef", {"value": home_currency})
        if entity == "Customer":
            doc.setdefault("FullyQualifiedName", doc["DisplayName"])
            doc.setdefault("BalanceWithJobs", doc.get("Balance", 0))
    elif entity == "Account":
        if not isinstance(doc.get("Name"), str) or not doc["Name"].strip():
            raise faults.required("Name")
        doc.setdefault("FullyQualifiedName", doc["Name"])
        account_type = doc.get("AccountType")
        if isinstance(account_type, str) and account_type in _CLASSIFICATION:
            doc.setdefault("Classification", _CLASSIFICATION[account_type])
        doc.setdefault("SubAccount", False)
        doc.setdefault("CurrentBalance", 0)
        doc.setdefault("CurrentBalanceWithSubAccounts", doc["CurrentBalance"])
        doc.setdefault("CurrencyRef", {"value": home_currency})
    elif entity == "Term":
        if not isinstance(doc.get("Name"), str) or not doc["Name"].strip():
            raise faults.required("Name")
        doc.setdefault("Type", "STANDARD" if "DueDays" in doc else "DATE_DRIVEN")

    if entity in TRANSACTIONS:
        _transaction_rules(
            entity,
            doc,
            creating=creating,
            applied=applied,
            today=today,
            due_days=due_days,
            lines_changed=lines_changed,
        )
        doc.setdefault("CurrencyRef", {"value": home_currency})


def _transaction_rules(
    entity: str,
    doc: dict[str, Any],
    *,
    creating: bool,
    applied: Decimal,
    today: dt.date,
    due_days: int | None,
    lines_changed: bool,
) -> None:
    if entity == "Bill":
        _require_ref(doc, "VendorRef")
    elif entity in ("Invoice", "SalesReceipt", "Estimate", "CreditMemo"):
        _require_ref(doc, "CustomerRef")
    elif entity == "BillPayment":
        _require_ref(doc, "VendorRef")
        if "PayType" not in doc:
            raise faults.required("PayType")
        if doc["PayType"] not in ("Check", "CreditCard"):
            raise faults.invalid_enum("PayType", doc["PayType"])
    elif entity == "Payment":
        _require_ref(doc, "CustomerRef")
    has_lines = isinstance(doc.get("Line"), list) and bool(doc["Line"])
    if entity in ("Bill", "Invoice") and lines_changed and not has_lines:
        raise faults.required("Line")

    txn_date = parse_date(doc.get("TxnDate"))
    if txn_date is None:
        txn_date = today
        doc["TxnDate"] = today.isoformat()
    number_lines(doc)

    if entity in LINE_TOTALLED or entity == "JournalEntry":
        total = line_total(entity, doc) if lines_changed else None
        if total is not None:
            doc["TotalAmt"] = total
        doc.setdefault("TotalAmt", Decimal(0))
    elif "TotalAmt" not in doc:
        doc["TotalAmt"] = line_total(entity, doc) or Decimal(0)
    else:
        doc["TotalAmt"] = amount(doc["TotalAmt"], "TotalAmt")

    if entity in ("Bill", "Invoice") and "DueDate" not in doc:
        days = due_days if due_days is not None else 0
        doc["DueDate"] = (txn_date + dt.timedelta(days=days)).isoformat()
    if entity in BALANCED:
        balance = amount(doc["TotalAmt"], "TotalAmt") - applied
        if balance < 0:
            raise faults.business_rule(
                "The transaction total cannot be less than the payments and credits already applied to it."
            )
        doc["Balance"] = balance
        if entity == "CreditMemo":
            doc["RemainingCredit"] = balance
    if entity == "SalesReceipt":
        doc["Balance"] = Decimal(0)
    if entity == "Payment":
        unapplied = amount(doc["TotalAmt"], "TotalAmt") - sum(applications(entity, doc).values(), Decimal(0))
        if unapplied < 0:
            raise faults.business_rule("The amounts applied to invoices are more than the payment amount.")
        doc["UnappliedAmt"] = unapplied
    if entity == "Invoice" and creating:
        doc.setdefault("EmailStatus", "NotSet")
        doc.setdefault("PrintStatus", "NotSet")


def applications(entity: str, doc: dict[str, Any] | None) -> dict[str, Decimal]:
    """What a payment-like document applies per target Id: the sum of its line Amounts linked to it."""
    target = PAYMENT_TARGETS.get(entity)
    applied: dict[str, Decimal] = {}
    if target is None or not doc or not isinstance(doc.get("Line"), list):
        return applied
    for line in doc["Line"]:
        if not isinstance(line, dict) or not isinstance(line.get("LinkedTxn"), list):
            continue
        targets = [
            str(link["TxnId"])
            for link in line["LinkedTxn"]
            if isinstance(link, dict)
            and link.get("TxnType") == target
            and link.get("TxnId") not in (None, "")
        ]
        if not targets:
            continue
        value = amount(line.get("Amount", 0), "Line.Amount")
        for txn_id in targets:
            applied[txn_id] = applied.get(txn_id, Decimal(0)) + value
    return applied


def payment_link_type(entity: str, doc: dict[str, Any]) -> str:
    """How a payment shows in its target's LinkedTxn (a bill paid by check lists `BillPaymentCheck`)."""
    if entity == "BillPayment":
        return "BillPaymentCreditCard" if doc.get("PayType") == "CreditCard" else "BillPaymentCheck"
    return "Payment"


def fill_seed_defaults(entity: str, doc: dict[str, Any]) -> None:
    """Seeded documents are taken as given; only fields QBO always returns and the data lacks are filled."""
    if entity in NAME_LISTS:
        doc.setdefault("Active", True)
    if entity in LINE_TOTALLED and "TotalAmt" not in doc:
        total = line_total(entity, doc)
        if total is not None:
            doc["TotalAmt"] = total
    if entity in BALANCED and "Balance" not in doc and "TotalAmt" in doc:
        doc["Balance"] = doc["TotalAmt"]
