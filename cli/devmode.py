"""``secretstore dev``: the whole service on one machine with no configuration.

The default path: PostgreSQL and Redis from the pip wheels under the data
directory (or the ones DATABASE_URL / REDIS_URL name), the Piccolo migrations,
then the Procfile's ``web``, ``worker`` and ``scheduler`` lines run by honcho's
process manager with a development key and an admin token kept in the data
directory. It is the production code path; only the services are managed here.

Stopping: honcho starts each Procfile line in a session of its own, so a
terminal's Ctrl-C reaches only this process; honcho then sends SIGTERM to each
child's whole process group (SIGKILL after 5 s), and when they are all gone the
embedded servers are stopped. SIGTERM to this process does the same.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
import typer
from honcho.environ import parse_procfile
from honcho.manager import SYSTEM_PRINTER_NAME, Manager
from honcho.printer import Message

from cli.database import ROOT, run_migrations
from cli.devdata import (
    DevKeys,
    DevToken,
    dev_admin_token,
    dev_keys,
    dev_session_secret,
    write_env_file,
)
from cli.embedded import (
    prepare_data_dir,
    start_embedded,
    start_embedded_postgres,
    start_embedded_redis,
)
from cli.output import fail, redact_url
from core.settings import (
    DATABASE_URL_VAR,
    EMBEDDED_VAR,
    KEYS_FILE_VAR,
    PORT_VAR,
    REDIS_URL_VAR,
    SESSION_SECRET_VAR,
    Settings,
)

PROCESSES = ("web", "worker", "scheduler")
DATABASE_NAME = "secretstore"

WARNING = """\
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  DEVELOPMENT MODE: for trying and developing, NOT for production.        !!
!!  The key that encrypts every secret lives next to the data it protects,  !!
!!  and the servers, key and admin token are managed by this one command.   !!
!!  In production run the Procfile against your own PostgreSQL and Redis    !!
!!  with SECRET_STORE_KEYS from a secret manager (see the README).          !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"""


@dataclass(frozen=True)
class Services:
    database_url: str
    redis_url: str
    database_source: str
    redis_source: str
    stop: Callable[[], None]
    # the names of the servers started here, which stop() stops
    embedded: tuple[str, ...]


def run_dev(data_dir: Path, port: int) -> int:
    """Run the embedded default until interrupted; returns the exit status."""
    # The children would refuse a bad setting one by one; refuse it here, once,
    # before anything is written. The children run embedded (process_env), where
    # a missing session secret is made below rather than refused.
    settings = Settings({**os.environ, PORT_VAR: str(port), EMBEDDED_VAR: "1"})
    settings.check()
    data_dir = prepare_data_dir(data_dir)
    keys = dev_keys(data_dir, os.environ)
    token = dev_admin_token(data_dir, os.environ)
    session_secret = dev_session_secret(data_dir, os.environ)
    commands = procfile_commands(ROOT / "Procfile")
    ensure_port_free(port)

    typer.echo(WARNING)
    typer.echo(f"data directory: {data_dir}")
    typer.echo(f"keys:           {keys.source} (versions {_versions(keys)})")
    # Until honcho installs its own handlers, SIGTERM unwinds like Ctrl-C so
    # that servers already started are stopped again.
    signal.signal(signal.SIGTERM, _interrupt)
    services = start_services(data_dir, settings)
    try:
        typer.echo(f"PostgreSQL:     {services.database_source}")
        typer.echo(f"Redis:          {services.redis_source}")
        migrated = run_migrations(services.database_url, capture=True)
        if migrated.returncode != 0:
            typer.echo(migrated.stdout + migrated.stderr, err=True)
            fail("the database migrations failed")
        typer.echo("migrations:     applied")
        env = process_env(os.environ, settings, services, keys, token, data_dir, session_secret)
        shared = {DATABASE_URL_VAR: services.database_url, REDIS_URL_VAR: services.redis_url}
        if keys.generated_file is not None:
            shared[KEYS_FILE_VAR] = str(keys.generated_file)
        env_file = write_env_file(data_dir, shared)
        return run_processes(commands, env, banner(port, token, env_file))
    finally:
        # A second Ctrl-C must not cut the servers' shutdown short; pg_ctl and
        # the Redis stop have time limits of their own.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if services.embedded:
            typer.echo(f"stopping the embedded {' and '.join(services.embedded)}")
        services.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _versions(keys: DevKeys) -> str:
    versions = ", ".join(str(v) for v in keys.ring.versions)
    return f"{versions}; active {keys.ring.active_version}"


def procfile_commands(path: Path) -> dict[str, str]:
    try:
        procfile = parse_procfile(path.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"cannot read the Procfile {path}: {error.strerror}")
    missing = [name for name in PROCESSES if name not in procfile.processes]
    if missing:
        fail(f"the Procfile {path} has no {', '.join(missing)} line")
    return {name: procfile.processes[name] for name in PROCESSES}


def ensure_port_free(port: int) -> None:
    # The Procfile's web line binds every interface; check the same, with the
    # SO_REUSEADDR uvicorn sets, so a port in TIME_WAIT is not reported busy.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - a probe, closed at once
        except OSError:
            fail(f"port {port} is in use; choose another with --port")


def start_services(data_dir: Path, settings: Settings) -> Services:
    """The services DATABASE_URL and REDIS_URL name, and embedded ones for those unset."""
    database_url = settings.database_url or ""
    redis_url = settings.redis_url or ""
    if not database_url and not redis_url:
        embedded = start_embedded(data_dir, database=DATABASE_NAME)
        return Services(
            embedded.database_url,
            embedded.redis_url,
            f"embedded, data in {data_dir / 'postgres'}",
            "embedded, nothing persisted",
            embedded.stop,
            ("Redis", "PostgreSQL"),
        )
    stops: list[Callable[[], None]] = []
    names: list[str] = []
    database_source = f"DATABASE_URL ({redact_url(database_url)})"
    redis_source = f"REDIS_URL ({redact_url(redis_url)})"
    try:
        if not database_url:
            database_url, stop = start_embedded_postgres(data_dir, DATABASE_NAME)
            stops.append(stop)
            names.append("PostgreSQL")
            database_source = f"embedded, data in {data_dir / 'postgres'}"
        if not redis_url:
            redis_url, stop = start_embedded_redis(data_dir)
            stops.append(stop)
            names.append("Redis")
            redis_source = "embedded, nothing persisted"
    except BaseException:
        _stop_all(stops)
        raise
    return Services(
        database_url,
        redis_url,
        database_source,
        redis_source,
        lambda: _stop_all(stops),
        tuple(reversed(names)),
    )


def _stop_all(stops: list[Callable[[], None]]) -> None:
    # Redis before PostgreSQL, as EmbeddedServices.stop does; each one is tried.
    errors: list[BaseException] = []
    for stop in reversed(stops):
        try:
            stop()
        except Exception as error:
            errors.append(error)
    if errors:
        raise errors[0]


def process_env(
    environ: Mapping[str, str],
    settings: Settings,
    services: Services,
    keys: DevKeys,
    token: DevToken,
    data_dir: Path,
    session_secret: str,
) -> dict[str, str]:
    """The children's environment: this one's, with the services, key, token and port of dev."""
    env = dict(environ)
    env.update(keys.env)
    env[SESSION_SECRET_VAR] = session_secret
    env.update(
        DATABASE_URL=services.database_url,
        REDIS_URL=services.redis_url,
        SECRET_STORE_ADMIN_TOKEN=token.token,
        SECRET_STORE_EMBEDDED="1",  # noqa: S106 - a flag, not a credential
        SECRET_STORE_DATA_DIR=str(data_dir),
        PORT=str(settings.web.port),
        # The development mode answers on this machine only, unless told otherwise.
        HOST=settings.dev.host,
        # Children write to honcho's pipe; unbuffered, their lines arrive as written.
        PYTHONUNBUFFERED="1",
    )
    # The Procfile names uvicorn, dramatiq and python: the ones installed beside
    # this interpreter, even when its virtualenv is not activated.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")]).rstrip(os.pathsep)
    return env


def banner(port: int, token: DevToken, env_file: Path) -> str:
    base = f"http://127.0.0.1:{port}"
    shown = "(the value of SECRET_STORE_ADMIN_TOKEN)" if token.from_environment else token.token
    return "\n".join(
        [
            "secretstore dev is ready. NOT FOR PRODUCTION: development key, local data.",
            f"  dashboard:    {base}/",
            f"  API:          {base}/api/v1  (Authorization: Bearer <admin token>)",
            f"  admin token:  {shown}",
            f"                {token.source}",
            f"  CLI:          set -a; . {env_file}; set +a; secretstore status",
            "  stop:         Ctrl-C",
        ]
    )


def run_processes(commands: Mapping[str, str], env: dict[str, str], ready_banner: str) -> int:
    """Run the Procfile commands under honcho until one stops or we are interrupted."""
    manager = Manager()
    for name in PROCESSES:
        manager.add_process(name, commands[name], env=env, cwd=str(ROOT))
    done = threading.Event()
    watcher = threading.Thread(
        target=_announce_when_ready,
        args=(manager, f"http://127.0.0.1:{env[PORT_VAR]}/api/v1/health", ready_banner, done),
        name="ready-watcher",
        daemon=True,
    )
    watcher.start()
    try:
        manager.loop()
    finally:
        done.set()
    return manager.returncode if manager.returncode is not None else 0


def _announce_when_ready(
    manager: Manager, health_url: str, text: str, done: threading.Event
) -> None:
    # Through honcho's event queue, so the banner is printed by the same loop as
    # the children's lines and never lands in the middle of one.
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while not done.wait(0.25):
            try:
                if client.get(health_url).status_code == 200:
                    break
            except httpx.HTTPError:
                continue
        else:
            return
    manager.events.put(
        Message(
            type="line",
            data=text + "\n",
            time=datetime.datetime.now(),
            name=SYSTEM_PRINTER_NAME,
            colour=None,
        )
    )
