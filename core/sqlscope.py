"""The SQL form of a :class:`NamespaceScope`, the one filter for "what a token may see"."""

from __future__ import annotations

from typing import Any

from core.access import NamespaceScope


def scope_condition(scope: NamespaceScope, args: list[Any], column: str = "namespace") -> str:
    """A WHERE condition limiting ``column`` to ``scope``; appends its parameters to ``args``."""
    if scope.is_everything:
        return "TRUE"
    args.append(list(scope.exact))
    exact = f"${len(args)}::text[]"
    args.append(list(scope.prefixes))
    prefixes = f"${len(args)}::text[]"
    # left(...) = prefix rather than LIKE: '_' is legal in a namespace and a LIKE wildcard.
    return (
        f"({column} = ANY({exact}) OR EXISTS (SELECT 1 FROM unnest({prefixes}) AS p(prefix)"
        f" WHERE left({column}, length(p.prefix)) = p.prefix))"
    )
