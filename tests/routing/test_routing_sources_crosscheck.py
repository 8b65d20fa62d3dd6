"""Cross-check the shipped compact data against the whole shared data set (skipped without /work/shared)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from routing.data import tables

SHARED = Path("/work/shared/data")
FORCE = {"PN": "police", "GN": "gendarmerie", "PN+GN": "police", "INDETERMINE": "police"}

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder absent (fresh clone)")


def _rows(name: str) -> list[dict[str, str]]:
    with (SHARED / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_postal_code_pair_and_force_matches_file_6() -> None:
    """Every (postal code, commune) of routage_code_postal_force.csv is shipped, with the same force."""
    expected: dict[str, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for row in _rows("routage_code_postal_force.csv"):
        expected[row["code_postal"]][row["code_insee"]] = (
            row["nom_commune"], row["code_departement"], FORCE[row["force"]])
    shipped = tables().postal_codes
    assert set(shipped) == set(expected)
    for code, communes in expected.items():
        got = {c.insee: (c.name, c.department, c.force) for c in shipped[code].communes}
        assert got == communes, code


def test_every_pn_commune_has_its_named_service() -> None:
    """Each PN commune's police service carries the name of the source or of its directory row."""
    services = tables().services
    for row in _rows("competence_zpn_communes.csv"):
        record = tables().communes[row["code_insee"]]
        service = services[record.pn_service]
        assert service.force == "police"
        if row["institution"] == "PN" and service.id.startswith("pn:"):
            assert service.name == row["service_pn"]


def test_helplines_match_file_9b() -> None:
    """The eight national numbers of file 9 are shipped, in the words of file 9b (its 114 row's last column holds an
    unquoted comma: the rest of the line belongs to it)."""
    shipped = tables().helplines
    assert set(shipped) == {row["numero"] for row in _rows("numeros_nationaux.csv")}
    with (SHARED / "numeros_nationaux_affichage.csv").open(encoding="utf-8", newline="") as handle:
        for number, name, availability, cost, *channels in list(csv.reader(handle))[1:]:
            line = shipped[number]
            assert (line.name, line.availability, line.cost, line.channels) == (name, availability, cost,
                                                                                ",".join(channels))


def test_support_points_match_file_8() -> None:
    """Every BAV, CIDFF, MJD and legal advice point is shipped; suspect coordinates are not."""
    shipped = {s.id: s for s in tables().support}
    for row in _rows("aide_victimes_acces_droit_annuaire2020.csv"):
        if row["categorie"] == "civi":
            assert row["id_annuaire"] not in shipped
            continue
        point = shipped[row["id_annuaire"]].point
        if row["coord_suspecte"] or not row["latitude"]:
            assert point is None or point != (float(row["latitude"] or 0), float(row["longitude"] or 0))
        else:
            assert point == pytest.approx((float(row["latitude"]), float(row["longitude"])), abs=1e-5)
