"""Domain (QBO demo): the public entry points — one demo company, all five, or a large one for benchmarks."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domains.qbo.demo import messy
from domains.qbo.demo.book import CHECKING, Json, pacific_offset
from domains.qbo.demo.history import History
from domains.qbo.demo.profiles import MON, PROFILES, THU, TUE, VISA, WED
from domains.qbo.demo.specs import (
    BillStream,
    Cadence,
    CreditMemoSpec,
    CustomerSpec,
    InvoiceStream,
    ItemSpec,
    Place,
    Profile,
    Refund,
    SaleLine,
    SalesStream,
    SpendStream,
    VendorCreditSpec,
    VendorSpec,
)
from domains.qbo.sandbox import SandboxStorage, seed_company

# Which profile each company of the demo firm (and the demo owner) gets, in the order they are listed.
DEMO_PROFILES: dict[str, str] = {
    "Maple Street Bakery": "healthy",
    "Tidewater Design Studio": "tight",
    "Ironclad Fabrication": "in_trouble",
    "Brightside Landscaping": "messy",
    "Copper Kettle Cafe": "cafe",
}


@dataclass(frozen=True)
class DemoCompany:
    """One generated QBO company: its documents as QBO JSON, keyed by entity name ("Bill", "Invoice"...).

    Amounts are `Decimal`, dates "YYYY-MM-DD", Ids strings of digits unique per entity type.
    `company_info` and `preferences` are the CompanyInfo and Preferences documents.
    """

    name: str
    profile: str
    entities: dict[str, list[dict[str, Any]]]
    company_info: dict[str, Any]
    preferences: dict[str, Any]

    @property
    def entity_count(self) -> int:
        return sum(len(docs) for docs in self.entities.values())


def generate_company(profile: str, *, today: dt.date, seed: int = 0) -> DemoCompany:
    """A year of QBO documents for one demo profile, ending the day before `today`.

    Profiles: healthy, tight, in_trouble, messy, cafe. The same arguments always give the same output.
    """
    spec = PROFILES.get(profile)
    if spec is None:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown demo profile {profile!r}; expected one of {known}")
    return _build(spec, today=today, seed=seed)


def demo_companies(today: dt.date, *, seed: int = 0) -> list[DemoCompany]:
    """The four clients of the demo firm and the demo owner's cafe, in `DEMO_PROFILES` order."""
    return [generate_company(profile, today=today, seed=seed) for profile in DEMO_PROFILES.values()]


async def seed_demo_company(
    storage: SandboxStorage, company: DemoCompany, *, realm_id: str | None = None
) -> str:
    """Load a generated company into the QBO sandbox; returns its realm id."""
    return await seed_company(
        storage,
        company.name,
        company.entities,
        company_info=company.company_info,
        preferences=company.preferences,
        realm_id=realm_id,
    )


def generate_large_company(n_entities: int, *, today: dt.date, seed: int = 0) -> DemoCompany:
    """A wholesale distributor with about `n_entities` documents, for benchmarks (within 3% from 2,000 up).

    Mostly bills, invoices and their payments: each vendor sends and each customer receives one document
    a week, so the counts grow by adding parties rather than by crowding the calendar.
    """
    if n_entities < 1_000:
        raise ValueError("a large company has at least 1,000 entities; use generate_company for small ones")
    return _build(_large_profile(n_entities), today=today, seed=seed)


def _build(spec: Profile, *, today: dt.date, seed: int) -> DemoCompany:
    history = History(spec, today=today, seed=seed)
    history.setup()
    history.schedule_streams()
    if spec.messy_books:
        messy.add_problems(history)
    history.run()
    entities = history.close()
    return DemoCompany(
        name=spec.name,
        profile=spec.key,
        entities=entities,
        company_info=_company_info(spec, today),
        preferences=_preferences(history),
    )


def _stamp(day: dt.date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00{pacific_offset(day)}"


def _meta(created: dt.date, updated: dt.date) -> Json:
    return {"CreateTime": _stamp(created, 9), "LastUpdatedTime": _stamp(updated, 9)}


def _company_info(spec: Profile, today: dt.date) -> Json:
    years, month = spec.started
    started = dt.date(today.year - years, month, 1)
    place = spec.place
    address = {
        "Id": "1",
        "Line1": place.street,
        "City": place.city,
        "CountrySubDivisionCode": place.state,
        "PostalCode": place.postal_code,
        "Country": "USA",
    }
    return {
        "Id": "1",
        "SyncToken": "0",
        "MetaData": _meta(started, today - dt.timedelta(days=30)),
        "domain": "QBO",
        "sparse": False,
        "CompanyName": spec.name,
        "LegalName": spec.legal_name,
        "CompanyAddr": address,
        "CustomerCommunicationAddr": dict(address),
        "LegalAddr": dict(address),
        "PrimaryPhone": {"FreeFormNumber": f"({place.area_code}) 555-0100"},
        "CompanyStartDate": started.isoformat(),
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": {"Address": f"books@{spec.web}"},
        "WebAddr": {"URI": f"https://www.{spec.web}"},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Small business"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "SubscriptionStatus", "Value": "PAID"},
            {"Name": "PayrollFeature", "Value": "false"},
            {"Name": "AccountantFeature", "Value": "false"},
        ],
    }


