"""DataQualityCalculator: every PRODUCT §4 rule fires where it should and not on its near misses."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from calc_factories import (
    SNAPSHOT_AT,
    account,
    bank,
    bill,
    customer,
    d,
    deposit,
    dline,
    invoice,
    line,
    payment,
    purchase,
    sales_receipt,
    snapshot,
    term,
    undeposited,
    vendor,
)

from runway.services.calculators import (
    DEFAULT_RULES,
    DataQualityCalculator,
    Finding,
    HygieneIssue,
    RuleContext,
    RuleRegistry,
    register_rule,
)

AS_OF = d("2025-03-03")
CATALOGUE = [
    "bill_missing_due_date",
    "bill_due_before_txn",
    "possible_duplicate_bill",
    "invoice_missing_due_date",
    "stale_overdue_invoice",
    "stale_open_bill",
    "uncategorized_line",
    "vendor_missing_terms",
    "unapplied_customer_payment",
    "expense_to_vendor_with_open_bill",
    "undeposited_funds_lingering",
    "totals_mismatch",
    "orphan_reference",
    "sync_stale",
]


def issues(snap, as_of=AS_OF, now=None):
    return DataQualityCalculator().issues(snap, as_of, now=now)


def fired(snap, rule, as_of=AS_OF, now=None):
    """(entity_type, qbo_id, amount_cents) of one rule's issues."""
    return [(i.entity_type, i.qbo_id, i.amount_cents) for i in issues(snap, as_of, now) if i.rule == rule]


def only(snap, rule, as_of=AS_OF) -> HygieneIssue:
    found = [i for i in issues(snap, as_of) if i.rule == rule]
    assert len(found) == 1, found
    return found[0]


def test_catalogue_has_the_fourteen_rules_in_order():
    assert [spec.rule_id for spec in DEFAULT_RULES] == CATALOGUE
    severities = {spec.rule_id: spec.severity for spec in DEFAULT_RULES}
    assert severities == {
        "bill_missing_due_date": "high",
        "bill_due_before_txn": "medium",
        "possible_duplicate_bill": "high",
        "invoice_missing_due_date": "medium",
        "stale_overdue_invoice": "medium",
        "stale_open_bill": "medium",
        "uncategorized_line": "medium",
        "vendor_missing_terms": "low",
        "unapplied_customer_payment": "medium",
        "expense_to_vendor_with_open_bill": "medium",
        "undeposited_funds_lingering": "medium",
        "totals_mismatch": "high",
        "orphan_reference": "high",
        "sync_stale": "high",
    }


def test_clean_books_have_no_issues():
    snap = snapshot(accounts=[bank(1_000)], bills=[bill("B1", 500)], invoices=[invoice("I1", 700)])
    assert issues(snap) == ()
    assert DataQualityCalculator().calculate(snap, AS_OF).score == 100


# --- bill_missing_due_date ---------------------------------------------------------------------------


def test_bill_missing_due_date_fires_with_the_forecast_sentence():
    snap = snapshot(bills=[bill("B1", 420_000, txn="2025-02-26", due=None)], vendors=[vendor("V1", "T0")])
    issue = only(snap, "bill_missing_due_date")
    assert (issue.entity_type, issue.qbo_id, issue.amount_cents, issue.severity) == (
        "bill",
        "B1",
        420_000,
        "high",
    )
    assert (
        issue.forecast_effect == "$4,200.00 bill has no due date; assumed due 30 days after its date, in W4"
    )
    assert issue.fix == "set_due_date"
    assert issue.fix_params == {"suggested_due_date": "2025-03-28"}


def test_bill_missing_due_date_names_the_terms_used():
    snap = snapshot(
        terms=[term("T15", 15)],
        vendors=[vendor("V1", "T15")],
        bills=[bill("B1", 10_000, txn="2025-02-01", due=None)],
    )
    issue = only(snap, "bill_missing_due_date")
    assert "assumed due 15 days after its date (Net 15 terms), in W1" in issue.forecast_effect


def test_bill_missing_due_date_near_misses():
    snap = snapshot(
        bills=[bill("B1", 100, due=None, balance=0), bill("B2", 100, due="2025-03-10")],
        vendors=[vendor("V1", "T")],
    )
    assert fired(snap, "bill_missing_due_date") == []


