"""Matching the service names of the competence file to the rows of the Service-Public.fr directory."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

# Words that say what kind of unit it is, not where it is; ordinals are reduced to their number.
_GENERIC = frozenset({
    "commissariat", "central", "centrale", "police", "nationale", "brigade", "gendarmerie", "bureau", "secteur",
    "arrondissement", "arrondissements", "agglomeration", "circonscription",
    "de", "d", "du", "des", "la", "le", "les", "l", "et",
})
_ORDINAL = re.compile(r"^(\d+)(?:er|e|eme|ere|nd)$")


def fold(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())


def slug(text: str) -> str:
    """A stable identifier fragment: `Commissariat de police d'Agde` -> `commissariat-de-police-d-agde`."""
    return fold(text).replace(" ", "-")


def place_tokens(name: str) -> frozenset[str]:
    """The words of a service name that locate it (`Lyon 1er et 4ème` -> {lyon, 1, 4})."""
    tokens = set()
    for word in fold(name).split():
        ordinal = _ORDINAL.match(word)
        word = ordinal.group(1) if ordinal else word
        if word not in _GENERIC:
            tokens.add(word)
    return frozenset(tokens)


@dataclass(frozen=True)
class DirectoryUnit:
    """One commissariat or brigade row of the directory, reduced to what matching needs."""

    id: str
    name: str
    insee: str
    commune_name: str
    population: int  # of its commune: the main site of a multi-site service is in its largest commune


def match_unit(service_name: str, served: Collection[str], units: Sequence[DirectoryUnit]) -> DirectoryUnit | None:
    """The directory unit that is the named service, or None.

    `units` are the units of the same force and département; `served` the INSEE codes the service covers.
    An exact match of the place words wins (a unit inside the served area first); otherwise the unit inside
    the served area whose name and commune share the most place words, then the one in the largest commune:
    a commissariat inside the area a service covers belongs to that service.
    """
    wanted = place_tokens(service_name)
    exact = [unit for unit in units if place_tokens(unit.name) == wanted]
    if exact:
        return min(exact, key=lambda unit: (unit.insee not in served, unit.id))
    inside = [unit for unit in units if unit.insee in served]
    if not inside:
        return None
    return min(
        inside,
        key=lambda unit: (
            -len(wanted & (place_tokens(unit.name) | place_tokens(unit.commune_name))),
            -unit.population,
            unit.id,
        ),
    )
