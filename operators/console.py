"""The operator WebSocket ``/ws/operator``: one connection per console tab, for operators, psychologists and
supervisors. Frames are documented in operators/README.md."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chat import conversations, protocol, store
from chat.attachments.web import preview_url
from chat.broker import SubscriberOverflow, Subscription
from chat.db import single_read
from chat.models import CATEGORIES, UNLOCATED, Conversation, Participant
from chat.origin import origin_allowed
from chat.state import ChatState, state_of
from operators import availability, frames, offers, sessions, team
from operators.availability import AVAILABILITY_CHANNEL
from operators.errors import error_frame
from operators.lanes import Lanes
from operators.lookups import lookups_of
from operators.models import Account
from operators.permissions import CONSOLE_ROLES, may_manage, may_read, may_write
from operators.roster import roster_of

log = logging.getLogger("pnav.operators")

# Supervisors get a fresh snapshot every 5 s: queues move in minutes, 5 s feels live without loading the database.
SUPERVISION_SECONDS = 5.0
# 30 frames in a burst, refilled at 10 per second: typing signals plus sending fast never reach it; a runaway
# script does, and gets an error frame instead of our CPU.
RATE_BURST = 30.0
RATE_PER_SECOND = 10.0

CLOSE_UNAUTHORISED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_OVERFLOW = 4408
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013


def account_channel(account_id: str) -> str:
    """Per-account channel: every console tab of that person learns of takes, transfers and joins."""
    return f"account:{account_id}"


PSYCHOLOGISTS_CHANNEL = "psychologists"


def queues_of(force: str) -> tuple[str, ...]:
    """The queues a console of ``force`` follows: its own, and the one of tchats started sans localisation, which
    operators of both forces see (``queue_state`` frames carry ``"force": ""`` for it)."""
    return (force, UNLOCATED)


class Console:
    """One connected console; handlers use its helpers to check access and to answer."""

    def __init__(self, state: ChatState, websocket: WebSocket, signed: sessions.Signed) -> None:
        self.state = state
        self.websocket = websocket
        self.signed = signed
        self.account: Account = signed.account
        self.sub: Subscription  # set by ``endpoint`` once subscribed
        self.attached: set[str] = set()
        self._tokens = RATE_BURST
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
        conversation = await lookups_of(self.state).conversation.get(conversation_id)
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
        await self.sub.add(team.staff_channel(conversation_id))
        self.attached.add(conversation_id)
        conversation = await store.get(self.state.sessions, conversation_id)
        if conversation is None:
            return
        extra = dict(extra or {})
        if self.account.role == "operator" and "transfers" not in extra:
            from operators.transfers import history

            extra["transfers"] = await history(self, conversation_id)
        connected = await availability.visitor_connected(self.state, conversation_id)
        await self.send({"type": "taken", **summary(conversation), "visitor_connected": connected, **extra})
        await self.replay(conversation_id, 0)

    async def detach(self, conversation_id: str, reason: str) -> None:
        await self.sub.remove(conversations.conversation_channel(conversation_id))
        await self.sub.remove(team.staff_channel(conversation_id))
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
        for whisper in await team.whispers_after(self.state, conversation_id, after):
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
        self._tokens = min(RATE_BURST, self._tokens + (now - self._refilled) * RATE_PER_SECOND)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def summary(conversation: store.ConversationRow) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value is not None else None

    return {
        "conversation": conversation.id, "category": conversation.category, "role": conversation.requester_role,
        "status": conversation.status, "force": conversation.force, "department": conversation.department,
        "commune": conversation.commune_name, "postal_code": conversation.postal_code, "insee": conversation.insee,
        "emergency": conversation.emergency, "minor": conversation.minor, "outcome": conversation.outcome,
        "queued_at": iso(conversation.queued_at), "taken_at": iso(conversation.taken_at),
        "last_seq": conversation.last_seq,
    }


async def _open_conversations(state: ChatState, account: Account) -> list[str]:
    """What this console follows at connection: taken tchats, or joined ones for a psychologist."""
    async with single_read(state.sessions) as session:
        if account.role == "operator":
            # Live tchats, and abandoned ones whose outcome the operator has not recorded yet.
            rows = await session.scalars(
                select(Conversation.id).where(
                    Conversation.assigned_to == account.id,
                    (Conversation.status == "active")
                    | ((Conversation.status == "abandoned") & Conversation.outcome.is_(None)),
                ).order_by(Conversation.taken_at)
            )
            return list(rows)
        if account.role == "psychologist":
            rows = await session.scalars(
                select(Participant.conversation_id).join(Conversation, Conversation.id == Participant.conversation_id)
                .where(Participant.account_id == account.id, Participant.role == "psychologist",
                       Participant.left_at.is_(None), Conversation.status == "active")
            )
            return list(rows)
    return []


async def queue_snapshot(state: ChatState, force: str, category: str) -> dict[str, Any]:
    # Consoles that open together (a shift starting, a restart) share one read of each queue.
    items = await lookups_of(state).queues.get((force, category)) or []
    return {"type": "queue_state", "force": force, "category": category, "at": time.time(),
            "items": [item.as_json() for item in items]}


async def endpoint(websocket: WebSocket) -> None:
    state = state_of(websocket)
    # The session cookie rides along with any page the operator visits: a missing Origin is refused too.
    if not origin_allowed(websocket, state.settings.trusted_origins, require=True):
        # Refused before the handshake completes: the browser sees a 403, a cross-site page learns nothing.
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    signed = await sessions.lookup(state.sessions, websocket.cookies.get(sessions.COOKIE))
    await websocket.accept()
    if signed is None or signed.account.role not in CONSOLE_ROLES:
        code = "not_signed_in" if signed is None else "forbidden"
        await websocket.send_text(protocol.dumps(error_frame(code)))
        await websocket.close(code=CLOSE_UNAUTHORISED if signed is None else CLOSE_FORBIDDEN)
        return
    account = signed.account
    channels = [account_channel(account.id)]
    if account.role in ("operator", "supervisor") and account.force:
        channels += [conversations.queue_channel(force, c) for force in queues_of(account.force) for c in CATEGORIES]
        channels.append(offers.team_channel(account.force))
    if account.role == "operator":
        channels.append(AVAILABILITY_CHANNEL)
    if account.role == "psychologist":
        channels.append(PSYCHOLOGISTS_CHANNEL)
    console = Console(state, websocket, signed)
    roster = roster_of(state)
    supervising: asyncio.Task[None] | None = None
    await console.events.acquire()
    try:
        async with state.broker.subscribe(*channels, on_ready=console.events_ready) as sub:
            console.sub = sub
            try:
                await _welcome(console)
            finally:
                console.events.release()
            roster.join(console)
            if account.role == "psychologist":
                await availability.announce(state)
            if account.role == "supervisor":
                supervising = asyncio.create_task(_supervise(console))
            await _read(console)
    except (WebSocketDisconnect, SubscriberOverflow):
        pass
    except (SQLAlchemyError, OSError) as exc:
        # The database is down or its pool exhausted (thousands of consoles opening at once): say so; the console
        # page reconnects by itself and resumes every tab.
        log.warning("console ended by storage error: %s", type(exc).__name__)
        with contextlib.suppress(RuntimeError, OSError):
            await console.error("storage_unavailable")
        await console.close(CLOSE_TRY_AGAIN)
    finally:
        roster.leave(console)
        for task in (supervising, console._drainer):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await sessions.console_closed(state.sessions, signed.session_id)
            if account.role == "psychologist":
                await availability.announce(state)  # one psychologist fewer for the operators
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(code=CLOSE_OVERFLOW)


async def _welcome(console: Console) -> None:
    from operators import canned, invitations, office_hours

    state, account = console.state, console.account
    await lookups_of(state).heartbeat.submit(console.signed.session_id)
    schedule = await office_hours.schedule(state)
    # Operators see before any click whether a psychologist can join (hours and how many are online).
    psychologists = (await availability.psychologists(state) if account.role == "operator"
                     else office_hours.status_json(schedule))
    await console.send({
        "type": "welcome",
        "account": {"username": account.username, "display_name": account.display_name, "role": account.role,
                    "force": account.force},
        "canned": [canned.as_json(a) for a in await canned.all_answers(state.sessions)],
        "psychologists": psychologists,
        # The frames this role may send, including those other packages registered: the console shows only
        # the buttons that will work.
        "actions": frames.types_for(account.role),
        # The force's routing mode (pick or offer), and an operator's own status and capacity (operators.offers).
        "team": await offers.team_state(state, account),
    })
    if account.role in ("operator", "supervisor") and account.force:
        for force in queues_of(account.force):
            for category in CATEGORIES:
                await console.send(await queue_snapshot(state, force, category))
    if account.role == "psychologist":
        for invitation in await invitations.pending(state):
            await console.send(invitation)
    if account.role == "operator":
        for offer in await offers.open_offers_for(state, account.id):
            await console.send(offer)
    for conversation_id in await _open_conversations(state, account):
        await console.attach(conversation_id)


async def _read(console: Console) -> None:
    """Client frames, read by the connection's own task until the socket closes or the session ends."""
    settings = console.state.settings
    lanes = Lanes()
    try:
        while not console.signed_out:
            raw = await console.websocket.receive_text()
            if not console.rate_ok():
                await console.error("rate_limited")
                continue
            data = protocol.decode(raw, settings.max_frame_bytes)
            if isinstance(data, protocol.ProtocolError):
                await console.send(data.frame())
                continue
            lane = data.get("conversation")
            lanes.submit(lane if isinstance(lane, str) else "", _handle(console, data))
    finally:
        await lanes.close()


