"""Web layer: the one frozen Settings object, read from the environment once at start-up."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """An environment variable holds a value Runway cannot use."""


def _env_bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _env_int(env: dict[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def load_or_create_secret(data_dir: Path) -> str:
    """The secret key kept in the data directory, generated on first use (mode 0600).

    Losing or changing it makes stored QuickBooks tokens unreadable (businesses must reconnect), so two
    processes starting at once must agree on one key: the file is created with a hard link, which
    fails if another process got there first, and then everyone reads what is on disk.
    """
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(48) + "\n")
        tmp.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise SettingsError(f"{path} holds a key shorter than 32 characters; delete it to generate a new one")
    return secret


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about one Runway process. See the README's configuration table."""

    data_dir: Path
    database_url: str
    secret_key: str
    debug: bool = False
    secure_cookies: bool = False
    session_max_age_seconds: int = 14 * 24 * 3600
    log_level: str = "INFO"
    log_json: bool = False
    public_url: str = "http://127.0.0.1:8000"
    qbo_base_url: str | None = None
    qbo_client_id: str | None = None
    qbo_client_secret: str | None = None
    qbo_environment: str = "production"
    qbo_redirect_uri: str | None = None
    qbo_webhook_verifier: str = ""
    sandbox_port: int = 8001
    run_worker: bool = True
    sync_process: bool = True
    sync_interval_minutes: int = 15
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_from: str = "Runway <runway@localhost>"
    templates_dir: Path = field(default=REPO_ROOT / "templates")
    static_dir: Path = field(default=REPO_ROOT / "static")

    @property
    def sandbox_mode(self) -> bool:
        """No Intuit credentials: the built-in QBO sandbox stands in for QuickBooks."""
        return not self.qbo_client_id

    @property
    def sandbox_db_path(self) -> Path:
        return self.data_dir / "qbo-sandbox.db"

    @property
    def redirect_uri(self) -> str:
        return self.qbo_redirect_uri or f"{self.public_url.rstrip('/')}/connect/qbo/callback"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read RUNWAY_* variables; every default works with no configuration at all."""
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("RUNWAY_DATA_DIR") or REPO_ROOT / "var").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        database_url = env.get("RUNWAY_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'runway.db'}"
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                "RUNWAY_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
                f"got {database_url.split('://')[0]!r}"
            )
        secret_key = env.get("RUNWAY_SECRET_KEY") or load_or_create_secret(data_dir)
        if len(secret_key) < 32:
            raise SettingsError("RUNWAY_SECRET_KEY must be at least 32 characters")
        log_level = (env.get("RUNWAY_LOG_LEVEL") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(f"RUNWAY_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
        client_id = env.get("RUNWAY_QBO_CLIENT_ID") or None
        client_secret = env.get("RUNWAY_QBO_CLIENT_SECRET") or None
        if bool(client_id) != bool(client_secret):
            raise SettingsError("set both RUNWAY_QBO_CLIENT_ID and RUNWAY_QBO_CLIENT_SECRET, or neither")
        environment = (env.get("RUNWAY_QBO_ENVIRONMENT") or "production").lower()
        if environment not in {"production", "sandbox"}:
            raise SettingsError(f"RUNWAY_QBO_ENVIRONMENT must be production or sandbox, got {environment!r}")
        public_url = (env.get("RUNWAY_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
        if not public_url.startswith(("http://", "https://")):
            raise SettingsError(f"RUNWAY_PUBLIC_URL must be an http(s) URL, got {public_url!r}")
        # In sandbox mode the sandbox signs its webhooks with a key derived from the app secret.
        verifier = env.get("RUNWAY_QBO_WEBHOOK_VERIFIER") or (
            "" if client_id else hashlib.sha256(f"runway-sandbox-webhooks:{secret_key}".encode()).hexdigest()
        )
        return cls(
            public_url=public_url,
            qbo_base_url=(env.get("RUNWAY_QBO_BASE_URL") or "").rstrip("/") or None,
            qbo_client_id=client_id,
            qbo_client_secret=client_secret,
            qbo_environment=environment,
            qbo_redirect_uri=env.get("RUNWAY_QBO_REDIRECT_URI") or None,
            qbo_webhook_verifier=verifier,
            sandbox_port=_env_int(env, "RUNWAY_SANDBOX_PORT", 8001, minimum=0),
            run_worker=_env_bool(env, "RUNWAY_WORKER", True),
            sync_process=_env_bool(env, "RUNWAY_SYNC_PROCESS", True),
            sync_interval_minutes=_env_int(env, "RUNWAY_SYNC_INTERVAL_MINUTES", 15, minimum=1),
            smtp_host=env.get("RUNWAY_SMTP_HOST") or None,
            smtp_port=_env_int(env, "RUNWAY_SMTP_PORT", 587, minimum=1),
            smtp_username=env.get("RUNWAY_SMTP_USERNAME") or None,
            smtp_password=env.get("RUNWAY_SMTP_PASSWORD") or None,
            smtp_starttls=_env_bool(env, "RUNWAY_SMTP_STARTTLS", True),
            smtp_from=env.get("RUNWAY_SMTP_FROM") or "Runway <runway@localhost>",
            data_dir=data_dir,
            database_url=database_url,
            secret_key=secret_key,
            debug=_env_bool(env, "RUNWAY_DEBUG", False),
            secure_cookies=_env_bool(env, "RUNWAY_SECURE_COOKIES", False),
            session_max_age_seconds=_env_int(env, "RUNWAY_SESSION_MAX_AGE", 14 * 24 * 3600, minimum=300),
            log_level=log_level,
            log_json=_env_bool(env, "RUNWAY_LOG_JSON", False),
        )
