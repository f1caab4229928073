"""Domain (QBO demo): turns a `Profile` into a year of QBO documents, walking the calendar day by day.

Each day first records that day's documents (bills, invoices, purchases, sales receipts), then the
payments falling due on it, then the bank work (deposits, card payoffs, interest). Walking in date
order gives Ids in creation order, as QBO does. Every recurring stream draws from its own random
generator, so adding or removing one stream leaves the others' amounts untouched.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from domains.qbo.demo.book import (
    ACCOUNT_TYPES,
    CHECKING,
    INTEREST,
    PAYABLE,
    RECEIVABLE,
    SAVINGS,
    UNCATEGORIZED,
    UNDEPOSITED,
    Book,
    Json,
    money,
)
from domains.qbo.demo.specs import (
    BillStream,
    Cadence,
    InvoiceStream,
    Profile,
    SaleLine,
    SalesStream,
    SpendStream,
)

DOCUMENTS, PAYMENTS, BANKING, CLOSE_OF_DAY = range(4)
SETUP_DAYS_AGO = 400
STATEMENT_DAYS = 7

TERMS: tuple[tuple[str, Json], ...] = (
    ("Due on receipt", {"Type": "STANDARD", "DueDays": 0}),
    ("Net 15", {"Type": "STANDARD", "DueDays": 15}),
    ("Net 30", {"Type": "STANDARD", "DueDays": 30}),
    ("2% 10 Net 30", {"Type": "STANDARD", "DueDays": 30, "DiscountPercent": money(200), "DiscountDays": 10}),
    ("15th of next month", {"Type": "DATE_DRIVEN", "DayOfMonthDue": 15, "DueNextMonthDays": 10}),
    ("Net 60", {"Type": "STANDARD", "DueDays": 60, "Active": False}),
)

_STREETS = (
    "Oak Avenue",
    "Industrial Way",
    "Market Street",
    "River Road",
    "Commerce Drive",
    "Harbor Boulevard",
    "Cedar Lane",
    "Mission Street",
    "Front Street",
    "Park Place",
)


def slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def business_day(day: dt.date, today: dt.date) -> dt.date:
    """Weekend dates move to the nearest weekday that is still before `today`."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        monday = day + dt.timedelta(days=1)
        return monday if monday < today else day - dt.timedelta(days=2)
    return day


