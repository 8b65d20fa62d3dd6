"""Value types of the routing package: communes, postal codes, services, support points, helplines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Force = Literal["police", "gendarmerie"]
Category = Literal["sexual_violence", "domestic_violence", "discrimination_hate"]
FORCES: tuple[Force, ...] = ("police", "gendarmerie")
CATEGORIES: tuple[Category, ...] = ("sexual_violence", "domestic_violence", "discrimination_hate")


@dataclass(frozen=True)
class Commune:
    """A current commune or municipal arrondissement, with the force competent for it."""

    insee: str
    name: str
    department: str
    force: Force | None  # always set with the shipped data; None is kept for a source that cannot decide

    def as_json(self) -> dict[str, object]:
        return {"insee": self.insee, "name": self.name, "department": self.department, "force": self.force}


@dataclass(frozen=True)
class PostalCodeRouting:
    """The communes a postal code covers, and the force when they all share one."""

    postal_code: str
    communes: tuple[Commune, ...]
    force: Force | None

    def as_json(self) -> dict[str, object]:
        return {
            "postal_code": self.postal_code,
            "communes": [commune.as_json() for commune in self.communes],
            "force": self.force,
        }


@dataclass(frozen=True)
class LocalService:
    """A commissariat or gendarmerie brigade that receives the signalements of its territory."""

    id: str
    name: str
    force: Force
    address: str | None
    phone: str | None
    insee: str | None
    approximate: bool  # True when the competence data do not name this exact service for the commune


@dataclass(frozen=True)
class Resolution:
    """Where a conversation goes: the commune, its force and its competent local service."""

    postal_code: str
    insee: str
    commune_name: str
    department: str
    force: Force
    local_service: LocalService | None
    inferred: bool = False  # True when the visitor did not pick the commune (several communes, one force)


@dataclass(frozen=True)
class SupportPoint:
    """A victim-support or access-to-law point of the Service-Public.fr directory."""

    id: str
    kind: str
    kind_label: str
    name: str
    address: str | None
    phone: str | None
    contact: str | None
    distance_km: float | None


@dataclass(frozen=True)
class Helpline:
    """A national helpline or emergency number, in the words a person reads (numeros_nationaux_affichage.csv)."""

    number: str
    name: str
    availability: str
    cost: str
    channels: str

    def as_json(self) -> dict[str, str]:
        """A card item: the visitor's page draws a call link, or an SMS link for a number reached by text (114)."""
        item = {"number": self.number, "name": self.name, "availability": self.availability, "cost": self.cost,
                "channels": self.channels}
        if self.channels.lower().startswith("sms"):
            item["sms"] = self.number
        return item
