"""The audit sealer's cost: PUT throughput over HTTP with the sealer running vs without.

One shipped app (web.app:create_app, one uvicorn worker) on a freshly migrated
database; wrk PUTs (bench/wrk.lua, 32 connections) with the bootstrap admin
token. Rounds alternate two states of the same deployment:

  without  no worker, no scheduler: events pile up unsealed
  with     `dramatiq worker.actors --processes 1 --threads 2` and the scheduler
           (seal watch every second) running; before the run the backlog of
           the run before is sealed, so the run measures sealing as it keeps up

Besides req/s it samples, every 0.25 s of a "with" run, the age of the oldest
unsealed event (the lag the API reports as ``oldest_unsealed_ms``) and reports
its maximum, and the time from the end of the run until everything is sealed.
At the end it verifies the whole chain through core.audit_verify and reports
how long that took for how many events.
Target: PUT with the sealer >= 0.9 x PUT without; events sealed within 5 s.

Run:  .venv/bin/python bench/sealer.py [--quick] [--rounds N] [--duration S]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import psutil

from bench import _common as c
from bench.api import PREFIX, check, prepare, serve, wrk
from core.keys import define_keys

DB_NAME = "secretstore_bench_sealer"

_LAG = (
    "SELECT count(*) AS unsealed,"
    " coalesce(extract(epoch FROM now() - min(created_at)), 0) AS lag"
    " FROM audit_events WHERE id > coalesce((SELECT last_event_id FROM audit_chain), 0)"
)


async def _lag(url: str) -> tuple[int, float]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(_LAG)
        return int(row["unsealed"]), float(row["lag"])
    finally:
        await conn.close()


class LagSampler(threading.Thread):
    """The oldest unsealed event's age, every 0.25 s, until stopped; keeps the maximum."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.worst = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        async def loop() -> None:
            conn = await asyncpg.connect(self.url)
            try:
                while not self._done.is_set():
                    row = await conn.fetchrow(_LAG)
                    self.worst = max(self.worst, float(row["lag"]))
                    await asyncio.sleep(0.25)
            finally:
                await conn.close()

        asyncio.run(loop())

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.worst


def wait_sealed(url: str, timeout: float) -> float:
    started = time.monotonic()
    while asyncio.run(_lag(url))[0] > 0:
        if time.monotonic() - started > timeout:
            raise SystemExit(f"events still unsealed after {timeout} s: see bench/out/sealer-*.log")
        time.sleep(0.1)
    return time.monotonic() - started


