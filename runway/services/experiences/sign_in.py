"""Experience: signing in and knowing who is signed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domains.core.passwords import hash_password, needs_rehash, verify_password
from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator, UserRecord
from runway.services.experiences.business_list import BusinessContext, business_context


@dataclass(frozen=True, slots=True)
class FirmMembershipView:
    firm_id: int
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The signed-in person, as templates and handlers see them."""

    id: int
    email: str
    display_name: str
    firms: tuple[FirmMembershipView, ...]

    @property
    def label(self) -> str:
        return self.display_name or self.email

    @property
    def is_firm_member(self) -> bool:
        return bool(self.firms)


@dataclass(frozen=True, slots=True)
class SignedInSession:
    """What `SignInService.session_at` read: the session's data, the user id it holds, that user (None:
    removed or deactivated), and the business asked for (None: not this user's, or none asked for)."""

    data: bytes | None
    user_id: int | None
    user: CurrentUser | None
    business_id: int | None
    business: BusinessContext | None


class SignInService:
    """Checks credentials and loads the current user. Never says which of e-mail or password was wrong."""

    def __init__(self, orchestrator: AccountsDataOrchestrator) -> None:
        self.data_orchestrator = orchestrator

    async def authenticate(self, email: str, password: str) -> CurrentUser | None:
        email = email.strip().lower()
        if not email or not password or len(password) > 1024:
            return None
        login = await self.data_orchestrator.get_login(email)
        if not verify_password(login.password_hash if login else None, password) or login is None:
            return None
        if not login.is_active:
            return None
        rehashed = None
        if needs_rehash(login.password_hash):
            rehashed = hash_password(password)
        await self.data_orchestrator.record_login(login.user_id, new_password_hash=rehashed)
        return await self.current_user(login.user_id)

    async def current_user(self, user_id: int) -> CurrentUser | None:
        record = await self.data_orchestrator.get_user(user_id)
        return _current_user(record) if record is not None else None

    async def session_at(
        self, key: str, user_id_of: Callable[[bytes], int | None], business_id: int | None
    ) -> SignedInSession:
        """A web session's data and the signed-in user it names (with the business a request names, when
        it names one), in one read."""
        read = await self.data_orchestrator.session_with_user(key, user_id_of, business_id)
        user = _current_user(read.user) if read.user is not None else None
        business = business_context(read.access) if read.access is not None else None
        return SignedInSession(read.data, read.user_id, user, business_id, business)

    async def current_user_at(
        self, user_id: int, business_id: int
    ) -> tuple[CurrentUser | None, BusinessContext | None]:
        """The signed-in user and the business a request names, if the user may see it, in one read."""
        record, access = await self.data_orchestrator.get_user_and_access(user_id, business_id)
        if record is None:
            return None, None
        return _current_user(record), business_context(access) if access is not None else None


def _current_user(record: UserRecord) -> CurrentUser:
    firms = tuple(FirmMembershipView(fid, name, role) for fid, name, role in record.firm_roles)
    return CurrentUser(record.user_id, record.email, record.display_name, firms)
