"""The prepared forecast prices any plan of decisions exactly as a full re-run does."""

from __future__ import annotations

import datetime as dt
import weakref

import pytest
from calc_factories import bank, bill, d, snapshot, vendor
from hypothesis import given
from hypothesis import strategies as st
from test_calc_properties import PROPERTY_SETTINGS, companies

from runway.services.calculators.impact_calculator import (
    Chase,
    Delay,
    ImpactCalculator,
    PayNow,
    Schedule,
    SetDueDate,
    Skip,
)


@st.composite
def decision(draw, bill_ids, invoice_ids, as_of):
    """One console decision on a known item or, now and then, an item that is not in the books."""
    bills = [*bill_ids, "404"]
    invoices = [*invoice_ids, "405"]
    kind = draw(st.sampled_from(["pay_now", "schedule", "schedule_due", "delay", "chase", "skip"]))
    if kind == "chase":
        return Chase(draw(st.sampled_from(invoices)))
    if kind == "skip":
        return Skip("bill", draw(st.sampled_from(bills)))
    qbo_id = draw(st.sampled_from(bills))
    if kind == "pay_now":
        return PayNow(qbo_id)
    if kind == "schedule_due":
        return Schedule(qbo_id)
    on = as_of + dt.timedelta(days=draw(st.integers(-10, 200)))
    return Schedule(qbo_id, on) if kind == "schedule" else Delay(qbo_id, on)


@PROPERTY_SETTINGS
@given(companies(), st.data())
def test_a_plan_priced_on_the_prepared_run_matches_a_full_re_run(company, data):
    snap, as_of = company
    bill_ids = [b.qbo_id for b in snap.bills]
    invoice_ids = [i.qbo_id for i in snap.invoices]
    plans = st.lists(decision(bill_ids, invoice_ids, as_of), max_size=6)
    decided, changes = data.draw(plans), data.draw(plans)
    full = ImpactCalculator().impact(snap, as_of, changes, already_decided=decided)
    fast = ImpactCalculator().prepare(snap, as_of).impact(changes, already_decided=decided)

    assert fast.delta_runway_days == full.delta_runway_days
    assert fast.direction == full.direction
    assert fast.new_cash_zero_date == full.new_cash_zero_date
    assert fast.new_lowest_cash_cents == full.new_lowest_cash_cents
    assert fast.delta_lowest_cash_cents == full.delta_lowest_cash_cents
    planned_now = {c.bill_qbo_id for c in changes if isinstance(c, PayNow | Schedule | Delay)}
    assert fast.days_past_terms == {b: d for b, d in full.days_past_terms.items() if b in planned_now}
    assert fast.ignored == full.ignored
    assert fast.describe() == full.describe()
    for mine, theirs in ((fast.before, full.before), (fast.after, full.after)):
        assert mine.runway == theirs.runway
        assert (mine.lowest_cash_cents, mine.lowest_cash_week) == (
            theirs.lowest_cash_cents,
            theirs.lowest_cash_week,
        )
        assert mine.cash_now_cents == theirs.cash_now_cents


def test_paying_the_later_bill_now_brings_the_cash_zero_date_forward_to_the_earlier_bill():
    as_of = d("2026-03-02")
    snap = snapshot(
        accounts=[bank(100_000)],
        vendors=[vendor("V1")],
        bills=[
            bill("1", 80_000, txn="2026-02-20", due="2026-03-10"),
            bill("2", 50_000, txn="2026-02-20", due="2026-04-20"),
        ],
    )
    prepared = ImpactCalculator().prepare(snap, as_of)
    assert prepared.base.runway.cash_zero_date == d("2026-04-20")
    impact = prepared.impact([PayNow("2")])
    assert impact.new_cash_zero_date == d("2026-03-10")
    assert impact.delta_runway_days == -41
    assert impact.new_lowest_cash_cents == -30_000
    assert impact.direction == "shorter"
    assert impact.describe() == "moves the cash-zero date from 20 Apr 2026 to 10 Mar 2026"


def test_a_prepared_forecast_refuses_hygiene_fixes_it_cannot_price():
    prepared = ImpactCalculator().prepare(snapshot(accounts=[bank(1_000)]), d("2026-03-02"))
    with pytest.raises(TypeError, match="prices decisions"):
        prepared.impact([SetDueDate("bill", "1", d("2026-04-01"))])  # type: ignore[list-item]


@PROPERTY_SETTINGS
@given(companies(), st.data())
def test_comparing_two_kept_plans_matches_pricing_one_on_the_other(company, data):
    snap, as_of = company
    bill_ids = [b.qbo_id for b in snap.bills]
    invoice_ids = [i.qbo_id for i in snap.invoices]
    plans = st.lists(decision(bill_ids, invoice_ids, as_of), max_size=6)
    done, queued = data.draw(plans), data.draw(plans)
    prepared = ImpactCalculator().prepare(snap, as_of)
    priced = prepared.impact(queued, already_decided=done)
    compared = prepared.compare(prepared.plan(done), prepared.plan([*done, *queued]))
    kept = prepared.plan(done).extended(queued)

    assert compared.before == priced.before
    assert compared.after == priced.after == kept.figures()
    assert compared.delta_runway_days == priced.delta_runway_days
    assert compared.new_lowest_cash_cents == priced.new_lowest_cash_cents
    assert len(compared.ignored) == len(priced.ignored)


def test_a_plan_extended_keypress_after_keypress_does_not_keep_the_plans_before_it():
    """The console keeps only the newest plan; every earlier one (a copy of the decisions each) is freed."""
    as_of = d("2026-03-02")
    snap = snapshot(
        accounts=[bank(100_000)],
        vendors=[vendor("V1")],
        bills=[bill(str(i), 1_000, txn="2026-02-20", due="2026-03-10") for i in range(1, 41)],
    )
    forecast = ImpactCalculator().prepare(snap, as_of)
    first = forecast.plan([])
    earlier = weakref.ref(first)
    plan = first
    del first
    for i in range(1, 41):
        impact = forecast.impact_on(plan, [Delay(str(i), d("2026-04-01"))])
        assert impact.plan.parent is plan
        assert impact.days_past_terms == {str(i): 22}, "priced on the plan just before"
        plan = impact.plan

    assert earlier() is None
    assert len(plan.planned) == 40
