"""Coalesced reads: callers who ask for rows by key at the same moment share one query.

``await loader.get(key)`` returns the row read *after* the call began (never a cached one): while a query is in
flight, new keys gather for the next one, which starts as soon as it returns. An idle process queries at once, so
nothing waits for a batch to fill; a busy one turns hundreds of one-row queries into a few ``IN (…)`` queries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Keys per query: large enough to amortise a round trip under load, small enough to stay far below the bind
# parameter limits of SQLite (32,766) and PostgreSQL (32,767) whatever the statement adds.
MAX_KEYS = 500


class Coalescer(Generic[K, V]):
    def __init__(self, fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], max_keys: int = MAX_KEYS) -> None:
        self._fetch = fetch
        self._max_keys = max_keys
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[: self._max_keys]
                waiters = {key: self._waiting.pop(key) for key in keys}
                try:
                    rows = await self._fetch(keys)
                except Exception as exc:  # every caller of this batch gets the error (storage down…)
                    for futures in waiters.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for key, futures in waiters.items():
                    row = rows.get(key)
                    for future in futures:
                        if not future.done():  # the caller may have gone away (socket closed)
                            future.set_result(row)
        finally:
            self._task = None
            # Callers can still be waiting only when this task was cancelled (shutdown): they are cancelled too.
            for futures in self._waiting.values():
                for future in futures:
                    future.cancel()
            self._waiting.clear()
