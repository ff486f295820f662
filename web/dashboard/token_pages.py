"""The tokens page (admin): create a token (its text shown once), list, revoke.

An admin sees and revokes only the tokens its patterns cover (core.access.covers).
"""

from __future__ import annotations

from typing import Any

from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from core.access import CAPABILITIES
from core.timeutil import utc_now
from web.dashboard.context import Viewer
from web.dashboard.forms import TokenCreateForm, parse_patterns, parse_token_ttl
from web.dashboard.render import fragment, page

CHANGED = "tokens-changed"


async def _tokens(viewer: Viewer) -> dict[str, Any]:
    tokens = await viewer.runtime.tokens.list(viewer=viewer.principal)
    now = utc_now()
    # Newest first: the one just created is at the top.
    rows = [(token, token.state(now)) for token in reversed(tokens)]
    return {"tokens": rows, "current_token_id": viewer.principal.token_id}


@get("/tokens")
async def tokens_index(viewer: NamedDependency[Viewer]) -> Template:
    viewer.authorize("admin")
    return await page(
        viewer,
        "tokens/page.html",
        section="tokens",
        capabilities=CAPABILITIES,
        **await _tokens(viewer),
    )


@get("/tokens/list")
async def tokens_list(viewer: NamedDependency[Viewer]) -> Template:
    viewer.authorize("admin")
    return fragment("tokens/_list.html", **await _tokens(viewer))


@post("/tokens", status_code=200)
async def token_create(
    viewer: NamedDependency[Viewer], data: URLEncodedBody[TokenCreateForm]
) -> Template:
    viewer.authorize("admin")
    created = await viewer.runtime.tokens.create(
        data.name.strip(),
        parse_patterns(data.namespaces),
        data.capability_list,
        ttl_ms=parse_token_ttl(data.ttl_days),
        grantor=viewer.principal,
    )
    return fragment(
        "tokens/_created.html", trigger=CHANGED, token=created.info, token_text=created.token
    )


@delete("/tokens/{token_id:str}", status_code=200)
async def token_revoke(viewer: NamedDependency[Viewer], token_id: FromPath[str]) -> Template:
    viewer.authorize("admin")
    # Revoking the token this session signed in with is allowed (the
    # confirmation says so): the next request finds no principal and signs out.
    token = await viewer.runtime.tokens.revoke(token_id, revoker=viewer.principal)
    return fragment(
        "tokens/_row.html",
        token=token,
        state=token.state(utc_now()),
        current_token_id=viewer.principal.token_id,
    )


ROUTES = [tokens_index, tokens_list, token_create, token_revoke]
