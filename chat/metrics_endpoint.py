"""``GET /metrics`` in Prometheus text format, for the people who run the service, never for the public.

Counters and histograms are the process's (``chat/metrics.py``). The queue gauges are read from the database when
Prometheus scrapes: one grouped query on the queue index, so every process reports the same truth and none keeps a
copy of it.

Who may read it: the client address as pnav derives it (behind a trusted proxy, the address the proxy vouches for)
must be in ``PNAV_METRICS_ALLOW_IPS`` (default loopback). Checking the TCP peer instead would open the endpoint to the
whole internet through nginx, whose connections all come from loopback. A request carrying X-Forwarded-For while pnav
trusts no proxy cannot be attributed and is refused. nginx refuses ``/metrics`` as well (deploy/nginx.conf).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chat.db import single_read
from chat.errors import api_error
from chat.hooks import peer_address
from chat.models import CATEGORIES, FORCES, Conversation
from chat.state import ChatState, state_of

log = logging.getLogger("pnav.metrics")

# The queue read must not hold a scrape: Prometheus waits 10 s by default; 2 s leaves it time to record the rest.
QUEUE_READ_SECONDS = 2.0


class _Snapshot(Collector):
    """Gauges read at scrape time, handed to the exposition as a collector."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


async def queue_gauges(state: ChatState) -> list[Metric]:
    """``pnav_queue_waiting`` and ``pnav_queue_oldest_wait_seconds`` for every force and category (0 when empty)."""
    query = (select(Conversation.force, Conversation.category, func.count(), func.min(Conversation.queued_at))
             .where(Conversation.force.in_(FORCES), Conversation.category.in_(CATEGORIES),
                    Conversation.status == "queued")
             .group_by(Conversation.force, Conversation.category))
    async with single_read(state.sessions) as session:
        rows = (await session.execute(query)).all()
    found = {(force, category): (count, oldest) for force, category, count, oldest in rows}
    now = time.time()
    waiting = GaugeMetricFamily("pnav_queue_waiting", "Tchats waiting for an operator", labels=["force", "category"])
    oldest_wait = GaugeMetricFamily("pnav_queue_oldest_wait_seconds", "How long the first tchat in line has waited",
                                    labels=["force", "category"])
    for force in FORCES:
        for category in CATEGORIES:
            count, oldest = found.get((force, category), (0, None))
            waiting.add_metric([force, category], count)
            oldest_wait.add_metric([force, category], max(0.0, now - oldest.timestamp()) if oldest else 0.0)
    return [waiting, oldest_wait]


def allowed(request: Request) -> bool:
    settings = state_of(request).settings
    if "x-forwarded-for" in request.headers and not settings.forwarded_allow_ips:
        return False  # a proxied request, and no proxy to vouch for its client: do not take it for local
    address = peer_address(request)
    if address is None:
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(network) for network in settings.metrics_allow_ips)


async def metrics(request: Request) -> Response:
    if not allowed(request):
        return api_error(403, "forbidden", "Cette adresse n'a pas accès aux mesures du service.")
    state = state_of(request)
    snapshot: list[Metric] = []
    try:
        snapshot = await asyncio.wait_for(queue_gauges(state), QUEUE_READ_SECONDS)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        # The queue gauges are left out (an alert on their absence fires); everything else is still reported.
        log.warning("metrics: queue not read: %s", type(exc).__name__)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Snapshot(snapshot))
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"cache-control": "no-store"})


routes: list[BaseRoute] = [Route("/metrics", metrics)]
