"""Domain (QBO demo): the bookkeeping mistakes of the messy company, one or more for every hygiene rule.

Each problem is a small story a bookkeeper would recognise (a bill keyed in twice, a check left in
Undeposited Funds, a vendor that was merged away), written so that it meets the exact detection rule of
PRODUCT §4 on `today`. Only `sync_stale` is absent: it is about sync records, not about the books.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from domains.qbo.demo.book import CHECKING, UNCATEGORIZED, UNDEPOSITED
from domains.qbo.demo.history import DOCUMENTS, PAYMENTS, History, business_day

GREEN_VALLEY = "Green Valley Nursery"
ROCKY_RIDGE = "Rocky Ridge Stone & Gravel"
FLEET_FUEL = "Fleet Fuel Cards"
SIERRA = "Sierra Equipment Rental"
HILLSIDE = "Hillside Irrigation Supply"
OLD_MILL = "Old Mill Lumber"


def add_problems(history: History) -> None:
    """Schedule the deliberate mistakes into the messy company's year."""
    book = history.book
    agenda = history.agenda
    ago = history.days_ago
    card = history.profile.card_account

    def later(days: int) -> dt.timedelta:
        return dt.timedelta(days=days)

    # A vendor without terms sends a bill that was entered without a due date.
    agenda.at(
        ago(12),
        DOCUMENTS,
        lambda day: book.bill(
            ROCKY_RIDGE,
            txn_date=day,
            due_date=None,
            parts=[("Materials", 137_500, "Boulders for the Henderson job")],
            doc_number="RR-5520",
        ),
    )
    # The due date was typed with last month's date.
    agenda.at(
        ago(6),
        DOCUMENTS,
        lambda day: book.bill(
            FLEET_FUEL,
            txn_date=day,
            due_date=day - later(30),
            parts=[("Fuel", 64_820, "Crew truck fuel")],
            doc_number="FF-20931",
            term="Net 15",
        ),
    )

    # The same nursery invoice keyed in twice, once from the paper copy and once from the e-mail.
    def keyed_in(number: str | None) -> Callable[[dt.date], object]:
        return lambda day: book.bill(
            GREEN_VALLEY,
            txn_date=day,
            due_date=day + later(30),
            parts=[("Plants & Soil", 234_000, "Japanese maples (12)")],
            doc_number=number,
            term="Net 30",
        )

    agenda.at(ago(9), DOCUMENTS, keyed_in("88412"))
    agenda.at(ago(7), DOCUMENTS, keyed_in(None))

    # The irrigation supplier reused an invoice number: one paid in the summer, one open now.
    def reused_number(day: dt.date, cents: int, paid: bool) -> None:
        bill = book.bill(
            HILLSIDE,
            txn_date=day,
            due_date=day + later(30),
            parts=[("Supplies", cents, "Drip line and valves")],
            doc_number="HIS-2210",
            term="Net 30",
        )
        if paid:
            history.pay_bill_on(business_day(day + later(24), history.today), HILLSIDE, bill, CHECKING)

    agenda.at(ago(64), DOCUMENTS, lambda day: reused_number(day, 112_000, paid=True))
    agenda.at(ago(8), DOCUMENTS, lambda day: reused_number(day, 98_000, paid=False))

    # A bill from a vendor since made inactive, probably paid by hand and never recorded.
    agenda.at(
        ago(105),
        DOCUMENTS,
        lambda day: book.bill(
            OLD_MILL,
            txn_date=day,
            due_date=day + later(30),
            parts=[("Materials", 73_640, "Redwood planter boxes")],
            doc_number="OML-7731",
            term="Net 30",
        ),
    )
    # A delivery fee nobody categorised, on a bill and on a card purchase.
    agenda.at(
        ago(4),
        DOCUMENTS,
        lambda day: book.bill(
            SIERRA,
            txn_date=day,
            due_date=day + later(15),
            parts=[
                ("Equipment Rental", 64_000, "Mini excavator, 2 days"),
                (UNCATEGORIZED, 8_500, "Delivery and pickup"),
            ],
            doc_number="SER-4410",
            term="Net 15",
        ),
    )
    agenda.at(
        ago(33),
        DOCUMENTS,
        lambda day: book.purchase(
            "Home Depot", day, paid_from=card, parts=[(UNCATEGORIZED, 21_247, "Receipt lost")]
        ),
    )
    # A rental bill that the owner then paid on the card as an expense, leaving the bill open.
    agenda.at(
        ago(20),
        DOCUMENTS,
        lambda day: book.bill(
            SIERRA,
            txn_date=day,
            due_date=day + later(15),
            parts=[("Equipment Rental", 118_000, "Skid steer, 1 week")],
            doc_number="SER-4378",
            term="Net 15",
        ),
    )
    agenda.at(
        ago(8),
        DOCUMENTS,
        lambda day: book.purchase(
            SIERRA, day, paid_from=card, parts=[("Equipment Rental", 118_000, "Skid steer rental")]
        ),
    )
    # Lines that add up to $1,845.00 on a bill whose total was typed as $1,854.00.
    agenda.at(
        ago(5),
        DOCUMENTS,
        lambda day: book.bill(
            GREEN_VALLEY,
            txn_date=day,
            due_date=day + later(30),
            parts=[
                ("Plants & Soil", 120_000, "Flats of perennials"),
                ("Plants & Soil", 64_500, "Compost, 15 yards"),
            ],
            doc_number="88530",
            term="Net 30",
            total_cents=185_400,
        ),
    )
    # A bill still pointing at a vendor that was merged into another and no longer exists.
    orphan_id = book.new_id()
    agenda.at(
        ago(14),
        DOCUMENTS,
        lambda day: book.bill(
            "Redwood Tree Service",
            txn_date=day,
            due_date=day + later(30),
            parts=[("Equipment Rental", 215_000, "Crane and climber, oak removal")],
            doc_number="RTS-0412",
            vendor_id=orphan_id,
        ),
    )

    # Customer side: an invoice saved without a due date.
    agenda.at(
        ago(10),
        DOCUMENTS,
        lambda day: book.invoice(
            "The Hendersons",
            txn_date=day,
            due_date=None,
            parts=[("Landscaping Labor", 12, 6_500), ("Plants & Materials", 1, 34_000)],
            term="Due on receipt",
        ),
    )
    # A disputed HOA invoice four months overdue.
    agenda.at(
        ago(150),
        DOCUMENTS,
        lambda day: book.invoice(
            "Lakeside HOA",
            txn_date=day,
            due_date=day + later(30),
            parts=[("Landscaping Labor", 40, 6_500)],
            term="Net 30",
        ),
    )
    # A late fee added to the balance by hand, so the balance is more than the invoice total.
    agenda.at(
        ago(12),
        DOCUMENTS,
        lambda day: book.invoice(
            "Willow Glen Office Park",
            txn_date=day,
            due_date=day + later(30),
            parts=[("Maintenance Contract", 1, 185_000)],
            term="Net 30",
            balance_cents=203_500,
        ),
    )
    # A prepayment taken on account and never applied to an invoice.
    agenda.at(
        ago(15),
        PAYMENTS,
        lambda day: book.receive_payment(
            "Cambrian Park Apartments", day, [], deposit_to=CHECKING, unapplied_cents=150_000
        ),
    )

    # A check received and left in Undeposited Funds for three weeks.
    def check_in_the_drawer(day: dt.date) -> None:
        invoice = book.invoice(
            "The Hendersons",
            txn_date=day,
            due_date=day,
            parts=[("Landscaping Labor", 6, 6_500)],
            term="Due on receipt",
        )

        def receive(on: dt.date) -> None:
            payment = book.receive_payment(
                "The Hendersons", on, [invoice], deposit_to=UNDEPOSITED, ref_num="2291"
            )
            history.lingering.add(("Payment", payment["Id"]))

        agenda.at(ago(23), PAYMENTS, receive)

    agenda.at(ago(30), DOCUMENTS, check_in_the_drawer)
