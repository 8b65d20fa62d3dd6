"""Frames of one conversation run in order; frames of different conversations run side by side.

An operator follows several tchats on one console: a frame for one tchat must not wait for the commit of a frame
for another. Each conversation (the frame's ``conversation`` field, or none) is a lane: a frame starts once the
previous frame of its lane has finished. The console's rate limit bounds how many frames can be waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Lanes:
    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}

    def submit(self, lane: str, work: Coroutine[Any, Any, None]) -> None:
        previous = self._tails.get(lane)
        task = asyncio.create_task(self._after(previous, work))
        self._tails[lane] = task
        task.add_done_callback(lambda done: self._tails.pop(lane) if self._tails.get(lane) is done else None)
        # A frame whose turn never came (the console closed first) is closed, not left "never awaited".
        task.add_done_callback(lambda _done: work.close())

    @staticmethod
    async def _after(previous: asyncio.Task[None] | None, work: Coroutine[Any, Any, None]) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own: it handled (and reported) its errors
        await work

    async def close(self) -> None:
        tasks = list(self._tails.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
