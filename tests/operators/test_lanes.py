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
