"""WebSocket routes called straight from the top of the middleware stack.

A WebSocket handler runs for the whole life of its connection, and every ASGI layer between the server and the
handler (routing, exception wrappers, each middleware) keeps a suspended frame for that long: about 3 KiB per idle
socket, measured with tracemalloc. The HTTP middleware adds nothing to a socket (headers go on HTTP responses, the
startup check is for the lifespan), so plain-path WebSocket routes are looked up here and called directly; every
other scope goes down the stack as usual. Place it first among the app's middleware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from chat.metrics import SOCKET_KINDS

Endpoint = Callable[[WebSocket], Awaitable[None]]


class DirectSockets:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._endpoints: dict[str, Endpoint] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            endpoint = self._lookup(scope).get(scope["path"])
            if endpoint is not None:
                gauge = SOCKET_KINDS.get(scope["path"])
                if gauge is None:
                    await endpoint(WebSocket(scope, receive, send))
                    return
                gauge.inc()
                try:
                    await endpoint(WebSocket(scope, receive, send))
                finally:
                    gauge.dec()
                return
        await self.app(scope, receive, send)

    def _lookup(self, scope: Scope) -> dict[str, Endpoint]:
        if self._endpoints is None:
            app: Any = scope["app"]  # the Starlette application, set in the scope before any middleware runs
            self._endpoints = {
                route.path: route.endpoint for route in app.routes
                if isinstance(route, WebSocketRoute) and not route.param_convertors
            }
        return self._endpoints
