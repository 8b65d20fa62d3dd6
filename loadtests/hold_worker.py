"""One process of the idle-hold load: opens its share of visitor sockets and consoles and keeps them open.

A process may hold only so many sockets (here the hard limit on open files is 20,000, and the server side needs as
many), so ``bench --hold`` splits the sockets over several of these workers. Commands come on stdin, one per line,
and each answer is one JSON line on stdout:

- ``visitors``: open the visitor sockets → ``{"opened": n, "failed": m}``
- ``consoles``: open the consoles → ``{"opened": n, "failed": m}``
- ``sample``: every sampled visitor writes one message → ``{"sent": n, "delivered": m}`` once they reached the
  consoles (or after the drain time)
- ``close``: close everything and exit.

Run by loadtests.bench; input (first line): ``{"pairs": [...], "sample": [indices]}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from loadtests.harness import Operator, Recorder, Visitor, bounded, wait_delivered

# As in the bench: deliveries still in flight after this long count as lost.
DRAIN_SECONDS = 30.0


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)  # the first line carries every pair of this worker (MiBs)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    spec = json.loads(await reader.readline())
    recorder = Recorder()
    visitors = [Visitor(recorder, p["visitor_base"], p["token"]) for p in spec["pairs"]]
    operators = [Operator(recorder, p["operator_base"], p["origin"], p["cookie"], [p["conversation"]])
                 for p in spec["pairs"]]

    def answer(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    while command := (await reader.readline()).decode().strip():
        if command == "visitors":
            results = await bounded([v.connect() for v in visitors])
            failed = sum(isinstance(r, BaseException) for r in results)
            answer({"opened": len(visitors) - failed, "failed": failed})
        elif command == "consoles":
            results = await bounded([o.connect() for o in operators])
            failed = sum(isinstance(r, BaseException) for r in results)
            answer({"opened": len(operators) - failed, "failed": failed})
        elif command == "sample":
            recorder.reset()
            for index in spec["sample"]:
                await visitors[index].say(f"h-{index}")
            await wait_delivered(recorder, DRAIN_SECONDS)
            answer({"sent": len(spec["sample"]), "delivered": len(recorder.delivered)})
        elif command == "close":
            break
    await bounded([v.close() for v in visitors], 500)
    await bounded([o.close() for o in operators], 500)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
