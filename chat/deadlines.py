"""Answer a person within a deadline while the work behind the answer finishes on its own deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# Work whose caller stopped waiting, kept referenced until it ends (a task nobody holds may be collected).
_left_running: set[asyncio.Task[Any]] = set()


async def answer_within(seconds: float, work: Coroutine[Any, Any, T]) -> T:
    """``work``'s result if it is done within ``seconds``; otherwise TimeoutError at once, and ``work`` goes on in
    the background until its own database and broker deadlines end it. Cancelling it instead would not be quicker:
    a cancelled pool checkout, statement or rollback on a frozen server waits for that server in its cleanup."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    except TimeoutError:
        _left_running.add(task)
        task.add_done_callback(_finished)
        raise


def _finished(task: asyncio.Task[Any]) -> None:
    _left_running.discard(task)
    if not task.cancelled():
        task.exception()  # consumed: its caller already answered
