"""The documented PostgreSQL setup (deploy/postgresql-roles.sql, run with psql as the README says): the
application's role appends to the audit log and works on the other tables, but cannot UPDATE, DELETE or TRUNCATE
audit entries."""

from __future__ import annotations

import subprocess

import asyncpg
import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import ProgrammingError

from audit import keys, trail
from audit.models import AuditEvent
from chat.db import create_cli_engine, session_factory
from chat.settings import PROJECT_ROOT
from pnav.migrate import upgrade_async
from tests.servers import UNIT, _pg_bindir


async def _setup(postgres_url: str) -> tuple[str, str]:
    """Two roles and a database owned by the owner, as in deploy/README.md; returns (owner URL, app URL)."""
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute("DROP DATABASE IF EXISTS pnav_roles WITH (FORCE)")
        for role in ("pnav_roles_app", "pnav_roles_owner"):
            await admin.execute(f"DROP ROLE IF EXISTS {role}")
            await admin.execute(f"CREATE ROLE {role} LOGIN")
        await admin.execute("CREATE DATABASE pnav_roles OWNER pnav_roles_owner")
    finally:
        await admin.close()
    server = postgres_url.split("@", 1)[1].rsplit("/", 1)[0]
    return (f"postgresql+asyncpg://pnav_roles_owner@{server}/pnav_roles",
            f"postgresql+asyncpg://pnav_roles_app@{server}/pnav_roles")


async def test_app_role_cannot_rewrite_the_audit_log(postgres_url: str) -> None:
    owner, app = await _setup(postgres_url)
    await upgrade_async(owner)
    granted = subprocess.run([str(_pg_bindir() / "psql"), owner.replace("+asyncpg", ""), "-v", "app=pnav_roles_app",
                              "-v", "ON_ERROR_STOP=1", "-f", str(PROJECT_ROOT / "deploy" / "postgresql-roles.sql")],
                             capture_output=True, text=True, timeout=60 * UNIT)
    assert granted.returncode == 0, granted.stderr
    engine = create_cli_engine(app)
    sessions = keys.bind(session_factory(engine), keys.TEST_KEY)
    try:
        for n in range(3):
            await trail.record(sessions, actor="chef.un", action="test.grant", target=str(n))
        assert (await trail.verify(sessions)).checked == 3
        async with sessions.begin() as session:  # the other tables: read and write as usual
            await session.execute(text("UPDATE accounts SET disabled = disabled WHERE false"))
            await session.execute(text("DELETE FROM conversations WHERE false"))
        for statement in (update(AuditEvent).where(AuditEvent.seq == 2).values(target="autre"),
                          delete(AuditEvent).where(AuditEvent.seq == 3), text("TRUNCATE audit_events")):
            with pytest.raises(ProgrammingError, match="permission denied"):
                async with sessions.begin() as session:
                    await session.execute(statement)
        assert (await trail.verify(sessions)).checked == 3
    finally:
        await engine.dispose()
