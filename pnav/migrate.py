"""Bring a database to the latest schema with the migrations under ``pnav/migrations/`` (shipped in the wheel)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> list[str]:
    """Apply every package's migration branch (``heads``): packages own their tables independently.

    Returns the revisions applied, in order: empty when the database was already at the latest schema."""
    config = alembic_config(database_url)
    applied: list[str] = []
    config.attributes["applied"] = applied  # filled by env.py as each migration commits its step
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(config, "heads")
        return applied
    # Called from async code (tests, demo setup): Alembic's env runs its own event loop, so use a thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(command.upgrade, config, "heads").result()
    return applied


async def upgrade_async(database_url: str) -> list[str]:
    return await asyncio.to_thread(upgrade, database_url)
