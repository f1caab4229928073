"""Web layer: the `runway` command line (serve, migrate, create-user, demo)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from app.settings import Settings, SettingsError
from domains.core.db import Database

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        database = Database(settings.database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Runway: cash runway for small businesses on QuickBooks Online.

    Configuration comes from RUNWAY_* environment variables (see the README); with none set, data lives
    in ./var and the app runs against the built-in QuickBooks sandbox.
    """


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest version."""
    from domains.core.migrations import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    click.echo(f"Database is up to date ({_redact(settings.database_url)}).")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
def serve(host: str, port: int) -> None:
    """Serve the web app (one process; put several behind a proxy only on PostgreSQL)."""
    import uvicorn

    from app.main import create_app

    settings = _settings()
    app = create_app(settings)
    click.echo(f"Runway is at http://{host}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=True)


@main.command("create-user")
@click.argument("email")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."
)
@click.option("--firm", help="Give a role in this firm (created if missing).")
@click.option("--business", help="Give a role in this business (created if missing).")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "advisor", "bookkeeper", "viewer", "owner"]),
    help="Firm roles: admin, advisor, bookkeeper, viewer. Business roles: owner, viewer.",
)
@click.option("--name", "display_name", default="", help="Display name.")
def create_user(
    email: str, password: str, firm: str | None, business: str | None, role: str, display_name: str
) -> None:
    """Create a user (or reset its password) with one firm or business role."""
    from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator
    from runway.services.experiences.account_admin import AccountAdminService

    async def work(database: Database) -> tuple[int, bool]:
        service = AccountAdminService(AccountsDataOrchestrator(database))
        return await service.create_user(
            email, password, role=role, firm=firm, business=business, display_name=display_name
        )

    try:
        user_id, created = _with_database(_settings(), work)
    except (ValueError, LookupError) as exc:
        raise click.ClickException(str(exc)) from exc
    where = f"firm {firm!r}" if firm else f"business {business!r}"
    click.echo(f"{'Created' if created else 'Updated'} user {email} (id {user_id}) as {role} of {where}.")


@main.command()
@click.option(
    "--url", default="http://127.0.0.1:8000/", show_default=True, help="Where the app will be served."
)
def demo(url: str) -> None:
    """Create the demo firm, its client businesses and the demo logins (safe to repeat)."""
    from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator
    from runway.services.experiences.account_admin import AccountAdminService

    async def work(database: Database) -> list[tuple[str, str, str]]:
        logins = await AccountAdminService(AccountsDataOrchestrator(database)).ensure_demo_logins()
        return [(login.email, login.password, login.description) for login in logins]

    logins = _with_database(_settings(), work)
    click.echo("")
    click.echo(f"  Runway demo: open {url}")
    for email, password, description in logins:
        click.echo(f"    {email:<32} password: {password:<14} ({description})")
    click.echo("")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    sys.exit(main())
