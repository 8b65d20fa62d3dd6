"""Coalesced reads (chat.coalesce) and batched writes (chat.batching): sharing, freshness, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from chat.batching import Batcher
from chat.coalesce import Coalescer
from tests.servers import UNIT


class Table:
    """A fake store that counts queries and can hold one open until told to answer."""

    def __init__(self) -> None:
        self.rows = {"a": 1, "b": 2, "c": 3}
        self.queries: list[list[str]] = []
        self.gate: asyncio.Event | None = None

    async def fetch(self, keys: list[str]) -> Mapping[str, int]:
        self.queries.append(keys)
        snapshot = {k: self.rows[k] for k in keys if k in self.rows}  # read at query time
        if self.gate is not None:
            await self.gate.wait()
        return snapshot


async def test_callers_that_arrive_together_share_one_query() -> None:
    """Concurrent gets become one query; each caller gets its own key's row, or None when there is none."""
    table = Table()
    loader: Coalescer[str, int] = Coalescer(table.fetch)
    assert await asyncio.gather(loader.get("a"), loader.get("b"), loader.get("a"), loader.get("zz")) == [1, 2, 1, None]
    assert table.queries == [["a", "b", "zz"]]


async def test_a_get_during_a_query_waits_for_a_fresh_one() -> None:
    """A key asked while a query is in flight is read by the next query, after the change it must see."""
    table = Table()
    table.gate = asyncio.Event()
    loader: Coalescer[str, int] = Coalescer(table.fetch)
    first = asyncio.ensure_future(loader.get("a"))
    await asyncio.sleep(0.01 * UNIT)  # the first query has read its rows and waits
    table.rows["a"] = 10  # e.g. the session was revoked after that read
    second = asyncio.ensure_future(loader.get("a"))
    table.gate.set()
    assert await first == 1
    assert await second == 10
    assert table.queries == [["a"], ["a"]]


async def test_a_failed_query_reaches_its_callers_and_the_next_works() -> None:
    """Every caller of a failed query gets the error; the loader keeps serving."""
    calls = 0

    async def flaky(keys: list[str]) -> Mapping[str, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("database down")
        return dict.fromkeys(keys, 7)

    loader: Coalescer[str, int] = Coalescer(flaky)
    results = await asyncio.gather(loader.get("a"), loader.get("b"), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    assert await loader.get("a") == 7


async def test_batcher_groups_waiting_items_and_gives_each_its_outcome() -> None:
    """Items submitted while a batch is written form the next batch; each caller gets its own result or error."""
    batches: list[list[int]] = []
    gate = asyncio.Event()

    async def run(items: list[int]) -> list[int | BaseException]:
        batches.append(items)
        await gate.wait()
        return [ValueError(i) if i < 0 else i * 2 for i in items]

    batcher: Batcher[int, int] = Batcher(run, max_batch=3, name="test")
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01 * UNIT)
    rest = [asyncio.ensure_future(batcher.submit(i)) for i in (2, -3, 4, 5)]
    gate.set()
    assert await first == 2
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert outcomes[0] == 4 and isinstance(outcomes[1], ValueError) and outcomes[2:] == [8, 10]
    assert batches == [[1], [2, -3, 4], [5]]
    await batcher.flush()


async def test_a_caller_that_goes_away_does_not_cancel_its_write() -> None:
    """Cancelling a submitter leaves its item in the batch (a message is committed even if the socket dropped)."""
    written: list[int] = []
    gate = asyncio.Event()

    async def run(items: list[int]) -> list[int | BaseException]:
        await gate.wait()
        written.extend(items)
        return items

    batcher: Batcher[int, int] = Batcher(run, max_batch=10, name="test")
    waiter = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01 * UNIT)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.set()
    await batcher.flush()
    assert written == [1]


async def test_a_caller_past_its_deadline_is_answered_and_its_item_withdrawn() -> None:
    """A caller waiting behind a stuck batch gets TimeoutError at its deadline; its item is not written later (it
    was told "not stored"), while an item whose batch had started keeps its outcome for whoever asks again."""
    release = asyncio.Event()
    written: list[list[int]] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        written.append(items)
        await release.wait()
        return items

    batcher: Batcher[int, int] = Batcher(run, 10, "test")
    first = asyncio.ensure_future(batcher.submit(1, 0.05 * UNIT))
    while not written:
        await asyncio.sleep(0)  # until the batch of [1] has started (and is stuck)
    with pytest.raises(TimeoutError):
        await batcher.submit(2, 0.05 * UNIT)
    with pytest.raises(TimeoutError):
        await first
    release.set()
    await batcher.flush()
    assert written == [[1]] and batcher.timeouts == 2
