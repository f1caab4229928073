"""Experience: "Your businesses" — the businesses a signed-in user can open — and resolving one of them."""

from __future__ import annotations

from dataclasses import dataclass

from domains.core.permissions import ROLE_LABELS, Capability, capabilities
from domains.core.repository import BusinessAccess
from runway.services.data_orchestrators.business_list_data_orchestrator import BusinessListDataOrchestrator


class BusinessNotFoundError(LookupError):
    """The business does not exist or this user may not see it (the two are never told apart)."""


@dataclass(frozen=True, slots=True)
class BusinessContext:
    """The business a request is about, with the user's role in it."""

    id: int
    name: str
    role: str
    firm_id: int | None
    firm_name: str | None
    capabilities: frozenset[Capability]

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities


@dataclass(frozen=True, slots=True)
class BusinessRow:
    id: int
    name: str
    firm_name: str | None
    role_label: str
    via_firm: bool


@dataclass(frozen=True, slots=True)
class BusinessListView:
    rows: tuple[BusinessRow, ...]

    @property
    def empty(self) -> bool:
        return not self.rows


class BusinessListService:
    def __init__(self, orchestrator: BusinessListDataOrchestrator) -> None:
        self.data_orchestrator = orchestrator

    async def list_for(self, user_id: int) -> BusinessListView:
        accesses = await self.data_orchestrator.accessible_businesses(user_id)
        rows = tuple(
            BusinessRow(a.business_id, a.name, a.firm_name, ROLE_LABELS.get(a.role, a.role), a.via_firm)
            for a in accesses
        )
        return BusinessListView(rows)

    async def resolve(self, user_id: int, business_id: int) -> BusinessContext:
        access = await self.data_orchestrator.access_to(user_id, business_id)
        if access is None:
            raise BusinessNotFoundError(business_id)
        return business_context(access)


def business_context(access: BusinessAccess) -> BusinessContext:
    """The business as a request sees it, from the access that grants it."""
    return BusinessContext(
        access.business_id,
        access.name,
        access.role,
        access.firm_id,
        access.firm_name,
        capabilities(access.role),
    )
