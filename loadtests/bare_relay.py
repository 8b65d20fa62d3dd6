"""The physical-limit baseline: a bare WebSocket relay speaking pnav's frames, with no persistence and no checks.

It accepts any token, keeps each conversation's frames in memory (so ``resume`` works and the same harness drives
it), numbers messages with a per-room counter and sends each frame, encoded once, to every socket of the room.
No database, no broker, no validation, no rate limit: whatever pnav costs above this is the price of its guarantees.

Run: python -m loadtests.bare_relay --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

from pnav import collector


class Room:
    __slots__ = ("history", "last_seq", "sockets")

    def __init__(self) -> None:
        self.sockets: set[ServerConnection] = set()
        self.last_seq = 0
        self.history: list[tuple[int, str]] = []


rooms: dict[str, Room] = {}


def room(conversation: str) -> Room:
    found = rooms.get(conversation)
    if found is None:
        found = rooms[conversation] = Room()
    return found


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def _post(conversation: str, author: str, body: str) -> int:
    target = room(conversation)
    target.last_seq += 1
    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    raw = _dumps({"type": "message", "seq": target.last_seq, "author": author, "body": body, "at": at,
                  "conversation": conversation})
    target.history.append((target.last_seq, raw))
    # Written to every socket without awaiting, like a broker fan-out: a slow reader does not hold the sender.
    broadcast(target.sockets, raw)
    return target.last_seq


async def _replay(ws: ServerConnection, conversation: str, after: int) -> None:
    for seq, raw in room(conversation).history:
        if seq > after:
            await ws.send(raw)


async def visitor(ws: ServerConnection) -> None:
    hello = json.loads(await ws.recv())
    conversation = str(hello.get("token"))
    target = room(conversation)
    target.sockets.add(ws)
    try:
        await ws.send(_dumps({"type": "welcome", "conversation": conversation, "status": "active",
                              "position": None}))
        await _replay(ws, conversation, int(hello.get("after", 0)))
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "send":
                seq = _post(conversation, "visitor", frame["body"])
                await ws.send(_dumps({"type": "ack", "client_id": frame["client_id"], "seq": seq}))
            elif kind == "resume":
                await _replay(ws, conversation, int(frame.get("after", 0)))
    finally:
        target.sockets.discard(ws)


async def operator(ws: ServerConnection) -> None:
    followed: set[str] = set()
    try:
        await ws.send(_dumps({"type": "welcome", "account": {"role": "operator"}}))
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            conversation = str(frame.get("conversation"))
            if kind == "resume":
                followed.add(conversation)
                room(conversation).sockets.add(ws)
                await _replay(ws, conversation, int(frame.get("after", 0)))
            elif kind == "send":
                seq = _post(conversation, "operator", frame["body"])
                await ws.send(_dumps({"type": "ack", "conversation": conversation, "client_id": frame["client_id"],
                                      "seq": seq}))
    finally:
        for conversation in followed:
            room(conversation).sockets.discard(ws)


async def handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request is not None else ""
    try:
        if path.startswith("/ws/visitor"):
            await visitor(ws)
        elif path.startswith("/ws/operator"):
            await operator(ws)
    except Exception:  # a dropped socket ends its handler, nothing more
        return


async def main_async(host: str, port: int) -> None:
    # Same transport settings as pnav serve: no compression, 64 KiB frames, pings every 20 s.
    async with serve(handler, host, port, compression=None, max_size=65_536, ping_interval=20.0,
                     ping_timeout=20.0, backlog=4096):
        await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser(description="bare WebSocket relay (benchmark baseline)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # The collector setting pnav's servers run with: with CPython's defaults the relay's own full collections made
    # a ~100 ms p99 spike at one rate step of every run, which flattered the ratios of pnav to the relay.
    collector.tune()
    asyncio.run(main_async(args.host, args.port))


if __name__ == "__main__":
    main()
