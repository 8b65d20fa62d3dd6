"""What every console does often, shared by the consoles of a process: the two reads of each frame (the session
re-check and the conversation it names) and the queue snapshots of a console's welcome, coalesced so that each
caller still gets rows read after it asked (``chat.coalesce``), and the heartbeat, batched into one UPDATE
(``chat.batching``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from chat import store
from chat.batching import Batcher
from chat.coalesce import Coalescer
from chat.queue_frames import HEAD
from chat.state import ChatState
from operators import sessions

EXTENSION = "operators.lookups"


# Heartbeats per UPDATE: every console of a process in practice.
HEARTBEAT_BATCH = 1000


@dataclass(frozen=True)
class Lookups:
    session_alive: Coalescer[str, bool]
    conversation: Coalescer[str, store.ConversationRow]
    heartbeat: Batcher[str, None]
    queues: Coalescer[tuple[str, str], store.QueueView]


def lookups_of(state: ChatState) -> Lookups:
    return state.extension(EXTENSION, lambda: Lookups(
        Coalescer(partial(sessions.alive_among, state.sessions)),
        Coalescer(partial(store.get_many, state.sessions)),
        Batcher(partial(sessions.heartbeat_many, state.sessions), HEARTBEAT_BATCH, "pnav-console-heartbeats"),
        Coalescer(partial(_queues, state)),
    ))


async def _queues(state: ChatState, keys: list[tuple[str, str]]) -> dict[tuple[str, str], store.QueueView]:
    """Each (force, category) queue asked for, read once (what a console lists of it: ``chat/queue_frames.py``)."""
    return {key: await store.queue_view(state.sessions, *key, HEAD) for key in keys}
