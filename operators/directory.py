"""Admins' corrections of the local services directory (name, phone, address), kept in the database and applied
to the routing package of every process: at start, after each change here, and every 30 s (the other processes)."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import routing
from audit import trail
from chat.db import utcnow
from chat.state import ChatState
from operators.models import ServiceOverride

log = logging.getLogger("pnav.operators")

# Another process's correction reaches this one within 30 s: a directory entry is read when a signalement is sent,
# minutes after a tchat started, and one small query per process every 30 s costs nothing.
REFRESH_SECONDS = 30.0
MAX_NAME, MAX_PHONE, MAX_ADDRESS = 200, 40, 300
_PHONE_RE = re.compile(r"^[0-9+ ().-]{2,40}$")


class DirectoryError(ValueError):
    """A correction that cannot be saved; the message is French."""


@dataclass(frozen=True)
class Entry:
    service: routing.LocalService
    shipped: routing.LocalService
    corrected: bool


async def corrections(sessions: async_sessionmaker[AsyncSession]) -> dict[str, routing.Correction]:
    async with sessions() as session:
        rows = await session.scalars(select(ServiceOverride))
        return {r.service_id: routing.Correction(r.name, r.phone, r.address) for r in rows}


async def apply(state: ChatState) -> None:
    routing.set_corrections(await corrections(state.sessions))


def entry(service_id: str) -> Entry | None:
    shipped = routing.shipped_service_by_id(service_id)
    service = routing.local_service_by_id(service_id)
    if shipped is None or service is None:
        return None
    return Entry(service, shipped, service != shipped)


def _clean(value: str, limit: int) -> str | None:
    text = " ".join(value.split())
    if len(text) > limit:
        raise DirectoryError(f"Ce champ est limité à {limit} caractères.")
    return text or None


async def save(state: ChatState, service_id: str, *, name: str, phone: str, address: str, by: str) -> None:
    if routing.shipped_service_by_id(service_id) is None:
        raise DirectoryError("Ce service n'existe pas dans l'annuaire.")
    clean_name = _clean(name, MAX_NAME)
    if clean_name is None:
        raise DirectoryError("Le nom du service est obligatoire.")
    clean_phone, clean_address = _clean(phone, MAX_PHONE), _clean(address, MAX_ADDRESS)
    if clean_phone is not None and not _PHONE_RE.match(clean_phone):
        raise DirectoryError("Le numéro de téléphone ne peut contenir que des chiffres, des espaces et + ( ) . -")
    async with state.sessions.begin() as session:
        row = await session.get(ServiceOverride, service_id)
        if row is None:
            session.add(ServiceOverride(service_id=service_id, name=clean_name, phone=clean_phone,
                                        address=clean_address, updated_by=by, updated_at=utcnow()))
        else:
            row.name, row.phone, row.address, row.updated_by, row.updated_at = (
                clean_name, clean_phone, clean_address, by, utcnow())
        await trail.record(session, actor=by, action="directory.service_changed", target=service_id,
                           details={"name": clean_name, "phone": clean_phone, "address": clean_address})
    await apply(state)


async def revert(state: ChatState, service_id: str, *, by: str) -> None:
    """Back to the shipped entry."""
    async with state.sessions.begin() as session:
        await session.execute(delete(ServiceOverride).where(ServiceOverride.service_id == service_id))
        await trail.record(session, actor=by, action="directory.service_reverted", target=service_id)
    await apply(state)


async def directory_refresher(state: ChatState) -> None:
    """Background task: every process applies the corrections made anywhere."""
    while True:
        try:
            await apply(state)
        except (SQLAlchemyError, OSError) as exc:  # the database is unreachable: keep the last corrections known
            log.warning("directory refresh failed: %s", type(exc).__name__)
        await asyncio.sleep(REFRESH_SECONDS)
