"""Domain core: CRUD primitives for firms, businesses, users, memberships and the audit log.

Business data is reached only through functions that take the user's id or a business_id: there is no
query here that lists businesses without saying for whom.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, bindparam, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domains.core.db import RowReader, RowWriter, utcnow
from domains.core.models import AuditLog, Business, BusinessRole, Firm, FirmRole, Membership, User


@dataclass(frozen=True, slots=True)
class BusinessAccess:
    """A business as one user may see it, with the role that grants the access."""

    business_id: int
    name: str
    firm_id: int | None
    firm_name: str | None
    role: str
    via_firm: bool


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def create_user(
    session: AsyncSession, *, email: str, password_hash: str, display_name: str = ""
) -> User:
    user = User(email=email.strip().lower(), password_hash=password_hash, display_name=display_name)
    session.add(user)
    await session.flush()
    return user


async def record_login(session: AsyncSession, user_id: int, at: dt.datetime | None = None) -> None:
    user = await session.get(User, user_id)
    if user is not None:
        user.last_login_at = at or utcnow()


async def get_or_create_firm(session: AsyncSession, name: str) -> Firm:
    firm = await session.scalar(select(Firm).where(Firm.name == name).order_by(Firm.id).limit(1))
    if firm is None:
        firm = Firm(name=name)
        session.add(firm)
        await session.flush()
    return firm


async def find_businesses_by_name(session: AsyncSession, name: str) -> list[Business]:
    return list(await session.scalars(select(Business).where(Business.name == name).order_by(Business.id)))


async def create_business(
    session: AsyncSession, *, name: str, firm_id: int | None = None, home_currency: str = "USD"
) -> Business:
    business = Business(name=name, firm_id=firm_id, home_currency=home_currency)
    session.add(business)
    await session.flush()
    return business


async def get_business(session: AsyncSession, business_id: int) -> Business | None:
    return await session.get(Business, business_id)


async def business_rows(session: RowReader, business_ids: Iterable[int]) -> list[Any]:
    """The businesses with these ids as plain rows of their columns (read-only callers on every request;
    the caller has already scoped the ids to a user)."""
    ids = list(business_ids)
    if not ids:
        return []
    return list(await session.execute(_businesses_by_id(), {"ids": ids}))


async def business_row(session: RowReader, business_id: int) -> Any:
    """One business as `business_rows` gives it, or None."""
    rows = await business_rows(session, [business_id])
    return rows[0] if rows else None


@functools.cache
def _businesses_by_id() -> Any:
    table = cast(Any, Business.__table__)
    return select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


async def ensure_membership(
    session: AsyncSession,
    *,
    user_id: int,
    role: FirmRole | BusinessRole | str,
    firm_id: int | None = None,
    business_id: int | None = None,
) -> Membership:
    """Grant a role, or change the role of an existing grant (idempotent)."""
    if (firm_id is None) == (business_id is None):
        raise ValueError("a membership is for exactly one firm or one business")
    role_value = str(role)
    allowed = {r.value for r in FirmRole} if firm_id is not None else {r.value for r in BusinessRole}
    if role_value not in allowed:
        scope = "firm" if firm_id is not None else "business"
        raise ValueError(f"{role_value!r} is not a {scope} role; choose one of {', '.join(sorted(allowed))}")
    existing = await session.scalar(
        select(Membership).where(
            Membership.user_id == user_id,
            Membership.firm_id.is_(None) if firm_id is None else Membership.firm_id == firm_id,
            Membership.business_id.is_(None)
            if business_id is None
            else Membership.business_id == business_id,
        )
    )
    if existing is not None:
        existing.role = role_value
        return existing
    membership = Membership(user_id=user_id, firm_id=firm_id, business_id=business_id, role=role_value)
    session.add(membership)
    await session.flush()
    return membership


def _access_query(user_id: Any) -> Select[int, str, int | None, str, str, int | None]:
    # A firm membership reaches every business of that firm; a business membership reaches that one.
    # Table columns, not mapped attributes: every request runs this, and plain rows skip the ORM's loading.
    business, firm, membership = (cast(Any, model.__table__).c for model in (Business, Firm, Membership))
    return (
        select(
            business.id, business.name, business.firm_id, firm.name, membership.role, membership.business_id
        )
        .select_from(Business.__table__)
        .join(
            Membership.__table__,
            or_(
                membership.business_id == business.id,
                (membership.firm_id == business.firm_id) & membership.firm_id.is_not(None),
            ),
        )
        .outerjoin(Firm.__table__, firm.id == business.firm_id)
        .where(membership.user_id == user_id)
    )


def _best_access(rows: Any) -> dict[int, BusinessAccess]:
    """One access per business; a direct business role wins over a firm role (an owner stays an owner)."""
    found: dict[int, BusinessAccess] = {}
    for business_id, name, firm_id, firm_name, role, direct_business_id in rows:
        via_firm = direct_business_id is None
        current = found.get(business_id)
        if current is None or (current.via_firm and not via_firm):
            found[business_id] = BusinessAccess(business_id, name, firm_id, firm_name, role, via_firm)
    return found


# The statements every request runs to know who is asking and what they may see, built once with bound
# parameters: building and compiling them cost more Python than SQLite takes to answer them.
@functools.cache
def _request_statements() -> tuple[Any, Any, Any]:
    user: Any = bindparam("user_id")
    business, firm, membership, person = (
        cast(Any, model.__table__).c for model in (Business, Firm, Membership, User)
    )
    every_business = _access_query(user).order_by(business.name, business.id)
    one_business = _access_query(user).where(business.id == bindparam("business_id"))
    active_user = (
        select(person.id, person.email, person.display_name, firm.id, firm.name, membership.role)
        .select_from(User.__table__)
        .outerjoin(Membership.__table__, (membership.user_id == person.id) & membership.firm_id.is_not(None))
        .outerjoin(Firm.__table__, firm.id == membership.firm_id)
        .where(person.id == user, person.is_active.is_(True))
        .order_by(firm.name)
    )
    return every_business, one_business, active_user


async def businesses_for_user(session: RowReader, user_id: int) -> list[BusinessAccess]:
    """Every business the user can see: its firms' clients and the businesses it belongs to directly."""
    rows = await session.execute(_request_statements()[0], {"user_id": user_id})
    return list(_best_access(rows).values())


