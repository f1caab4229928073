"""Data orchestrator: the weekly digest's data — a business's runway inputs, its firm's summary rows, last
week's hygiene marks — its recipients, and the record that makes each week's e-mail go out at most once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from domains.core import repository as core
from domains.core.db import Database
from domains.core.models import Business, Firm
from domains.summaries import repository as summaries
from runway.services.data_orchestrators.business_summary_data_orchestrator import SummaryRecord
from runway.services.data_orchestrators.runway_inputs import RunwayInputs, load_runway_inputs

FIRM_DIGEST_ROLES = ("admin", "advisor")


@dataclass(frozen=True, slots=True)
class BusinessInfo:
    business_id: int
    name: str
    firm_id: int | None
    firm_name: str | None
    timezone: str
    connection_status: str


@dataclass(frozen=True, slots=True)
class FirmClient:
    business_id: int
    name: str
    summary: SummaryRecord | None
    connection_status: str
    open_keys_now: frozenset[str] | None
    open_keys_before: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    id: int
    email: str


@dataclass(frozen=True, slots=True)
class Recipients:
    """Addresses set for the digest, and who gets it when none are set (owners, or firm admins/advisors)."""

    explicit: tuple[RecipientRecord, ...]
    defaults: tuple[str, ...]

    @property
    def effective(self) -> tuple[str, ...]:
        return tuple(r.email for r in self.explicit) if self.explicit else self.defaults


@dataclass(frozen=True, slots=True)
class SendRecord:
    status: str
    recipients: tuple[str, ...]
    sent_at: dt.datetime | None
    error: str | None


class DigestDataOrchestrator:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- a business ------------------------------------------------------------------------------

    async def business_info(self, business_id: int) -> BusinessInfo | None:
        async with self.db.read() as session:
            business = await core.get_business(session, business_id)
            if business is None:
                return None
            firm = await session.get(Firm, business.firm_id) if business.firm_id is not None else None
            statuses = await summaries.connection_statuses(session, [business_id])
            return BusinessInfo(
                business.id,
                business.name,
                business.firm_id,
                firm.name if firm else None,
                business.timezone,
                statuses.get(business_id, "not_connected"),
            )

    async def inputs(self, business_id: int, *, now: dt.datetime) -> RunwayInputs:
        return await load_runway_inputs(self.db, business_id, now=now)

    async def keys_before(self, business_id: int, week_start: dt.date) -> frozenset[str] | None:
        """The issues open at the last refresh before this week, or None with no record from then."""
        async with self.db.read() as session:
            marks = await summaries.marks_before(session, [business_id], week_start)
        mark = marks.get(business_id)
        return frozenset(mark.open_keys) if mark is not None else None

    # --- a firm ----------------------------------------------------------------------------------

    async def firms_of(self, user_id: int) -> list[tuple[int, str, str]]:
        async with self.db.read() as session:
            return await core.firm_roles_for_user(session, user_id)

    async def firm_name(self, firm_id: int) -> str | None:
        async with self.db.read() as session:
            firm = await session.get(Firm, firm_id)
            return firm.name if firm else None

    async def firm_clients(self, firm_id: int, week_start: dt.date) -> list[FirmClient]:
        """Every client of the firm with its summary row and this week's and last week's hygiene marks."""
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(Business.id, Business.name)
                    .where(Business.firm_id == firm_id)
                    .order_by(Business.name)
                )
            ).all()
            ids = [business_id for business_id, _ in rows]
            stored = await summaries.summaries_for(session, ids)
            statuses = await summaries.connection_statuses(session, ids)
            now_marks = await summaries.marks_of_week(session, ids, week_start)
            before_marks = await summaries.marks_before(session, ids, week_start)
        clients = []
        for business_id, name in rows:
            row = stored.get(business_id)
            now_mark = now_marks.get(business_id)
            before_mark = before_marks.get(business_id)
            clients.append(
                FirmClient(
                    business_id=business_id,
                    name=name,
                    summary=SummaryRecord.of(row) if row is not None else None,
                    connection_status=statuses.get(business_id, "not_connected"),
                    open_keys_now=frozenset(now_mark.open_keys) if now_mark else None,
                    open_keys_before=frozenset(before_mark.open_keys) if before_mark else None,
                )
            )
        return clients

    # --- recipients ------------------------------------------------------------------------------

    async def recipients(self, *, business_id: int | None = None, firm_id: int | None = None) -> Recipients:
        async with self.db.read() as session:
            explicit = await summaries.list_recipients(session, business_id=business_id, firm_id=firm_id)
            if business_id is not None:
                defaults = await summaries.business_owner_emails(session, business_id)
            else:
                assert firm_id is not None
                defaults = await summaries.firm_staff_emails(session, firm_id, FIRM_DIGEST_ROLES)
        return Recipients(tuple(RecipientRecord(r.id, r.email) for r in explicit), tuple(defaults))

    async def add_recipient(
        self, email: str, *, user_id: int, business_id: int | None = None, firm_id: int | None = None
    ) -> bool:
        async with self.db.write() as session:
            return await summaries.add_recipient(
                session, email, user_id=user_id, business_id=business_id, firm_id=firm_id
            )

    async def remove_recipient(
        self, recipient_id: int, *, business_id: int | None = None, firm_id: int | None = None
    ) -> bool:
        async with self.db.write() as session:
            return await summaries.remove_recipient(
                session, recipient_id, business_id=business_id, firm_id=firm_id
            )

    # --- sends -----------------------------------------------------------------------------------

    async def send_record(
        self, week_start: dt.date, *, business_id: int | None = None, firm_id: int | None = None
    ) -> SendRecord | None:
        async with self.db.read() as session:
            send = await summaries.get_digest_send(
                session, week_start=week_start, business_id=business_id, firm_id=firm_id
            )
        if send is None:
            return None
        return SendRecord(send.status, tuple(send.recipients or ()), send.sent_at, send.error)

    async def claim(
        self,
        week_start: dt.date,
        iso_week: str,
        recipients: Sequence[str],
        subject: str,
        *,
        business_id: int | None = None,
        firm_id: int | None = None,
    ) -> int | None:
        """The send's id if this process may send this week's digest now, else None (sent or sending)."""
        async with self.db.write() as session:
            send = await summaries.claim_digest_send(
                session,
                week_start=week_start,
                iso_week=iso_week,
                recipients=recipients,
                subject=subject[:300],
                business_id=business_id,
                firm_id=firm_id,
            )
            return send.id if send is not None else None

    async def finish(self, send_id: int, *, sent: bool, error: str | None = None) -> None:
        async with self.db.write() as session:
            await summaries.finish_digest_send(session, send_id, sent=sent, error=error)

    async def weekly_targets(self) -> tuple[list[int], list[int]]:
        """Every business and every firm (the weekly run's worklist; a system query, not a user's view)."""
        async with self.db.read() as session:
            business_ids = await summaries.all_business_ids(session)
            firm_ids = list(await session.scalars(select(Firm.id).order_by(Firm.id)))
        return business_ids, firm_ids
