"""A ``pydantic-settings`` source: fill an application's settings from a namespace.

Needs the ``pydantic`` extra (``pip install 'secretstore-client[pydantic]'``)::

    from pydantic_settings import BaseSettings
    from secretstore_client.settings import SecretStoreSettingsSource

    class Settings(BaseSettings):
        database_url: str

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                       dotenv_settings, file_secret_settings):
            store = SecretStoreSettingsSource(settings_cls, namespace="acme:prod")
            return (init_settings, env_settings, store)

A field is looked up as an environment variable would be: by its name or
alias, with the settings' ``env_prefix``, case-insensitively unless the
settings say ``case_sensitive``; JSON values fill complex fields. The order of
the sources decides what wins (above, the environment wins over the store).
The secrets are read once, when the source is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic_settings import EnvSettingsSource

from secretstore_client.client import SecretStoreClient

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings


class SecretStoreSettingsSource(EnvSettingsSource):
    """Every active secret of ``namespace``, read through ``client`` (default: from the env)."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        namespace: str,
        *,
        client: SecretStoreClient | None = None,
        case_sensitive: bool | None = None,
        env_prefix: str | None = None,
    ) -> None:
        if client is None:
            with SecretStoreClient() as own:
                self._secrets = own.get_many(namespace)
        else:
            self._secrets = client.get_many(namespace)
        self.namespace = namespace
        # EnvSettingsSource reads its variables (through _load_env_vars) in __init__.
        super().__init__(settings_cls, case_sensitive=case_sensitive, env_prefix=env_prefix)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self.case_sensitive:
            return dict(self._secrets)
        return {name.lower(): value for name, value in self._secrets.items()}

    def __repr__(self) -> str:
        return f"SecretStoreSettingsSource(namespace={self.namespace!r})"
