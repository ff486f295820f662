"""``secretstore secrets ...`` run as a person runs it, against the real web process.

Exit statuses: 0 success, 1 an error answer (its code on stderr), 2 usage or
configuration, 3 unreachable. A value never appears in any output but ``get``'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from secretstore_client import SecretStoreClient

from tests.cli.support import clean_env
from tests.client.support import ADMIN_TOKEN, ROOT, before_versions, free_port

HOSTILE = "first line\n'single' \"double\" `tick` $HOME ${HOME} \\ # hash  ünï  "


def secretstore(
    *args: str, url: str, token: str | None = ADMIN_TOKEN, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    settings = {"SECRET_STORE_URL": url}
    if token is not None:
        settings["SECRET_STORE_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=clean_env(**settings),
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_put_from_stdin_then_get_prints_the_value_and_nothing_else(service: str, ns: str) -> None:
    put = secretstore("secrets", "put", ns, "DB_URL", url=service, stdin=HOSTILE.encode() + b"\n")
    assert put.returncode == 0, put.stderr
    assert put.stdout.decode().startswith(f"created {ns}/DB_URL")

    got = secretstore("secrets", "get", ns, "DB_URL", url=service)
    assert got.returncode == 0 and got.stderr == b""
    assert got.stdout == HOSTILE.encode() + b"\n"

    again = secretstore("secrets", "put", ns, "DB_URL", url=service, stdin=b"new")
    assert again.stdout.decode().startswith(f"updated {ns}/DB_URL")
    assert secretstore("secrets", "get", ns, "DB_URL", url=service).stdout == b"new\n"


def test_put_drops_only_one_trailing_newline_from_stdin(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    secretstore("secrets", "put", ns, "LINES", url=service, stdin=b"a\n\n")
    assert client.get(ns, "LINES").value == "a\n"


def test_put_from_file_keeps_the_file_exactly(
    service: str, ns: str, client: SecretStoreClient, tmp_path: Path
) -> None:
    path = tmp_path / "cert.pem"
    path.write_bytes(b"-----BEGIN-----\r\nabc\n\n")
    put = secretstore("secrets", "put", ns, "CERT", "--from-file", str(path), url=service)
    assert put.returncode == 0, put.stderr
    assert client.get(ns, "CERT").value == "-----BEGIN-----\r\nabc\n\n"


def test_put_takes_metadata_and_ttl(service: str, ns: str, client: SecretStoreClient) -> None:
    put = secretstore(
        "secrets", "put", ns, "WITH", "--metadata", '{"owner": "db"}', "--ttl-ms", "60000",
        url=service, stdin=b"v",
    )  # fmt: skip
    assert put.returncode == 0, put.stderr
    secret = client.get(ns, "WITH")
    assert secret.metadata == {"owner": "db"} and secret.expires_at is not None


def test_get_json_prints_the_secret_as_json(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    client.put(ns, "J", "value")
    got = secretstore("secrets", "get", ns, "J", "--json", url=service)
    body = json.loads(got.stdout)
    assert (body["namespace"], body["name"], body["value"]) == (ns, "J", "value")
    assert body["updated_at"].endswith("Z")


def test_list_prints_one_line_per_secret_across_pages(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    for index in range(205):
        client.put(ns, f"N{index:03d}", "do-not-show")
    client.put(ns, "EXPIRING", "v", ttl_ms=60_000)

    listed = secretstore("secrets", "list", ns, url=service)

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.decode().splitlines()
    assert len(lines) == 206
    rows = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert rows["N000"][1] == "active" and rows["N000"][4] == "-"
    assert rows["EXPIRING"][4].endswith("Z")
    assert b"do-not-show" not in listed.stdout

    as_json = json.loads(secretstore("secrets", "list", ns, "--json", url=service).stdout)
    assert len(as_json["items"]) == 206 and as_json["next_cursor"] is None


def test_rm_deletes_and_says_when_there_was_nothing(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    client.put(ns, "GONE", "v")
    removed = secretstore("secrets", "rm", ns, "GONE", url=service)
    assert removed.returncode == 0 and removed.stdout.decode().startswith(f"deleted {ns}/GONE")
    again = secretstore("secrets", "rm", ns, "GONE", url=service)
    assert again.returncode == 0 and b"nothing to delete" in again.stdout


def test_no_output_but_gets_holds_the_value(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    value = "sk-live-0123456789"
    outputs = [
        secretstore("secrets", "put", ns, "KEY", url=service, stdin=value.encode()),
        secretstore("secrets", "list", ns, url=service),
        secretstore("secrets", "list", ns, "--json", url=service),
        secretstore("secrets", "rm", ns, "KEY", url=service),
        secretstore(
            "secrets", "put", ns, "KEY", "--if-version", "1", "--if-absent",
            url=service, stdin=value.encode(),
        ),
    ]  # fmt: skip
    for result in outputs:
        assert value.encode() not in result.stdout + result.stderr


def test_a_service_error_exits_1_naming_its_code(service: str, ns: str) -> None:
    missing = secretstore("secrets", "get", ns, "MISSING", url=service)
    assert missing.returncode == 1 and missing.stdout == b""
    assert missing.stderr.decode().startswith("error: not_found:")
    assert len(missing.stderr.decode().splitlines()) == 1

    wrong_token = secretstore("secrets", "get", ns, "X", url=service, token="sst_wrong")
    assert wrong_token.returncode == 1 and b"unauthorized" in wrong_token.stderr

    bad_namespace = secretstore("secrets", "list", "no spaces", url=service)
    assert bad_namespace.returncode == 1 and b"invalid_argument" in bad_namespace.stderr


def test_configuration_and_usage_errors_exit_2(service: str, ns: str, tmp_path: Path) -> None:
    no_token = secretstore("secrets", "get", ns, "X", url=service, token=None)
    assert no_token.returncode == 2 and b"SECRET_STORE_TOKEN" in no_token.stderr
    assert b"Traceback" not in no_token.stderr

    both = secretstore(
        "secrets", "put", ns, "X", "--if-version", "1", "--if-absent", url=service, stdin=b"v"
    )
    assert both.returncode == 2
    bad_metadata = secretstore(
        "secrets", "put", ns, "X", "--metadata", "[1]", url=service, stdin=b"v"
    )
    assert bad_metadata.returncode == 2 and b"JSON object" in bad_metadata.stderr
    missing_file = secretstore(
        "secrets", "put", ns, "X", "--from-file", str(tmp_path / "none"), url=service
    )
    assert missing_file.returncode == 2 and b"cannot read" in missing_file.stderr
    not_text = secretstore("secrets", "put", ns, "X", url=service, stdin=b"\xff\xfe")
    assert not_text.returncode == 2 and b"UTF-8" in not_text.stderr
    assert secretstore("secrets", "get", ns, url=service).returncode == 2


def test_an_unreachable_service_exits_3_with_one_line(ns: str) -> None:
    result = secretstore("secrets", "get", ns, "X", url=f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 3
    assert result.stderr.decode().startswith("error: the secret store at http://127.0.0.1:")
    assert len(result.stderr.decode().splitlines()) == 1


def test_the_token_is_never_printed(service: str, ns: str) -> None:
    results = [
        secretstore("secrets", "get", ns, "MISSING", url=service),
        secretstore("secrets", "put", ns, "X", url=service, stdin=b"v"),
        secretstore("secrets", "get", ns, "X", "--json", url=service),
    ]
    for result in results:
        assert ADMIN_TOKEN.encode() not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["history", "{ns}", "V"], "not_found"),
        (["rollback", "{ns}", "V", "1"], "not_found"),
        (["restore", "{ns}", "V"], "not_found"),
        (["list", "{ns}", "--deleted"], "invalid_argument"),
        (["rm", "{ns}", "V", "--purge"], "invalid_argument"),
        (["get", "{ns}", "V", "--version", "1"], "invalid_argument"),
    ],
)
@before_versions
def test_version_commands_answer_the_services_error_before_versions(
    service: str, ns: str, client: SecretStoreClient, args: list[str], code: str
) -> None:
    """After issue 13 they succeed: history lists v1, rollback writes v2, and so on."""
    client.put(ns, "V", "one")
    result = secretstore("secrets", *(arg.format(ns=ns) for arg in args), url=service)
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"error: {code}:")


def test_secrets_help_lists_every_client_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "secrets", "--help"],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("get", "put", "list", "rm", "restore", "history", "rollback"):
        assert f" {command} " in result.stdout
