"""Rotation cost per row: our DEK rewrap against re-encrypting every value with MultiFernet.

What a team would otherwise do to rotate a key is re-encrypt each value:
cryptography's ``MultiFernet([new, old]).rotate(token)``. Our envelope rotation
(core.crypto.rewrap) only unwraps and rewraps the row's 32-byte DEK, whatever
the value's size. For values of 100 B, 1 KiB and 64 KiB this times, in this
process, N operations of each (N calibrated so each run takes ~1.5 s):

  fernet   MultiFernet.rotate of a Fernet token (AES-128-CBC + HMAC-SHA256)
  reseal   our own AES-GCM, re-encrypting the value: open_sealed + seal
  rewrap   core.crypto.rewrap (the product)
  floor    two AES-256-GCM calls on 32 bytes with prebuilt cipher objects:
           the least any DEK rewrap can cost

and prints the speed-up of rewrap over fernet and reseal, and rewrap / floor.

With --db it also rotates R rows per size in PostgreSQL both ways (batches of
100, one UPDATE ... FROM unnest per batch) and reports rows/s and the bytes each
rotated row adds to the table (pg_total_relation_size growth, TOAST included).

Run:  .venv/bin/python bench/rewrap_vs_fernet.py [--quick] [--db]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asyncpg import Connection, Record
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import _common as c
from core.crypto import Location, dek_aad, open_sealed, rewrap, seal

SIZES = (100, 1024, 65536)
ROWS = 64  # distinct rows cycled through
KEK1, KEK2 = os.urandom(32), os.urandom(32)
DB_NAME = "secretstore_bench_fernet"


def timed(op: Callable[[int], object], target_s: float) -> float:
    """Seconds per operation: calibrate N for ~target_s, then time N calls."""
    n, spent = 1, 0.0
    while spent < target_s / 10:
        n *= 2
        t0 = time.perf_counter()
        for i in range(n):
            op(i)
        spent = time.perf_counter() - t0
    n = max(1, int(n * target_s / spent))
    t0 = time.perf_counter()
    for i in range(n):
        op(i)
    return (time.perf_counter() - t0) / n


def value_of(size: int) -> str:
    return ("0123456789abcdef" * (size // 16 + 1))[:size]


def cpu(target_s: float) -> None:
    old, new = Fernet(Fernet.generate_key()), Fernet(Fernet.generate_key())
    multi = MultiFernet([new, old])
    places = [
        Location.of_version(f"ns-{i % 4}", f"SECRET_{i}", uuid.uuid4(), 1) for i in range(ROWS)
    ]
    print(f"\nin-process CPU, ~{target_s:g} s per measurement, us per row (lower is better)")
    print(
        f"  {'value':>7} {'fernet':>9} {'reseal':>9} {'rewrap':>9} {'floor':>9}"
        f"  {'rewrap vs fernet':>16} {'vs reseal':>9} {'rewrap/floor':>12}"
    )
    for size in SIZES:
        t = per_size(size, multi, old, places, target_s)
        print(
            f"  {size:>7} {t['fernet']:9.2f} {t['reseal']:9.2f} {t['rewrap']:9.2f}"
            f" {t['floor']:9.2f}  {t['fernet'] / t['rewrap']:15.1f}x"
            f" {t['reseal'] / t['rewrap']:8.1f}x {t['rewrap'] / t['floor']:12.2f}"
        )


def per_size(
    size: int, multi: MultiFernet, old: Fernet, places: list[Location], target_s: float
) -> dict[str, float]:
    """Microseconds per row of each way, for values of ``size`` bytes."""
    value = value_of(size)
    tokens = [old.encrypt(value.encode()) for _ in range(ROWS)]
    sealed = [seal(value, location=where, kek=KEK1, key_version=1) for where in places]
    aads = [(dek_aad(where, 1), dek_aad(where, 2)) for where in places]
    old_gcm, new_gcm = AESGCM(KEK1), AESGCM(KEK2)

    def fernet(i: int) -> object:
        return multi.rotate(tokens[i % ROWS])

    def reseal(i: int) -> object:
        where = places[i % ROWS]
        plain = open_sealed(sealed[i % ROWS], location=where, kek=KEK1)
        return seal(plain, location=where, kek=KEK2, key_version=2)

    def ours(i: int) -> object:
        s = sealed[i % ROWS]
        return rewrap(
            wrapped_dek=s.wrapped_dek,
            dek_nonce=s.dek_nonce,
            location=places[i % ROWS],
            old_kek=KEK1,
            old_version=1,
            new_kek=KEK2,
            new_version=2,
        )

    def floor(i: int) -> object:
        s, (a1, a2) = sealed[i % ROWS], aads[i % ROWS]
        dek = old_gcm.decrypt(s.dek_nonce, s.wrapped_dek, a1)
        return new_gcm.encrypt(os.urandom(12), dek, a2)

    return {
        name: timed(fn, target_s) * 1e6
        for name, fn in (("fernet", fernet), ("reseal", reseal), ("rewrap", ours), ("floor", floor))
    }


async def db(quick: bool) -> None:
    import asyncpg

    url = await c.create_database(DB_NAME)
    conn = await asyncpg.connect(url)
    old, new = Fernet(Fernet.generate_key()), Fernet(Fernet.generate_key())
    multi = MultiFernet([new, old])
    print("\nDB-inclusive: rotate R rows in PostgreSQL, batches of 100 (rows/s: higher is better)")
    print(
        f"  {'value':>7} {'rows':>6} {'fernet rows/s':>13} {'rewrap rows/s':>13} {'speed-up':>8}"
        f" {'fernet B/row':>12} {'rewrap B/row':>12}"
    )
    try:
        for size in SIZES:
            rows = (200 if size > 4096 else 2000) if quick else (1000 if size > 4096 else 10000)
            value = value_of(size)
            await conn.execute(
                "DROP TABLE IF EXISTS f; CREATE TABLE f (id int PRIMARY KEY, token bytea);"
                "DROP TABLE IF EXISTS e; CREATE TABLE e (id int PRIMARY KEY, ns text, name text,"
                " sid uuid, ciphertext bytea, value_nonce bytea, wrapped_dek bytea,"
                " dek_nonce bytea, key_version int)"
            )
            await conn.copy_records_to_table(
                "f", records=[(i, old.encrypt(value.encode())) for i in range(rows)]
            )
            recs = []
            for i in range(rows):
                sid = uuid.uuid4()
                where = Location.of_version("ns", f"S{i}", sid, 1)
                s = seal(value, location=where, kek=KEK1, key_version=1)
                sealed = (s.ciphertext, s.value_nonce, s.wrapped_dek, s.dek_nonce)
                recs.append((i, "ns", f"S{i}", sid, *sealed, 1))
            await conn.copy_records_to_table("e", records=recs)
            for statement in ("VACUUM ANALYZE f", "VACUUM ANALYZE e", "CHECKPOINT"):
                await conn.execute(statement)
            f_rate, f_bytes = await rotate_table(conn, "f", rows, lambda r: fernet_row(multi, r))
            e_rate, e_bytes = await rotate_table(conn, "e", rows, envelope_row)
            print(
                f"  {size:>7} {rows:>6} {f_rate:13,.0f} {e_rate:13,.0f} {e_rate / f_rate:7.1f}x"
                f" {f_bytes:12,.0f} {e_bytes:12,.0f}"
            )
    finally:
        await conn.close()
        await c.drop_database(DB_NAME)


def fernet_row(multi: MultiFernet, r: Record) -> tuple[Any, ...]:
    return (r["id"], multi.rotate(r["token"]))


def envelope_row(r: Record) -> tuple[Any, ...]:
    w, n = rewrap(
        wrapped_dek=r["wrapped_dek"],
        dek_nonce=r["dek_nonce"],
        location=Location.of_version(r["ns"], r["name"], r["sid"], 1),
        old_kek=KEK1,
        old_version=1,
        new_kek=KEK2,
        new_version=2,
    )
    return (r["id"], w, n)


async def rotate_table(
    conn: Connection, table: str, rows: int, fn: Callable[[Record], tuple[Any, ...]]
) -> tuple[float, float]:
    """Rotate every row of ``table`` in batches of 100; (rows/s, bytes added per row)."""
    size0 = await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
    t0 = time.perf_counter()
    for start in range(0, rows, 100):
        async with conn.transaction():
            if table == "f":
                got = await conn.fetch(
                    "SELECT id, token FROM f WHERE id >= $1 AND id < $2 FOR UPDATE",
                    start,
                    start + 100,
                )
                new = [fn(r) for r in got]
                await conn.execute(
                    "UPDATE f SET token = u.t FROM unnest($1::int[], $2::bytea[])"
                    " AS u(id, t) WHERE f.id = u.id",
                    [x[0] for x in new],
                    [x[1] for x in new],
                )
            else:
                got = await conn.fetch(
                    "SELECT id, ns, name, sid, wrapped_dek, dek_nonce FROM e"
                    " WHERE id >= $1 AND id < $2 FOR UPDATE",
                    start,
                    start + 100,
                )
                new = [fn(r) for r in got]
                await conn.execute(
                    "UPDATE e SET wrapped_dek = u.w, dek_nonce = u.n,"
                    " key_version = 2 FROM unnest($1::int[], $2::bytea[],"
                    " $3::bytea[]) AS u(id, w, n) WHERE e.id = u.id",
                    [x[0] for x in new],
                    [x[1] for x in new],
                    [x[2] for x in new],
                )
    seconds = time.perf_counter() - t0
    size1 = await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
    return rows / seconds, (size1 - size0) / rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="~0.3 s per measurement, fewer DB rows")
    ap.add_argument("--db", action="store_true", help="also the DB-inclusive comparison")
    args = ap.parse_args()
    print(f"machine: {c.machine()}")
    cpu(0.3 if args.quick else 1.5)
    if args.db:
        asyncio.run(db(args.quick))


if __name__ == "__main__":
    main()
