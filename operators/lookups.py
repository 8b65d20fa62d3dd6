"""What every console does often, shared by the consoles of a process: the two reads of each frame (the session
re-check and the conversation it names), coalesced so that each caller still gets a row read after its frame
arrived (``chat.coalesce``), and the heartbeat, batched into one UPDATE (``chat.batching``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from chat import store
from chat.batching import Batcher
from chat.coalesce import Coalescer
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


def lookups_of(state: ChatState) -> Lookups:
    found: Lookups | None = state.extensions.get(EXTENSION)
    if found is None:
        found = state.extensions[EXTENSION] = Lookups(
            Coalescer(partial(sessions.alive_among, state.sessions)),
            Coalescer(partial(store.get_many, state.sessions)),
            Batcher(partial(sessions.heartbeat_many, state.sessions), HEARTBEAT_BATCH, "pnav-console-heartbeats"),
        )
    return found
