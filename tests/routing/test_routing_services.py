"""The competent local service: commissariat, brigade in the commune, nearest brigade, overseas."""

from __future__ import annotations

import routing


def test_police_commune_gets_its_commissariat() -> None:
    """Oyonnax (PN) -> the directory row of the Commissariat de police d'Oyonnax."""
    service = routing.local_service("01283", "police")
    assert service is not None
    assert service.id == "commissariat_police-01283-01"
    assert service.address == "41 boulevard Dupuy, 01100, Oyonnax"
    assert service.phone == "04 74 77 47 33"
    assert not service.approximate


def test_gendarmerie_commune_with_brigade() -> None:
    """Baccarat (GN) has a brigade in the commune: exact."""
    service = routing.local_service("54039", "gendarmerie")
    assert service is not None
    assert (service.id, service.force, service.insee, service.approximate) == (
        "gendarmerie-54039-01", "gendarmerie", "54039", False)


def test_gendarmerie_commune_without_brigade_is_approximate() -> None:
    """Apremont has no brigade: the nearest one of the Ain (Oyonnax), marked approximate."""
    service = routing.local_service("01011", "gendarmerie")
    assert service is not None
    assert service.id == "gendarmerie-01283-01"
    assert service.approximate


def test_overseas_services() -> None:
    """Saint-Pierre (975) has its brigade; Papeete (987) its commissariat."""
    brigade = routing.local_service("97502", "gendarmerie")
    assert brigade is not None and brigade.id == "gendarmerie-97502-01" and not brigade.approximate
    commissariat = routing.local_service("98735", "police")
    assert commissariat is not None and commissariat.id == "commissariat_police-98735-01"


def test_wrong_force_or_commune_gives_none() -> None:
    """No police service for a GN commune, nothing for an unknown INSEE code."""
    assert routing.local_service("54039", "police") is None
    assert routing.local_service("00000", "gendarmerie") is None


def test_commissariat_missing_from_directory_gets_documented_id() -> None:
    """Boulogne-Billancourt's commissariat is not in the 2020 directory: id pn:<dept>:<slug>, no address."""
    service = routing.local_service("92012", "police")
    assert service is not None
    assert service.id == "pn:92:commissariat-de-police-de-boulogne-billancourt"
    assert service.address is None


def test_mixed_commune_has_both_services() -> None:
    """Arles (PN+GN): the commissariat and the Brigade d'Arles, both approximate."""
    police = routing.local_service("13004", "police")
    gendarmerie = routing.local_service("13004", "gendarmerie")
    assert police is not None and police.id == "commissariat_police-13004-01" and police.approximate
    assert gendarmerie is not None and gendarmerie.id == "gendarmerie-13004-02" and gendarmerie.approximate


def test_services_listing_and_by_id() -> None:
    """Every service is listed once and found by id."""
    services = routing.local_services()
    ids = [s.id for s in services]
    assert len(ids) == len(set(ids)) > 3000
    assert routing.local_service_by_id("gendarmerie-01004-01") is not None
    assert routing.local_service_by_id("nope") is None
