"""Domain core: what each role may do (PRODUCT.md §1). Pure policy, no I/O."""

from __future__ import annotations

import enum


class Capability(enum.StrEnum):
    READ = "read"
    TRIAGE = "triage"  # fix, dismiss and snooze hygiene issues
    PROPOSE = "propose"  # propose decisions in the console
    APPROVE = "approve"  # approve and finalize decisions
    MANAGE = "manage"  # staff and clients


_ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "viewer": frozenset({Capability.READ}),
    "bookkeeper": frozenset({Capability.READ, Capability.TRIAGE, Capability.PROPOSE}),
    "advisor": frozenset({Capability.READ, Capability.TRIAGE, Capability.PROPOSE, Capability.APPROVE}),
    "owner": frozenset({Capability.READ, Capability.TRIAGE, Capability.PROPOSE, Capability.APPROVE}),
    "admin": frozenset(Capability),
}

ROLE_LABELS = {
    "admin": "Admin",
    "advisor": "Advisor",
    "bookkeeper": "Bookkeeper",
    "viewer": "Viewer",
    "owner": "Owner",
}


def capabilities(role: str) -> frozenset[Capability]:
    """Capabilities of a role; an unknown role can do nothing."""
    return _ROLE_CAPABILITIES.get(role, frozenset())


def can(role: str, capability: Capability) -> bool:
    return capability in capabilities(role)
