"""The store alone: messages committed per second, one transaction each vs group commit through the writer.

    .venv/bin/python -m loadtests.store_bench [DATABASE_URL]    (default: a temporary SQLite file)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time

from chat import store
from chat.db import create_engine, session_factory
from chat.writer import MessageWriter, Pending
from pnav.migrate import upgrade

CONVERSATIONS = 200
MESSAGES = 5_000


async def run(url: str) -> dict[str, float]:
    upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    new = store.NewConversation("sexual_violence", "victim", "75011", "75111", "Paris 11e", "75", "police", None,
                                False)
    ids = [(await store.create_conversation(sessions, new))[0].id for _ in range(CONVERSATIONS)]
    results: dict[str, float] = {}
    started = time.perf_counter()
    await asyncio.gather(*(store.append(sessions, ids[i % CONVERSATIONS], author="visitor", body="bonjour",
                                        client_id=f"a{i}") for i in range(MESSAGES)))
    results["one transaction per message"] = MESSAGES / (time.perf_counter() - started)
    writer = MessageWriter(sessions)
    started = time.perf_counter()
    await asyncio.gather(*(writer.append(Pending(ids[i % CONVERSATIONS], "visitor", "bonjour", f"w{i}", None, "text"))
                           for i in range(MESSAGES)))
    results["group commit (writer)"] = MESSAGES / (time.perf_counter() - started)
    await writer.flush()
    await engine.dispose()
    return results


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/store-bench.sqlite3"
    for name, rate in asyncio.run(run(url)).items():
        print(f"{name}: {rate:,.0f} msg/s ({MESSAGES:,} concurrent sends over {CONVERSATIONS} conversations)")


if __name__ == "__main__":
    main()
