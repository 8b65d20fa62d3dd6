"""Bring a database to the latest schema with the migrations under alembic/."""

from __future__ import annotations

import asyncio

from alembic.config import Config

from alembic import command
from chat.settings import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Apply every package's migration branch (``heads``): packages own their tables independently."""
    command.upgrade(alembic_config(database_url), "heads")


async def upgrade_async(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
