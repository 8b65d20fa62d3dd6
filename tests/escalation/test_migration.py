"""The hand-written escalation migration creates exactly the tables the models describe, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from chat.db import create_cli_engine
from pnav.registry import metadata

OWN_TABLES = {"signalement_proposals", "signalements", "signalement_events", "sealed_identities", "lifting_requests",
              "audit_events", "webhook_deliveries", "signalement_attachments"}


def _tables_named(diff: Any) -> set[str]:
    """Every table a diff entry mentions (a table, a column's table, an index's or constraint's table)."""
    found: set[str] = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item[1:]:
            table = getattr(part, "table", None)
            if table is not None and getattr(table, "name", None):
                found.add(str(table.name))
            elif isinstance(part, str):
                found.add(part)
            elif getattr(part, "name", None):
                found.add(str(part.name))
    return found


async def test_migration_matches_models(db_url: str) -> None:
    """Alembic's autogenerate finds no difference between the migrated schema and the escalation models."""
    engine = create_cli_engine(db_url)

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata()) if _tables_named(d) & OWN_TABLES]

    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(compare)
    finally:
        await engine.dispose()
    assert {t.name for t in metadata().sorted_tables} >= OWN_TABLES
    assert diffs == []
