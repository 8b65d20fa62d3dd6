"""Load the compact files of `routing/data/` once, lazily, into in-memory dictionaries."""

from __future__ import annotations

import csv
import gzip
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from routing.geo import Point
from routing.models import Commune, Force, Helpline, LocalService, PostalCodeRouting

DATA_DIR = Path(__file__).resolve().parent / "data"
FILES = {
    "communes": "communes.csv.gz",
    "postal_codes": "postal_codes.csv.gz",
    "services": "services.csv.gz",
    "support": "support_points.csv.gz",
    # Copied as it is from the shared data set (SOURCES.md §9b): the wording a visitor or an operator reads.
    "helplines": "numeros_nationaux_affichage.csv",
    "departments": "departments.csv",
}


@dataclass(frozen=True)
class CommuneRecord:
    """A commune and what routing needs about it beyond the public Commune."""

    commune: Commune
    population: int
    rule: str  # "" (source decides), "split" (PN and GN in the commune) or "undetermined" (empty institution)
    pn_service: str
    pn_approx: bool
    gn_service: str
    gn_approx: bool
    point: Point | None


@dataclass(frozen=True)
class SupportRecord:
    """A support point row with its coordinates."""

    id: str
    kind: str
    name: str
    address: str
    phone: str
    contact: str
    point: Point | None


@dataclass(frozen=True)
class Tables:
    """All routing data, indexed for dictionary lookups."""

    communes: dict[str, CommuneRecord]
    postal_codes: dict[str, PostalCodeRouting]
    services: dict[str, LocalService]
    support: tuple[SupportRecord, ...]
    helplines: dict[str, Helpline]
    departments: dict[str, str]  # code -> name ("54" -> "Meurthe-et-Moselle")
    postal_codes_of: dict[str, tuple[str, ...]]  # INSEE code -> the postal codes its communes use, sorted


def _read(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    text = gzip.decompress(raw).decode("utf-8") if path.suffix == ".gz" else raw.decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _read_tuples(path: Path) -> list[list[str]]:
    """Rows without their header: faster than DictReader for the 35,000 communes."""
    rows = list(csv.reader(io.StringIO(gzip.decompress(path.read_bytes()).decode("utf-8"))))
    return rows[1:]


def _point(lat: str, lon: str) -> Point | None:
    return (float(lat), float(lon)) if lat and lon else None


def _force(value: str) -> Force | None:
    return cast(Force, value) if value in ("police", "gendarmerie") else None


def load_tables(data_dir: Path = DATA_DIR) -> Tables:
    """Read every compact file of data_dir (no caching: use tables() in application code)."""
    communes: dict[str, CommuneRecord] = {}
    for insee, name, department, population, force, rule, pn, pn_approx, gn, gn_approx, lat, lon in _read_tuples(
        data_dir / FILES["communes"]
    ):
        communes[insee] = CommuneRecord(
            Commune(insee, name, department, _force(force)), int(population or 0), rule,
            pn, pn_approx == "1", gn, gn_approx == "1", _point(lat, lon),
        )
    postal_codes = {}
    for code, members in _read_tuples(data_dir / FILES["postal_codes"]):  # communes already in display order
        listed = tuple(communes[insee].commune for insee in members.split("|"))
        forces = {c.force for c in listed}
        postal_codes[code] = PostalCodeRouting(code, listed, forces.pop() if len(forces) == 1 else None)
    services = {
        row["id"]: LocalService(
            id=row["id"], name=row["name"], force=cast(Force, row["force"]), address=row["address"] or None,
            phone=row["phone"] or None, insee=row["insee"] or None, approximate=False,
        )
        for row in _read(data_dir / FILES["services"])
    }
    support = tuple(
        SupportRecord(r["id"], r["kind"], r["name"], r["address"], r["phone"], r["contact"], _point(r["lat"], r["lon"]))
        for r in _read(data_dir / FILES["support"])
    )
    helplines = {
        row["numero"]: Helpline(row["numero"], row["nom"], row["disponibilite"], row["cout"], row["canaux"])
        for row in _read(data_dir / FILES["helplines"])
    }
    departments = {row["code"]: row["name"] for row in _read(data_dir / FILES["departments"])}
    codes_of: dict[str, list[str]] = {}
    for code, routing in postal_codes.items():
        for commune in routing.communes:
            codes_of.setdefault(commune.insee, []).append(code)
    postal_codes_of = {insee: tuple(sorted(codes)) for insee, codes in codes_of.items()}
    return Tables(communes, postal_codes, services, support, helplines, departments, postal_codes_of)


_lock = threading.Lock()
_tables: Tables | None = None


def tables() -> Tables:
    """The routing tables, loaded on first use and then shared (thread-safe)."""
    global _tables
    if _tables is None:
        with _lock:
            if _tables is None:
                _tables = load_tables()
    return _tables


def reset_cache() -> None:
    """Forget the loaded tables (after an import rewrote the files)."""
    global _tables
    with _lock:
        _tables = None
