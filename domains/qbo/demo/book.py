"""Domain (QBO demo): the bookkeeper writing one demo company's documents as QBO JSON, with their ledger.

`Book` hands out Ids in creation order, stamps `MetaData` with Pacific offsets, writes amounts as two-place
`Decimal`, links payments to what they pay (both directions, as QBO does) and tracks the balances QBO
reports on accounts, vendors and customers, so the finished company reads like one QBO would return.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Json = dict[str, Any]

CHECKING = "Business Checking"
SAVINGS = "Business Savings"
UNDEPOSITED = "Undeposited Funds"
RECEIVABLE = "Accounts Receivable (A/R)"
PAYABLE = "Accounts Payable (A/P)"
UNCATEGORIZED = "Uncategorized Expense"
INTEREST = "Interest Earned"
SBA_LOAN = "SBA Loan Payable"

# Name -> (AccountType, AccountSubType). The chart of every demo company is drawn from here.
ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    CHECKING: ("Bank", "Checking"),
    SAVINGS: ("Bank", "Savings"),
    UNDEPOSITED: ("Other Current Asset", "UndepositedFunds"),
    RECEIVABLE: ("Accounts Receivable", "AccountsReceivable"),
    PAYABLE: ("Accounts Payable", "AccountsPayable"),
    "Visa Business Card": ("Credit Card", "CreditCard"),
    "Amex Business Card": ("Credit Card", "CreditCard"),
    SBA_LOAN: ("Long Term Liability", "NotesPayable"),
    "Owner's Equity": ("Equity", "OwnersEquity"),
    "Owner's Draw": ("Equity", "PartnerDistributions"),
    "Retail Sales": ("Income", "SalesOfProductIncome"),
    "Wholesale Sales": ("Income", "SalesOfProductIncome"),
    "Catering Sales": ("Income", "SalesOfProductIncome"),
    "Design Services": ("Income", "ServiceFeeIncome"),
    "Fabrication Income": ("Income", "SalesOfProductIncome"),
    "Landscaping Services": ("Income", "ServiceFeeIncome"),
    "Maintenance Contracts": ("Income", "ServiceFeeIncome"),
    "Workshop Income": ("Income", "ServiceFeeIncome"),
    "Sales": ("Income", "SalesOfProductIncome"),
    INTEREST: ("Other Income", "InterestEarned"),
    "Cost of Goods Sold": ("Cost of Goods Sold", "SuppliesMaterialsCogs"),
    "Ingredients": ("Cost of Goods Sold", "SuppliesMaterialsCogs"),
    "Coffee & Beverages": ("Cost of Goods Sold", "SuppliesMaterialsCogs"),
    "Materials": ("Cost of Goods Sold", "SuppliesMaterialsCogs"),
    "Subcontractors": ("Cost of Goods Sold", "CostOfLaborCos"),
    "Plants & Soil": ("Cost of Goods Sold", "SuppliesMaterialsCogs"),
    "Packaging": ("Cost of Goods Sold", "ShippingFreightDeliveryCos"),
    "Rent or Lease": ("Expense", "RentOrLeaseOfBuildings"),
    "Payroll Expenses": ("Expense", "PayrollExpenses"),
    "Utilities": ("Expense", "Utilities"),
    "Insurance": ("Expense", "Insurance"),
    "Office Supplies": ("Expense", "OfficeGeneralAdministrativeExpenses"),
    "Supplies": ("Expense", "SuppliesMaterials"),
    "Software & Subscriptions": ("Expense", "OfficeGeneralAdministrativeExpenses"),
    "Repairs & Maintenance": ("Expense", "RepairMaintenance"),
    "Advertising": ("Expense", "AdvertisingPromotional"),
    "Equipment Rental": ("Expense", "EquipmentRental"),
    "Fuel": ("Expense", "Auto"),
    "Vehicle Expenses": ("Expense", "Auto"),
    "Professional Fees": ("Expense", "LegalProfessionalFees"),
    "Bank Charges": ("Expense", "BankCharges"),
    "Travel": ("Expense", "Travel"),
    "Interest Paid": ("Expense", "InterestPaid"),
    UNCATEGORIZED: ("Expense", "OtherMiscellaneousServiceCost"),
}

_CLASSIFICATION = {
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
}

_SUNDAY = 6


def money(cents: int) -> Decimal:
    """Integer cents as the two-place Decimal QBO sends (12345 -> Decimal('123.45'))."""
    return Decimal(cents).scaleb(-2)


def ref(value: str, name: str | None = None) -> Json:
    """A QBO reference object."""
    return {"value": value} if name is None else {"value": value, "name": name}


def _nth_sunday(year: int, month: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(_SUNDAY - first.weekday()) % 7 + 7 * (n - 1))


@functools.cache
def _daylight_saving(year: int) -> tuple[dt.date, dt.date]:
    return _nth_sunday(year, 3, 2), _nth_sunday(year, 11, 1)


def pacific_offset(day: dt.date) -> str:
    """UTC offset of US Pacific time on a day, after 2 a.m. (US daylight time rules since 2007).

    Computed instead of read from a tz database so the output is the same on every machine.
    """
    starts, ends = _daylight_saving(day.year)
    return "-07:00" if starts <= day < ends else "-08:00"


@dataclass
class _Tracked:
    """Amounts of a bill, invoice or credit the book keeps in cents while the documents hold Decimals."""

    party: str
    total: int
    balance: int


class Book:
    """The documents of one company under construction, with the ledger QBO would keep for them."""

    def __init__(self, seed: str) -> None:
        self._next_id = 1
        self._clock_rng = random.Random(seed)
        self._seconds: dict[dt.date, int] = {}
        self.entities: dict[str, list[Json]] = defaultdict(list)
        self.accounts: dict[str, Json] = {}
        self.terms: dict[str, Json] = {}
        self.vendors: dict[str, Json] = {}
        self.customers: dict[str, Json] = {}
        self.items: dict[str, Json] = {}
        self.employees: dict[str, Json] = {}
        self.bills: dict[str, _Tracked] = {}
        self.invoices: dict[str, _Tracked] = {}
        self.vendor_credits: dict[str, _Tracked] = {}
        self.credit_memos: dict[str, _Tracked] = {}
        self.unapplied: dict[str, int] = defaultdict(int)
        # Net movement of each bank account over the history, and what sits in Undeposited Funds.
        self.bank_flow: dict[str, int] = defaultdict(int)
        self.card_owed: dict[str, int] = defaultdict(int)
        self.undeposited: dict[tuple[str, str], tuple[dt.date, int]] = {}
        self._doc_numbers: dict[str, int] = defaultdict(int)

    # -- plumbing ------------------------------------------------------------------------------------

    def new_id(self) -> str:
        value = str(self._next_id)
        self._next_id += 1
        return value

    def stamp(self, day: dt.date) -> str:
        """A MetaData timestamp on `day`, later than every earlier stamp of that day (office hours first)."""
        draw = self._clock_rng.random
        seconds = self._seconds.get(day, 8 * 3600 + int(draw() * 1800))
        seconds = min(seconds + 20 + int(draw() * 400), 86_399)
        self._seconds[day] = seconds
        hours, rest = divmod(seconds, 3600)
        return f"{day.isoformat()}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}{pacific_offset(day)}"

    def add(self, entity: str, fields: Json, *, day: dt.date) -> Json:
        """Store a new document created on `day`; Id, SyncToken and MetaData first, as QBO orders them."""
        created = self.stamp(day)
        doc: Json = {
            "Id": self.new_id(),
            "SyncToken": "0",
            "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
            "domain": "QBO",
            "sparse": False,
        }
        doc.update(fields)
        self.entities[entity].append(doc)
        return doc

    def touch(self, doc: Json, day: dt.date) -> None:
        """Record an update QBO made to a document (a payment applied to it): new token and timestamp."""
        doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
        # Payments are dated on or after what they pay, so this stamp is the document's latest.
        doc["MetaData"]["LastUpdatedTime"] = self.stamp(day)

    def doc_number(self, series: str, start: int) -> str:
        self._doc_numbers[series] = max(self._doc_numbers[series] + 1, start)
        return str(self._doc_numbers[series])

    # -- references ----------------------------------------------------------------------------------

    def account_ref(self, name: str) -> Json:
        account = self.accounts[name]
        return ref(account["Id"], account["Name"])

    def account_id(self, name: str) -> str:
        return str(self.accounts[name]["Id"])

    def vendor_ref(self, name: str) -> Json:
        return ref(self.vendors[name]["Id"], name)

    def customer_ref(self, name: str) -> Json:
        return ref(self.customers[name]["Id"], name)

    def term_ref(self, name: str) -> Json:
        return ref(self.terms[name]["Id"], name)

    def item_ref(self, name: str) -> Json:
        return ref(self.items[name]["Id"], name)

    def is_bank(self, name: str) -> bool:
        return ACCOUNT_TYPES[name][0] == "Bank"

    def is_card(self, name: str) -> bool:
        return ACCOUNT_TYPES[name][0] == "Credit Card"

    # -- name lists ----------------------------------------------------------------------------------

    def add_account(self, name: str, *, day: dt.date) -> Json:
        account_type, sub_type = ACCOUNT_TYPES[name]
        fields: Json = {
            "Name": name,
            "FullyQualifiedName": name,
            "SubAccount": False,
            "Active": True,
            "Classification": _CLASSIFICATION[account_type],
            "AccountType": account_type,
            "AccountSubType": sub_type,
            "CurrentBalance": money(0),
            "CurrentBalanceWithSubAccounts": money(0),
            "CurrencyRef": ref("USD", "United States Dollar"),
        }
        account = self.add("Account", fields, day=day)
        self.accounts[name] = account
        return account

    def add_term(self, name: str, fields: Json, *, day: dt.date) -> Json:
        term = self.add("Term", {"Name": name, "Active": True, **fields}, day=day)
        self.terms[name] = term
        return term

    def add_vendor(self, name: str, fields: Json, *, day: dt.date) -> Json:
        vendor = self.add(
            "Vendor",
            {
                "DisplayName": name,
                "PrintOnCheckName": name,
                "Active": True,
                "Balance": money(0),
                "CurrencyRef": ref("USD", "United States Dollar"),
                **fields,
            },
            day=day,
        )
        self.vendors[name] = vendor
        return vendor

    def add_customer(self, name: str, fields: Json, *, day: dt.date) -> Json:
        customer = self.add(
            "Customer",
            {
                "DisplayName": name,
                "FullyQualifiedName": name,
                "PrintOnCheckName": name,
                "Job": False,
                "BillWithParent": False,
                "Taxable": False,
                "Active": True,
                "Balance": money(0),
                "BalanceWithJobs": money(0),
                "CurrencyRef": ref("USD", "United States Dollar"),
                "PreferredDeliveryMethod": "Email",
                **fields,
            },
            day=day,
        )
        self.customers[name] = customer
        return customer

    # -- lines ---------------------------------------------------------------------------------------

    def expense_lines(self, parts: Sequence[tuple[str, int, str]]) -> list[Json]:
        """Account-based expense lines from (account name, cents, description)."""
        return [
            {
                "Id": str(number),
                "LineNum": number,
                "Description": description,
                "Amount": money(cents),
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {
                    "AccountRef": self.account_ref(account),
                    "BillableStatus": "NotBillable",
                    "TaxCodeRef": ref("NON"),
                },
            }
            for number, (account, cents, description) in enumerate(parts, start=1)
        ]

    def sales_lines(self, parts: Sequence[tuple[str, int, int]]) -> tuple[list[Json], int]:
        """Item lines from (item name, quantity, unit price cents) plus the SubTotal line QBO appends.

        Returns the lines and their total in cents.
        """
        lines: list[Json] = []
        total = 0
        for number, (item_name, qty, unit) in enumerate(parts, start=1):
            item = self.items[item_name]
            amount = unit * qty
            total += amount
            lines.append(
                {
                    "Id": str(number),
                    "LineNum": number,
                    "Description": item["Description"],
                    "Amount": money(amount),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": self.item_ref(item_name),
                        "UnitPrice": money(unit),
                        "Qty": qty,
                        "ItemAccountRef": item["IncomeAccountRef"],
                        "TaxCodeRef": ref("NON"),
                    },
                }
            )
        lines.append({"Amount": money(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        return lines, total

    # -- transactions --------------------------------------------------------------------------------

    def bill(
        self,
        vendor: str,
        *,
        txn_date: dt.date,
        due_date: dt.date | None,
        parts: Sequence[tuple[str, int, str]],
        doc_number: str | None = None,
        term: str | None = None,
        vendor_id: str | None = None,
        total_cents: int | None = None,
        day: dt.date | None = None,
    ) -> Json:
        """An open bill; `total_cents` differs from the line sum only when the data is meant to be wrong."""
        lines = self.expense_lines(parts)
        total = sum(cents for _, cents, _ in parts) if total_cents is None else total_cents
        vendor_ref = self.vendor_ref(vendor) if vendor_id is None else ref(vendor_id, vendor)
        fields: Json = {"TxnDate": txn_date.isoformat()}
        if due_date is not None:
            fields["DueDate"] = due_date.isoformat()
        if doc_number is not None:
            fields["DocNumber"] = doc_number
        fields.update(
            {
                "CurrencyRef": ref("USD", "United States Dollar"),
                "VendorRef": vendor_ref,
                "APAccountRef": self.account_ref(PAYABLE),
                "TotalAmt": money(total),
                "Balance": money(total),
                "Line": lines,
            }
        )
        if term is not None:
            fields["SalesTermRef"] = self.term_ref(term)
        doc = self.add("Bill", fields, day=day or txn_date)
        self.bills[doc["Id"]] = _Tracked(vendor_ref["value"], total, total)
        return doc

    def pay_bills(self, vendor: str, day: dt.date, bills: Sequence[Json], *, from_account: str) -> Json:
        """One BillPayment settling the given bills in full, by check from a bank or charged to a card."""
        lines: list[Json] = []
        total = 0
        for bill in bills:
            tracked = self.bills[bill["Id"]]
            lines.append(
                {
                    "Amount": money(tracked.balance),
                    "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}],
                }
            )
            total += tracked.balance
        by_check = self.is_bank(from_account)
        fields: Json = {"TxnDate": day.isoformat()}
        if by_check:
            fields["DocNumber"] = self.doc_number("check", 4101)
        fields |= {
            "CurrencyRef": ref("USD", "United States Dollar"),
            "VendorRef": self.vendor_ref(vendor),
            "APAccountRef": self.account_ref(PAYABLE),
            "TotalAmt": money(total),
            "Line": lines,
        }
        if by_check:
            fields["PayType"] = "Check"
            fields["CheckPayment"] = {
                "BankAccountRef": self.account_ref(from_account),
                "PrintStatus": "NotSet",
            }
            self.bank_flow[self.account_id(from_account)] -= total
        else:
            fields["PayType"] = "CreditCard"
            fields["CreditCardPayment"] = {"CCAccountRef": self.account_ref(from_account)}
            self.card_owed[from_account] += total
        payment = self.add("BillPayment", fields, day=day)
        link_type = "BillPaymentCheck" if by_check else "BillPaymentCreditCard"
        for bill in bills:
            tracked = self.bills[bill["Id"]]
            tracked.balance = 0
            bill["Balance"] = money(0)
            bill.setdefault("LinkedTxn", []).append({"TxnId": payment["Id"], "TxnType": link_type})
            self.touch(bill, day)
        return payment

    def invoice(
        self,
        customer: str,
        *,
        txn_date: dt.date,
        due_date: dt.date | None,
        parts: Sequence[tuple[str, int, int]],
        term: str | None,
        balance_cents: int | None = None,
    ) -> Json:
        """An open invoice; `balance_cents` above the total only when the data is meant to be wrong."""
        lines, total = self.sales_lines(parts)
        customer_doc = self.customers[customer]
        fields: Json = {"TxnDate": txn_date.isoformat()}
        if due_date is not None:
            fields["DueDate"] = due_date.isoformat()
        balance = total if balance_cents is None else balance_cents
        fields.update(
            {
                "DocNumber": self.doc_number("invoice", 1001),
                "CurrencyRef": ref("USD", "United States Dollar"),
                "CustomerRef": self.customer_ref(customer),
                "TotalAmt": money(total),
                "Balance": money(balance),
                "Line": lines,
                "TxnTaxDetail": {"TotalTax": money(0)},
                "EmailStatus": "EmailSent",
                "PrintStatus": "NotSet",
                "AllowOnlineCreditCardPayment": False,
                "AllowOnlineACHPayment": True,
            }
        )
        if term is not None:
            fields["SalesTermRef"] = self.term_ref(term)
        email = customer_doc.get("PrimaryEmailAddr")
        if email is not None:
            fields["BillEmail"] = dict(email)
            fields["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": self.stamp(txn_date)}
        doc = self.add("Invoice", fields, day=txn_date)
        self.invoices[doc["Id"]] = _Tracked(customer_doc["Id"], total, balance)
        return doc

    def receive_payment(
        self,
        customer: str,
        day: dt.date,
        invoices: Sequence[Json],
        *,
        deposit_to: str,
        unapplied_cents: int = 0,
        ref_num: str | None = None,
    ) -> Json:
        """A customer Payment applying the full balance of each invoice, plus anything left on account."""
        lines: list[Json] = []
        applied = 0
        for invoice in invoices:
            tracked = self.invoices[invoice["Id"]]
            lines.append(
                {
                    "Amount": money(tracked.balance),
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            )
            applied += tracked.balance
        total = applied + unapplied_cents
        fields: Json = {
            "TxnDate": day.isoformat(),
            "CurrencyRef": ref("USD", "United States Dollar"),
            "CustomerRef": self.customer_ref(customer),
            "DepositToAccountRef": self.account_ref(deposit_to),
            "TotalAmt": money(total),
            "UnappliedAmt": money(unapplied_cents),
            "ProcessPayment": False,
            "Line": lines,
        }
        if ref_num is not None:
            fields["PaymentRefNum"] = ref_num
        payment = self.add("Payment", fields, day=day)
        self._received(deposit_to, "Payment", payment["Id"], day, total)
        self.unapplied[self.customers[customer]["Id"]] += unapplied_cents
        for invoice in invoices:
            tracked = self.invoices[invoice["Id"]]
            tracked.balance = 0
            invoice["Balance"] = money(0)
            invoice.setdefault("LinkedTxn", []).append({"TxnId": payment["Id"], "TxnType": "Payment"})
            self.touch(invoice, day)
        return payment

    def _received(self, account: str, entity: str, entity_id: str, day: dt.date, cents: int) -> None:
        if account == UNDEPOSITED:
            self.undeposited[(entity, entity_id)] = (day, cents)
        else:
            self.bank_flow[self.account_id(account)] += cents

    def purchase(
        self,
        payee: str | None,
        day: dt.date,
        *,
        paid_from: str,
        parts: Sequence[tuple[str, int, str]],
        payment_type: str | None = None,
        credit: bool = False,
        payee_type: str = "Vendor",
        memo: str | None = None,
        doc_number: str | None = None,
    ) -> Json:
        """An expense, check or card charge (a refund when `credit`) and its effect on the paying account."""
        total = sum(cents for _, cents, _ in parts)
        kind = payment_type or ("CreditCard" if self.is_card(paid_from) else "Cash")
        fields: Json = {"TxnDate": day.isoformat()}
        if doc_number is not None:
            fields["DocNumber"] = doc_number
        fields.update(
            {
                "PaymentType": kind,
                "AccountRef": self.account_ref(paid_from),
                "CurrencyRef": ref("USD", "United States Dollar"),
                "TotalAmt": money(total),
                "Line": self.expense_lines(parts),
            }
        )
        if payee is not None:
            party = self.employees[payee] if payee_type == "Employee" else self.vendors[payee]
            fields["EntityRef"] = {"value": party["Id"], "name": payee, "type": payee_type}
        if credit:
            fields["Credit"] = True
        if memo is not None:
            fields["PrivateNote"] = memo
        doc = self.add("Purchase", fields, day=day)
        signed = -total if credit else total
        if self.is_card(paid_from):
            self.card_owed[paid_from] += signed
        else:
            self.bank_flow[self.account_id(paid_from)] -= signed
        return doc

    def sales_receipt(
        self,
        customer: str | None,
        day: dt.date,
        *,
        parts: Sequence[tuple[str, int, int]],
        deposit_to: str,
        memo: str | None = None,
    ) -> Json:
        lines, total = self.sales_lines(parts)
        fields: Json = {
            "TxnDate": day.isoformat(),
            "DocNumber": self.doc_number("receipt", 5001),
            "CurrencyRef": ref("USD", "United States Dollar"),
            "TotalAmt": money(total),
            "Balance": money(0),
            "DepositToAccountRef": self.account_ref(deposit_to),
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": money(0)},
        }
        if customer is not None:
            fields["CustomerRef"] = self.customer_ref(customer)
        if memo is not None:
            fields["PrivateNote"] = memo
        doc = self.add("SalesReceipt", fields, day=day)
        self._received(deposit_to, "SalesReceipt", doc["Id"], day, total)
        return doc

    def deposit(
        self,
        day: dt.date,
        *,
        to_account: str,
        moved: Iterable[tuple[str, str]] = (),
        other: Sequence[tuple[str, int, str]] = (),
        payer: str | None = None,
    ) -> Json | None:
        """A bank Deposit: lines moving Undeposited Funds items (type, Id) and lines from other accounts.

        `payer` names the vendor the other lines came from (a lender), as QBO's line Entity.
        """
        lines: list[Json] = []
        total = 0
        for entity, entity_id in moved:
            _, cents = self.undeposited.pop((entity, entity_id))
            lines.append(
                {
                    "Id": str(len(lines) + 1),
                    "LineNum": len(lines) + 1,
                    "Amount": money(cents),
                    "LinkedTxn": [{"TxnId": entity_id, "TxnType": entity, "TxnLineId": "0"}],
                }
            )
            total += cents
        for account, cents, description in other:
            lines.append(
                {
                    "Id": str(len(lines) + 1),
                    "LineNum": len(lines) + 1,
                    "Description": description,
                    "Amount": money(cents),
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {"AccountRef": self.account_ref(account)},
                }
            )
            if payer is not None:
                vendor = self.vendors[payer]
                lines[-1]["DepositLineDetail"]["Entity"] = {
                    "value": vendor["Id"],
                    "name": payer,
                    "type": "Vendor",
                }
            total += cents
        if not lines:
            return None
        fields: Json = {
            "TxnDate": day.isoformat(),
            "CurrencyRef": ref("USD", "United States Dollar"),
            "DepositToAccountRef": self.account_ref(to_account),
            "TotalAmt": money(total),
            "Line": lines,
        }
        self.bank_flow[self.account_id(to_account)] += total
        return self.add("Deposit", fields, day=day)

    def vendor_credit(self, vendor: str, day: dt.date, *, parts: Sequence[tuple[str, int, str]]) -> Json:
        total = sum(cents for _, cents, _ in parts)
        doc = self.add(
            "VendorCredit",
            {
                "TxnDate": day.isoformat(),
                "CurrencyRef": ref("USD", "United States Dollar"),
                "VendorRef": self.vendor_ref(vendor),
                "APAccountRef": self.account_ref(PAYABLE),
                "TotalAmt": money(total),
                "Balance": money(total),
                "Line": self.expense_lines(parts),
            },
            day=day,
        )
        self.vendor_credits[doc["Id"]] = _Tracked(self.vendors[vendor]["Id"], total, total)
        return doc

    def credit_memo(self, customer: str, day: dt.date, *, parts: Sequence[tuple[str, int, int]]) -> Json:
        lines, total = self.sales_lines(parts)
        doc = self.add(
            "CreditMemo",
            {
                "TxnDate": day.isoformat(),
                "DocNumber": self.doc_number("credit", 9001),
                "CurrencyRef": ref("USD", "United States Dollar"),
                "CustomerRef": self.customer_ref(customer),
                "TotalAmt": money(total),
                "Balance": money(total),
                "RemainingCredit": money(total),
                "Line": lines,
                "TxnTaxDetail": {"TotalTax": money(0)},
            },
            day=day,
        )
        self.credit_memos[doc["Id"]] = _Tracked(self.customers[customer]["Id"], total, total)
        return doc

    # -- closing the books ---------------------------------------------------------------------------

    def close(self, balances: dict[str, int]) -> dict[str, list[Json]]:
        """Write the balances QBO keeps on accounts and parties; `balances` gives each bank's CurrentBalance.

        Bank accounts not named in `balances` end at their net activity. Returns the entity lists.
        """
        for name, account in self.accounts.items():
            account_type = account["AccountType"]
            if account_type == "Bank":
                cents = balances.get(name, self.bank_flow[account["Id"]])
            elif account_type == "Credit Card":
                cents = self.card_owed[name]
            elif name == UNDEPOSITED:
                cents = sum(cents for _, cents in self.undeposited.values())
            elif name == RECEIVABLE:
                cents = (
                    sum(t.balance for t in self.invoices.values())
                    - sum(self.unapplied.values())
                    - sum(t.balance for t in self.credit_memos.values())
                )
            elif name == PAYABLE:
                cents = sum(t.balance for t in self.bills.values()) - sum(
                    t.balance for t in self.vendor_credits.values()
                )
            else:
                continue
            account["CurrentBalance"] = money(cents)
            account["CurrentBalanceWithSubAccounts"] = money(cents)
        owed: dict[str, int] = defaultdict(int)
        for tracked in self.bills.values():
            owed[tracked.party] += tracked.balance
        for tracked in self.vendor_credits.values():
            owed[tracked.party] -= tracked.balance
        for vendor in self.vendors.values():
            vendor["Balance"] = money(owed[vendor["Id"]])
        due: dict[str, int] = defaultdict(int)
        for tracked in self.invoices.values():
            due[tracked.party] += tracked.balance
        for tracked in self.credit_memos.values():
            due[tracked.party] -= tracked.balance
        for customer_id, cents in self.unapplied.items():
            due[customer_id] -= cents
        for customer in self.customers.values():
            customer["Balance"] = money(due[customer["Id"]])
            customer["BalanceWithJobs"] = money(due[customer["Id"]])
        return {entity: docs for entity, docs in self.entities.items() if docs}