async def settle(url: str) -> None:
    """The same starting point for every run: the overwritten rows vacuumed, a checkpoint done."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM secrets")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def cpu_seconds(*procs: subprocess.Popen[bytes]) -> float:
    total = 0.0
    for proc in procs:
        try:
            root = psutil.Process(proc.pid)
            for p in [root, *root.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total


def wait_chain_idle(prefix: str, timeout: float) -> None:
    import redis

    client = redis.Redis.from_url(c.REDIS_URL)
    try:
        c.wait_until(lambda: not client.exists(f"{prefix}:chain:seal:lease"), timeout)
    finally:
        client.close()


async def verify_all(env: dict[str, str]) -> tuple[int, float, bool]:
    os.environ.update(env)
    from core.audit_verify import verify
    from core.db import close_pool, configure_database, open_pool
    from core.runtime import build_runtime

    runtime = build_runtime()
    configure_database(env["DATABASE_URL"])
    await open_pool(min_size=1, max_size=2)
    try:
        started = time.monotonic()
        report = await verify(runtime.store.keyring(), runtime.store.clock())
        return report.checked, time.monotonic() - started, report.ok
    finally:
        await close_pool()


def run_with_sealer(
    env: dict[str, str], url: str, prefix: str, round_no: int, run: Callable[[], dict[str, Any]]
) -> tuple[float, float, float]:
    """One run with a worker and the scheduler: (req/s, worst lag, drain seconds)."""
    dramatiq = str(Path(c.PYTHON).parent / "dramatiq")
    worker = c.spawn(
        [dramatiq, "worker.actors", "--processes", "1", "--threads", "2"],
        env,
        log=c.OUT / f"sealer-worker-{round_no}.log",
    )
    scheduler = c.spawn(
        [c.PYTHON, "-m", "worker.scheduler"], env, log=c.OUT / f"sealer-scheduler-{round_no}.log"
    )
    worker_log = c.OUT / f"sealer-worker-{round_no}.log"
    c.wait_until(lambda: b"ready for action" in worker_log.read_bytes(), 60)
    backlog = wait_sealed(url, 120)
    asyncio.run(settle(url))
    sampler = LagSampler(url)
    sampler.start()
    cpu_before = cpu_seconds(worker, scheduler)
    result = run()
    cpu = cpu_seconds(worker, scheduler) - cpu_before
    worst = sampler.stop()
    drain = wait_sealed(url, 60)
    print(
        f"round {round_no + 1}: with sealer {result['rps']:,.0f} PUT/s,"
        f" oldest unsealed at most {worst:.2f} s, all sealed {drain:.2f} s after the run"
        f" (backlog of the run before sealed in {backlog:.1f} s);"
        f" worker and scheduler CPU {cpu:.2f} s"
        f" ({cpu / max(result['requests'], 1) * 1e6:.0f} us per event)"
    )
    # Stop between chains: a worker stopped mid-chain leaves its link to be
    # delivered again only once its heartbeat lapses.
    wait_chain_idle(prefix, 30)
    c.stop(scheduler)
    c.stop(worker)
    return result["rps"], worst, drain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 s runs, one round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    print(f"machine: {c.machine()}")
    print(f"wrk -t1 -c{args.connections} -d{args.duration:g}s PUT, {args.rounds} round(s)")
    load = functools.partial(wrk, threads=1, connections=args.connections)
    url = asyncio.run(c.create_database(DB_NAME))
    admin = "bench-admin-" + os.urandom(16).hex()
    prefix = f"bench{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": c.REDIS_URL,
        "SECRET_STORE_KEYS": define_keys({1: os.urandom(32)}),
        "SECRET_STORE_ADMIN_TOKEN": admin,
        "SECRET_STORE_SESSION_SECRET": os.urandom(32).hex(),
        "SECRET_STORE_REDIS_PREFIX": prefix,
        "SECRET_STORE_SEAL_WATCH_SECONDS": "1",
        "SECRET_STORE_WATCHDOG_SECONDS": "0",
    }
    rates: dict[str, list[float]] = {"without": [], "with": []}
    lags: list[float] = []
    drains: list[float] = []
    try:
        asyncio.run(prepare(env))
        port, _server = serve("web.app:create_app", env, 1, "sealer")
        check(port, "PUT", f"{PREFIX}/SECRET_0", admin)
        load(port, "PUT", PREFIX, admin, 2.0)  # warm-up
        for round_no in range(args.rounds):
            # Alternate which state goes first, so a drift in the machine's
            # load does not always favour the same one.
            order = ("without", "with") if round_no % 2 == 0 else ("with", "without")
            for state in order:
                if state == "without":
                    asyncio.run(settle(url))
                    # The same sampling runs in both states, so its cost cancels out.
                    sampler = LagSampler(url)
                    sampler.start()
                    result = load(port, "PUT", PREFIX, admin, args.duration)
                    sampler.stop()
                    rates["without"].append(result["rps"])
                    print(f"round {round_no + 1}: without sealer {result['rps']:,.0f} PUT/s")
                    continue
                rps, worst, drain = run_with_sealer(
                    env,
                    url,
                    prefix,
                    round_no,
                    lambda: load(port, "PUT", PREFIX, admin, args.duration),
                )
                rates["with"].append(rps)
                lags.append(worst)
                drains.append(drain)
        checked, took, ok = asyncio.run(verify_all(env))
    finally:
        c.stop_all()
        c.delete_redis_keys(prefix)
        asyncio.run(c.drop_database(DB_NAME))
    without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
    pairs = [w / wo for w, wo in zip(rates["with"], rates["without"], strict=True)]
    print()
    print(
        "per round, with / without: "
        + ", ".join(f"{r:.2f}" for r in pairs)
        + f"; geometric mean {statistics.geometric_mean(pairs):.2f}"
    )
    print(f"PUT without sealer  {without:>9,.0f} req/s (median)")
    print(f"PUT with sealer     {with_:>9,.0f} req/s (median)   {c.ratio(with_, without)}")
    print(f"sealing lag under load: at most {max(lags):.2f} s; drained {max(drains):.2f} s after")
    print(f"verify: {checked:,} events in {took:.2f} s, ok={ok}")
    print("target: with >= 0.9 x without; lag <= 5 s")


if __name__ == "__main__":
    main()
