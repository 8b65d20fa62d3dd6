"""What one read of a queue publishes: the order of its tchats for the waiting visitors, a bounded view for consoles.

Before (issue 19, item 2): each change published the whole queue, every field of every waiting tchat, and consoles
received all of it: with 4,000 waiting, ~460 KB to every console four times a second (621 MiB to four consoles in a
surge of 5,000), and every process's watch parsed the same 460 KB to find a few thousand ids.

Now one read (``store.queue_view``: the order from the index, the details of a hundred tchats at most) gives two
frames:

- on ``places:<force>:<category>``, the ids in queue order and the read time: what ``QueueWatch``
  (``chat/queue_positions.py``) needs to tell each local waiting visitor its place, ~25 bytes a tchat;
- on ``queue:<force>:<category>``, the consoles' ``queue_state``: the first ``HEAD`` tchats in queue order (the
  ones an operator takes next), the tchats beyond them written in another language than French (a console puts
  those its operator speaks first: issue 22), at most ``HEAD`` of them, ``total`` (how many wait) and ``newest``
  (the last to arrive: a console chimes for arrivals it cannot see in the head). Up to ``HEAD`` waiting, ``items``
  is the whole queue, as before.
"""

from __future__ import annotations

from typing import Any

from chat.protocol import dumps
from chat.store import QueueView

# Tchats of a queue a console lists: more than an operator reads before taking the first; the rest is a count.
HEAD = 50


def places_channel(force: str, category: str) -> str:
    return f"places:{force}:{category}"


def places_frame(at: float, view: QueueView) -> str:
    return dumps({"at": at, "ids": view.ids})


def console_frame(force: str, category: str, at: float, view: QueueView) -> dict[str, Any]:
    return {"type": "queue_state", "force": force, "category": category, "at": at, "total": len(view.ids),
            "items": [item.as_json() for item in view.shown],
            "newest": view.newest.as_json() if view.newest is not None else None}
