"""AgingCalculator bucket edges and the PRODUCT §6 report document."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from calc_factories import (
    bank,
    bill,
    credit_memo,
    d,
    invoice,
    payment,
    purchase,
    snapshot,
    vendor_credit,
)

from runway.services.calculators import (
    AgingCalculator,
    DataQualityCalculator,
    MissingExchangeRateError,
    PlannedDate,
    RunwaySettings,
    build_runway_report,
)
from runway.services.calculators.aging_calculator import bucket_for

AS_OF = d("2025-03-03")


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-5, "current"), (0, "current"), (1, "1_30"), (30, "1_30"), (31, "31_60"), (60, "31_60"), (61, "61_90"),
     (90, "61_90"), (91, "91_plus"), (400, "91_plus")],
)  # fmt: skip
def test_bucket_edges(days, bucket):
    assert bucket_for(days) == bucket


def test_aging_uses_due_date_else_txn_date_never_terms():
    snap = snapshot(
        bills=[bill("1", 100, txn="2025-01-01", due=None, sales_term_qbo_id="T60")],
        invoices=[invoice("2", 200, txn="2025-02-01", due=None), invoice("3", 300, due="2025-03-04")],
    )
    aging = AgingCalculator().calculate(snap, AS_OF)
    assert aging.ap.days_61_90_cents == 100
    assert aging.ar.days_1_30_cents == 200
    assert aging.ar.current_cents == 300
    assert [i.qbo_id for i in aging.aged_from_txn_date] == ["1", "2"]


def test_aging_unapplied_and_net():
    snap = snapshot(
        bills=[bill("1", 1_000)],
        invoices=[invoice("2", 5_000)],
        vendor_credits=[vendor_credit("VC1", 300), vendor_credit("VC2", 0, total=50)],
        credit_memos=[credit_memo("CM1", 400), credit_memo("CM2", 0, total=90)],
        payments=[payment("P1", "2025-01-01", 700, unapplied=250), payment("P2", "2025-01-01", 50, "2")],
    )
    aging = AgingCalculator().calculate(snap, AS_OF)
    assert (aging.ap.unapplied_cents, aging.ap.net_cents) == (300, 700)
    assert (aging.ar.unapplied_cents, aging.ar.net_cents) == (650, 4_350)


def test_aging_nothing_open_is_all_zero():
    aging = AgingCalculator().calculate(snapshot(bills=[bill("1", 10, balance=0)]), AS_OF)
    assert aging.ap.as_report() == dict.fromkeys(
        ["current", "1_30", "31_60", "61_90", "91_plus", "unapplied"], 0
    )
    assert aging.ap_items == ()


def test_aging_converts_foreign_balances():
    snap = snapshot(
        invoices=[invoice("1", 1_001, currency="EUR", exchange_rate=Decimal("1.5"))],
        credit_memos=[credit_memo("CM1", 100, currency="EUR", home_balance_cents=111)],
    )
    aging = AgingCalculator().calculate(snap, AS_OF)
    assert aging.ar.current_cents == 1_502
    assert aging.ar.unapplied_cents == 111
    with pytest.raises(MissingExchangeRateError):
        AgingCalculator().calculate(snapshot(bills=[bill("1", 5, currency="EUR")]), AS_OF)


REPORT_KEYS = [
    "business",
    "as_of",
    "snapshot_at",
    "currency",
    "cash_now_cents",
    "grid",
    "runway",
    "lowest_cash_cents",
    "lowest_daily_cents",
    "lowest_daily_date",
    "aging",
    "hygiene",
]
GRID_KEYS = [
    "week",
    "start",
    "opening_cents",
    "receipts_invoices_cents",
    "receipts_baseline_cents",
    "disbursements_bills_cents",
    "disbursements_baseline_cents",
    "net_change_cents",
    "ending_cents",
]


def burning_snapshot():
    return snapshot(
        business_name="Tight Ltd",
        accounts=[bank(500_000)],
        purchases=[purchase("P1", "2025-01-10", 2_600_000)],
        invoices=[
            invoice("I1", 100_000, due="2025-03-07"),
            invoice("I2", 50_000, txn="2024-10-31", due="2024-11-30"),
        ],
        bills=[bill("B1", 250_000, due="2025-03-01")],
    )


def test_report_shape_and_values():
    report = build_runway_report(burning_snapshot(), d("2025-03-05"))
    assert list(report) == REPORT_KEYS
    assert report["business"] == "Tight Ltd"
    assert (report["as_of"], report["snapshot_at"], report["currency"]) == (
        "2025-03-05",
        "2025-03-03T08:00:00+00:00",
        "USD",
    )
    assert len(report["grid"]) == 13
    assert all(list(row) == GRID_KEYS for row in report["grid"])
    assert [row["week"] for row in report["grid"]] == list(range(1, 14))
    assert report["grid"][0]["start"] == "2025-03-03"
    assert report["runway"] == {
        "days": 12,
        "weeks": "1.7",
        "cash_zero_date": "2025-03-17",
        "status": "red",
        "not_burning": False,
    }
    assert (report["lowest_cash_cents"], report["lowest_daily_cents"], report["lowest_daily_date"]) == (
        -2_192_858,
        -2_192_858,
        "2025-06-01",
    )
    assert set(report["aging"]) == {"ap", "ar"}
    assert list(report["aging"]["ar"]) == ["current", "1_30", "31_60", "61_90", "91_plus", "unapplied"]
    assert report["aging"]["ar"]["91_plus"] == 50_000
    assert list(report["hygiene"]) == ["score", "issues"]
    assert [i["rule"] for i in report["hygiene"]["issues"]] == ["stale_overdue_invoice"]
    assert report["hygiene"]["score"] == 87
    assert json.loads(json.dumps(report)) == report


def test_report_not_burning_has_nulls():
    report = build_runway_report(snapshot(accounts=[bank(100)]), AS_OF)
    assert report["runway"] == {
        "days": None,
        "weeks": None,
        "cash_zero_date": None,
        "status": "green",
        "not_burning": True,
    }
    assert report["hygiene"] == {"score": 100, "issues": []}


def test_report_uses_settings_decisions_and_given_issues():
    snap = burning_snapshot()
    settings = RunwaySettings(red_below_days=7, amber_through_days=14)
    report = build_runway_report(
        snap,
        d("2025-03-05"),
        settings,
        planned_dates=[PlannedDate("bill", "B1", d("2025-06-30"))],
        hygiene_issues=[],
    )
    assert report["runway"]["status"] == "green"
    assert report["runway"]["days"] == 21
    assert report["hygiene"] == {"score": 100, "issues": []}
    issues = DataQualityCalculator().issues(snap, d("2025-03-05"))
    assert build_runway_report(snap, d("2025-03-05"), hygiene_issues=issues)["hygiene"]["score"] == 87


def test_report_amounts_are_ints():
    report = build_runway_report(burning_snapshot(), d("2025-03-05"))

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        else:
            assert not isinstance(node, float), key
            if key.endswith("_cents") or key in {"current", "1_30", "31_60", "61_90", "91_plus", "unapplied"}:
                assert type(node) is int, key

    walk(report)
