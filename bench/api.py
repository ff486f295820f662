"""API throughput and latency: GET and PUT of a secret over HTTP against a bare-app floor.

wrk (outside the server processes, 32 connections unless --connections says
otherwise, --latency, bench/wrk.lua) drives uvicorn servers started with the
same flags and worker count:

  bare   bench/bare_app.py: the API's paths answering a constant JSON, no
         middleware, no auth, no database (the floor)
  real   web.app:create_app, the shipped app, on a freshly migrated database
         holding 256 secrets of 100 bytes, with
           - a scoped token made by core.tokens.TokenService (read, write on
             namespace "bench"): the realistic path, and
           - the bootstrap admin token (SECRET_STORE_ADMIN_TOKEN), which is
             checked without a database query.
  bare+1q  the bare GET plus the real GET's one SELECT (a reference only)

Each measurement gets a warm-up run first; rounds alternate the servers, and
the figures are medians over the rounds. Ratios are against the bare floor.
Besides req/s and latency it reports CPU per request (the server's process
tree, the PostgreSQL backends) and PostgreSQL transactions per request, from
pg_stat_database: a query outside a transaction counts as one, so a GET's
figure below 1 is its reads sharing queries (core.coalesce).
Target: real GET throughput >= 0.5 x bare GET.

Run:  .venv/bin/python bench/api.py [--quick] [--rounds N] [--duration S]
                                     [--workers N] [--connections N]
                                     [--only WORDS] [--profile]
  --variants also GET through the shipped app with its read path, its token
             cache, or its read coalescing turned off (bench/_app_variants.py)
  --profile  also py-spy the real server during extra (unmeasured) GET and PUT runs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from bench import _common as c
from core.keys import define_keys

DB_NAME = "secretstore_bench_api"
NAMES = 256
VALUE = "v" * 100
LUA = Path(__file__).resolve().parent / "wrk.lua"
PREFIX = "/api/v1/secrets/bench"


async def prepare(env: dict[str, str]) -> str:
    """Seed the secrets through the store; return a scoped token's text."""
    os.environ.update(env)
    from core.db import close_pool, configure_database, open_pool
    from core.runtime import build_runtime

    runtime = build_runtime()
    configure_database(env["DATABASE_URL"])
    await open_pool(min_size=1, max_size=4)
    try:
        created = await runtime.tokens.create("bench", ["bench"], ["read", "write"])
        for i in range(NAMES):
            await runtime.store.put("bench", f"SECRET_{i}", VALUE, metadata={"owner": "bench"})
        return created.token
    finally:
        await close_pool()


def serve(
    app: str, env: dict[str, str], workers: int, name: str
) -> tuple[int, subprocess.Popen[bytes]]:
    """Start uvicorn with the Procfile's flags; return (port, process)."""
    port = c.free_port()
    args = [
        str(Path(c.PYTHON).parent / "uvicorn"),
        "--factory",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]
    proc = c.spawn(args, env, log=c.OUT / f"api-{name}.log")
    c.wait_port(port, proc=proc)
    return port, proc


def check(port: int, method: str, path: str, token: str) -> int:
    body = json.dumps({"value": VALUE}).encode() if method == "PUT" else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = json.loads(resp.read())
        if method == "GET" and path.startswith("/api") and answer.get("value") != VALUE:
            raise SystemExit(f"GET {path} answered {answer}")
        return int(resp.status)


def _psql(sql: str) -> str:
    """One query's output on the bench's PostgreSQL server, unaligned, no headers."""
    return subprocess.run(
        ["psql", c.SERVER_URL, "-tAc", sql], capture_output=True, text=True, check=True
    ).stdout


def db_backends() -> list[int]:
    """PIDs of the PostgreSQL backends serving the bench database (same machine)."""
    out = _psql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{DB_NAME}'")
    return [int(pid) for pid in out.split()]


