"""Domain (summaries): CRUD for summary rows, weekly hygiene marks, digest sends and digest recipients.

Every function takes the business_id (or business ids, or the firm_id of a firm digest) it is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core.db import utcnow
from domains.core.models import AuditLog, Business, BusinessDataVersion, Firm, Membership, User
from domains.hygiene.models import HygieneState
from domains.qbo.models import QboConnection, SyncRun
from domains.summaries.models import (
    BusinessSummary,
    DigestRecipient,
    DigestSend,
    HygieneWeekMark,
    SummaryWeek,
)

# --- summary rows --------------------------------------------------------------------------------


async def upsert_summary(session: AsyncSession, business_id: int, **fields: Any) -> BusinessSummary:
    """Replace the business's summary figures (one row per business)."""
    row = await session.scalar(select(BusinessSummary).where(BusinessSummary.business_id == business_id))
    if row is None:
        row = BusinessSummary(business_id=business_id)
        session.add(row)
    for name, value in fields.items():
        setattr(row, name, value)
    row.computed_at = fields.get("computed_at") or utcnow()
    await session.flush()
    return row


async def replace_weeks(session: AsyncSession, business_id: int, weeks: Sequence[dict[str, Any]]) -> None:
    """Replace the business's stored 13-week grid (empty when its figures could not be computed)."""
    await session.execute(delete(SummaryWeek).where(SummaryWeek.business_id == business_id))
    if weeks:
        await session.execute(insert(SummaryWeek), [{**week, "business_id": business_id} for week in weeks])


async def stored_dashboard(
    session: AsyncSession, business_id: int
) -> tuple[BusinessSummary | None, list[SummaryWeek]]:
    """The business's summary row and its grid weeks (in week order), read in one statement."""
    rows = (
        await session.execute(
            select(BusinessSummary, SummaryWeek)
            .outerjoin(SummaryWeek, SummaryWeek.business_id == BusinessSummary.business_id)
            .where(BusinessSummary.business_id == business_id)
            .order_by(SummaryWeek.week)
        )
    ).all()
    if not rows:
        return None, []
    return rows[0][0], [week for _, week in rows if week is not None]


async def data_key_parts(session: AsyncSession, business_id: int) -> Any:
    """What a stored summary's validity depends on, in one statement: the business's timezone (its
    "today"), its books and decision-queue stamps and its hygiene triage version. None for a business
    that does not exist."""
    return (await session.execute(_key_parts().where(Business.id == business_id))).first()


async def dashboard_rows(session: AsyncSession, business_id: int) -> list[Any]:
    """Everything the dashboard reads about one business but its sync runs, in one statement: one row per
    stored grid week (one row when there is none) holding `data_key_parts`, the QuickBooks connection's
    status, realm and last error (NULL when never connected), when a sync last succeeded, the summary row
    (None without one) and the week (None). Empty for a business that does not exist."""
    last_success = (
        select(func.max(SyncRun.finished_at))
        .where(SyncRun.business_id == Business.id, SyncRun.status == "succeeded")
        .correlate(Business)
        .scalar_subquery()
    )
    rows = await session.execute(
        _key_parts()
        .add_columns(
            QboConnection.status,
            QboConnection.realm_id,
            QboConnection.last_error,
            last_success,
            BusinessSummary,
            SummaryWeek,
        )
        .outerjoin(QboConnection, QboConnection.business_id == Business.id)
        .outerjoin(BusinessSummary, BusinessSummary.business_id == Business.id)
        .outerjoin(SummaryWeek, SummaryWeek.business_id == Business.id)
        .where(Business.id == business_id)
        .order_by(SummaryWeek.week)
    )
    return list(rows)


