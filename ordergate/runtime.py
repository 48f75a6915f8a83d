"""How the serving process runs: garbage-collector settings for a server.

Answering one request allocates tens of thousands of short-lived objects (an `OrdersBoard`
page of 100 orders: records, GraphQL objects, result dicts). At CPython's default gen-0
threshold (700 allocations) the collector runs dozens of times per such request, and its
older generations are scanned more often the more requests are in flight, each scan walking
everything start-up built (modules, the schema, the settings). Measured with
`bench/graphql_http.py`, that halved GraphQL throughput at 16 concurrent requests.

`tune_gc_for_serving` freezes what exists at start (moved out of the collector's sight for
good), then collects the young generation every `GC_THRESHOLDS[0]` allocations. Reference
cycles are still collected, only in larger batches. Called in each worker of `ordergate serve`
once its app is built (`app.create_served_app`), and by each test process once it has collected
(`tests/conftest.py`); gateways the tests start as subprocesses keep CPython's defaults.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc_for_serving() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
