"""Every API call as data: the request to send and how to read its answer.

Both clients build the same :class:`Call` objects here and hand them to
:func:`read_answer`; only the sending (blocking or awaited) differs. So a
path, header or field of API.md is written down once, in this module.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from secretstore_client.errors import SecretStoreError, error_from_answer
from secretstore_client.models import (
    AuditVerification,
    CreatedToken,
    DeleteResult,
    Event,
    NamespaceCount,
    PutResult,
    RestoreResult,
    Secret,
    SecretInfo,
    TokenInfo,
    UpdateResult,
    VersionInfo,
)

T = TypeVar("T")
Item = TypeVar("Item")

API = "/api/v1"
# The API's largest page: fewer round trips for a client that reads everything.
MAX_PAGE_SIZE = 200


class _Unset(enum.Enum):
    UNSET = "UNSET"


# An argument left out is not sent, so the service keeps what it stores;
# ``None`` is sent as null, which clears it (API.md: absent differs from null).
UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]

Order = Literal["desc", "asc"]


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_cursor: str | None


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[Any], T]
    # Retrying it cannot do a thing twice: GET, DELETE, a PUT with a precondition.
    idempotent: bool
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = UNSET
    headers: Mapping[str, str] = field(default_factory=dict)

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        return http.build_request(
            self.method,
            self.path,
            params=self.params or None,
            json=None if self.body is UNSET else self.body,
            headers=self.headers or None,
        )


def read_answer(call: Call[T], response: httpx.Response) -> T:
    """The call's result, or the error the answer stands for."""
    if not response.is_success:
        raise error_from_answer(response)
    try:
        return call.read(response.json())
    except (ValueError, KeyError, TypeError) as error:
        # A 2xx that is not our JSON: SECRET_STORE_URL names some other service.
        raise SecretStoreError(
            f"the answer to {call.method} {call.path} is not the secret store's",
            code="invalid_answer",
            status=response.status_code,
        ) from error


def _segment(text: str) -> str:
    return quote(text, safe="")


def _secret_path(namespace: str, name: str, *rest: str) -> str:
    return "/".join((f"{API}/secrets", _segment(namespace), _segment(name), *rest))


def _if_match(version: int) -> str:
    return f'"{version}"'


def _page(read_item: Callable[[dict[str, Any]], Item]) -> Callable[[Any], Page[Item]]:
    def read(body: Any) -> Page[Item]:
        return Page([read_item(item) for item in body["items"]], body.get("next_cursor"))

    return read


def _paging(cursor: str | None, page_size: int) -> dict[str, str]:
    params = {"limit": str(page_size)}
    if cursor is not None:
        params["cursor"] = cursor
    return params


def _optional_fields(metadata: Any, ttl_ms: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if metadata is not UNSET:
        fields["metadata"] = None if metadata is None else dict(metadata)
    if ttl_ms is not UNSET:
        fields["ttl_ms"] = ttl_ms
    return fields


# -- secrets -------------------------------------------------------------------------


def put(
    namespace: str,
    name: str,
    value: str,
    *,
    metadata: Mapping[str, Any] | Unset | None,
    ttl_ms: int | Unset | None,
    if_version: int | None,
    if_absent: bool,
) -> Call[PutResult]:
    if not isinstance(value, str):
        raise TypeError("a secret's value is a str")
    if if_version is not None and if_absent:
        raise ValueError("give if_version or if_absent, not both")
    headers: dict[str, str] = {}
    if if_version is not None:
        headers["If-Match"] = _if_match(if_version)
    if if_absent:
        headers["If-None-Match"] = "*"
    return Call(
        "PUT",
        _secret_path(namespace, name),
        PutResult.from_json,
        idempotent=bool(headers),
        body={"value": value, **_optional_fields(metadata, ttl_ms)},
        headers=headers,
    )


def get(namespace: str, name: str, *, version: int | None) -> Call[Secret]:
    params = {} if version is None else {"version": str(version)}
    return Call("GET", _secret_path(namespace, name), Secret.from_json, True, params)


def update(
    namespace: str,
    name: str,
    *,
    metadata: Mapping[str, Any] | Unset | None,
    ttl_ms: int | Unset | None,
) -> Call[UpdateResult]:
    return Call(
        "PATCH",
        _secret_path(namespace, name),
        UpdateResult.from_json,
        idempotent=False,
        body=_optional_fields(metadata, ttl_ms),
    )


def delete(namespace: str, name: str, *, purge: bool) -> Call[DeleteResult]:
    params = {"purge": "true"} if purge else {}
    return Call("DELETE", _secret_path(namespace, name), DeleteResult.from_json, True, params)


def restore(namespace: str, name: str) -> Call[RestoreResult]:
    return Call(
        "POST", _secret_path(namespace, name, "restore"), RestoreResult.from_json, idempotent=False
    )


def rollback(namespace: str, name: str, version: int, *, if_version: int | None) -> Call[PutResult]:
    headers = {} if if_version is None else {"If-Match": _if_match(if_version)}
    return Call(
        "POST",
        _secret_path(namespace, name, "rollback"),
        PutResult.from_json,
        idempotent=False,
        body={"version": version},
        headers=headers,
    )


def history_page(
    namespace: str, name: str, *, cursor: str | None, page_size: int
) -> Call[Page[VersionInfo]]:
    return Call(
        "GET",
        _secret_path(namespace, name, "versions"),
        _page(VersionInfo.from_json),
        True,
        _paging(cursor, page_size),
    )


def list_page(
    namespace: str, *, cursor: str | None, page_size: int, order: Order, deleted: bool
) -> Call[Page[SecretInfo]]:
    params = _paging(cursor, page_size)
    params["order"] = order
    if deleted:
        params["state"] = "deleted"
    return Call(
        "GET", f"{API}/secrets/{_segment(namespace)}", _page(SecretInfo.from_json), True, params
    )


def namespaces() -> Call[list[NamespaceCount]]:
    def read(body: Any) -> list[NamespaceCount]:
        return [NamespaceCount.from_json(item) for item in body["items"]]

    return Call("GET", f"{API}/namespaces", read, True)


# -- audit -----------------------------------------------------------------------------


def events_page(
    filters: Mapping[str, str | None], *, cursor: str | None, page_size: int, order: Order
) -> Call[Page[Event]]:
    params = _paging(cursor, page_size)
    params["order"] = order
    params.update({key: value for key, value in filters.items() if value is not None})
    return Call("GET", f"{API}/events", _page(Event.from_json), True, params)


def verify_audit() -> Call[AuditVerification]:
    return Call("GET", f"{API}/audit/verify", AuditVerification.from_json, True)


# -- tokens ----------------------------------------------------------------------------


def create_token(
    name: str, namespaces: Sequence[str], capabilities: Sequence[str], *, ttl_ms: int | Unset | None
) -> Call[CreatedToken]:
    body: dict[str, Any] = {
        "name": name,
        "namespaces": list(namespaces),
        "capabilities": list(capabilities),
    }
    if ttl_ms is not UNSET:
        body["ttl_ms"] = ttl_ms
    return Call("POST", f"{API}/tokens", CreatedToken.from_json, idempotent=False, body=body)


def list_tokens() -> Call[list[TokenInfo]]:
    def read(body: Any) -> list[TokenInfo]:
        return [TokenInfo.from_json(item) for item in body["items"]]

    return Call("GET", f"{API}/tokens", read, True)


def revoke_token(token_id: str) -> Call[TokenInfo]:
    return Call("DELETE", f"{API}/tokens/{_segment(token_id)}", TokenInfo.from_json, True)
