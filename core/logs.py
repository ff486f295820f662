"""Structured logging: one JSON object per line, through the standard library.

Every process (web, worker, scheduler, CLI) calls :func:`configure_logging`
once. Log calls pass facts as ``extra`` fields; nothing in this project ever
passes a value, a DEK or key material, and :func:`_drop_sensitive` removes any
field whose name says it could hold one, as a second line of defence.

Two pipelines write the same lines (``event``, ``level``, ``logger``,
``timestamp`` and the facts):

- The standard library's ``logging``, for this project's modules and for
  every library's, through structlog's ``ProcessorFormatter``.
- structlog's own loggers (:func:`fast_logger`), for the line written on every
  request: about a quarter of the first pipeline's cost (bench/README.md).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import msgspec
import structlog

from core.settings import Settings

_WRITE_LOCK = threading.Lock()
_ENCODER = msgspec.json.Encoder(enc_hook=str)
_SENSITIVE = ("value", "token", "kek", "dek", "key_material", "password", "secret_text")


def _drop_sensitive(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for field in list(event):
        if field in _SENSITIVE:
            event[field] = "[redacted]"
    return event


def configure_logging(level: str | None = None) -> None:
    """Send every log line to stderr as JSON, at ``level`` (by default ``LOG_LEVEL``'s)."""
    shared: list[Any] = [
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
    root.setLevel(level or Settings.from_env().log_level)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_sensitive,
            structlog.processors.JSONRenderer(serializer=_json),
        ],
        logger_factory=_NamedWriteLogger,
        wrapper_class=structlog.make_filtering_bound_logger(root.level),
        # Building the logger on every line cost a third of the line; a process
        # configures logging once, before its first line.
        cache_logger_on_first_use=True,
    )


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's line writer, named as a standard library logger is (for ``add_logger_name``).

    It writes to ``sys.stderr`` as it is at each line, as the standard
    library's handler writes to the stream it was given: a test's capture can
    replace it.
    """

    def __init__(self, name: str) -> None:
        super().__init__(sys.stderr)
        self.name = name

    def msg(self, message: str) -> None:
        with _WRITE_LOCK:  # whole lines, also from a worker's threads
            stream = sys.stderr
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def _json(event: dict[str, Any], **_: Any) -> str:
    return _ENCODER.encode(event).decode()


def fast_logger(name: str) -> Any:
    """A structlog logger writing the same JSON lines as ``logging.getLogger(name)``.

    ``fast_logger(name).info("event", field=...)``: for lines written often
    enough that the standard library's per-record cost shows.
    """
    return structlog.get_logger(name)
