"""Fixtures for the client tests: one real web process for the session, a client of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from secretstore_client import SecretStoreClient

from tests.client.support import ADMIN_TOKEN, namespace, web_process


@pytest.fixture(scope="session")
def service(database_url: str, redis_url: str) -> Iterator[str]:
    """The base URL of a web process over the session's database, with a bootstrap admin token."""
    with web_process(database_url, redis_url, "web") as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def _empty_tables_after(db: str) -> None:
    """Tables are emptied after each test, as in the other test directories."""


@pytest.fixture
def client(service: str) -> Iterator[SecretStoreClient]:
    with SecretStoreClient(service, ADMIN_TOKEN) as client:
        yield client


@pytest.fixture
def ns() -> str:
    return namespace("t")
