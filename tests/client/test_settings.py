"""The pydantic-settings source: an application's settings filled from a namespace."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from secretstore_client import SecretStoreClient
from secretstore_client.settings import SecretStoreSettingsSource

from tests.client.support import ADMIN_TOKEN


def settings_from(namespace: str, **config: Any) -> type[BaseSettings]:
    class AppSettings(BaseSettings):
        model_config = SettingsConfigDict(**config)

        database_url: str
        port: int = 8000
        allowed_hosts: list[str] = []
        api_key: str = Field("", alias="OPENAI_API_KEY")

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            store = SecretStoreSettingsSource(settings_cls, namespace=namespace)
            return (init_settings, env_settings, store)

    return AppSettings


@pytest.fixture
def store_env(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_STORE_URL", service)
    monkeypatch.setenv("SECRET_STORE_TOKEN", ADMIN_TOKEN)
    for name in ("DATABASE_URL", "PORT", "ALLOWED_HOSTS", "OPENAI_API_KEY", "APP_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_fields_are_filled_from_the_namespace(
    client: SecretStoreClient, ns: str, store_env: None
) -> None:
    client.put(ns, "DATABASE_URL", "postgres://db/app")
    client.put(ns, "port", "9000")
    client.put(ns, "ALLOWED_HOSTS", '["a.example", "b.example"]')
    client.put(ns, "OPENAI_API_KEY", "sk-test")

    settings = settings_from(ns)()

    assert settings.model_dump() == {
        "database_url": "postgres://db/app",
        "port": 9000,
        "allowed_hosts": ["a.example", "b.example"],
        "api_key": "sk-test",
    }


def test_the_environment_wins_when_it_comes_first(
    client: SecretStoreClient, ns: str, store_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.put(ns, "DATABASE_URL", "postgres://from-the-store")
    monkeypatch.setenv("DATABASE_URL", "postgres://from-the-env")
    assert settings_from(ns)().database_url == "postgres://from-the-env"  # type: ignore[attr-defined]


def test_the_env_prefix_and_case_sensitivity_of_the_settings_apply(
    client: SecretStoreClient, ns: str, store_env: None
) -> None:
    client.put(ns, "APP_DATABASE_URL", "postgres://prefixed")
    client.put(ns, "APP_PORT", "1234")
    settings = settings_from(ns, env_prefix="APP_", case_sensitive=False)()
    assert (settings.database_url, settings.port) == ("postgres://prefixed", 1234)  # type: ignore[attr-defined]

    with pytest.raises(ValueError, match="database_url"):
        settings_from(ns, env_prefix="app_", case_sensitive=True)()
