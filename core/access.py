"""Namespace patterns and capabilities: what a token may do, and where.

A pattern is a namespace (``acme:production``) or a prefix ending in ``*``
(``acme:*``, ``*``). A token holds a set of patterns and a set of capabilities;
it may do a capability to a namespace when it holds the capability and one of
its patterns matches the namespace. Capabilities do not imply one another,
except that ``admin`` is needed for keys, rotation, cleanup and tokens.
:func:`authorize` is the one check every entry point makes: a missing
capability or a namespace outside the patterns is ``forbidden``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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

    @cached_property
    def scope(self) -> NamespaceScope:
        return NamespaceScope.from_patterns(self.patterns)

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def may(self, capability: Capability, namespace: str) -> bool:
        return self.has(capability) and self.scope.contains(namespace)


def authorize(principal: Principal, capability: Capability, namespace: str | None = None) -> None:
    """Refuse unless ``principal`` holds ``capability`` (in ``namespace``, when given).

    The API's routes, the read path and the dashboard's pages all call it, so a
    refusal reads the same wherever it happens.
    """
    if not principal.has(capability):
        raise SecretStoreError("forbidden", f"this token lacks the '{capability}' capability")
    if namespace is not None and not principal.scope.contains(namespace):
        raise SecretStoreError("forbidden", f"this token may not access namespace '{namespace}'")


def check_grantable(
    principal: Principal, patterns: Iterable[str], capabilities: Iterable[Capability]
) -> None:
    """Refuse to grant what ``principal`` does not hold itself (no escalation through tokens)."""
    for capability in capabilities:
        if not principal.has(capability):
            raise SecretStoreError(
                "forbidden", f"a token cannot grant the '{capability}' capability it lacks"
            )
    scope = principal.scope
    for pattern in patterns:
        if pattern.endswith("*"):
            # A prefix is covered only by a prefix of it: exact names never cover a prefix.
            covered = any(pattern[:-1].startswith(prefix) for prefix in scope.prefixes)
        else:
            covered = scope.contains(pattern)
        if not covered:
            raise SecretStoreError(
                "forbidden", f"a token cannot grant namespace pattern '{pattern}' outside its own"
            )
