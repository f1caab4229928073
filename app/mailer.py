"""Web layer: e-mail — digest messages rendered from templates (HTML and plain text in one multipart
message) and sent over SMTP with the standard library, in a worker thread so the event loop never blocks.

Configured by RUNWAY_SMTP_HOST, _PORT, _USERNAME, _PASSWORD, _STARTTLS and _FROM (see the README).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app import template_helpers
from app.settings import Settings
from runway.services.experiences.digest import DigestEmail

SMTP_TIMEOUT_SECONDS = 30.0


class MailNotConfiguredError(RuntimeError):
    """RUNWAY_SMTP_HOST is not set, so no e-mail can be sent."""


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    sender: str

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        if not settings.smtp_host:
            raise MailNotConfiguredError(
                "set RUNWAY_SMTP_HOST (and the other RUNWAY_SMTP_* variables) to send e-mail"
            )
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            sender=settings.smtp_from,
        )


def build_message(
    *, sender: str, recipients: tuple[str, ...], subject: str, text: str, html: str
) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML as the preferred part."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "runway.invalid"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


class SmtpMailer:
    """Sends messages through one SMTP server (a new connection per message: the volume is weekly)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def _send_now(self, message: EmailMessage) -> None:
        config = self.config
        with smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, config.password or "")
            refused = smtp.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send_now, message)


class DigestRenderer:
    """Renders digest e-mails from templates/digest/email_*.{html,txt} with absolute links back to the app."""

    def __init__(self, templates_dir: Path, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self.env = Environment(
            loader=FileSystemLoader(templates_dir),
            autoescape=select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        template_helpers.install(self.env)

    def render(self, email: DigestEmail) -> tuple[str, str]:
        """(text, html) of one digest."""
        context = {"view": email.view, "base": self.public_url}
        text = self.env.get_template(f"digest/email_{email.kind}.txt").render(context)
        html = self.env.get_template(f"digest/email_{email.kind}.html").render(context)
        return text.strip() + "\n", html

    def message(self, email: DigestEmail, sender: str) -> EmailMessage:
        text, html = self.render(email)
        return build_message(
            sender=sender, recipients=email.recipients, subject=email.subject, text=text, html=html
        )


def sender_address(value: str) -> str:
    """RUNWAY_SMTP_FROM as a header value ("Runway <runway@example.com>" or a bare address)."""
    name, address = parseaddr(value)
    if not address or "@" not in address:
        raise ValueError(f"RUNWAY_SMTP_FROM is not an e-mail address: {value!r}")
    username, _, domain = address.partition("@")
    return str(Address(display_name=name, username=username, domain=domain))
