"""Consoles see a bounded view of a long queue (issue 19, item 2): the head, the tchats in another language than
French, how many wait and who arrived last — never thousands of rows four times a second."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from chat import store
from chat.db import utcnow
from chat.protocol import dumps
from chat.queue_frames import HEAD, console_frame, places_frame
from tests.client import Visitor, start_tchat
from tests.operators.staff import console_for, make
from tests.servers import UNIT, LiveServer


def _waiting(count: int) -> list[store.QueueItem]:
    start = utcnow()
    return [store.QueueItem(id=f"t{index:05d}", category="domestic_violence",
                            queued_at=start + timedelta(seconds=index), emergency=False, minor=False,
                            department="75", commune_name="Paris 11e Arrondissement", role="victim",
                            language="fr", wrote=False)
            for index in range(count)]


def test_a_console_frame_of_a_long_queue_is_bounded() -> None:
    items = _waiting(5_000)
    view = store.QueueView([item.id for item in items], [*items[:HEAD], items[4_000]], items[-1])
    frame = console_frame("police", "domestic_violence", 1.0, view)
    assert frame["total"] == 5_000 and len(frame["items"]) == HEAD + 1 and frame["newest"]["id"] == "t04999"
    # The whole queue used to go to every console: ~600 KB per change at 5,000 waiting.
    whole = len(dumps({"items": [item.as_json() for item in items]}))
    assert len(dumps(frame)) < 30_000 < whole / 20
    # The visitors' watches get the order alone: ids, ~25 bytes a tchat.
    assert len(places_frame(1.0, view)) < 30 * 5_000


def test_an_empty_queue() -> None:
    frame = console_frame("police", "domestic_violence", 1.0, store.QueueView([], [], None))
    assert frame["items"] == [] and frame["total"] == 0 and frame["newest"] is None


async def test_a_console_sees_the_head_and_the_count_and_the_last_visitor_their_exact_place(live: LiveServer) -> (
    None
):
    officer = await make(live, "agent.file", "operator", "police")
    tchats = [await start_tchat(live, category="domestic_violence") for _ in range(HEAD + 4)]
    tchats.append(await start_tchat(live, category="domestic_violence", language="ar"))
    last = Visitor(live, tchats[-1]["token"])
    await last.connect()
    welcome = next(f for f in last.frames if f["type"] == "welcome")
    assert welcome["position"] == HEAD + 5
    console = await console_for(live, officer)
    try:
        snapshot = await console.expect("queue_state", category="domestic_violence", force="police")
        assert snapshot["total"] == HEAD + 5
        assert [i["id"] for i in snapshot["items"]] == [t["id"] for t in tchats[:HEAD]] + [tchats[-1]["id"]]
        assert snapshot["newest"]["id"] == tchats[-1]["id"]
        for tchat in tchats[:3]:
            await console.send({"type": "take", "conversation": tchat["id"]})
            await console.expect("taken", conversation=tchat["id"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3 * UNIT
        while snapshot["total"] != HEAD + 2 and loop.time() < deadline:
            snapshot = await console.expect("queue_state", category="domestic_violence", force="police")
        assert snapshot["total"] == HEAD + 2
        assert [i["id"] for i in snapshot["items"][:HEAD]] == [t["id"] for t in tchats[3:HEAD + 3]]
        place = await last.expect("queue", timeout=3)
        while place["position"] != HEAD + 2:
            place = await last.expect("queue", timeout=3)
    finally:
        await last.close()
        await console.close()
