"""The dashboard's session settings: a required secret, and two lifetimes."""

from __future__ import annotations

import pytest

from core.errors import SecretStoreError
from core.settings import Settings

SECRET = "a-session-secret-of-enough-length-0123"


def test_the_session_secret_is_required_outside_the_embedded_default() -> None:
    for environ in ({}, {"SECRET_STORE_SESSION_SECRET": ""}):
        settings = Settings(environ)
        with pytest.raises(SecretStoreError) as caught:
            settings.session
        assert caught.value.code == "invalid_argument"
        assert "SECRET_STORE_SESSION_SECRET" in caught.value.message
        with pytest.raises(SecretStoreError):
            settings.check()
    # The other sections do not need it: a worker never reads it.
    assert Settings({}).web.port == 8000


def test_a_short_session_secret_is_refused_even_in_the_embedded_default() -> None:
    settings = Settings({"SECRET_STORE_SESSION_SECRET": "short", "SECRET_STORE_EMBEDDED": "1"})
    with pytest.raises(SecretStoreError) as caught:
        settings.session
    assert "SECRET_STORE_SESSION_SECRET" in caught.value.message
    assert "short" not in caught.value.message


def test_the_embedded_default_may_run_without_one() -> None:
    assert Settings({"SECRET_STORE_EMBEDDED": "1"}).session.secret is None


@pytest.mark.parametrize(
    "variable", ["SECRET_STORE_SESSION_IDLE_SECONDS", "SECRET_STORE_SESSION_LIFETIME_SECONDS"]
)
@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_lifetime_names_its_variable(variable: str, value: str) -> None:
    settings = Settings({"SECRET_STORE_SESSION_SECRET": SECRET, variable: value})
    with pytest.raises(SecretStoreError) as caught:
        settings.session
    assert variable in caught.value.message


def test_lifetimes_are_read_and_the_secret_stays_out_of_the_repr() -> None:
    session = Settings(
        {
            "SECRET_STORE_SESSION_SECRET": SECRET,
            "SECRET_STORE_SESSION_IDLE_SECONDS": "600",
            "SECRET_STORE_SESSION_LIFETIME_SECONDS": "3600",
        }
    ).session
    assert (session.secret, session.idle_seconds, session.lifetime_seconds) == (SECRET, 600, 3600)
    assert SECRET not in repr(session)
