"""The metrics pnav keeps (prometheus-client's default registry, with its process and GC metrics): what the code
counts as it runs. The queue gauges and the ``/metrics`` endpoint are in ``chat/metrics_endpoint.py``.

No label ever carries a conversation id, a token, an address or an account: only a kind of socket or a reason, each
from a fixed list.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

SOCKETS_OPEN = Gauge("pnav_sockets_open", "WebSockets open on this process", ["kind"])
SOCKET_KINDS = {"/ws/visitor": SOCKETS_OPEN.labels(kind="visitor"), "/ws/operator": SOCKETS_OPEN.labels(kind="console")}
MESSAGES_COMMITTED = Counter("pnav_messages_committed", "Messages committed by this process (acked after commit)")
# Buckets around the measured commit times (BENCHMARKS.md: ~1-5 ms for a batch on a local PostgreSQL, tens of ms
# under load); above 1 s a sender is already waiting visibly.
COMMIT_SECONDS = Histogram("pnav_commit_seconds", "Time to commit one batch of messages",
                           buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
BROKER_GAPS = Counter("pnav_broker_gaps", "Subscribers that lost live events and caught up from the database",
                      ["reason"])
GAP_UPSTREAM = BROKER_GAPS.labels(reason="upstream")  # the broker lost events (Redis restarted, reconnection)
GAP_OVERFLOW = BROKER_GAPS.labels(reason="overflow")  # the client stopped reading and its buffer filled up
STORAGE_ERRORS = Counter("pnav_storage_errors", "Database calls that failed (unreachable, timed out, refused)")


def watch_engine(engine: AsyncEngine | Engine) -> None:
    """Count every failed database call of this engine: statements (except the integrity errors pnav expects, a
    retried send meeting its own client id, which are answers, not failures) and connections that could not be
    opened (refused, timed out), which SQLAlchemy raises without its error event."""

    def failed(context: Any) -> None:
        if not isinstance(context.sqlalchemy_exception, IntegrityError):
            STORAGE_ERRORS.inc()

    def connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # What SQLAlchemy does when no listener connects (dialect.connect), with the failure counted on the way.
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception:
            STORAGE_ERRORS.inc()
            raise

    target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    event.listen(target, "handle_error", failed)
    event.listen(target, "do_connect", connect)
