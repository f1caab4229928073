"""Experience: the weekly digest of a business and of a firm — as a page and as an e-mail — and the weekly
send, which goes out at most once per business or firm per ISO week."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from domains.core.permissions import Capability, can
from runway.services.data_orchestrators.business_figures import ItemLine, compute_figures
from runway.services.data_orchestrators.digest_data_orchestrator import (
    DigestDataOrchestrator,
    FirmClient,
    Recipients,
    SendRecord,
)
from runway.services.data_orchestrators.runway_inputs import issue_key, local_today, monday_of

__all__ = [
    "BusinessDigestView",
    "DigestEmail",
    "DigestService",
    "FirmDigestView",
    "NotAllowedError",
    "NotFoundError",
    "RecipientError",
    "SendOutcome",
]

TOP_DECISIONS = 5
LIST_LIMIT = 10
FIRM_MANAGER_ROLES = frozenset({"admin", "advisor"})
STATUS_LABELS = {"red": "Red", "amber": "Amber", "green": "Green", "unknown": "No data"}
SYNC_STALE_AFTER = dt.timedelta(hours=24)


class NotFoundError(LookupError):
    """No such business or firm for this user."""


class NotAllowedError(Exception):
    """The user may read this digest but not change its recipients."""


class RecipientError(ValueError):
    """An address that cannot receive the digest; the message says why."""


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """Absolute links back into the app (e-mails need the host)."""

    dashboard: str
    digest: str
    hygiene: str
    console: str


@dataclass(frozen=True, slots=True)
class RecipientsView:
    explicit: tuple[tuple[int, str], ...]
    defaults: tuple[str, ...]
    can_manage: bool
    default_label: str

    @property
    def effective(self) -> tuple[str, ...]:
        return tuple(email for _, email in self.explicit) if self.explicit else self.defaults


@dataclass(frozen=True, slots=True)
class RecipientsPanel:
    """The digest's e-mail box: who gets it, whether this week's went out, and the forms' target."""

    recipients: RecipientsView
    send: SendRecord | None
    action: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IssueChanges:
    """Hygiene issues opened and closed since last week's record (None without one)."""

    opened: int | None
    closed: int | None
    opened_effects: tuple[str, ...]

    @property
    def has_history(self) -> bool:
        return self.opened is not None


@dataclass(frozen=True, slots=True)
class BusinessDigestView:
    business_id: int
    name: str
    firm_name: str | None
    iso_week: str
    week_start: dt.date
    week_end: dt.date
    as_of: dt.date
    currency: str
    has_data: bool
    error: str | None
    needs_reconnect: bool
    last_sync_at: dt.datetime | None
    sync_stale: bool
    status: str
    status_label: str
    runway_days: int | None
    runway_weeks: str | None
    cash_zero_date: dt.date | None
    not_burning: bool
    cash_now_cents: int
    lowest_cash_cents: int
    lowest_cash_week: int
    lowest_cash_week_start: dt.date | None
    bills_due: tuple[ItemLine, ...]
    bills_due_cents: int
    overdue_invoices: tuple[ItemLine, ...]
    overdue_invoices_count: int
    overdue_invoices_cents: int
    decisions_waiting: int
    top_decisions: tuple[ItemLine, ...]
    hygiene_score: int | None
    issues_high: int
    issues_medium: int
    issues_low: int
    issue_changes: IssueChanges
    links: DigestLinks
    panel: RecipientsPanel

    @property
    def subject(self) -> str:
        if not self.has_data:
            return f"{self.name}: no figures yet, week {self.iso_week}"
        if self.not_burning:
            return f"{self.name}: 13+ weeks of cash, not burning, week {self.iso_week}"
        status = self.status_label.lower()
        return f"{self.name}: {self.runway_weeks} weeks of cash ({status}), week {self.iso_week}"

    @property
    def overdue_more(self) -> int:
        return self.overdue_invoices_count - len(self.overdue_invoices)


