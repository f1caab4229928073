"""Demo companies (domains/qbo/demo): deterministic QBO JSON that maps, seeds and tells its runway story."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from domains.qbo.demo import (
    DEMO_PROFILES,
    DemoCompany,
    demo_companies,
    generate_company,
    generate_large_company,
    seed_demo_company,
)
from domains.qbo.mappers import MAPPERS, map_company_info, map_preferences
from domains.qbo.sandbox import SandboxConfig, create_sandbox_app, sandbox_of
from domains.qbo.sandbox.codec import dumps
from domains.synced import EntityRow
from runway.services.calculators import (
    DEFAULT_RULES,
    AccountSnap,
    BillPaymentSnap,
    BillSnap,
    BusinessSnapshot,
    CreditMemoSnap,
    CustomerSnap,
    DataQualityCalculator,
    DepositLineSnap,
    DepositSnap,
    InvoiceSnap,
    LineSnap,
    PaymentSnap,
    PurchaseSnap,
    RunwayCalculator,
    SalesReceiptSnap,
    TermSnap,
    VendorCreditSnap,
    VendorSnap,
)
from runway.services.experiences.account_admin import DEMO_CLIENTS, DEMO_OWNED_BUSINESS

TODAY = dt.date(2026, 11, 27)
PROFILES = ("healthy", "tight", "in_trouble", "messy", "cafe")
UNSYNCED = ("Item", "Employee")


@functools.cache
def company(profile: str, today: dt.date = TODAY, seed: int = 0) -> DemoCompany:
    return generate_company(profile, today=today, seed=seed)


def docs(c: DemoCompany, entity: str) -> list[dict[str, Any]]:
    return c.entities.get(entity, [])


def cents(value: Decimal) -> int:
    assert isinstance(value, Decimal), value
    return int(value * 100)


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def linked(doc: dict[str, Any], txn_type: str) -> list[str]:
    return [
        link["TxnId"]
        for line in doc.get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link["TxnType"] == txn_type
    ]


# -- the demo line-up --------------------------------------------------------------------------------


def test_demo_companies_are_the_demo_firms_clients_and_the_owners_cafe() -> None:
    companies = demo_companies(TODAY)

    assert [c.name for c in companies] == [*DEMO_CLIENTS, DEMO_OWNED_BUSINESS]
    assert [c.profile for c in companies] == ["healthy", "tight", "in_trouble", "messy", "cafe"]
    assert {c.name: c.profile for c in companies} == DEMO_PROFILES
    assert all(c.company_info["CompanyName"] == c.name for c in companies)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown demo profile"):
        generate_company("bankrupt", today=TODAY)


def test_sizes_stay_small_enough_to_seed_and_sync_in_seconds() -> None:
    counts = {p: company(p).entity_count for p in PROFILES}

    assert all(300 <= n <= 1_000 for n in counts.values()), counts
    assert counts["cafe"] == min(counts.values())


# -- determinism -------------------------------------------------------------------------------------


def test_same_inputs_give_byte_identical_output() -> None:
    first = generate_company("messy", today=TODAY, seed=3)
    second = generate_company("messy", today=TODAY, seed=3)

    assert first == second
    assert dumps(first.entities) == dumps(second.entities)
    assert dumps([first.company_info, first.preferences]) == dumps([second.company_info, second.preferences])


def test_another_seed_draws_other_amounts_for_the_same_company() -> None:
    base, other = company("tight"), company("tight", seed=7)

    assert dumps(base.entities) != dumps(other.entities)
    assert base.name == other.name
    assert set(base.entities) == set(other.entities)


def test_moving_today_moves_the_whole_history() -> None:
    later = TODAY + dt.timedelta(days=28)
    before, after = company("healthy"), company("healthy", later)

    def shape(c: DemoCompany, today: dt.date) -> list[tuple[int, Decimal]]:
        return sorted(
            (dt.date.fromisoformat(i["TxnDate"]).toordinal() - today.toordinal(), i["TotalAmt"])
            for i in docs(c, "Invoice")
        )

    assert shape(before, TODAY) == shape(after, later)
    for c, today in ((before, TODAY), (after, later)):
        dates = [
            dt.date.fromisoformat(value) for path, value in walk(c.entities) if path.endswith(".TxnDate")
        ]
        assert min(dates) >= today - dt.timedelta(days=366)
        assert max(dates) < today


# -- QBO shapes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_no_float_anywhere(profile: str) -> None:
    c = company(profile)
    allowed = (dict, list, str, bool, int, Decimal, type(None))

    for path, value in walk({"entities": c.entities, "info": c.company_info, "prefs": c.preferences}):
        assert isinstance(value, allowed), path
        assert not isinstance(value, float), path


@pytest.mark.parametrize("profile", PROFILES)
def test_every_entity_maps_without_error(profile: str) -> None:
    c = company(profile)

    for entity, items in c.entities.items():
        if entity in UNSYNCED:
            continue
        mapper = MAPPERS[entity]
        for doc in items:
            mapper(doc, home_currency="USD")
    assert map_company_info(c.company_info).company_name == c.name
    assert map_preferences(c.preferences).home_currency == "USD"


def test_one_company_carries_entity_types_runway_does_not_sync() -> None:
    bakery = company("healthy")

    for entity in UNSYNCED:
        assert entity not in MAPPERS
        assert docs(bakery, entity)


@pytest.mark.parametrize("profile", PROFILES)
def test_ids_tokens_and_timestamps_look_like_qbo(profile: str) -> None:
    c = company(profile)

    for entity, items in c.entities.items():
        ids = [doc["Id"] for doc in items]
        assert len(ids) == len(set(ids)), entity
        for doc in items:
            assert doc["Id"].isdigit()
            assert doc["SyncToken"].isdigit()
            created, updated = (
                dt.datetime.fromisoformat(doc["MetaData"][key]) for key in ("CreateTime", "LastUpdatedTime")
            )
            assert {created.utcoffset(), updated.utcoffset()} <= {
                dt.timedelta(hours=-7),
                dt.timedelta(hours=-8),
            }
            assert created <= updated < dt.datetime.combine(TODAY, dt.time(), tzinfo=dt.UTC)
            assert (doc["SyncToken"] == "0") == (created == updated)


@pytest.mark.parametrize("profile", PROFILES)
def test_each_company_has_the_accounts_terms_and_parties_runway_needs(profile: str) -> None:
    c = company(profile)
    accounts = docs(c, "Account")
    by_type = defaultdict(list)
    for account in accounts:
        by_type[account["AccountType"]].append(account)
    terms = {t["Name"]: t for t in docs(c, "Term")}
    vendors, customers = docs(c, "Vendor"), docs(c, "Customer")

    assert any(a["AccountSubType"] == "Checking" and cents(a["CurrentBalance"]) > 0 for a in by_type["Bank"])
    for account_type in ("Credit Card", "Accounts Payable", "Accounts Receivable", "Income", "Expense"):
        assert by_type[account_type], account_type
    assert any(a["AccountSubType"] == "UndepositedFunds" for a in accounts)
    assert any(a["Name"] == "Uncategorized Expense" for a in accounts)
    assert {"Net 15", "Net 30", "Due on receipt", "2% 10 Net 30"} <= set(terms)
    early = terms["2% 10 Net 30"]
    assert early["DiscountPercent"] == Decimal(2)
    assert early["DiscountDays"] == 10
    assert any(t["Type"] == "DATE_DRIVEN" and "DueDays" not in t for t in terms.values())
    assert any("TermRef" in v for v in vendors)
    assert any("TermRef" not in v for v in vendors)
    assert any(v["Active"] is False for v in vendors)
    assert any("SalesTermRef" in cu for cu in customers)
    assert len(docs(c, "VendorCredit")) == 1
    assert len(docs(c, "CreditMemo")) == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_money_moves_the_ways_runway_reads(profile: str) -> None:
    c = company(profile)
    bank = {a["Id"] for a in docs(c, "Account") if a["AccountType"] == "Bank"}
    card = {a["Id"] for a in docs(c, "Account") if a["AccountType"] == "Credit Card"}
    undeposited = {a["Id"] for a in docs(c, "Account") if a["AccountSubType"] == "UndepositedFunds"}
    bills, invoices = docs(c, "Bill"), docs(c, "Invoice")
    purchases, payments = docs(c, "Purchase"), docs(c, "Payment")

    for items in (bills, invoices):
        assert any(doc["Balance"] == 0 for doc in items)
        assert any(doc["Balance"] > 0 for doc in items)
    assert any(
        i["Balance"] > 0 and dt.date.fromisoformat(i["DueDate"]) < TODAY for i in invoices if "DueDate" in i
    )
    assert {p["DepositToAccountRef"]["value"] for p in payments} & bank
    assert {p["DepositToAccountRef"]["value"] for p in payments} & undeposited
    assert any(p["AccountRef"]["value"] in bank for p in purchases)
    assert any(p["AccountRef"]["value"] in card for p in purchases)
    assert sum(1 for p in purchases if p.get("Credit") is True) == 1
    deposit_lines = [line for d in docs(c, "Deposit") for line in d["Line"]]
    assert any("LinkedTxn" in line for line in deposit_lines)
    assert any("DepositLineDetail" in line for line in deposit_lines)
    for d in docs(c, "Deposit"):
        assert d["DepositToAccountRef"]["value"] in bank
    bill_payments = docs(c, "BillPayment")
    assert all(
        bp["CheckPayment"]["BankAccountRef"]["value"] in bank
        for bp in bill_payments
        if bp["PayType"] == "Check"
    )


def test_sales_receipts_go_to_the_bank_and_to_undeposited_funds() -> None:
    bakery = company("healthy")
    targets = {a["Id"]: a["AccountType"] for a in docs(bakery, "Account")}

    kinds = {targets[r["DepositToAccountRef"]["value"]] for r in docs(bakery, "SalesReceipt")}

    assert kinds == {"Bank", "Other Current Asset"}


# -- internal consistency ----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_lines_add_up_to_totals_except_the_deliberate_mismatch(profile: str) -> None:
    c = company(profile)
    mismatched = []

    for entity in ("Bill", "Purchase", "VendorCredit", "Deposit"):
        for doc in docs(c, entity):
            if sum(cents(line["Amount"]) for line in doc["Line"]) != cents(doc["TotalAmt"]):
                mismatched.append((entity, doc["Id"]))
    for entity in ("Invoice", "SalesReceipt", "CreditMemo"):
        for doc in docs(c, entity):
            items = [line for line in doc["Line"] if line["DetailType"] == "SalesItemLineDetail"]
            assert sum(cents(line["Amount"]) for line in items) == cents(doc["TotalAmt"]), (entity, doc["Id"])
            for line in items:
                detail = line["SalesItemLineDetail"]
                assert detail["Qty"] * detail["UnitPrice"] == line["Amount"]

    assert len(mismatched) == (1 if profile == "messy" else 0), mismatched
    assert all(entity == "Bill" for entity, _ in mismatched)


@pytest.mark.parametrize("profile", PROFILES)
def test_every_paid_bill_and_invoice_is_linked_by_a_payment(profile: str) -> None:
    c = company(profile)
    bill_payments = {bp["Id"]: bp for bp in docs(c, "BillPayment")}
    payments = {p["Id"]: p for p in docs(c, "Payment")}
    paying_bills = {bill_id: bp_id for bp_id, bp in bill_payments.items() for bill_id in linked(bp, "Bill")}
    paying_invoices = {inv_id: p_id for p_id, p in payments.items() for inv_id in linked(p, "Invoice")}

    for bill in docs(c, "Bill"):
        if bill["Balance"] == 0:
            payment = bill_payments[paying_bills[bill["Id"]]]
            assert [link["TxnId"] for link in bill["LinkedTxn"]] == [payment["Id"]]
            assert bill["LinkedTxn"][0]["TxnType"] in ("BillPaymentCheck", "BillPaymentCreditCard")
            assert payment["VendorRef"] == bill["VendorRef"]
            assert payment["TxnDate"] >= bill["TxnDate"]
        else:
            assert bill["Id"] not in paying_bills
            assert "LinkedTxn" not in bill
    for invoice in docs(c, "Invoice"):
        if invoice["Balance"] == 0:
            payment = payments[paying_invoices[invoice["Id"]]]
            assert invoice["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
            assert payment["CustomerRef"] == invoice["CustomerRef"]
            assert payment["TxnDate"] >= invoice["TxnDate"]
        else:
            assert invoice["Id"] not in paying_invoices
    for bp in bill_payments.values():
        assert sum(cents(line["Amount"]) for line in bp["Line"]) == cents(bp["TotalAmt"])
    for p in payments.values():
        applied = sum(cents(line["Amount"]) for line in p["Line"])
        assert applied + cents(p["UnappliedAmt"]) == cents(p["TotalAmt"])


@pytest.mark.parametrize("profile", PROFILES)
def test_deposits_move_each_undeposited_receipt_at_most_once(profile: str) -> None:
    c = company(profile)
    undeposited = next(a["Id"] for a in docs(c, "Account") if a["AccountSubType"] == "UndepositedFunds")
    waiting = {
        (entity, doc["Id"]): cents(doc["TotalAmt"])
        for entity in ("Payment", "SalesReceipt")
        for doc in docs(c, entity)
        if doc["DepositToAccountRef"]["value"] == undeposited
    }
    moved = Counter(
        (link["TxnType"], link["TxnId"])
        for d in docs(c, "Deposit")
        for line in d["Line"]
        for link in line.get("LinkedTxn", [])
    )

    assert set(moved) <= set(waiting)
    assert max(moved.values()) == 1
    left = sum(amount for key, amount in waiting.items() if key not in moved)
    balance = next(a["CurrentBalance"] for a in docs(c, "Account") if a["Id"] == undeposited)
    assert cents(balance) == left


@pytest.mark.parametrize("profile", PROFILES)
def test_bank_balances_are_consistent_with_a_years_activity(profile: str) -> None:
    c = company(profile)
    banks = {a["Id"]: cents(a["CurrentBalance"]) for a in docs(c, "Account") if a["AccountType"] == "Bank"}
    flow: Counter[str] = Counter()
    for entity in ("Payment", "SalesReceipt", "Deposit"):
        for doc in docs(c, entity):
            flow[doc["DepositToAccountRef"]["value"]] += cents(doc["TotalAmt"])
    for p in docs(c, "Purchase"):
        flow[p["AccountRef"]["value"]] += cents(p["TotalAmt"]) * (1 if p.get("Credit") else -1)
    for bp in docs(c, "BillPayment"):
        if bp["PayType"] == "Check":
            flow[bp["CheckPayment"]["BankAccountRef"]["value"]] -= cents(bp["TotalAmt"])

    for account_id, balance in banks.items():
        opening = balance - flow[account_id]
        # A year ago each account held a plausible positive balance that this activity turns into today's.
        assert 0 < opening < 4 * balance + 20_000_00, (account_id, opening, balance)


# -- the QBO sandbox ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_sandbox_accepts_every_company_as_generated() -> None:
    sandbox = sandbox_of(create_sandbox_app(SandboxConfig(database_url="sqlite+aiosqlite:///:memory:")))
    try:
        for c in demo_companies(TODAY):
            realm_id = await seed_demo_company(sandbox.storage, c)
            async with sandbox.storage.read() as tx:
                assert await tx.entity_types(realm_id) >= set(c.entities)
                for entity, items in c.entities.items():
                    stored = {row.id: row.doc for row in await tx.select(realm_id, entity)}
                    assert len(stored) == len(items), entity
                    for doc in items[:25]:
                        assert stored[int(doc["Id"])] == doc, (entity, doc["Id"])
    finally:
        await sandbox.stop()


# -- the runway story (PRODUCT §3, §4) ---------------------------------------------------------------


def _rows(c: DemoCompany, entity: str) -> list[EntityRow]:
    return [MAPPERS[entity](doc, home_currency="USD") for doc in docs(c, entity)]


def _lines(row: EntityRow) -> tuple[LineSnap, ...]:
    return tuple(
        LineSnap(
            line["amount_cents"], line["detail_type"] or "", line["account_qbo_id"], line["account_name"]
        )
        for line in row.lines
    )


def _links(row: EntityRow, txn_type: str) -> tuple[str, ...]:
    return tuple(line["linked_txn_id"] for line in row.lines if line["linked_txn_type"] == txn_type)


def _open_item(v: Any) -> dict[str, Any]:
    keys = (
        "qbo_id",
        "txn_date",
        "due_date",
        "total_cents",
        "balance_cents",
        "sales_term_qbo_id",
        "doc_number",
    )
    return {key: v[key] for key in (*keys, "total_tax_cents")}


def snapshot_of(c: DemoCompany, today: dt.date) -> BusinessSnapshot:
    """The snapshot an orchestrator would build after syncing `c`, made from the mapped rows."""
    at = dt.datetime.combine(today, dt.time(7), tzinfo=dt.UTC)
    return BusinessSnapshot(
        business_name=c.name,
        home_currency="USD",
        snapshot_at=at,
        last_successful_sync_at=at,
        realm_id="9130",
        accounts=tuple(
            AccountSnap(
                qbo_id=v["qbo_id"],
                name=v["name"],
                account_type=v["account_type"],
                account_sub_type=v["account_sub_type"],
                current_balance_cents=v["current_balance_cents"],
                active=v["active"],
            )
            for v in (r.values for r in _rows(c, "Account"))
        ),
        terms=tuple(
            TermSnap(
                qbo_id=v["qbo_id"],
                name=v["name"],
                due_days=v["due_days"],
                discount_percent=Decimal(v["discount_percent"]) if v["discount_percent"] else None,
                discount_days=v["discount_days"],
                active=v["active"],
            )
            for v in (r.values for r in _rows(c, "Term"))
        ),
        vendors=tuple(
            VendorSnap(
                qbo_id=v["qbo_id"],
                display_name=v["display_name"],
                term_qbo_id=v["term_qbo_id"],
                active=v["active"],
            )
            for v in (r.values for r in _rows(c, "Vendor"))
        ),
        customers=tuple(
            CustomerSnap(
                qbo_id=v["qbo_id"],
                display_name=v["display_name"],
                sales_term_qbo_id=v["sales_term_qbo_id"],
                active=v["active"],
            )
            for v in (r.values for r in _rows(c, "Customer"))
        ),
        bills=tuple(
            BillSnap(vendor_qbo_id=r.values["vendor_qbo_id"], lines=_lines(r), **_open_item(r.values))
            for r in _rows(c, "Bill")
        ),
        invoices=tuple(
            InvoiceSnap(customer_qbo_id=r.values["customer_qbo_id"], **_open_item(r.values))
            for r in _rows(c, "Invoice")
        ),
        payments=tuple(
            PaymentSnap(
                qbo_id=r.values["qbo_id"],
                customer_qbo_id=r.values["customer_qbo_id"],
                txn_date=r.values["txn_date"],
                total_cents=r.values["total_cents"],
                unapplied_cents=r.values["unapplied_cents"],
                deposit_to_account_qbo_id=r.values["deposit_to_account_qbo_id"],
                linked_invoice_ids=_links(r, "Invoice"),
            )
            for r in _rows(c, "Payment")
        ),
        bill_payments=tuple(
            BillPaymentSnap(
                qbo_id=r.values["qbo_id"],
                vendor_qbo_id=r.values["vendor_qbo_id"],
                txn_date=r.values["txn_date"],
                total_cents=r.values["total_cents"],
                paid_from_account_qbo_id=r.values["pay_from_account_qbo_id"],
                linked_bill_ids=_links(r, "Bill"),
            )
            for r in _rows(c, "BillPayment")
        ),
        purchases=tuple(
            PurchaseSnap(
                qbo_id=r.values["qbo_id"],
                txn_date=r.values["txn_date"],
                total_cents=r.values["total_cents"],
                account_qbo_id=r.values["account_qbo_id"],
                entity_qbo_id=r.values["entity_qbo_id"],
                entity_type=r.values["entity_type"],
                credit=r.values["credit"],
                lines=_lines(r),
            )
            for r in _rows(c, "Purchase")
        ),
        deposits=tuple(
            DepositSnap(
                qbo_id=r.values["qbo_id"],
                txn_date=r.values["txn_date"],
                deposit_to_account_qbo_id=r.values["deposit_to_account_qbo_id"],
                lines=tuple(
                    DepositLineSnap(line["amount_cents"], line["linked_txn_type"], line["linked_txn_id"])
                    for line in r.lines
                ),
            )
            for r in _rows(c, "Deposit")
        ),
        sales_receipts=tuple(
            SalesReceiptSnap(
                qbo_id=r.values["qbo_id"],
                txn_date=r.values["txn_date"],
                total_cents=r.values["total_cents"],
                deposit_to_account_qbo_id=r.values["deposit_to_account_qbo_id"],
                customer_qbo_id=r.values["customer_qbo_id"],
            )
            for r in _rows(c, "SalesReceipt")
        ),
        vendor_credits=tuple(
            VendorCreditSnap(
                qbo_id=r.values["qbo_id"],
                txn_date=r.values["txn_date"],
                total_cents=r.values["total_cents"],
                balance_cents=r.values["balance_cents"],
                vendor_qbo_id=r.values["vendor_qbo_id"],
            )
            for r in _rows(c, "VendorCredit")
        ),
        credit_memos=tuple(
            CreditMemoSnap(
                qbo_id=r.values["qbo_id"],
                txn_date=r.values["txn_date"],
                total_cents=r.values["total_cents"],
                balance_cents=r.values["balance_cents"],
                customer_qbo_id=r.values["customer_qbo_id"],
            )
            for r in _rows(c, "CreditMemo")
        ),
    )


# Runway days each profile must land in (PRODUCT §3 statuses: red < 28, amber 28-56, green > 56).
RUNWAY_DAYS = {
    "healthy": (57, None),
    "tight": (28, 56),
    "in_trouble": (7, 27),
    "messy": (57, None),
    "cafe": (57, None),
}
STATUS = {"healthy": "green", "tight": "amber", "in_trouble": "red", "messy": "green", "cafe": "green"}


# The history is laid out from `today`, so only the weekday moves the numbers; the narrow bands get all seven.
WEEKDAYS = {"tight": range(7), "in_trouble": range(7)}


@functools.cache
def snapshot_on(profile: str, today: dt.date) -> BusinessSnapshot:
    return snapshot_of(company(profile, today), today)


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_tells_its_runway_story_whatever_the_weekday(profile: str) -> None:
    low, high = RUNWAY_DAYS[profile]

    for offset in WEEKDAYS.get(profile, (0, 3)):
        today = TODAY + dt.timedelta(days=offset)
        result = RunwayCalculator().calculate(snapshot_on(profile, today), today)
        runway = result.runway

        assert runway.status == STATUS[profile], (today, runway)
        if runway.days is not None:
            assert runway.days >= low, (today, runway)
            assert high is None or runway.days <= high, (today, runway)
        if profile in ("healthy", "cafe"):
            assert runway.not_burning or (runway.days is not None and runway.days > 13 * 7), (today, runway)
        if profile == "in_trouble":
            overdue = [e for e in result.events if e.kind == "bill" and e.effective_due_date < today]
            assert sum(e.amount_cents for e in overdue) > result.cash_now_cents // 4


def test_the_messy_books_trip_every_hygiene_rule_and_the_others_none() -> None:
    expected = {rule.rule_id for rule in DEFAULT_RULES} - {"sync_stale"}
    found = {
        profile: Counter(i.rule for i in DataQualityCalculator().issues(snapshot_on(profile, TODAY), TODAY))
        for profile in PROFILES
    }

    assert set(found["messy"]) == expected
    assert {profile: rules for profile, rules in found.items() if rules and profile != "messy"} == {}


# -- the benchmark company ---------------------------------------------------------------------------


def test_a_large_company_scales_with_mostly_bills_invoices_and_payments() -> None:
    big = generate_large_company(5_000, today=TODAY)
    counts = Counter({entity: len(items) for entity, items in big.entities.items()})
    busy = counts["Bill"] + counts["Invoice"] + counts["Payment"] + counts["BillPayment"]

    assert 4_750 <= big.entity_count <= 5_250
    assert busy > 0.85 * big.entity_count
    for entity, items in big.entities.items():
        assert len({doc["Id"] for doc in items}) == len(items), entity
    assert big == generate_large_company(5_000, today=TODAY)
    with pytest.raises(ValueError, match="at least 1,000"):
        generate_large_company(999, today=TODAY)
