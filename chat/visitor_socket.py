"""The visitor's WebSocket: hello → welcome → replay → live frames, with resume by seq and idempotent sends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from functools import partial
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected, WebSocketState
from uvicorn.protocols.utils import ClientDisconnected

from chat import conversations, hooks, store
from chat.broker import SubscriberOverflow, Subscription
from chat.coalesce import Coalescer
from chat.db import utcnow
from chat.frame_budget import FrameBudget, Verdict
from chat.limits import TOO_MANY_SOCKETS, limits_of
from chat.origin import origin_allowed
from chat.protocol import (
    Frame,
    Generic,
    Hello,
    Leave,
    Ping,
    ProtocolError,
    Read,
    Resume,
    Send,
    Typing,
    dumps,
    error,
    parse,
)
from chat.queue_frames import places_channel
from chat.queue_positions import watch_of
from chat.state import ChatState
from chat.tchat_limits import TCHAT_FULL, TCHAT_FULL_KEY, TOO_MANY_TABS, Tchat, tchat_limits_of
from chat.writer import SEND_DEADLINE

log = logging.getLogger("pnav.visitor")

# A phone on a slow network sends hello right after the socket opens; 15 s frees sockets that never speak.
HELLO_TIMEOUT = 15.0
CLOSE_BAD_TOKEN = 4401
CLOSE_FORBIDDEN_ORIGIN = 1008
# The tchat already has its allowance of sockets (chat.tchat_limits): policy violation, not worth retrying at once.
CLOSE_TOO_MANY_TABS = 1008
# The client stopped reading: it will reconnect and resume by seq (1013 = try again later).
CLOSE_TOO_SLOW = 1013
# A visitor's ``read`` is published at most twice a second (the latest seq wins): consoles redraw a tick, and a
# flood of reads cannot fill their event queues.
READ_INTERVAL = 0.5
# Replay pages of the visitor's socket: a page is all one socket holds of the transcript at a time (50 messages of
# at most 4,000 characters), sent as fast as the client drains it, whatever the transcript's length.
REPLAY_PAGE = 50
# Client frames read but not yet handled (a send waits for its commit meanwhile). The send rate limit (burst 10)
# keeps a person well under it even while the database is frozen; past it the frame is refused with an error, so
# that the socket is still read (and the transport's keepalive pongs with it) whatever the client does.
MAX_PENDING_FRAMES = 32
# Frames of the transcript (they carry a seq); and the other conversation frames a visitor receives.
TRANSCRIPT = frozenset(("message", "card", "attachment", *store.EVENT_KINDS))
FORWARDED = frozenset((*store.EVENT_KINDS, "closed", "flags"))

# What the server sees when the client went away: starlette's disconnect (a send on a socket closed meanwhile, or a
# receive after it), and uvicorn's own before starlette wraps it (an accept after the client hung up).
CLIENT_GONE = (WebSocketDisconnect, WebSocketDisconnected, ClientDisconnected)

LINK_EXPIRED = (
    "Cette conversation n'est plus disponible (elle est terminée ou le lien a expiré). "
    "Vous pouvez en commencer une nouvelle depuis l'accueil."
)
CLOSED = "Cette conversation est terminée. Vous pouvez en commencer une nouvelle depuis l'accueil."
RATE_LIMITED = "Vous envoyez des messages très vite : patientez quelques secondes puis réessayez."
TOO_MANY_FRAMES = "Trop de demandes en peu de temps : patientez quelques secondes, la conversation reste ouverte."
UNAVAILABLE = (
    "Le service est momentanément surchargé. La connexion va se rétablir toute seule dans quelques secondes ; "
    "en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."
)
STORAGE_DOWN = (
    "Votre message n'a pas pu être enregistré pour le moment. Il sera renvoyé automatiquement ; "
    "en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."
)


def token_usable(conversation: store.ConversationRow, grace_seconds: int) -> bool:
    if conversation.status in store.OPEN_STATUSES:
        return True
    closed_at = conversation.closed_at
    return closed_at is not None and utcnow() - closed_at < timedelta(seconds=grace_seconds)


_TOKENS = "chat.visitor_tokens"


def _tokens(state: ChatState) -> Coalescer[str, store.ConversationRow]:
    """Token lookups of visitors saying hello at the same moment (a reconnect storm) share one query."""
    return state.extension(_TOKENS, lambda: Coalescer(partial(store.by_token_hashes, state.sessions)))


class VisitorSocket:
    def __init__(self, state: ChatState, websocket: WebSocket) -> None:
        self.state = state
        self.ws = websocket
        self.settings = state.settings
        self.conversation: store.Seat | None = None
        self.last_seq = 0
        self.position: int | None = None
        # Consoles' queues show whether a waiting visitor already wrote: republished at their first message.
        self.wrote_while_queued = False
        # The queue whose QueueWatch tells this socket its position (chat/queue_positions.py), while it waits.
        self.watched: str | None = None
        # When this socket last read its place from the database: positions from snapshots read before are older.
        self.position_at = 0.0
        self.budget = FrameBudget(float(self.settings.visitor_send_rate), float(self.settings.visitor_send_burst))
        # The latest ``read`` seq not yet published, when it last was, and the task publishing it (only while some
        # wait).
        self.read_seq: int | None = None
        self.read_at = float("-inf")
        self.reads: asyncio.Task[None] | None = None
        self.sub: Subscription
        # Client frames and broker events both send frames and move ``last_seq``: one of them at a time.
        self.delivery = asyncio.Lock()
        self.drainer: asyncio.Task[None] | None = None
        # Client frames waiting for ``_work`` (with the loop time they arrived), and the task that handles them:
        # it exists only while there are some, like ``drainer``.
        self.inbox: list[tuple[Frame | ProtocolError, float]] = []
        self.worker: asyncio.Task[None] | None = None
        # The tchat's counters on this process, shared with its other sockets (chat.tchat_limits), once hello passed.
        self.tchat: Tchat | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_text(dumps(frame))

    async def run(self) -> None:
        if not origin_allowed(self.ws, self.settings.trusted_origins):
            await self.ws.close(CLOSE_FORBIDDEN_ORIGIN)  # before accept: the handshake is refused with 403
            return
        limits = limits_of(self.state)
        source = limits.open_socket(self.ws)
        try:
            await self.ws.accept()
            if source is None:
                await self.send({"type": "error", "code": "too_many_connections", "message": TOO_MANY_SOCKETS})
                await self._close(CLOSE_TOO_SLOW)
                return
            await self._session()
        except CLIENT_GONE:
            pass  # the client went away (a closed tab, a lost network): nothing went wrong here, nothing to log
        except (SQLAlchemyError, OSError) as exc:
            # The database is down or its pool exhausted (a reconnect stampede): say so and let the client retry.
            log.warning("visitor session ended by storage error: %s", type(exc).__name__)
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self.send({"type": "error", "code": "storage_unavailable", "message": UNAVAILABLE,
                                 "retry": True})
            await self._close(CLOSE_TOO_SLOW)
        finally:
            if source is not None:
                limits.close_socket(source)
            if self.tchat is not None:
                tchat_limits_of(self.state).close(self.tchat.conversation_id)

    async def _session(self) -> None:
        hello = await self._hello()
        if hello is None:
            return
        conversation = self.conversation
        assert conversation is not None
        channels = [conversations.conversation_channel(conversation.id)]
        self.state.presence.connected(conversation.id)
        if conversation.status == "active":
            await self._tell_presence(True)
        # Held until the welcome and replay are sent: an event that arrives meanwhile waits for them.
        await self.delivery.acquire()
        welcomed = False
        try:
            async with self.state.broker.subscribe(*channels, on_ready=self._events_ready) as sub:
                self.sub = sub
                # Subscribed before reading the database: nothing committed after this point can be missed.
                await self._welcome(hello.after)
                welcomed = True
                self.delivery.release()
                await self._loop()
        except WebSocketDisconnect:
            pass
        finally:
            if not welcomed:
                self.delivery.release()
            for task in (self.worker, self.drainer, self.reads):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            await self._unwatch()
            if self.state.presence.disconnected(conversation.id) and self.position is None:
                await self._tell_presence(False)
            with contextlib.suppress(SQLAlchemyError, OSError):
                await conversations.visitor_gone(self.state, conversation.id)

    async def _tell_presence(self, connected: bool) -> None:
        """Consoles following the tchat show at once whether the visitor is connected (consoles re-check it every
        20 s too: a process that died cannot say its visitors left). Queued tchats are skipped: nobody follows
        them yet, and a reconnect storm of waiting visitors should not cost a publish each."""
        assert self.conversation is not None
        await conversations.publish(self.state, self.conversation.id,
                                    {"type": "presence", "who": "visitor", "connected": connected})

    async def _hello(self) -> Hello | None:
        while True:
            try:
                message = await asyncio.wait_for(self.ws.receive(), HELLO_TIMEOUT)
            except TimeoutError:
                await self.send(error("hello_required").frame())
                await self._close(1008)
                return None
            if message["type"] == "websocket.disconnect":
                return None
            frame = parse(message.get("text") or message.get("bytes") or b"",
                          max_bytes=self.settings.max_frame_bytes, max_chars=self.settings.max_message_chars)
            if isinstance(frame, Hello):
                break
            await self.send((frame if isinstance(frame, ProtocolError) else error("hello_required")).frame())
        conversation = await _tokens(self.state).get(store.hash_token(frame.token))
        if conversation is None or not token_usable(conversation, self.settings.token_grace_seconds):
            await self.send({"type": "error", "code": "invalid_token", "message": LINK_EXPIRED})
            await self._close(CLOSE_BAD_TOKEN)
            return None
        self.tchat = tchat_limits_of(self.state).open(conversation.id)
        if self.tchat is None:
            await self.send({"type": "error", "code": "too_many_tabs", "message": TOO_MANY_TABS})
            await self._close(CLOSE_TOO_MANY_TABS)
            return None
        self.conversation = store.Seat.of(conversation)
        await hooks.notify_visitor_connected(self.state, conversation.id, self.ws)
        return frame

    async def _welcome(self, after: int) -> None:
        conversation = self.conversation
        assert conversation is not None
        if conversation.status in store.OPEN_STATUSES:
            # Read again now that the socket is subscribed: the row behind the token was read before, and a take
            # (or a close) committed in between would otherwise leave the visitor on « en attente » with no event
            # left to move them (the ``joined`` they are replayed does not move a welcome's state).
            fresh = await store.get(self.state.sessions, conversation.id)
            if fresh is not None and fresh.status != conversation.status:
                if fresh.status == "active":
                    await self._tell_presence(True)
                conversation = self.conversation = store.Seat.of(fresh)
        self.position = await self._watch_and_read_position(conversation)
        # The flags are state, not history: a page that reloads learns them here (then from live ``flags`` frames).
        await self.send({"type": "welcome", "conversation": conversation.id, "status": conversation.status,
                         "position": self.position, "force": conversation.force or None,
                         "category": conversation.category, "emergency": conversation.emergency,
                         "minor": conversation.minor})
        self.last_seq = after
        await self._replay()
        if conversation.status not in store.OPEN_STATUSES:
            await self.send({"type": "closed", "status": conversation.status})
            return
        if conversation.status == "active":  # questions wait only in live tchats: no query for a waiting visitor
            for frame in await hooks.welcome_frames(self.state, conversation.id):
                await self.send(frame)

    async def _replay(self, sub: Subscription | None = None) -> None:
        """Send the transcript after ``last_seq``. With ``sub`` (a gap filled while live, not the welcome's replay
        of what the socket's fresh state already reflects) the events also move this socket between queues."""
        conversation = self.conversation
        assert conversation is not None
        # Page by page: each send waits while the transport's buffer is full (uvicorn's flow control), so the next
        # page is read only once the client has drained the previous one; a client that reads nothing is aborted
        # by the protocol (pnav/websocket_protocol.py) and this loop ends with the socket.
        async for page in conversations.transcript_pages(self.state, conversation.id, self.last_seq, REPLAY_PAGE):
            for frame in page:
                await self.send(frame)
                self.last_seq = int(str(frame["seq"]))
                if sub is not None:
                    await self._follow(frame, sub)

    async def _loop(self) -> None:
        """Read client frames, and hand them to ``_work``: the socket is read all the time, even while a send
        waits for the database. uvicorn stops reading the transport while a received frame is not taken by the
        application (its flow control), so a handler awaiting a frozen database here would leave the client's
        keepalive pongs unread and uvicorn would close the socket (1011) after its ping timeout."""
        loop = asyncio.get_running_loop()
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = parse(message.get("text") or message.get("bytes") or b"",
                          max_bytes=self.settings.max_frame_bytes, max_chars=self.settings.max_message_chars,
                          extra_types=self.state.hooks.frames)
            verdict = self.budget.admit(frame)
            if verdict is Verdict.DROP:
                continue
            if verdict is Verdict.HANDLE and isinstance(frame, Send) and self.tchat is not None \
                    and not self.tchat.sends.allow():
                verdict = Verdict.REFUSE  # the tchat's sends, all its sockets together, are over their rate
            if verdict is Verdict.REFUSE:
                if isinstance(frame, Send):
                    await self.send({"type": "error", "code": "rate_limited", "message": RATE_LIMITED,
                                     "client_id": frame.client_id})
                else:
                    await self.send({"type": "error", "code": "rate_limited", "message": TOO_MANY_FRAMES})
                continue
            if isinstance(frame, Ping):
                await self.send({"type": "pong"})  # liveness is answered at once, whatever waits for storage
                continue
            if isinstance(frame, Read):
                self._read(frame.seq)
                continue
            if len(self.inbox) >= MAX_PENDING_FRAMES:
                refused: dict[str, Any] = {"type": "error", "code": "rate_limited", "message": RATE_LIMITED}
                if isinstance(frame, Send):
                    refused["client_id"] = frame.client_id
                await self.send(refused)
                continue
            self.inbox.append((frame, loop.time()))
            if self.worker is None:
                self.worker = loop.create_task(self._work())

    def _read(self, seq: int) -> None:
        """Publish the visitor's read position soon: at once if none went out in the last READ_INTERVAL, else when
        it ends, with the latest seq received meanwhile."""
        self.read_seq = seq
        if self.reads is None:
            self.reads = asyncio.get_running_loop().create_task(self._publish_reads())

    async def _publish_reads(self) -> None:
        conversation = self.conversation
        assert conversation is not None
        loop = asyncio.get_running_loop()
        try:
            while self.read_seq is not None:
                wait = self.read_at + READ_INTERVAL - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                seq, self.read_seq = self.read_seq, None
                self.read_at = loop.time()
                with contextlib.suppress(OSError):  # advisory: the next read, or the next message, says it again
                    await conversations.publish(self.state, conversation.id,
                                                {"type": "read", "who": "visitor", "seq": seq})
        finally:
            if self.reads is asyncio.current_task():
                self.reads = None

    async def _work(self) -> None:
        """Handle client frames in order until none is left (a leave closes the socket: the reader then ends)."""
        try:
            while self.inbox:
                frame, arrived = self.inbox.pop(0)
                # Under the delivery lock: the sender's ack goes out before the broker's echo of its message.
                async with self.delivery:
                    if not await self._on_client(frame, arrived):
                        self.inbox.clear()
                        return
        except (SQLAlchemyError, TimeoutError) as exc:
            # A read behind a frame (resume, a transfer) failed: say so; the client reconnects and resumes.
            log.warning("visitor frame not handled: storage error %s", type(exc).__name__)
            with contextlib.suppress(RuntimeError, OSError):
                await self.send({"type": "error", "code": "storage_unavailable", "message": UNAVAILABLE,
                                 "retry": True})
            await self._close(CLOSE_TOO_SLOW)
        except (WebSocketDisconnect, RuntimeError, OSError):
            await self._close(CLOSE_TOO_SLOW)  # the socket is gone: the reader sees the disconnect and ends
        finally:
            if self.worker is asyncio.current_task():
                self.worker = None

    def _events_ready(self) -> None:
        if self.drainer is None:
            self.drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """Forward broker events until none is left, then end: an idle socket holds no task but its own."""
        sub = self.sub
        try:
            async with self.delivery:
                await sub.drain(lambda raw: self._on_event(raw, sub), lambda: self._replay(sub))
                self.drainer = None  # before any await: the next event starts a new drain
        except SubscriberOverflow:
            await self._close(CLOSE_TOO_SLOW)  # the socket's own task then reads the disconnect and ends
        except SQLAlchemyError as exc:
            # The replay could not be read: say so in French, as at hello; the client reconnects and resumes.
            log.warning("visitor replay failed: %s", type(exc).__name__)
            with contextlib.suppress(RuntimeError, OSError):
                await self.send({"type": "error", "code": "storage_unavailable", "message": UNAVAILABLE,
                                 "retry": True})
            await self._close(CLOSE_TOO_SLOW)
        except (WebSocketDisconnect, RuntimeError, OSError):
            # The socket is gone: the client reconnects and resumes by seq.
            await self._close(CLOSE_TOO_SLOW)
        finally:
            if self.drainer is asyncio.current_task():
                self.drainer = None

    async def _on_event(self, raw: str, sub: Subscription) -> None:
        frame = orjson.loads(raw)  # our own events: the fast parser
        kind = frame.get("type")
        if "seq" in frame and (kind in TRANSCRIPT or kind in self.state.hooks.transcript_events):  # in seq order, once
            seq = int(frame["seq"])
            if seq <= self.last_seq:
                return
            if seq > self.last_seq + 1:
                await self._replay(sub)  # a publish was lost or overtaken: fill the gap from the database
                return
            frame.pop("conversation", None)
            await self.send(frame)
            self.last_seq = seq
            await self._follow(frame, sub)
        elif kind == "queue_position":
            await self._on_position(int(frame["position"]), float(frame.get("at") or 0))
        elif kind in ("typing", "read"):
            if frame.get("who") != "visitor":
                frame.pop("conversation", None)
                await self.send(frame)
        elif kind in FORWARDED or kind in self.state.hooks.events:  # live-only frames, and events without a seq
            frame.pop("conversation", None)
            await self.send(frame)
            await self._follow(frame, sub)

    async def _follow(self, frame: dict[str, Any], sub: Subscription) -> None:
        """What an event changes for this socket: an operator took the tchat (no more queue), or it went back to
        the queue of the other force."""
        kind = frame.get("type")
        if kind in ("joined", "closed"):
            await self._leave_queue(sub)
        elif kind == "transferred":
            await self._follow_new_queue(sub)

    async def _on_position(self, position: int, at: float) -> None:
        """The QueueWatch of this process saw this socket's place change in a snapshot read at ``at``."""
        if at < self.position_at:
            return  # delivered while the welcome read the place: that read may be newer
        if self.position is not None and position != self.position:
            self.position = position
            await self.send({"type": "queue", "position": position})

    async def _watch_and_read_position(self, conversation: store.Seat) -> int | None:
        """Join the process's watch of this queue, then read the place from the database: a change committed
        after the read cannot be missed, and snapshots read before it are ignored (older news)."""
        if conversation.status != "queued":
            return None
        self.watched = places_channel(conversation.force, conversation.category)
        watch = watch_of(self.state, self.watched, conversations.queue_publisher(self.state))
        await watch.join(conversation.id, self.sub, None, time.time())
        position = await store.position(self.state.sessions, conversation)
        self.position_at = time.time()
        watch.known(conversation.id, position, self.position_at)
        # A snapshot read during that read is ignored: the next one, read after it, comes within the interval
        # (merged with the one this visitor's arrival already asked for).
        conversations.queue_publisher(self.state).soon(conversation.force, conversation.category)
        return position

    async def _unwatch(self) -> None:
        if self.watched is not None and self.conversation is not None:
            channel, self.watched = self.watched, None
            await watch_of(self.state, channel, conversations.queue_publisher(self.state)).leave(self.conversation.id)

    async def _follow_new_queue(self, sub: Subscription) -> None:
        """Transferred back to a queue (of the other force): follow that queue and tell the new position."""
        conversation = await store.get(self.state.sessions, self.conversation.id if self.conversation else "")
        if conversation is None or conversation.status != "queued":
            return
        await self._unwatch()
        self.conversation = store.Seat.of(conversation)
        self.position = await self._watch_and_read_position(self.conversation)
        if self.position is not None:
            await self.send({"type": "queue", "position": self.position})

    async def _leave_queue(self, sub: Subscription) -> None:
        conversation = self.conversation
        assert conversation is not None
        self.position = None
        await self._unwatch()

    async def _on_client(self, frame: Frame | ProtocolError, arrived: float) -> bool:
        """Handle one client frame; False ends the connection."""
        conversation = self.conversation
        assert conversation is not None
        if isinstance(frame, ProtocolError):
            await self.send(frame.frame())
        elif isinstance(frame, Send):
            await self._on_send(frame, arrived)
        elif isinstance(frame, Typing):  # one every TYPING_INTERVAL (chat.frame_budget)
            await conversations.publish(self.state, conversation.id, {"type": "typing", "who": "visitor"})
        elif isinstance(frame, Resume):
            self.last_seq = frame.after
            await self._replay()
        elif isinstance(frame, Generic):
            for answer in await self.state.hooks.frames[frame.type](self.state, conversation.id, frame.fields):
                await self.send(answer)
        elif isinstance(frame, Leave):
            await conversations.finish(self.state, conversation.id, status="abandoned", by="visitor")
            await self.send({"type": "closed", "status": "abandoned"})
            await self._close(1000)
            return False
        else:
            await self.send(error("unknown_frame").frame())
        return True

    async def _on_send(self, frame: Send, arrived: float) -> None:
        conversation = self.conversation
        assert conversation is not None
        # The deadline runs from the frame's arrival: sends queued behind one that waits for a frozen database
        # are answered within it too, not one deadline after another.
        within = SEND_DEADLINE - (asyncio.get_running_loop().time() - arrived)
        size = len(frame.body.encode())
        limits = tchat_limits_of(self.state)
        try:
            # Within the send's deadline too: the stored totals are read once per tchat, maybe from a frozen database.
            if self.tchat is not None and not await asyncio.wait_for(
                    limits.room_for(self.state.sessions, self.tchat, size), max(within, 0.001)):
                await self._tchat_full(frame)
                return
            appended = await conversations.post(
                self.state, conversation.id, author="visitor", body=frame.body, client_id=frame.client_id,
                within=SEND_DEADLINE - (asyncio.get_running_loop().time() - arrived),
            )
        except store.ConversationClosed:
            await self.send({"type": "error", "code": "conversation_closed", "message": CLOSED,
                             "client_id": frame.client_id})
            return
        except (SQLAlchemyError, OSError) as exc:
            log.warning("send not stored: %s", type(exc).__name__)
            await self.send({"type": "error", "code": "storage_unavailable", "message": STORAGE_DOWN,
                             "client_id": frame.client_id, "retry": True})
            return
        if self.tchat is not None and not appended.duplicate:
            limits.stored(self.tchat, size)
        await self.send({"type": "ack", "client_id": frame.client_id, "seq": appended.message.seq})
        if self.position is not None and not self.wrote_while_queued:
            self.wrote_while_queued = True
            with contextlib.suppress(SQLAlchemyError, OSError):  # the periodic republish heals a failure here
                await conversations.publish_queue(self.state, conversation.force, conversation.category)

    async def _tchat_full(self, frame: Send) -> None:
        """The visitor reached the tchat's ceiling: tell them in French, and the operator by a system line in the
        tchat (stored once per tchat: its idempotency key is made of the tchat's id)."""
        conversation, tchat = self.conversation, self.tchat
        assert conversation is not None and tchat is not None
        await self.send({"type": "error", "code": "tchat_full", "message": TCHAT_FULL, "client_id": frame.client_id})
        if not tchat.told:
            tchat.told = True
            with contextlib.suppress(store.ConversationClosed):
                await conversations.post(self.state, conversation.id, author="system",
                                         client_id=conversations.server_key(TCHAT_FULL_KEY, conversation.id),
                                         body=tchat_limits_of(self.state).notice())

    async def _close(self, code: int) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await self.ws.close(code)
