"""``/api/v1/audit/verify``: check the audit chain (core.audit_verify), name its first break."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from core.access import authorize_everywhere
from core.audit_verify import verify
from web.api.deps import Caller
from web.api.schemas import AuditVerifyRead
from web.errors import error_responses


class AuditController(Controller):
    path = "/audit"
    tags = ["events"]

    @get(
        "/verify",
        summary="Verify the audit chain",
        description=(
            "Recomputes every link of the audit chain from its event and the link before;"
            " `problem.seq` names the first place it breaks. `unsealed` counts events not"
            " sealed yet, `oldest_unsealed_ms` is the age of the oldest."
            " Capability `audit` with the pattern `*`."
        ),
        responses=error_responses("invalid_keys"),
    )
    async def verify_chain(self, caller: NamedDependency[Caller]) -> AuditVerifyRead:
        authorize_everywhere(caller.principal, "audit")
        store = caller.store
        return AuditVerifyRead.of(await verify(store.keyring(), store.clock()))