def next_weekday(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def due_on(txn_date: dt.date, term: Json | None) -> dt.date:
    """The DueDate QBO fills in from a term (the TxnDate itself without one).

    A standard term adds DueDays. A date-driven term is due on DayOfMonthDue of this month, or of next
    month when the document is dated within DueNextMonthDays of that day (or after it).
    """
    if term is None:
        return txn_date
    if "DueDays" in term:
        return txn_date + dt.timedelta(days=int(term["DueDays"]))
    due = txn_date.replace(day=int(term["DayOfMonthDue"]))
    if (due - txn_date).days < int(term.get("DueNextMonthDays", 0)):
        year, month = (due.year + 1, 1) if due.month == 12 else (due.year, due.month + 1)
        due = due.replace(year=year, month=month)
    return due


@dataclass
class Agenda:
    """Actions by day, run in (priority, order of scheduling) within a day."""

    _by_day: dict[dt.date, list[tuple[int, int, Callable[[dt.date], object]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _seq: int = 0

    def at(self, day: dt.date, priority: int, action: Callable[[dt.date], object]) -> None:
        self._by_day[day].append((priority, self._seq, action))
        self._seq += 1

    def run(self, first: dt.date, last: dt.date) -> None:
        day = first
        while day <= last:
            while self._by_day.get(day):
                batch = sorted(self._by_day.pop(day), key=lambda entry: (entry[0], entry[1]))
                for _, _, action in batch:
                    action(day)
            day += dt.timedelta(days=1)
        # Whatever falls on `last` + 1 or later has not happened yet: those bills and invoices stay open.
        self._by_day.clear()


class History:
    """One company's year, built from its profile. `lingering` holds receipts kept out of deposits."""

    def __init__(self, profile: Profile, *, today: dt.date, seed: int) -> None:
        self.profile = profile
        self.today = today
        self.seed = seed
        self.book = Book(self._seed_of("clock", 0))
        self._vendor_terms = {vendor.name: vendor.term for vendor in profile.vendors}
        self._customer_terms = {customer.name: customer.term for customer in profile.customers}
        self._list_prices = {item.name: item.unit_cents for item in profile.items}
        self.agenda = Agenda()
        self.lingering: set[tuple[str, str]] = set()
        self.first_day = today - dt.timedelta(days=365)
        self.setup_day = today - dt.timedelta(days=SETUP_DAYS_AGO)
        self._pending_bills: dict[tuple[dt.date, str, str], list[Json]] = {}
        self._pending_receipts: dict[tuple[dt.date, str, str], list[Json]] = {}
        self._statements: dict[dt.date, int] = {}

    def _seed_of(self, kind: str, index: int) -> str:
        return f"{self.seed}|{self.profile.key}|{kind}|{index}"

    def rng(self, kind: str, index: int) -> random.Random:
        return random.Random(self._seed_of(kind, index))

    def days_ago(self, days: int) -> dt.date:
        return business_day(self.today - dt.timedelta(days=days), self.today)

    def occurrences(self, cadence: Cadence) -> list[dt.date]:
        dates = cadence.dates(self.today)
        if cadence.weekday is None:
            dates = [business_day(day, self.today) for day in dates]
        return [day for day in dates if self.first_day <= day < self.today]

    # -- setup ---------------------------------------------------------------------------------------

    def accounts_used(self) -> list[str]:
        p = self.profile
        names = [CHECKING]
        if p.savings_cents is not None:
            names.append(SAVINGS)
        names += [
            UNDEPOSITED,
            RECEIVABLE,
            PAYABLE,
            p.card_account,
            *p.extra_accounts,
            *p.income_accounts,
            INTEREST,
        ]
        for stream in p.bills:
            names += stream.accounts
        names += [stream.account for stream in p.spending]
        names += [p.refund.account, p.vendor_credit.account, UNCATEGORIZED]
        if "Owner's Draw" in names:
            names.append("Owner's Equity")
        ordered = sorted(dict.fromkeys(names), key=lambda name: list(ACCOUNT_TYPES).index(name))
        return ordered

    def setup(self) -> None:
        """The name lists, created before the year of history starts."""
        self._chart_and_terms()
        self._items()
        self._vendors()
        self._customers()
        self._employees()

    def _chart_and_terms(self) -> None:
        for name in self.accounts_used():
            self.book.add_account(name, day=self.setup_day)
        for name, fields in TERMS:
            self.book.add_term(name, fields, day=self.setup_day)

    def _items(self) -> None:
        book = self.book
        for item in self.profile.items:
            book.items[item.name] = book.add(
                "Item",
                {
                    "Name": item.name,
                    "Description": item.description,
                    "Active": True,
                    "FullyQualifiedName": item.name,
                    "Taxable": False,
                    "UnitPrice": money(item.unit_cents),
                    "Type": item.kind,
                    "IncomeAccountRef": book.account_ref(item.income_account),
                    "PurchaseCost": money(0),
                    "TrackQtyOnHand": False,
                },
                day=self.setup_day,
            )

    def _vendors(self) -> None:
        book = self.book
        area = self.profile.place.area_code
        for index, vendor in enumerate(self.profile.vendors):
            fields: Json = {
                "CompanyName": vendor.name,
                "PrimaryEmailAddr": {"Address": f"billing@{slug(vendor.name)}.example"},
                "PrimaryPhone": {"FreeFormNumber": f"({area}) 555-{100 + index:04d}"},
                "BillAddr": self._address(index),
                "Vendor1099": vendor.is_1099,
            }
            if vendor.term is not None:
                fields["TermRef"] = book.term_ref(vendor.term)
            if vendor.account_number is not None:
                fields["AcctNum"] = vendor.account_number
            doc = book.add_vendor(vendor.name, fields, day=self.setup_day)
            if not vendor.active:
                doc["Active"] = False

    def _customers(self) -> None:
        book = self.book
        area = self.profile.place.area_code
        for index, customer in enumerate(self.profile.customers):
            fields: Json = {
                "CompanyName": customer.name,
                "PrimaryPhone": {"FreeFormNumber": f"({area}) 555-{300 + index:04d}"},
                "BillAddr": self._address(index + 5),
            }
            if customer.email:
                fields["PrimaryEmailAddr"] = {"Address": f"accounts@{slug(customer.name)}.example"}
            if customer.term is not None:
                fields["SalesTermRef"] = book.term_ref(customer.term)
            doc = book.add_customer(customer.name, fields, day=self.setup_day)
            if not customer.active:
                doc["Active"] = False

    def _employees(self) -> None:
        area = self.profile.place.area_code
        for number, (given, family, active) in enumerate(self.profile.employees, start=1):
            name = f"{given} {family}"
            self.book.employees[name] = self.book.add(
                "Employee",
                {
                    "GivenName": given,
                    "FamilyName": family,
                    "DisplayName": name,
                    "PrintOnCheckName": name,
                    "Active": active,
                    "EmployeeNumber": f"E{number:03d}",
                    "BillableTime": False,
                    "HiredDate": (self.setup_day - dt.timedelta(days=90 * number)).isoformat(),
                    "PrimaryPhone": {"FreeFormNumber": f"({area}) 555-{700 + number:04d}"},
                },
                day=self.setup_day,
            )

    def _address(self, index: int) -> Json:
        place = self.profile.place
        return {
            "Line1": f"{120 + 37 * index} {_STREETS[index % len(_STREETS)]}",
            "City": place.city,
            "CountrySubDivisionCode": place.state,
            "PostalCode": place.postal_code,
            "Country": "USA",
        }

    # -- streams -------------------------------------------------------------------------------------

    def schedule_streams(self) -> None:
        p = self.profile
        for index, bill_stream in enumerate(p.bills):
            self._schedule_bills(index, bill_stream)
        for index, spend_stream in enumerate(p.spending):
            self._schedule_spending(index, spend_stream)
        for index, invoice_stream in enumerate(p.invoices):
            self._schedule_invoices(index, invoice_stream)
        for index, sales_stream in enumerate(p.sales):
            self._schedule_sales(index, sales_stream)
        self._schedule_bank_routine()
        self._schedule_one_offs()

    def _schedule_bills(self, index: int, stream: BillStream) -> None:
        rng = self.rng("bill", index)
        first_number = rng.randrange(1000, 90000)
        term_name = self._vendor_terms[stream.vendor]
        term = self.book.terms[term_name] if term_name is not None else None

        def create(day: dt.date) -> None:
            cents = rng.randint(*stream.cents)
            parts = split(rng, cents, stream.accounts, stream.description)
            due = due_on(day, term)
            bill = self.book.bill(
                stream.vendor,
                txn_date=day,
                due_date=due,
                parts=parts,
                doc_number=self.book.doc_number(f"bill:{stream.vendor}", first_number),
                term=term_name,
            )
            pay_day = due + dt.timedelta(days=rng.randint(*stream.pay_after_due))
            if stream.on_pay_run:
                pay_day = next_weekday(pay_day, self.profile.pay_run_weekday)
            pay_day = business_day(max(pay_day, day + dt.timedelta(days=1)), self.today)
            if pay_day < self.today:
                self.pay_bill_on(pay_day, stream.vendor, bill, stream.card or CHECKING)

        for day in self.occurrences(stream.cadence):
            self.agenda.at(day, DOCUMENTS, create)

    def pay_bill_on(self, day: dt.date, vendor: str, bill: Json, account: str) -> None:
        key = (day, vendor, account)
        pending = self._pending_bills.get(key)
        if pending is not None:
            pending.append(bill)
            return
        self._pending_bills[key] = [bill]

        def pay(on: dt.date) -> None:
            self.book.pay_bills(vendor, on, self._pending_bills.pop(key), from_account=account)

        self.agenda.at(day, PAYMENTS, pay)

    def _schedule_spending(self, index: int, stream: SpendStream) -> None:
        rng = self.rng("spend", index)

        def create(day: dt.date) -> None:
            cents = rng.randint(*stream.cents)
            self.book.purchase(
                stream.payee,
                day,
                paid_from=stream.paid_from,
                parts=[(stream.account, cents, stream.description)],
                payment_type="Check" if stream.check else None,
                doc_number=self.book.doc_number("check", 4101) if stream.check else None,
            )

        for day in self.occurrences(stream.cadence):
            self.agenda.at(day, DOCUMENTS, create)

    def sale_parts(self, rng: random.Random, lines: tuple[SaleLine, ...]) -> list[tuple[str, int, int]]:
        parts: list[tuple[str, int, int]] = []
        for line in lines:
            qty = rng.randint(*line.qty)
            unit = rng.randint(*line.unit_cents) if line.unit_cents else self._list_prices[line.item]
            parts.append((line.item, qty, unit))
        return parts

    def _deposit_account(self, target: str) -> str:
        return UNDEPOSITED if target == "uf" else CHECKING

    def _schedule_invoices(self, index: int, stream: InvoiceStream) -> None:
        rng = self.rng("invoice", index)
        term_name = self._customer_terms[stream.customer]
        term = self.book.terms[term_name] if term_name is not None else None

        def create(day: dt.date) -> None:
            due = due_on(day, term)
            invoice = self.book.invoice(
                stream.customer,
                txn_date=day,
                due_date=due,
                parts=self.sale_parts(rng, stream.lines),
                term=term_name,
            )
            paid = due + dt.timedelta(days=rng.randint(*stream.pays_after_due))
            paid = business_day(max(paid, day), self.today)
            if paid < self.today:
                self.receive_on(paid, stream.customer, invoice, self._deposit_account(stream.deposit_to))

        for day in self.occurrences(stream.cadence):
            self.agenda.at(day, DOCUMENTS, create)

    def receive_on(self, day: dt.date, customer: str, invoice: Json, account: str) -> None:
        key = (day, customer, account)
        pending = self._pending_receipts.get(key)
        if pending is not None:
            pending.append(invoice)
            return
        self._pending_receipts[key] = [invoice]
        number = 1000 + int(invoice["Id"]) % 9000

        def receive(on: dt.date) -> None:
            self.book.receive_payment(
                customer,
                on,
                self._pending_receipts.pop(key),
                deposit_to=account,
                ref_num=str(number) if account == UNDEPOSITED else None,
            )

        self.agenda.at(day, PAYMENTS, receive)

    def _schedule_sales(self, index: int, stream: SalesStream) -> None:
        rng = self.rng("sales", index)

        def create(day: dt.date) -> None:
            self.book.sales_receipt(
                stream.customer,
                day,
                parts=self.sale_parts(rng, stream.lines),
                deposit_to=self._deposit_account(stream.deposit_to),
                memo=stream.memo,
            )

        for day in self.occurrences(stream.cadence):
            self.agenda.at(day, DOCUMENTS, create)

    def _schedule_bank_routine(self) -> None:
        p = self.profile
        day = self.first_day
        while day < self.today:
            if day.weekday() in p.deposit_weekdays:
                self.agenda.at(day, BANKING, self._sweep_undeposited)
            day += dt.timedelta(days=1)
        for payoff in self.occurrences(p.card_payoff):
            statement = payoff - dt.timedelta(days=STATEMENT_DAYS)
            self.agenda.at(statement, CLOSE_OF_DAY, self._cut_statement(payoff))
            self.agenda.at(payoff, BANKING, self._pay_card)
        rng = self.rng("interest", 0)
        interest_to = SAVINGS if p.savings_cents is not None else CHECKING

        def interest(on: dt.date) -> None:
            cents = rng.randint(*p.interest_cents)
            self.book.deposit(on, to_account=interest_to, other=[(INTEREST, cents, "Interest earned")])

        for on in self.occurrences(Cadence(30, lag=2)):
            self.agenda.at(on, BANKING, interest)

    def _sweep_undeposited(self, day: dt.date) -> None:
        moved = [
            key
            for key, (received, _) in self.book.undeposited.items()
            if received <= day and key not in self.lingering
        ]
        if moved:
            self.book.deposit(day, to_account=CHECKING, moved=moved)

    def _cut_statement(self, payoff: dt.date) -> Callable[[dt.date], None]:
        def cut(_: dt.date) -> None:
            self._statements[payoff] = self.book.card_owed[self.profile.card_account]

        return cut

    def _pay_card(self, day: dt.date) -> None:
        card = self.profile.card_account
        owed = self._statements.pop(day, 0)
        if owed <= 0:
            return
        self.book.purchase(
            self.profile.card_issuer,
            day,
            paid_from=CHECKING,
            parts=[(card, owed, "Card statement payment")],
            memo="Autopay",
        )
        self.book.card_owed[card] -= owed

    def _schedule_one_offs(self) -> None:
        p = self.profile
        refund = p.refund
        self.agenda.at(
            self.days_ago(refund.days_ago),
            DOCUMENTS,
            lambda day: self.book.purchase(
                refund.payee,
                day,
                paid_from=refund.paid_from,
                parts=[(refund.account, refund.cents, refund.description)],
                credit=True,
            ),
        )
        vendor_credit = p.vendor_credit
        self.agenda.at(
            self.days_ago(vendor_credit.days_ago),
            DOCUMENTS,
            lambda day: self.book.vendor_credit(
                vendor_credit.vendor,
                day,
                parts=[(vendor_credit.account, vendor_credit.cents, vendor_credit.description)],
            ),
        )
        memo = p.credit_memo
        self.agenda.at(
            self.days_ago(memo.days_ago),
            DOCUMENTS,
            lambda day: self.book.credit_memo(
                memo.customer, day, parts=[(memo.item, memo.qty, memo.unit_cents)]
            ),
        )
        loan = p.loan
        if loan is not None:
            self.agenda.at(
                self.days_ago(loan.days_ago),
                BANKING,
                lambda day: self.book.deposit(
                    day, to_account=CHECKING, other=[(loan.account, loan.cents, loan.memo)], payer=loan.lender
                ),
            )
        if p.employees:
            given, family, _ = p.employees[0]
            self.agenda.at(
                self.days_ago(52),
                DOCUMENTS,
                lambda day: self.book.purchase(
                    f"{given} {family}",
                    day,
                    paid_from=CHECKING,
                    parts=[("Supplies", 4_312, "Reimbursed: farmers market booth supplies")],
                    payment_type="Check",
                    payee_type="Employee",
                    doc_number=self.book.doc_number("check", 4101),
                ),
            )

    # -- the year ------------------------------------------------------------------------------------

    def run(self) -> None:
        self.agenda.run(self.first_day, self.today - dt.timedelta(days=1))

    def close(self) -> dict[str, list[Json]]:
        p = self.profile
        balances = {CHECKING: p.checking_cents}
        if p.savings_cents is not None:
            balances[SAVINGS] = p.savings_cents
        return self.book.close(balances)


def split(
    rng: random.Random, cents: int, accounts: tuple[str, ...], description: str
) -> list[tuple[str, int, str]]:
    """Spread an amount over expense accounts in random shares that add up exactly."""
    if len(accounts) == 1:
        return [(accounts[0], cents, description)]
    weights = [rng.randint(1, 4) for _ in accounts]
    shares = [cents * weight // sum(weights) for weight in weights]
    shares[-1] += cents - sum(shares)
    return [(account, share, description) for account, share in zip(accounts, shares, strict=True)]
