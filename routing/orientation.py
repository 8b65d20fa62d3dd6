"""Orientation: support points near a commune and the national helplines that fit a category.

Helplines by category (the numbers of numeros_nationaux.csv, see each row's `public_et_objet`; what a person reads
comes from numeros_nationaux_affichage.csv):
- emergency: 17, 112 and 114 first, always;
- minor: 119 (Allô Enfance en danger) and 3018 (young victims of online harassment and violence);
- domestic_violence and sexual_violence: 3919 (Violences Femmes Info covers conjugal and sexual violence);
- discrimination_hate: 3018 (cyber-harassment and online violence);
- every category: 116 006 (France Victimes, any victim of an offence).
3114 (suicide prevention) is not tied to a category; the operator can still find it in all_helplines().
"""

from __future__ import annotations

from routing.data import SupportRecord, tables
from routing.geo import haversine_km
from routing.models import Category, Helpline, SupportPoint

KIND_LABELS = {
    "bav": "Bureau d'aide aux victimes",
    "cidf": "Centre d'information sur les droits des femmes et des familles (CIDFF)",
    "mjd": "Maison de justice et du droit",
    "permanence_juridique": "Point d'accès au droit",
}
# CIDFF inform on women's and family rights: they fit sexual and domestic violence, not hate offences.
KINDS_BY_CATEGORY: dict[Category, tuple[str, ...]] = {
    "sexual_violence": ("bav", "cidf", "mjd", "permanence_juridique"),
    "domestic_violence": ("bav", "cidf", "mjd", "permanence_juridique"),
    "discrimination_hate": ("bav", "mjd", "permanence_juridique"),
}
EMERGENCY = ("17", "112", "114")
BY_CATEGORY: dict[Category, tuple[str, ...]] = {
    "sexual_violence": ("3919",),
    "domestic_violence": ("3919",),
    "discrimination_hate": ("3018",),
}
EVERY_VICTIM = "116 006"
MINORS = ("119", "3018")


def _point(record: SupportRecord, distance: float) -> SupportPoint:
    return SupportPoint(
        id=record.id, kind=record.kind, kind_label=KIND_LABELS[record.kind], name=record.name,
        address=record.address or None, phone=record.phone or None, contact=record.contact or None,
        distance_km=round(distance, 1),
    )


def nearby_support(insee: str, category: Category, limit: int = 5) -> list[SupportPoint]:
    """The support points nearest the commune's point, closest first.

    The nearest point of each kind is kept first (so a victim-support office is offered even when several
    legal advice points are closer), the remaining places go to the next nearest. Points without trustworthy
    coordinates are placed at their commune's town hall; points with no place at all are left out.
    """
    record = tables().communes.get(insee)
    if record is None or record.point is None or limit <= 0:
        return []
    origin = record.point
    kinds = KINDS_BY_CATEGORY[category]
    ranked = sorted(
        (haversine_km(origin, s.point), s.id, s) for s in tables().support if s.kind in kinds and s.point is not None
    )
    chosen: dict[str, tuple[float, SupportRecord]] = {}
    for kind in kinds:
        first = next((item for item in ranked if item[2].kind == kind), None)
        if first is not None and len(chosen) < limit:
            chosen[first[1]] = (first[0], first[2])
    for distance, support_id, support in ranked:
        if len(chosen) >= limit:
            break
        chosen.setdefault(support_id, (distance, support))
    return [_point(s, d) for d, s in sorted(chosen.values(), key=lambda item: (item[0], item[1].id))]


def _pick(numbers: list[str]) -> list[Helpline]:
    lines = tables().helplines
    return [lines[number] for number in dict.fromkeys(numbers) if number in lines]


def helplines(category: Category, *, emergency: bool = False, minor: bool = False) -> list[Helpline]:
    """The national numbers that fit the conversation, the most urgent first."""
    numbers = list(EMERGENCY) if emergency else []
    if minor:
        numbers.extend(MINORS)
    numbers.extend(BY_CATEGORY[category])
    numbers.append(EVERY_VICTIM)
    return _pick(numbers)


def emergency_numbers() -> list[Helpline]:
    """17, 112 and 114."""
    return _pick(list(EMERGENCY))


def all_helplines() -> list[Helpline]:
    """Every national number of the data, in file order."""
    return list(tables().helplines.values())
