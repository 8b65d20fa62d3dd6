"""Postal code -> communes -> competent force, and the commune a conversation is routed to."""

from __future__ import annotations

from routing.data import tables
from routing.errors import CommuneRequired, InseeNotInPostalCode, InvalidPostalCode, UnknownPostalCode
from routing.models import PostalCodeRouting, Resolution
from routing.services import local_service

NO_POSTAL_CODE = (
    "Indiquez un code postal (5 chiffres, par exemple 75011), cherchez votre commune par son nom, ou commencez "
    "sans dire où vous êtes."
)


def lookup(postal_code: str) -> PostalCodeRouting:
    """The communes of a postal code and, when they all share one, the competent force."""
    # Written the French way ("54 120", or with a non-breaking space) it is still the code 54120.
    code = "".join(postal_code.split())
    if not code:
        raise InvalidPostalCode(NO_POSTAL_CODE)
    if len(code) != 5 or not (code.isascii() and code.isdigit()):
        raise InvalidPostalCode()
    routing = tables().postal_codes.get(code)
    if routing is None:
        raise UnknownPostalCode()
    return routing


def resolve(postal_code: str, insee: str | None) -> Resolution:
    """The commune, force and local service of a conversation.

    Without insee: a postal code whose communes are not all under one force raises CommuneRequired; one whose
    communes share a force goes to its most populous commune, with `inferred` set.
    """
    routing = lookup(postal_code)
    if insee is not None:
        chosen = next((c for c in routing.communes if c.insee == insee.strip()), None)
        if chosen is None:
            raise InseeNotInPostalCode()
        inferred = False
    elif routing.force is None:
        raise CommuneRequired(routing.communes)
    else:
        records = tables().communes
        chosen = max(routing.communes, key=lambda c: (records[c.insee].population, c.insee))
        inferred = len(routing.communes) > 1
    force = chosen.force if chosen.force is not None else "gendarmerie"  # not reached with shipped data
    return Resolution(
        postal_code=routing.postal_code,
        insee=chosen.insee,
        commune_name=chosen.name,
        department=chosen.department,
        force=force,
        local_service=local_service(chosen.insee, force),
        inferred=inferred,
    )
