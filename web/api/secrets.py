"""``/api/v1/secrets``: put, read, update, remove and list secrets.

Each handler checks the names (core's rules), then the token's capability in
that namespace, then makes one call to the store. Checking names first means a
malformed request is a 400 whoever sends it; checking the token before the
store means a token outside the namespace never learns whether a secret exists.

The read's answer is :func:`read_secret`, which the route and the read path
(:mod:`web.readpath`, ahead of Litestar's routing) both call.
"""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from core.access import Principal, authorize
from core.runtime import Store
from core.validation import check_name, check_namespace
from core.valuewrite import Precondition
from web.api.deps import Caller
from web.api.fields import core_unset
from web.api.params import (
    DEFAULT_PAGE_LIMIT,
    Cursor,
    IfMatch,
    IfNoneMatch,
    Limit,
    NamePath,
    NamespacePath,
    OrderQuery,
    PurgeQuery,
    StateQuery,
    VersionQuery,
    parse_if_match,
    parse_if_none_match,
)
from web.api.schemas import (
    RollbackCreate,
    SecretCreate,
    SecretInfoRead,
    SecretPageRead,
    SecretPutRead,
    SecretRead,
    SecretRemoveRead,
    SecretRestoreRead,
    SecretUpdate,
    SecretUpdateRead,
    VersionPageRead,
    VersionRead,
)
from web.errors import error_responses

ONE = "/{namespace:str}/{name:str}"
_ETAG = ResponseHeader(name="ETag", description='the version: "<version>"', documentation_only=True)


def etag(version: int) -> str:
    """The ``ETag`` of an answer about version ``version`` (the one home of its form)."""
    return f'"{version}"'


async def read_secret(
    store: Store, principal: Principal, namespace: str, name: str, version: int | None = None
) -> SecretRead:
    """The answer to ``GET /secrets/{namespace}/{name}``, or the ``SecretStoreError`` to answer.

    The one implementation of the read: the route below and
    :class:`web.readpath.ReadPath` both call it with the principal they
    authenticated, and both send the result as JSON with status 200.
    """
    check_namespace(namespace)
    check_name(name)
    authorize(principal, "read", namespace)
    return SecretRead.of(await store.get_or_raise(namespace, name, version=version))


class SecretController(Controller):
    path = "/secrets"
    tags = ["secrets"]

    @put(
        ONE,
        status_code=200,
        summary="Create or replace a secret (a new version)",
        description=(
            "201 when created or when it revives a deleted secret, 200 when replaced."
            ' `If-Match: "<version>"` / `If-None-Match: *` make it a compare-and-set:'
            " 409 `conflict` with `current_version` when they do not hold. Capability `write`."
        ),
        response_headers=[_ETAG],
        responses={
            201: ResponseSpec(SecretPutRead, description="created", generate_examples=False),
            **error_responses("conflict", "value_too_large", "invalid_keys"),
        },
    )
    async def put_secret(
        self,
        namespace: NamespacePath,
        name: NamePath,
        data: JSONBody[SecretCreate],
        caller: NamedDependency[Caller],
        if_match: IfMatch = "",
        if_none_match: IfNoneMatch = "",
    ) -> Response[SecretPutRead]:
        check_namespace(namespace)
        check_name(name)
        precondition = Precondition(parse_if_match(if_match), parse_if_none_match(if_none_match))
        caller.authorize("write", namespace)
        result = await caller.store.put(
            namespace,
            name,
            data.value,
            metadata=core_unset(data.metadata),
            ttl_ms=core_unset(data.ttl_ms),
            actor=caller.actor,
            precondition=precondition,
        )
        return Response(
            SecretPutRead.of(result),
            status_code=201 if result.is_new else 200,
            headers={"ETag": etag(result.info.version)},
        )

    @get(
        ONE,
        summary="Read a secret's value",
        description="`version` reads an earlier version. Capability `read`.",
        response_headers=[_ETAG],
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
        version: VersionQuery = None,
    ) -> Response[SecretRead]:
        read = await read_secret(caller.store, caller.principal, namespace, name, version)
        return Response(read, headers={"ETag": etag(read.version)})

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
        summary="Delete a secret (restorable), or purge it",
        description=(
            "Soft: the secret and its versions are kept, unreadable, until"
            " `restorable_until`. `purge=true` destroys them now. `removed` is false when"
            " there was nothing to remove. Capability `delete`."
        ),
        responses=error_responses(),
    )
    async def remove_secret(
        self,
        namespace: NamespacePath,
        name: NamePath,
        caller: NamedDependency[Caller],
        purge: PurgeQuery = False,
    ) -> SecretRemoveRead:
        check_namespace(namespace)
        check_name(name)
        caller.authorize("delete", namespace)
        removal = await caller.store.remove(namespace, name, purge=purge, actor=caller.actor)
        return SecretRemoveRead.of(removal)

    @get(
        ONE + "/versions",
        summary="A secret's kept versions (never values)",
        description="Newest first; a deleted secret's too. Capability `list`.",
        responses=error_responses("not_found"),
    )
    async def list_versions(
        self,
        namespace: NamespacePath,
        name: NamePath,
        caller: NamedDependency[Caller],
        limit: Limit = DEFAULT_PAGE_LIMIT,
        cursor: Cursor = None,
    ) -> VersionPageRead:
        check_namespace(namespace)
        check_name(name)
        caller.authorize("list", namespace)
        page = await caller.store.versions(namespace, name, limit=limit, cursor=cursor)
        return VersionPageRead(
            items=[VersionRead.of(item) for item in page.items], next_cursor=page.next_cursor
        )

    @post(
        ONE + "/rollback",
        status_code=200,
        summary="Write an earlier version's value as a new version",
        description=(
            "Metadata and expiry are unchanged; answers like a PUT. `If-Match` applies."
            " Capability `write`."
        ),
        response_headers=[_ETAG],
        responses=error_responses(
            "not_found", "conflict", "expired", "key_unavailable", "decryption_failed"
        ),
    )
    async def rollback_secret(
        self,
        namespace: NamespacePath,
        name: NamePath,
        data: JSONBody[RollbackCreate],
        caller: NamedDependency[Caller],
        if_match: IfMatch = "",
    ) -> Response[SecretPutRead]:
        check_namespace(namespace)
        check_name(name)
        precondition = Precondition(parse_if_match(if_match))
        caller.authorize("write", namespace)
        result = await caller.store.rollback(
            namespace, name, data.version, actor=caller.actor, precondition=precondition
        )
        return Response(SecretPutRead.of(result), headers={"ETag": etag(result.info.version)})

    @post(
        ONE + "/restore",
        status_code=200,
        summary="Bring a deleted secret back, with all its versions",
        description="409 `conflict` when the secret is not deleted. Capability `delete`.",
        responses=error_responses("not_found", "conflict"),
    )
    async def restore_secret(
        self,
        namespace: NamespacePath,
        name: NamePath,
        caller: NamedDependency[Caller],
    ) -> SecretRestoreRead:
        check_namespace(namespace)
        check_name(name)
        caller.authorize("delete", namespace)
        info = await caller.store.restore(namespace, name, actor=caller.actor)
        return SecretRestoreRead.of(info)

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
        state_filter: StateQuery = None,
    ) -> SecretPageRead:
        check_namespace(namespace)
        caller.authorize("list", namespace)
        page = await caller.store.list(
            namespace, limit=limit, cursor=cursor, order=order, deleted=state_filter == "deleted"
        )
        return SecretPageRead(
            items=[SecretInfoRead.of(item) for item in page.items], next_cursor=page.next_cursor
        )
