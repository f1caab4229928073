"""Domain (bank): CRUD primitives over synced accounts, purchases and deposits.

Every function takes the business_id: there is no path to bank rows that is not scoped to one business.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from domains.bank.models import Account, Deposit, Purchase
from domains.synced import dated_between, get_entity, list_entities


async def list_accounts(
    session: AsyncSession,
    business_id: int,
    *,
    account_type: str | None = None,
    active_only: bool = False,
) -> list[Account]:
    """Accounts of the business, optionally of one AccountType ("Bank", "Credit Card", ...)."""
    where: list[ColumnElement[bool]] = []
    if account_type is not None:
        where.append(Account.account_type == account_type)
    if active_only:
        where.append(Account.active == true())
    return await list_entities(session, business_id, Account, *where, order_by=[Account.name])


async def get_account(session: AsyncSession, business_id: int, qbo_id: str) -> Account | None:
    return await get_entity(session, business_id, Account, qbo_id)


async def list_purchases(
    session: AsyncSession,
    business_id: int,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    with_lines: bool = False,
) -> list[Purchase]:
    """Purchases dated within [since, until] (inclusive, either bound optional)."""
    return await list_entities(
        session,
        business_id,
        Purchase,
        *dated_between(Purchase.txn_date, since, until),
        order_by=[Purchase.txn_date],
        with_lines=with_lines,
    )


async def get_purchase(
    session: AsyncSession, business_id: int, qbo_id: str, *, with_lines: bool = False
) -> Purchase | None:
    return await get_entity(session, business_id, Purchase, qbo_id, with_lines=with_lines)


async def list_deposits(
    session: AsyncSession,
    business_id: int,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    with_lines: bool = True,
) -> list[Deposit]:
    """Deposits dated within [since, until] (inclusive, either bound optional), with their lines."""
    return await list_entities(
        session,
        business_id,
        Deposit,
        *dated_between(Deposit.txn_date, since, until),
        order_by=[Deposit.txn_date],
        with_lines=with_lines,
    )