@dataclass(frozen=True, slots=True)
class FirmClientLine:
    business_id: int
    name: str
    currency: str
    has_figures: bool
    status: str
    status_label: str
    runway_weeks: str | None
    not_burning: bool
    cash_zero_date: dt.date | None
    lowest_cash_cents: int | None
    lowest_cash_week: int | None
    lowest_cash_week_start: dt.date | None
    bills_due_count: int
    bills_due_cents: int
    overdue_invoices_count: int
    overdue_invoices_cents: int
    decisions_waiting: int
    issues_high: int
    opened: int | None
    closed: int | None
    needs_reconnect: bool


@dataclass(frozen=True, slots=True)
class FirmDecisionLine:
    business_id: int
    business_name: str
    currency: str
    item: ItemLine


@dataclass(frozen=True, slots=True)
class FirmDigestView:
    firm_id: int
    firm_name: str
    iso_week: str
    week_start: dt.date
    week_end: dt.date
    clients: tuple[FirmClientLine, ...]
    top_decisions: tuple[FirmDecisionLine, ...]
    red: int
    amber: int
    green: int
    client_list_link: str
    digest_link: str
    panel: RecipientsPanel

    @property
    def subject(self) -> str:
        counts = f"{self.red} red, {self.amber} amber"
        return f"{self.firm_name}: weekly client digest, week {self.iso_week} ({counts})"


