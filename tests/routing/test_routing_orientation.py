"""Support points near a commune and helplines per category."""

from __future__ import annotations

import pytest

import routing
from routing.models import CATEGORIES, Category


@pytest.mark.parametrize("category", CATEGORIES)
def test_support_points_sorted_by_distance(category: Category) -> None:
    """Results are closest first, within the limit, and include a victim-support office (BAV)."""
    points = routing.nearby_support("54039", category, limit=5)
    assert 0 < len(points) <= 5
    distances = [p.distance_km for p in points]
    assert all(d is not None for d in distances)
    assert distances == sorted(distances)  # type: ignore[type-var]
    assert any(p.kind == "bav" for p in points)
    assert all(p.kind_label for p in points)


def test_cidff_only_for_violence_against_women_and_families() -> None:
    """CIDFF are offered for domestic violence but not for hate offences."""
    kinds = {p.kind for p in routing.nearby_support("75111", "discrimination_hate", limit=20)}
    assert "cidf" not in kinds
    assert "cidf" in {p.kind for p in routing.nearby_support("75111", "domestic_violence", limit=20)}


def test_support_in_paris_is_close() -> None:
    """In Paris 11e the nearest point is a few kilometres away at most."""
    points = routing.nearby_support("75111", "sexual_violence")
    assert points[0].distance_km is not None and points[0].distance_km < 5


def test_support_unknown_commune_is_empty() -> None:
    """Unknown commune: no points rather than an error."""
    assert routing.nearby_support("00000", "sexual_violence") == []


def test_helplines_per_category() -> None:
    """3919 for violence against women, 3018 for online hate, 116 006 always."""
    assert [h.number for h in routing.helplines("domestic_violence")] == ["3919", "116 006"]
    assert [h.number for h in routing.helplines("sexual_violence")] == ["3919", "116 006"]
    assert [h.number for h in routing.helplines("discrimination_hate")] == ["3018", "116 006"]


def test_helplines_emergency_and_minor_first() -> None:
    """In danger 17/112/114 come first, then 119 and 3018 for a minor."""
    numbers = [h.number for h in routing.helplines("discrimination_hate", emergency=True, minor=True)]
    assert numbers == ["17", "112", "114", "119", "3018", "116 006"]


def test_minor_adds_119_and_3018_to_every_category() -> None:
    """A tchat about a minor gets the child-protection line and the young people's online-violence line."""
    assert [h.number for h in routing.helplines("domestic_violence", minor=True)] == ["119", "3018", "3919",
                                                                                      "116 006"]


def test_helplines_read_as_the_curated_wording() -> None:
    """What a person reads comes from numeros_nationaux_affichage.csv: no research notes, no hedging."""
    victims = next(h for h in routing.all_helplines() if h.number == "116 006")
    assert (victims.name, victims.availability) == ("Aide aux victimes (France Victimes)",
                                                    "7j/7, 9h–20h ; messagerie de rappel en dehors de ces horaires")
    deaf = next(h for h in routing.all_helplines() if h.number == "114")
    assert deaf.channels.endswith("permet aussi d'alerter discrètement")
    for line in routing.all_helplines():
        for text in (line.name, line.availability, line.cost, line.channels):
            assert "selon une source" not in text and "au lancement" not in text and "indique" not in text


def test_emergency_numbers() -> None:
    """17, 112 and 114 with their French descriptions."""
    lines = routing.emergency_numbers()
    assert [h.number for h in lines] == ["17", "112", "114"]
    assert lines[0].cost == "gratuit"
    assert "24h/24" in lines[0].availability
