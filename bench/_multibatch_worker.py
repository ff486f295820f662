"""A prototype worker for bench/rotation.py --link-budget-ms: several batches per chain link.

Not part of the product. ``dramatiq bench._multibatch_worker`` loads the real
``worker.actors`` and replaces only its rotation batch function with one that
runs core batches back to back (each still one transaction of its own) until
the chain is done or ``BENCH_LINK_BUDGET_MS`` has passed, then lets the stock
``run_link`` hand on to the next link as usual. It measures what amortising the
per-link queue overhead (lease, enqueue, ack, poll) would gain. The worker
is getting the same behaviour of its own (``SECRET_STORE_LINK_BUDGET_MS`` in
core/settings.py); with that in place, measure it with ``rotation.py --env``.
"""

from __future__ import annotations

import os
import time

import worker.actors as actors
from worker.chains import BatchReport, Link

BUDGET_S = int(os.environ.get("BENCH_LINK_BUDGET_MS", "1000")) / 1000
_one_batch = actors.rotate


async def rotate(link: Link) -> BatchReport:
    deadline = time.monotonic() + BUDGET_S
    totals: dict[str, int] = {}
    while True:
        report = await _one_batch(link)
        for key, value in report.counts.items():
            totals[key] = totals.get(key, 0) + value
        if report.is_done or time.monotonic() >= deadline:
            return BatchReport(report.is_done, totals)


actors.rotate = rotate  # run_link looks the batch function up at call time
