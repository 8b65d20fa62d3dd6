"""A small visitor client for tests: HTTP to start a tchat, a WebSocket speaking the API.md protocol."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.servers import UNIT, LiveServer


async def start_tchat(server: LiveServer, postal_code: str = "75011", category: str = "sexual_violence",
                      role: str = "victim", insee: str | None = None, language: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"category": category, "role": role, "postal_code": postal_code}
    if insee:
        body["insee"] = insee
    if language:
        body["language"] = language
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await http.post("/api/v1/conversations", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


class FrameClient:
    """A WebSocket speaking pnav's JSON frames: send, receive, wait for a kind of frame (others are kept)."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.ws: ClientConnection | None = None
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any] | str) -> None:
        assert self.ws is not None
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        assert self.ws is not None
        raw = await asyncio.wait_for(self.ws.recv(), timeout * UNIT)
        frame: dict[str, Any] = json.loads(raw)
        self.frames.append(frame)
        return frame

    async def expect(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """Read frames until one of ``kind`` (matching ``match``) arrives; others are kept in ``frames``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout * UNIT
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()) / UNIT)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


class Visitor(FrameClient):
    def __init__(self, server: LiveServer, token: str) -> None:
        super().__init__(server)
        self.token = token

    async def connect(self, after: int = 0, origin: str | None = None) -> dict[str, Any]:
        headers = {"Origin": origin} if origin else None
        self.ws = await websockets.connect(f"{self.server.ws_base}/ws/visitor", additional_headers=headers,
                                           compression=None)
        await self.send({"type": "hello", "token": self.token, "after": after})
        return await self.expect("welcome")