# --- bill_due_before_txn -----------------------------------------------------------------------------


def test_bill_due_before_txn():
    snap = snapshot(
        bills=[
            bill("B1", 100, txn="2025-02-05", due="2025-02-04"),
            bill("B2", 200, txn="2025-02-05", due="2025-02-05"),
            bill("B3", 300, txn="2025-02-05", due="2025-02-01", balance=0),
        ]
    )
    assert fired(snap, "bill_due_before_txn") == [("bill", "B1", 100)]
    assert only(snap, "bill_due_before_txn").fix_params == {"suggested_due_date": "2025-03-07"}


# --- possible_duplicate_bill -------------------------------------------------------------------------


def test_duplicate_equal_amounts_five_days_apart_attaches_to_newer():
    snap = snapshot(
        bills=[
            bill("20", 4_200, txn="2025-02-10", due="2025-03-12"),
            bill("7", 4_200, txn="2025-02-15", due="2025-03-17"),
        ]
    )
    assert fired(snap, "possible_duplicate_bill") == [("bill", "7", 4_200)]
    issue = only(snap, "possible_duplicate_bill")
    assert "may duplicate bill 20" in issue.forecast_effect
    assert "overstated by $42.00" in issue.forecast_effect


def test_duplicate_near_misses():
    """Six days apart, another vendor, other amount, both paid: none is a duplicate."""
    snap = snapshot(
        vendors=[vendor("V1"), vendor("V2")],
        bills=[
            bill("1", 4_200, txn="2025-02-10"),
            bill("2", 4_200, txn="2025-02-16"),
            bill("3", 4_200, txn="2025-02-12", vendor_id="V2"),
            bill("4", 4_201, txn="2025-02-11"),
            bill("5", 9_900, txn="2025-01-10", balance=0),
            bill("6", 9_900, txn="2025-01-11", balance=0),
        ],
    )
    assert fired(snap, "possible_duplicate_bill") == []


def test_duplicate_same_day_newer_is_larger_id_and_closed_older_counts():
    snap = snapshot(bills=[bill("9", 500, txn="2025-02-10", balance=0), bill("10", 500, txn="2025-02-10")])
    assert fired(snap, "possible_duplicate_bill") == [("bill", "10", 500)]


def test_duplicate_closed_newer_still_carries_the_issue():
    snap = snapshot(bills=[bill("1", 500, txn="2025-02-10"), bill("2", 500, txn="2025-02-12", balance=0)])
    issue = only(snap, "possible_duplicate_bill")
    assert (issue.qbo_id, issue.amount_cents) == ("2", 0)
    assert "paid bill may duplicate open bill 1" in issue.forecast_effect


def test_duplicate_by_doc_number_trimmed_case_sensitive():
    snap = snapshot(
        bills=[
            bill("1", 100, txn="2024-10-01", doc_number="INV-7"),
            bill("2", 999, txn="2025-02-01", doc_number=" INV-7 "),
            bill("3", 555, txn="2025-02-02", doc_number="inv-7"),
            bill("4", 777, txn="2025-02-03", doc_number="  "),
            bill("5", 888, txn="2025-02-20", doc_number=""),
        ]
    )
    assert fired(snap, "possible_duplicate_bill") == [("bill", "2", 999)]


def test_duplicate_one_issue_per_newer_bill_listing_all_matches():
    snap = snapshot(
        bills=[
            bill("1", 500, txn="2025-02-10"),
            bill("2", 500, txn="2025-02-11"),
            bill("3", 500, txn="2025-02-12"),
        ]
    )
    found = [i for i in issues(snap) if i.rule == "possible_duplicate_bill"]
    assert sorted(i.qbo_id for i in found) == ["2", "3"]
    assert next(i for i in found if i.qbo_id == "3").fix_params == {"other_bill_ids": "1,2"}


# --- invoice rules -----------------------------------------------------------------------------------


def test_invoice_missing_due_date():
    snap = snapshot(
        invoices=[
            invoice("I1", 5_000, txn="2025-02-20", due=None),
            invoice("I2", 5_000, due=None, balance=0),
            invoice("I3", 5_000),
        ]
    )
    assert fired(snap, "invoice_missing_due_date") == [("invoice", "I1", 5_000)]
    assert only(snap, "invoice_missing_due_date").forecast_effect == (
        "$50.00 invoice has no due date; assumed due 30 days after its date, expected in W3"
    )


