"""The secrets page: a namespace's table, one secret's panel, and the writes on it.

Routes address a secret by query parameters (``?ns=...&name=...``) rather
than path segments: a name may be ``..`` or contain ``?`` or ``%``, which
browsers rewrite or split in a path but carry intact in a query string.

Every write answers with the secret's panel and fires ``secrets-changed``,
on which the table reloads itself with its current search and page.
"""

from __future__ import annotations

from typing import Any

from litestar import delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from core.errors import SecretStoreError
from core.models import ListedSecret
from core.validation import MAX_PAGE_LIMIT, check_name
from web.dashboard.context import Viewer, current_namespace
from web.dashboard.forms import (
    SecretCreateForm,
    SecretUpdateForm,
    SecretValueForm,
    parse_expiry,
    parse_metadata,
)
from web.dashboard.present import mask_value
from web.dashboard.render import fragment, page, wants_fragment

PAGE_SIZE = 25
CHANGED = "secrets-changed"


async def _table(viewer: Viewer, namespace: str, q: str, cursor: str) -> dict[str, Any]:
    viewer.authorize("list", namespace)
    listing = await viewer.runtime.store.list(
        namespace, limit=PAGE_SIZE, cursor=cursor or None, name_prefix=q or None
    )
    return {
        "namespace": namespace,
        "q": q,
        "cursor": cursor,
        "items": listing.items,
        "next_cursor": listing.next_cursor,
    }


async def _find(viewer: Viewer, namespace: str, name: str) -> ListedSecret[str, Any]:
    """The listing entry of one secret: its metadata and state, without reading the value.

    The store lists by name prefix, so this pages through the (usually one)
    names that start with ``name`` until it meets the exact one.
    """
    check_name(name)
    cursor: str | None = None
    while True:
        listing = await viewer.runtime.store.list(
            namespace, limit=MAX_PAGE_LIMIT, cursor=cursor, name_prefix=name
        )
        for item in listing.items:
            if item.info.name == name:
                return item
        if listing.next_cursor is None:
            raise SecretStoreError("not_found", "no such secret")
        cursor = listing.next_cursor


async def _preview(viewer: Viewer, namespace: str, name: str) -> tuple[str | None, str | None]:
    """The masked value, or why there is none to show."""
    if not viewer.may("read", namespace):
        return None, None
    try:
        secret = await viewer.runtime.store.get_or_raise(namespace, name)
    except SecretStoreError as exc:
        return None, exc.message
    return mask_value(secret.value), None


async def _detail(
    viewer: Viewer, namespace: str, name: str, notice: str | None = None
) -> dict[str, Any]:
    viewer.authorize("list", namespace)
    listed = await _find(viewer, namespace, name)
    masked, problem = await _preview(viewer, namespace, name)
    return {
        "namespace": namespace,
        "secret": listed.info,
        "state": listed.state,
        "masked": masked,
        "value_problem": problem,
        "notice": notice,
        "can_read": viewer.may("read", namespace),
        "can_write": viewer.may("write", namespace),
        "can_delete": viewer.may("delete", namespace),
        "can_audit": viewer.principal.has("audit"),
    }


@get("/secrets", name="secrets")
async def secrets_index(
    request: HTMXRequest,
    viewer: NamedDependency[Viewer],
    ns: FromQuery[str | None] = None,
    q: FromQuery[str] = "",
    cursor: FromQuery[str] = "",
    name: FromQuery[str] = "",
) -> Template:
    namespace = current_namespace(request, ns, viewer)
    if wants_fragment(request, "secrets-table"):
        return fragment("secrets/_table.html", **await _table(viewer, namespace, q, cursor))
    context: dict[str, Any] = {"namespace": namespace, "q": q, "cursor": cursor, "items": []}
    try:
        context.update(await _table(viewer, namespace, q, cursor))
    except SecretStoreError as exc:
        context["table_error"] = exc
    if name:
        try:
            context["detail"] = await _detail(viewer, namespace, name)
        except SecretStoreError as exc:
            context["detail_error"] = exc
    return await page(
        viewer,
        "secrets/page.html",
        section="secrets",
        can_write=viewer.may("write", namespace),
        **context,
    )


