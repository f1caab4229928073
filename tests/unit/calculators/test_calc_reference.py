"""The calculators agree with plain restatements of PRODUCT §3-§4 on generated data full of ties.

The calculators take shortcuts for large books (choosing the latest 12 paid invoices without ranking
all of them, grouping bills only for vendors with a repeated number or total, reading the bank tables
once for the baseline and both burns). Each test here states the rule the slow, obvious way and checks
that the shortcut gives the same answer on data built to hit the edge cases: equal payment dates at the
12th place, Ids that compare equal as integers, numbers that differ only by spaces, equal totals in two
currencies, rows on the window bounds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from calc_factories import (
    BANK_ID,
    account,
    bank,
    bill,
    bill_payment,
    customer,
    d,
    deposit,
    dline,
    invoice,
    payment,
    purchase,
    sales_receipt,
    snapshot,
    term,
    vendor,
)
from hypothesis import given
from hypothesis import strategies as st
from test_calc_properties import PROPERTY_SETTINGS

from runway.services.calculators import (
    DEFAULT_RULES,
    DataQualityCalculator,
    RuleRegistry,
    RunwayCalculator,
    typical_lateness_by_customer,
)
from runway.services.calculators.arithmetic import div_round_half_away, monday_of, qbo_id_key
from runway.services.calculators.runway_calculator import effective_due_basis

AS_OF = d("2025-03-05")

# Ids that tie as integers ("7", "07", " 7") and one that is not a number.
IDS = ["7", "07", " 7", "12", "100", "X9"]


def _reference_lateness(snap, as_of):
    """PRODUCT §3 typical lateness, ranking every paid invoice of every customer."""
    latest: dict[str, dt.date] = {}
    for pay in snap.payments:
        if pay.txn_date <= as_of:
            for invoice_id in pay.linked_invoice_ids:
                latest[invoice_id] = max(latest.get(invoice_id, pay.txn_date), pay.txn_date)
    rows_by_customer = defaultdict(list)
    for inv in snap.invoices:
        if inv.balance_cents == 0 and inv.qbo_id in latest:
            rows_by_customer[inv.customer_qbo_id].append((latest[inv.qbo_id], inv))
    result = {}
    for customer_id, rows in rows_by_customer.items():
        ranked = sorted(rows, key=lambda row: (row[0], qbo_id_key(row[1].qbo_id)), reverse=True)[:12]
        lates = [(paid_on - effective_due_basis(inv, snap).on).days for paid_on, inv in ranked]
        result[customer_id] = max(-30, min(90, div_round_half_away(sum(lates), len(lates))))
    return result


@st.composite
def paid_histories(draw):
    """10-40 invoices, mostly paid and mostly C1's, paid on few distinct dates so the 12th place ties."""
    paid_days = draw(st.lists(st.integers(-60, 5), min_size=1, max_size=4))
    invoices, payments = [], []
    count = draw(st.integers(10, 40))
    for n in range(count):
        qbo_id = draw(st.sampled_from(IDS)) + ("" if n < len(IDS) else f"{n}")
        due = draw(st.one_of(st.none(), st.integers(-150, 0)))
        invoices.append(
            invoice(
                qbo_id,
                1_000,
                txn=(AS_OF + dt.timedelta(days=draw(st.integers(-200, -10)))).isoformat(),
                due=None if due is None else (AS_OF + dt.timedelta(days=due)).isoformat(),
                balance=draw(st.sampled_from([0, 0, 0, 1_000])),
                customer_id=draw(st.sampled_from(["C1", "C1", "C1", "C2"])),
                sales_term_qbo_id=draw(st.sampled_from([None, "T15"])),
            )
        )
        for k in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
            on = AS_OF + dt.timedelta(days=draw(st.sampled_from(paid_days)))
            payments.append(payment(f"P{n}-{k}", on.isoformat(), 1_000, qbo_id))
    return snapshot(
        terms=[term("T15", 15), term("T45", 45)],
        customers=[customer("C1", term_id="T45"), customer("C2")],
        invoices=invoices,
        payments=payments,
    )


@PROPERTY_SETTINGS
@given(paid_histories())
def test_typical_lateness_matches_ranking_every_paid_invoice(snap):
    expected = _reference_lateness(snap, AS_OF)
    assert typical_lateness_by_customer(snap, AS_OF) == expected
    assert dict(RunwayCalculator().calculate(snap, AS_OF).typical_lateness) == expected


def _doc(bill_snap):
    return (bill_snap.doc_number or "").strip()


def _reference_duplicates(snap):
    """PRODUCT §4 possible duplicates, comparing every pair of bills: newer bill Id -> (matches, reason)."""
    home = snap.home_currency

    def newer_first(b):
        return (b.txn_date, qbo_id_key(b.qbo_id))

    found = {}
    for newer in snap.bills:
        candidates = [
            older
            for older in snap.bills
            if older.vendor_qbo_id == newer.vendor_qbo_id
            and newer_first(older) < newer_first(newer)
            and (newer.is_open or older.is_open)
        ]
        matches = [
            (o, f"same number {_doc(newer)}") for o in candidates if _doc(newer) and _doc(o) == _doc(newer)
        ]
        matches += [
            (o, "same amount within 5 days")
            for o in candidates
            if (o.currency or home) == (newer.currency or home)
            and o.total_cents == newer.total_cents
            and (newer.txn_date - o.txn_date).days <= 5
            and all(o is not m for m, _reason in matches)
        ]
        if matches:
            matches.sort(key=lambda m: qbo_id_key(m[0].qbo_id))
            found[newer.qbo_id] = (",".join(m.qbo_id for m, _reason in matches), matches[0][1])
    return found


