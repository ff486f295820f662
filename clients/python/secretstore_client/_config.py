"""Where a client finds the service: arguments first, then the environment (CLIENT.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from secretstore_client.errors import ConfigurationError, SecretStoreError, Unreachable

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "SECRET_STORE_URL"
TOKEN_VARIABLE = "SECRET_STORE_TOKEN"  # noqa: S105 (the variable's name)
VERSION = "0.1.0"


def resolve(
    url: str | None, token: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    env = os.environ if environ is None else environ
    url = url or env.get(URL_VARIABLE) or DEFAULT_URL
    token = token or env.get(TOKEN_VARIABLE)
    if not token:
        raise ConfigurationError(f"no API token: {TOKEN_VARIABLE} is not set")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{URL_VARIABLE} must start with http:// or https://")
    return url.rstrip("/"), token


def headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "User-Agent": f"secretstore-client/{VERSION}",
    }


def as_error(error: httpx.TransportError, url: str) -> SecretStoreError:
    reason = str(error) or type(error).__name__
    # Only where it was going: a URL may carry a user and password.
    where = httpx.URL(url).copy_with(username=None, password=None, query=None)
    return Unreachable(f"the secret store at {where} could not be reached ({reason})")
