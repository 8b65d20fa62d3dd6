"""Console lanes: frames of one tchat in order, frames of different tchats side by side."""

from __future__ import annotations

import asyncio

from operators.lanes import Lanes
from tests.servers import UNIT


async def test_one_lane_keeps_order_and_others_do_not_wait() -> None:
    """A slow frame holds back the next frames of its tchat only; another tchat's frame finishes first."""
    lanes = Lanes()
    done: list[str] = []
    slow = asyncio.Event()

    async def frame(name: str, gate: asyncio.Event | None = None) -> None:
        if gate is not None:
            await gate.wait()
        done.append(name)

    lanes.submit("a", frame("a1", slow))
    lanes.submit("a", frame("a2"))
    lanes.submit("b", frame("b1"))
    await asyncio.sleep(0.05 * UNIT)
    assert done == ["b1"]
    slow.set()
    await asyncio.sleep(0.05 * UNIT)
    assert done == ["b1", "a1", "a2"]
    await lanes.close()


async def test_a_failing_frame_does_not_block_its_lane() -> None:
    """An exception in one frame lets the next frame of that tchat run."""
    lanes = Lanes()
    done: list[str] = []

    async def boom() -> None:
        raise RuntimeError("bug")

    async def ok() -> None:
        done.append("next")

    lanes.submit("a", boom())
    lanes.submit("a", ok())
    await asyncio.sleep(0.05 * UNIT)
    assert done == ["next"]
    await lanes.close()


async def test_frames_left_waiting_at_close_are_closed_not_left_unawaited() -> None:
    """Closing the lanes closes the frames whose turn never came (no "never awaited" warning); a frame already
    running is left to finish (a message being committed is stored all the same)."""
    import inspect

    lanes = Lanes()
    never = asyncio.Event()

    async def frame() -> None:
        await never.wait()

    first, queued = frame(), frame()
    lanes.submit("a", first)
    lanes.submit("a", queued)
    lonely = frame()
    lanes.submit("b", lonely)  # cancelled before it ever starts
    await lanes.close()
    assert inspect.getcoroutinestate(queued) == inspect.getcoroutinestate(lonely) == inspect.CORO_CLOSED
    assert inspect.getcoroutinestate(first) == inspect.CORO_SUSPENDED
    never.set()
    await asyncio.sleep(0.01 * UNIT)
    assert inspect.getcoroutinestate(first) == inspect.CORO_CLOSED
