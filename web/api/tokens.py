"""``/api/v1/tokens``: create (shown once), list and revoke API tokens (capability ``admin``).

A token can only create tokens no more powerful than itself: every capability
and every namespace pattern it grants must be one it holds, and the new token
expires no later than it does. Otherwise an admin token scoped to ``acme:*``
could mint a ``*`` token and step outside its scope, or a stolen one-hour token
a lasting one. Likewise it lists and revokes only tokens its patterns cover.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from web.api.deps import Caller
from web.api.schemas import (
    TokenCreate,
    TokenCreatedRead,
    TokenListRead,
    TokenRead,
    TokenRevokedRead,
)
from web.errors import error_responses

TokenIdPath = Annotated[str, PathParameter(description="the token_id given at creation")]


class TokenController(Controller):
    path = "/tokens"
    tags = ["tokens"]

    @post(
        status_code=201,
        summary="Create a token (its text is in this answer only)",
        description=(
            "Only a hash of the token is stored. The new token may hold only capabilities and"
            " namespaces the caller holds, and expires no later than the caller (403 otherwise)."
            " Capability `admin`."
        ),
        responses=error_responses("value_too_large"),
    )
    async def create_token(
        self,
        data: JSONBody[TokenCreate],
        caller: NamedDependency[Caller],
    ) -> TokenCreatedRead:
        caller.authorize("admin")
        created = await caller.tokens.create(
            data.name,
            list(data.namespaces),
            list(data.capabilities),
            # absent and null both mean a token that never expires
            ttl_ms=data.ttl_ms if isinstance(data.ttl_ms, int) else None,
            grantor=caller.principal,
        )
        return TokenCreatedRead.of(created)

    @get(
        summary="List tokens (never their text)",
        description=(
            "Revoked and expired tokens are listed too; only tokens whose patterns the"
            " caller's cover. Capability `admin`."
        ),
        responses=error_responses(),
    )
    async def list_tokens(self, caller: NamedDependency[Caller]) -> TokenListRead:
        caller.authorize("admin")
        tokens = await caller.tokens.list(viewer=caller.principal)
        return TokenListRead(items=[TokenRead.of(info) for info in tokens])

    @delete(
        "/{token_id:str}",
        status_code=200,
        summary="Revoke a token",
        description=(
            "Refused from the next request on. Revoking twice is harmless. Only a token whose"
            " patterns the caller's cover (403 otherwise). Capability `admin`."
        ),
        responses=error_responses("not_found"),
    )
    async def revoke_token(
        self,
        token_id: TokenIdPath,
        caller: NamedDependency[Caller],
    ) -> TokenRevokedRead:
        caller.authorize("admin")
        return TokenRevokedRead.of(await caller.tokens.revoke(token_id, revoker=caller.principal))
