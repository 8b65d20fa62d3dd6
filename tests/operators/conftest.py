"""Live servers for the staff tests: psychologists always on duty, so invitation tests do not depend on the clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import settings_for, wipe
from tests.servers import LiveServer

ALWAYS_OPEN = {"PNAV_PSYCHOLOGIST_HOURS": "mon-sun 00:00-24:00"}


@pytest.fixture(scope="session")
def staff_servers(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str) -> Iterator[
    dict[str, tuple[LiveServer, str]]
]:
    sqlite = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('staff') / 'pnav.sqlite3'}"
    servers = {
        "sqlite-memory": (LiveServer(settings_for(sqlite, "memory://", extra=ALWAYS_OPEN)).start(), sqlite),
        "postgresql-redis": (LiveServer(settings_for(postgres_url, redis_url, extra=ALWAYS_OPEN)).start(),
                             postgres_url),
    }
    yield servers
    for server, _url in servers.values():
        server.stop()


@pytest.fixture(params=["sqlite-memory", "postgresql-redis"])
async def staff_live(request: pytest.FixtureRequest, staff_servers: dict[str, tuple[LiveServer, str]]) -> LiveServer:
    """A live server on SQLite + memory broker and on PostgreSQL + Redis, emptied before each test."""
    server, url = staff_servers[request.param]
    await wipe(url)
    return server
