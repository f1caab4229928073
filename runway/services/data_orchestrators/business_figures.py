"""Data orchestrator (shared): one business's figures from the calculators — runway, aging, hygiene, the
decisions waiting, this week's bills and the overdue invoices — so the dashboard, the summary rows and the
digest all show the same numbers as `runway report`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from runway.services.calculators import (
    AgingCalculator,
    AgingResult,
    DataQualityCalculator,
    HygieneResult,
    PriorityCalculator,
    QueueItem,
    RunwayCalculator,
    RunwayResult,
)
from runway.services.data_orchestrators.runway_inputs import RunwayInputs, monday_of, party_names


@dataclass(frozen=True, slots=True)
class ItemLine:
    """A bill or invoice as the digest and the dashboard list it.

    Attributes:
        entity_type: ``bill`` or ``invoice``.
        qbo_id: Its QBO Id.
        party: Vendor or customer name.
        doc_number: Its document number, when it has one.
        amount_cents: Open balance, home-currency cents.
        due_date: Effective due date.
        days_overdue: Days past the effective due date on ``as_of`` (0 when not past).
        doubtful: An invoice over 90 days past due (the forecast counts nothing from it).
        blocked: An open high-severity hygiene issue blocks a decision on it.
    """

    entity_type: str
    qbo_id: str
    party: str
    doc_number: str | None
    amount_cents: int
    due_date: dt.date
    days_overdue: int
    doubtful: bool = False
    blocked: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "qbo_id": self.qbo_id,
            "party": self.party,
            "doc_number": self.doc_number,
            "amount_cents": self.amount_cents,
            "due_date": self.due_date.isoformat(),
            "days_overdue": self.days_overdue,
            "doubtful": self.doubtful,
            "blocked": self.blocked,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemLine:
        return cls(
            entity_type=str(data["entity_type"]),
            qbo_id=str(data["qbo_id"]),
            party=str(data.get("party") or ""),
            doc_number=data.get("doc_number"),
            amount_cents=int(data["amount_cents"]),
            due_date=dt.date.fromisoformat(str(data["due_date"])),
            days_overdue=int(data.get("days_overdue") or 0),
            doubtful=bool(data.get("doubtful")),
            blocked=bool(data.get("blocked")),
        )


@dataclass(frozen=True, slots=True)
class BusinessFigures:
    """Everything one business's screens show, computed once from one `RunwayInputs`.

    Attributes:
        inputs: What the figures were computed from.
        runway: The forecast (grid, runway, lowest cash).
        aging: AP and AR aging.
        hygiene: Open issues and the hygiene score.
        waiting: Queue items without a decision this week, in console order.
        bills_due: Bills the forecast pays in the ``as_of`` week (due or planned by Sunday), by date.
        overdue_invoices: Open invoices past their effective due date, most overdue first.
    """

    inputs: RunwayInputs
    runway: RunwayResult
    aging: AgingResult
    hygiene: HygieneResult
    waiting: tuple[ItemLine, ...]
    bills_due: tuple[ItemLine, ...]
    overdue_invoices: tuple[ItemLine, ...]

    @property
    def week_start(self) -> dt.date:
        return monday_of(self.inputs.as_of)

    @property
    def bills_due_cents(self) -> int:
        return sum(line.amount_cents for line in self.bills_due)

    @property
    def overdue_invoices_cents(self) -> int:
        return sum(line.amount_cents for line in self.overdue_invoices)

    @property
    def lowest_cash_week_start(self) -> dt.date:
        return self.runway.grid[self.runway.lowest_cash_week - 1].start


def compute_figures(inputs: RunwayInputs) -> BusinessFigures:
    """Run the calculators over one business's inputs.

    Raises:
        CurrencyMismatchError: A foreign-currency amount cannot be converted to the home currency.
    """
    snapshot, as_of, plan = inputs.snapshot, inputs.as_of, inputs.plan
    runway = RunwayCalculator().calculate(
        snapshot, as_of, planned_dates=plan.planned_dates, chased_invoice_ids=plan.chased_invoice_ids
    )
    aging = AgingCalculator().calculate(snapshot, as_of)
    hygiene = DataQualityCalculator().score(snapshot, inputs.open_issues)
    queue = PriorityCalculator().queue(
        snapshot, as_of, critical_vendor_ids=plan.critical_vendor_ids, open_issues=inputs.open_issues
    )
    names = party_names(snapshot)
    docs = {("bill", b.qbo_id): b.doc_number for b in snapshot.bills}
    docs.update({("invoice", i.qbo_id): i.doc_number for i in snapshot.invoices})

    def line(item: QueueItem) -> ItemLine:
        return ItemLine(
            entity_type=item.entity_type,
            qbo_id=item.qbo_id,
            party=names.get((item.entity_type, item.party_qbo_id), ""),
            doc_number=docs.get((item.entity_type, item.qbo_id)),
            amount_cents=item.amount_cents,
            due_date=item.effective_due_date,
            days_overdue=item.days_overdue,
            doubtful=item.doubtful,
            blocked=item.blocked,
        )

    waiting = tuple(line(item) for item in queue if (item.entity_type, item.qbo_id) not in plan.settled)
    overdue = tuple(line(item) for item in queue if item.entity_type == "invoice")
    week_end = monday_of(as_of) + dt.timedelta(days=6)
    bills_due = tuple(
        ItemLine(
            entity_type="bill",
            qbo_id=event.qbo_id,
            party=names.get(("bill", event.party_qbo_id), ""),
            doc_number=docs.get(("bill", event.qbo_id)),
            amount_cents=event.amount_cents,
            due_date=event.effective_due_date,
            days_overdue=max((as_of - event.effective_due_date).days, 0),
        )
        for event in runway.events
        if event.kind == "bill" and event.on <= week_end
    )
    return BusinessFigures(inputs, runway, aging, hygiene, waiting, bills_due, overdue)
