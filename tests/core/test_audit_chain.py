"""The audit chain: sealing in commit order, and tampering caught at the right seq."""

from __future__ import annotations

import asyncio

import pytest

from core.audit_chain import seal_batch
from core.audit_verify import verify
from core.db import DB, fetch, transaction
from core.store import SecretStore
from tests.core.conftest import FakeClock, MutableKeys
from tests.keys import KEY_1, KEY_2

pytestmark = pytest.mark.usefixtures("empty_audit_log")

NS = "acme"
DAY_MS = 24 * 3600 * 1000


async def _events(store: SecretStore, count: int) -> None:
    for i in range(count):
        await store.put(NS, f"k{i}", "v")


async def _seal_all(store: SecretStore, clock: FakeClock) -> None:
    while not (await seal_batch(store.keyring(), clock(), limit=1000)).is_done:
        pass


async def _seq_event(seq: int) -> int:
    rows = await fetch("SELECT event_id FROM audit_seals WHERE seq = $1", seq)
    return int(rows[0]["event_id"])


async def test_sealing_numbers_events_one_by_one_and_verifies(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 5)
    before = await verify(store.keyring(), clock())
    assert (before.ok, before.checked, before.unsealed) == (True, 0, 5)
    assert before.oldest_unsealed_ms == 0

    await _seal_all(store, clock)

    report = await verify(store.keyring(), clock())
    assert (report.ok, report.checked, report.first_seq, report.last_seq) == (True, 5, 1, 5)
    assert (report.unsealed, report.oldest_unsealed_ms, report.problem) == (0, None, None)
    events = (await store.list_events(order="asc")).items
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]


async def test_an_event_is_never_sealed_twice(store: SecretStore, clock: FakeClock) -> None:
    await _events(store, 3)
    await _seal_all(store, clock)
    await _seal_all(store, clock)
    await _events(store, 2)
    await _seal_all(store, clock)
    rows = await fetch("SELECT count(*) AS n, max(seq) AS top FROM audit_seals")
    assert (rows[0]["n"], rows[0]["top"]) == (5, 5)
    assert (await verify(store.keyring(), clock())).ok


async def test_a_batch_rolled_back_half_way_seals_nothing_and_the_next_seals_all(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 4)

    class Killed(Exception):
        pass

    # The batch's transaction joins this one, which then dies like a killed worker.
    with pytest.raises(Killed):
        async with transaction():
            await seal_batch(store.keyring(), clock(), limit=2)
            assert (await fetch("SELECT count(*) AS n FROM audit_seals"))[0]["n"] == 2
            raise Killed
    assert (await fetch("SELECT count(*) AS n FROM audit_seals"))[0]["n"] == 0

    await _seal_all(store, clock)
    report = await verify(store.keyring(), clock())
    assert (report.ok, report.checked, report.last_seq) == (True, 4, 4)


async def test_a_transaction_in_flight_holds_sealing_back_until_it_commits(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 1)
    assert DB.pool is not None
    async with DB.pool.acquire() as other:
        open_transaction = other.transaction()
        await open_transaction.start()
        # Draws an id below the next event's and keeps it uncommitted.
        await other.execute(
            "INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail,"
            " created_at) VALUES (gen_random_uuid(), 'acme', 'late', 'created', NULL,"
            " '{}'::jsonb, now())"
        )
        await _events(store, 1)
        held = await seal_batch(store.keyring(), clock(), wait_s=0.05)
        assert (held.sealed, held.is_done) == (0, False)
        await open_transaction.commit()
    await _seal_all(store, clock)
    sealed = await fetch(
        "SELECT e.name FROM audit_seals s JOIN audit_events e ON e.id = s.event_id ORDER BY s.seq"
    )
    assert [r["name"] for r in sealed] == ["k0", "late", "k0"]
    assert (await verify(store.keyring(), clock())).ok


async def test_writes_committed_concurrently_all_seal_in_one_sequence(
    store: SecretStore, clock: FakeClock
) -> None:
    async def writer(index: int) -> None:
        for i in range(15):
            await store.put(NS, f"w{index}-{i}", "v")

    async def sealer() -> None:
        for _ in range(30):
            await seal_batch(store.keyring(), clock(), limit=7)
            await asyncio.sleep(0.002)

    await asyncio.gather(*(writer(i) for i in range(4)), sealer())
    await _seal_all(store, clock)
    report = await verify(store.keyring(), clock())
    assert (report.ok, report.checked, report.unsealed) == (True, 60, 0)


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("UPDATE audit_events SET actor = 'someone else' WHERE id = $1", "changed"),
        ("UPDATE audit_events SET detail = '{\"version\": 9}' WHERE id = $1", "changed"),
        (
            "UPDATE audit_events SET created_at = created_at - interval '1 day' WHERE id = $1",
            "changed",
        ),
        ("DELETE FROM audit_events WHERE id = $1", "missing"),
    ],
)
async def test_a_changed_or_deleted_event_is_caught_at_its_seq(
    store: SecretStore, clock: FakeClock, statement: str, kind: str
) -> None:
    await _events(store, 6)
    await _seal_all(store, clock)
    await fetch(statement, await _seq_event(4))

    report = await verify(store.keyring(), clock())

    assert not report.ok
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (4, kind)
    assert report.checked == 3


