"""Turn the parsed source files into the compact tables shipped in `routing/data/`.

Rules (see routing/README.md for the reasons):
- a commune listed PN is police; listed GN, or absent from the competence data, is gendarmerie;
- listed both PN and GN (competence split inside the commune): police, both services kept, marked approximate;
- listed with an empty institution: police, nearest commissariat, marked approximate;
- gendarmerie service: the brigade the competence file names; else the brigade located in the commune;
  else the nearest brigade of the département by the commune's point (approximate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from routing.geo import Point, nearest
from routing.names import DirectoryUnit, fold, match_unit, place_tokens, slug
from routing.sources import ARRONDISSEMENT_PARENTS, CogCommune, CompetenceRow, DirectoryRow

ROUTABLE_KINDS = ("commune-actuelle", "arrondissement-municipal")
SUPPORT_KINDS = ("bav", "cidf", "mjd", "permanence_juridique")

Row = dict[str, str]


@dataclass
class Sources:
    """Everything the build reads, already parsed."""

    communes: list[CogCommune]
    competence: list[CompetenceRow]
    points: dict[str, Point]
    forces: list[DirectoryRow]
    support: list[DirectoryRow]
    chef_lieux: dict[str, str]
    helplines: list[Row]
    departments: list[Row]


@dataclass
class Compact:
    """The rows of the compact files, and counts worth reporting."""

    communes: list[Row] = field(default_factory=list)
    postal_codes: list[Row] = field(default_factory=list)
    services: list[Row] = field(default_factory=list)
    support: list[Row] = field(default_factory=list)
    helplines: list[Row] = field(default_factory=list)
    departments: list[Row] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _fmt(point: Point | None) -> tuple[str, str]:
    return (f"{point[0]:.5f}", f"{point[1]:.5f}") if point else ("", "")  # 5 decimals: about one metre


class _Builder:
    def __init__(self, sources: Sources) -> None:
        self.src = sources
        self.parent = {c.insee: c.parent for c in sources.communes if c.parent and c.kind not in ROUTABLE_KINDS}
        self.routable = [
            c for c in sources.communes
            if c.kind in ROUTABLE_KINDS and c.insee not in ARRONDISSEMENT_PARENTS and c.postal_codes
        ]
        self.by_insee = {c.insee: c for c in self.routable}
        self.out = Compact()
        self.services: dict[str, Row] = {}
        self.by_postal_code: dict[str, list[str]] = defaultdict(list)
        for commune in self.routable:
            for code in commune.postal_codes:
                self.by_postal_code[code].append(commune.insee)
        self.points = {c.insee: self._point(c) for c in self.routable}
        self.units_cache = {c: self.units(c) for c in ("gendarmerie", "commissariat_police")}

    def current(self, insee: str) -> str:
        return self.parent.get(insee, insee)

    def _point(self, commune: CogCommune) -> Point | None:
        points = self.src.points
        if commune.insee in points:
            return points[commune.insee]
        self.out.stats["communes_without_point"] += 1
        for code in sorted(commune.postal_codes):  # another commune sharing a postal code (SOURCES.md §10)
            for other in self.by_postal_code[code]:
                if other in points:
                    return points[other]
        chef_lieu = self.src.chef_lieux.get(commune.department, "")
        return points.get(chef_lieu)

    def units(self, category: str) -> dict[str, list[tuple[DirectoryUnit, DirectoryRow]]]:
        by_department: dict[str, list[tuple[DirectoryUnit, DirectoryRow]]] = defaultdict(list)
        for row in self.src.forces:
            if row.category != category:
                continue
            insee = self.current(row.insee)
            commune = self.by_insee.get(insee)
            department = commune.department if commune else row.department
            unit = DirectoryUnit(
                row.id, row.name, insee, commune.name if commune else "", commune.population if commune else 0
            )
            by_department[department].append((unit, row))
        return by_department

    def add_directory_service(self, row: DirectoryRow, force: str, insee: str) -> str:
        self.services.setdefault(row.id, {
            "id": row.id, "name": row.name, "force": force, "address": row.address,
            "phone": row.phone, "insee": insee,
        })
        return row.id

    def add_named_service(self, service_id: str, name: str, force: str) -> str:
        self.services.setdefault(service_id, {
            "id": service_id, "name": name, "force": force, "address": "", "phone": "", "insee": "",
        })
        return service_id

    def named_services(self, rows: Sequence[CompetenceRow], institution: str, category: str) -> dict[str, str]:
        """INSEE -> service id for the competence rows of one institution."""
        force = "police" if institution == "PN" else "gendarmerie"
        units = self.units(category)
        groups: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for row in rows:
            if row.institution == institution and row.insee in self.by_insee:
                department = self.by_insee[row.insee].department
                groups[(department, row.service, row.service_id)].add(row.insee)
        result: dict[str, str] = {}
        for (department, name, source_id), served in sorted(groups.items()):
            pool = units.get(department, [])
            unit = match_unit(name, served, [u for u, _ in pool])
            if unit is None:  # a service named after a town of the next département (Tarascon for Beaucaire)
                everywhere = [pair for pairs in units.values() for pair in pairs]
                exact = [u for u, _ in everywhere if place_tokens(u.name) == place_tokens(name)]
                unit, pool = (exact[0], everywhere) if len(exact) == 1 else (None, pool)
            if unit is not None:
                row_of = {u.id: r for u, r in pool}
                service_id = self.add_directory_service(row_of[unit.id], force, unit.insee)
                self.out.stats[f"{force}_services_matched"] += 1
            else:
                prefix = "pn" if force == "police" else "gn"
                local = source_id if source_id not in ("", "0") else f"{department}:{slug(name)}"
                service_id = self.add_named_service(f"{prefix}:{local}", name, force)
                self.out.stats[f"{force}_services_unmatched"] += 1
            result.update(dict.fromkeys(served, service_id))
        return result

    def located(self, category: str, commune: CogCommune) -> tuple[str, bool] | None:
        """The unit in the commune (exact), else the nearest of its département (approximate)."""
        pool = self.units_cache[category].get(commune.department, [])
        inside = sorted((r for u, r in pool if u.insee == commune.insee), key=lambda r: r.id)
        force = "police" if category == "commissariat_police" else "gendarmerie"
        if inside:
            return self.add_directory_service(inside[0], force, commune.insee), False
        origin = self.points[commune.insee]
        if origin is None:
            return None
        row = nearest(origin, ((r, r.point) for _, r in pool if r.point is not None))
        if row is None:
            return None
        return self.add_directory_service(row, force, self.current(row.insee)), True

    def build(self) -> Compact:
        competence: dict[str, set[str]] = defaultdict(set)
        for row in self.src.competence:
            competence[self.current(row.insee)].add(row.institution)
        pn = self.named_services(self.src.competence, "PN", "commissariat_police")
        gn = self.named_services(self.src.competence, "GN", "gendarmerie")
        for commune in sorted(self.routable, key=lambda c: c.insee):
            self.out.communes.append(self.commune_row(commune, competence.get(commune.insee, set()), pn, gn))
        for unit, brigade in (pair for pool in self.units_cache["gendarmerie"].values() for pair in pool):
            self.add_directory_service(brigade, "gendarmerie", unit.insee)  # every brigade can hold accounts
        for code, members in sorted(self.by_postal_code.items()):  # display order: by name without accents
            ordered = sorted(dict.fromkeys(members), key=lambda i: (fold(self.by_insee[i].name), i))
            self.out.postal_codes.append({"postal_code": code, "communes": "|".join(ordered)})
        self.out.services = sorted(self.services.values(), key=lambda r: r["id"])
        self.out.support = self.support_rows()
        self.out.helplines = list(self.src.helplines)
        self.out.departments = list(self.src.departments)
        return self.out

    def commune_row(self, commune: CogCommune, institutions: set[str], pn: dict[str, str], gn: dict[str, str]) -> Row:
        rule = "split" if {"PN", "GN"} <= institutions else ("undetermined" if institutions == {""} else "")
        force = "police" if "PN" in institutions or rule == "undetermined" else "gendarmerie"
        self.out.stats[f"communes_{rule or force}"] += 1
        pn_service, pn_approx = pn.get(commune.insee, ""), rule != ""
        if rule == "undetermined":
            found = self.located("commissariat_police", commune)
            pn_service = found[0] if found else ""
        gn_service, gn_approx = "", rule != ""
        if force == "gendarmerie" or rule:
            if commune.insee in gn:
                gn_service = gn[commune.insee]
            elif (found := self.located("gendarmerie", commune)) is not None:
                gn_service, gn_approx = found[0], found[1] or gn_approx
            else:
                self.out.stats["gendarmerie_communes_without_brigade"] += 1
        lat, lon = _fmt(self.points[commune.insee])
        return {
            "insee": commune.insee, "name": commune.name, "department": commune.department,
            "population": str(commune.population), "force": force, "rule": rule,
            "pn_service": pn_service, "pn_approx": "1" if pn_approx and pn_service else "",
            "gn_service": gn_service, "gn_approx": "1" if gn_approx and gn_service else "",
            "lat": lat, "lon": lon,
        }

    def support_rows(self) -> list[Row]:
        rows = []
        for row in self.src.support:
            if row.category not in SUPPORT_KINDS:
                continue
            point = row.point or self.points.get(self.current(row.insee))  # suspect coordinates: the commune's
            lat, lon = _fmt(point)
            rows.append({
                "id": row.id, "kind": row.category, "name": row.name, "address": row.address,
                "phone": row.phone, "contact": row.contact, "lat": lat, "lon": lon,
            })
        return sorted(rows, key=lambda r: r["id"])


def build(sources: Sources) -> Compact:
    """Compute the compact tables from parsed sources."""
    return _Builder(sources).build()
