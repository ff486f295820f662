"""The blocking client. :mod:`secretstore_client.aio` is the same surface, awaited."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import httpx

from secretstore_client import _calls as calls
from secretstore_client._calls import MAX_PAGE_SIZE, UNSET, Call, Order, Page, Unset
from secretstore_client._config import as_error, headers, resolve
from secretstore_client.errors import Expired, NotFound, SecretStoreError
from secretstore_client.models import (
    AuditVerification,
    CreatedToken,
    DeleteResult,
    Event,
    NamespaceCount,
    PutResult,
    RestoreResult,
    Secret,
    SecretInfo,
    TokenInfo,
    UpdateResult,
    VersionInfo,
)
from secretstore_client.retry import RetryPolicy

T = TypeVar("T")


class SecretStoreClient:
    """A client of one secret store, over one connection pool; close it (or use ``with``).

    ``url`` and ``token`` default to ``SECRET_STORE_URL`` (else
    ``http://127.0.0.1:8000``) and ``SECRET_STORE_TOKEN``; without a token the
    constructor raises :class:`~secretstore_client.errors.ConfigurationError`.
    Every call raises a :class:`~secretstore_client.errors.SecretStoreError`
    subclass on failure. ``max_concurrency`` bounds the parallel reads of
    :meth:`get_many`.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        verify: bool | str = True,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.url, token = resolve(url, token)
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self._http = httpx.Client(
            base_url=self.url, headers=headers(token), timeout=timeout, verify=verify
        )

    def __enter__(self) -> SecretStoreClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"SecretStoreClient({self.url!r})"

    # -- secrets ---------------------------------------------------------------------

    def put(
        self,
        namespace: str,
        name: str,
        value: str,
        *,
        metadata: Mapping[str, Any] | Unset | None = UNSET,
        ttl_ms: int | Unset | None = UNSET,
        if_version: int | None = None,
        if_absent: bool = False,
    ) -> PutResult:
        """Create or replace a secret (a new version).

        Left out, ``metadata`` keeps what is stored and ``ttl_ms`` takes the
        service's default; ``None`` clears them. ``if_version`` writes only over
        that version, ``if_absent`` only when no secret of that name exists;
        otherwise :class:`~secretstore_client.errors.Conflict`.
        """
        return self._send(
            calls.put(
                namespace,
                name,
                value,
                metadata=metadata,
                ttl_ms=ttl_ms,
                if_version=if_version,
                if_absent=if_absent,
            )
        )

    def get(self, namespace: str, name: str, *, version: int | None = None) -> Secret:
        """The secret (its current version, or ``version``)."""
        return self._send(calls.get(namespace, name, version=version))

    def get_many(self, namespace: str) -> dict[str, str]:
        """``{name: value}`` of every active secret of ``namespace``.

        The names come from the listing and the values are read at most
        ``max_concurrency`` at a time; a secret deleted or expired between the
        two is left out.
        """
        names = (info.name for info in self.list(namespace) if info.state == "active")
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            found = pool.map(lambda name: self._value_if_present(namespace, name), names)
            return {name: value for name, value in found if value is not None}

    def _value_if_present(self, namespace: str, name: str) -> tuple[str, str | None]:
        try:
            return name, self.get(namespace, name).value
        except (NotFound, Expired):
            return name, None

    def list(
        self,
        namespace: str,
        *,
        deleted: bool = False,
        order: Order = "desc",
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[SecretInfo]:
        """Every secret of ``namespace`` (never values), page after page.

        Active and expired ones, most recently updated first; ``deleted=True``
        lists only deleted ones.
        """
        return self._items(
            lambda cursor: calls.list_page(
                namespace, cursor=cursor, page_size=page_size, order=order, deleted=deleted
            )
        )

    def update(
        self,
        namespace: str,
        name: str,
        *,
        metadata: Mapping[str, Any] | Unset | None = UNSET,
        ttl_ms: int | Unset | None = UNSET,
    ) -> UpdateResult:
        """Change metadata and/or expiry (no new version); ``None`` clears."""
        return self._send(calls.update(namespace, name, metadata=metadata, ttl_ms=ttl_ms))

    def delete(self, namespace: str, name: str, *, purge: bool = False) -> DeleteResult:
        """Delete softly (restorable for the recovery window), or ``purge`` at once."""
        return self._send(calls.delete(namespace, name, purge=purge))

    def restore(self, namespace: str, name: str) -> RestoreResult:
        """Bring a deleted secret back with all its versions."""
        return self._send(calls.restore(namespace, name))

    def history(
        self, namespace: str, name: str, *, page_size: int = MAX_PAGE_SIZE
    ) -> builtins.list[VersionInfo]:
        """The secret's versions, newest first (never values)."""
        return builtins.list(
            self._items(
                lambda cursor: calls.history_page(
                    namespace, name, cursor=cursor, page_size=page_size
                )
            )
        )

    def rollback(
        self, namespace: str, name: str, version: int, *, if_version: int | None = None
    ) -> PutResult:
        """Write a new version holding ``version``'s value."""
        return self._send(calls.rollback(namespace, name, version, if_version=if_version))

    def namespaces(self) -> builtins.list[NamespaceCount]:
        """The namespaces this token may see, with their counts."""
        return self._send(calls.namespaces())

    # -- audit -----------------------------------------------------------------------

    def events(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        type: str | None = None,
        secret_id: str | None = None,
        order: Order = "desc",
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[Event]:
        """Audit events matching every filter given, page after page."""
        filters = {"namespace": namespace, "name": name, "type": type, "secret_id": secret_id}
        return self._items(
            lambda cursor: calls.events_page(
                filters, cursor=cursor, page_size=page_size, order=order
            )
        )

    def verify_audit(self) -> AuditVerification:
        """Check the whole audit chain (a token with ``audit`` on ``*``)."""
        return self._send(calls.verify_audit())

    # -- tokens ----------------------------------------------------------------------

    def create_token(
        self,
        name: str,
        namespaces: Sequence[str],
        capabilities: Sequence[str],
        *,
        ttl_ms: int | Unset | None = UNSET,
    ) -> CreatedToken:
        """A new token; its secret text is in the answer only."""
        return self._send(calls.create_token(name, namespaces, capabilities, ttl_ms=ttl_ms))

    def list_tokens(self) -> builtins.list[TokenInfo]:
        return self._send(calls.list_tokens())

    def revoke_token(self, token_id: str) -> TokenInfo:
        return self._send(calls.revoke_token(token_id))

    # -- sending ---------------------------------------------------------------------

    def _items(self, page: Callable[[str | None], Call[Page[T]]]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            answer = self._send(page(cursor))
            yield from answer.items
            if answer.next_cursor is None:
                return
            cursor = answer.next_cursor

    def _send(self, call: Call[T]) -> T:
        request = call.request(self._http)
        attempt = 0
        while True:
            try:
                return calls.read_answer(call, self._http.send(request))
            except (SecretStoreError, httpx.TransportError) as error:
                wait = self.retry.delay(attempt, error, idempotent=call.idempotent)
                if wait is None:
                    if isinstance(error, SecretStoreError):
                        raise
                    raise as_error(error, self.url) from error
            time.sleep(wait)
            attempt += 1
