"""What both embedded servers need: the data directory, its lock, socket paths, child processes."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pwd
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

LOCK_TIMEOUT = 120.0
PROCESS_STOP_TIMEOUT = 10.0

# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH = 107
# Fixed rather than tempfile.gettempdir(): $TMPDIR may itself be too long for a
# socket path. Directories made here are 0700 and their ownership is checked.
_SHORT_SOCKET_ROOT = Path("/tmp")  # noqa: S108


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be started or stopped."""


class StopOnce:
    """Makes a stop function idempotent and safe to call from several threads.

    A stop that raised may be retried; one that succeeded is never repeated.
    The lock is re-entrant so that a signal handler calling stop() while the
    main thread is inside it repeats the (harmless) work instead of deadlocking.
    """

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._lock = threading.RLock()
        self._done = False

    def __call__(self) -> None:
        with self._lock:
            if not self._done:
                self._stop()
                self._done = True


def prepare_data_dir(data_dir: Path) -> Path:
    """``data_dir`` made absolute and resolved, created 0700 if missing."""
    # Absolute and resolved: the path is handed to servers that chdir, and it
    # is hashed for socket directories, so one directory must have one name.
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return data_dir


@contextlib.contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Serialise starts and stops on one data directory across processes."""
    with (data_dir / ".embedded.lock").open("a") as lock_file:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EmbeddedServiceError(
                        f"another process kept {data_dir} locked for {LOCK_TIMEOUT:g}s"
                    ) from None
                time.sleep(0.05)
        yield


def socket_dir_for(preferred: Path, socket_name: str, owner: pwd.struct_passwd | None) -> Path:
    """``preferred`` if a socket in it fits in sun_path, else a private dir in /tmp.

    The fallback name hashes ``preferred``, so one data directory always gets
    the same socket directory and different ones never share it.
    """
    if len(os.fsencode(preferred / socket_name)) <= _MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(os.fsencode(preferred)).hexdigest()[:16]
    short = _SHORT_SOCKET_ROOT / f"secretstore-{digest}"
    uid, gid = (owner.pw_uid, owner.pw_gid) if owner is not None else (os.getuid(), os.getgid())
    with contextlib.suppress(FileExistsError):
        short.mkdir(mode=0o700)
    info = short.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (uid, os.getuid()):
        raise EmbeddedServiceError(
            f"{short} exists but is not a directory of ours; remove it and start again"
        )
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(short, uid, gid)
    if stat.S_IMODE(info.st_mode) != 0o700:
        short.chmod(0o700)
    return short


def remove_empty_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()


def is_server_of(pid: int, name: str, directory: Path) -> bool:
    """Whether ``pid`` is a live ``name`` process working in ``directory``.

    Both servers chdir to their data directory, so this tells a leftover server
    from an unrelated process that inherited its pid after a crash or reboot.
    """
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != name:
            return False
        return os.path.samefile(process.cwd(), directory)
    except (psutil.Error, OSError):
        return False


def stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=PROCESS_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def stop_foreign(process: psutil.Process) -> None:
    """Stop a server we did not start (so cannot reap): wait until it is gone or a zombie."""

    def gone() -> bool:
        try:
            return bool(process.status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True

    for send in (process.terminate, process.kill):
        try:
            send()
        except psutil.NoSuchProcess:
            return
        deadline = time.monotonic() + PROCESS_STOP_TIMEOUT
        while time.monotonic() < deadline:
            if gone():
                return
            time.sleep(0.02)
    raise EmbeddedServiceError(f"process {process.pid} did not stop")


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a server's log, for an error message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
