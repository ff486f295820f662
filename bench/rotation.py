"""Key rotation throughput: the real path against a raw-SQL floor, rows per second.

Measures, on freshly seeded tables of N stored versions under key version 1
(keys 1 and 2 then configured; by default one version per secret, --versions K
gives each of N / K secrets K versions), how fast every version row is
rewrapped onto version 2. Rotation works on ``secret_versions``: every kept
version has a DEK of its own.

  floor  asyncpg directly, one transaction per batch of 100, the statements the
         core sends (core/queries/secret_versions.py, core/queries/audit_events.py):
         claim stale version rows joined to their secrets with
         SELECT ... FOR UPDATE OF v SKIP LOCKED, core.crypto.rewrap in Python
         (the AAD bound to secret id and version), one UPDATE ... FROM unnest,
         one INSERT ... FROM unnest of the `rotated` audit events (one per
         secret and key version, each with its own detail).
  real   worker.chains.start_chain("rotation") -> Redis -> a real
         `dramatiq worker.actors --processes 1 --threads 1` subprocess ->
         PostgreSQL, timed until no stale version is left (polled every 0.2 s
         with an indexed EXISTS, then confirmed by store.rotation_status()).

Each run starts from the same seeded rows (copied back from seed tables, then
VACUUM ANALYZE and CHECKPOINT). A round is floor, core loop (store.rotate_batch
in a plain loop in this process: the core without the queue), real; a last
floor closes the run; figures are medians. The worker's resident memory (psutil
RSS of the worker process tree) and CPU time are sampled every second.

Run:  .venv/bin/python bench/rotation.py [--quick] [--rows N] [--rounds N] [--million]
  --quick           10,000 rows, one round, no closing floor
  --versions K      K versions per secret (default 1); rows counts version rows
  --million         1,000,000 rows; worker RSS min/max/last (target: flat, < 150 MB)
  --batch N         rows per batch, for the floor and the worker (default 100)
  --poll-ms N       the worker's SECRET_STORE_BROKER_POLL_MS
  --link-budget-ms  prototype: several batches per link (bench/_multibatch_worker.py)
  --env NAME=VALUE  extra worker environment (repeatable), e.g. SECRET_STORE_LINK_BUDGET_MS=0
  --profile         py-spy the worker during the first real run (pip install py-spy)
Target: real >= 0.7 x floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench import _common as c
from core.crypto import Location, rewrap, seal
from core.keys import KeyRing, define_keys

DB_NAME = "secretstore_bench_rotation"
SECRET_COLUMNS = (
    "id namespace name metadata created_at updated_at expires_at current_version deleted_at"
).split()
VERSION_COLUMNS = (
    "id secret_id version ciphertext value_nonce wrapped_dek dek_nonce key_version"
    " unwrap_failed_kek aad_layout created_at actor"
).split()
KEK1, KEK2 = os.urandom(32), os.urandom(32)
KEYRING = KeyRing({1: KEK1, 2: KEK2})
BATCH = 100  # --batch changes it for the floor and (SECRET_STORE_ROTATION_BATCH) the worker
VERSIONS = 1  # --versions: stored versions per secret


async def seed(url: str, rows: int) -> float:
    """Seal ``rows`` versions of 100 bytes under key version 1 and COPY them into seed tables.

    Each secret gets ``VERSIONS`` versions, sealed for their place (layout 2:
    secret id and version number in the AAD), as every write since versions.
    """
    import uuid

    t0 = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS secrets_seed, secret_versions_seed;"
            " CREATE UNLOGGED TABLE secrets_seed (LIKE secrets);"
            " CREATE UNLOGGED TABLE secret_versions_seed (LIKE secret_versions)"
        )
        now = datetime.now(UTC)
        value = "v" * 100
        secrets = -(-rows // VERSIONS)
        row_id = 0
        for start in range(0, secrets, 20_000):
            secret_records, version_records = [], []
            for i in range(start, min(secrets, start + 20_000)):
                ns, name, secret_id = f"bench-{i % 16}", f"SECRET_{i:07d}", uuid.uuid4()
                kept = min(VERSIONS, rows - i * VERSIONS)
                secret_records.append((secret_id, ns, name, None, now, now, None, kept, None))
                for version in range(1, kept + 1):
                    where = Location.of_version(ns, name, secret_id, version)
                    s = seal(value, location=where, kek=KEK1, key_version=1)
                    sealed = (s.ciphertext, s.value_nonce, s.wrapped_dek, s.dek_nonce)
                    row_id += 1
                    version_records.append(
                        (row_id, secret_id, version, *sealed, 1, None, 2, now, None)
                    )
            await conn.copy_records_to_table(
                "secrets_seed", records=secret_records, columns=SECRET_COLUMNS
            )
            await conn.copy_records_to_table(
                "secret_versions_seed", records=version_records, columns=VERSION_COLUMNS
            )
    finally:
        await conn.close()
    return time.perf_counter() - t0


async def reset(url: str) -> None:
    """Put the seeded rows back as they were, on clean tables, with a checkpoint."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "TRUNCATE secrets, secret_versions, audit_events;"
            " INSERT INTO secrets SELECT * FROM secrets_seed;"
            " INSERT INTO secret_versions SELECT * FROM secret_versions_seed"
        )
        for table in ("secrets", "secret_versions", "audit_events"):
            await conn.execute(f"VACUUM ANALYZE {table}")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


