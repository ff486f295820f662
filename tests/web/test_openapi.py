"""The OpenAPI schema: every route and error documented, and the app keeping to it.

The schemathesis run generates requests from the app's own schema (valid and
invalid ones) and checks every answer against it: no 5xx, no status, header,
content type or body the schema does not describe, valid requests accepted and
invalid ones refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.python import asgi as schemathesis_asgi

from core.access import check_pattern
from core.db import DB, fetch
from core.errors import SecretStoreError
from core.keys import define_keys
from core.runtime import build_runtime
from core.validation import MAX_METADATA_BYTES, MAX_VALUE_BYTES, check_name, check_namespace
from tests.keys import ADMIN_TOKEN, KEY_1, SESSION_SECRET
from web.api.fields import TOKEN_NAMESPACES_PATTERN
from web.api.params import NAME_PATTERN, NAMESPACE_PATTERN
from web.app import MAX_BODY_BYTES, create_app
from web.errors import STATUS_BY_CODE
from web.ratelimit import FailureLimiter


async def test_the_schema_is_served(anonymous: httpx.AsyncClient) -> None:
    for path in ("/schema", "/schema/openapi.json"):
        response = await anonymous.get(path)
        assert response.status_code == 200
        assert response.json()["openapi"].startswith("3.1")
    assert (await anonymous.get("/schema/openapi.yaml")).status_code == 200


def test_every_api_route_is_documented_with_its_errors(app: Litestar) -> None:
    document = app.openapi_schema.to_schema()
    paths = document["paths"]
    documented = {(method.upper(), path) for path, item in paths.items() for method in item}
    routes = {
        (method, route.path_format)
        for route in app.routes
        if route.path_format.startswith("/api/v1")
        for method in route.methods
        if method != "OPTIONS"
    }
    assert routes == documented
    for path, item in paths.items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert any(status.startswith("2") for status in responses), (method, path)
            public = path in {"/api/v1/health", "/api/v1/ready"}
            if not public:
                assert operation["security"] == [{"BearerToken": []}]
                for status in ("401", "403", "429", "503"):
                    assert status in responses, (method, path, status)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert "$ref" in schema, (method, path, status)


def test_each_error_code_is_described_under_its_status(app: Litestar) -> None:
    document = app.openapi_schema.to_schema()
    operation = document["paths"]["/api/v1/secrets/{namespace}/{name}"]["get"]
    for code in ("not_found", "expired", "key_unavailable", "decryption_failed", "invalid_keys"):
        description = operation["responses"][str(STATUS_BY_CODE[code])]["description"]
        assert f"`{code}`" in description


def test_the_metadata_schema_refers_to_a_definition_that_exists(app: Litestar) -> None:
    document = app.openapi_schema.to_schema()
    text = json.dumps(document)
    refs = set(re.findall(r'"\$ref": "#/([^"]+)"', text))
    for ref in refs:
        node: Any = document
        for part in ref.split("/"):
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert isinstance(node, dict), ref
    assert any(ref.endswith("$defs/MetadataValue") for ref in refs)


def test_the_body_limit_fits_the_largest_valid_put() -> None:
    # Every byte of the value and of the metadata written as a 6-byte escape.
    largest = 6 * (MAX_VALUE_BYTES + MAX_METADATA_BYTES) + 1024
    assert largest < MAX_BODY_BYTES


def _agrees(pattern: str, check: Any, text: str) -> None:
    try:
        check(text)
        accepted = True
    except SecretStoreError:
        accepted = False
    assert (re.fullmatch(pattern, text) is not None) == accepted, repr(text)


NAMESPACE_LIKE = st.text(alphabet="aZ09._:@-* /é", max_size=140)


@settings(max_examples=300, deadline=None)
@given(st.one_of(NAMESPACE_LIKE, st.text(max_size=130)))
def test_the_namespace_patterns_agree_with_core(text: str) -> None:
    _agrees(NAMESPACE_PATTERN, check_namespace, text)
    _agrees(TOKEN_NAMESPACES_PATTERN, check_pattern, text)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=260),
        st.text(alphabet=" \t\u00a0\u2003a/\x00\x85\x7f", max_size=6),
        st.text(min_size=255, max_size=258, alphabet="ab "),
    )
)
def test_the_name_pattern_agrees_with_core(text: str) -> None:
    _agrees(NAME_PATTERN, check_name, text)


# -- schemathesis --------------------------------------------------------------

CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            # 410 (expired) answers a well-formed request for a secret whose
            # time has passed, as 404 and 409 answer for absent or unreadable ones.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx"]
            },
        }
    }
)
# The schema is read from an app that needs no services; the requests go to
# the real one (``app=`` below), built inside the test session.
schema = schemathesis.openapi.from_asgi(
    "/schema/openapi.json",
    create_app(
        build_runtime(
            {
                "SECRET_STORE_KEYS": define_keys({1: KEY_1}),
                "SECRET_STORE_SESSION_SECRET": SESSION_SECRET,
            }
        ),
        manage_pool=False,
    ),
    config=CONFIG,
)


@pytest.fixture(scope="module")
async def served_app(db_pool: str, redis_url: str) -> AsyncIterator[Litestar]:
    """The app as deployed: schemathesis runs it on its own event loop, so it opens its own pool."""
    environ = {
        "DATABASE_URL": db_pool,
        "REDIS_URL": redis_url,
        "SECRET_STORE_KEYS": define_keys({1: KEY_1}),
        "SECRET_STORE_ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET_STORE_SESSION_SECRET": SESSION_SECRET,
    }
    session_pool, session_config = DB.pool, DB.config
    DB.pool = None
    # Schemathesis probes authentication with made-up tokens; the limit is tested elsewhere.
    app = create_app(build_runtime(environ), failure_limiter=FailureLimiter(max_failures=10**9))
    try:
        yield app
    finally:
        schemathesis_asgi.shutdown_lifespans()
        DB.pool, DB.config = session_pool, session_config
        await fetch("TRUNCATE secrets, secret_versions, audit_events, api_tokens")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case: schemathesis.Case, served_app: Litestar) -> None:
    excluded = []
    preconditions = {
        name.lower(): value
        for name, value in (case.headers or {}).items()
        if name.lower() in ("if-match", "if-none-match")
    }
    # Schemathesis draws header values without their schema's pattern, so a
    # generated precondition header is not necessarily valid data.
    malformed = not all(
        re.fullmatch(r'"[1-9][0-9]{0,8}"' if name == "if-match" else r"\*", value)
        for name, value in preconditions.items()
    )
    if (case.query and case.query.get("cursor") is not None) or malformed:
        # A cursor is opaque: one the server did not hand out is rightly refused.
        from schemathesis.specs.openapi.checks import positive_data_acceptance

        excluded.append(positive_data_acceptance)
    if not _invalid_part_reaches_the_app(case):
        from schemathesis.specs.openapi.checks import negative_data_rejection

        excluded.append(negative_data_rejection)
    case.call_and_validate(
        app=served_app,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        excluded_checks=excluded,
    )


def _invalid_part_reaches_the_app(case: schemathesis.Case) -> bool:
    """Whether a part generated invalid is still invalid in the request the app gets.

    The admin token replaces whatever Authorization header was generated, and
    the HTTP client drops query keys whose value is None and flattens objects
    and arrays into plain ``key=value`` pairs (an object for ``name`` was sent
    as ``name=A``): such parts can reach the app as valid ones.
    """
    meta = case.meta
    if meta is None:
        return True
    invalid = {where for where, info in meta.components.items() if info.mode.is_negative}
    invalid.discard(ParameterLocation.HEADER)
    query = (case.query or {}).values()
    if any(value is None or isinstance(value, dict | list) for value in query):
        invalid.discard(ParameterLocation.QUERY)
    return bool(invalid)
