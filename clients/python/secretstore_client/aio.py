"""The asyncio client: :class:`~secretstore_client.client.SecretStoreClient`'s surface, awaited."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
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


class AsyncSecretStoreClient:
    """A client of one secret store for asyncio code; ``async with`` it, or ``await aclose()``.

    Arguments, results and errors are those of
    :class:`~secretstore_client.client.SecretStoreClient`.
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
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers(token), timeout=timeout, verify=verify
        )

    async def __aenter__(self) -> AsyncSecretStoreClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"AsyncSecretStoreClient({self.url!r})"

    # -- secrets ---------------------------------------------------------------------

    async def put(
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
        return await self._send(
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

    async def get(self, namespace: str, name: str, *, version: int | None = None) -> Secret:
        return await self._send(calls.get(namespace, name, version=version))

    async def get_many(self, namespace: str) -> dict[str, str]:
        """``{name: value}`` of every active secret, at most ``max_concurrency`` reads at a time."""
        limit = asyncio.Semaphore(self.max_concurrency)

        async def read(name: str) -> tuple[str, str | None]:
            async with limit:
                try:
                    return name, (await self.get(namespace, name)).value
                except (NotFound, Expired):
                    return name, None

        # Reads start while later pages of the listing are still coming.
        reads: builtins.list[asyncio.Task[tuple[str, str | None]]] = []
        try:
            async for info in self.list(namespace):
                if info.state == "active":
                    reads.append(asyncio.ensure_future(read(info.name)))
            found = await asyncio.gather(*reads)
        finally:
            for task in reads:
                task.cancel()
        return {name: value for name, value in found if value is not None}

    def list(
        self,
        namespace: str,
        *,
        deleted: bool = False,
        order: Order = "desc",
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[SecretInfo]:
        return self._items(
            lambda cursor: calls.list_page(
                namespace, cursor=cursor, page_size=page_size, order=order, deleted=deleted
            )
        )

    async def update(
        self,
        namespace: str,
        name: str,
        *,
        metadata: Mapping[str, Any] | Unset | None = UNSET,
        ttl_ms: int | Unset | None = UNSET,
    ) -> UpdateResult:
        return await self._send(calls.update(namespace, name, metadata=metadata, ttl_ms=ttl_ms))

    async def delete(self, namespace: str, name: str, *, purge: bool = False) -> DeleteResult:
        return await self._send(calls.delete(namespace, name, purge=purge))

    async def restore(self, namespace: str, name: str) -> RestoreResult:
        return await self._send(calls.restore(namespace, name))

    async def history(
        self, namespace: str, name: str, *, page_size: int = MAX_PAGE_SIZE
    ) -> builtins.list[VersionInfo]:
        pages = self._items(
            lambda cursor: calls.history_page(namespace, name, cursor=cursor, page_size=page_size)
        )
        return [version async for version in pages]

    async def rollback(
        self, namespace: str, name: str, version: int, *, if_version: int | None = None
    ) -> PutResult:
        return await self._send(calls.rollback(namespace, name, version, if_version=if_version))

    async def namespaces(self) -> builtins.list[NamespaceCount]:
        return await self._send(calls.namespaces())

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
    ) -> AsyncIterator[Event]:
        filters = {"namespace": namespace, "name": name, "type": type, "secret_id": secret_id}
        return self._items(
            lambda cursor: calls.events_page(
                filters, cursor=cursor, page_size=page_size, order=order
            )
        )

    async def verify_audit(self) -> AuditVerification:
        return await self._send(calls.verify_audit())

    # -- tokens ----------------------------------------------------------------------

    async def create_token(
        self,
        name: str,
        namespaces: Sequence[str],
        capabilities: Sequence[str],
        *,
        ttl_ms: int | Unset | None = UNSET,
    ) -> CreatedToken:
        return await self._send(calls.create_token(name, namespaces, capabilities, ttl_ms=ttl_ms))

    async def list_tokens(self) -> builtins.list[TokenInfo]:
        return await self._send(calls.list_tokens())

    async def revoke_token(self, token_id: str) -> TokenInfo:
        return await self._send(calls.revoke_token(token_id))

    # -- sending ---------------------------------------------------------------------

    async def _items(self, page: Callable[[str | None], Call[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            answer = await self._send(page(cursor))
            for item in answer.items:
                yield item
            if answer.next_cursor is None:
                return
            cursor = answer.next_cursor

    async def _send(self, call: Call[T]) -> T:
        request = call.request(self._http)
        attempt = 0
        while True:
            try:
                return calls.read_answer(call, await self._http.send(request))
            except (SecretStoreError, httpx.TransportError) as error:
                wait = self.retry.delay(attempt, error, idempotent=call.idempotent)
                if wait is None:
                    if isinstance(error, SecretStoreError):
                        raise
                    raise as_error(error, self.url) from error
            await asyncio.sleep(wait)
            attempt += 1
