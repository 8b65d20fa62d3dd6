"""The hand-written operators migration creates exactly the tables the models describe, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from chat.db import create_cli_engine
from pnav.registry import metadata

OWN_TABLES = {"accounts", "account_sessions", "canned_answers", "psychologist_invitations", "conversation_transfers",
              "account_links", "psychologist_hours", "local_service_overrides", "whispers", "routing_modes", "offers",
              "closing_notes"}


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str) and part in OWN_TABLES:
            return part
        if name in OWN_TABLES:
            return str(name)
    return None


async def test_migration_matches_models(db_url: str) -> None:
    """Alembic's autogenerate finds no difference between the migrated schema and the operators models."""
    engine = create_cli_engine(db_url)

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata()) if _table_of(d) in OWN_TABLES]

    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(compare)
    finally:
        await engine.dispose()
    assert {t.name for t in metadata().sorted_tables} >= OWN_TABLES
    assert diffs == []