# The core's statements (core/queries/secret_versions.py claim_stale and rewrap,
# core/queries/audit_events.py insert_many), sent the way it sends them.
CLAIM = (
    "SELECT v.id, v.secret_id, v.version, v.aad_layout, v.key_version, v.wrapped_dek,"
    " v.dek_nonce, s.namespace, s.name"
    " FROM secret_versions v JOIN secrets s ON s.id = v.secret_id"
    " WHERE v.key_version = ANY($1::int[]) AND v.unwrap_failed_kek IS DISTINCT FROM"
    " ($2::bytea[])[array_position($1::int[], v.key_version)]"
    " LIMIT $3 FOR UPDATE OF v SKIP LOCKED"
)
UPDATE = (
    "UPDATE secret_versions AS v SET wrapped_dek = r.wrapped_dek, dek_nonce = r.dek_nonce,"
    " key_version = $4, unwrap_failed_kek = NULL"
    " FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])"
    " AS r(id, wrapped_dek, dek_nonce) WHERE v.id = r.id"
)
AUDIT = (
    "INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail, created_at)"
    " SELECT e.secret_id, e.namespace, e.name, $4, $5, e.detail::jsonb, $6"
    " FROM unnest($1::uuid[], $2::text[], $3::text[], $7::text[])"
    " AS e(secret_id, namespace, name, detail)"
)


async def floor(url: str) -> tuple[int, float, float]:
    """The raw-SQL floor, one connection, one transaction per batch: (rows, s, CPU s)."""
    conn = await asyncpg.connect(url)
    detail = json.dumps({"from_version": 1, "to_version": 2})
    stale, stale_ids = [1], [KEYRING.kek_id(1)]
    done = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        while True:
            async with conn.transaction():
                rows = await conn.fetch(CLAIM, stale, stale_ids, BATCH)
                if not rows:
                    break
                ids, wrapped, nonces, events = [], [], [], []
                recorded: set[tuple[object, int]] = set()
                for r in rows:
                    where = Location.stored(
                        r["namespace"], r["name"], r["secret_id"], r["version"], r["aad_layout"]
                    )
                    w, n = rewrap(
                        wrapped_dek=r["wrapped_dek"],
                        dek_nonce=r["dek_nonce"],
                        location=where,
                        old_kek=KEK1,
                        old_version=r["key_version"],
                        new_kek=KEK2,
                        new_version=2,
                    )
                    ids.append(r["id"])
                    wrapped.append(w)
                    nonces.append(n)
                    if (r["secret_id"], r["key_version"]) not in recorded:
                        recorded.add((r["secret_id"], r["key_version"]))
                        events.append((r["secret_id"], r["namespace"], r["name"]))
                await conn.execute(UPDATE, ids, wrapped, nonces, 2)
                await conn.execute(
                    AUDIT,
                    [e[0] for e in events],
                    [e[1] for e in events],
                    [e[2] for e in events],
                    "rotated",
                    None,
                    datetime.now(UTC),
                    [detail] * len(events),
                )
            done += len(rows)
            if len(rows) < BATCH:
                break
        return done, time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await conn.close()


