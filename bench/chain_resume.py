"""How soon a chain resumes after its worker is SIGKILLed: seconds, over N kills.

The Procfile's own `worker` and `scheduler` lines run as subprocesses, with
every chain setting at its shipped default; nobody calls the API. Each round:

  1. the seeded rows are put back under key version 1 (keys 1 and 2 configured);
  2. the bench starts a rotation (`worker.chains.start_chain`, as the API does)
     and waits until 2,000 rows are rewrapped;
  3. it SIGKILLs the worker's process group (a machine losing power, as Redis
     and PostgreSQL see it) and at once starts a new worker, as a platform
     restarts a dead process;
  4. it times the first batch of the resumed chain, from the `rotation batch`
     line in the new worker's log (its timestamp, UTC), against the kill and
     against the new worker's "ready" line;
  5. it waits for the rotation to finish and checks that every row was
     rotated exactly once (one `rotated` event per row, none twice).

The new worker is the one killed in the next round. The scheduler runs
throughout, as in a deployment.

Run:  .venv/bin/python bench/chain_resume.py [--kills N] [--rows N]
Target: median < 10 s and maximum < 30 s from the kill to the first batch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench import _common as c
from bench.rotation import KEK1, KEK2, reset, seed
from core.keys import define_keys

DB_NAME = "secretstore_bench_chain_resume"
UNDER_WAY = 2_000


def procfile_command(name: str) -> list[str]:
    """The Procfile's line ``name``, its program taken from this virtualenv."""
    for line in (c.ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            words = shlex.split(line.split(":", 1)[1])
            program = Path(c.PYTHON).parent / words[0]
            return [str(program if program.exists() else words[0]), *words[1:]]
    raise SystemExit(f"the Procfile has no {name} line")


def records(log: Path) -> list[dict[str, object]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


def first_batch_at(log: Path) -> float | None:
    for record in records(log):
        if record.get("event") == "rotation batch":
            return datetime.fromisoformat(str(record["timestamp"])).timestamp()
    return None


def is_ready(log: Path) -> bool:
    return b"ready for action" in log.read_bytes()  # dramatiq's start-up line


async def start_worker(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], float]:
    """A worker from the Procfile; returns it once ready, with the wall-clock time it was."""
    worker = c.spawn(procfile_command("worker"), env, log=log)
    deadline = time.monotonic() + 60
    while not is_ready(log):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start; see {log}")
        await asyncio.sleep(0.02)
    return worker, time.time()


async def rotated(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT count(*) AS events, count(DISTINCT secret_id) AS secrets"
        " FROM audit_events WHERE type = 'rotated'"
    )
    return int(row["events"]), int(row["secrets"])


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    args = ap.parse_args()
    print(f"machine: {c.machine()}")
    url = await c.create_database(DB_NAME)
    prefix = f"bench{os.getpid()}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SECRET_STORE_")},
        "DATABASE_URL": url,
        "REDIS_URL": c.REDIS_URL,
        "SECRET_STORE_KEYS": define_keys({1: KEK1, 2: KEK2}),
        "SECRET_STORE_REDIS_PREFIX": prefix,
        # The watchdog would start a rotation of the seeded rows on its own, racing
        # the bench's start; what is measured, resuming a dead chain, stays on.
        "SECRET_STORE_WATCHDOG_SECONDS": "0",
    }
    os.environ.update(env)  # the bench starts chains through the same broker settings
    from worker.chains import chain_state, start_chain

    results: list[dict[str, float]] = []
    try:
        print(f"seeding {args.rows:,} rows under key version 1 ...", flush=True)
        print(f"  seeded in {await seed(url, args.rows):.1f} s")
        c.OUT.mkdir(parents=True, exist_ok=True)
        c.spawn(procfile_command("scheduler"), env, log=c.OUT / "chain-resume-scheduler.log")
        worker, _ = await start_worker(env, c.OUT / "chain-resume-worker-0.log")
        conn = await asyncpg.connect(url)
        for kill in range(1, args.kills + 1):
            c.wait_until(lambda: chain_state("rotation") == "idle", timeout=60)
            await reset(url)
            if not start_chain("rotation", actor="bench"):
                raise SystemExit("a rotation was already running")
            while (await rotated(conn))[0] < UNDER_WAY:
                if worker.poll() is not None:
                    raise SystemExit("the worker died before the kill")
                await asyncio.sleep(0.01)
            os.killpg(worker.pid, signal.SIGKILL)
            killed_at = time.time()
            worker.wait()
            log = c.OUT / f"chain-resume-worker-{kill}.log"
            log.write_bytes(b"")
            worker, ready_at = await start_worker(env, log)
            deadline = time.monotonic() + 120
            while (first := first_batch_at(log)) is None:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the chain did not resume within 120 s; see {log}")
                await asyncio.sleep(0.05)
            while chain_state("rotation") != "idle" or (await rotated(conn))[0] < args.rows:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the resumed chain did not finish; see {log}")
                await asyncio.sleep(0.1)
            events, secrets = await rotated(conn)
            if (events, secrets) != (args.rows, args.rows):
                raise SystemExit(f"rotated {events} events for {secrets} of {args.rows} rows")
            result = {
                "kill_to_first_batch_s": first - killed_at,
                "ready_to_first_batch_s": first - ready_at,
                "kill_to_ready_s": ready_at - killed_at,
            }
            results.append(result)
            print(
                f"kill {kill:2d}: first batch of the resumed chain"
                f" {result['kill_to_first_batch_s']:5.1f} s after the kill"
                f" ({result['ready_to_first_batch_s']:4.1f} s after the new worker was ready,"
                f" {result['kill_to_ready_s']:.1f} s to start it);"
                f" {events:,} rows rotated once each",
                flush=True,
            )
        await conn.close()
        for name in ("kill_to_first_batch_s", "ready_to_first_batch_s"):
            values = [r[name] for r in results]
            print(
                f"{name}: median {statistics.median(values):.1f} s, max {max(values):.1f} s,"
                f" min {min(values):.1f} s over {len(values)} kills"
            )
        (c.OUT / "chain-resume.json").write_text(json.dumps(results, indent=2))
    finally:
        c.stop_all()
        c.delete_redis_keys(prefix)
        if not args.keep:
            await c.drop_database(DB_NAME)


if __name__ == "__main__":
    asyncio.run(main())
