"""Web layer: the `runway` command line (serve, migrate, create-user, demo)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec
import structlog

from app.settings import Settings, SettingsError
from domains.core import foreground
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
    # The serving process checkpoints SQLite's WAL in a thread, not in whichever request's commit finds it
    # full (see `Database`); other commands keep SQLite's own checkpoints.
    app = create_app(settings, background_checkpoints=True)
    foreground.tune_garbage_collector(between_requests=True)
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
@click.option("--url", default="http://127.0.0.1:8000/", show_default=True, help="Where the app is served.")
@click.option("--no-companies", is_flag=True, help="Only the logins: no demo companies.")
def demo(url: str, no_companies: bool) -> None:
    """Create the demo firm, its client businesses with their QuickBooks books, and the demo logins.

    Safe to repeat: companies already connected are left as they are. In sandbox mode each demo company
    is generated into the built-in sandbox and synced through SmartSync, as a real one would be.
    """
    from runway.services.data_orchestrators.accounts_data_orchestrator import AccountsDataOrchestrator
    from runway.services.experiences.account_admin import AccountAdminService

    settings = _settings()

    async def logins_work(database: Database) -> list[tuple[str, str, str]]:
        logins = await AccountAdminService(AccountsDataOrchestrator(database)).ensure_demo_logins()
        return [(login.email, login.password, login.description) for login in logins]

    logins = _with_database(settings, logins_work)
    if not no_companies and settings.sandbox_mode:
        log = structlog.get_logger("runway.demo")

        def progress(name: str, entity: str, done: int, total: int) -> None:
            log.info("demo sync", business=name, entity=entity, done=done, total=total)

        async def companies_work(database: Database, runtime: Any) -> Any:
            today = dt.datetime.now(dt.UTC).date()
            return await _sandbox_admin(database, runtime).seed_demo(today, on_progress=progress)

        for seeded in _with_runtime(settings, companies_work):
            status = f"{seeded.rows_written} rows synced" if seeded.synced else f"sync failed: {seeded.error}"
            click.echo(f"  {seeded.name}: sandbox company {seeded.realm_id}, {status}")
    click.echo("")
    click.echo(f"  Runway demo: open {url}")
    for email, password, description in logins:
        click.echo(f"    {email:<32} password: {password:<14} ({description})")
    click.echo("")


@main.command()
@click.option("--business", "business_name", required=True, help="The business's name in Runway.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Forecast start date (YYYY-MM-DD); default: today in the business's time zone.",
)
def report(business_name: str, as_of: dt.datetime | None) -> None:
    """Print the runway report of one business as JSON (amounts in integer cents)."""
    from runway.services.data_orchestrators.runway_report_data_orchestrator import (
        BusinessNameError,
        RunwayReportDataOrchestrator,
    )
    from runway.services.experiences.runway_report import RunwayReportService

    async def work(database: Database) -> dict[str, Any]:
        service = RunwayReportService(RunwayReportDataOrchestrator(database))
        return await service.report(business_name, as_of.date() if as_of else None)

    try:
        document = _with_database(_settings(), work)
    except BusinessNameError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(msgspec.json.format(msgspec.json.Encoder(decimal_format="number").encode(document), indent=2))


@main.command()
@click.option("--business", "business_name", help="Only this business (default: every connected one).")
@click.option("--full", is_flag=True, help="Re-read everything instead of only what changed.")
def sync(business_name: str | None, full: bool) -> None:
    """Pull QuickBooks data now, showing progress per entity."""
    from runway.services.data_orchestrators.runway_report_data_orchestrator import (
        BusinessNameError,
        RunwayReportDataOrchestrator,
    )
    from runway.services.data_orchestrators.sync_data_orchestrator import SyncDataOrchestrator
    from runway.services.experiences.sync import SyncResultView, SyncService

    settings = _settings()
    foreground.tune_garbage_collector()
    bars: dict[str, Any] = {}

    def progress(name: str, entity: str, done: int, total: int) -> None:
        bar = bars.get(name)
        if bar is None:
            bar = bars[name] = click.progressbar(length=total, label=f"{name:<28}", show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    async def work(database: Database, runtime: Any) -> list[SyncResultView]:
        service = SyncService(
            SyncDataOrchestrator(database, runtime.smart_sync, settings.qbo_webhook_verifier),
            RunwayReportDataOrchestrator(database),
        )
        return await service.sync_businesses(business_name, full=full, on_progress=progress)

    try:
        results = _with_runtime(settings, work)
    except BusinessNameError as exc:
        raise click.ClickException(str(exc)) from exc
    if not results:
        click.echo("No business is connected to QuickBooks yet.")
    failed = False
    for result in results:
        if result.status == "succeeded":
            click.echo(
                f"{result.business_name}: {result.kind} sync done, {result.rows_written} rows written"
                + (f", {result.quarantined} entities quarantined" if result.quarantined else "")
            )
        else:
            failed = True
            click.echo(f"{result.business_name}: sync {result.status}: {result.error}", err=True)
    if failed:
        sys.exit(1)


def _sandbox_admin(database: Database, runtime: Any) -> Any:
    from runway.services.data_orchestrators.sandbox_data_orchestrator import SandboxDataOrchestrator
    from runway.services.data_orchestrators.sync_data_orchestrator import SyncDataOrchestrator
    from runway.services.experiences.sandbox_admin import SandboxAdminService

    if runtime.sandbox is None:
        raise click.ClickException(
            "the built-in sandbox is off: Intuit credentials or RUNWAY_QBO_BASE_URL are set"
        )
    smart_sync = runtime.smart_sync
    return SandboxAdminService(
        SandboxDataOrchestrator(database, runtime.sandbox, smart_sync),
        SyncDataOrchestrator(database, smart_sync, runtime.settings.qbo_webhook_verifier),
    )


def _with_runtime(
    settings: Settings,
    work: Callable[[Database, Any], Awaitable[T]],
    *,
    sandbox_port: int = 0,
    map_in_process: bool = False,
) -> T:
    """Run `work(database, runtime)` with a started QBO runtime (an ephemeral sandbox in sandbox mode)."""
    from app.qbo_runtime import QboRuntime

    async def run(database: Database) -> T:
        runtime = QboRuntime(settings, database, sandbox_port=sandbox_port)
        await runtime.start(map_in_process=map_in_process)
        try:
            return await work(database, runtime)
        finally:
            await runtime.stop()

    return _with_database(settings, run)


@main.group()
def sandbox() -> None:
    """The built-in QuickBooks sandbox: load companies, serve it, empty it."""


@sandbox.command("seed")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--company", required=True, help="Name of the new company (and of its Runway business).")
@click.option("--firm", help="Make the business a client of this firm (default: no firm).")
def sandbox_seed(directory: Path, company: str, firm: str | None) -> None:
    """Load a directory of QBO JSON files as a new company, connect it as a business, and sync it."""
    from domains.qbo.sandbox import SeedError

    async def work(database: Database, runtime: Any) -> Any:
        return await _sandbox_admin(database, runtime).seed_directory(directory, company, firm_name=firm)

    try:
        seeded = _with_runtime(_settings(), work)
    except SeedError as exc:
        raise click.ClickException(f"nothing was loaded: {exc}") from exc
    click.echo(f"Loaded {company!r} as sandbox company {seeded.realm_id} (business id {seeded.business_id}).")
    if seeded.synced:
        click.echo(f"Synced {seeded.rows_written} rows.")
    else:
        raise click.ClickException(f"the first sync failed: {seeded.error}")


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
def sandbox_serve(host: str, port: int) -> None:
    """Serve the sandbox on its own for outside tools (QBO's URLs under /v3/company/...)."""
    from domains.qbo.sandbox import serve as serve_sandbox

    settings = _settings()
    click.echo(f"QBO sandbox at http://{host}:{port}/v3/company/<realmId>/...  (Ctrl+C to stop)")
    serve_sandbox(host, port, settings.sandbox_db_path)


@sandbox.command("reset")
@click.confirmation_option(prompt="Delete every company in the sandbox?")
def sandbox_reset() -> None:
    """Empty the sandbox: every company, token and sent e-mail is removed."""
    from domains.qbo.sandbox import reset as reset_sandbox

    reset_sandbox(_settings().sandbox_db_path)
    click.echo("The sandbox is empty. Businesses stay in Runway; reconnect or re-seed them.")


@main.command()
def worker() -> None:
    """Run the sync worker alone (scheduled and webhook syncs), for deployments with several processes."""
    import signal

    settings = _settings()
    foreground.tune_garbage_collector()

    async def work(database: Database, runtime: Any) -> None:
        from domains.qbo.worker import SyncWorker

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        sync_worker = SyncWorker(
            runtime.smart_sync, interval=dt.timedelta(minutes=settings.sync_interval_minutes)
        )
        sync_worker.start()
        click.echo("Sync worker running (Ctrl+C to stop).")
        await stop.wait()
        await sync_worker.stop()

    _with_runtime(settings, work, map_in_process=True)


@main.group()
def digest() -> None:
    """The weekly digest e-mails."""


@digest.command("send")
@click.option("--dry-run", is_flag=True, help="Render and list what would be sent; send and record nothing.")
def digest_send(dry_run: bool) -> None:
    """E-mail this week's digest of every business and firm with recipients (run it weekly from cron).

    Each digest goes out at most once per ISO week: a second run the same week skips what was sent, and
    retries only what failed.
    """
    from app.mailer import DigestRenderer, MailNotConfiguredError, SmtpConfig, SmtpMailer, sender_address
    from runway.services.data_orchestrators.digest_data_orchestrator import DigestDataOrchestrator
    from runway.services.experiences.digest import DigestEmail, DigestService, SendOutcome

    settings = _settings()
    renderer = DigestRenderer(settings.templates_dir, settings.public_url)
    try:
        sender = sender_address(settings.smtp_from)
        mailer = None if dry_run else SmtpMailer(SmtpConfig.from_settings(settings))
    except (MailNotConfiguredError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc

    async def deliver(email: DigestEmail) -> None:
        message = renderer.message(email, sender)
        if mailer is not None:
            await mailer.send(message)

    async def work(database: Database) -> list[SendOutcome]:
        service = DigestService(DigestDataOrchestrator(database), settings.public_url)
        return await service.send_weekly(deliver, dry_run=dry_run)

    outcomes = _with_database(settings, work)
    labels = {
        "sent": "sent to",
        "would_send": "would send to",
        "already_sent": "already sent this week;",
        "no_recipients": "skipped: no recipients",
        "no_data": "skipped: no synced data",
        "failed": "FAILED for",
    }
    for outcome in outcomes:
        who = ", ".join(outcome.recipients) if outcome.status in {"sent", "would_send", "failed"} else ""
        what = f"{labels[outcome.status]} {who}".rstrip()
        line = f"{outcome.kind} {outcome.name!r} ({outcome.iso_week}): {what}"
        click.echo(line + (f" ({outcome.error})" if outcome.error else ""), err=outcome.status == "failed")
    if any(outcome.status == "failed" for outcome in outcomes):
        sys.exit(1)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    sys.exit(main())
