"""A client that never reads cannot make the server buffer without bound: it is cut off and resumes later."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis
import websockets
from websockets.exceptions import ConnectionClosed

from chat import conversations
from tests.faults.checks import seed_tchats
from tests.faults.processes import App, Postgres, Redis
from tests.faults.results import Row, record
from tests.faults.visitors import ResilientVisitor
from tests.servers import UNIT

pytestmark = pytest.mark.slow

MESSAGES = 10  # real messages before and after the flood (one writer's send burst: no rate limit to wait out)
QUEUE = 32
# Broker events for the conversation, as a busy one produces (typing notices here, padded to 16 KiB): 800 of them
# are 12.5 MiB, three times what the kernel may buffer for one socket (tcp_wmem max 4 MiB).
FLOOD, PAD = 800, 16_384


def _tiny_socket(port: int) -> socket.socket:
    """A connected socket whose receive buffer is tiny, so the server's writes back up at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def _write(app: App, token: str, prefix: str) -> ResilientVisitor:
    writer = ResilientVisitor(token, [app.ws_base])
    writer.start()
    for n in range(MESSAGES):
        await writer.send(f"{prefix}-{n}", f"Message {n} : il a pris mon téléphone.")
    await writer.close()
    return writer


async def test_stuck_reader_is_disconnected(apps: Callable[..., list[App]], fault_pg: Postgres,
                                            fault_redis: Redis) -> None:
    """A socket that stops reading is closed once its bounded queue overflows; server memory stays bounded."""
    started = time.monotonic()
    (app,) = apps(1, PNAV_SUBSCRIBER_QUEUE_SIZE=str(QUEUE))
    (tchat,) = await seed_tchats(fault_pg.url, 1)
    stuck = await websockets.connect(f"{app.ws_base}/ws/visitor", sock=_tiny_socket(app.port), compression=None,
                                     ping_interval=None, max_queue=1)
    await stuck.send(json.dumps({"type": "hello", "token": tchat["token"], "after": 0}))
    assert json.loads(await asyncio.wait_for(stuck.recv(), 5 * UNIT))["type"] == "welcome"
    # From here on the stuck client reads nothing: its library buffer holds one frame, the kernel a few KiB.
    rss_before = app.rss()
    first = await _write(app, tchat["token"], "before")
    redis = aioredis.Redis.from_url(fault_redis.url)
    event = json.dumps({"type": "typing", "who": "operator", "conversation": tchat["id"], "pad": "x" * PAD})
    channel = conversations.conversation_channel(tchat["id"])
    for _ in range(0, FLOOD, 50):
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(50):
                pipe.publish(channel, event)
            await pipe.execute()
        await asyncio.sleep(0.05 * UNIT)  # stays under Redis's pub/sub output limit for the pnav subscriber
    await redis.aclose()
    second = await _write(app, tchat["token"], "after")
    sent = len(first.acks) + len(second.acks)
    rss_after = app.rss()

    # The stuck client now drains what it had: a few frames, then the close the server sent long ago.
    received = 0
    code: int | None = None
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(stuck.recv(), 10 * UNIT))
            received = max(received, int(frame["seq"])) if frame["type"] == "message" else received
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
    assert code == 1013, f"expected close 1013 (too slow), got {code}"
    assert received < sent

    # It comes back and resumes from its last seq: every message exactly once.
    again = ResilientVisitor(tchat["token"], [app.ws_base])
    again.last_seq = received
    again.seen = list(range(1, received + 1))
    again.start()
    await again.wait_seq(sent, 30 * UNIT)
    await again.close()
    assert again.duplicates == 0 and sorted(set(again.seen)) == list(range(1, sent + 1))
    growth = rss_after - rss_before
    flood = FLOOD * PAD
    # Buffering the flood for the stuck socket would cost at least its 12.5 MiB; the bound keeps it to a fraction.
    assert growth < flood, f"server grew by {growth / 2**20:.1f} MiB"
    record(Row(
        key="4-stuck", fault="client bloqué (ne lit plus rien, tampon de réception de 4 Kio)",
        load=f"1 tchat, {FLOOD} événements de {PAD // 1024} Kio ({flood / 2**20:.1f} Mio) diffusés, "
             f"file par abonné de {QUEUE}",
        inputs=f"{sent} messages acquittés ; le client bloqué en avait lu {received} avant la fermeture 1013 ; "
               f"mémoire du serveur +{growth / 2**20:.1f} Mio",
        acknowledged=sent, delivered=len(set(again.seen)), lost=sent - len(set(again.seen)) + again.duplicates,
        result="rien de perdu : le client bloqué est déconnecté (1013) puis reprend par seq, sans doublon",
        seconds=round(time.monotonic() - started, 1),
    ))
