"""Worked examples: three small companies computed by hand (PRODUCT §3), then by the calculators."""

from __future__ import annotations

from decimal import Decimal

from calc_factories import (
    bank,
    bill,
    bill_payment,
    card,
    credit_memo,
    d,
    deposit,
    dline,
    invoice,
    payment,
    purchase,
    sales_receipt,
    snapshot,
    vendor_credit,
)

from runway.services.calculators import AgingCalculator, RunwayCalculator, RunwaySettings


def _grid_rows(result):
    return [
        (
            w.week,
            w.start.isoformat(),
            w.opening_cents,
            w.receipts_invoices_cents,
            w.receipts_baseline_cents,
            w.disbursements_bills_cents,
            w.disbursements_baseline_cents,
            w.net_change_cents,
            w.ending_cents,
        )
        for w in result.grid
    ]


def steady_co():
    return snapshot(
        business_name="Steady Co",
        accounts=[
            bank(1_000_000),
            bank(999_999, "36", name="Old savings", active=False),
            card(45_000),
        ],
        purchases=[
            purchase("P1", "2024-12-15", 600_000),
            purchase("P2", "2025-02-10", 710_000),
            purchase("P3", "2025-01-20", 10_000, credit=True),
            purchase("P4", "2025-02-11", 500_000, paid_from="41"),
            purchase("P5", "2024-12-01", 99_900),
            purchase("P6", "2025-03-03", 99_900),
        ],
        deposits=[
            deposit(
                "D1",
                "2025-01-05",
                dline(1_000_000),
                dline(500_000, "SalesReceipt", "SR9"),
                dline(300_000, "Payment", "PAY1"),
            ),
            deposit("D2", "2025-02-20", dline(200_000)),
        ],
        sales_receipts=[
            sales_receipt("SR1", "2025-02-01", 250_000),
            sales_receipt("SR9", "2024-12-30", 500_000, to="4"),
            sales_receipt("SR2", "2025-02-02", 77_700, to="4"),
        ],
        invoices=[
            invoice("H1", 300_000, due="2025-01-10", balance=0),
            invoice("H2", 120_000, due="2025-02-01", balance=0),
            invoice("H3", 80_000, due="2025-02-20", balance=0),
            invoice("I1", 200_000, due="2025-03-10"),
        ],
        payments=[
            payment("PAY1", "2025-01-15", 300_000, "H1"),
            payment("PAY2", "2025-02-09", 120_000, "H2", deposit_to="35"),
            payment("PAY3", "2025-03-10", 80_000, "H3"),
            payment("PAY4", "2025-02-25", 5_000, unapplied=5_000),
        ],
        bills=[
            bill("B1", 300_000, due="2025-03-20"),
            bill("B2", 50_000, txn="2024-12-16", due="2025-01-15"),
        ],
        bill_payments=[
            bill_payment("BP1", "2025-02-14", 400_000),
            bill_payment("BP2", "2025-02-15", 90_000, paid_from="41"),
        ],
        credit_memos=[credit_memo("CM1", 15_000)],
    )


