"""What a request finds in the application's state.

``web.app.create_app`` keeps the one :class:`core.runtime.Runtime` of the
process in ``app.state``; the API and the dashboard reach it through
:func:`runtime_of`.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from core.runtime import Runtime


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    runtime: Runtime = connection.app.state["runtime"]
    return runtime