def _preferences(history: History) -> Json:
    terms = history.book.terms
    return {
        "Id": "1",
        "SyncToken": "0",
        "MetaData": _meta(history.setup_day, history.setup_day),
        "domain": "QBO",
        "sparse": False,
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "CustomerTerminology": "Customers",
            "BookCloseDate": (history.first_day - dt.timedelta(days=1)).isoformat(),
        },
        "SalesFormsPrefs": {
            "AllowDeposit": True,
            "AllowDiscount": True,
            "AllowShipping": False,
            "DefaultTerms": {"value": terms["Net 30"]["Id"]},
            "AutoApplyCredit": True,
        },
        "VendorAndPurchasesPrefs": {
            "TrackingByCustomer": True,
            "BillableExpenseTracking": True,
            "DefaultTerms": {"value": terms["Net 30"]["Id"]},
        },
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "TaxPrefs": {"UsingSalesTax": False},
    }


# -- the benchmark company ---------------------------------------------------------------------------

_FIRST = (
    "North",
    "Summit",
    "Harbor",
    "Cedar",
    "Granite",
    "Pioneer",
    "Lakeside",
    "Redwood",
    "Golden",
    "Valley",
)
_SECOND = ("Supply", "Foods", "Industrial", "Hardware", "Provisions", "Trading", "Outfitters", "Works")
_VENDOR_KIND = ("Co.", "Inc.", "LLC", "Partners", "Group")
_CUSTOMER_KIND = ("Market", "Kitchen", "Depot", "Store", "Exchange")
_PER_PARTY = 96
_FIXED_ENTITIES = 260


def _names(count: int, kinds: Sequence[str]) -> list[str]:
    names: list[str] = []
    for number in itertools.count(1):
        for first, second, kind in itertools.product(_FIRST, _SECOND, kinds):
            if len(names) == count:
                return names
            names.append(f"{first} {second} {kind}" if number == 1 else f"{first} {second} {kind} {number}")
    return names


def _large_profile(n_entities: int) -> Profile:
    parties = max(2, (n_entities - _FIXED_ENTITIES) // _PER_PARTY)
    vendor_names = _names(parties // 2, _VENDOR_KIND)
    customer_names = _names(parties - parties // 2, _CUSTOMER_KIND)
    vendor_terms = ("Net 15", "Net 30", "2% 10 Net 30")
    customer_terms = ("Net 15", "Net 30", "Due on receipt")
    vendors = [VendorSpec(name, vendor_terms[i % 3]) for i, name in enumerate(vendor_names)]
    customers = [CustomerSpec(name, customer_terms[i % 3]) for i, name in enumerate(customer_names)]
    weekdays = (MON, TUE, WED, THU)
    bills = tuple(
        BillStream(
            name,
            Cadence(7, weekday=weekdays[i % 4]),
            (20_000, 400_000),
            ("Cost of Goods Sold",),
            "Stock replenishment",
            (-1, 3),
        )
        for i, name in enumerate(vendor_names)
    )
    invoices = tuple(
        InvoiceStream(
            name,
            Cadence(7, weekday=weekdays[(i + 1) % 4]),
            (SaleLine("Wholesale Case", (10, 120)),),
            (i % 15 - 2, i % 15 + 6),
            "uf" if i % 10 == 0 else "bank",
        )
        for i, name in enumerate(customer_names)
    )
    fixed_vendors = [
        VendorSpec("ADP Payroll"),
        VendorSpec("Dockside Warehouse LLC"),
        VendorSpec("Chase Card Services"),
    ]
    return Profile(
        key="large",
        name="Northgate Wholesale Distributors",
        legal_name="Northgate Wholesale Distributors Inc.",
        place=Place("5000 Harbor Boulevard", "Oakland", "CA", "94607", "510"),
        web="northgatewholesale.example",
        started=(15, 1),
        checking_cents=25_000_000 + 150_000 * parties,
        card_account=VISA,
        card_issuer="Chase Card Services",
        income_accounts=("Wholesale Sales",),
        items=(
            ItemSpec("Wholesale Case", 2_450, "Wholesale Sales", "Mixed case, wholesale", "NonInventory"),
        ),
        vendors=(*fixed_vendors, *vendors),
        customers=(*customers, CustomerSpec("Cash Customers", email=False)),
        bills=bills,
        spending=(
            SpendStream(
                "ADP Payroll",
                Cadence(7, weekday=THU),
                (40_000 * parties, 44_000 * parties),
                "Payroll Expenses",
                CHECKING,
                "Weekly payroll",
            ),
            SpendStream(
                "Dockside Warehouse LLC",
                Cadence(30, lag=3),
                (2_400_000, 2_400_000),
                "Rent or Lease",
                CHECKING,
                "Warehouse rent",
                check=True,
            ),
        ),
        invoices=invoices,
        sales=(
            SalesStream(
                "Cash Customers",
                Cadence(7, weekday=MON),
                (SaleLine("Wholesale Case", (40, 90)),),
                "uf",
                "Will-call sales",
            ),
        ),
        refund=Refund("Dockside Warehouse LLC", 20, 35_000, "Rent or Lease", CHECKING, "Deposit refund"),
        vendor_credit=VendorCreditSpec(vendor_names[0], 15, 12_500, "Cost of Goods Sold", "Short shipment"),
        credit_memo=CreditMemoSpec(customer_names[0], 12, "Wholesale Case", 2, 2_450),
        pay_run_weekday=WED,
        deposit_weekdays=(MON, THU),
        card_payoff=Cadence(30, lag=12),
        interest_cents=(2_000, 6_000),
    )