async def test_a_deleted_seal_is_caught_as_a_missing_seq(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 6)
    await _seal_all(store, clock)
    await fetch("DELETE FROM audit_events WHERE id = $1", await _seq_event(3))
    await fetch("DELETE FROM audit_seals WHERE seq = 3")

    problem = (await verify(store.keyring(), clock())).problem

    assert problem is not None and (problem.seq, problem.kind) == (3, "missing")


async def test_deleting_the_newest_events_is_caught(store: SecretStore, clock: FakeClock) -> None:
    await _events(store, 6)
    await _seal_all(store, clock)
    await fetch(
        "DELETE FROM audit_events WHERE id IN (SELECT event_id FROM audit_seals WHERE seq >= 5)"
    )
    await fetch("DELETE FROM audit_seals WHERE seq >= 5")

    problem = (await verify(store.keyring(), clock())).problem

    assert problem is not None and (problem.seq, problem.kind) == (5, "missing")


async def test_an_event_inserted_among_sealed_ones_is_caught_where_it_sits(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 3)
    # An id drawn and never used (a rolled-back write leaves one like it).
    gap = (await fetch("SELECT nextval(pg_get_serial_sequence('audit_events', 'id')) AS id"))[0]
    await _events(store, 3)
    await _seal_all(store, clock)
    await fetch(
        "INSERT INTO audit_events (id, secret_id, namespace, name, type, actor, detail,"
        " created_at) VALUES ($1, gen_random_uuid(), 'acme', 'forged', 'deleted', NULL,"
        " '{}'::jsonb, now())",
        gap["id"],
    )

    problem = (await verify(store.keyring(), clock())).problem

    assert problem is not None and (problem.seq, problem.kind) == (4, "inserted")


async def test_an_unsealed_event_with_an_old_id_is_caught_as_inserted(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 6)
    await _seal_all(store, clock)
    first, third = await _seq_event(1), await _seq_event(3)
    # Ids are drawn one at a time here, so seq n holds id first + n - 1 and
    # no id is free between them: free one by moving the event at seq 1 away.
    assert third == first + 2
    await fetch(
        "INSERT INTO audit_events (id, secret_id, namespace, name, type, actor, detail,"
        " created_at) VALUES ($1, gen_random_uuid(), 'acme', 'forged', 'deleted', NULL,"
        " '{}'::jsonb, now())",
        first - 1,
    )

    problem = (await verify(store.keyring(), clock())).problem

    assert problem is not None and (problem.seq, problem.kind) == (1, "inserted")


async def test_a_forged_seal_beyond_the_head_is_caught(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 3)
    await _seal_all(store, clock)
    await _events(store, 1)
    last = (await fetch("SELECT max(id) AS id FROM audit_events"))[0]["id"]
    await fetch(
        "INSERT INTO audit_seals (event_id, seq, link, key_version)"
        " VALUES ($1, 4, '\\x00'::bytea, 1)",
        last,
    )

    problem = (await verify(store.keyring(), clock())).problem

    assert problem is not None and (problem.seq, problem.kind) == (4, "inserted")


async def test_two_swapped_events_are_caught_at_the_first(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 6)
    await _seal_all(store, clock)
    a, b = await _seq_event(2), await _seq_event(5)
    await fetch(
        "UPDATE audit_events AS e SET secret_id = o.secret_id, namespace = o.namespace,"
        " name = o.name, type = o.type, actor = o.actor, detail = o.detail,"
        " created_at = o.created_at FROM audit_events AS o"
        " WHERE (e.id, o.id) IN (($1::bigint, $2::bigint), ($2::bigint, $1::bigint))",
        a,
        b,
    )

    problem = (await verify(store.keyring(), clock())).problem

    assert problem is not None and (problem.seq, problem.kind) == (2, "changed")