def db_commits() -> int:
    """Transactions committed so far in the bench database (each query outside one is one)."""
    return int(_psql(f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{DB_NAME}'"))


def cpu_seconds(server: int, backends: list[int]) -> tuple[float, float]:
    """User+system CPU seconds so far of the server's process tree, and of the backends."""

    def total(procs: list[psutil.Process]) -> float:
        sum_ = 0.0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                sum_ += t.user + t.system
        return sum_

    root = psutil.Process(server)
    app = total([root, *root.children(recursive=True)])
    db = total([psutil.Process(pid) for pid in backends if psutil.pid_exists(pid)])
    return app, db


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(
    port: int, method: str, path: str, token: str, seconds: float, *, threads: int, connections: int
) -> dict[str, Any]:
    """One wrk run: requests, req/s, p50 and p99 in ms, and the count of non-2xx answers."""
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_PATH": path,
        "BENCH_TOKEN": token,
        "BENCH_NAMES": str(NAMES),
        "BENCH_VALUE": VALUE,
    }
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds:g}s",
            "--latency",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def ms(text: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
        return float(number) * _UNIT[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out)[1]),  # type: ignore[index]
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        "p50": ms(lat["50"]),
        "p99": ms(lat["99"]),
        "bad": int(bad[1]) if bad else 0,
        "errors": errors[1] if errors else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 s runs, one round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn --workers for both apps")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument(
        "--connections", type=int, default=32, help="wrk -c (the target is stated at 32)"
    )
    ap.add_argument(
        "--variants",
        action="store_true",
        help="also GET with the read path, the token cache or read coalescing off"
        " (bench/_app_variants.py)",
    )
    ap.add_argument("--profile", action="store_true")
    ap.add_argument(
        "--only",
        default="",
        help="run only the cases whose label holds one of these '|'-separated words"
        " (e.g. 'scoped|bare+1'); each method keeps its bare floor",
    )
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    print(f"machine: {c.machine()}")
    print(
        f"uvicorn --workers {args.workers}, wrk -t{args.wrk_threads} -c{args.connections}"
        f" -d{args.duration:g}s,"
        f" {args.rounds} round(s)"
    )
    load = functools.partial(wrk, threads=args.wrk_threads, connections=args.connections)
    url = asyncio.run(c.create_database(DB_NAME))
    admin = "bench-admin-" + os.urandom(16).hex()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": c.REDIS_URL,
        "SECRET_STORE_KEYS": define_keys({1: os.urandom(32)}),
        "SECRET_STORE_ADMIN_TOKEN": admin,
        "SECRET_STORE_SESSION_SECRET": os.urandom(32).hex(),
        "SECRET_STORE_REDIS_PREFIX": f"bench{os.getpid()}",
    }
    try:
        token = asyncio.run(prepare(env))
        bare, real = "bench.bare_app:create_app", "web.app:create_app"
        cases = [  # (label, app, method, path, token)
            ("bare GET", bare, "GET", PREFIX, ""),
            ("real GET, scoped token", real, "GET", PREFIX, token),
            ("real GET, bootstrap admin", real, "GET", PREFIX, admin),
            ("bare+1 query GET", bare, "GET", "/db/secrets/bench", ""),
            ("bare PUT", bare, "PUT", PREFIX, ""),
            ("real PUT, scoped token", real, "PUT", PREFIX, token),
            ("real PUT, bootstrap admin", real, "PUT", PREFIX, admin),
        ]
        if args.variants:
            for variant in ("routed", "uncached", "uncoalesced"):
                app = f"bench._app_variants:{variant}"
                cases.insert(3, (f"variant {variant} GET", app, "GET", PREFIX, token))
        if args.only:
            words = [w.strip() for w in args.only.split("|") if w.strip()]
            chosen = [case for case in cases if any(w in case[0] for w in words)]
            floors = {"bare " + case[2] for case in chosen}  # each method keeps its floor
            cases = [case for case in cases if case in chosen or case[0] in floors]
        results: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in cases}
        for round_ in range(args.rounds):
            for label, app, method, path, tok in cases:
                # One server at a time: every app's pool may grow to 20 connections.
                commits = db_commits()
                port, proc = serve(app, env, args.workers, label.split()[0])
                status = check(port, method, f"{path}/SECRET_0", tok)
                warm = load(port, method, path, tok, 2)
                pids = db_backends()
                before = cpu_seconds(proc.pid, pids)
                r = load(port, method, path, tok, args.duration)
                after = cpu_seconds(proc.pid, pids)
                requests = r["rps"] * args.duration
                r["app_us"] = (after[0] - before[0]) / requests * 1e6
                r["db_us"] = (after[1] - before[1]) / requests * 1e6
                c.stop(proc)
                # Counted over both runs: a backend reports its commits when it exits.
                c.wait_until(lambda: not db_backends(), timeout=10)
                r["db_tx"] = (db_commits() - commits) / (1 + warm["requests"] + r["requests"])
                results[label].append(r)
                print(
                    f"  round {round_ + 1} {label} (check {status}): {r['rps']:,.0f} req/s,"
                    f" p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms; CPU per request:"
                    f" server {r['app_us']:.0f} us, PostgreSQL {r['db_us']:.0f} us;"
                    f" {r['db_tx']:.2f} PostgreSQL transactions per request"
                    + (f", {r['bad']} non-2xx" if r["bad"] else "")
                    + (f", socket errors {r['errors']}" if r["errors"] else ""),
                    flush=True,
                )
        report(results, args)
        if args.profile:
            port, proc = serve(real, env, args.workers, "real")
            for method in ("GET", "PUT"):
                out = c.OUT / f"api-{method.lower()}.prof.txt"
                prof = c.start_profile(proc.pid, out, args.duration)
                if prof is not None:
                    load(port, method, PREFIX, token, args.duration)
                    prof.wait()
                    print(f"\nreal {method} (scoped token) profile, py-spy, unmeasured run:")
                    print(c.summarize_profile(out))
    finally:
        c.stop_all()
        asyncio.run(c.drop_database(DB_NAME))


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    metrics = ("rps", "p50", "p99", "app_us", "db_us", "db_tx")
    med = {k: {m: statistics.median(r[m] for r in v) for m in metrics} for k, v in results.items()}
    print(
        f"\nmedians over {args.rounds} round(s); ratios against the bare endpoint of the same"
        " method (throughput: higher is better; latency: x times the floor's)"
    )
    print(
        f"  {'':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  {'req/s ratio':>11}"
        f" {'p50 x':>6} {'p99 x':>6}  {'CPU us/req: app':>15} {'x':>5} {'db':>5}"
        f"  {'db tx/req':>9}"
    )
    for label, m in med.items():
        base = med["bare GET" if "GET" in label else "bare PUT"]
        print(
            f"  {label:28} {m['rps']:9,.0f} {m['p50']:8.2f} {m['p99']:8.2f}"
            f"  {c.ratio(m['rps'], base['rps']):>11} {c.ratio(m['p50'], base['p50']):>6}"
            f" {c.ratio(m['p99'], base['p99']):>6}  {m['app_us']:15.0f}"
            f" {c.ratio(m['app_us'], base['app_us']):>5} {m['db_us']:5.0f}  {m['db_tx']:9.2f}"
        )
    bad = sum(r["bad"] for v in results.values() for r in v)
    if bad:
        print(f"  WARNING: {bad} non-2xx answers in the measured runs")
    if "real GET, scoped token" not in med:
        return
    got = med["real GET, scoped token"]["rps"] / med["bare GET"]["rps"]
    print(
        f"target: real GET (scoped token) >= 0.50 x bare GET: {got:.2f} -> "
        f"{'met' if got >= 0.5 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