async def core_loop(url: str, env: dict[str, str]) -> tuple[int, float, float]:
    """store.rotate_batch in a plain loop, in this process: the real core, no queue."""
    os.environ.update(env)
    from core.db import configure_database, open_pool
    from core.runtime import build_runtime

    store = build_runtime().store
    configure_database(url)
    await open_pool(min_size=1, max_size=2)
    done = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    while True:
        batch = await store.rotate_batch(BATCH)
        done += batch.rotated
        if batch.is_done:
            return done, time.perf_counter() - t0, time.process_time() - cpu0


async def real(
    url: str, env: dict[str, str], args: argparse.Namespace, profile: bool
) -> dict[str, object]:
    """The real path; returns rows, seconds, RSS samples and the final status."""
    log = c.OUT / "rotation-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    module = "bench._multibatch_worker" if args.link_budget_ms else "worker.actors"
    worker = c.spawn(
        [str(Path(c.PYTHON).parent / "dramatiq"), module, "--processes", "1", "--threads", "1"],
        env,
        log=log,
    )
    deadline = time.monotonic() + 60
    while b"ready for action" not in log.read_bytes():  # dramatiq's start-up line
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start; see {log}")
        await asyncio.sleep(0.2)
    sampler = c.TreeSampler(worker.pid)  # from "ready", through the whole rotation
    sampler.start()
    os.environ.update(env)  # the bench process enqueues through the same broker settings
    from core.db import configure_database, open_pool
    from core.runtime import build_runtime
    from worker import chains

    runtime = build_runtime()
    configure_database(url)
    await open_pool(min_size=1, max_size=2)
    conn = await asyncpg.connect(url)
    profiler = None
    cpu0 = dict(sampler.cpu)
    t0 = time.perf_counter()
    chains.start_chain("rotation")
    if profile:
        profiler = c.start_profile(worker.pid, c.OUT / "rotation-worker.prof.txt", args.profile_s)
    stale = "SELECT EXISTS (SELECT 1 FROM secret_versions WHERE key_version = 1)"
    while await conn.fetchval(stale):
        if worker.poll() is not None:
            raise SystemExit(f"the worker died; see {log}")
        await asyncio.sleep(0.2)
    seconds = time.perf_counter() - t0
    sampler.sample()
    cpu = sum(sampler.cpu.values()) - sum(cpu0.values())
    status = await runtime.store.rotation_status()  # the cheap EXISTS above, confirmed
    rotated = await conn.fetchval("SELECT count(*) FROM secret_versions WHERE key_version = 2")
    if not status.complete or status.stale:
        raise SystemExit(f"rotation did not complete: {status}")
    await conn.close()
    if profiler is not None:
        profiler.wait()
    sampler.halt.set()
    sampler.join()
    c.stop(worker)
    return {
        "rows": rotated,
        "seconds": seconds,
        "rss": sampler.samples,
        "status": status,
        "cpu": cpu,
    }