async def test_two_swapped_seqs_are_caught_at_the_first(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 6)
    await _seal_all(store, clock)
    await fetch("UPDATE audit_seals SET seq = -seq WHERE seq IN (2, 5)")
    await fetch("UPDATE audit_seals SET seq = CASE seq WHEN -2 THEN 5 ELSE 2 END WHERE seq < 0")

    problem = (await verify(store.keyring(), clock())).problem

    assert problem is not None and (problem.seq, problem.kind) == (2, "changed")


async def test_a_head_moved_back_is_caught(store: SecretStore, clock: FakeClock) -> None:
    await _events(store, 4)
    await _seal_all(store, clock)
    third = await fetch("SELECT event_id, link FROM audit_seals WHERE seq = 3")
    await fetch("DELETE FROM audit_events WHERE id = $1", await _seq_event(4))
    await fetch("DELETE FROM audit_seals WHERE seq = 4")
    await fetch(
        "UPDATE audit_chain SET last_seq = 3, last_event_id = $1, last_link = $2",
        third[0]["event_id"],
        third[0]["link"],
    )

    problem = (await verify(store.keyring(), clock())).problem

    assert problem is not None and (problem.seq, problem.kind) == (3, "head")


async def test_cleanup_removes_the_oldest_sealed_events_and_the_rest_verifies(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 3)
    clock.advance(days=200)
    await _events(store, 2)
    await _seal_all(store, clock)
    await _events(store, 1)  # old enough later, but never sealed: kept

    clock.advance(days=170)
    batch = await store.cleanup_events_batch(limit=2)
    assert (batch.deleted, batch.is_done) == (2, False)
    batch = await store.cleanup_events_batch(limit=2)
    assert (batch.deleted, batch.is_done) == (1, True)

    report = await verify(store.keyring(), clock())
    assert (report.ok, report.checked, report.first_seq, report.last_seq) == (True, 2, 4, 5)
    assert report.unsealed == 1
    await _seal_all(store, clock)
    assert (await verify(store.keyring(), clock())).checked == 3


async def test_removing_the_oldest_events_without_the_cleanup_is_caught(
    store: SecretStore, clock: FakeClock
) -> None:
    await _events(store, 5)
    await _seal_all(store, clock)
    await store.cleanup_events_batch(retention_ms=1, limit=1)
    # Cut one more off the oldest end and forge the checkpoint to match.
    second = await fetch("SELECT event_id, link FROM audit_seals WHERE seq = 2")
    await fetch("DELETE FROM audit_events WHERE id = $1", second[0]["event_id"])
    await fetch("DELETE FROM audit_seals WHERE seq = 2")
    plain = await verify(store.keyring(), clock())
    assert plain.problem is not None and (plain.problem.seq, plain.problem.kind) == (2, "missing")

    await fetch(
        "UPDATE audit_chain SET checkpoint_seq = 2, checkpoint_link = $1", second[0]["link"]
    )
    forged = await verify(store.keyring(), clock())
    assert forged.problem is not None
    assert (forged.problem.seq, forged.problem.kind) == (3, "checkpoint")


async def test_links_under_an_older_kek_verify_while_it_stays_configured(
    store: SecretStore, clock: FakeClock, keys: MutableKeys
) -> None:
    await _events(store, 2)
    await _seal_all(store, clock)
    keys.set({1: KEY_1, 2: KEY_2})
    await _events(store, 2)
    await _seal_all(store, clock)
    versions = await fetch("SELECT key_version FROM audit_seals ORDER BY seq")
    assert [r["key_version"] for r in versions] == [1, 1, 2, 2]
    assert (await verify(store.keyring(), clock())).ok

    keys.set({2: KEY_2})
    report = await verify(store.keyring(), clock())
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (1, "key_unavailable")


async def test_a_chain_keyed_by_another_kek_does_not_verify(
    store: SecretStore, clock: FakeClock, keys: MutableKeys
) -> None:
    await _events(store, 2)
    await _seal_all(store, clock)
    keys.set({1: KEY_2})
    problem = (await verify(store.keyring(), clock())).problem
    assert problem is not None and (problem.seq, problem.kind) == (1, "changed")


@pytest.mark.slow
async def test_a_long_chain_verifies_in_pages(store: SecretStore, clock: FakeClock) -> None:
    await fetch(
        "INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail, created_at)"
        " SELECT gen_random_uuid(), 'acme', 'k' || i, 'created', NULL, '{}'::jsonb, now()"
        " FROM generate_series(1, 20000) AS i"
    )
    await _seal_all(store, clock)
    await fetch("UPDATE audit_events SET name = 'x' WHERE id = $1", await _seq_event(19_999))
    report = await verify(store.keyring(), clock(), page=3000)
    assert report.problem is not None and report.problem.seq == 19_999
    assert report.checked == 19_998