def test_steady_co_not_burning():
    """Steady Co, as_of Monday 2025-03-03 (W1 = 3-9 Mar, W13 ends Sunday 1 Jun).

    Cash now: Checking 10,000.00 (the inactive savings account does not count) = 1,000,000.
    Card owed 45,000, so cash net of cards = 955,000.

    Baseline window 2024-12-02 .. 2025-03-02:
      disbursements: P1 600,000 + P2 710,000 - P3 refund 10,000 = 1,300,000 (P4 is a card purchase,
      P5 is the day before the window, P6 is on as_of) -> weekly 100,000 -> 14,285 Mon-Sat, 14,290 Sun.
      receipts: D1 lines 1,000,000 + 500,000 (SalesReceipt link) [300,000 links a Payment: out]
      + D2 200,000 + SR1 250,000 (straight to bank) [SR9/SR2 went to Undeposited Funds] = 1,950,000
      -> weekly 150,000 -> 21,428 Mon-Sat, 21,432 Sun.
      Net per day: +7,143 Mon-Sat, +7,142 Sunday; +50,000 a week.

    Lateness of C1: H1 due 10 Jan paid 15 Jan (+5), H2 due 1 Feb paid 9 Feb (+8); H3's payment is dated
    10 Mar, after as_of, so H3 is not history. Mean 6.5 rounds half away from zero to 7.

    Events: I1 200,000 due 10 Mar + 7 = Monday 17 Mar (W3). B1 300,000 on 20 Mar (W3). B2 50,000 was due
    15 Jan: moved to as_of (W1).

    Grid: W1 1,000,000 + 150,000 - 50,000 - 100,000 = 1,000,000; W2 1,050,000;
    W3 +200,000 +150,000 -300,000 -100,000 = -50,000 -> 1,000,000; W4..W13 +50,000 each -> W13 1,500,000.
    Lowest weekly ending: 1,000,000 (W1, first of two). Lowest day: 3 Mar = 1,000,000 + 7,143 - 50,000
    = 957,143 (20 Mar is 1,050,000 + 3 x 7,143 + 7,143 + 200,000 - 300,000 = 978,572, higher).
    Ending W13 1,500,000 >= cash now: not burning, green, no days/weeks/date.

    Burn, 13 weeks (2 Dec .. 2 Mar): outflows 1,300,000 + BP1 400,000 (BP2 was paid by card) = 1,700,000
    -> gross 130,769 a week; inflows: every deposit line 2,000,000 + SR1 250,000 + PAY2 120,000 (straight
    to bank) = 2,370,000 -> net (1,700,000 - 2,370,000) / 13 = -51,538.46 -> -51,538.
    Burn, 4 weeks (3 Feb .. 2 Mar): outflows P2 710,000 + BP1 400,000 = 1,110,000 -> 277,500;
    inflows D2 200,000 + PAY2 120,000 = 320,000 -> net 790,000 / 4 = 197,500.
    """
    result = RunwayCalculator().calculate(steady_co(), d("2025-03-03"))

    assert result.cash_now_cents == 1_000_000
    assert result.card_balance_cents == 45_000
    assert result.cash_net_of_cards_cents == 955_000
    assert result.baseline.disbursements_total_cents == 1_300_000
    assert result.baseline.receipts_total_cents == 1_950_000
    assert (result.baseline.weekly_disbursements_cents, result.baseline.weekly_receipts_cents) == (
        100_000,
        150_000,
    )
    assert result.typical_lateness == {"C1": 7}
    assert [(e.kind, e.qbo_id, e.on.isoformat()) for e in result.events] == [
        ("bill", "B2", "2025-03-03"),
        ("invoice", "I1", "2025-03-17"),
        ("bill", "B1", "2025-03-20"),
    ]
    endings = [1_000_000, 1_050_000, 1_000_000] + [1_000_000 + 50_000 * k for k in range(1, 11)]
    assert [w.ending_cents for w in result.grid] == endings
    w1, w2, w3 = result.grid[:3]
    assert (w1.receipts_baseline_cents, w1.disbursements_bills_cents, w1.disbursements_baseline_cents) == (
        150_000,
        50_000,
        100_000,
    )
    assert (w3.receipts_invoices_cents, w3.disbursements_bills_cents, w3.net_change_cents) == (
        200_000,
        300_000,
        -50_000,
    )
    assert w2.opening_cents == 1_000_000
    assert result.lowest_cash_cents == 1_000_000
    assert result.lowest_cash_week == 1
    assert (result.lowest_daily_cents, result.lowest_daily_date) == (957_143, d("2025-03-03"))
    assert result.balance_on(d("2025-03-20")) == 978_572
    assert result.runway.not_burning
    assert (result.runway.days, result.runway.weeks, result.runway.cash_zero_date) == (None, None, None)
    assert result.runway.status == "green"
    assert (result.burn_13w.gross_weekly_cents, result.burn_13w.net_weekly_cents) == (130_769, -51_538)
    assert (result.burn_4w.gross_weekly_cents, result.burn_4w.net_weekly_cents) == (277_500, 197_500)


