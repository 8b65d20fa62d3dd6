"""/metrics: the figures an operations team watches, no identifying label, readable only from allowed addresses."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chat import metrics
from chat.broker import MemoryBroker, SubscriberOverflow, Subscription
from chat.models import Conversation
from tests.client import Visitor, start_tchat
from tests.conftest import settings_for
from tests.operators.staff import console_for, make
from tests.servers import LiveServer, free_port

# Label names pnav's metrics may carry, and those prometheus-client's process/platform/GC collectors add.
ALLOWED_LABELS = {"force", "category", "kind", "reason", "generation", "implementation", "major", "minor",
                  "patchlevel", "version", "le"}


def scrape(server: LiveServer, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.base}/metrics", headers=headers, timeout=10)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveServer]]:
    """Three servers on SQLite: behind a trusted proxy on 127.0.0.1, trusting no proxy, and one whose metrics are
    allowed to another network only."""
    made: dict[str, LiveServer] = {}
    for name, overrides in {"behind": {"forwarded_allow_ips": ("127.0.0.1/32",)}, "direct": {},
                            "elsewhere": {"metrics_allow_ips": ("192.0.2.0/24",)}}.items():
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('metrics') / 'pnav.sqlite3'}"
        made[name] = LiveServer(settings_for(url, "memory://", **overrides)).start()
    yield made
    for server in made.values():
        server.stop()


def test_metrics_only_for_allowed_clients(servers: dict[str, LiveServer]) -> None:
    """Loopback reads /metrics; a client that came through the trusted proxy from elsewhere is refused (the TCP
    peer, nginx, is loopback); X-Forwarded-For with no trusted proxy is refused; a server allowing another network
    refuses loopback. Refusals are the JSON error with a French message."""
    assert scrape(servers["behind"]).status_code == 200
    assert scrape(servers["direct"]).status_code == 200
    through_proxy = scrape(servers["behind"], **{"X-Forwarded-For": "203.0.113.5"})
    assert through_proxy.status_code == 403 and through_proxy.json()["error"]["code"] == "forbidden"
    assert "mesures" in through_proxy.json()["error"]["message"]
    assert scrape(servers["behind"], **{"X-Forwarded-For": "127.0.0.1"}).status_code == 200
    assert scrape(servers["direct"], **{"X-Forwarded-For": "127.0.0.1"}).status_code == 403
    assert scrape(servers["elsewhere"]).status_code == 403


async def test_metrics_report_sockets_queue_and_commits(live: LiveServer) -> None:
    """A waiting tchat shows in the queue gauges, its socket in pnav_sockets_open, a message in the commit
    counter and histogram; no label carries an id, a token, an address or an account."""
    before = scrape(live).text
    started = await start_tchat(live, postal_code="75011", category="domestic_violence")
    visitor = Visitor(live, started["token"])
    await visitor.connect()
    queued = scrape(live).text
    assert value(queued, "pnav_queue_waiting", force="police", category="domestic_violence") == 1
    assert value(queued, "pnav_queue_waiting", force="gendarmerie", category="sexual_violence") == 0
    assert value(queued, "pnav_queue_oldest_wait_seconds", force="police", category="domestic_violence") > 0
    assert value(queued, "pnav_sockets_open", kind="visitor") - value(before, "pnav_sockets_open", kind="visitor") == 1

    operator = await make(live, "metrics.agent", "operator", "police")
    console = await console_for(live, operator)
    await console.send({"type": "take", "conversation": started["id"]})
    await visitor.expect("joined")
    await visitor.send({"type": "send", "client_id": "m1", "body": "Bonjour"})
    await visitor.expect("ack", client_id="m1")
    after = scrape(live).text
    assert value(after, "pnav_messages_committed_total") - value(before, "pnav_messages_committed_total") >= 1
    assert value(after, "pnav_commit_seconds_count") > value(before, "pnav_commit_seconds_count")
    assert value(after, "pnav_sockets_open", kind="console") - value(before, "pnav_sockets_open", kind="console") == 1
    assert value(after, "pnav_queue_waiting", force="police", category="domestic_violence") == 0
    assert value(after, "process_open_fds") > 0

    secrets = {started["id"], started["token"], "127.0.0.1", operator.username, operator.account_id}
    for (_name, labels) in samples(after):
        for label, label_value in labels:
            assert label in ALLOWED_LABELS, label
            assert label_value not in secrets
    await visitor.close()
    await console.close()


def test_broker_gaps_are_counted() -> None:
    """A subscriber whose buffer overflows, and one told that the broker lost events, count as broker gaps."""
    broker = MemoryBroker(queue_size=1)
    overflow, upstream = metrics.GAP_OVERFLOW._value.get(), metrics.GAP_UPSTREAM._value.get()
    sub = Subscription(broker, maxsize=1)
    sub.deliver("a")
    sub.deliver("b")
    with pytest.raises(SubscriberOverflow):
        sub.get_nowait()
    Subscription(broker, maxsize=1).signal_gap()
    assert metrics.GAP_OVERFLOW._value.get() == overflow + 1
    assert metrics.GAP_UPSTREAM._value.get() == upstream + 1


def test_storage_errors_are_counted_and_scrape_survives(tmp_path: Any) -> None:
    """With the database unreachable, /metrics still answers (without the queue gauges) and the failed calls are
    counted in pnav_storage_errors_total."""
    unreachable = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    server = LiveServer(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", "memory://")).start()
    try:
        before = value(scrape(server).text, "pnav_storage_errors_total")
    finally:
        server.stop()
    from chat.settings import Settings

    down = LiveServer(Settings(database_url=unreachable, environment="test", secret_key="k" * 40))
    down.start()
    try:
        response = scrape(down)
        assert response.status_code == 200
        assert value(response.text, "pnav_storage_errors_total") > before
        assert "pnav_queue_waiting" not in response.text
    finally:
        down.stop()


async def test_scrape_is_cheap(server_pool: Any, postgres_url: str, redis_url: str) -> None:
    """A scrape with 300 tchats waiting among 5,000 closed ones on PostgreSQL takes a few milliseconds (median of
    20 scrapes under 50 ms): the queue gauges are one grouped read on the queue index."""
    from tests.conftest import wipe

    server = server_pool.get(postgres_url, redis_url)
    await wipe(postgres_url)

    async def fill(state: Any) -> None:
        async with state.sessions.begin() as session:
            session.add_all(Conversation(
                id=f"c{n:05d}", token_hash=f"{n:064d}", category="sexual_violence", requester_role="victim",
                postal_code="75011", insee="75111", department="75", force="police" if n % 2 else "gendarmerie",
                status="queued" if n < 300 else "closed") for n in range(5_300))

    await server.call(fill)
    durations = []
    with httpx.Client(base_url=server.base) as http:
        for _ in range(20):
            started = time.perf_counter()
            response = http.get("/metrics")
            durations.append(time.perf_counter() - started)
            assert response.status_code == 200
    waiting = sum(value(response.text, "pnav_queue_waiting", force=f, category="sexual_violence")
                  for f in ("police", "gendarmerie"))
    assert waiting == 300
    print(f"scrape with 300 waiting: median {statistics.median(durations) * 1000:.1f} ms, "
          f"max {max(durations) * 1000:.1f} ms")
    assert statistics.median(durations) < 0.05