@get("/secrets/detail")
async def secret_detail(
    viewer: NamedDependency[Viewer], ns: FromQuery[str], name: FromQuery[str]
) -> Template:
    return fragment("secrets/_detail.html", d=await _detail(viewer, ns, name))


@get("/secrets/preview")
async def secret_preview(
    viewer: NamedDependency[Viewer], ns: FromQuery[str], name: FromQuery[str]
) -> Template:
    viewer.authorize("read", ns)
    secret = await viewer.runtime.store.get_or_raise(ns, name)
    return fragment(
        "secrets/_value.html", namespace=ns, secret=secret.info, masked=mask_value(secret.value)
    )


@get("/secrets/value")
async def secret_reveal(
    viewer: NamedDependency[Viewer], ns: FromQuery[str], name: FromQuery[str]
) -> Template:
    """The value itself, only on this explicit request (never part of a page or the panel)."""
    viewer.authorize("read", ns)
    secret = await viewer.runtime.store.get_or_raise(ns, name)
    return fragment("secrets/_value.html", namespace=ns, secret=secret.info, value=secret.value)


@post("/secrets", status_code=200)
async def secret_add(
    viewer: NamedDependency[Viewer], data: URLEncodedBody[SecretCreateForm]
) -> Template:
    namespace = data.namespace.strip()
    viewer.authorize("write", namespace)
    result = await viewer.runtime.store.put(
        namespace,
        data.name,
        data.value,
        metadata=parse_metadata(data.metadata),
        ttl_ms=parse_expiry(data.expiry, data.ttl_amount, data.ttl_unit),
        actor=viewer.actor,
    )
    notice = "Secret added." if result.is_new else "A secret of this name existed: it was replaced."
    context = await _detail(viewer, namespace, data.name, notice)
    return fragment("secrets/_detail.html", trigger=CHANGED, d=context)


@put("/secrets/value")
async def secret_replace(
    viewer: NamedDependency[Viewer],
    ns: FromQuery[str],
    name: FromQuery[str],
    data: URLEncodedBody[SecretValueForm],
) -> Template:
    viewer.authorize("write", ns)
    await viewer.runtime.store.put(
        ns,
        name,
        data.value,
        ttl_ms=parse_expiry(data.expiry, data.ttl_amount, data.ttl_unit),
        actor=viewer.actor,
    )
    context = await _detail(viewer, ns, name, "Value replaced.")
    return fragment("secrets/_detail.html", trigger=CHANGED, d=context)


@patch("/secrets/detail")
async def secret_update(
    viewer: NamedDependency[Viewer],
    ns: FromQuery[str],
    name: FromQuery[str],
    data: URLEncodedBody[SecretUpdateForm],
) -> Template:
    viewer.authorize("write", ns)
    await viewer.runtime.store.update(
        ns,
        name,
        metadata=parse_metadata(data.metadata),
        ttl_ms=parse_expiry(data.expiry, data.ttl_amount, data.ttl_unit),
        actor=viewer.actor,
    )
    context = await _detail(viewer, ns, name, "Metadata and expiry saved.")
    return fragment("secrets/_detail.html", trigger=CHANGED, d=context)


@delete("/secrets/detail", status_code=200)
async def secret_delete(
    viewer: NamedDependency[Viewer], ns: FromQuery[str], name: FromQuery[str]
) -> Template:
    viewer.authorize("delete", ns)
    removed = (await viewer.runtime.store.remove(ns, name, actor=viewer.actor)).removed
    return fragment(
        "secrets/_deleted.html", trigger=CHANGED, namespace=ns, name=name, removed=removed
    )


ROUTES = [
    secrets_index,
    secret_detail,
    secret_preview,
    secret_reveal,
    secret_add,
    secret_replace,
    secret_update,
    secret_delete,
]
