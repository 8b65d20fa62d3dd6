"""The app factory, and the one place where packages are wired together: their routes, background tasks and
startup checks, and what they plug into each other (``install``). Nothing is registered by importing a module."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import chat.attachments.web
import chat.metrics_endpoint
import chat.pages
import chat.web
import escalation.web
import operators.stats.web
import operators.web
from audit import keys as audit_keys
from chat.brokers import create_broker
from chat.conversations import queue_publisher
from chat.db import close_readers, create_engine, open_readers, session_factory
from chat.direct_sockets import DirectSockets
from chat.errors import exception_handlers
from chat.headers import SecurityHeaders
from chat.metrics import watch_engine
from chat.presence import create_presence, heartbeat
from chat.settings import ConfigurationError, Settings
from chat.state import ChatState
from chat.writer import MessageWriter

log = logging.getLogger("pnav")

Background = Callable[[ChatState], Awaitable[None]]

# The routes of every package, in the order Starlette tries them: the more specific packages first.
ROUTES: list[BaseRoute] = [
    *operators.stats.web.routes,
    *operators.web.routes,
    *escalation.web.routes,
    *chat.pages.routes,
    *chat.attachments.web.routes,
    *chat.web.routes,
    *chat.metrics_endpoint.routes,
]
# Coroutines taking the state, run for the life of the process (restarted after an error).
BACKGROUND: list[Background] = [
    *operators.web.background_tasks,
    *escalation.web.background_tasks,
    *chat.web.background_tasks,
]


def install(state: ChatState) -> None:
    """What packages plug into each other, for this app's state only: the operators' console frames (the table of
    ``operators.frames``) and the visitor socket's hooks (``ChatState.hooks``). A frame type claimed twice is an
    error, so the order of these lines changes nothing."""
    operators.web.install(state)   # the console's frames; the psychologist offer on the visitor's socket
    escalation.web.install(state)  # propose_signalement and flag; sealing of every visitor connection's address


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    # Startup checks of the packages' secrets (each turns a missing key into a failed startup with one line).
    middleware: list[Middleware] = [*escalation.web.middleware, *chat.attachments.web.middleware]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            audit_key = audit_keys.load(settings)  # required in production: refuse to start without it
        except ConfigurationError as exc:
            log.error("pnav: %s", exc)
            raise
        engine = create_engine(settings.database_url, pool_size=settings.db_pool_size,
                               max_overflow=settings.db_max_overflow)
        watch_engine(engine)  # pnav_storage_errors_total
        for readers in open_readers(engine):  # SQLite: the hot paths' reads do not wait for the commits
            watch_engine(readers)
        broker = create_broker(settings.redis_url, settings.subscriber_queue_size)
        await broker.connect()
        presence = create_presence(settings.redis_url)
        state = ChatState(settings=settings, engine=engine, broker=broker,
                          sessions=audit_keys.bind(session_factory(engine), audit_key),
                          presence=presence)
        state.writer = MessageWriter(state.sessions)
        install(state)
        app.state.pnav = state
        running = [asyncio.create_task(_supervised(task, state), name=getattr(task, "__name__", "task"))
                   for task in BACKGROUND]
        running.append(asyncio.create_task(heartbeat(presence), name="presence-heartbeat"))
        try:
            yield
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await queue_publisher(state).close()
            await state.writer.flush()
            await presence.close()
            await broker.disconnect()
            await close_readers(engine)
            await engine.dispose()

    middleware.insert(0, Middleware(SecurityHeaders, hsts=settings.environment == "production"))
    middleware.insert(0, Middleware(DirectSockets))
    if settings.forwarded_allow_ips:
        # Outermost, before DirectSockets: every HTTP request and WebSocket sees the client address and scheme the
        # trusted proxy vouches for (sealing, per-source limits, the Origin check, Secure cookies). Added here rather
        # than by the server so that `pnav serve`, the tests' servers and any ASGI server behave alike.
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips)))
    return Starlette(routes=ROUTES, middleware=middleware, lifespan=lifespan,
                     exception_handlers=dict(exception_handlers))


async def _supervised(task: Background, state: ChatState) -> None:
    """Run a background task forever: an error is logged and the task restarts after a pause."""
    while True:
        try:
            await task(state)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s failed; restarting in 5 s", getattr(task, "__name__", "?"))
            await asyncio.sleep(5)