async def active_and_latest_runs(session: AsyncSession, business_id: int) -> list[SyncRun]:
    """The business's pending or running sync run and its newest run (often the same one), newest first."""
    newest = (
        select(SyncRun.id)
        .where(SyncRun.business_id == business_id)
        .order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return list(
        await session.scalars(
            select(SyncRun)
            .where(
                SyncRun.business_id == business_id,
                or_(SyncRun.status.in_(("pending", "running")), SyncRun.id == newest),
            )
            .order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
        )
    )


def _key_parts() -> Any:
    return (
        select(
            Business.timezone,
            BusinessDataVersion.stamp,
            BusinessDataVersion.console_stamp,
            HygieneState.version,
        )
        .outerjoin(BusinessDataVersion, BusinessDataVersion.business_id == Business.id)
        .outerjoin(HygieneState, HygieneState.business_id == Business.id)
    )


async def get_summary(session: AsyncSession, business_id: int) -> BusinessSummary | None:
    return await session.scalar(select(BusinessSummary).where(BusinessSummary.business_id == business_id))


async def summaries_for(session: AsyncSession, business_ids: Sequence[int]) -> dict[int, BusinessSummary]:
    if not business_ids:
        return {}
    rows = await session.scalars(select(BusinessSummary).where(BusinessSummary.business_id.in_(business_ids)))
    return {row.business_id: row for row in rows}


# What the client list shows of each business, in the order `firm_client_rows` returns it: the business, its
# summary columns (NULL without a summary row), its QuickBooks connection status (NULL when never connected)
# and who last changed something in it and when (NULL when no person did).
CLIENT_ROW_COLUMNS = (
    Business.id,
    Business.name,
    Business.firm_id,
    Firm.name,
    BusinessSummary.computed_at,
    BusinessSummary.currency,
    BusinessSummary.status,
    BusinessSummary.cash_now_cents,
    BusinessSummary.runway_days,
    BusinessSummary.runway_weeks,
    BusinessSummary.cash_zero_date,
    BusinessSummary.not_burning,
    BusinessSummary.hygiene_score,
    BusinessSummary.issues_high,
    BusinessSummary.issues_medium,
    BusinessSummary.issues_low,
    BusinessSummary.decisions_waiting,
    BusinessSummary.last_sync_at,
    BusinessSummary.error,
    QboConnection.status,
    func.coalesce(User.display_name, User.email),
    AuditLog.created_at,
)


async def firm_client_rows(session: AsyncSession, firm_ids: Sequence[int]) -> list[Any]:
    """Every business of these firms, as `CLIENT_ROW_COLUMNS`, in one query.

    The last person's entry is found per business by walking its audit index from the newest end (the
    `(business_id, created_at)` index), so the cost does not grow with the length of the audit log.
    """
    if not firm_ids:
        return []
    latest_by_person = (
        select(AuditLog.id)
        .where(AuditLog.business_id == Business.id, AuditLog.user_id.is_not(None))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(1)
        .correlate(Business)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(*CLIENT_ROW_COLUMNS)
        .join(Firm, Firm.id == Business.firm_id)
        .outerjoin(BusinessSummary, BusinessSummary.business_id == Business.id)
        .outerjoin(QboConnection, QboConnection.business_id == Business.id)
        .outerjoin(AuditLog, AuditLog.id == latest_by_person)
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(Business.firm_id.in_(firm_ids))
    )
    return list(rows)


async def connection_statuses(session: AsyncSession, business_ids: Sequence[int]) -> dict[int, str]:
    """QuickBooks connection status per business (absent: never connected)."""
    if not business_ids:
        return {}
    rows = await session.execute(
        select(QboConnection.business_id, QboConnection.status).where(
            QboConnection.business_id.in_(business_ids)
        )
    )
    return {business_id: status for business_id, status in rows}


async def last_worked(
    session: AsyncSession, business_ids: Sequence[int]
) -> dict[int, tuple[str, dt.datetime]]:
    """Who last changed something in each business (the audit log's latest entry with a person), and when."""
    if not business_ids:
        return {}
    return await _last_worked(business_ids, session)


async def _last_worked(business_ids: Any, session: AsyncSession) -> dict[int, tuple[str, dt.datetime]]:
    latest = (
        select(AuditLog.business_id, func.max(AuditLog.created_at).label("at"))
        .where(AuditLog.business_id.in_(business_ids), AuditLog.user_id.is_not(None))
        .group_by(AuditLog.business_id)
        .subquery()
    )
    rows = await session.execute(
        select(AuditLog.business_id, User.display_name, User.email, AuditLog.created_at)
        .join(latest, and_(latest.c.business_id == AuditLog.business_id, latest.c.at == AuditLog.created_at))
        .join(User, User.id == AuditLog.user_id)
        .order_by(AuditLog.id)
    )
    found: dict[int, tuple[str, dt.datetime]] = {}
    for business_id, display_name, email, at in rows:
        if business_id is not None:
            found[business_id] = (display_name or email, at)
    return found


# --- weekly hygiene marks ------------------------------------------------------------------------


async def set_week_mark(
    session: AsyncSession, business_id: int, week_start: dt.date, keys: Iterable[str]
) -> None:
    """Record the issues open now as this week's mark (the latest refresh of a week wins)."""
    ordered = sorted(set(keys))
    mark = await session.scalar(
        select(HygieneWeekMark).where(
            HygieneWeekMark.business_id == business_id, HygieneWeekMark.week_start == week_start
        )
    )
    if mark is None:
        session.add(HygieneWeekMark(business_id=business_id, week_start=week_start, open_keys=ordered))
    elif mark.open_keys != ordered:
        mark.open_keys = ordered
        mark.updated_at = utcnow()
    await session.flush()


async def marks_before(
    session: AsyncSession, business_ids: Sequence[int], week_start: dt.date
) -> dict[int, HygieneWeekMark]:
    """Each business's latest mark from a week before `week_start` (what was open last week)."""
    if not business_ids:
        return {}
    latest = (
        select(HygieneWeekMark.business_id, func.max(HygieneWeekMark.week_start).label("week"))
        .where(HygieneWeekMark.business_id.in_(business_ids), HygieneWeekMark.week_start < week_start)
        .group_by(HygieneWeekMark.business_id)
        .subquery()
    )
    rows = await session.scalars(
        select(HygieneWeekMark).join(
            latest,
            and_(
                latest.c.business_id == HygieneWeekMark.business_id,
                latest.c.week == HygieneWeekMark.week_start,
            ),
        )
    )
    return {row.business_id: row for row in rows}


async def marks_of_week(
    session: AsyncSession, business_ids: Sequence[int], week_start: dt.date
) -> dict[int, HygieneWeekMark]:
    if not business_ids:
        return {}
    rows = await session.scalars(
        select(HygieneWeekMark).where(
            HygieneWeekMark.business_id.in_(business_ids), HygieneWeekMark.week_start == week_start
        )
    )
    return {row.business_id: row for row in rows}


# --- digest sends --------------------------------------------------------------------------------


def _target(business_id: int | None, firm_id: int | None) -> Any:
    if (business_id is None) == (firm_id is None):
        raise ValueError("a digest is for exactly one business or one firm")
    if business_id is not None:
        return DigestSend.business_id == business_id
    return DigestSend.firm_id == firm_id


async def get_digest_send(
    session: AsyncSession, *, week_start: dt.date, business_id: int | None = None, firm_id: int | None = None
) -> DigestSend | None:
    return await session.scalar(
        select(DigestSend).where(_target(business_id, firm_id), DigestSend.week_start == week_start)
    )


async def claim_digest_send(
    session: AsyncSession,
    *,
    week_start: dt.date,
    iso_week: str,
    recipients: Sequence[str],
    subject: str,
    business_id: int | None = None,
    firm_id: int | None = None,
) -> DigestSend | None:
    """Take the right to send this week's digest, or None when it was sent or is being sent already.

    The unique (target, week) row is the lock: inserting it wins the claim. A row left `failed` (the SMTP
    server refused the message) can be claimed again; a row left `sending` never is, because the message
    may have gone out before the process stopped, and a digest is never sent twice.
    """
    _target(business_id, firm_id)
    send = DigestSend(
        business_id=business_id,
        firm_id=firm_id,
        week_start=week_start,
        iso_week=iso_week,
        status="sending",
        recipients=list(recipients),
        subject=subject,
        attempts=1,
    )
    try:
        async with session.begin_nested():
            session.add(send)
            await session.flush()
    except IntegrityError:
        result = await session.execute(
            update(DigestSend)
            .where(
                _target(business_id, firm_id),
                DigestSend.week_start == week_start,
                DigestSend.status == "failed",
            )
            .values(
                status="sending",
                recipients=list(recipients),
                subject=subject,
                attempts=DigestSend.attempts + 1,
                error=None,
            )
        )
        if (getattr(result, "rowcount", 0) or 0) != 1:
            return None
        return await get_digest_send(session, week_start=week_start, business_id=business_id, firm_id=firm_id)
    return send


async def finish_digest_send(
    session: AsyncSession, send_id: int, *, sent: bool, error: str | None = None
) -> None:
    await session.execute(
        update(DigestSend)
        .where(DigestSend.id == send_id, DigestSend.status == "sending")
        .values(status="sent" if sent else "failed", error=error, sent_at=utcnow() if sent else None)
    )


# --- digest recipients ---------------------------------------------------------------------------


def _recipient_target(business_id: int | None, firm_id: int | None) -> Any:
    if (business_id is None) == (firm_id is None):
        raise ValueError("a recipient is for exactly one business or one firm")
    if business_id is not None:
        return DigestRecipient.business_id == business_id
    return DigestRecipient.firm_id == firm_id


async def list_recipients(
    session: AsyncSession, *, business_id: int | None = None, firm_id: int | None = None
) -> list[DigestRecipient]:
    return list(
        await session.scalars(
            select(DigestRecipient)
            .where(_recipient_target(business_id, firm_id))
            .order_by(DigestRecipient.email)
        )
    )


async def add_recipient(
    session: AsyncSession,
    email: str,
    *,
    user_id: int | None,
    business_id: int | None = None,
    firm_id: int | None = None,
) -> bool:
    """Add an address; False when it is there already."""
    _recipient_target(business_id, firm_id)
    try:
        async with session.begin_nested():
            session.add(
                DigestRecipient(
                    business_id=business_id, firm_id=firm_id, email=email, added_by_user_id=user_id
                )
            )
            await session.flush()
    except IntegrityError:
        return False
    return True


async def remove_recipient(
    session: AsyncSession, recipient_id: int, *, business_id: int | None = None, firm_id: int | None = None
) -> bool:
    result = await session.execute(
        delete(DigestRecipient).where(
            DigestRecipient.id == recipient_id, _recipient_target(business_id, firm_id)
        )
    )
    return (getattr(result, "rowcount", 0) or 0) == 1


async def business_owner_emails(session: AsyncSession, business_id: int) -> list[str]:
    """The active owners of a business: its digest's recipients when none are set."""
    rows = await session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.business_id == business_id, Membership.role == "owner", User.is_active.is_(True))
        .order_by(User.email)
    )
    return list(rows)


async def firm_staff_emails(session: AsyncSession, firm_id: int, roles: Sequence[str]) -> list[str]:
    """Active members of a firm with one of `roles`: the firm digest's recipients when none are set."""
    rows = await session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.firm_id == firm_id, Membership.role.in_(roles), User.is_active.is_(True))
        .order_by(User.email)
    )
    return list(rows)


# --- what the weekly send covers (system queries for `runway digest send`, not a user's view) -------


async def all_business_ids(session: AsyncSession) -> list[int]:
    return list(await session.scalars(select(Business.id).order_by(Business.id)))
