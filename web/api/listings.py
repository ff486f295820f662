"""``/api/v1/namespaces`` and ``/api/v1/events``: what a token may see, and nothing else.

Both pass the token's scope to core, which filters in SQL; naming a namespace
outside the scope is 403 rather than an empty answer, so a client can tell
"nothing there" from "not yours to see".
"""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from core.validation import check_namespace
from web.api.deps import Caller
from web.api.params import (
    DEFAULT_PAGE_LIMIT,
    Cursor,
    EventTypeFilter,
    Limit,
    NameFilter,
    NamespaceFilter,
    OrderQuery,
    SecretIdFilter,
)
from web.api.schemas import EventPageRead, EventRead, NamespaceListRead, NamespaceRead
from web.errors import error_responses


class NamespaceController(Controller):
    path = "/namespaces"
    tags = ["secrets"]

    @get(
        summary="Namespaces the token may see, with counts",
        description="Capability `list`.",
        responses=error_responses(),
    )
    async def list_namespaces(self, caller: NamedDependency[Caller]) -> NamespaceListRead:
        caller.authorize("list")
        counts = await caller.store.list_namespaces(caller.principal.scope)
        return NamespaceListRead(items=[NamespaceRead.of(count) for count in counts])


class EventController(Controller):
    path = "/events"
    tags = ["audit"]

    @get(
        summary="Audit events",
        description=(
            "Filters combine with AND. Without `namespace`, every namespace the token may"
            " see. Newest first by default. Capability `audit`."
        ),
        responses=error_responses(),
    )
    async def list_events(
        self,
        caller: NamedDependency[Caller],
        namespace: NamespaceFilter = None,
        name: NameFilter = None,
        type: EventTypeFilter = None,
        secret_id: SecretIdFilter = None,
        limit: Limit = DEFAULT_PAGE_LIMIT,
        cursor: Cursor = None,
        order: OrderQuery = "desc",
    ) -> EventPageRead:
        if namespace is not None:
            check_namespace(namespace)
        caller.authorize("audit", namespace)
        page = await caller.store.list_events(
            scope=caller.principal.scope,
            namespace=namespace,
            name=name,
            type=type,
            secret_id=secret_id,
            limit=limit,
            cursor=cursor,
            order=order,
        )
        return EventPageRead(
            items=[EventRead.of(event) for event in page.items], next_cursor=page.next_cursor
        )
