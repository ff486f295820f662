"""Each API error code raises its own class, with ``.code`` and ``.status``.

The codes the real service can be made to answer are provoked there; the
others (a broken key ring, a database down) come from a scripted server, so
that every class of the table is checked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from secretstore_client import (
    ConfigurationError,
    Conflict,
    DecryptionFailed,
    Expired,
    Forbidden,
    InvalidArgument,
    InvalidKeys,
    KeyUnavailable,
    NotFound,
    RateLimited,
    RetryPolicy,
    SecretStoreClient,
    SecretStoreError,
    Unauthorized,
    Unavailable,
    ValueTooLarge,
)

from tests.client.support import Answer, ScriptedServer, error, web_process

NO_RETRY = RetryPolicy(retries=0)


def test_a_malformed_namespace_is_invalid_argument(client: SecretStoreClient) -> None:
    with pytest.raises(InvalidArgument) as raised:
        client.get("not a namespace", "NAME")
    assert (raised.value.code, raised.value.status) == ("invalid_argument", 400)
    assert "namespace" in raised.value.message


def test_an_unknown_token_is_unauthorized(service: str, ns: str) -> None:
    with (
        SecretStoreClient(service, "sst_not-a-token", retry=NO_RETRY) as stranger,
        pytest.raises(Unauthorized) as raised,
    ):
        stranger.get(ns, "NAME")
    assert (raised.value.code, raised.value.status) == ("unauthorized", 401)


def test_a_token_without_the_capability_is_forbidden(client: SecretStoreClient, ns: str) -> None:
    reader = client.create_token("reader", [ns], ["read"])
    with (
        SecretStoreClient(client.url, reader.token) as limited,
        pytest.raises(Forbidden) as raised,
    ):
        limited.put(ns, "NAME", "v")
    assert (raised.value.code, raised.value.status) == ("forbidden", 403)


def test_a_missing_secret_is_not_found(client: SecretStoreClient, ns: str) -> None:
    with pytest.raises(NotFound) as raised:
        client.get(ns, "MISSING")
    assert (raised.value.code, raised.value.status) == ("not_found", 404)
    assert isinstance(raised.value, SecretStoreError)


def test_an_expired_secret_is_expired(client: SecretStoreClient, ns: str) -> None:
    client.put(ns, "SHORT", "v", ttl_ms=1)
    time.sleep(0.01)
    with pytest.raises(Expired) as raised:
        client.get(ns, "SHORT")
    assert (raised.value.code, raised.value.status) == ("expired", 410)


def test_a_value_over_64_kib_is_value_too_large(client: SecretStoreClient, ns: str) -> None:
    with pytest.raises(ValueTooLarge) as raised:
        client.put(ns, "BIG", "x" * 65_537)
    assert (raised.value.code, raised.value.status) == ("value_too_large", 413)


@pytest.fixture(scope="module")
def own_service(database_url: str, redis_url: str) -> Iterator[str]:
    """A web process of this module's own: its failed-login limit is spent here only."""
    with web_process(database_url, redis_url, "web-ratelimit") as base_url:
        yield base_url


def test_repeated_failed_logins_are_rate_limited_with_retry_after(own_service: str) -> None:
    with SecretStoreClient(own_service, "sst_wrong", retry=NO_RETRY) as stranger:
        for _ in range(10):
            with pytest.raises(Unauthorized):
                stranger.get("default", "NAME")
        with pytest.raises(RateLimited) as raised:
            stranger.get("default", "NAME")
    assert (raised.value.code, raised.value.status) == ("rate_limited", 429)
    assert raised.value.retry_after is not None and raised.value.retry_after >= 1


@pytest.mark.parametrize(
    ("answer", "cls"),
    [
        (error(400, "invalid_argument"), InvalidArgument),
        (error(401, "unauthorized"), Unauthorized),
        (error(403, "forbidden"), Forbidden),
        (error(404, "not_found"), NotFound),
        (error(409, "conflict", current_version=7), Conflict),
        (error(410, "expired"), Expired),
        (error(409, "key_unavailable"), KeyUnavailable),
        (error(413, "value_too_large"), ValueTooLarge),
        (error(429, "rate_limited"), RateLimited),
        (error(500, "decryption_failed"), DecryptionFailed),
        (error(503, "invalid_keys"), InvalidKeys),
        (error(503, "unavailable"), Unavailable),
    ],
)
def test_every_error_code_has_its_own_class(answer: Answer, cls: type[SecretStoreError]) -> None:
    with (
        ScriptedServer(answer) as server,
        SecretStoreClient(server.url, "t", retry=NO_RETRY) as client,
        pytest.raises(cls) as raised,
    ):
        client.get("ns", "NAME")
    assert type(raised.value) is cls
    assert (raised.value.code, raised.value.status) == (answer.body["code"], answer.status)
    assert raised.value.message == answer.body["message"]


def test_a_conflict_carries_the_current_version() -> None:
    answers = [error(409, "conflict", current_version=7), error(409, "conflict")]
    for answer, expected in zip(answers, [7, None], strict=True):
        with (
            ScriptedServer(answer) as server,
            SecretStoreClient(server.url, "t") as client,
            pytest.raises(Conflict) as raised,
        ):
            client.put("ns", "NAME", "v", if_version=3)
        assert raised.value.current_version == expected


def test_an_unknown_code_is_a_secret_store_error_with_that_code() -> None:
    with (
        ScriptedServer(Answer(500, {"code": "internal_error", "message": "boom"})) as server,
        SecretStoreClient(server.url, "t") as client,
        pytest.raises(SecretStoreError) as raised,
    ):
        client.get("ns", "NAME")
    assert type(raised.value) is SecretStoreError
    assert (raised.value.code, raised.value.status) == ("internal_error", 500)


def test_an_answer_from_something_else_names_its_status() -> None:
    proxy_page = Answer(502, raw=b"<html>Bad Gateway</html>")
    with (
        ScriptedServer(proxy_page) as server,
        SecretStoreClient(server.url, "t") as client,
        pytest.raises(SecretStoreError) as raised,
    ):
        client.get("ns", "NAME")
    assert (raised.value.code, raised.value.status) == ("http_502", 502)


def test_a_success_that_is_not_our_json_is_an_invalid_answer() -> None:
    with (
        ScriptedServer(Answer(200, raw=b"<html>welcome</html>")) as server,
        SecretStoreClient(server.url, "t") as client,
        pytest.raises(SecretStoreError) as raised,
    ):
        client.get("ns", "NAME")
    assert raised.value.code == "invalid_answer"


def test_without_a_token_the_client_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_STORE_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_STORE_TOKEN"):
        SecretStoreClient("http://127.0.0.1:1")


def test_url_and_token_come_from_the_environment(
    service: str, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.client.support import ADMIN_TOKEN

    monkeypatch.setenv("SECRET_STORE_URL", service + "/")
    monkeypatch.setenv("SECRET_STORE_TOKEN", ADMIN_TOKEN)
    with SecretStoreClient() as client:
        client.put(ns, "FROM_ENV", "v")
        assert client.get(ns, "FROM_ENV").value == "v"
        assert ADMIN_TOKEN not in repr(client)
