"""The settings module: the README's table, defaults, and refusals that name the variable."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import pytest

from core.errors import SecretStoreError
from core.settings import SECTIONS, VARIABLES, Settings

ROOT = Path(__file__).resolve().parents[2]


def readme_variables() -> list[str]:
    """The first column of the table under the README's "Configuration" heading."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        match = re.match(r"\| `([A-Z_]+)` \|", line)
        if match:
            names.append(match.group(1))
    return names


def test_the_readme_table_lists_exactly_the_variables_read() -> None:
    documented = readme_variables()
    assert len(documented) == len(set(documented)), "a variable is listed twice"
    assert set(documented) == set(VARIABLES)


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    # Only the session secret has no default outside the embedded default.
    settings = Settings({"SECRET_STORE_SESSION_SECRET": "s" * 32})
    settings.check()
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.redis_key("dashboard", "sessions") == "secretstore:dashboard:sessions"
    assert settings.store.default_ttl_ms is None
    assert settings.store.admin_token is None
    assert settings.log_level == "INFO"
    assert settings.web.port == 8000
    assert (settings.session.idle_seconds, settings.session.lifetime_seconds) == (28800, 43200)
    assert not settings.web.embedded
    assert (settings.batches.rotation_batch_size, settings.batches.cleanup_batch_size) == (
        100,
        500,
    )
    assert settings.dev.host == "127.0.0.1"


def test_values_are_read_and_blanks_count_as_unset() -> None:
    settings = Settings(
        {
            "DATABASE_URL": " postgresql://db/x ",
            "REDIS_URL": "",
            "SECRET_STORE_REDIS_PREFIX": "acme-prod",
            "SECRET_STORE_DEFAULT_TTL_MS": "86400000",
            "PORT": "9000",
            "SECRET_STORE_EMBEDDED": "1",
            "LOG_LEVEL": "DEBUG",
        }
    )
    assert settings.database_url == "postgresql://db/x"
    assert settings.redis_url is None
    assert settings.redis_key("ratelimit") == "acme-prod:ratelimit"
    assert settings.chains.key("dramatiq") == "acme-prod:dramatiq"
    assert settings.store.default_ttl_ms == 86_400_000
    assert settings.web.port == 9000
    assert settings.web.embedded
    assert settings.log_level == "DEBUG"


def test_secrets_stay_out_of_the_repr() -> None:
    settings = Settings(
        {
            "SECRET_STORE_ADMIN_TOKEN": "admin-token-not-shown",
            "SECRET_STORE_SESSION_SECRET": "session-secret-not-shown",
            "SECRET_STORE_KEYS": "1:key-not-shown",
        }
    )
    shown = repr(settings.store) + repr(settings.web) + repr(settings.keys())
    assert "not-shown" not in shown


@pytest.mark.parametrize(
    ("section", "variable", "value"),
    [
        ("redis_prefix", "SECRET_STORE_REDIS_PREFIX", "with space"),
        ("store", "SECRET_STORE_DEFAULT_TTL_MS", "0"),
        ("store", "SECRET_STORE_DEFAULT_TTL_MS", "1.5"),
        ("log_level", "LOG_LEVEL", "LOUD"),
        ("web", "PORT", "eighty"),
        ("web", "PORT", "0"),
        ("batches", "SECRET_STORE_ROTATION_BATCH", "-1"),
        ("batches", "SECRET_STORE_CLEANUP_BATCH", "0"),
        ("batches", "SECRET_STORE_CLEANUP_BATCH", "²"),
        ("chains", "SECRET_STORE_LEASE_TTL_MS", "ten"),
        ("chains", "SECRET_STORE_LINK_TIME_LIMIT_MS", "0"),
        ("chains", "SECRET_STORE_LINK_BUDGET_MS", "100000"),
        ("chains", "SECRET_STORE_BROKER_HEARTBEAT_MS", "0"),
        ("chains", "SECRET_STORE_BROKER_MAINTENANCE_CHANCE", "1000001"),
        ("chains", "SECRET_STORE_BROKER_POLL_MS", "4"),
        ("scheduler", "SECRET_STORE_CLEANUP_CRON", "every night"),
        ("scheduler", "SECRET_STORE_ROTATION_CRON", "* * *"),
        ("scheduler", "SECRET_STORE_WATCHDOG_SECONDS", "soon"),
    ],
)
def test_each_invalid_value_names_its_variable(section: str, variable: str, value: str) -> None:
    settings = Settings({variable: value})
    with pytest.raises(SecretStoreError) as caught:
        getattr(settings, section)
    assert caught.value.code == "invalid_argument"
    assert variable in caught.value.message
    with pytest.raises(SecretStoreError):
        settings.check()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRET_STORE_LEASE_TTL_MS", "ten"),
        ("SECRET_STORE_BROKER_POLL_MS", "1"),
        ("SECRET_STORE_ROTATION_BATCH", "0"),
        ("SECRET_STORE_CLEANUP_CRON", "every night"),
        ("SECRET_STORE_WATCHDOG_SECONDS", "-1"),
    ],
)
def test_a_bad_worker_setting_leaves_the_web_sections_alone(variable: str, value: str) -> None:
    settings = Settings({variable: value, "REDIS_URL": "redis://r:6379/0"})
    assert settings.web.port == 8000
    assert settings.store.default_ttl_ms is None
    assert settings.redis_key("dashboard", "sessions") == "secretstore:dashboard:sessions"


def test_every_section_is_checked() -> None:
    assert set(SECTIONS) == {
        name for name, member in vars(Settings).items() if isinstance(member, cached_property)
    }


def test_the_key_configuration_is_read_again_on_every_call() -> None:
    environ = {"SECRET_STORE_KEYS": "1:a"}
    settings = Settings(environ)
    assert settings.keys().text == "1:a"
    environ["SECRET_STORE_KEYS"] = "2:b"
    assert settings.keys().text == "2:b"
    assert settings.keys().path is None


def test_a_bad_worker_setting_does_not_stop_the_web_app() -> None:
    from core.keys import define_keys
    from core.runtime import build_runtime
    from web.app import create_app

    environ = {
        "SECRET_STORE_KEYS": define_keys({1: bytes(32)}),
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "SECRET_STORE_LEASE_TTL_MS": "ten",
        "SECRET_STORE_CLEANUP_CRON": "every night",
        "SECRET_STORE_SESSION_SECRET": "s" * 32,
    }
    app = create_app(build_runtime(environ), manage_pool=False)
    assert app.route_reverse("home") == "/"
