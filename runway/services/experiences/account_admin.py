"""Experience: creating users and their memberships (the CLI's create-user and the demo logins)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.core.models import BusinessRole, FirmRole
from domains.core.passwords import hash_password
from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator

DEMO_FIRM = "Ledgerline Advisors"
DEMO_CLIENTS = [
    "Maple Street Bakery",
    "Tidewater Design Studio",
    "Ironclad Fabrication",
    "Brightside Landscaping",
]
DEMO_OWNED_BUSINESS = "Copper Kettle Cafe"
DEMO_PASSWORD = "runway-demo"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    password: str
    description: str


class AccountAdminService:
    def __init__(self, orchestrator: AccountsDataOrchestrator) -> None:
        self.data_orchestrator = orchestrator

    async def create_user(
        self,
        email: str,
        password: str,
        *,
        role: str,
        firm: str | None = None,
        business: str | None = None,
        display_name: str = "",
    ) -> tuple[int, bool]:
        """Create or update a user with one role. Raises ValueError with a message fit for the terminal."""
        email = email.strip().lower()
        if "@" not in email or len(email) > 320:
            raise ValueError(f"{email!r} is not an e-mail address")
        if (firm is None) == (business is None):
            raise ValueError("give exactly one of --firm or --business")
        if firm is not None and role not in {r.value for r in FirmRole}:
            raise ValueError(f"firm roles are {', '.join(r.value for r in FirmRole)}; got {role!r}")
        if business is not None and role not in {r.value for r in BusinessRole}:
            raise ValueError(f"business roles are {', '.join(r.value for r in BusinessRole)}; got {role!r}")
        return await self.data_orchestrator.upsert_user_with_membership(
            email=email,
            password_hash=hash_password(password),
            display_name=display_name,
            firm_name=firm,
            business_name=business,
            role=role,
        )

    async def ensure_demo_logins(self) -> list[DemoLogin]:
        """The demo firm, its clients and two logins; safe to run on every start."""
        await self.data_orchestrator.ensure_firm_with_clients(DEMO_FIRM, DEMO_CLIENTS)
        advisor = DemoLogin("advisor@demo.runway.example", DEMO_PASSWORD, f"advisor at {DEMO_FIRM}")
        owner = DemoLogin("owner@demo.runway.example", DEMO_PASSWORD, f"owner of {DEMO_OWNED_BUSINESS}")
        await self.create_user(
            advisor.email, advisor.password, role="advisor", firm=DEMO_FIRM, display_name="Avery Advisor"
        )
        await self.create_user(
            owner.email,
            owner.password,
            role="owner",
            business=DEMO_OWNED_BUSINESS,
            display_name="Olive Owner",
        )
        return [advisor, owner]