async def _handle(console: Console, data: dict[str, Any]) -> None:
    if console.signed_out:
        return
    # Authorisation on every frame: the session may have been revoked or the account disabled meanwhile.
    if not await lookups_of(console.state).session_alive.get(console.signed.session_id):
        await console.sign_out()
        return
    registered = frames.lookup(data["type"])
    if registered is None:
        await console.error("unknown_frame")
        return
    if console.account.role not in registered.roles:
        await console.error("forbidden", data.get("conversation") if isinstance(data.get("conversation"), str)
                            else None)
        return
    try:
        await registered.handler(console, data)
    except store.ConversationClosed:
        await console.error("conversation_closed", str(data.get("conversation")))
    except (SQLAlchemyError, TimeoutError) as exc:
        # The database did not answer within its deadline (a send: chat.writer.SEND_DEADLINE, never acked): say so
        # and close; the console reconnects by itself and resends its unacknowledged messages with their client ids.
        log.warning("operator frame %s not handled: storage error %s", data["type"], type(exc).__name__)
        with contextlib.suppress(RuntimeError, OSError):
            await console.error("storage_unavailable", data.get("conversation") if isinstance(
                data.get("conversation"), str) else None)
        await console.close(CLOSE_TRY_AGAIN)
    except Exception:
        # A bug in one handler must not close the console: log without the frame (it may hold a message).
        log.exception("operator frame %s failed", data["type"])
        await console.error("internal")


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


async def _supervise(console: Console) -> None:
    from operators import supervision

    while True:
        force = console.account.force or ""
        try:
            await console.send(await supervision.snapshot(console.state, force))
        except SQLAlchemyError as exc:  # the database is unreachable: the next snapshot tries again
            log.warning("supervision snapshot failed: %s", type(exc).__name__)
        await asyncio.sleep(SUPERVISION_SECONDS)
