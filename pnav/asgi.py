"""The ASGI entry point for uvicorn workers: settings read once from the environment."""

import gc

from pnav.app import create_app

# A full collection walks every tracked object, and each open socket keeps ~100 of them (uvicorn's protocol, the
# coroutines of its ASGI call, our subscription…): at 2,500 sockets it stopped the process for 270–450 ms, and it
# grows with the sockets. CPython runs one once the objects promoted out of the young generations since the last one
# reach a quarter of the old generation. With the default young threshold (700 allocations) the messages in flight at
# each middle collection (every 7,000 allocations) were promoted so often that a full collection ran every 3–10 s at
# 1,000 messages/s (measured, BENCHMARKS.md). With 20,000 × 20 the middle collection runs ~50× less often and finds
# about the same objects in flight: no full collection ran in 40 s at 1,000 messages/s. The quarter rule still bounds
# the cyclic garbage of closed sockets that only a full collection frees. Left: young and middle collections are
# longer while thousands of sockets open at once (one took 230 ms in a connect burst).
YOUNG_THRESHOLD = 20_000
gc.set_threshold(YOUNG_THRESHOLD, 20, 10)

app = create_app()
# What is loaded at import (modules, SQLAlchemy mappers and their caches) lives as long as the process: moved out of
# the collector's generations, so a full collection walks only what sockets and messages allocate.
# Tests build apps with create_app() and keep the default collector.
gc.collect()
gc.freeze()
