"""The local service (commissariat or gendarmerie brigade) competent for a commune.

The shipped directory can be corrected without a deploy (name, phone, address): the operators package keeps the
corrections an admin made in the database and hands them here with ``set_corrections``; every reader below sees the
corrected service. Competence (which service for which commune) is never changed this way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from routing.data import tables
from routing.models import Force, LocalService


@dataclass(frozen=True)
class Correction:
    """What an admin changed in a service's entry; the rest (id, force, commune) stays as shipped."""

    name: str
    phone: str | None
    address: str | None


_corrections: dict[str, Correction] = {}


def set_corrections(corrections: Mapping[str, Correction]) -> None:
    """Replace every correction at once (the set read from the database)."""
    global _corrections
    _corrections = dict(corrections)


def _corrected(service: LocalService) -> LocalService:
    fix = _corrections.get(service.id)
    if fix is None:
        return service
    return dataclasses.replace(service, name=fix.name, phone=fix.phone, address=fix.address)


def local_service(insee: str, force: Force) -> LocalService | None:
    """The service of that force competent for the commune; None when that force is not competent there.

    `approximate` is True when the competence data do not name this service for this commune: nearest
    brigade, commune whose competence is split between both forces, or undetermined in the source.
    """
    record = tables().communes.get(insee)
    if record is None:
        return None
    service_id, approximate = (
        (record.pn_service, record.pn_approx) if force == "police" else (record.gn_service, record.gn_approx)
    )
    service = tables().services.get(service_id)
    if service is None:
        return None
    service = _corrected(service)
    return dataclasses.replace(service, approximate=approximate) if approximate else service


def local_services() -> Sequence[LocalService]:
    """Every service that can hold local_service accounts, sorted by id."""
    return tuple(_corrected(s) for s in tables().services.values())


def local_service_by_id(service_id: str) -> LocalService | None:
    """The service with that id, or None."""
    service = tables().services.get(service_id)
    return _corrected(service) if service is not None else None


def shipped_service_by_id(service_id: str) -> LocalService | None:
    """The service as the shipped data describe it, before any correction."""
    return tables().services.get(service_id)
