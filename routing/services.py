"""The local service (commissariat or gendarmerie brigade) competent for a commune."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from routing.data import tables
from routing.models import Force, LocalService


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
    return dataclasses.replace(service, approximate=approximate) if approximate else service


def local_services() -> Sequence[LocalService]:
    """Every service that can hold local_service accounts, sorted by id."""
    return tuple(tables().services.values())


def local_service_by_id(service_id: str) -> LocalService | None:
    """The service with that id, or None."""
    return tables().services.get(service_id)
