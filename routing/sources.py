"""Readers for the official source files (COG communes, competence, directory, helplines)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HELPLINE_COLUMNS = ("numero", "nom", "disponibilite", "cout", "canaux")
ARRONDISSEMENT_PARENTS = frozenset({"75056", "13055", "69123"})  # Paris, Marseille, Lyon: routed by arrondissement


@dataclass(frozen=True)
class CogCommune:
    """A row of the COG commune file (`communes_cog2026.csv` format)."""

    insee: str
    name: str
    kind: str
    department: str
    population: int
    postal_codes: tuple[str, ...]
    parent: str


@dataclass(frozen=True)
class CompetenceRow:
    """One (commune, institution, service) row of the competence data."""

    insee: str
    name: str
    institution: str  # "PN", "GN" or "" when the source leaves it empty
    service: str
    service_id: str


@dataclass(frozen=True)
class DirectoryRow:
    """A row of the Service-Public.fr directory extract (forces or victim-support points)."""

    id: str
    category: str
    name: str
    insee: str
    department: str
    address: str
    phone: str
    contact: str
    point: tuple[float, float] | None  # None when missing or flagged suspect


def _rows(path: Path, delimiter: str = ",") -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=delimiter)


def read_cog_communes(path: Path) -> list[CogCommune]:
    """Every row of a COG commune file."""
    return [
        CogCommune(
            insee=row["code_insee"],
            name=row["nom"],
            kind=row["type"],
            department=row["code_departement"],
            population=int(row["population"] or 0),
            postal_codes=tuple(code for code in row["codes_postaux"].split("|") if code),
            parent=row["code_commune_parente"],
        )
        for row in _rows(path)
    ]


def read_official_competence(path: Path) -> list[CompetenceRow]:
    """The data.gouv.fr competence file in its original `;`-separated format (PN and GN rows)."""
    return [
        CompetenceRow(
            insee=row["code_commune"].strip(),
            name=row["libelle_commune"].strip(),
            institution=row["institution"].strip().upper(),
            service=row["service"].strip(),
            service_id=row["id_service"].strip(),
        )
        for row in _rows(path, delimiter=";")
    ]


def read_zpn_competence(path: Path) -> list[CompetenceRow]:
    """The PN-only transcription (`competence_zpn_communes.csv`): PN rows, the GN half of mixed rows, empty rows."""
    result = []
    for row in _rows(path):
        insee, name = row["code_insee"], row["libelle_commune"]
        result.append(CompetenceRow(insee, name, row["institution"], row["service_pn"], ""))
        if row["mixte_gn_service"]:
            result.append(CompetenceRow(insee, name, "GN", row["mixte_gn_service"], row["mixte_gn_id_service"]))
    return result


def read_points(path: Path) -> dict[str, tuple[float, float]]:
    """Town-hall point of each commune (`communes_coordonnees.csv` format)."""
    return {row["code_insee"]: (float(row["latitude"]), float(row["longitude"])) for row in _rows(path)}


def read_directory(path: Path) -> list[DirectoryRow]:
    """Directory rows; coordinates are dropped when absent or flagged `coord_suspecte`."""
    result = []
    for row in _rows(path):
        point = None
        if row["latitude"] and row["longitude"] and not row.get("coord_suspecte"):
            point = (float(row["latitude"]), float(row["longitude"]))
        result.append(
            DirectoryRow(
                id=row["id_annuaire"],
                category=row["categorie"],
                name=row["nom"],
                insee=row["code_insee"],
                department=row["code_departement"],
                address=row["adresse"],
                phone=row["telephone"],
                contact=row["email_ou_url"],
                point=point,
            )
        )
    return result


def read_chef_lieux(path: Path) -> dict[str, str]:
    """Département code -> INSEE code of its chef-lieu (`departements.csv` format)."""
    return {row["code_departement"]: row["code_commune_chef_lieu"] for row in _rows(path)}


def read_helplines(path: Path) -> list[dict[str, str]]:
    """Rows of `numeros_nationaux_affichage.csv` (the wording a person reads), kept as they are.

    The last column (`canaux`) is free text that may hold an unquoted comma (the shared file's 114 row does):
    whatever follows the fourth comma belongs to it."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, *body = list(csv.reader(handle))
    if tuple(header) != HELPLINE_COLUMNS:
        raise ValueError(f"{path.name}: columns {header} instead of {list(HELPLINE_COLUMNS)}")
    rows = []
    for fields in body:
        if not fields:
            continue
        last = len(HELPLINE_COLUMNS) - 1
        row = dict(zip(HELPLINE_COLUMNS, [*fields[:last], ",".join(fields[last:])], strict=True))
        missing = [column for column in HELPLINE_COLUMNS if not row[column].strip()]
        if missing:
            raise ValueError(f"{path.name}: number {row['numero']!r} lacks {', '.join(missing)}")
        rows.append(row)
    return rows


def read_department_names(path: Path) -> list[dict[str, str]]:
    """Département code and name (`departements.csv` format), in code order."""
    return sorted(({"code": row["code_departement"], "name": row["nom"]} for row in _rows(path)),
                  key=lambda row: row["code"])