def test_steady_co_aging():
    """Aging on 2025-03-03 ages from DueDate, never from terms or lateness.

    AP: B1 due 20 Mar -> current 300,000; B2 due 15 Jan -> 47 days -> 31-60 50,000; no vendor credit.
    AR: I1 due 10 Mar -> current 200,000; unapplied = PAY4 5,000 + CM1 15,000 = 20,000, so QBO's
    AgedReceivables total would be 200,000 - 20,000 = 180,000.
    """
    aging = AgingCalculator().calculate(steady_co(), d("2025-03-03"))
    assert aging.ap.as_report() == {
        "current": 300_000,
        "1_30": 0,
        "31_60": 50_000,
        "61_90": 0,
        "91_plus": 0,
        "unapplied": 0,
    }
    assert aging.ar.as_report() == {
        "current": 200_000,
        "1_30": 0,
        "31_60": 0,
        "61_90": 0,
        "91_plus": 0,
        "unapplied": 20_000,
    }
    assert aging.ar.net_cents == 180_000


def tight_ltd():
    return snapshot(
        business_name="Tight Ltd",
        accounts=[bank(500_000)],
        purchases=[purchase("P1", "2025-01-10", 2_600_000)],
        invoices=[
            invoice("I1", 100_000, due="2025-03-07"),
            invoice("I2", 50_000, txn="2024-10-31", due="2024-11-30"),
        ],
        bills=[bill("B1", 250_000, due="2025-03-01")],
        vendor_credits=[vendor_credit("VC1", 10_000)],
    )


def test_tight_ltd_runs_out_in_week_3():
    """Tight Ltd, as_of Wednesday 2025-03-05 (W1 starts Monday 3 Mar but simulates 5-9 Mar only).

    Cash now 500,000. Baseline: purchases 2,600,000 / 13 = 200,000 a week -> 28,571 Mon-Sat, 28,574 Sun;
    no baseline receipts. I2 was due 30 Nov 2024: 95 days > 90, doubtful, contributes nothing.
    B1 was due 1 Mar: moved to as_of. I1 due Fri 7 Mar, customer without history -> 7 Mar.

    Day by day (closing balance):
      Wed  5 Mar  500,000 - 250,000 - 28,571            = 221,429
      Thu  6 Mar                        - 28,571         = 192,858
      Fri  7 Mar  + 100,000             - 28,571         = 264,287
      Sat  8 Mar                        - 28,571         = 235,716
      Sun  9 Mar                        - 28,574         = 207,142   (W1 ending)
      Mon 10 Mar .. Sat 15 Mar, -28,571 a day            = 35,716
      Sun 16 Mar                        - 28,574         = 7,142     (W2 ending)
      Mon 17 Mar                        - 28,571         = -21,429   first day below zero
    W1: receipts 100,000, bills 250,000, baseline 4 x 28,571 + 28,574 = 142,858, net -292,858.
    Cash-zero date 17 Mar, runway 12 days = 1.714 weeks -> 1.7, red (< 28 days).
    W3..W13 lose 200,000 each: W13 ending 7,142 - 11 x 200,000 = -2,192,858 = lowest week, and the
    lowest day is its Sunday, 1 Jun. With a 1,000.00 minimum-cash line, the first day below it is
    13 Mar (92,858) and every week from W2 is below.
    """
    result = RunwayCalculator(RunwaySettings(minimum_cash_cents=100_000)).calculate(
        tight_ltd(), d("2025-03-05")
    )
    assert _grid_rows(result)[:3] == [
        (1, "2025-03-03", 500_000, 100_000, 0, 250_000, 142_858, -292_858, 207_142),
        (2, "2025-03-10", 207_142, 0, 0, 0, 200_000, -200_000, 7_142),
        (3, "2025-03-17", 7_142, 0, 0, 0, 200_000, -200_000, -192_858),
    ]
    assert result.grid[-1].ending_cents == -2_192_858
    assert [x.balance_cents for x in result.days[:13]] == [
        221_429,
        192_858,
        264_287,
        235_716,
        207_142,
        178_571,
        150_000,
        121_429,
        92_858,
        64_287,
        35_716,
        7_142,
        -21_429,
    ]
    assert [x.qbo_id for x in result.doubtful_invoices] == ["I2"]
    assert result.runway.cash_zero_date == d("2025-03-17")
    assert result.runway.days == 12
    assert result.runway.weeks == Decimal("1.7")
    assert result.runway.status == "red"
    assert result.runway.within_grid
    assert (result.lowest_cash_cents, result.lowest_cash_week) == (-2_192_858, 13)
    assert (result.lowest_daily_cents, result.lowest_daily_date) == (-2_192_858, d("2025-06-01"))
    assert result.first_below_minimum_date == d("2025-03-13")
    assert [w.below_minimum for w in result.grid] == [False] + [True] * 12


