"""The activity page: the audit log, filtered and paged, in sentences, and the audit chain's state.

The chain's state comes from a full verification, which reads every event, so
the page asks for it as a fragment of its own once it has loaded
(``/activity/chain``) and the table never waits for it. Only a viewer with
``audit`` over every namespace sees it, as in the API.
"""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from core.access import authorize_everywhere
from core.audit_verify import verify
from core.errors import SecretStoreError
from core.models import EVENT_TYPES
from web.dashboard.context import Viewer
from web.dashboard.render import fragment, page, wants_fragment

PAGE_SIZE = 50


async def _events(viewer: Viewer, ns: str, name: str, type: str, cursor: str) -> dict[str, Any]:
    viewer.authorize("audit", ns or None)
    runtime = viewer.runtime
    events = await runtime.store.list_events(
        scope=viewer.principal.scope,
        namespace=ns or None,
        name=name or None,
        type=type or None,
        cursor=cursor or None,
        limit=PAGE_SIZE,
    )
    # Events name their actor by token id; the table shows the token's name.
    actors = {token.token_id: token.name for token in await runtime.tokens.list()}
    return {
        "events": events.items,
        "next_cursor": events.next_cursor,
        "actors": actors,
        "filters": {"ns": ns, "name": name, "type": type},
        "cursor": cursor,
    }


@get("/activity")
async def activity_index(
    request: HTMXRequest,
    viewer: NamedDependency[Viewer],
    ns: FromQuery[str] = "",
    name: FromQuery[str] = "",
    type: FromQuery[str] = "",
    cursor: FromQuery[str] = "",
) -> Template:
    ns, name = ns.strip(), name.strip()
    if wants_fragment(request, "events-table"):
        return fragment("activity/_table.html", **await _events(viewer, ns, name, type, cursor))
    context: dict[str, Any] = {
        "events": [],
        "filters": {"ns": ns, "name": name, "type": type},
        "cursor": cursor,
    }
    try:
        context.update(await _events(viewer, ns, name, type, cursor))
    except SecretStoreError as exc:
        context["table_error"] = exc
    return await page(
        viewer,
        "activity/page.html",
        section="activity",
        namespace=ns or None,
        event_types=EVENT_TYPES,
        shows_chain=viewer.principal.may_everywhere("audit"),
        **context,
    )


@get("/activity/chain")
async def activity_chain(viewer: NamedDependency[Viewer]) -> Template:
    authorize_everywhere(viewer.principal, "audit")
    store = viewer.runtime.store
    return fragment("activity/_chain.html", report=await verify(store.keyring(), store.clock()))


ROUTES = [activity_index, activity_chain]
