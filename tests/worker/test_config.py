"""The worker's and the scheduler's settings: defaults, and refusals that name the variable."""

from __future__ import annotations

import pytest

from core.errors import SecretStoreError
from core.settings import Settings


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = Settings({})
    chains, schedule = settings.chains, settings.scheduler
    assert chains.redis_prefix == "secretstore"
    assert chains.key("chain", "rotation", "lease") == "secretstore:chain:rotation:lease"
    assert (schedule.cleanup_cron, schedule.rotation_cron) == ("30 3 * * *", "0 4 * * *")
    assert schedule.watchdog_seconds == 60
    assert chains.lease_ttl_ms == 6000
    assert (chains.lease_renew_ms, chains.resume_check_ms) == (1500, 2000)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"SECRET_STORE_REDIS_PREFIX": "with space"}, "SECRET_STORE_REDIS_PREFIX"),
        ({"SECRET_STORE_REDIS_PREFIX": ":leading"}, "SECRET_STORE_REDIS_PREFIX"),
        ({"SECRET_STORE_LEASE_TTL_MS": "ten"}, "SECRET_STORE_LEASE_TTL_MS"),
        ({"SECRET_STORE_LEASE_TTL_MS": "2999"}, "SECRET_STORE_LEASE_TTL_MS"),
        ({"SECRET_STORE_BROKER_POLL_MS": "0"}, "SECRET_STORE_BROKER_POLL_MS"),
        (
            {"SECRET_STORE_BROKER_MAINTENANCE_CHANCE": "1000001"},
            "SECRET_STORE_BROKER_MAINTENANCE_CHANCE",
        ),
    ],
)
def test_a_bad_chain_setting_is_refused_by_name(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SecretStoreError) as caught:
        Settings(environ).chains
    assert caught.value.code == "invalid_argument"
    assert variable in caught.value.message


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"SECRET_STORE_WATCHDOG_SECONDS": "-1"}, "SECRET_STORE_WATCHDOG_SECONDS"),
        ({"SECRET_STORE_CLEANUP_CRON": "every night"}, "SECRET_STORE_CLEANUP_CRON"),
        ({"SECRET_STORE_ROTATION_CRON": "0 4 * *"}, "SECRET_STORE_ROTATION_CRON"),
    ],
)
def test_a_bad_scheduler_setting_is_refused_by_name(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SecretStoreError) as caught:
        Settings(environ).scheduler
    assert caught.value.code == "invalid_argument"
    assert variable in caught.value.message


def test_the_watchdog_can_be_turned_off() -> None:
    assert Settings({"SECRET_STORE_WATCHDOG_SECONDS": "0"}).scheduler.watchdog_seconds == 0
