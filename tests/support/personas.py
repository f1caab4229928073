"""Test support: the people and businesses most tests use.

Firm "Acme Accounting" (alice: advisor, vera: viewer, bert: bookkeeper) has clients "Acme Client One" and
"Acme Client Two". Firm "Other Firm" (oscar: advisor) has "Other Client". Bob owns "Bob's Bikes" directly.
Charlie owns only "Charlie Unused".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from domains.core.db import Database
from domains.core.models import Business
from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator
from runway.services.experiences.account_admin import AccountAdminService

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class World:
    acme_client_one: int
    acme_client_two: int
    other_client: int
    bobs_bikes: int


async def build_world(db: Database) -> World:
    admin = AccountAdminService(AccountsDataOrchestrator(db))
    await admin.data_orchestrator.ensure_firm_with_clients(
        "Acme Accounting", ["Acme Client One", "Acme Client Two"]
    )
    await admin.data_orchestrator.ensure_firm_with_clients("Other Firm", ["Other Client"])
    await admin.create_user(
        "alice@acme.test", PASSWORD, role="advisor", firm="Acme Accounting", display_name="Alice"
    )
    await admin.create_user("vera@acme.test", PASSWORD, role="viewer", firm="Acme Accounting")
    await admin.create_user("bert@acme.test", PASSWORD, role="bookkeeper", firm="Acme Accounting")
    await admin.create_user("oscar@other.test", PASSWORD, role="advisor", firm="Other Firm")
    await admin.create_user(
        "bob@bikes.test", PASSWORD, role="owner", business="Bob's Bikes", display_name="Bob"
    )
    await admin.create_user("charlie@nowhere.test", PASSWORD, role="owner", business="Charlie Unused")
    async with db.read() as session:
        ids = {name: bid for bid, name in (await session.execute(select(Business.id, Business.name))).all()}
    return World(ids["Acme Client One"], ids["Acme Client Two"], ids["Other Client"], ids["Bob's Bikes"])