def test_invoice_missing_due_date_mentions_lateness():
    snap = snapshot(
        invoices=[
            invoice("I1", 5_000, txn="2025-02-20", due=None),
            invoice("H", 1, due="2025-01-01", balance=0),
        ],
        payments=[payment("P", "2025-01-11", 1, "H")],
    )
    assert (
        "assumed due 30 days after its date; with 10 days typical lateness expected in W5"
        in only(snap, "invoice_missing_due_date").forecast_effect
    )


def test_stale_overdue_invoice_is_more_than_90_days():
    snap = snapshot(
        invoices=[
            invoice("I91", 100, due="2024-12-02"),
            invoice("I90", 200, due="2024-12-03"),
            invoice("Iold", 300, txn="2024-01-01", due=None),
            invoice("Ipaid", 400, due="2024-01-01", balance=0),
        ]
    )
    assert fired(snap, "stale_overdue_invoice") == [("invoice", "I91", 100)]
    assert "doubtful" in only(snap, "stale_overdue_invoice").forecast_effect


def test_stale_open_bill_is_more_than_60_days():
    snap = snapshot(
        bills=[
            bill("B61", 100, due="2025-01-01"),
            bill("B60", 200, due="2025-01-02"),
            bill("Bnone", 300, txn="2024-01-01", due=None),
        ],
        vendors=[vendor("V1", "T")],
    )
    assert fired(snap, "stale_open_bill") == [("bill", "B61", 100)]
    assert only(snap, "stale_open_bill").fix == "record_payment"


# --- uncategorized_line ------------------------------------------------------------------------------


def test_uncategorized_line_on_bill_and_purchase():
    snap = snapshot(
        accounts=[bank(0), account("80", "Uncategorized Expense"), account("81", "Ask My Accountant")],
        bills=[
            bill("B1", 100, lines=(line(100, "80", "Uncategorized Expense"),)),
            bill("B2", 200, lines=(line(150, "60"), line(50, "81", "stale ref name"))),
            bill("B3", 300, lines=(line(300, "80", "x"),), balance=0),
        ],
        purchases=[
            purchase("P1", "2024-03-03", 400, lines=(line(400, "80"),)),
            purchase("P2", "2024-03-02", 500, lines=(line(500, "80"),)),
        ],
    )
    assert fired(snap, "uncategorized_line") == [
        ("purchase", "P1", 400),
        ("bill", "B2", 200),
        ("bill", "B1", 100),
    ]


def test_uncategorized_line_uses_synced_name_then_ref_name():
    snap = snapshot(
        accounts=[account("80", "Office supplies")],
        bills=[
            bill("B1", 100, lines=(line(100, "80", "Uncategorized Expense"),)),
            bill("B2", 100, lines=(line(100, "99", "Uncategorised Asset"),)),
            bill("B3", 100, lines=(line(100, "98", "Ask my accountant (old)"),)),
            bill("B4", 100, lines=(line(100, "97", "Expenses: uncategorized"),)),
            bill(
                "B5", 100, lines=(line(100, "99", "Uncategorized", detail_type="ItemBasedExpenseLineDetail"),)
            ),
        ],
    )
    assert fired(snap, "uncategorized_line") == [("bill", "B2", 100)]


# --- vendor_missing_terms ----------------------------------------------------------------------------


def test_vendor_missing_terms_sums_undated_open_bills():
    snap = snapshot(
        vendors=[vendor("V1"), vendor("V2", "T1"), vendor("V3"), vendor("V4", "TD")],
        terms=[term("T1", 10), term("TD", None, "End of month")],
        bills=[
            bill("1", 100, due=None),
            bill("2", 250, due=None),
            bill("3", 999, due="2025-03-01"),
            bill("4", 777, due=None, balance=0),
            bill("5", 100, due=None, vendor_id="V2"),
            bill("6", 100, vendor_id="V3"),
            bill("7", 100, due=None, vendor_id="V4"),
        ],
    )
    # V4 has a TermRef (date-driven): the rule asks for no TermRef, so it does not fire.
    assert fired(snap, "vendor_missing_terms") == [("vendor", "V1", 350)]
    assert only(snap, "vendor_missing_terms").severity == "low"


