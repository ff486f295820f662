"""Structured logging: one JSON object per line, through the standard library.

Every process (web, worker, scheduler, CLI) calls :func:`configure_logging`
once. Log calls pass facts as ``extra`` fields; nothing in this project ever
passes a value, a DEK or key material, and :func:`_drop_sensitive` removes any
field whose name says it could hold one, as a second line of defence.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

_SENSITIVE = ("value", "token", "kek", "dek", "key_material", "password", "secret_text")


def _drop_sensitive(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for field in list(event):
        if field in _SENSITIVE:
            event[field] = "[redacted]"
    return event


def configure_logging(level: str | None = None) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_sensitive,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
