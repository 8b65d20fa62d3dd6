"""The two reads of every console frame, coalesced across the consoles of a process: the session re-check and the
conversation the frame names. Each caller still gets a row read after its frame arrived (``chat.coalesce``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from chat import store
from chat.coalesce import Coalescer
from chat.models import Conversation
from chat.state import ChatState
from operators import sessions

EXTENSION = "operators.lookups"


@dataclass(frozen=True)
class Lookups:
    session_alive: Coalescer[str, bool]
    conversation: Coalescer[str, Conversation]


def lookups_of(state: ChatState) -> Lookups:
    found: Lookups | None = state.extensions.get(EXTENSION)
    if found is None:
        found = state.extensions[EXTENSION] = Lookups(
            Coalescer(partial(sessions.alive_among, state.sessions)),
            Coalescer(partial(store.get_many, state.sessions)),
        )
    return found
