"""PriorityCalculator (PRODUCT §5 queue) and ImpactCalculator (the three decision deltas)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from calc_factories import bank, bill, customer, d, invoice, payment, purchase, snapshot, term, vendor

from domains.core.money import CurrencyMismatchError
from runway.services.calculators import (
    ApplyPayment,
    Chase,
    DataQualityCalculator,
    Delay,
    DeleteBill,
    ImpactCalculator,
    PayNow,
    PriorityCalculator,
    RecordBillPaid,
    Schedule,
    SetDueDate,
    SetVendorTerms,
    Skip,
)
from runway.services.calculators.impact_calculator import apply_changes, runway_delta

AS_OF = d("2025-03-03")


# --- queue -------------------------------------------------------------------------------------------


def test_queue_entry_rules():
    """Bills due within 14 days or past enter; invoices only once past their effective due date."""
    snap = snapshot(
        bills=[
            bill("1", 100, due="2025-03-17"),
            bill("2", 100, due="2025-03-18"),
            bill("3", 100, due="2025-01-01"),
            bill("4", 100, due="2025-03-01", balance=0),
            bill("5", 100, txn="2025-02-15", due=None),
        ],
        invoices=[
            invoice("7", 100, due="2025-03-03"),
            invoice("8", 100, due="2025-03-02"),
            invoice("9", 100, due="2024-10-01"),
        ],
    )
    queue = PriorityCalculator().queue(snap, AS_OF)
    assert {(q.entity_type, q.qbo_id) for q in queue} == {
        ("bill", "1"),
        ("bill", "3"),
        ("bill", "5"),
        ("invoice", "8"),
        ("invoice", "9"),
    }
    assert next(q for q in queue if q.qbo_id == "9").doubtful


def test_queue_order():
    """Critical vendor first; then overdue by most days; then due date; then amount; then integer Id."""
    snap = snapshot(
        vendors=[vendor("V1"), vendor("VC")],
        bills=[
            bill("1", 100, due="2025-03-10"),
            bill("2", 100, due="2025-03-12", vendor_id="VC"),
            bill("3", 100, due="2025-02-01"),
            bill("4", 500, due="2025-03-10"),
            bill("10", 100, due="2025-03-10"),
            bill("9", 100, due="2025-03-10"),
        ],
        invoices=[invoice("5", 100, due="2025-01-01"), invoice("6", 100, due="2025-03-01")],
    )
    queue = PriorityCalculator().queue(snap, AS_OF, critical_vendor_ids={"VC"})
    assert [(q.entity_type, q.qbo_id) for q in queue] == [
        ("bill", "2"),
        ("invoice", "5"),
        ("bill", "3"),
        ("invoice", "6"),
        ("bill", "4"),
        ("bill", "1"),
        ("bill", "9"),
        ("bill", "10"),
    ]
    assert queue[0].critical
    assert [q.days_overdue for q in queue[1:4]] == [61, 30, 2]


def test_queue_uses_effective_due_date_from_terms():
    snap = snapshot(
        terms=[term("T10", 10)],
        vendors=[vendor("V1", "T10")],
        bills=[bill("1", 100, txn="2025-03-05", due=None), bill("2", 100, txn="2025-03-08", due=None)],
    )
    queue = PriorityCalculator().queue(snap, AS_OF)
    assert [(q.qbo_id, q.effective_due_date) for q in queue] == [("1", d("2025-03-15"))]


def test_queue_blocked_by_open_high_severity_issues_on_the_item():
    snap = snapshot(
        bills=[bill("1", 100, txn="2025-02-10", due=None), bill("2", 100, due="2025-03-05")],
        invoices=[invoice("3", 100, due="2025-02-01", txn="2025-01-01")],
    )
    open_issues = DataQualityCalculator().issues(snap, AS_OF)
    queue = {q.qbo_id: q for q in PriorityCalculator().queue(snap, AS_OF, open_issues=open_issues)}
    assert queue["1"].blocked_by == ("bill_missing_due_date",)
    assert queue["2"].blocked is False
    assert queue["3"].blocked is False


# --- impact ------------------------------------------------------------------------------------------


def burning():
    """Cash 10,000; baseline burn 1,300/week (13 x 1,300 purchases); bill B1 5,000 due 24 Mar.

    Runway: W1..W3 lose 1,300 each (ending 6,100 on 23 Mar); B1 on Monday 24 Mar takes it to
    6,100 - 5,000 - 185 = 915; each day then loses 185 (Mon-Sat) and 190 (Sun):
    25 Mar 730, 26 Mar 545, 27 Mar 360, 28 Mar 175, Saturday 29 Mar -10 -> cash-zero 29 Mar, 26 days.
    """
    return snapshot(
        accounts=[bank(10_000)],
        purchases=[purchase("P", "2025-01-10", 13 * 1_300)],
        bills=[bill("B1", 5_000, due="2025-03-24"), bill("B2", 1_000, due="2025-04-20")],
        invoices=[invoice("I1", 2_000, due="2025-04-01")],
    )


def test_baseline_example_runway():
    result = ImpactCalculator().impact(burning(), AS_OF, ()).before
    assert result.runway.cash_zero_date == d("2025-03-29")
    assert result.runway.days == 26


def test_pay_now_moves_cash_zero_earlier():
    """Paying B1 today: 3 Mar 10,000 - 5,000 - 185 = 4,815; W1..W3 end 3,700 / 2,400 / 1,100; then
    24 Mar 915 ... 28 Mar 175, 29 Mar -10: the same cash-zero date, so delta 0, but W1 is 5,000 lower.
    """
    result = ImpactCalculator().impact(burning(), AS_OF, [PayNow("B1")])
    assert result.delta_runway_days == 0
    assert result.direction == "unchanged"
    assert result.new_cash_zero_date == d("2025-03-29")
    assert [w.ending_cents for w in result.after.grid[:3]] == [3_700, 2_400, 1_100]
    assert result.new_lowest_cash_cents == result.before.lowest_cash_cents
    assert result.describe() == "leaves the cash-zero date unchanged"


def test_delay_past_cash_zero_extends_runway():
    """Delaying B1 to Monday 21 Apr: W4 ends 4,800; I1 +2,000 on 1 Apr -> W5 5,500; W6 4,200; B2 1,000 on
    Sunday 20 Apr -> W7 1,900; 21 Apr 1,900 - 5,000 - 185 = -3,285: cash-zero 21 Apr, 49 days (+23),
    and the bill is 28 days past terms."""
    result = ImpactCalculator().impact(burning(), AS_OF, [Delay("B1", d("2025-04-21"))])
    assert [w.ending_cents for w in result.after.grid[3:7]] == [4_800, 5_500, 4_200, 1_900]
    assert (result.delta_runway_days, result.new_cash_zero_date) == (23, d("2025-04-21"))
    assert result.direction == "longer"
    assert result.days_past_terms == {"B1": 28}
    assert result.describe() == "moves the cash-zero date from 29 Mar 2025 to 21 Apr 2025"


def test_schedule_defaults_to_the_effective_due_date():
    calc = ImpactCalculator()
    moved = calc.impact(burning(), AS_OF, [Schedule("B1")], already_decided=[Delay("B1", d("2025-05-01"))])
    assert moved.after.runway.cash_zero_date == d("2025-03-29")
    assert moved.direction == "shorter"
    assert moved.days_past_terms == {}


def test_chase_brings_receipt_forward():
    result = ImpactCalculator().impact(burning(), AS_OF, [Chase("I1")])
    event = next(e for e in result.after.events if e.qbo_id == "I1")
    assert (event.on, event.basis) == (d("2025-04-01"), "chased")
    late_customer = snapshot(
        accounts=[bank(1_000)],
        invoices=[invoice("H", 1, due="2025-01-01", balance=0), invoice("I1", 2_000, due="2025-03-05")],
        payments=[payment("P", "2025-02-10", 1, "H")],
        bills=[bill("B1", 2_500, due="2025-03-20")],
    )
    chased = ImpactCalculator().impact(late_customer, AS_OF, [Chase("I1")])
    assert chased.before.runway.cash_zero_date == d("2025-03-20")
    assert next(e for e in chased.after.events if e.qbo_id == "I1").on == d("2025-03-10")
    # Ending W13 = 1,000 + 2,000 - 2,500 = 500 < cash now: runway 91 + floor(500 x 91 / 500) = 182 days.
    assert (chased.direction, chased.delta_runway_days) == ("longer", 182 - 17)
    assert chased.new_cash_zero_date == d("2025-09-01")


def test_skip_changes_nothing():
    result = ImpactCalculator().impact(burning(), AS_OF, [Skip("bill", "B1"), Skip("invoice", "I1")])
    assert (result.delta_runway_days, result.direction, result.delta_lowest_cash_cents) == (0, "unchanged", 0)
    assert result.before == result.after


def test_null_runway_deltas():
    assert runway_delta(None, None) == (0, "unchanged")
    assert runway_delta(10, None) == (None, "longer")
    assert runway_delta(None, 10) == (None, "shorter")
    assert runway_delta(10, 7) == (-3, "shorter")
    assert runway_delta(7, 10) == (3, "longer")


def test_decision_that_starts_a_burn():
    snap = snapshot(accounts=[bank(1_000)], bills=[bill("B1", 1_500, due="2025-07-01")])
    result = ImpactCalculator().impact(snap, AS_OF, [PayNow("B1")])
    assert result.before.runway.not_burning
    assert (result.delta_runway_days, result.direction) == (None, "shorter")
    assert result.new_cash_zero_date == AS_OF
    assert result.describe() == "starts a burn: cash reaches zero on 3 Mar 2025"


def test_hygiene_fix_set_due_date():
    snap = snapshot(accounts=[bank(1_000)], bills=[bill("B1", 1_500, txn="2025-02-20", due=None)])
    before = ImpactCalculator().impact(snap, AS_OF, ())
    assert before.new_cash_zero_date == d("2025-03-22")
    result = ImpactCalculator().impact(snap, AS_OF, [SetDueDate("bill", "B1", d("2025-04-10"))])
    assert result.new_cash_zero_date == d("2025-04-10")
    assert result.delta_runway_days == 19
    inv = snapshot(accounts=[bank(0)], invoices=[invoice("I1", 100, txn="2025-02-20", due=None)])
    moved = ImpactCalculator().impact(inv, AS_OF, [SetDueDate("invoice", "I1", d("2025-03-05"))])
    assert next(iter(moved.after.events)).on == d("2025-03-05")


def test_hygiene_fix_vendor_terms():
    snap = snapshot(
        accounts=[bank(1_000)], terms=[term("T60", 60)], bills=[bill("B1", 1_500, txn="2025-02-20", due=None)]
    )
    result = ImpactCalculator().impact(snap, AS_OF, [SetVendorTerms("V1", "T60")])
    assert result.new_cash_zero_date == d("2025-04-21")


def test_hygiene_fixes_that_close_or_delete_a_bill():
    """Without B1 (1,500, stale) only B2 (200) remains: 1,000 -> 800, runway 91 + floor(800 x 91 / 200)."""
    snap = snapshot(
        accounts=[bank(1_000)], bills=[bill("B1", 1_500, due="2024-12-01"), bill("B2", 200, due="2025-03-10")]
    )
    for fix in (RecordBillPaid("B1"), DeleteBill("B1")):
        result = ImpactCalculator().impact(snap, AS_OF, [fix])
        assert result.before.runway.days == 0
        assert result.after.runway.days == 91 + 364
        assert result.delta_runway_days == 455
        assert result.new_lowest_cash_cents == 800
        assert result.delta_lowest_cash_cents == 800 - (-700)


def test_hygiene_fix_apply_payment():
    snap = snapshot(
        accounts=[bank(0)],
        invoices=[invoice("I1", 1_000, due="2025-03-10")],
        payments=[payment("P1", "2025-02-01", 400, unapplied=400)],
    )
    applied = apply_changes(snap, AS_OF, [ApplyPayment("P1", "I1")])
    assert applied.snapshot.invoices[0].balance_cents == 600
    assert applied.snapshot.payments[0].unapplied_cents == 0
    result = ImpactCalculator().impact(snap, AS_OF, [ApplyPayment("P1", "I1")])
    assert result.after.grid[-1].ending_cents == 600
    foreign = snapshot(
        invoices=[invoice("I1", 1_000, currency="CAD", exchange_rate=Decimal("0.7"))],
        payments=[payment("P1", "2025-02-01", 400, unapplied=400)],
    )
    with pytest.raises(CurrencyMismatchError):
        apply_changes(foreign, AS_OF, [ApplyPayment("P1", "I1")])


def test_unknown_items_are_reported_not_applied():
    result = ImpactCalculator().impact(
        burning(), AS_OF, [PayNow("nope"), Chase("nope"), SetDueDate("bill", "nope", AS_OF), DeleteBill("x")]
    )
    assert len(result.ignored) == 4
    assert result.delta_runway_days == 0


def test_later_change_to_same_item_wins_and_each_is_independent():
    calc = ImpactCalculator()
    both = calc.impact(burning(), AS_OF, [Delay("B1", d("2025-04-21")), PayNow("B1")])
    assert (
        both.after.runway.cash_zero_date == calc.impact(burning(), AS_OF, [PayNow("B1")]).new_cash_zero_date
    )
    each = calc.each(burning(), AS_OF, [Delay("B1", d("2025-04-21")), Skip("bill", "B2")])
    assert [r.direction for r in each] == ["longer", "unchanged"]


def test_already_decided_is_the_before_plan():
    calc = ImpactCalculator()
    decided = [Delay("B1", d("2025-04-21"))]
    result = calc.impact(burning(), AS_OF, [PayNow("B2")], already_decided=decided)
    assert result.before == calc.impact(burning(), AS_OF, decided).after
    assert result.direction in ("shorter", "unchanged")


def test_impact_of_many_decisions_is_one_rerun():
    """The header total: all queued decisions against none, not a sum of separate deltas."""
    calc = ImpactCalculator()
    snap = burning()
    total = calc.impact(snap, AS_OF, [Delay("B1", d("2025-04-21")), Chase("I1")])
    again = calc.impact(snap, AS_OF, [Chase("I1"), Delay("B1", d("2025-04-21"))])
    assert total.delta_runway_days == again.delta_runway_days
    assert total.after.runway.days is not None
    assert total.delta_runway_days == total.after.runway.days - total.before.runway.days


def test_chase_works_for_an_invoice_of_an_unsynced_customer():
    snap = snapshot(
        accounts=[bank(0)],
        customers=[customer("C9")],
        invoices=[invoice("I1", 100, due="2025-02-01", customer_id="Cx")],
    )
    result = ImpactCalculator().impact(snap, AS_OF, [Chase("I1")])
    assert next(iter(result.after.events)).on == d("2025-03-10")
