"""Services: `runway digest send` against a real SMTP server started by the test — multipart messages with
absolute links back into the app, the right recipients, once per week, and a dry run that sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result

from app.cli import main
from domains.core import repository as core
from domains.summaries import repository as summaries
from runway.services.data_orchestrators.business_summary_data_orchestrator import (
    BusinessSummaryDataOrchestrator,
)
from tests.conftest import TEST_SECRET
from tests.support import in_fresh_thread
from tests.support.personas import build_world
from tests.support.postgres import free_port
from tests.support.qbo import QboHarness
from tests.support.runway_world import CAFE, TIGHT, add_demo_business

pytestmark = pytest.mark.anyio

PUBLIC = "https://runway.example.test"


class Inbox:
    """Every message the SMTP server accepted, with its envelope."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        return [
            (list(e.rcpt_tos), message_from_bytes(e.original_content or e.content, policy=policy.default))
            for e in self.envelopes
        ]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def run_cli(harness: QboHarness, data_dir: Path, port: int, *args: str) -> Result:
    env = {
        "RUNWAY_DATA_DIR": str(data_dir),
        "RUNWAY_DATABASE_URL": harness.db.url,
        "RUNWAY_SECRET_KEY": TEST_SECRET,
        "RUNWAY_LOG_LEVEL": "WARNING",
        "RUNWAY_PUBLIC_URL": PUBLIC,
        "RUNWAY_SMTP_HOST": "127.0.0.1",
        "RUNWAY_SMTP_PORT": str(port),
        "RUNWAY_SMTP_STARTTLS": "false",
        "RUNWAY_SMTP_FROM": "Runway Digest <digest@runway.example.test>",
    }
    # The command runs its own event loop, as it does from cron.
    return in_fresh_thread(lambda: CliRunner().invoke(main, ["digest", "send", *args], env=env))


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


async def test_digest_send_mails_multipart_digests_with_links_once_per_week(
    qbo_sqlite, tmp_path, smtp_server
):
    inbox, port = smtp_server
    await build_world(qbo_sqlite.db)
    cafe = await add_demo_business(qbo_sqlite, CAFE, business_name="Bob's Cafe")
    tight = await add_demo_business(qbo_sqlite, TIGHT, firm="Acme Accounting")
    async with qbo_sqlite.db.write() as session:
        bob = await core.get_user_by_email(session, "bob@bikes.test")
        await core.ensure_membership(session, user_id=bob.id, business_id=cafe, role="owner")
        acme = await core.get_or_create_firm(session, "Acme Accounting")
        for email in ("partners@acme.test", "alice@acme.test"):
            await summaries.add_recipient(session, email, user_id=None, firm_id=acme.id)

    dry = run_cli(qbo_sqlite, tmp_path, port, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would send to bob@bikes.test" in dry.output
    assert inbox.envelopes == [], "a dry run sends nothing"

    first = run_cli(qbo_sqlite, tmp_path, port)
    assert first.exit_code == 0, first.output
    received = inbox.messages()
    assert len(received) == 2, first.output
    by_subject = {message["Subject"]: (rcpt, message) for rcpt, message in received}

    cafe_subject = next(s for s in by_subject if s.startswith("Bob's Cafe:"))
    rcpt, message = by_subject[cafe_subject]
    assert rcpt == ["bob@bikes.test"], "an owned business's digest goes to its owners"
    assert message["To"] == "bob@bikes.test"
    assert message["From"] == "Runway Digest <digest@runway.example.test>"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "13+ weeks, not burning" in text
    assert "BILLS DUE THIS WEEK" in text
    assert f"{PUBLIC}/b/{cafe}/digest" in text
    assert f"{PUBLIC}/b/{cafe}/console" in text
    assert f'href="{PUBLIC}/b/{cafe}/hygiene"' in html
    assert f'href="{PUBLIC}/b/{cafe}"' in html
    assert "<script" not in html

    firm_subject = next(s for s in by_subject if s.startswith("Acme Accounting:"))
    rcpt, message = by_subject[firm_subject]
    assert sorted(rcpt) == ["alice@acme.test", "partners@acme.test"], "the firm's own recipient list wins"
    text, html = parts(message)
    assert TIGHT in text
    assert f"{PUBLIC}/b/{tight}/digest" in text
    assert f'href="{PUBLIC}/clients"' in html
    # The tight company's runway, as its stored summary has it (the demo books are dated from today).
    tight_summary = (await BusinessSummaryDataOrchestrator(qbo_sqlite.db).summaries_for([tight]))[tight]
    assert tight_summary.runway_weeks is not None
    assert f"{tight_summary.runway_weeks} weeks" in html

    second = run_cli(qbo_sqlite, tmp_path, port)
    assert second.exit_code == 0, second.output
    assert len(inbox.envelopes) == 2, "the same week's digest is never sent twice"
    assert "already sent this week" in second.output


async def test_digest_send_refuses_without_an_smtp_server(qbo_sqlite, tmp_path):
    env = {
        "RUNWAY_DATA_DIR": str(tmp_path),
        "RUNWAY_DATABASE_URL": qbo_sqlite.db.url,
        "RUNWAY_SECRET_KEY": TEST_SECRET,
    }
    result = in_fresh_thread(lambda: CliRunner().invoke(main, ["digest", "send"], env=env))
    assert result.exit_code != 0
    assert "RUNWAY_SMTP_HOST" in result.output
