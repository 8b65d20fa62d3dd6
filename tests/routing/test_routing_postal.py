"""Postal code lookup and resolution, checked against values read by hand in the source files.

Expected values come from /work/shared/data/routage_code_postal_force.csv (file 6 of SOURCES.md) and
competence_zpn_communes.csv (file 5); they are literals so the suite runs in a fresh clone.
"""

from __future__ import annotations

import pytest

import routing
from routing import CommuneRequired, InseeNotInPostalCode, InvalidPostalCode, UnknownPostalCode

P, G = "police", "gendarmerie"

# postal code -> (expected top-level force, {insee: (name, department, force)}); PN+GN and INDETERMINE -> police.
CASES: dict[str, tuple[str | None, dict[str, tuple[str, str, str]]]] = {
    # single force, police
    "01000": (P, {"01053": ("Bourg-en-Bresse", "01", P), "01344": ("Saint-Denis-lès-Bourg", "01", P)}),
    # single force, gendarmerie (API.md example; the code covers 12 communes)
    "54120": (G, {"54039": ("Baccarat", "54", G), "54065": ("Bertrichamps", "54", G),
                  "54101": ("Brouville", "54", G), "54154": ("Deneuvre", "54", G), "54217": ("Gélacourt", "54", G),
                  "54243": ("Hablainville", "54", G), "54287": ("Lachapelle", "54", G),
                  "54365": ("Merviller", "54", G), "54422": ("Pettonville", "54", G),
                  "54450": ("Reherrey", "54", G), "54519": ("Thiaville-sur-Meurthe", "54", G),
                  "54555": ("Vaxainville", "54", G)}),
    # both forces: the visitor must pick
    "01100": (None, {"01011": ("Apremont", "01", G), "01014": ("Arbent", "01", P), "01031": ("Bellignat", "01", P),
                     "01171": ("Géovreisset", "01", G), "01181": ("Groissiat", "01", G),
                     "01237": ("Martignat", "01", G), "01283": ("Oyonnax", "01", P)}),
    # the mixed PN+GN communes (rule: police)
    "11100": (None, {"11024": ("Bages", "11", G), "11255": ("Montredon-des-Corbières", "11", G),
                     "11262": ("Narbonne", "11", P)}),
    "13200": (P, {"13004": ("Arles", "13", P)}),
    "13129": (P, {"13004": ("Arles", "13", P)}),
    "74000": (P, {"74010": ("Annecy", "74", P)}),
    "97130": (P, {"97107": ("Capesterre-Belle-Eau", "971", P)}),
    # the undetermined communes of Saint-Quentin-en-Yvelines (rule: police)
    "78190": (P, {"78621": ("Trappes", "78", P)}),
    "78310": (P, {"78168": ("Coignières", "78", P), "78383": ("Maurepas", "78", P)}),
    "78320": (None, {"78334": ("Lévis-Saint-Nom", "78", G), "78397": ("Le Mesnil-Saint-Denis", "78", P),
                     "78644": ("La Verrière", "78", P)}),
    # overseas départements and collectivités
    "97100": (P, {"97105": ("Basse-Terre", "971", P)}),
    "97200": (P, {"97209": ("Fort-de-France", "972", P)}),
    "97300": (P, {"97302": ("Cayenne", "973", P)}),
    "97400": (P, {"97411": ("Saint-Denis", "974", P)}),
    "97500": (G, {"97501": ("Miquelon-Langlade", "975", G), "97502": ("Saint-Pierre", "975", G)}),
    "97600": (None, {"97610": ("Koungou", "976", G), "97611": ("Mamoudzou", "976", P)}),
    "97133": (G, {"97701": ("Saint-Barthélemy", "977", G)}),
    "97150": (G, {"97801": ("Saint-Martin", "978", G)}),
    "98600": (G, {"98613": ("Uvea", "986", G)}),
    "98714": (P, {"98735": ("Papeete", "987", P)}),
    "98800": (P, {"98818": ("Nouméa", "988", P)}),
    # Corsica
    "20000": (P, {"2A004": ("Ajaccio", "2A", P)}),
    "20200": (None, {"2B033": ("Bastia", "2B", P), "2B305": ("San-Martino-di-Lota", "2B", G),
                     "2B309": ("Santa-Maria-di-Lota", "2B", G), "2B353": ("Ville-di-Pietrabugno", "2B", P)}),
    "20260": (G, {"2B049": ("Calenzana", "2B", G), "2B050": ("Calvi", "2B", G), "2B150": ("Lumio", "2B", G)}),
    # Paris, Lyon, Marseille arrondissements
    "75001": (P, {"75101": ("Paris 1er Arrondissement", "75", P)}),
    "75116": (P, {"75116": ("Paris 16e Arrondissement", "75", P)}),
    "69001": (P, {"69381": ("Lyon 1er Arrondissement", "69", P)}),
    "13001": (P, {"13201": ("Marseille 1er Arrondissement", "13", P)}),
    "13013": (P, {"13213": ("Marseille 13e Arrondissement", "13", P)}),
}


