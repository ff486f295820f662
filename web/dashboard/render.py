"""Rendering helpers shared by the dashboard's pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from web.dashboard.context import Viewer


@dataclass(frozen=True)
class DashboardOptions:
    # SECRET_STORE_EMBEDDED=1 (set by ``secretstore dev``): offer demo data
    embedded: bool = False


def wants_fragment(request: HTMXRequest, target: str) -> bool:
    """An htmx request aimed at ``target`` gets that fragment; anything else the full page.

    A history restore (back button after the cache was evicted) asks for the
    whole page even though it comes from htmx.
    """
    return request.htmx.target == target and not request.htmx.history_restore_request


async def page(
    viewer: Viewer,
    template: str,
    *,
    section: str,
    namespace: str | None = None,
    **context: Any,
) -> Template:
    """A full page: the layout needs the viewer, the namespace switcher and the nav."""
    principal = viewer.principal
    namespaces = (
        await viewer.runtime.store.list_namespaces(principal.scope) if principal.has("list") else []
    )
    return Template(
        template,
        context={
            "viewer": principal,
            "section": section,
            "namespace": namespace,
            "namespaces": namespaces,
            **context,
        },
    )


def fragment(template: str, *, trigger: str | None = None, **context: Any) -> Template:
    """A partial; ``trigger`` names an event htmx fires on the page (others listen for it)."""
    headers = {"HX-Trigger": trigger} if trigger else None
    return Template(template, context=context, headers=headers)
