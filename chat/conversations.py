"""What happens to a conversation, for every package: post, take, close, flag — committed, then published.

Channels: ``conv:<id>`` carries the frames of one conversation (message, card, typing, joined, left, closed…);
``queue:<force>:<category>`` carries the consoles' view of a queue after changes, ``places:<force>:<category>`` its
order for the waiting visitors (``chat/queue_frames.py``; coalesced: ``chat/queue_positions.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from chat import store
from chat.batching import Batcher
from chat.models import CATEGORIES, UNLOCATED
from chat.protocol import dumps
from chat.queue_frames import HEAD, console_frame, places_channel, places_frame
from chat.queue_positions import QueuePublisher, publisher_of
from chat.state import ChatState
from chat.writer import SEND_DEADLINE, Pending


def conversation_channel(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def queue_channel(force: str, category: str) -> str:
    return f"queue:{force}:{category}"


async def publish(state: ChatState, conversation_id: str, frame: dict[str, Any]) -> None:
    """Publish a frame to everyone in the conversation (it carries the conversation id for consoles)."""
    await state.broker.publish(conversation_channel(conversation_id), dumps({**frame, "conversation": conversation_id}))


async def post(
    state: ChatState,
    conversation_id: str,
    *,
    author: str,
    body: str,
    client_id: str | None = None,
    author_id: str | None = None,
    kind: str = "text",
    within: float = SEND_DEADLINE,
) -> store.Appended:
    """Commit a message (group-committed by the process's writer), then publish it. Raises ConversationClosed, or
    TimeoutError after ``within`` seconds (not known to be stored: the sender resends with the same client id).

    A post made by the server (a card, a system line) has no client id of its own: it gets an idempotency key
    (``server_key``) before its first attempt, so that when a batch's commit outcome is unknown (the connection
    dropped after the COMMIT was sent) the retry finds the stored row instead of inserting it a second time."""
    if within <= 0:
        raise TimeoutError  # the frame waited out its deadline behind earlier ones (a frozen database)
    pending = Pending(conversation_id, author, body, client_id or server_key(), author_id, kind)
    if state.writer is not None:
        appended = await state.writer.append(pending, within)
    else:
        appended = await asyncio.wait_for(pending.one_by_one(state.sessions), within)
    # A retried send is published again: its first attempt may have been committed by a process that died before
    # publishing (or after its sender's deadline), and live readers would miss it until the next message. Every
    # reader dedups by seq. The publish never waits for the broker: the ack follows the commit, not the publish.
    await publish(state, conversation_id, appended.message.frame())
    return appended


def server_key(*natural: str) -> str:
    """The idempotency key of a post the server makes: from what makes the post unique when the caller has it (a
    signalement id…), else random, made once per post and kept through every retry of that post. It starts with
    ``store.SERVER_KEY_PREFIX``, a character clients may not use in a ``client_id``, so no visitor or console can
    take it first."""
    if natural:
        return store.SERVER_KEY_PREFIX + hashlib.sha256("\x1f".join(natural).encode()).hexdigest()[:40]
    return store.SERVER_KEY_PREFIX + secrets.token_hex(20)


async def post_card(state: ChatState, conversation_id: str, card: dict[str, Any], *, author: str,
                    author_id: str | None = None, key: str | None = None) -> store.Appended:
    """A card (orientation, evidence advice…) is a message of kind card: it keeps its seq in the transcript.
    ``key``: its idempotency key (``server_key``), when the caller can name what makes it unique."""
    return await post(state, conversation_id, author=author, author_id=author_id, kind="card",
                      body=json.dumps(card, ensure_ascii=False), client_id=key)


async def publish_queue(state: ChatState, force: str, category: str) -> None:
    """The queue of (force, category) changed: publish it now, or (a surge) once more at the end of the current
    interval, read after this change (``chat.queue_positions.QueuePublisher``)."""
    await queue_publisher(state).request(force, category)


def queue_publisher(state: ChatState) -> QueuePublisher:
    return publisher_of(state, partial(publish_queue_now, state))


async def publish_queue_now(state: ChatState, force: str, category: str) -> None:
    """Publish one read of the queue of (force, category): its order to the waiting visitors' watches, a bounded
    view to consoles (``chat/queue_frames.py``); ``at`` lets subscribers drop a stale one."""
    at = time.time()
    view = await store.queue_view(state.sessions, force, category, HEAD)
    await state.broker.publish(places_channel(force, category), places_frame(at, view))
    await state.broker.publish(queue_channel(force, category), dumps(console_frame(force, category, at, view)))


async def publish_all_queues(state: ChatState, forces: tuple[str, ...] = ("police", "gendarmerie", UNLOCATED)) -> (
    None
):
    for force in forces:
        for category in CATEGORIES:
            await publish_queue_now(state, force, category)


async def take(state: ChatState, conversation_id: str, account_id: str, force: str, who: str = "operator") -> bool:
    """Atomically take a queued conversation; the winner's join (a stored event) is published and the queue
    updated."""
    joined = await store.take(state.sessions, conversation_id, account_id, force,
                              {"type": "joined", "who": who, "force": force})
    if joined is None:
        return False
    await taken(state, conversation_id, joined)
    return True


async def taken(state: ChatState, conversation_id: str, joined: store.StoredMessage) -> None:
    """A take was committed (here or inside another package's transaction, ``store.take_in``): its stored ``joined``
    event is published and the queues move."""
    conversation = await store.get(state.sessions, conversation_id)
    await publish(state, conversation_id, joined.frame())
    if conversation is not None:
        await publish_queue(state, conversation.force, conversation.category)
        if conversation.insee == UNLOCATED:  # it waited sans localisation: that queue changed
            await publish_queue(state, UNLOCATED, conversation.category)


async def finish(
    state: ChatState,
    conversation_id: str,
    *,
    status: str,
    outcome: str | None = None,
    by: str = "operator",
    only_assigned_to: str | None = None,
) -> bool:
    """Close (operator) or abandon (visitor left): publish ``left`` (a stored event: ``reason`` is the status) and
    ``closed``, refresh the queue."""
    conversation = await store.get(state.sessions, conversation_id)
    if conversation is None:
        return False
    left = await store.finish(state.sessions, conversation_id, status=status, outcome=outcome,
                              only_assigned_to=only_assigned_to,
                              event={"type": "left", "who": by, "reason": status})
    if left is None:
        return False
    await publish(state, conversation_id, left.frame())
    await publish(state, conversation_id, {"type": "closed", "status": status})
    if conversation.status == "queued":
        await publish_queue(state, conversation.force, conversation.category)
    return True


async def set_flags(state: ChatState, conversation_id: str, *, emergency: bool, minor: bool) -> None:
    await store.set_flags(state.sessions, conversation_id, emergency=emergency, minor=minor)
    await flags_set(state, conversation_id, emergency=emergency, minor=minor)


async def flags_set(state: ChatState, conversation_id: str, *, emergency: bool, minor: bool) -> None:
    """Flags were committed (here or in another package's transaction, ``store.set_flags_in``): tell the tchat and
    move the queue."""
    conversation = await store.get(state.sessions, conversation_id)
    await publish(state, conversation_id, {"type": "flags", "emergency": emergency, "minor": minor})
    if conversation is not None and conversation.status == "queued":
        await publish_queue(state, conversation.force, conversation.category)


async def transcript(state: ChatState, conversation_id: str, after: int = 0) -> list[dict[str, object]]:
    """Every frame after ``after``, in seq order (all pages: for staff pages and tests; a socket replays with
    ``transcript_pages``)."""
    return [frame async for page in transcript_pages(state, conversation_id, after) for frame in page]


async def transcript_pages(state: ChatState, conversation_id: str, after: int = 0, size: int = store.REPLAY_PAGE) -> (
    AsyncIterator[list[dict[str, object]]]
):
    """The frames after ``after`` in seq order, one page of at most ``size`` at a time: the caller holds one page,
    whatever the transcript's length."""
    while True:
        page = await store.messages_after(state.sessions, conversation_id, after, size)
        if page:
            yield [m.frame() for m in page]
        if len(page) < size:
            return
        after = page[-1].seq


# Sockets that close together (a reconnect storm, a restart) share one UPDATE; in practice every socket of a process.
TOUCH_BATCH = 1000
_TOUCHES = "chat.visitor_touches"


async def visitor_gone(state: ChatState, conversation_id: str) -> None:
    """The visitor's socket closed: remember when (the sweeper marks a tchat abandoned after a long absence)."""
    touches = state.extension(_TOUCHES, lambda: Batcher(partial(store.touch_visitors, state.sessions), TOUCH_BATCH,
                                                        "pnav-visitor-touches"))
    await touches.submit(conversation_id)