@pytest.mark.parametrize("postal_code", sorted(CASES))
def test_lookup_matches_sources(postal_code: str) -> None:
    """Each sample code yields exactly the communes, départements and forces of the source files."""
    expected_force, expected = CASES[postal_code]
    result = routing.lookup(postal_code)
    assert result.force == expected_force
    assert {c.insee: (c.name, c.department, c.force) for c in result.communes} == expected


def test_lookup_json_shape() -> None:
    """as_json has exactly the keys of API.md GET /api/v1/routing."""
    body = routing.lookup("54120").as_json()
    assert set(body) == {"postal_code", "communes", "force"}
    assert body["force"] == "gendarmerie"
    communes = body["communes"]
    assert isinstance(communes, list)
    assert communes[0] == {"insee": "54039", "name": "Baccarat", "department": "54", "force": "gendarmerie"}


def test_lookup_strips_spaces() -> None:
    """Surrounding spaces are ignored."""
    assert routing.lookup("  75001 ").postal_code == "75001"


@pytest.mark.parametrize("text", ["7501", "ABCDE", "750011", "", "2A004", "75 01", "7500١", "-7500"])
def test_malformed_postal_codes(text: str) -> None:
    """Anything but five ASCII digits is invalid_postal_code, 422, with a French message."""
    with pytest.raises(InvalidPostalCode) as caught:
        routing.lookup(text)
    assert caught.value.code == "invalid_postal_code"
    assert caught.value.status == 422
    assert "code postal" in caught.value.message


@pytest.mark.parametrize("text", ["00000", "99999", "75000", "20001"])
def test_unknown_postal_codes(text: str) -> None:
    """Five digits that no commune uses are unknown_postal_code, 404."""
    with pytest.raises(UnknownPostalCode) as caught:
        routing.lookup(text)
    assert caught.value.status == 404
    assert caught.value.message == "Ce code postal n'existe pas. Vérifiez-le, ou appelez le 17 en cas d'urgence."
    assert caught.value.as_json()["error"] == {"code": "unknown_postal_code", "message": caught.value.message}


def test_commune_required_lists_communes() -> None:
    """01100 without a commune raises commune_required with the communes as in GET /routing."""
    with pytest.raises(CommuneRequired) as caught:
        routing.resolve("01100", None)
    assert caught.value.code == "commune_required"
    assert caught.value.status == 422
    communes = caught.value.details["communes"]
    assert isinstance(communes, list)
    assert {"insee": "01011", "name": "Apremont", "department": "01", "force": "gendarmerie"} in communes
    assert {"insee": "01283", "name": "Oyonnax", "department": "01", "force": "police"} in communes


def test_insee_not_in_postal_code() -> None:
    """A commune outside the postal code is rejected."""
    with pytest.raises(InseeNotInPostalCode) as caught:
        routing.resolve("01100", "54039")
    assert caught.value.code == "insee_not_in_postal_code"
    assert caught.value.status == 422


def test_resolve_with_commune_choice() -> None:
    """Picking Apremont in 01100 routes to the gendarmerie, Oyonnax to the police."""
    apremont = routing.resolve("01100", "01011")
    assert (apremont.force, apremont.commune_name, apremont.department, apremont.inferred) == (
        "gendarmerie", "Apremont", "01", False)
    assert routing.resolve("01100", "01283").force == "police"


def test_resolve_single_force_without_commune() -> None:
    """A code whose communes share one force goes to its most populous commune, marked inferred."""
    result = routing.resolve("54120", None)
    assert (result.insee, result.force, result.inferred) == ("54039", "gendarmerie", True)
    single = routing.resolve("97133", None)
    assert (single.insee, single.department, single.inferred) == ("97701", "977", False)


def test_resolve_mixed_and_undetermined_rules() -> None:
    """Mixed and undetermined communes route to the police with an approximate local service."""
    for postal_code, insee in [("13200", "13004"), ("78190", "78621"), ("97130", "97107")]:
        result = routing.resolve(postal_code, insee)
        assert result.force == "police"
        assert result.local_service is not None and result.local_service.approximate


def test_resolve_accepts_commune_of_single_force_code() -> None:
    """An insee that belongs to a single-force code is accepted too."""
    assert routing.resolve("20260", "2B050").commune_name == "Calvi"
