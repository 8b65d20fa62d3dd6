"""Running and recovering pnav: the systemd unit, the Prometheus files, and a backup restored and verified."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from sqlalchemy import func, select

from audit.models import AuditEvent
from chat.models import Conversation, Message
from chat.settings import PROJECT_ROOT
from escalation.models import Signalement
from tests.conftest import migrated, settings_for
from tests.escalation.conftest import Keys
from tests.escalation.flow import consent, propose, taken_tchat
from tests.servers import UNIT, LiveServer, _pg_bindir

DEPLOY = PROJECT_ROOT / "deploy"


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    """`systemd-analyze verify` accepts deploy/pnav@.service without a warning (ExecStart pointed at this venv), and
    the unit keeps its hardening: a throwaway user, read-only system, no new privileges, a raised file limit."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (package systemd)")
    unit = (DEPLOY / "pnav@.service").read_text()
    for line in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
                 "CapabilityBoundingSet=", "ExecStart=/opt/pnav/venv/bin/pnav serve --host 127.0.0.1 --port %i"):
        assert f"\n{line}\n" in unit, line
    assert int(re.search(r"\nLimitNOFILE=(\d+)\n", unit).group(1)) >= 65536  # type: ignore[union-attr]
    (tmp_path / "pnav@.service").write_text(unit.replace("/opt/pnav/venv/bin/pnav", str(Path(sys.executable).parent
                                                                                          / "pnav")))
    done = subprocess.run([analyze, "verify", str(tmp_path / "pnav@8001.service")], capture_output=True, text=True,
                          timeout=60 * UNIT)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """What /metrics of a running server shows."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('ops') / 'pnav.sqlite3'}"
    server = LiveServer(settings_for(url, "memory://")).start()
    try:
        yield httpx.get(f"{server.base}/metrics", timeout=10 * UNIT).text
    finally:
        server.stop()


def test_prometheus_files_name_real_metrics(exposition: str) -> None:
    """The scrape config and the alert rules parse, every alert has a severity and a French summary, and every
    metric an alert reads is one pnav (or prometheus-client's process collector) really exposes."""
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["metrics_path"] == "/metrics"
    rules = yaml.safe_load((DEPLOY / "pnav-alerts.yml").read_text())["groups"][0]["rules"]
    names = {alert["alert"] for alert in rules}
    assert {"PnavVisitorWaitingTooLong", "PnavStorageErrors"} <= names
    exposed = set(re.findall(r"^([a-z_]+)(?:\{| )", exposition, flags=re.MULTILINE))
    for alert in rules:
        assert alert["labels"]["severity"] in ("page", "warning")
        assert alert["annotations"]["summary"]
        for metric in re.findall(r"\b((?:pnav|process)_[a-z_]+)", alert["expr"]):
            assert metric in exposed, f"{alert['alert']} reads {metric}, which /metrics does not show"


def _tool(name: str) -> str:
    return str(_pg_bindir() / name)


def _pg(url: str) -> str:
    """The libpq form of an asyncpg URL (pg_dump, pg_restore)."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _create(postgres_url: str, name: str) -> str:
    connection = await asyncpg.connect(_pg(postgres_url))
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


async def _counts(server: LiveServer) -> dict[str, int]:
    async def count(state: Any) -> dict[str, int]:
        async with state.sessions() as session:
            return {model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
                    for model in (Conversation, Message, Signalement, AuditEvent)}

    return await server.call(count)


def _audit_verify(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PNAV_ENV": "test", "PNAV_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "pnav.cli", "audit", "verify"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60 * UNIT)


async def test_backup_restores_and_audit_verifies(postgres_url: str, keys: Keys, tmp_path: Path) -> None:
    """The runbook's backup and restore: a database with tchats and signalements is dumped (pg_dump -Fc), restored
    into a new database (pg_restore), holds the same rows, and `pnav audit verify` passes on the copy with the same
    head hash as on the original."""
    source = migrated(await _create(postgres_url, "pnav_backup_source"))
    server = LiveServer(settings_for(source, "memory://", extra=keys.extra())).start()
    try:
        for n in range(3):
            tchat = await taken_tchat(server, f"agent{n}")
            await tchat.visitor.send({"type": "send", "client_id": "m1", "body": f"Message {n}"})
            await tchat.visitor.expect("ack")
            if n < 2:
                form = await propose(tchat)
                assert (await consent(server, tchat.token, form["consent_version"])).status_code == 201
            await tchat.visitor.close()
            await tchat.console.close()
        before = await _counts(server)
    finally:
        server.stop()
    assert before["Signalement"] == 2 and before["Conversation"] == 3 and before["AuditEvent"] > 5

    dump = tmp_path / "pnav.dump"
    subprocess.run([_tool("pg_dump"), "--format=custom", f"--file={dump}", _pg(source)], check=True,
                   capture_output=True, timeout=120 * UNIT)
    restored = await _create(postgres_url, "pnav_backup_restored")
    subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={_pg(restored)}", str(dump)],
                   check=True, capture_output=True, timeout=120 * UNIT)

    original, copy = await asyncio.gather(asyncio.to_thread(_audit_verify, source),
                                          asyncio.to_thread(_audit_verify, restored))
    assert copy.returncode == 0, copy.stderr
    assert copy.stdout == original.stdout and str(before["AuditEvent"]) in copy.stdout
    check = LiveServer(settings_for(restored, "memory://", extra=keys.extra())).start()
    try:
        assert await _counts(check) == before
    finally:
        check.stop()