# --- unapplied_customer_payment ----------------------------------------------------------------------


def test_unapplied_customer_payment_any_date():
    snap = snapshot(
        invoices=[invoice("I1", 9_000)],
        payments=[
            payment("P1", "2019-01-01", 5_000, unapplied=1_234),
            payment("P2", "2025-02-01", 5_000, "I0", unapplied=0),
        ],
    )
    assert fired(snap, "unapplied_customer_payment") == [("payment", "P1", 1_234)]
    assert (
        "($90.00) may be forecast as receipts again"
        in only(snap, "unapplied_customer_payment").forecast_effect
    )


# --- expense_to_vendor_with_open_bill ----------------------------------------------------------------


def test_expense_to_vendor_with_open_bill():
    snap = snapshot(
        accounts=[bank(0)],
        vendors=[vendor("V1"), vendor("V2")],
        bills=[bill("B1", 5_000, txn="2025-02-01", balance=3_000), bill("B9", 7_000, balance=0)],
        purchases=[
            purchase("P1", "2025-02-01", 3_000, entity_qbo_id="V1", entity_type="Vendor", paid_from="41"),
            purchase("P2", "2025-01-31", 3_000, entity_qbo_id="V1", entity_type="Vendor"),
            purchase("P3", "2025-02-05", 3_001, entity_qbo_id="V1", entity_type="Vendor"),
            purchase("P4", "2025-02-05", 3_000, entity_qbo_id="V1", entity_type="Customer"),
            purchase("P5", "2025-02-05", 3_000, entity_qbo_id="V2", entity_type="Vendor"),
            purchase("P6", "2025-02-05", 7_000, entity_qbo_id="V1", entity_type="Vendor"),
        ],
    )
    assert fired(snap, "expense_to_vendor_with_open_bill") == [("purchase", "P1", 3_000)]


def test_expense_to_vendor_counts_refunds_too():
    """The rule reads TotalAmt and EntityRef only; a vendor refund of the same amount also fires."""
    snap = snapshot(
        bills=[bill("B1", 3_000, txn="2025-02-01")],
        purchases=[
            purchase("P1", "2025-02-03", 3_000, entity_qbo_id="V1", entity_type="Vendor", credit=True)
        ],
    )
    assert fired(snap, "expense_to_vendor_with_open_bill") == [("purchase", "P1", 3_000)]


# --- undeposited_funds_lingering ---------------------------------------------------------------------


def test_undeposited_funds_lingering_needs_an_old_undeposited_receipt():
    base = snapshot(
        accounts=[bank(0), undeposited(12_000)],
        payments=[payment("P1", "2025-02-24", 5_000), payment("P2", "2025-02-20", 5_000)],
        sales_receipts=[sales_receipt("S1", "2025-02-01", 7_000, to="4")],
        deposits=[
            deposit("D1", "2025-02-21", dline(5_000, "Payment", "P2"), dline(7_000, "SalesReceipt", "S1"))
        ],
    )
    # P1 is 7 days old (not > 7), P2 and S1 were deposited.
    assert fired(base, "undeposited_funds_lingering") == []
    assert fired(base, "undeposited_funds_lingering", d("2025-03-04")) == [("account", "4", 12_000)]
    empty = replace(base, accounts=(bank(0), undeposited(0)))
    assert fired(empty, "undeposited_funds_lingering", d("2025-03-04")) == []


def test_undeposited_funds_found_by_name_without_sub_type():
    snap = snapshot(
        accounts=[account("9", "Undeposited Funds", "Other Current Asset", current_balance_cents=700)],
        sales_receipts=[sales_receipt("S1", "2025-01-01", 700, to="9")],
    )
    assert fired(snap, "undeposited_funds_lingering") == [("account", "9", 700)]


# --- totals_mismatch ---------------------------------------------------------------------------------


def test_totals_mismatch():
    snap = snapshot(
        bills=[
            bill("B1", 1_000, balance=1_001),
            bill("B2", 1_000, lines=(line(600), line(300))),
            bill("B3", 1_000, lines=(line(900),), total_tax_cents=100),
            bill("B4", 1_000, lines=(line(900),), total_tax_cents=0),
            bill("B5", 1_000, lines=(line(400), line(600))),
            bill("B6", 1_000, lines=()),
        ],
        invoices=[invoice("I1", 500, balance=600), invoice("I2", 500, balance=500)],
    )
    assert fired(snap, "totals_mismatch") == [
        ("bill", "B1", 1_001),
        ("bill", "B2", 1_000),
        ("bill", "B4", 1_000),
        ("invoice", "I1", 600),
    ]