async def business_for_user(session: RowReader, user_id: int, business_id: int) -> BusinessAccess | None:
    """The business if this user may see it, else None (callers answer 404, never 403)."""
    rows = await session.execute(_request_statements()[1], {"user_id": user_id, "business_id": business_id})
    return _best_access(rows).get(business_id)


async def active_user_with_firm_roles(
    session: RowReader, user_id: int
) -> tuple[tuple[int, str, str], list[tuple[int, str, str]]] | None:
    """An active user's (id, email, display name) and (firm_id, firm_name, role) for each firm it belongs
    to, in one statement."""
    rows = (await session.execute(_request_statements()[2], {"user_id": user_id})).all()
    if not rows:
        return None
    person = rows[0]
    firms = [(fid, fname, role) for _id, _email, _name, fid, fname, role in rows if fid is not None]
    return (person[0], person[1], person[2]), firms


async def firm_roles_for_user(session: AsyncSession, user_id: int) -> list[tuple[int, str, str]]:
    """(firm_id, firm_name, role) for every firm the user belongs to."""
    rows = await session.execute(
        select(Firm.id, Firm.name, Membership.role)
        .join(Membership, Membership.firm_id == Firm.id)
        .where(Membership.user_id == user_id)
        .order_by(Firm.name)
    )
    return [(fid, fname, role) for fid, fname, role in rows]


async def add_audit_entry(
    session: RowWriter,
    *,
    action: str,
    business_id: int | None = None,
    firm_id: int | None = None,
    user_id: int | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_id: str | None = None,
    note: str | None = None,
) -> None:
    """Append an audit entry in the caller's transaction (one INSERT; pending ORM changes flush first)."""
    await session.execute(
        _audit_insert(),
        {
            "action": action,
            "business_id": business_id,
            "firm_id": firm_id,
            "user_id": user_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "before": before,
            "after": after,
            "request_id": request_id,
            "note": note,
            "created_at": utcnow(),
        },
    )


@functools.cache
def _audit_insert() -> Any:
    """Every change appends one: a Core INSERT on the table, built once (the ORM's handling of an INSERT
    costs more than SQLite takes to run it)."""
    return insert(cast(Any, AuditLog.__table__))


async def list_audit_entries(session: AsyncSession, business_id: int, *, limit: int = 100) -> list[AuditLog]:
    return list(
        await session.scalars(
            select(AuditLog)
            .where(AuditLog.business_id == business_id)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
    )
