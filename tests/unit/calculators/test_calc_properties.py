"""Properties of the runway, aging, queue and hygiene calculators over generated companies."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from calc_factories import (
    bank,
    bill,
    customer,
    d,
    deposit,
    dline,
    invoice,
    payment,
    purchase,
    snapshot,
    vendor,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runway.services.calculators import (
    AgingCalculator,
    DataQualityCalculator,
    PlannedDate,
    PriorityCalculator,
    RunwayCalculator,
)
from runway.services.calculators.arithmetic import monday_of

PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def companies(draw):
    """A small company: cash, open and paid bills/invoices, payment history and a baseline window."""
    as_of = draw(st.dates(d("2024-06-01"), d("2026-06-30")))
    monday = monday_of(as_of)

    def day(offset: int) -> str:
        return (as_of + dt.timedelta(days=offset)).isoformat()

    bills = []
    for n in range(draw(st.integers(0, 6))):
        amount = draw(st.integers(1, 1_000_000))
        due = draw(st.one_of(st.none(), st.integers(-120, 150)))
        txn = draw(st.integers(-150, 10))
        balance = draw(st.sampled_from([amount, amount, 0, max(amount // 2, 1)]))
        bills.append(
            bill(
                str(100 + n),
                amount,
                txn=day(txn),
                due=None if due is None else day(due),
                balance=balance,
                vendor_id=draw(st.sampled_from(["V1", "V2"])),
            )
        )
    invoices, payments = [], []
    for n in range(draw(st.integers(0, 6))):
        amount = draw(st.integers(1, 1_000_000))
        due = draw(st.one_of(st.none(), st.integers(-130, 150)))
        invoices.append(
            invoice(
                str(200 + n),
                amount,
                txn=day(draw(st.integers(-150, 10))),
                due=None if due is None else day(due),
                customer_id=draw(st.sampled_from(["C1", "C2"])),
            )
        )
    for n in range(draw(st.integers(0, 14))):
        due = draw(st.integers(-400, -10))
        late = draw(st.integers(-40, 120))
        inv_id = str(300 + n)
        cust = draw(st.sampled_from(["C1", "C2"]))
        invoices.append(invoice(inv_id, 1_000, txn=day(due - 30), due=day(due), balance=0, customer_id=cust))
        unapplied = draw(st.sampled_from([0, 0, 0, 250]))
        payments.append(
            payment(f"9{n}", day(due + late), 1_000, inv_id, customer_id=cust, unapplied=unapplied)
        )
    purchases = [
        purchase(str(400 + n), (monday - dt.timedelta(days=off)).isoformat(), amt, credit=credit)
        for n, (off, amt, credit) in enumerate(
            draw(
                st.lists(
                    st.tuples(st.integers(1, 95), st.integers(1, 400_000), st.booleans()),
                    max_size=8,
                )
            )
        )
    ]
    deposits = [
        deposit(str(500 + n), (monday - dt.timedelta(days=off)).isoformat(), dline(amt))
        for n, (off, amt) in enumerate(
            draw(st.lists(st.tuples(st.integers(1, 95), st.integers(1, 400_000)), max_size=6))
        )
    ]
    snap = snapshot(
        accounts=[bank(draw(st.integers(-500_000, 3_000_000)))],
        vendors=[vendor("V1"), vendor("V2")],
        customers=[customer("C1"), customer("C2")],
        bills=bills,
        invoices=invoices,
        payments=payments,
        purchases=purchases,
        deposits=deposits,
    )
    return snap, as_of


def _forecast_day(result, kind, qbo_id):
    for event in result.events + result.later_events:
        if (event.kind, event.qbo_id) == (kind, qbo_id):
            return event.on
    return None


@PROPERTY_SETTINGS
@given(companies())
def test_every_week_reconciles(company):
    snap, as_of = company
    result = RunwayCalculator().calculate(snap, as_of)
    assert result.grid[0].opening_cents == result.cash_now_cents
    for week in result.grid:
        receipts = week.receipts_invoices_cents + week.receipts_baseline_cents
        disbursements = week.disbursements_bills_cents + week.disbursements_baseline_cents
        assert receipts - disbursements == week.ending_cents - week.opening_cents == week.net_change_cents
        assert week.ending_cents == result.balance_on(week.end)
    for previous, following in zip(result.grid, result.grid[1:], strict=False):
        assert following.opening_cents == previous.ending_cents
        assert following.start - previous.start == dt.timedelta(days=7)
    assert result.lowest_cash_cents == min(w.ending_cents for w in result.grid)
    assert result.lowest_daily_cents == min(x.balance_cents for x in result.days)


@PROPERTY_SETTINGS
@given(companies())
def test_runway_agrees_with_the_daily_balances(company):
    snap, as_of = company
    result = RunwayCalculator().calculate(snap, as_of)
    reading = result.runway
    if reading.within_grid:
        assert reading.cash_zero_date is not None
        assert result.balance_on(reading.cash_zero_date) < 0
        assert all(x.balance_cents >= 0 for x in result.days if x.day < reading.cash_zero_date)
    else:
        assert all(x.balance_cents >= 0 for x in result.days)
        assert reading.not_burning == (result.grid[-1].ending_cents >= result.cash_now_cents)
        if not reading.not_burning:
            assert reading.days is not None
            assert reading.days >= len(result.days)
    if reading.days is not None:
        assert reading.cash_zero_date == as_of + dt.timedelta(days=reading.days)
        assert reading.weeks == (Decimal(reading.days) / 7).quantize(Decimal("0.1"))


@PROPERTY_SETTINGS
@given(companies())
def test_aging_buckets_sum_to_open_balances(company):
    snap, as_of = company
    aging = AgingCalculator().calculate(snap, as_of)
    assert aging.ap.open_cents == sum(b.balance_cents for b in snap.bills if b.balance_cents > 0)
    assert aging.ar.open_cents == sum(i.balance_cents for i in snap.invoices if i.balance_cents > 0)
    assert aging.ar.unapplied_cents == sum(p.unapplied_cents for p in snap.payments)


@PROPERTY_SETTINGS
@given(companies(), st.data())
def test_paying_a_bill_earlier_never_raises_a_balance_or_lengthens_runway(company, data):
    snap, as_of = company
    before = RunwayCalculator().calculate(snap, as_of)
    open_bills = [b for b in snap.bills if b.is_open]
    if not open_bills:
        return
    target = data.draw(st.sampled_from(open_bills))
    current = _forecast_day(before, "bill", target.qbo_id)
    earlier = data.draw(st.dates(as_of, current))
    after = RunwayCalculator().calculate(
        snap, as_of, planned_dates=[PlannedDate("bill", target.qbo_id, earlier)]
    )
    assert all(a.balance_cents <= b.balance_cents for a, b in zip(after.days, before.days, strict=True))
    assert after.runway.order_key() <= before.runway.order_key()
    assert after.lowest_cash_cents <= before.lowest_cash_cents


@PROPERTY_SETTINGS
@given(companies(), st.data())
def test_delaying_a_bill_never_shortens_runway(company, data):
    snap, as_of = company
    before = RunwayCalculator().calculate(snap, as_of)
    open_bills = [b for b in snap.bills if b.is_open]
    if not open_bills:
        return
    target = data.draw(st.sampled_from(open_bills))
    current = _forecast_day(before, "bill", target.qbo_id)
    later = current + dt.timedelta(days=data.draw(st.integers(0, 200)))
    after = RunwayCalculator().calculate(
        snap, as_of, planned_dates=[PlannedDate("bill", target.qbo_id, later)]
    )
    assert all(a.balance_cents >= b.balance_cents for a, b in zip(after.days, before.days, strict=True))
    assert after.runway.order_key() >= before.runway.order_key()


@PROPERTY_SETTINGS
@given(companies(), st.integers(1, 2_000_000), st.integers(-90, 200))
def test_adding_a_receipt_never_shortens_runway(company, amount, due_offset):
    snap, as_of = company
    before = RunwayCalculator().calculate(snap, as_of)
    extra = invoice(
        "999", amount, txn=as_of.isoformat(), due=(as_of + dt.timedelta(days=due_offset)).isoformat()
    )
    richer = replace(snap, invoices=(*snap.invoices, replace(extra, customer_qbo_id="CNEW")))
    after = RunwayCalculator().calculate(richer, as_of)
    assert all(a.balance_cents >= b.balance_cents for a, b in zip(after.days, before.days, strict=True))
    assert after.runway.order_key() >= before.runway.order_key()


@PROPERTY_SETTINGS
@given(companies(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(company, rnd):
    snap, as_of = company

    def shuffled(items):
        items = list(items)
        rnd.shuffle(items)
        return tuple(items)

    mixed = replace(
        snap,
        bills=shuffled(snap.bills),
        invoices=shuffled(snap.invoices),
        payments=shuffled(snap.payments),
        purchases=shuffled(snap.purchases),
        deposits=shuffled(snap.deposits),
        vendors=shuffled(snap.vendors),
        customers=shuffled(snap.customers),
    )
    assert RunwayCalculator().calculate(snap, as_of) == RunwayCalculator().calculate(mixed, as_of)
    assert AgingCalculator().calculate(snap, as_of) == AgingCalculator().calculate(mixed, as_of)
    assert DataQualityCalculator().issues(snap, as_of) == DataQualityCalculator().issues(mixed, as_of)
    assert PriorityCalculator().queue(snap, as_of) == PriorityCalculator().queue(mixed, as_of)


def _assert_no_floats(node, path="result"):
    assert not isinstance(node, float), path
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if f.name.endswith("_cents"):
                assert type(value) is int, f"{path}.{f.name} is {type(value).__name__}"
            if f.name != "settings":
                _assert_no_floats(value, f"{path}.{f.name}")
    elif isinstance(node, Mapping):
        for key, value in node.items():
            _assert_no_floats(value, f"{path}[{key!r}]")
    elif isinstance(node, tuple | list):
        for n, value in enumerate(node):
            _assert_no_floats(value, f"{path}[{n}]")


@PROPERTY_SETTINGS
@given(companies())
def test_results_hold_integer_cents_only(company):
    snap, as_of = company
    _assert_no_floats(RunwayCalculator().calculate(snap, as_of))
    _assert_no_floats(AgingCalculator().calculate(snap, as_of))
    _assert_no_floats(DataQualityCalculator().calculate(snap, as_of))
    _assert_no_floats(PriorityCalculator().queue(snap, as_of))
