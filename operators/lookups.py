"""What every console does often, shared by the consoles of a process: the two reads of each frame (the session
re-check and the conversation it names) and the queue snapshots of a console's welcome, coalesced so that each
caller still gets rows read after it asked (``chat.coalesce``), and the heartbeat, batched into one UPDATE
(``chat.batching``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

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


# The tchat a console frame names, read while the session is re-checked (issue 19, item 4: the two reads one after
# the other were ~1.5 ms each of a console's send at low load). Both start after the frame arrived, as the second
# one did before; nothing is answered before the session is found alive, and the row is for that frame's own handler
# only (``named_row``, within the frame's task), once.
_EARLY: ContextVar[list[tuple[str, asyncio.Future[store.ConversationRow | None]]] | None] = ContextVar(
    "pnav_early_conversation", default=None)


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and value.isalnum() and len(value) <= 64


@contextlib.contextmanager
def reading_named(state: ChatState, frame: dict[str, Any]) -> Iterator[None]:
    """Within this block (one console frame's handling), the tchat ``frame`` names is being read already: its
    access check takes that row (``named_row``). Left unused (a frame without a tchat check, a session found
    ended), the read is cancelled."""
    conversation_id = frame.get("conversation")
    if not _valid_id(conversation_id):
        yield
        return
    assert isinstance(conversation_id, str)
    early = asyncio.ensure_future(lookups_of(state).conversation.get(conversation_id))
    early.add_done_callback(lambda f: None if f.cancelled() else f.exception())  # consumed even if unused
    token = _EARLY.set([(conversation_id, early)])
    try:
        yield
    finally:
        _EARLY.reset(token)
        early.cancel()


async def named_row(state: ChatState, conversation_id: str) -> store.ConversationRow | None:
    """The conversation's row, read after the frame being handled arrived: the one ``reading_named`` started for it
    if any (taken once), else a new read."""
    early = _EARLY.get()
    if early and early[0][0] == conversation_id:
        _, future = early.pop()
        return await future
    return await lookups_of(state).conversation.get(conversation_id)
