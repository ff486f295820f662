"""Background work: key rotation and cleanup as Dramatiq chains, and their scheduler.

Default path::

    dramatiq worker.actors --processes 1 --threads 4    # Procfile "worker"
    python -m worker.scheduler                          # Procfile "scheduler"

and, from the web process, the CLI or a shell::

    from worker.chains import chain_state, is_running, start_chain
    start_chain("rotation", actor=token_id)          # True: started; False: joined
    start_chain("cleanup_secrets", retention_ms=30 * 24 * 3600 * 1000)
    is_running("rotation")                           # the API's "running"
    chain_state("rotation")                          # "running", "resuming", "idle"

A chain is a sequence of messages. Each link runs one core batch
(``rotate_batch``, ``cleanup_secrets_batch``, ``cleanup_events_batch``) in one
database transaction and, only after it commits and only if the batch was not
the last, sends the next link. A lease in Redis, whose token travels in every
link, keeps each kind of chain a singleton (:mod:`worker.lease`). The modules:
:mod:`worker.broker` (the one place the broker is chosen), :mod:`worker.chains`
(starting chains and running links), :mod:`worker.actors` (the three link
actors), :mod:`worker.middleware` (retries, the database pool on the event
loop), :mod:`worker.scheduler` (the cron triggers and the watchdog);
the settings below are read and checked in :mod:`core.settings` (its
``chains`` and ``scheduler`` sections).

Environment, besides ``REDIS_URL``, ``DATABASE_URL``, ``SECRET_STORE_KEYS`` and
the batch sizes ``SECRET_STORE_ROTATION_BATCH`` (100) and
``SECRET_STORE_CLEANUP_BATCH`` (500):

- ``SECRET_STORE_REDIS_PREFIX`` (``secretstore``): the first part of every
  Redis key of the deployment: chain leases, the scheduler's leader lock and
  Dramatiq's queues.
- ``SECRET_STORE_CLEANUP_CRON`` (``30 3 * * *``): the daily cleanup of secrets
  and of events, five-field cron in UTC (name weekdays: APScheduler 3 counts
  them from Monday).
- ``SECRET_STORE_ROTATION_CRON`` (``0 4 * * *``): the daily rotation safety net.
- ``SECRET_STORE_WATCHDOG_SECONDS`` (``60``): how often the scheduler starts
  a rotation when rows are left to rewrap and no chain runs; ``0`` turns the
  watchdog off (the resume job below stays on).
- ``SECRET_STORE_LEASE_TTL_MS`` (``6000``, at least ``3000``): how long a
  chain's lease outlives its last renewal. A running link renews it every
  quarter of this; the scheduler looks for lapsed leases with work left every
  third of it and resumes those chains, so a chain whose worker died runs
  again within about this long plus a new worker's start.
- ``SECRET_STORE_SEAL_WATCH_SECONDS`` (``2``): how often the scheduler starts
  the audit sealer (the ``seal`` chain, ``core.audit_chain.seal_batch``) when
  events wait unsealed (:mod:`worker.sealing`); ``0`` turns it off.
- ``SECRET_STORE_LINK_TIME_LIMIT_MS`` (``120000``): the time limit of every link.
- ``SECRET_STORE_BROKER_HEARTBEAT_MS`` (``60000``): the silence after which a
  worker counts as dead and its unacknowledged links are delivered again.
- ``SECRET_STORE_BROKER_MAINTENANCE_CHANCE`` (``1000``): per million broker
  commands, how often Dramatiq looks for dead workers.
- ``SECRET_STORE_BROKER_POLL_MS`` (``100``): the longest pause of an idle
  worker between two polls of its queue, so the longest pause between links.
- ``SECRET_STORE_LINK_BUDGET_MS`` (``1000``): how long one link runs batches
  back to back (each its own transaction) before it enqueues the next link;
  ``0`` makes every batch a link of its own.

Caveats:

- A trigger while a chain of its kind runs joins that chain; a ``retention_ms``
  it gives is not used.
- A worker killed mid-batch loses nothing: the transaction rolls back, the
  lease lapses within seconds and the scheduler resumes the chain's work as a
  new chain with the same actor and retention (or, with no scheduler, the
  link comes back through Dramatiq once the dead worker's heartbeat lapses).
  A paused or cut-off link never writes after a takeover: each batch passes a
  fence in the database first (``chain_fences``, docs/adr/0011). No row is
  processed twice.
- Failing links are retried with backoff, except for domain errors (a bad key
  configuration, a bad retention), which end the chain at once.
- With Redis down, reads and writes of secrets go on; starting or checking a
  chain raises ``SecretStoreError("unavailable")`` within about two seconds.
"""
