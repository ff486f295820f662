"""Namespace patterns and capabilities: what a token may do, and where.

A pattern is a namespace (``acme:production``) or a prefix ending in ``*``
(``acme:*``, ``*``). A token holds a set of patterns and a set of capabilities;
it may do a capability to a namespace when it holds the capability and one of
its patterns matches the namespace. Capabilities do not imply one another,
except that ``admin`` is needed for keys, rotation, cleanup and tokens.
:func:`authorize` is the one check every entry point makes: a missing
capability or a namespace outside the patterns is ``forbidden``.

Two rules keep a namespace-scoped admin inside its namespaces:

- what acts on every namespace at once (rotation, cleanup) needs the
  capability with the pattern ``*`` (:func:`authorize_everywhere`);
- a token is seen and revoked, like it is granted, only by a principal whose
  patterns cover all of its own (:func:`covers`).

And one keeps a stolen short-lived token from minting a lasting one: a token
expires no later than the principal that creates it (:func:`check_lifetime`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Literal, get_args

from core.errors import SecretStoreError
from core.validation import invalid, is_namespace_pattern

Capability = Literal["read", "write", "delete", "list", "audit", "admin"]
CAPABILITIES: tuple[Capability, ...] = get_args(Capability)


def check_pattern(pattern: object) -> str:
    if isinstance(pattern, str) and is_namespace_pattern(pattern):
        return pattern
    raise invalid("a namespace pattern must be a namespace or a prefix ending in '*'")


def check_capability(capability: object) -> Capability:
    for known in CAPABILITIES:
        if capability == known:
            return known
    raise invalid(f"capability must be one of {', '.join(CAPABILITIES)}")


@dataclass(frozen=True)
class NamespaceScope:
    """The namespaces a token may see, as exact names and prefixes (for SQL filters)."""

    exact: tuple[str, ...]
    prefixes: tuple[str, ...]

    @classmethod
    def from_patterns(cls, patterns: Iterable[str]) -> NamespaceScope:
        exact: list[str] = []
        prefixes: list[str] = []
        for pattern in patterns:
            if pattern.endswith("*"):
                prefixes.append(pattern[:-1])
            else:
                exact.append(pattern)
        return cls(tuple(sorted(set(exact))), tuple(sorted(set(prefixes))))

    @property
    def is_everything(self) -> bool:
        return "" in self.prefixes

    def contains(self, namespace: str) -> bool:
        return namespace in self.exact or any(namespace.startswith(p) for p in self.prefixes)


EVERYTHING = NamespaceScope(exact=(), prefixes=("",))


@dataclass(frozen=True)
class Principal:
    """Who is acting: a token's id (recorded as ``actor``), its patterns and capabilities."""

    token_id: str
    name: str
    patterns: tuple[str, ...]
    capabilities: frozenset[Capability]
    # None: never expires (the bootstrap admin, a token made without ttl)
    expires_at: datetime | None = None

    @cached_property
    def scope(self) -> NamespaceScope:
        return NamespaceScope.from_patterns(self.patterns)

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def may(self, capability: Capability, namespace: str) -> bool:
        return self.has(capability) and self.scope.contains(namespace)

    def may_everywhere(self, capability: Capability) -> bool:
        """Whether it holds ``capability`` over every namespace (the pattern ``*``)."""
        return self.has(capability) and self.scope.is_everything


def authorize(principal: Principal, capability: Capability, namespace: str | None = None) -> None:
    """Refuse unless ``principal`` holds ``capability`` (in ``namespace``, when given).

    The API's routes, the read path and the dashboard's pages all call it, so a
    refusal reads the same wherever it happens.
    """
    if not principal.has(capability):
        raise SecretStoreError("forbidden", f"this token lacks the '{capability}' capability")
    if namespace is not None and not principal.scope.contains(namespace):
        raise SecretStoreError("forbidden", f"this token may not access namespace '{namespace}'")


def authorize_everywhere(principal: Principal, capability: Capability) -> None:
    """Refuse unless ``principal`` holds ``capability`` with the pattern ``*``.

    For what acts on every namespace at once: rotation rewraps, and cleanup
    deletes, rows of every tenant, which an admin of ``acme:*`` must not touch.
    """
    authorize(principal, capability)
    if not principal.may_everywhere(capability):
        raise SecretStoreError(
            "forbidden", f"'{capability}' over every namespace needs the pattern '*'"
        )


def covers(principal: Principal, patterns: Iterable[str]) -> bool:
    """Whether every namespace any of ``patterns`` matches is one ``principal`` reaches."""
    scope = principal.scope
    for pattern in patterns:
        if pattern.endswith("*"):
            # A prefix is covered only by a prefix of it: exact names never cover a prefix.
            covered = any(pattern[:-1].startswith(prefix) for prefix in scope.prefixes)
        else:
            covered = scope.contains(pattern)
        if not covered:
            return False
    return True


def check_lifetime(principal: Principal, expires_at: datetime | None) -> None:
    """Refuse a token (expiring at ``expires_at``, ``None``: never) that outlives its creator."""
    if principal.expires_at is None:
        return
    if expires_at is None or expires_at > principal.expires_at:
        raise SecretStoreError(
            "forbidden", "a token cannot create one that expires later than itself"
        )


def check_grantable(
    principal: Principal, patterns: Iterable[str], capabilities: Iterable[Capability]
) -> None:
    """Refuse to grant what ``principal`` does not hold itself (no escalation through tokens)."""
    for capability in capabilities:
        if not principal.has(capability):
            raise SecretStoreError(
                "forbidden", f"a token cannot grant the '{capability}' capability it lacks"
            )
    for pattern in patterns:
        if not covers(principal, [pattern]):
            raise SecretStoreError(
                "forbidden", f"a token cannot grant namespace pattern '{pattern}' outside its own"
            )
