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

from secretstore_client import SecretStoreClient

from tests.cli.support import clean_env
from tests.client.support import ADMIN_TOKEN, ROOT, free_port

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


def test_put_prints_the_version_it_wrote(service: str, ns: str) -> None:
    first = secretstore("secrets", "put", ns, "V", url=service, stdin=b"one")
    second = secretstore("secrets", "put", ns, "V", url=service, stdin=b"two")
    assert (first.returncode, first.stdout) == (0, f"created {ns}/V v1\n".encode())
    assert (second.returncode, second.stdout) == (0, f"updated {ns}/V v2\n".encode())


def test_put_if_version_writes_over_that_version_only(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    client.put(ns, "V", "one")
    client.put(ns, "V", "two")

    stale = secretstore("secrets", "put", ns, "V", "--if-version", "1", url=service, stdin=b"x")
    assert stale.returncode == 1 and stale.stdout == b""
    assert stale.stderr.decode().startswith("error: conflict:")
    assert client.get(ns, "V").value == "two"

    fresh = secretstore("secrets", "put", ns, "V", "--if-version", "2", url=service, stdin=b"x")
    assert (fresh.returncode, fresh.stdout) == (0, f"updated {ns}/V v3\n".encode())


def test_put_if_absent_writes_only_a_new_secret(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    first = secretstore("secrets", "put", ns, "ONCE", "--if-absent", url=service, stdin=b"a")
    assert (first.returncode, first.stdout) == (0, f"created {ns}/ONCE v1\n".encode())

    again = secretstore("secrets", "put", ns, "ONCE", "--if-absent", url=service, stdin=b"b")
    assert again.returncode == 1 and again.stderr.decode().startswith("error: conflict:")
    assert client.get(ns, "ONCE").value == "a"


def test_get_version_prints_that_versions_value(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    client.put(ns, "V", "one")
    client.put(ns, "V", "two")
    assert secretstore("secrets", "get", ns, "V", "--version", "1", url=service).stdout == b"one\n"
    missing = secretstore("secrets", "get", ns, "V", "--version", "5", url=service)
    assert missing.returncode == 1 and missing.stderr.decode().startswith("error: not_found:")


def test_history_prints_the_versions_newest_first(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    for value in ("do-not-show-1", "do-not-show-2", "do-not-show-3"):
        client.put(ns, "V", value)

    history = secretstore("secrets", "history", ns, "V", url=service)

    assert history.returncode == 0, history.stderr
    rows = [line.split("\t") for line in history.stdout.decode().splitlines()]
    assert [row[0] for row in rows] == ["v3", "v2", "v1"]
    assert all(row[1].endswith("Z") for row in rows)
    assert rows[0][-1] == "current" and "current" not in rows[1] + rows[2]
    assert b"do-not-show" not in history.stdout

    as_json = json.loads(secretstore("secrets", "history", ns, "V", "--json", url=service).stdout)
    assert [item["version"] for item in as_json["items"]] == [3, 2, 1]
    assert as_json["items"][0]["current"] is True and as_json["next_cursor"] is None

    missing = secretstore("secrets", "history", ns, "NEVER", url=service)
    assert missing.returncode == 1 and missing.stderr.decode().startswith("error: not_found:")


def test_rollback_writes_a_new_version_with_the_old_value(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    client.put(ns, "V", "one")
    client.put(ns, "V", "two")

    rolled = secretstore("secrets", "rollback", ns, "V", "1", url=service)

    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout == f"rolled back {ns}/V to v1 (new version v3)\n".encode()
    assert (client.get(ns, "V").value, client.get(ns, "V").version) == ("one", 3)
    missing = secretstore("secrets", "rollback", ns, "V", "7", url=service)
    assert missing.returncode == 1 and missing.stderr.decode().startswith("error: not_found:")


def test_rm_is_soft_and_restore_brings_the_secret_back(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    client.put(ns, "V", "one")
    client.put(ns, "V", "two")

    removed = secretstore("secrets", "rm", ns, "V", url=service)
    assert removed.returncode == 0
    assert removed.stdout.decode().startswith(f"deleted {ns}/V (restorable until ")
    restored = secretstore("secrets", "restore", ns, "V", url=service)

    assert (restored.returncode, restored.stdout) == (0, f"restored {ns}/V v2\n".encode())
    assert client.get(ns, "V").value == "two"
    active = secretstore("secrets", "restore", ns, "V", url=service)
    assert active.returncode == 1 and active.stderr.decode().startswith("error: conflict:")


def test_list_deleted_prints_only_the_deleted_secrets(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    client.put(ns, "KEPT", "v")
    client.put(ns, "GONE", "v")
    client.put(ns, "GONE", "v2")
    client.delete(ns, "GONE")

    listed = secretstore("secrets", "list", ns, "--deleted", url=service)

    assert listed.returncode == 0, listed.stderr
    [row] = [line.split("\t") for line in listed.stdout.decode().splitlines()]
    assert row[:3] == ["GONE", "deleted", "2"] and row[3].endswith("Z") and row[4] == "-"
    as_json = json.loads(
        secretstore("secrets", "list", ns, "--deleted", "--json", url=service).stdout
    )
    [item] = as_json["items"]
    assert item["state"] == "deleted"
    assert item["deleted_at"].endswith("Z") and item["restorable_until"].endswith("Z")
    [kept] = json.loads(secretstore("secrets", "list", ns, "--json", url=service).stdout)["items"]
    assert kept["name"] == "KEPT" and "deleted_at" not in kept


def test_rm_purge_destroys_the_secret_past_restoring(
    service: str, ns: str, client: SecretStoreClient
) -> None:
    client.put(ns, "V", "one")

    purged = secretstore("secrets", "rm", ns, "V", "--purge", url=service)

    assert (purged.returncode, purged.stdout) == (0, f"purged {ns}/V\n".encode())
    assert secretstore("secrets", "list", ns, "--deleted", url=service).stdout == b""
    gone = secretstore("secrets", "restore", ns, "V", url=service)
    assert gone.returncode == 1 and gone.stderr.decode().startswith("error: not_found:")


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
