"""``/api/v1/secrets``: put, read, update, remove and list secrets.

Each handler checks the names (core's rules), then the token's capability in
that namespace, then makes one call to the store. Checking names first means a
malformed request is a 400 whoever sends it; checking the token before the
store means a token outside the namespace never learns whether a secret exists.

The read's answer is :func:`read_secret`, which the route and the read path
(:mod:`web.readpath`, ahead of Litestar's routing) both call.
"""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from core.access import Principal, authorize
from core.runtime import Store
from core.validation import check_name, check_namespace
from web.api.deps import Caller
from web.api.fields import core_unset
from web.api.params import (
    DEFAULT_PAGE_LIMIT,
    Cursor,
    Limit,
    NamePath,
    NamespacePath,
    OrderQuery,
)
from web.api.schemas import (
    SecretCreate,
    SecretInfoRead,
    SecretPageRead,
    SecretPutRead,
    SecretRead,
    SecretRemoveRead,
    SecretUpdate,
    SecretUpdateRead,
)
from web.errors import error_responses

ONE = "/{namespace:str}/{name:str}"


async def read_secret(store: Store, principal: Principal, namespace: str, name: str) -> SecretRead:
    """The answer to ``GET /secrets/{namespace}/{name}``, or the ``SecretStoreError`` to answer.

    The one implementation of the read: the route below and
    :class:`web.readpath.ReadPath` both call it with the principal they
    authenticated, and both send the result as JSON with status 200.
    """
    check_namespace(namespace)
    check_name(name)
    authorize(principal, "read", namespace)
    return SecretRead.of(await store.get_or_raise(namespace, name))


class SecretController(Controller):
    path = "/secrets"
    tags = ["secrets"]

    @put(
        ONE,
        status_code=200,
        summary="Create or replace a secret",
        description="201 when created, 200 when replaced. Capability `write`.",
        responses={
            201: ResponseSpec(SecretPutRead, description="created", generate_examples=False),
            **error_responses("value_too_large", "invalid_keys"),
        },
    )
    async def put_secret(
        self,
        namespace: NamespacePath,
        name: NamePath,
        data: JSONBody[SecretCreate],
        caller: NamedDependency[Caller],
    ) -> Response[SecretPutRead]:
        check_namespace(namespace)
        check_name(name)
        caller.authorize("write", namespace)
        result = await caller.store.put(
            namespace,
            name,
            data.value,
            metadata=core_unset(data.metadata),
            ttl_ms=core_unset(data.ttl_ms),
            actor=caller.actor,
        )
        return Response(SecretPutRead.of(result), status_code=201 if result.is_new else 200)

    @get(
        ONE,
        summary="Read a secret's value",
        description="Capability `read`.",
        responses=error_responses(
            "not_found",
            "expired",
            "key_unavailable",
            "decryption_failed",
            "invalid_keys",
        ),
    )
    async def get_secret(
        self,
        namespace: NamespacePath,
        name: NamePath,
        caller: NamedDependency[Caller],
    ) -> SecretRead:
        return await read_secret(caller.store, caller.principal, namespace, name)

    @patch(
        ONE,
        summary="Change a secret's metadata and/or expiry",
        description=(
            "At least one of `metadata` and `ttl_ms`; the value is not re-encrypted and"
            " `ttl_ms` ignores the default TTL (`null` clears the expiry). Capability `write`."
        ),
        responses=error_responses("not_found", "value_too_large"),
    )
    async def update_secret(
        self,
        namespace: NamespacePath,
        name: NamePath,
        data: JSONBody[SecretUpdate],
        caller: NamedDependency[Caller],
    ) -> SecretUpdateRead:
        check_namespace(namespace)
        check_name(name)
        caller.authorize("write", namespace)
        info = await caller.store.update(
            namespace,
            name,
            metadata=core_unset(data.metadata),
            ttl_ms=core_unset(data.ttl_ms),
            actor=caller.actor,
        )
        return SecretUpdateRead.of(info)

    @delete(
        ONE,
        status_code=200,
        summary="Remove a secret",
        description="`removed` is false when there was nothing to remove. Capability `delete`.",
        responses=error_responses(),
    )
    async def remove_secret(
        self,
        namespace: NamespacePath,
        name: NamePath,
        caller: NamedDependency[Caller],
    ) -> SecretRemoveRead:
        check_namespace(namespace)
        check_name(name)
        caller.authorize("delete", namespace)
        return SecretRemoveRead(
            removed=await caller.store.remove(namespace, name, actor=caller.actor)
        )

    @get(
        "/{namespace:str}",
        summary="List one namespace (never values)",
        description="Keyset pages, most recently updated first by default. Capability `list`.",
        responses=error_responses(),
    )
    async def list_secrets(
        self,
        namespace: NamespacePath,
        caller: NamedDependency[Caller],
        limit: Limit = DEFAULT_PAGE_LIMIT,
        cursor: Cursor = None,
        order: OrderQuery = "desc",
    ) -> SecretPageRead:
        check_namespace(namespace)
        caller.authorize("list", namespace)
        page = await caller.store.list(namespace, limit=limit, cursor=cursor, order=order)
        return SecretPageRead(
            items=[SecretInfoRead.of(item) for item in page.items], next_cursor=page.next_cursor
        )
