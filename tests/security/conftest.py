"""Security fixtures: a live server with the per-source limits switched on (they are off in the test environment)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import settings_for
from tests.servers import LiveServer

TCHATS_PER_HOUR = 3
SOCKETS = 2
LOGINS = 8


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """SQLite + memory broker, at most 3 new tchats an hour and 2 open sockets per source address."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('limited') / 'pnav.sqlite3'}"
    server = LiveServer(settings_for(url, "memory://", extra={
        "PNAV_TCHATS_PER_HOUR_PER_SOURCE": str(TCHATS_PER_HOUR), "PNAV_SOCKETS_PER_SOURCE": str(SOCKETS),
        "PNAV_LOGINS_PER_15_MINUTES_PER_SOURCE": str(LOGINS)})).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """SQLite + memory broker with the test environment's defaults (no per-source limits)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('plain') / 'pnav.sqlite3'}"
    server = LiveServer(settings_for(url, "memory://")).start()
    yield server
    server.stop()