# --- orphan_reference --------------------------------------------------------------------------------


def test_orphan_reference_ignores_inactive_parties():
    snap = snapshot(
        vendors=[vendor("V1", active=False)],
        customers=[customer("C1", active=False)],
        bills=[
            bill("B1", 100),
            bill("B2", 200, vendor_id="ghost"),
            bill("B3", 1, vendor_id="ghost", balance=0),
        ],
        invoices=[invoice("I1", 300), invoice("I2", 400, customer_id="ghost")],
    )
    assert fired(snap, "orphan_reference") == [("invoice", "I2", 400), ("bill", "B2", 200)]


# --- sync_stale --------------------------------------------------------------------------------------


def test_sync_stale():
    now = SNAPSHOT_AT
    fresh = snapshot(last_successful_sync_at=now - dt.timedelta(hours=24))
    assert fired(fresh, "sync_stale", now=now) == []
    stale = snapshot(last_successful_sync_at=now - dt.timedelta(hours=24, seconds=1))
    assert fired(stale, "sync_stale", now=now) == [("business", "9130357766900000", 0)]
    failed = snapshot(last_successful_sync_at=now - dt.timedelta(minutes=5), last_sync_failed=True)
    assert fired(failed, "sync_stale", now=now) == [("business", "9130357766900000", 0)]
    never = snapshot(last_successful_sync_at=None)
    assert fired(never, "sync_stale", now=now) == [("business", "9130357766900000", 0)]


def test_sync_stale_defaults_now_to_snapshot_time():
    snap = snapshot(last_successful_sync_at=SNAPSHOT_AT - dt.timedelta(hours=30))
    assert "30 hours ago" in only(snap, "sync_stale").forecast_effect


# --- ordering, score, registry -----------------------------------------------------------------------


def messy():
    return snapshot(
        accounts=[bank(0)],
        bills=[
            bill("10", 40_000, due=None),
            bill("9", 1_200, due=None),
            bill("11", 50_000, due="2025-03-20"),
        ],
        invoices=[invoice("2", 10_000, due=None), invoice("3", 30_000)],
        payments=[payment("P7", "2025-02-01", 900, unapplied=900)],
        purchases=[purchase("12", "2025-02-01", 99_999, lines=(line(99_999, "x", "Uncategorized"),))],
    )


def test_order_is_severity_then_amount_then_id():
    found = issues(messy())
    keys = [(i.severity, i.amount_cents, i.qbo_id, i.rule) for i in found]
    assert keys == [
        ("high", 40_000, "10", "bill_missing_due_date"),
        ("high", 1_200, "9", "bill_missing_due_date"),
        ("medium", 99_999, "12", "uncategorized_line"),
        ("medium", 10_000, "2", "invoice_missing_due_date"),
        ("medium", 900, "P7", "unapplied_customer_payment"),
        ("low", 41_200, "V1", "vendor_missing_terms"),
    ]


def test_order_breaks_amount_ties_by_integer_id():
    snap = snapshot(
        bills=[bill("10", 500, txn="2025-02-01", due=None), bill("9", 500, txn="2025-02-10", due=None)],
        vendors=[vendor("V1", "T")],
    )
    assert [i.qbo_id for i in issues(snap)] == ["9", "10"]


def test_score_is_cash_weighted_over_items_themselves():
    """Open 40,000 + 1,200 + 50,000 (bills) + 10,000 + 30,000 (invoices) = 131,200.

    Clean: bill 11 (50,000) and invoice 3 (30,000) = 80,000 -> floor(100 x 80,000 / 131,200) = 60.
    The purchase, payment and vendor issues do not make any bill or invoice dirty.
    """
    result = DataQualityCalculator().calculate(messy(), AS_OF)
    assert (result.open_cents, result.clean_cents, result.score) == (131_200, 80_000, 60)
    assert (result.count("high"), result.count("medium"), result.count("low")) == (2, 3, 1)


