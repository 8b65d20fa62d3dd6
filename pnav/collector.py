"""The garbage collector's setting for a process holding thousands of sockets: the server, and the load
generator that measures it (so that both sides of a measure pause alike)."""

import gc

# A full collection walks every tracked object, and each open socket keeps dozens of them (uvicorn's protocol, the
# coroutines of its ASGI call, our subscription…): at 2,500 sockets it stopped the process for 270–450 ms, and it
# grows with the sockets. CPython runs one once the objects promoted out of the young generations since the last one
# reach a quarter of the old generation. With the default young threshold (700 allocations) the messages in flight at
# each middle collection (every 7,000 allocations) were promoted so often that a full collection ran every 3–10 s at
# 1,000 messages/s (measured, BENCHMARKS.md). With 20,000 × 20 the middle collection runs ~50× less often and finds
# about the same objects in flight: no full collection ran in 40 s at 1,000 messages/s. The quarter rule still bounds
# the cyclic garbage of closed sockets that only a full collection frees. Left: young and middle collections are
# longer while thousands of sockets open at once (one took 230 ms in a connect burst).
YOUNG_THRESHOLD = 20_000


def tune() -> None:
    gc.set_threshold(YOUNG_THRESHOLD, 20, 10)
