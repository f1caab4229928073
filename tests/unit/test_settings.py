"""Unit: settings come from RUNWAY_* variables, with defaults that need no configuration."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError


def test_defaults_need_no_configuration(tmp_path):
    settings = Settings.from_env({"RUNWAY_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'runway.db'}"
    assert len(settings.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert not settings.secure_cookies


def test_the_generated_secret_is_kept_across_starts(tmp_path):
    first = Settings.from_env({"RUNWAY_DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"RUNWAY_DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key


def test_explicit_values_win(tmp_path):
    settings = Settings.from_env(
        {
            "RUNWAY_DATA_DIR": str(tmp_path),
            "RUNWAY_DATABASE_URL": "postgresql+asyncpg://runway@db/runway",
            "RUNWAY_SECRET_KEY": "k" * 40,
            "RUNWAY_SECURE_COOKIES": "true",
            "RUNWAY_LOG_LEVEL": "debug",
        }
    )
    assert settings.database_url == "postgresql+asyncpg://runway@db/runway"
    assert settings.secret_key == "k" * 40
    assert settings.secure_cookies
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RUNWAY_DATABASE_URL", "mysql://x", "must start with"),
        ("RUNWAY_SECRET_KEY", "short", "at least 32"),
        ("RUNWAY_SECURE_COOKIES", "maybe", "true or false"),
        ("RUNWAY_SESSION_MAX_AGE", "ten", "whole number"),
        ("RUNWAY_LOG_LEVEL", "LOUD", "RUNWAY_LOG_LEVEL"),
    ],
)
def test_bad_values_say_what_is_wrong(tmp_path, name, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"RUNWAY_DATA_DIR": str(tmp_path), name: value})


def test_a_short_stored_secret_is_refused_not_silently_replaced(tmp_path):
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(SettingsError, match="delete it"):
        Settings.from_env({"RUNWAY_DATA_DIR": str(tmp_path)})
