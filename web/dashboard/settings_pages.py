"""The settings page: key versions, rotation with live progress, cleanup, the
chains' last links, demo data.

Each of its actions acts on every namespace, so the page needs ``admin`` with
the pattern ``*`` (``core.access.authorize_everywhere``), as the API does.

Rotation and cleanup run as worker chains; this page only starts them
(``worker.chains.start_chain``) and reads progress from the store. While a
rotation runs, its card polls every second; the answer that finds the chain
stopped carries status 286, htmx's signal to stop polling, with the final state.
"""

from __future__ import annotations

from typing import Any, Literal

from litestar import get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from core.access import authorize_everywhere
from core.errors import SecretStoreError
from core.maintenance import EVENTS_RETENTION_MS, SECRETS_RETENTION_MS
from core.queries import chain_fences
from web.dashboard.context import Viewer
from web.dashboard.demo import DEMO_NAMESPACES, seed_demo
from web.dashboard.forms import DAY_MS, CleanupForm, parse_retention_days
from web.dashboard.present import percent
from web.dashboard.render import DashboardOptions, fragment, page
from worker.chains import ChainKind, ChainState, chain_state, start_chain

# htmx stops polling an element whose request is answered with this status.
STOP_POLLING = 286

CLEANUPS: dict[str, tuple[Literal["cleanup_secrets", "cleanup_events"], int]] = {
    "secrets": ("cleanup_secrets", SECRETS_RETENTION_MS),
    "events": ("cleanup_events", EVENTS_RETENTION_MS),
}


CHAIN_LABELS: dict[ChainKind, str] = {
    "rotation": "Rotation",
    "cleanup_secrets": "Expired secrets cleanup",
    "cleanup_events": "Old events cleanup",
}


async def _state(kind: ChainKind) -> ChainState | None:
    """``running``, ``resuming`` (its worker died; the scheduler resumes it) or ``idle``;
    ``None`` when Redis cannot tell."""
    try:
        return await sync_to_thread(chain_state, kind)
    except SecretStoreError:
        return None


async def _chains() -> list[dict[str, Any]]:
    """Each chain's state and when its last link ran (a batch of it committed)."""
    last = await chain_fences.last_batches()
    return [
        {"kind": kind, "label": label, "state": await _state(kind), "last": last.get(kind)}
        for kind, label in CHAIN_LABELS.items()
    ]


async def _rotation(viewer: Viewer) -> dict[str, Any]:
    status = await viewer.runtime.store.rotation_status()
    state = await _state("rotation")
    total = sum(status.counts.values())
    on_active = status.counts.get(status.active_version, 0)
    versions = sorted(set(status.configured_versions) | set(status.counts))
    return {
        "status": status,
        "versions": versions,
        "total": total,
        "on_active": on_active,
        "percent": percent(on_active, total),
        "running": None if state is None else state == "running",
        "state": state,
    }


def _going(rotation: dict[str, Any]) -> bool:
    # A stalled chain is resumed by the scheduler: keep polling through it.
    return rotation["state"] in ("running", "resuming")


@get("/settings")
async def settings_index(
    viewer: NamedDependency[Viewer], options: NamedDependency[DashboardOptions]
) -> Template:
    authorize_everywhere(viewer.principal, "admin")
    rotation = await _rotation(viewer)
    return await page(
        viewer,
        "settings/page.html",
        section="settings",
        rotation=rotation,
        polling=_going(rotation),
        chains=await _chains(),
        retention_days={kind: default // DAY_MS for kind, (_, default) in CLEANUPS.items()},
        embedded=options.embedded,
        demo_namespaces=DEMO_NAMESPACES,
    )


@get("/settings/rotation")
async def rotation_progress(viewer: NamedDependency[Viewer]) -> Template:
    authorize_everywhere(viewer.principal, "admin")
    rotation = await _rotation(viewer)
    if _going(rotation):
        return fragment("settings/_rotation.html", rotation=rotation, polling=True)
    return Template(
        "settings/_rotation.html",
        context={"rotation": rotation, "polling": False},
        status_code=STOP_POLLING,
    )


@post("/settings/rotation", status_code=200)
async def rotation_start(viewer: NamedDependency[Viewer]) -> Template:
    authorize_everywhere(viewer.principal, "admin")
    started = await sync_to_thread(start_chain, "rotation", actor=viewer.actor)
    rotation = await _rotation(viewer)
    # Poll from here even if the chain already finished: the first poll then
    # answers 286 with the final state.
    return fragment(
        "settings/_rotation.html",
        rotation=rotation,
        polling=True,
        notice="Rotation started." if started else "A rotation was already running.",
    )


@post("/settings/cleanup/{kind:str}", status_code=200)
async def cleanup_start(
    viewer: NamedDependency[Viewer],
    kind: FromPath[str],
    data: URLEncodedBody[CleanupForm],
) -> Template:
    authorize_everywhere(viewer.principal, "admin")
    if kind not in CLEANUPS:
        raise SecretStoreError("not_found", "no such cleanup")
    chain, _ = CLEANUPS[kind]
    retention_ms = parse_retention_days(data.retention_days)
    started = await sync_to_thread(
        start_chain, chain, actor=viewer.actor, retention_ms=retention_ms
    )
    return fragment("settings/_cleanup_result.html", kind=kind, started=started)


@post("/settings/seed", status_code=200)
async def seed_demo_data(
    viewer: NamedDependency[Viewer], options: NamedDependency[DashboardOptions]
) -> Template:
    authorize_everywhere(viewer.principal, "admin")
    if not options.embedded:
        raise SecretStoreError("not_found", "demo data is offered only in the embedded default")
    count = await seed_demo(viewer.runtime.store, actor=viewer.actor)
    return fragment("settings/_seed_result.html", count=count, namespaces=DEMO_NAMESPACES)


ROUTES = [settings_index, rotation_progress, rotation_start, cleanup_start, seed_demo_data]