async def run_floor(url: str, rates: dict[str, list[float]], rows: int) -> None:
    await reset(url)
    n, s, cpu = await floor(url)
    assert n == rows, f"the floor rotated {n} of {rows} rows"
    rates["floor"].append(n / s)
    print(
        f"floor (raw SQL, batch {BATCH}): {n:,} rows in {s:.1f} s = {n / s:,.0f} rows/s;"
        f" client CPU {cpu:.1f} s",
        flush=True,
    )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--million", action="store_true")
    ap.add_argument("--batch", type=int, default=100, help="rows per batch (floor and worker)")
    ap.add_argument("--versions", type=int, default=1, help="stored versions per secret")
    ap.add_argument("--poll-ms", type=int, help="SECRET_STORE_BROKER_POLL_MS for the worker")
    ap.add_argument(
        "--link-budget-ms",
        type=int,
        help="prototype: batches per link for this long (bench/_multibatch_worker.py)",
    )
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the worker, e.g. SECRET_STORE_LINK_BUDGET_MS=0",
    )
    ap.add_argument("--rounds", type=int, default=1, help="floor, core loop, real; N times")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--profile-s", type=float, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    args = ap.parse_args()
    global BATCH, VERSIONS
    BATCH, VERSIONS = args.batch, max(1, args.versions)
    rows = 1_000_000 if args.million else 10_000 if args.quick else args.rows
    print(f"machine: {c.machine()}")
    url = await c.create_database(DB_NAME)
    keys = define_keys({1: KEK1, 2: KEK2})
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": c.REDIS_URL,
        "SECRET_STORE_KEYS": keys,
        "SECRET_STORE_REDIS_PREFIX": f"bench{os.getpid()}",
        "SECRET_STORE_ADMIN_TOKEN": "bench-admin-" + os.urandom(8).hex(),
        "SECRET_STORE_ROTATION_BATCH": str(BATCH),
    }
    if args.link_budget_ms:
        env["BENCH_LINK_BUDGET_MS"] = str(args.link_budget_ms)
    env.update(item.split("=", 1) for item in args.env)
    if args.poll_ms:
        env["SECRET_STORE_BROKER_POLL_MS"] = str(args.poll_ms)
    try:
        secrets = -(-rows // VERSIONS)
        print(
            f"seeding {rows:,} versions ({secrets:,} secrets) under key version 1 ...", flush=True
        )
        print(f"  seeded in {await seed(url, rows):.1f} s")
        rates: dict[str, list[float]] = {"floor": [], "core": [], "real": []}
        rss: list[float] = []
        for round_ in range(args.rounds):
            await run_floor(url, rates, rows)
            await reset(url)
            n, s, cpu = await core_loop(url, env)
            rates["core"].append(n / s)
            print(
                f"core loop (store.rotate_batch, no queue): {n:,} rows in {s:.1f} s ="
                f" {n / s:,.0f} rows/s; client CPU {cpu:.1f} s",
                flush=True,
            )
            await reset(url)
            r = await real(url, env, args, profile=args.profile and round_ == 0)
            rates["real"].append(r["rows"] / r["seconds"])  # type: ignore[operator]
            rss += r["rss"]  # type: ignore[arg-type]
            print(
                f"real (trigger -> Redis -> dramatiq -> PostgreSQL): {r['rows']:,} rows in "
                f"{r['seconds']:.1f} s = {rates['real'][-1]:,.0f} rows/s; worker CPU "
                f"{r['cpu']:.1f} s\n  final status: {r['status']}",
                flush=True,
            )
        if not args.quick:
            await run_floor(url, rates, rows)
        floor_, core, real_ = (statistics.median(rates[k]) for k in ("floor", "core", "real"))
        print(
            f"\nrows: {rows:,} versions of {secrets:,} secrets, batch {BATCH},"
            f" medians over {args.rounds} round(s):"
            f" floor {floor_:,.0f} rows/s, core loop {core:,.0f} rows/s, real {real_:,.0f} rows/s"
        )
        print(
            f"ratio real/floor: {c.ratio(real_, floor_)} (per round: "
            f"{', '.join(c.ratio(r, floor_) for r in rates['real'])}; target >= 0.70: "
            f"{'met' if real_ / floor_ >= 0.7 else 'NOT met'});"
            f" core loop/floor: {c.ratio(core, floor_)}"
        )
        if rss:
            print(
                f"worker RSS (process tree, {len(rss)} samples at 1 s): min {min(rss):.0f} MB,"
                f" max {max(rss):.0f} MB, last {rss[-1]:.0f} MB (target flat, < 150 MB: "
                f"{'met' if max(rss) < 150 else 'NOT met'})"
            )
            steady = rss[10:] or rss
            print(f"  from the 10th second on: min {min(steady):.0f} MB, max {max(steady):.0f} MB")
        if args.profile:
            print("\nworker profile (py-spy):")
            print(c.summarize_profile(c.OUT / "rotation-worker.prof.txt"))
    finally:
        from core.db import close_pool

        await close_pool()
        c.delete_redis_keys(env["SECRET_STORE_REDIS_PREFIX"])
        if not args.keep:
            await c.drop_database(DB_NAME)


if __name__ == "__main__":
    asyncio.run(main())