@dataclass(frozen=True, slots=True)
class DigestEmail:
    """One digest to deliver: the app renders `view` as HTML and text and sends it."""

    kind: Literal["business", "firm"]
    subject: str
    recipients: tuple[str, ...]
    view: BusinessDigestView | FirmDigestView


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What the weekly run did with one digest: sent | would_send | already_sent | no_recipients |
    no_data | failed."""

    kind: str
    name: str
    iso_week: str
    status: str
    recipients: tuple[str, ...]
    error: str | None = None


def iso_week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _changes(now_keys: frozenset[str] | None, before: frozenset[str] | None) -> tuple[int | None, int | None]:
    if before is None or now_keys is None:
        return None, None
    return len(now_keys - before), len(before - now_keys)


def _urgency(line: FirmDecisionLine) -> tuple[int, dt.date, int, str]:
    item = line.item
    return (-item.days_overdue, item.due_date, -item.amount_cents, line.business_name)


def _client_order(line: FirmClientLine, days: int | None) -> tuple[int, int, int, str]:
    if days is not None:
        return (0, days, -line.issues_high, line.name.lower())
    return (1 if line.not_burning else 2, 0, -line.issues_high, line.name.lower())


class DigestService:
    def __init__(self, orchestrator: DigestDataOrchestrator, public_url: str) -> None:
        self.data_orchestrator = orchestrator
        self.public_url = public_url.rstrip("/")

    def _links(self, business_id: int) -> DigestLinks:
        base = f"{self.public_url}/b/{business_id}"
        return DigestLinks(base, f"{base}/digest", f"{base}/hygiene", f"{base}/console")

    @staticmethod
    def _recipients(recipients: Recipients, can_manage: bool, default_label: str) -> RecipientsView:
        return RecipientsView(
            tuple((r.id, r.email) for r in recipients.explicit),
            recipients.defaults,
            can_manage,
            default_label,
        )

    # --- a business ------------------------------------------------------------------------------

    async def business_digest(
        self, business_id: int, *, role: str | None = None, now: dt.datetime | None = None
    ) -> BusinessDigestView:
        """This week's digest of one business (`role`: the viewer's, for managing recipients)."""
        now = now or dt.datetime.now(dt.UTC)
        info = await self.data_orchestrator.business_info(business_id)
        if info is None:
            raise NotFoundError(business_id)
        inputs = await self.data_orchestrator.inputs(business_id, now=now)
        as_of = inputs.as_of
        week_start = monday_of(as_of)
        before = await self.data_orchestrator.keys_before(business_id, week_start)
        open_now = {issue_key(issue): issue for issue in inputs.open_issues}
        opened, closed = _changes(frozenset(open_now), before)
        effects = (
            tuple(issue.forecast_effect for key, issue in open_now.items() if key not in before)[:LIST_LIMIT]
            if before is not None
            else ()
        )
        recipients = self._recipients(
            await self.data_orchestrator.recipients(business_id=business_id),
            role is not None and can(role, Capability.APPROVE),
            "the business's owners",
        )
        send = await self.data_orchestrator.send_record(week_start, business_id=business_id)
        last_sync = inputs.snapshot.last_successful_sync_at
        figures = None
        error = None
        if last_sync is not None:
            try:
                figures = compute_figures(inputs)
            except ValueError as exc:  # an amount that cannot be converted to the home currency
                error = str(exc)
        common: dict[str, Any] = {
            "business_id": business_id,
            "name": info.name,
            "firm_name": info.firm_name,
            "iso_week": iso_week_label(as_of),
            "week_start": week_start,
            "week_end": week_start + dt.timedelta(days=6),
            "as_of": as_of,
            "currency": inputs.currency,
            "error": error,
            "needs_reconnect": info.connection_status == "reconnect_needed",
            "last_sync_at": last_sync,
            "sync_stale": last_sync is None or now - last_sync > SYNC_STALE_AFTER,
            "issue_changes": IssueChanges(opened, closed, effects),
            "links": self._links(business_id),
            "panel": RecipientsPanel(recipients, send, f"/b/{business_id}/digest/recipients"),
        }
        if figures is None:
            return BusinessDigestView(
                **common,
                has_data=False,
                status="unknown",
                status_label=STATUS_LABELS["unknown"],
                runway_days=None,
                runway_weeks=None,
                cash_zero_date=None,
                not_burning=False,
                cash_now_cents=0,
                lowest_cash_cents=0,
                lowest_cash_week=0,
                lowest_cash_week_start=None,
                bills_due=(),
                bills_due_cents=0,
                overdue_invoices=(),
                overdue_invoices_count=0,
                overdue_invoices_cents=0,
                decisions_waiting=0,
                top_decisions=(),
                hygiene_score=None,
                issues_high=0,
                issues_medium=0,
                issues_low=0,
            )
        runway = figures.runway
        reading = runway.runway
        return BusinessDigestView(
            **common,
            has_data=True,
            status=reading.status,
            status_label=STATUS_LABELS[reading.status],
            runway_days=reading.days,
            runway_weeks=None if reading.weeks is None else str(reading.weeks),
            cash_zero_date=reading.cash_zero_date,
            not_burning=reading.not_burning,
            cash_now_cents=runway.cash_now_cents,
            lowest_cash_cents=runway.lowest_cash_cents,
            lowest_cash_week=runway.lowest_cash_week,
            lowest_cash_week_start=figures.lowest_cash_week_start,
            bills_due=figures.bills_due,
            bills_due_cents=figures.bills_due_cents,
            overdue_invoices=figures.overdue_invoices[:LIST_LIMIT],
            overdue_invoices_count=len(figures.overdue_invoices),
            overdue_invoices_cents=figures.overdue_invoices_cents,
            decisions_waiting=len(figures.waiting),
            top_decisions=figures.waiting[:TOP_DECISIONS],
            hygiene_score=figures.hygiene.score,
            issues_high=figures.hygiene.count("high"),
            issues_medium=figures.hygiene.count("medium"),
            issues_low=figures.hygiene.count("low"),
        )

    # --- a firm ----------------------------------------------------------------------------------

    async def _firm_for(self, user_id: int, firm_id: int | None) -> tuple[int, str, str]:
        firms = await self.data_orchestrator.firms_of(user_id)
        for found_id, name, role in firms:
            if firm_id is None or found_id == firm_id:
                return found_id, name, role
        raise NotFoundError(firm_id)

    async def firm_digest_for(
        self, user_id: int, firm_id: int | None = None, *, now: dt.datetime | None = None
    ) -> FirmDigestView:
        """The digest of one of the user's firms (their first when `firm_id` is None)."""
        found_id, _, role = await self._firm_for(user_id, firm_id)
        return await self.firm_digest(found_id, role=role, now=now)

    async def firm_digest(
        self, firm_id: int, *, role: str | None = None, now: dt.datetime | None = None
    ) -> FirmDigestView:
        """Every client's week from the stored summary rows (no forecast is recomputed here)."""
        now = now or dt.datetime.now(dt.UTC)
        name = await self.data_orchestrator.firm_name(firm_id)
        if name is None:
            raise NotFoundError(firm_id)
        today = now.astimezone(dt.UTC).date()
        week_start = monday_of(today)
        clients = await self.data_orchestrator.firm_clients(firm_id, week_start)
        lines: list[tuple[FirmClientLine, int | None]] = []
        decisions: list[FirmDecisionLine] = []
        for client in clients:
            line = self._firm_line(client)
            lines.append((line, client.summary.runway_days if client.summary else None))
            if client.summary is not None:
                decisions += [
                    FirmDecisionLine(client.business_id, client.name, client.summary.currency, item)
                    for item in client.summary.top_decisions
                ]
        ordered = tuple(line for line, _ in sorted(lines, key=lambda pair: _client_order(*pair)))
        recipients = self._recipients(
            await self.data_orchestrator.recipients(firm_id=firm_id),
            role in FIRM_MANAGER_ROLES,
            "the firm's admins and advisors",
        )
        return FirmDigestView(
            firm_id=firm_id,
            firm_name=name,
            iso_week=iso_week_label(today),
            week_start=week_start,
            week_end=week_start + dt.timedelta(days=6),
            clients=ordered,
            top_decisions=tuple(sorted(decisions, key=_urgency)[:TOP_DECISIONS]),
            red=sum(1 for line in ordered if line.status == "red"),
            amber=sum(1 for line in ordered if line.status == "amber"),
            green=sum(1 for line in ordered if line.status == "green"),
            client_list_link=f"{self.public_url}/clients",
            digest_link=f"{self.public_url}/firm/digest?firm={firm_id}",
            panel=RecipientsPanel(
                recipients,
                await self.data_orchestrator.send_record(week_start, firm_id=firm_id),
                f"/firm/{firm_id}/digest/recipients",
            ),
        )

    def _firm_line(self, client: FirmClient) -> FirmClientLine:
        summary = client.summary
        opened, closed = _changes(client.open_keys_now, client.open_keys_before)
        status = summary.status if summary else "unknown"
        return FirmClientLine(
            business_id=client.business_id,
            name=client.name,
            currency=summary.currency if summary else "USD",
            has_figures=bool(summary and summary.has_figures),
            status=status,
            status_label=STATUS_LABELS.get(status, status),
            runway_weeks=summary.runway_weeks if summary else None,
            not_burning=summary.not_burning if summary else False,
            cash_zero_date=summary.cash_zero_date if summary else None,
            lowest_cash_cents=summary.lowest_cash_cents if summary else None,
            lowest_cash_week=summary.lowest_cash_week if summary else None,
            lowest_cash_week_start=summary.lowest_cash_week_start if summary else None,
            bills_due_count=summary.bills_due_count if summary else 0,
            bills_due_cents=summary.bills_due_cents if summary else 0,
            overdue_invoices_count=summary.overdue_invoices_count if summary else 0,
            overdue_invoices_cents=summary.overdue_invoices_cents if summary else 0,
            decisions_waiting=summary.decisions_waiting if summary else 0,
            issues_high=summary.issues_high if summary else 0,
            opened=opened,
            closed=closed,
            needs_reconnect=client.connection_status == "reconnect_needed",
        )

    # --- recipients ------------------------------------------------------------------------------

    @staticmethod
    def _clean_email(email: str) -> str:
        cleaned = email.strip().lower()
        local, _, domain = cleaned.partition("@")
        if any(c in cleaned for c in ",;<>\"'"):
            raise RecipientError("Give one plain e-mail address, like name@example.com.")
        if not local or "." not in domain or len(cleaned) > 320 or any(c.isspace() for c in cleaned):
            raise RecipientError(f"{email.strip() or 'An empty address'} is not an e-mail address.")
        return cleaned

    async def _business_panel(self, business_id: int, role: str, error: str | None = None) -> RecipientsPanel:
        info = await self.data_orchestrator.business_info(business_id)
        if info is None:
            raise NotFoundError(business_id)
        week_start = monday_of(local_today(info.timezone, dt.datetime.now(dt.UTC)))
        recipients = self._recipients(
            await self.data_orchestrator.recipients(business_id=business_id),
            can(role, Capability.APPROVE),
            "the business's owners",
        )
        send = await self.data_orchestrator.send_record(week_start, business_id=business_id)
        return RecipientsPanel(recipients, send, f"/b/{business_id}/digest/recipients", error)

    async def _firm_panel(self, firm_id: int, role: str, error: str | None = None) -> RecipientsPanel:
        week_start = monday_of(dt.datetime.now(dt.UTC).date())
        recipients = self._recipients(
            await self.data_orchestrator.recipients(firm_id=firm_id),
            role in FIRM_MANAGER_ROLES,
            "the firm's admins and advisors",
        )
        send = await self.data_orchestrator.send_record(week_start, firm_id=firm_id)
        return RecipientsPanel(recipients, send, f"/firm/{firm_id}/digest/recipients", error)

    async def add_business_recipient(
        self, business_id: int, role: str, user_id: int, email: str
    ) -> RecipientsPanel:
        """Add an address; the panel carries the reason when it cannot be added.

        Raises:
            NotAllowedError: The role cannot change recipients.
        """
        if not can(role, Capability.APPROVE):
            raise NotAllowedError("Only an owner, an advisor or an admin can change who gets this digest.")
        try:
            cleaned = self._clean_email(email)
        except RecipientError as exc:
            return await self._business_panel(business_id, role, str(exc))
        if not await self.data_orchestrator.add_recipient(cleaned, user_id=user_id, business_id=business_id):
            return await self._business_panel(business_id, role, f"{cleaned} already gets this digest.")
        return await self._business_panel(business_id, role)

    async def remove_business_recipient(
        self, business_id: int, role: str, recipient_id: int
    ) -> RecipientsPanel:
        if not can(role, Capability.APPROVE):
            raise NotAllowedError("Only an owner, an advisor or an admin can change who gets this digest.")
        await self.data_orchestrator.remove_recipient(recipient_id, business_id=business_id)
        return await self._business_panel(business_id, role)

    async def add_firm_recipient(self, user_id: int, firm_id: int, email: str) -> RecipientsPanel:
        """Raises NotFoundError (not the user's firm) or NotAllowedError (not an admin or advisor)."""
        _, _, role = await self._firm_for(user_id, firm_id)
        if role not in FIRM_MANAGER_ROLES:
            raise NotAllowedError("Only the firm's admins and advisors change who gets the firm digest.")
        try:
            cleaned = self._clean_email(email)
        except RecipientError as exc:
            return await self._firm_panel(firm_id, role, str(exc))
        if not await self.data_orchestrator.add_recipient(cleaned, user_id=user_id, firm_id=firm_id):
            return await self._firm_panel(firm_id, role, f"{cleaned} already gets this digest.")
        return await self._firm_panel(firm_id, role)

    async def remove_firm_recipient(self, user_id: int, firm_id: int, recipient_id: int) -> RecipientsPanel:
        _, _, role = await self._firm_for(user_id, firm_id)
        if role not in FIRM_MANAGER_ROLES:
            raise NotAllowedError("Only the firm's admins and advisors change who gets the firm digest.")
        await self.data_orchestrator.remove_recipient(recipient_id, firm_id=firm_id)
        return await self._firm_panel(firm_id, role)

    # --- the weekly send -------------------------------------------------------------------------

    async def send_weekly(
        self,
        deliver: Callable[[DigestEmail], Awaitable[None]],
        *,
        dry_run: bool = False,
        now: dt.datetime | None = None,
    ) -> list[SendOutcome]:
        """Send this week's digest of every business and firm that has recipients, once per week.

        Each digest is claimed in the database before `deliver` is called, so a second run — or two at
        once — never sends it again; a delivery that fails is recorded and retried by the next run.
        With `dry_run` nothing is recorded: `deliver` gets each digest that would go out, to render or
        print it, and must not send it.
        """
        now = now or dt.datetime.now(dt.UTC)
        business_ids, firm_ids = await self.data_orchestrator.weekly_targets()
        outcomes = []
        for business_id in business_ids:
            skipped = await self._without_recipients(business_id, now)
            if skipped is not None:
                outcomes.append(skipped)
                continue
            view = await self.business_digest(business_id, now=now)
            outcomes.append(
                await self._send(
                    DigestEmail("business", view.subject, view.panel.recipients.effective, view),
                    name=view.name,
                    has_data=view.has_data,
                    deliver=deliver,
                    dry_run=dry_run,
                    business_id=business_id,
                )
            )
        for firm_id in firm_ids:
            firm = await self.firm_digest(firm_id, now=now)
            outcomes.append(
                await self._send(
                    DigestEmail("firm", firm.subject, firm.panel.recipients.effective, firm),
                    name=firm.firm_name,
                    has_data=any(line.has_figures for line in firm.clients),
                    deliver=deliver,
                    dry_run=dry_run,
                    firm_id=firm_id,
                )
            )
        return outcomes

    async def _without_recipients(self, business_id: int, now: dt.datetime) -> SendOutcome | None:
        """The outcome for a business whose digest nobody receives, found without running its forecast."""
        info = await self.data_orchestrator.business_info(business_id)
        if info is None:  # removed since the run listed it
            return SendOutcome("business", f"business {business_id}", "", "no_data", ())
        if (await self.data_orchestrator.recipients(business_id=business_id)).effective:
            return None
        week = iso_week_label(local_today(info.timezone, now))
        return SendOutcome("business", info.name, week, "no_recipients", ())

    async def _send(
        self,
        email: DigestEmail,
        *,
        name: str,
        has_data: bool,
        deliver: Callable[[DigestEmail], Awaitable[None]],
        dry_run: bool,
        business_id: int | None = None,
        firm_id: int | None = None,
    ) -> SendOutcome:
        view = email.view
        week_start, iso_week = view.week_start, view.iso_week

        def outcome(status: str, error: str | None = None) -> SendOutcome:
            return SendOutcome(email.kind, name, iso_week, status, email.recipients, error)

        if not has_data:
            return outcome("no_data")
        if not email.recipients:
            return outcome("no_recipients")
        if dry_run:
            record = await self.data_orchestrator.send_record(
                week_start, business_id=business_id, firm_id=firm_id
            )
            if record is not None and record.status != "failed":
                return outcome("already_sent")
            await deliver(email)
            return outcome("would_send")
        send_id = await self.data_orchestrator.claim(
            week_start, iso_week, email.recipients, email.subject, business_id=business_id, firm_id=firm_id
        )
        if send_id is None:
            return outcome("already_sent")
        try:
            await deliver(email)
        except Exception as exc:  # any delivery failure is recorded on the send and retried next run
            message = str(exc) or type(exc).__name__
            await self.data_orchestrator.finish(send_id, sent=False, error=message[:2000])
            return outcome("failed", message)
        await self.data_orchestrator.finish(send_id, sent=True)
        return outcome("sent")
