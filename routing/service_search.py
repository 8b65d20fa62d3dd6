"""``pnav services search QUERY``: the ids of local services (commissariats, brigades) to give to
``pnav users create --service``, found by postal code, commune or service name.

A postal code or a commune gives the services competent there (as a signalement from that place would be sent);
words match the names of services too. Accents and case do not matter.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TextIO

from routing.data import tables
from routing.errors import RoutingError
from routing.models import FORCES, LocalService
from routing.names import fold, place_tokens
from routing.postal import lookup
from routing.services import local_service

# Enough lines to find the right service on a terminal; a vaguer query is told to be more precise.
MAX_RESULTS = 25


@dataclass(frozen=True)
class Found:
    service: LocalService
    why: str  # « code postal 75011, Paris 11e Arrondissement » or « nom du service »


def _competent(insee: str) -> list[LocalService]:
    return [s for s in (local_service(insee, force) for force in FORCES) if s is not None]


def search(query: str) -> list[Found]:
    """Services competent for a postal code or a commune of that name, then services whose name has every word."""
    text = query.strip()
    found: list[Found] = []
    seen: set[str] = set()

    def add(service: LocalService, why: str) -> None:
        if service.id not in seen:
            seen.add(service.id)
            found.append(Found(service, why))

    compact = text.replace(" ", "")
    if len(compact) == 5 and compact.isdigit():
        try:
            communes = lookup(compact).communes
        except RoutingError:
            communes = ()
        for commune in communes:
            for service in _competent(commune.insee):
                add(service, f"code postal {compact}, {commune.name} ({commune.department})")
        return found
    wanted = fold(text)
    if not wanted:
        return []
    everything = tables()
    for record in sorted(everything.communes.values(), key=lambda r: -r.population):
        if fold(record.commune.name) == wanted:
            for service in _competent(record.commune.insee):
                add(service, f"commune {record.commune.name} ({record.commune.department})")
    # The words that place a service (« paris 11 », « baccarat »): kind words (brigade, commissariat…) and ordinal
    # suffixes do not count; a word of four letters or more may be the start of one (« bacca »).
    placed = place_tokens(text)
    words = placed or frozenset(wanted.split())
    for service in sorted(everything.services.values(), key=lambda s: s.name):
        name = place_tokens(service.name) if placed else frozenset(fold(service.name).split())
        if all(word in name or (len(word) > 3 and any(n.startswith(word) for n in name)) for word in words):
            add(service, "nom du service")
    return found


def main_services(argv: list[str], *, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    parser = argparse.ArgumentParser(prog="pnav services", description="Trouver l'identifiant d'un service local.")
    sub = parser.add_subparsers(dest="command", required=True)
    find = sub.add_parser("search", help="par code postal, commune ou nom du service")
    find.add_argument("query", nargs="+")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    query = " ".join(args.query)
    found = search(query)
    if not found:
        print(f"pnav services : aucun service local trouvé pour « {query} » (code postal, commune ou nom)",
              file=sys.stderr)
        return 1
    for item in found[:MAX_RESULTS]:
        s = item.service
        print(f"{s.id}\t{s.force}\t{s.name}\t{item.why}", file=stdout)
    if len(found) > MAX_RESULTS:
        print(f"… et {len(found) - MAX_RESULTS} autres : précisez la recherche.", file=stdout)
    return 0
