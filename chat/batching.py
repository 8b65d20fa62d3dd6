"""Batched writes: everything submitted while a batch is being written goes into the next one.

``await batcher.submit(item)`` returns that item's own outcome once the batch holding it is done (committed, for
the writers built on it). An idle process writes a lone item at once, so nothing waits for a batch to fill; a busy
one shares the cost of each transaction among all who wait. The task that writes exists only while there is work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("pnav.batching")


class BatcherStopped(TimeoutError):
    """The batch task was cancelled before this item's outcome was known: treat it like a missed deadline (the
    item may or may not have been written; a sender resends with the same key)."""


class Batcher(Generic[T, R]):
    def __init__(self, run: Callable[[list[T]], Awaitable[list[R | BaseException]]], max_batch: int,
                 name: str) -> None:
        self._run = run
        self.max_batch = max_batch
        self.name = name
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None
        # Plain counters for the metrics module (the lead wires them): callers that gave up on their deadline,
        # batches that failed (storage errors).
        self.timeouts = 0
        self.failures = 0

    async def submit(self, item: T, within: float | None = None) -> R:
        """The item's outcome once its batch is done. A caller that goes away (its task cancelled) cancels only its
        wait: its item stays in the batch and is written all the same. Past ``within`` seconds the caller gets
        TimeoutError, and the item is withdrawn if its batch has not started (if it has, it may still be written:
        the caller must treat the outcome as unknown, as a resend with the same client id does)."""
        future = self.post(item)
        if within is None:
            return await asyncio.shield(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), within)
        except TimeoutError:
            self.timeouts += 1
            future.cancel()  # withdrawn: ``_drain`` skips items whose future is already done
            raise

    def post(self, item: T) -> asyncio.Future[R]:
        """Queue ``item`` without waiting; its outcome is in the future, consumed even if nobody awaits it (no
        "exception never retrieved" noise)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        self._pending.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name=self.name)
        return future

    async def flush(self) -> None:
        """Wait until everything submitted so far is written (at shutdown)."""
        while self._task is not None:
            await asyncio.wait([self._task])

    async def _drain(self) -> None:
        try:
            while self._pending:
                # Items whose caller gave up on its deadline are not written (the caller said "not stored").
                pending = [entry for entry in self._pending if not entry[1].done()]
                batch, self._pending = pending[: self.max_batch], pending[self.max_batch :]
                if not batch:
                    continue
                try:
                    results = await self._run([item for item, _ in batch])
                except asyncio.CancelledError:
                    # The task was cancelled (shutdown, a cancelled loop): nobody may wait for ever on a batch that
                    # will never end, nor on what was queued behind it. Outcome unknown for the batch under way.
                    self._fail([*batch, *self._pending], BatcherStopped(f"{self.name} stopped"))
                    self._pending = []
                    raise
                except Exception as exc:  # every waiting caller learns of the failure; the next batch still runs
                    self.failures += 1
                    log.warning("%s: batch failed: %s", self.name, type(exc).__name__)
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._task = None

    @staticmethod
    def _fail(entries: list[tuple[T, asyncio.Future[R]]], error: BaseException) -> None:
        for _, future in entries:
            if not future.done():
                future.set_exception(error)
