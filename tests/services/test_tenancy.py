"""Services: memberships decide which businesses a user reaches, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from domains.core.permissions import Capability
from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator
from runway.services.data_orchestrators.business_list_data_orchestrator import BusinessListDataOrchestrator
from runway.services.experiences.business_list import BusinessListService, BusinessNotFoundError
from runway.services.experiences.sign_in import SignInService
from tests.support.personas import PASSWORD, build_world

pytestmark = pytest.mark.anyio


async def _user_id(database, email: str) -> int:
    user = await SignInService(AccountsDataOrchestrator(database)).authenticate(email, PASSWORD)
    assert user is not None
    return user.id


async def test_firm_members_see_every_client_of_their_firm_and_nothing_else(database):
    world = await build_world(database)
    service = BusinessListService(BusinessListDataOrchestrator(database))
    alice = await _user_id(database, "alice@acme.test")
    names = [row.name for row in (await service.list_for(alice)).rows]
    assert names == ["Acme Client One", "Acme Client Two"]
    with pytest.raises(BusinessNotFoundError):
        await service.resolve(alice, world.other_client)
    with pytest.raises(BusinessNotFoundError):
        await service.resolve(alice, world.bobs_bikes)


async def test_an_owner_sees_only_the_owned_business(database):
    world = await build_world(database)
    service = BusinessListService(BusinessListDataOrchestrator(database))
    bob = await _user_id(database, "bob@bikes.test")
    assert [row.id for row in (await service.list_for(bob)).rows] == [world.bobs_bikes]
    context = await service.resolve(bob, world.bobs_bikes)
    assert context.role == "owner"
    assert context.can(Capability.APPROVE)


async def test_roles_grant_the_capabilities_of_the_product_spec(database):
    world = await build_world(database)
    service = BusinessListService(BusinessListDataOrchestrator(database))
    vera = await service.resolve(await _user_id(database, "vera@acme.test"), world.acme_client_one)
    bert = await service.resolve(await _user_id(database, "bert@acme.test"), world.acme_client_one)
    alice = await service.resolve(await _user_id(database, "alice@acme.test"), world.acme_client_one)
    assert vera.can(Capability.READ)
    assert not vera.can(Capability.TRIAGE)
    assert bert.can(Capability.PROPOSE)
    assert not bert.can(Capability.APPROVE)
    assert alice.can(Capability.APPROVE)
    assert not alice.can(Capability.MANAGE)


async def test_a_direct_role_wins_over_a_firm_role_for_the_same_business(database):
    world = await build_world(database)
    admin = AccountsDataOrchestrator(database)
    from runway.services.experiences.account_admin import AccountAdminService

    # Vera is a firm viewer, and also made owner of one client directly.
    await AccountAdminService(admin).create_user(
        "vera@acme.test", PASSWORD, role="owner", business="Acme Client One"
    )
    service = BusinessListService(BusinessListDataOrchestrator(database))
    vera = await _user_id(database, "vera@acme.test")
    assert (await service.resolve(vera, world.acme_client_one)).role == "owner"
    assert (await service.resolve(vera, world.acme_client_two)).role == "viewer"


async def test_create_user_refuses_roles_of_the_wrong_kind(database):
    from runway.services.experiences.account_admin import AccountAdminService

    service = AccountAdminService(AccountsDataOrchestrator(database))
    with pytest.raises(ValueError, match="firm roles"):
        await service.create_user("x@y.test", PASSWORD, role="owner", firm="Acme")
    with pytest.raises(ValueError, match="business roles"):
        await service.create_user("x@y.test", PASSWORD, role="advisor", business="Shop")
    with pytest.raises(ValueError, match="exactly one"):
        await service.create_user("x@y.test", PASSWORD, role="owner")


async def test_demo_logins_are_idempotent(database):
    from runway.services.experiences.account_admin import DEMO_CLIENTS, AccountAdminService

    service = AccountAdminService(AccountsDataOrchestrator(database))
    first = await service.ensure_demo_logins()
    second = await service.ensure_demo_logins()
    assert first == second
    advisor = await _user_id_demo(database, first[0].email, first[0].password)
    rows = (await BusinessListService(BusinessListDataOrchestrator(database)).list_for(advisor)).rows
    assert sorted(row.name for row in rows) == sorted(DEMO_CLIENTS)


async def _user_id_demo(database, email: str, password: str) -> int:
    user = await SignInService(AccountsDataOrchestrator(database)).authenticate(email, password)
    assert user is not None
    return user.id
