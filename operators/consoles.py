"""One connected console tab (``Console``): its answers, the access checks of the conversations it names, the
tchats it follows and the broker events forwarded to it. The endpoint that creates it and dispatches client frames is
``operators.console``; frame handlers (``handlers``, ``invitations``, ``transfers``…) take a ``Console`` and import
this module, which imports none of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any

import orjson
from sqlalchemy import select
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chat import conversations, protocol, store
from chat.attachments.web import preview_url
from chat.broker import SubscriberOverflow, Subscription
from chat.db import single_read
from chat.models import CATEGORIES, Participant
from chat.queue_frames import console_frame
from chat.state import ChatState
from operators import sessions, whispers
from operators.channels import queues_of, staff_channel
from operators.errors import error_frame
from operators.lookups import lookups_of, named_row
from operators.models import Account, Transfer
from operators.permissions import may_manage, may_read, may_write

log = logging.getLogger("pnav.operators")

# 30 frames in a burst, refilled at 10 per second: typing signals plus sending fast never reach it; a runaway
# script does, and gets an error frame instead of our CPU. Only load tests raise them (PNAV_CONSOLE_FRAME_RATE,
# PNAV_CONSOLE_FRAME_BURST: loadtests/targets.py), whose consoles send for several tchats at machine speed.
RATE_BURST = 30.0
RATE_PER_SECOND = 10.0


def _frame_limit(state: ChatState, name: str, default: float) -> float:
    value = state.settings.extra.get(name, "")
    return float(value) if value.isdigit() and int(value) > 0 else default


CLOSE_UNAUTHORISED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_OVERFLOW = 4408
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013

class Console:
    """One connected console; handlers use its helpers to check access and to answer."""

    def __init__(self, state: ChatState, websocket: WebSocket, signed: sessions.Signed) -> None:
        self.state = state
        self.websocket = websocket
        self.signed = signed
        self.account: Account = signed.account
        self.sub: Subscription  # set by ``endpoint`` once subscribed
        self.attached: set[str] = set()
        self._rate = _frame_limit(state, "PNAV_CONSOLE_FRAME_RATE", RATE_PER_SECOND)
        self._burst = _frame_limit(state, "PNAV_CONSOLE_FRAME_BURST", RATE_BURST)
        self._tokens = self._burst
        self._refilled = time.monotonic()
        self._send_lock = asyncio.Lock()
        # True once the session is found ended: the console closes and stops handling frames.
        self.signed_out = False
        # Broker events are forwarded by a task that exists only while some are pending (memory per console);
        # this lock, held until the welcome is sent, keeps them behind it.
        self.events = asyncio.Lock()
        self._drainer: asyncio.Task[None] | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        await self.send_text(protocol.dumps(frame))

    async def send_text(self, text: str) -> None:
        async with self._send_lock:
            await self.websocket.send_text(text)

    async def error(self, code: str, conversation: str | None = None, **fmt: Any) -> None:
        await self.send(error_frame(code, conversation, **fmt))

    async def participating(self, conversation_id: str) -> bool:
        async with self.state.sessions() as session:
            found = await session.scalar(
                select(Participant.id).where(
                    Participant.conversation_id == conversation_id, Participant.account_id == self.account.id,
                    Participant.role == "psychologist", Participant.left_at.is_(None),
                )
            )
            return found is not None

    async def conversation(self, fields: dict[str, Any], *, need: str) -> store.ConversationRow | None:
        """The conversation named by the frame if this account may ``need`` (read|write|manage) it; otherwise an
        error frame is sent and None returned."""
        conversation_id = fields.get("conversation")
        if not isinstance(conversation_id, str) or not conversation_id.isalnum() or len(conversation_id) > 64:
            await self.error("invalid_field")
            return None
        conversation = await named_row(self.state, conversation_id)  # read after the frame arrived
        if conversation is None:
            await self.error("unknown_conversation", conversation_id)
            return None
        participating = self.account.role == "psychologist" and await self.participating(conversation_id)
        if need == "read":
            allowed = may_read(self.account, conversation, participating=participating)
        elif need == "write":
            allowed = may_write(self.account, conversation, participating=participating)
            if not allowed and may_read(self.account, conversation, participating=participating):
                await self.error("conversation_closed", conversation_id)
                return None
        else:
            allowed = may_manage(self.account, conversation)
        if not allowed:
            await self.error("forbidden", conversation_id)
            return None
        return conversation

    async def attach(self, conversation_id: str, extra: dict[str, Any] | None = None) -> None:
        """Follow a conversation: subscribe first, then send its summary and transcript (the client dedups by seq)."""
        await self.sub.add(conversations.conversation_channel(conversation_id))
        await self.sub.add(staff_channel(conversation_id))
        self.attached.add(conversation_id)
        conversation = await store.get(self.state.sessions, conversation_id)
        if conversation is None:
            return
        extra = dict(extra or {})
        if self.account.role == "operator" and "transfers" not in extra:
            extra["transfers"] = await transfer_notes(self.state, conversation_id)
        connected = conversation_id in await self.state.presence.present([conversation_id])
        await self.send({"type": "taken", **summary(conversation), "visitor_connected": connected, **extra})
        await self.replay(conversation_id, 0)

    async def detach(self, conversation_id: str, reason: str) -> None:
        await self.sub.remove(conversations.conversation_channel(conversation_id))
        await self.sub.remove(staff_channel(conversation_id))
        self.attached.discard(conversation_id)
        await self.send({"type": "released", "conversation": conversation_id, "reason": reason})

    async def reauthorise(self, conversation_id: str, row: store.ConversationRow | None = None) -> bool:
        """Whether this console may still read a tchat it follows; if not, it is released here. Operators and
        supervisors are checked on every event (the row's holder and force); a psychologist's participation is
        checked by the roster's heartbeat (``revalidate``)."""
        if self.account.role == "psychologist":
            return True
        if row is None:
            row = await lookups_of(self.state).conversation.get(conversation_id)
        if row is not None and may_read(self.account, row, participating=False):
            return True
        if conversation_id in self.attached:
            await self.detach(conversation_id, "transferred")
        return False

    async def revalidate(self, rows: dict[str, store.ConversationRow], held: list[str]) -> None:
        """The heartbeat's pass (``operators.roster``): release what this console may no longer read, follow what
        it holds but does not follow (an ``attach`` lost by the broker). ``rows``: the attached tchats' rows;
        ``held``: the live tchats this operator is in charge of."""
        async with self.events:  # behind any event being forwarded, like an attach or detach event
            for conversation_id in list(self.attached):
                row = rows.get(conversation_id)
                if self.account.role == "psychologist":
                    if row is None or not await self.participating(conversation_id):
                        await self.detach(conversation_id, "left")
                elif row is None:
                    await self.detach(conversation_id, "transferred")
                else:
                    await self.reauthorise(conversation_id, row)
            for conversation_id in held:
                if conversation_id not in self.attached:
                    await self.attach(conversation_id)

    async def replay(self, conversation_id: str, after: int) -> None:
        for frame in await conversations.transcript(self.state, conversation_id, after):
            # Stored events (joined, left, consent…) are replayed to the visitor's page; the console still draws
            # only the live ones, as before they were stored (its handlers announce them as news).
            if frame["type"] in ("message", "card"):
                await self.send({**frame, "conversation": conversation_id})
            elif frame["type"] == "attachment":
                await self.send({**frame, "conversation": conversation_id, "preview_url": preview_url(frame)})
        # Staff-only whispers are read from their own table, never from the messages a visitor replays.
        for whisper in await whispers.whispers_after(self.state, conversation_id, after):
            await self.send(whisper)

    def events_ready(self) -> None:
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """Forward broker events until none is left, then end: an idle console holds no task but its own."""
        try:
            async with self.events:
                await self.sub.drain(lambda event: _forward(self, event), lambda: _resync(self))
                self._drainer = None  # before any await: the next event starts a new drain
        except SubscriberOverflow:
            # The console stopped reading and missed events: it reconnects and resumes every tab by seq.
            await self.close(CLOSE_OVERFLOW)
        except (WebSocketDisconnect, RuntimeError, OSError):
            await self.close(CLOSE_OVERFLOW)  # the socket is gone or going: its own task sees the disconnect
        except Exception:
            log.exception("console event forwarding failed")
            await self.close(CLOSE_INTERNAL)
        finally:
            if self._drainer is asyncio.current_task():
                self._drainer = None

    async def sign_out(self) -> None:
        """The session ended (revoked, expired, account disabled): say so once, close, and stop the console."""
        if self.signed_out:
            return
        self.signed_out = True
        with contextlib.suppress(RuntimeError, OSError):
            await self.error("not_signed_in")
        await self.close(CLOSE_UNAUTHORISED)

    async def close(self, code: int) -> None:
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await self.websocket.close(code=code)

    def rate_ok(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


async def transfer_notes(state: ChatState, conversation_id: str) -> list[dict[str, Any]]:
    """The transfer notes of a tchat, for the operator who receives it."""
    async with single_read(state.sessions) as session:
        rows = await session.scalars(
            select(Transfer).where(Transfer.conversation_id == conversation_id).order_by(Transfer.id)
        )
        return [{"note": t.note, "to_force": t.to_force, "at": t.created_at.isoformat().replace("+00:00", "Z")}
                for t in rows]


def summary(conversation: store.ConversationRow) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value is not None else None

    return {
        "conversation": conversation.id, "category": conversation.category, "role": conversation.requester_role,
        "status": conversation.status, "force": conversation.force, "department": conversation.department,
        "commune": conversation.commune_name, "postal_code": conversation.postal_code, "insee": conversation.insee,
        "emergency": conversation.emergency, "minor": conversation.minor, "outcome": conversation.outcome,
        "queued_at": iso(conversation.queued_at), "taken_at": iso(conversation.taken_at),
        "last_seq": conversation.last_seq, "language": conversation.language,
    }


async def queue_snapshot(state: ChatState, force: str, category: str) -> dict[str, Any]:
    # Consoles that open together (a shift starting, a restart) share one read of each queue.
    view = await lookups_of(state).queues.get((force, category)) or store.QueueView([], [], None)
    return console_frame(force, category, time.time(), view)


# The conversation an event is about: the last ``"conversation":"…"`` of its JSON (``chat.conversations.publish`` adds
# it last). As structure only: inside a string the quotes would be escaped.
_CONVERSATION = re.compile(r'"conversation":"([A-Za-z0-9]{1,64})"')


async def _forward(console: Console, event: str) -> None:
    # Most events are forwarded as they are (no decode and encode again). The marker can only appear as JSON
    # structure: inside a string its quotes would be escaped.
    if '"type":"attach' not in event and '"type":"detach"' not in event:
        if await _still_held(console, event):
            await console.send_text(event)
        return
    frame = orjson.loads(event)  # our own events: the fast parser
    kind = frame.get("type")
    if kind == "attachment":
        if not await _still_held(console, event):
            return
        # The consoles' copy of an attachment frame says where staff fetch its preview (the visitor's does not).
        await console.send({**frame, "preview_url": preview_url(frame)})
    elif kind == "attach":
        await console.attach(frame["conversation"], frame.get("extra"))
    elif kind == "detach":
        if frame["conversation"] in console.attached:
            await console.detach(frame["conversation"], frame.get("reason", ""))
    else:
        await console.send(frame)


async def _still_held(console: Console, event: str) -> bool:
    """False (and the tchat released) when the event is about a tchat this console follows but may no longer read:
    a transfer whose ``detach`` was lost must not leave the former operator reading the visitor. The row is read
    after the event arrived, through the coalesced lookup all consoles of the process share."""
    found = _CONVERSATION.findall(event)
    if not found or found[-1] not in console.attached:
        return True
    return await console.reauthorise(found[-1])


async def _resync(console: Console) -> None:
    """Events may have been lost upstream: the client resumes every tab from its last seq."""
    await console.send({"type": "resync"})
    if console.account.force and console.account.role in ("operator", "supervisor"):
        for force in queues_of(console.account.force):
            for category in CATEGORIES:
                await console.send(await queue_snapshot(console.state, force, category))