@st.composite
def bill_books(draw):
    """Bills of three vendors sharing few numbers, totals and dates, in two currencies."""
    bills = []
    for n in range(draw(st.integers(0, 30))):
        foreign = draw(st.booleans())
        amount = draw(st.sampled_from([500, 500, 700, 900]))
        bills.append(
            bill(
                str(10 + n),
                amount,
                txn=(AS_OF - dt.timedelta(days=draw(st.integers(0, 14)))).isoformat(),
                balance=draw(st.sampled_from([amount, 0])),
                vendor_id=draw(st.sampled_from(["V1", "V2", "V3"])),
                doc_number=draw(
                    st.sampled_from([None, "", "  ", "A-1", " A-1", "A-1 ", "a-1", "B-2", str(n)])
                ),
                currency=draw(st.sampled_from(["EUR"] if foreign else [None, "USD"])),
                exchange_rate=Decimal("1.1") if foreign else None,
            )
        )
    return snapshot(vendors=[vendor("V1"), vendor("V2"), vendor("V3")], bills=bills)


@PROPERTY_SETTINGS
@given(bill_books())
def test_possible_duplicate_bill_matches_comparing_every_pair(snap):
    rule = DataQualityCalculator(RuleRegistry([DEFAULT_RULES["possible_duplicate_bill"]]))
    issues = rule.issues(snap, AS_OF)
    got = {issue.qbo_id: issue for issue in issues}
    expected = _reference_duplicates(snap)
    assert set(got) == set(expected)
    for qbo_id, (matches, reason) in expected.items():
        assert got[qbo_id].fix_params["other_bill_ids"] == matches
        assert f"({reason})" in got[qbo_id].forecast_effect


SAVINGS_ID = "36"
CARD = "41"


@st.composite
def bank_books(draw):
    """Cash movements in and around the 4- and 13-week windows, on bank, card and closed bank accounts."""
    accounts = [
        bank(1_000),
        account(SAVINGS_ID, "Old savings", "Bank", active=False),
        account(CARD, "Card", "Credit Card"),
    ]
    offsets = st.integers(-100, 3)
    paid_from = st.sampled_from([BANK_ID, SAVINGS_ID, CARD])
    monday = monday_of(AS_OF)

    def on():
        return (monday + dt.timedelta(days=draw(offsets))).isoformat()

    amounts = st.integers(1, 90_000)
    purchases = [
        purchase(f"1{n}", on(), draw(amounts), paid_from=draw(paid_from), credit=draw(st.booleans()))
        for n in range(draw(st.integers(0, 8)))
    ]
    bill_payments = [
        bill_payment(f"2{n}", on(), draw(amounts), paid_from=draw(paid_from))
        for n in range(draw(st.integers(0, 8)))
    ]
    payments = [
        payment(
            f"3{n}", on(), draw(amounts), deposit_to=draw(st.sampled_from([BANK_ID, SAVINGS_ID, "4", None]))
        )
        for n in range(draw(st.integers(0, 8)))
    ]
    link = st.sampled_from([(None, None), ("Payment", "30"), ("SalesReceipt", "50"), ("Transfer", "9")])
    deposits = [
        deposit(
            f"4{n}",
            on(),
            *[dline(draw(amounts), *draw(link)) for _line in range(draw(st.integers(0, 3)))],
            to=draw(paid_from),
        )
        for n in range(draw(st.integers(0, 6)))
    ]
    receipts = [
        sales_receipt(
            f"5{n}", on(), draw(amounts), to=draw(st.sampled_from([BANK_ID, SAVINGS_ID, "4", None]))
        )
        for n in range(draw(st.integers(0, 6)))
    ]
    return snapshot(
        accounts=accounts,
        purchases=purchases,
        bill_payments=bill_payments,
        payments=payments,
        deposits=deposits,
        sales_receipts=receipts,
    )


def _in(day, start, end):
    return start <= day <= end


@PROPERTY_SETTINGS
@given(bank_books())
def test_baseline_and_burn_match_summing_each_window_on_its_own(snap):
    banks = {BANK_ID, SAVINGS_ID}
    monday = monday_of(AS_OF)
    end = monday - dt.timedelta(days=1)
    result = RunwayCalculator().calculate(snap, AS_OF)

    def purchases(start):
        return sum(
            -p.total_cents if p.credit else p.total_cents
            for p in snap.purchases
            if p.account_qbo_id in banks and _in(p.txn_date, start, end)
        )

    def deposit_lines(start, *, with_payments):
        return sum(
            line.amount_cents
            for dep in snap.deposits
            if dep.deposit_to_account_qbo_id in banks and _in(dep.txn_date, start, end)
            for line in dep.lines
            if with_payments or line.linked_txn_type != "Payment"
        )

    def straight(rows, start):
        return sum(
            r.total_cents
            for r in rows
            if r.deposit_to_account_qbo_id in banks and _in(r.txn_date, start, end)
        )

    start_13 = monday - dt.timedelta(days=91)
    assert result.baseline.disbursements_total_cents == purchases(start_13)
    assert result.baseline.receipts_total_cents == deposit_lines(start_13, with_payments=False) + straight(
        snap.sales_receipts, start_13
    )
    for burn in (result.burn_4w, result.burn_13w):
        start = monday - dt.timedelta(days=7 * burn.weeks)
        assert burn.window_start == start
        assert burn.outflows_cents == purchases(start) + sum(
            p.total_cents
            for p in snap.bill_payments
            if p.paid_from_account_qbo_id in banks and _in(p.txn_date, start, end)
        )
        assert burn.inflows_cents == (
            deposit_lines(start, with_payments=True)
            + straight(snap.sales_receipts, start)
            + straight(snap.payments, start)
        )
