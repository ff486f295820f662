"""The worker's settings: defaults, and refusals that name the variable at fault."""

from __future__ import annotations

import pytest

from core.errors import SecretStoreError
from worker.config import WorkerConfig


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    config = WorkerConfig.from_env({})
    assert config.redis_prefix == "secretstore"
    assert config.key("chain", "rotation", "lease") == "secretstore:chain:rotation:lease"
    assert (config.cleanup_cron, config.rotation_cron) == ("30 3 * * *", "0 4 * * *")
    assert config.watchdog_seconds == 60
    assert config.lease_ttl_ms > config.link_time_limit_ms


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"SECRET_STORE_REDIS_PREFIX": "with space"}, "SECRET_STORE_REDIS_PREFIX"),
        ({"SECRET_STORE_REDIS_PREFIX": ":leading"}, "SECRET_STORE_REDIS_PREFIX"),
        ({"SECRET_STORE_WATCHDOG_SECONDS": "-1"}, "SECRET_STORE_WATCHDOG_SECONDS"),
        ({"SECRET_STORE_LEASE_TTL_MS": "ten"}, "SECRET_STORE_LEASE_TTL_MS"),
        ({"SECRET_STORE_LEASE_TTL_MS": "60000"}, "SECRET_STORE_LEASE_TTL_MS"),
        ({"SECRET_STORE_BROKER_POLL_MS": "0"}, "SECRET_STORE_BROKER_POLL_MS"),
        (
            {"SECRET_STORE_BROKER_MAINTENANCE_CHANCE": "1000001"},
            "SECRET_STORE_BROKER_MAINTENANCE_CHANCE",
        ),
    ],
)
def test_a_bad_setting_is_refused_by_name(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SecretStoreError) as caught:
        WorkerConfig.from_env(environ)
    assert caught.value.code == "invalid_argument"
    assert variable in caught.value.message


def test_the_watchdog_can_be_turned_off() -> None:
    assert WorkerConfig.from_env({"SECRET_STORE_WATCHDOG_SECONDS": "0"}).watchdog_seconds == 0
