"""The app factory: one Starlette app from every package's ``routes``, one lifespan, one typed state."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from audit import keys as audit_keys
from chat.broker import create_broker
from chat.db import create_engine, session_factory
from chat.direct_sockets import DirectSockets
from chat.errors import exception_handlers
from chat.headers import SecurityHeaders
from chat.metrics import watch_engine
from chat.presence import create_presence, heartbeat
from chat.settings import ConfigurationError, Settings
from chat.state import ChatState
from chat.writer import MessageWriter

log = logging.getLogger("pnav")

# Each package exposes ``routes`` and may expose ``background_tasks`` (coroutines taking the state, run for
# the life of the process) and ``middleware``. Order matters for routes: more specific packages first.
PACKAGE_MODULES = ("operators.stats.web", "operators.web", "escalation.web", "routing.web", "chat.pages",
                   "chat.attachments.web", "chat.web", "chat.metrics_endpoint")

Background = Callable[[ChatState], Awaitable[None]]


def _package(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only a package that is not there at all is skipped; a broken import inside it is an error.
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    modules = [m for m in (_package(name) for name in PACKAGE_MODULES) if m is not None]
    routes: list[BaseRoute] = [r for m in modules for r in getattr(m, "routes", [])]
    tasks: list[Background] = [t for m in modules for t in getattr(m, "background_tasks", [])]
    middleware: list[Middleware] = [mw for m in modules for mw in getattr(m, "middleware", [])]

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
        broker = create_broker(settings.redis_url, settings.subscriber_queue_size)
        await broker.connect()
        presence = create_presence(settings.redis_url)
        state = ChatState(settings=settings, engine=engine, broker=broker,
                          sessions=audit_keys.bind(session_factory(engine), audit_key),
                          presence=presence)
        state.writer = MessageWriter(state.sessions)
        app.state.pnav = state
        running = [asyncio.create_task(_supervised(task, state), name=getattr(task, "__name__", "task"))
                   for task in tasks]
        running.append(asyncio.create_task(heartbeat(presence), name="presence-heartbeat"))
        try:
            yield
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await state.writer.flush()
            await presence.close()
            await broker.disconnect()
            await engine.dispose()

    middleware.insert(0, Middleware(SecurityHeaders, hsts=settings.environment == "production"))
    middleware.insert(0, Middleware(DirectSockets))
    if settings.forwarded_allow_ips:
        # Outermost, before DirectSockets: every HTTP request and WebSocket sees the client address and scheme the
        # trusted proxy vouches for (sealing, per-source limits, the Origin check, Secure cookies). Added here rather
        # than by the server so that `pnav serve`, the tests' servers and any ASGI server behave alike.
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips)))
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
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