def test_tight_ltd_aging_includes_doubtful():
    """AP: B1 4 days past due -> 1-30 250,000; vendor credit 10,000 unapplied.

    AR: I1 due 7 Mar -> current 100,000; doubtful I2 95 days -> 91+ 50,000 (doubtful stays in aging).
    """
    aging = AgingCalculator().calculate(tight_ltd(), d("2025-03-05"))
    assert aging.ap.as_report() == {
        "current": 0,
        "1_30": 250_000,
        "31_60": 0,
        "61_90": 0,
        "91_plus": 0,
        "unapplied": 10_000,
    }
    assert aging.ar.as_report() == {
        "current": 100_000,
        "1_30": 0,
        "31_60": 0,
        "61_90": 0,
        "91_plus": 50_000,
        "unapplied": 0,
    }


def long_runway_inc():
    return snapshot(
        business_name="Long Runway Inc",
        accounts=[bank(10_000_000)],
        purchases=[purchase("P1", "2024-12-10", 2_000_000), purchase("P2", "2025-02-25", 1_900_013)],
        deposits=[deposit("D1", "2025-01-15", dline(2_600_000))],
        invoices=[invoice("I1", 500_000, due="2025-03-24")],
        bills=[bill("B1", 400_000, due="2025-04-09"), bill("B2", 250_000, due="2025-07-15")],
    )


def test_long_runway_extrapolates_beyond_week_13():
    """Long Runway Inc, as_of Monday 2025-03-03; 91 simulated days (3 Mar .. Sunday 1 Jun).

    Baseline: purchases 3,900,013 / 13 = 300,001 a week -> 42,857 Mon-Sat and 300,001 - 6 x 42,857 =
    42,859 Sunday; deposits 2,600,000 / 13 = 200,000 -> 28,571 Mon-Sat, 28,574 Sun. Net -100,001 a week.
    I1 500,000 on Monday 24 Mar (W4); B1 400,000 on Wednesday 9 Apr (W6); B2 (15 Jul) is "later".

    Grid endings: W1 9,899,999, W2 9,799,998, W3 9,699,997, W4 +399,999 -> 10,099,996, W5 9,999,995,
    W6 -500,001 -> 9,499,994, then -100,001 a week to W13 8,799,987.
    No day is below zero. m = (8,799,987 - 10,000,000) / 91 < 0, so runway = 91 + floor(8,799,987 x 91 /
    1,200,013) = 91 + floor(800,798,817 / 1,200,013) = 91 + 667 = 758 days (108.29 -> 108.3 weeks);
    cash-zero date 3 Mar 2025 + 758 days = 31 Mar 2027. Green.
    """
    result = RunwayCalculator().calculate(long_runway_inc(), d("2025-03-03"))
    assert [w.ending_cents for w in result.grid] == [
        9_899_999,
        9_799_998,
        9_699_997,
        10_099_996,
        9_999_995,
        9_499_994,
        9_399_993,
        9_299_992,
        9_199_991,
        9_099_990,
        8_999_989,
        8_899_988,
        8_799_987,
    ]
    assert result.days[0].disbursements_baseline_cents == 42_857
    assert result.days[6].disbursements_baseline_cents == 42_859
    assert result.days[6].receipts_baseline_cents == 28_574
    assert [e.qbo_id for e in result.later_events] == ["B2"]
    assert result.runway.days == 758
    assert result.runway.weeks == Decimal("108.3")
    assert result.runway.cash_zero_date == d("2027-03-31")
    assert not result.runway.within_grid
    assert result.runway.status == "green"
    assert (result.lowest_daily_cents, result.lowest_daily_date) == (8_799_987, d("2025-06-01"))


def test_long_runway_aging_all_current():
    """Nothing is past due on 3 Mar: AP current 650,000 (B1 + B2), AR current 500,000."""
    aging = AgingCalculator().calculate(long_runway_inc(), d("2025-03-03"))
    assert aging.ap.current_cents == 650_000
    assert aging.ap.open_cents == 650_000
    assert aging.ar.current_cents == aging.ar.open_cents == 500_000