def test_score_ignores_low_severity_and_respects_caller_filtering():
    calc = DataQualityCalculator()
    found = issues(messy())
    without_high = [i for i in found if i.severity != "high"]
    assert calc.score(messy(), without_high).score == 92
    low_on_bill = replace(found[0], severity="low")
    assert calc.score(messy(), [low_on_bill]).score == 100


def test_score_is_100_when_nothing_is_open():
    snap = snapshot(bills=[bill("1", 100, balance=0)], last_successful_sync_at=None)
    result = DataQualityCalculator().calculate(snap, AS_OF)
    assert result.score == 100
    assert [i.rule for i in result.issues] == ["sync_stale"]


def test_score_rounds_down():
    snap = snapshot(bills=[bill("1", 2, due=None), bill("2", 1)], vendors=[vendor("V1", "T")])
    assert DataQualityCalculator().calculate(snap, AS_OF).score == 33


def test_one_issue_per_rule_and_entity():
    snap = snapshot(
        accounts=[account("80", "Uncategorized Expense")],
        bills=[bill("B1", 100, lines=(line(50, "80"), line(50, "80")))],
    )
    assert fired(snap, "uncategorized_line") == [("bill", "B1", 100)]


def test_fingerprint_changes_only_with_relevant_fields():
    snap = snapshot(bills=[bill("B1", 100, txn="2025-02-01", due="2025-01-01")], vendors=[vendor("V1", "T")])
    first = only(snap, "bill_due_before_txn")
    partly_paid = replace(snap, bills=(bill("B1", 100, txn="2025-02-01", due="2025-01-01", balance=40),))
    assert only(partly_paid, "bill_due_before_txn").fingerprint == first.fingerprint
    moved = replace(snap, bills=(bill("B1", 100, txn="2025-02-01", due="2025-01-02"),))
    assert only(moved, "bill_due_before_txn").fingerprint != first.fingerprint
    assert len(first.fingerprint) == 64


def test_wording_never_recommends():
    for issue in issues(messy()) + issues(
        snapshot(
            bills=[bill("1", 5, due="2024-01-01"), bill("2", 5, due="2024-01-01")],
            invoices=[invoice("3", 5, due="2024-01-01")],
            last_successful_sync_at=None,
        )
    ):
        assert "recommend" not in issue.forecast_effect.lower()
        assert "\n" not in issue.forecast_effect


def test_a_firm_adds_a_rule_with_one_function():
    firm_rules = DEFAULT_RULES.copy()

    @register_rule(
        "bill_over_limit", severity="low", attaches_to=("bill",), fix="open_in_qbo", registry=firm_rules
    )
    def bill_over_limit(ctx: RuleContext):
        for b in ctx.open_bills:
            if ctx.home_balance(b) > 1_000:
                yield ctx.finding(
                    "bill", b.qbo_id, ctx.home_balance(b), f"{ctx.money(ctx.home_balance(b))} bill"
                )
                yield ctx.finding("bill", b.qbo_id, 1, "a second finding for the same bill is merged")

    snap = snapshot(bills=[bill("1", 5_000), bill("2", 50)])
    found = DataQualityCalculator(firm_rules).issues(snap, AS_OF)
    assert [(i.rule, i.qbo_id, i.amount_cents, i.severity) for i in found] == [
        ("bill_over_limit", "1", 5_000, "low")
    ]
    assert "bill_over_limit" not in DEFAULT_RULES
    assert len(firm_rules) == len(DEFAULT_RULES) + 1
    assert firm_rules["bill_over_limit"].fix == "open_in_qbo"


def test_registry_rejects_duplicates_and_wrong_entities():
    registry = RuleRegistry()

    @registry.register("r", severity="high", attaches_to=("vendor",), fix="none")
    def rule(ctx):
        return [Finding("bill", "1", 0, "wrong entity")]

    with pytest.raises(ValueError, match="already registered"):
        registry.register("r", severity="high", attaches_to=("vendor",), fix="none")(rule)
    with pytest.raises(ValueError, match="attaches to"):
        DataQualityCalculator(registry).issues(snapshot(), AS_OF)


def test_issue_report_shape():
    issue = issues(messy())[0]
    assert issue.as_report() == {
        "rule": "bill_missing_due_date",
        "entity_type": "bill",
        "qbo_id": "10",
        "severity": "high",
        "amount_cents": 40_000,
    }
