"""Rebuilding the compact data from source files, including the official `;`-separated competence file."""

from __future__ import annotations

from pathlib import Path

from routing.data import load_tables
from routing.importer import import_data, main_import

FIXTURES = Path(__file__).parent / "fixtures"


def test_import_official_competence_makes_brigades_exact(tmp_path: Path) -> None:
    """With the official file, each GN commune gets the brigade the source names, not the nearest one."""
    import_data(FIXTURES / "competence_officielle.csv", None, None, sources_dir=FIXTURES, out_dir=tmp_path)
    tables = load_tables(tmp_path)
    apremont = tables.communes["01011"]
    assert apremont.commune.force == "gendarmerie"
    assert (apremont.gn_service, apremont.gn_approx) == ("gn:1008613", False)  # Brigade de Port: not in directory
    port = tables.services["gn:1008613"]
    assert (port.name, port.address) == ("Gendarmerie - Brigade de Port", None)
    groissiat = tables.communes["01181"]
    assert (groissiat.gn_service, groissiat.gn_approx) == ("gendarmerie-01283-01", False)  # Brigade d'Oyonnax
    assert tables.communes["01283"].pn_service == "commissariat_police-01283-01"
    assert tables.postal_codes["01100"].force is None
    assert [c.insee for c in tables.postal_codes["01460"].communes] == ["01307"]


def test_import_pn_list_infers_gendarmerie_and_nearest_brigade(tmp_path: Path) -> None:
    """With only the PN list, absent communes are GN and get the nearest brigade, marked approximate."""
    import_data(None, None, None, sources_dir=FIXTURES, out_dir=tmp_path)
    tables = load_tables(tmp_path)
    assert tables.communes["01014"].commune.force == "police"
    apremont = tables.communes["01011"]
    assert apremont.commune.force == "gendarmerie"
    assert (apremont.gn_service, apremont.gn_approx) == ("gendarmerie-01283-01", True)
    assert [h.number for h in tables.helplines.values()][:3] == ["17", "112", "114"]
    assert tables.helplines["114"].channels.endswith("(visio en LSF, tchat, texte) ; permet aussi d'alerter "
                                                     "discrètement")
    assert tables.departments == {"01": "Ain"}


def test_import_is_reproducible(tmp_path: Path) -> None:
    """The same inputs give byte-identical files."""
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        import_data(FIXTURES / "competence_officielle.csv", None, None, sources_dir=FIXTURES, out_dir=out)
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes()


def test_main_import_reports_missing_sources(tmp_path: Path) -> None:
    """A missing source folder is a one-line error and exit status 1, not a traceback."""
    assert main_import(["--sources", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 1


def test_main_import_success(tmp_path: Path) -> None:
    """The command line writes the six compact files."""
    assert main_import(["--sources", str(FIXTURES), "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "communes.csv.gz", "departments.csv", "numeros_nationaux_affichage.csv", "postal_codes.csv.gz",
        "services.csv.gz", "support_points.csv.gz"]
