"""Retries: idempotent calls are tried again on 503, 429 and connection errors, a bounded
number of times; a call that may have written is not. Against a scripted server, which
can answer 503 on demand, and a port nothing listens on.
"""

from __future__ import annotations

import threading
import time

import pytest
from secretstore_client import (
    AsyncSecretStoreClient,
    RateLimited,
    RetryPolicy,
    SecretStoreClient,
    Unavailable,
    Unreachable,
)

from tests.client.support import Answer, ScriptedServer, error, free_port, secret_body

FAST = RetryPolicy(retries=3, backoff=0.01, max_backoff=0.05)
PUT_ANSWER = Answer(
    200,
    {
        key: value
        for key, value in {**secret_body("ns", "NAME"), "is_new": False}.items()
        if key not in ("value", "metadata")
    },
)


def test_a_read_is_retried_on_503_until_it_succeeds() -> None:
    answers = [
        error(503, "unavailable"),
        error(503, "unavailable"),
        Answer(200, secret_body("ns", "NAME")),
    ]
    with (
        ScriptedServer(*answers) as server,
        SecretStoreClient(server.url, "t", retry=FAST) as client,
    ):
        assert client.get("ns", "NAME").value == "v"
    assert len(server.received) == 3


def test_retries_are_bounded() -> None:
    policy = RetryPolicy(retries=2, backoff=0.01)
    with (
        ScriptedServer(error(503, "unavailable")) as server,
        SecretStoreClient(server.url, "t", retry=policy) as client,
        pytest.raises(Unavailable),
    ):
        client.get("ns", "NAME")
    assert len(server.received) == 3


def test_retries_can_be_turned_off() -> None:
    with (
        ScriptedServer(error(503, "unavailable")) as server,
        SecretStoreClient(server.url, "t", retry=RetryPolicy(retries=0)) as client,
        pytest.raises(Unavailable),
    ):
        client.delete("ns", "NAME")
    assert len(server.received) == 1


def test_a_plain_put_is_not_retried_since_it_may_have_been_written() -> None:
    with (
        ScriptedServer(error(503, "unavailable"), PUT_ANSWER) as server,
        SecretStoreClient(server.url, "t", retry=FAST) as client,
        pytest.raises(Unavailable),
    ):
        client.put("ns", "NAME", "v")
    assert len(server.received) == 1


def test_a_put_with_a_precondition_is_retried_and_sends_it() -> None:
    with ScriptedServer(error(503, "unavailable"), PUT_ANSWER) as server:
        with SecretStoreClient(server.url, "t", retry=FAST) as client:
            client.put("ns", "NAME", "v", if_version=3)
            client.put("ns", "NAME", "v", if_absent=True)
    first, retried, absent = server.received
    assert first.headers["If-Match"] == retried.headers["If-Match"] == '"3"'
    assert absent.headers["If-None-Match"] == "*"
    assert first.method == "PUT" and first.path == "/api/v1/secrets/ns/NAME"


def test_a_delete_is_retried_on_429_after_retry_after() -> None:
    answers = [
        Answer(429, {"code": "rate_limited", "message": "m"}, {"Retry-After": "1"}),
        Answer(200, {"removed": True, "purged": False, "restorable_until": None}),
    ]
    with (
        ScriptedServer(*answers) as server,
        SecretStoreClient(server.url, "t", retry=FAST) as client,
    ):
        started = time.monotonic()
        assert client.delete("ns", "NAME").removed
    assert time.monotonic() - started >= 1
    assert len(server.received) == 2


def test_a_retry_after_longer_than_allowed_is_raised_at_once() -> None:
    slow_down = Answer(429, {"code": "rate_limited", "message": "m"}, {"Retry-After": "120"})
    with (
        ScriptedServer(slow_down) as server,
        SecretStoreClient(server.url, "t", retry=FAST) as client,
        pytest.raises(RateLimited) as raised,
    ):
        client.get("ns", "NAME")
    assert raised.value.retry_after == 120
    assert len(server.received) == 1


def test_a_proxys_503_page_is_unavailable_and_retried() -> None:
    answers = [Answer(503, raw=b"<html>down</html>"), Answer(200, secret_body("ns", "NAME"))]
    with (
        ScriptedServer(*answers) as server,
        SecretStoreClient(server.url, "t", retry=FAST) as client,
    ):
        assert client.get("ns", "NAME").value == "v"


def test_an_unreachable_service_is_unreachable_after_the_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with SecretStoreClient(url, "t", retry=FAST) as client, pytest.raises(Unreachable) as raised:
        client.get("ns", "NAME")
    assert raised.value.code == "unreachable" and raised.value.status is None
    assert url in raised.value.message


def test_a_refused_connection_is_retried_even_for_a_plain_put() -> None:
    """The request never left: sending it again cannot write twice."""
    port = free_port()
    started: list[ScriptedServer] = []
    # Bound only after the delay: until then the port refuses connections.
    threading.Timer(
        0.3, lambda: started.append(ScriptedServer(PUT_ANSWER, port=port).__enter__())
    ).start()
    patient = RetryPolicy(retries=8, backoff=0.1, max_backoff=0.2)
    try:
        with SecretStoreClient(f"http://127.0.0.1:{port}", "t", retry=patient) as client:
            assert client.put("ns", "NAME", "v").name == "NAME"
    finally:
        for server in started:
            server.__exit__()
    assert len(started[0].received) == 1


async def test_the_async_client_retries_the_same_way() -> None:
    answers = [error(503, "unavailable"), Answer(200, secret_body("ns", "NAME"))]
    with ScriptedServer(*answers) as server:
        async with AsyncSecretStoreClient(server.url, "t", retry=FAST) as client:
            assert (await client.get("ns", "NAME")).value == "v"
        assert len(server.received) == 2
        async with AsyncSecretStoreClient(server.url, "t", retry=FAST) as client:
            server.answers = [error(503, "unavailable"), PUT_ANSWER]
            with pytest.raises(Unavailable):
                await client.put("ns", "NAME", "v")
