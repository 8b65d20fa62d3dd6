"""Finding a commune by its name (for a visitor who does not know the postal code), and routing a commune chosen that
way: the same force, département and local service as through its postal code."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from routing.data import CommuneRecord, tables
from routing.errors import UnknownCommune
from routing.models import Force, Resolution
from routing.names import fold
from routing.services import local_service

# Shorter queries match too many communes to be of use (a single letter matches thousands).
MIN_QUERY_CHARS = 2
# Longer than any commune name (the longest has 45 characters): anything beyond is not a name.
MAX_QUERY_CHARS = 64
# Eight suggestions fit on a phone screen; a person who does not see theirs types one more letter.
DEFAULT_LIMIT = 8
MAX_LIMIT = 20
# What people write for Saint/Sainte: "St Denis", "Ste Marie".
ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


@dataclass(frozen=True)
class Found:
    """A commune a search found, with what tells homonyms apart (département) and where it is routed."""

    insee: str
    name: str
    department: str
    department_name: str
    postal_codes: tuple[str, ...]
    force: Force | None

    def as_json(self) -> dict[str, object]:
        return {"insee": self.insee, "name": self.name, "department": self.department,
                "department_name": self.department_name, "postal_codes": list(self.postal_codes),
                "force": self.force}


@dataclass(frozen=True)
class _Entry:
    words: tuple[str, ...]
    folded: str
    record: CommuneRecord


_lock = threading.Lock()
_index: dict[str, list[_Entry]] | None = None


def _words(text: str) -> tuple[str, ...]:
    return tuple(ABBREVIATIONS.get(word, word) for word in fold(text).split())


def _by_prefix() -> dict[str, list[_Entry]]:
    """Entries by the first two letters of each word of their name: a query reads one short list, not 35,000."""
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                index: dict[str, list[_Entry]] = {}
                for record in tables().communes.values():
                    words = _words(record.commune.name)
                    entry = _Entry(words, " ".join(words), record)
                    for key in {word[:2] for word in words}:
                        index.setdefault(key, []).append(entry)
                _index = index
    return _index


def normalise_query(query: str) -> str:
    return " ".join(_words(query[:MAX_QUERY_CHARS]))


def search(query: str, limit: int = DEFAULT_LIMIT) -> list[Found]:
    """Communes whose name holds every word of the query as the start of one of its words, accents, case, hyphens
    and apostrophes ignored ("st etienne" finds Saint-Étienne). Names that start like the query come first, then
    the most populous; homonyms come each with its département. Five digits are read as a postal code."""
    limit = max(1, min(limit, MAX_LIMIT))
    digits = "".join(query[:MAX_QUERY_CHARS].split())
    if len(digits) == 5 and digits.isascii() and digits.isdigit():  # a postal code: its communes
        routing = tables().postal_codes.get(digits)
        return [_found(tables().communes[c.insee]) for c in routing.communes[:limit]] if routing else []
    wanted = _words(query[:MAX_QUERY_CHARS])
    if sum(len(word) for word in wanted) < MIN_QUERY_CHARS:
        return []
    joined = " ".join(wanted)
    longest = max(wanted, key=len)  # the rarest two first letters: the shortest list to read
    candidates = _by_prefix().get(longest[:2], []) if len(longest) >= 2 else [
        entry for key, entries in _by_prefix().items() if key.startswith(longest) for entry in entries]
    seen: set[str] = set()
    matches: list[tuple[tuple[bool, bool, int, str], _Entry]] = []
    for entry in candidates:
        insee = entry.record.commune.insee
        if insee in seen or not all(any(word.startswith(w) for word in entry.words) for w in wanted):
            continue
        seen.add(insee)
        rank = (entry.folded != joined, not entry.folded.startswith(joined), -entry.record.population, insee)
        matches.append((rank, entry))
    matches.sort(key=lambda item: item[0])
    return [_found(entry.record) for _, entry in matches[:limit]]


def _found(record: CommuneRecord) -> Found:
    commune = record.commune
    return Found(commune.insee, commune.name, commune.department,
                 tables().departments.get(commune.department, ""),
                 tables().postal_codes_of.get(commune.insee, ()), commune.force)


def commune(insee: str) -> Found:
    """The commune with this INSEE code, as a search would find it; UnknownCommune otherwise."""
    record = tables().communes.get(insee.strip())
    if record is None:
        raise UnknownCommune()
    return _found(record)


def resolve_commune(insee: str) -> Resolution:
    """Where a conversation about this commune goes (chosen by name, so without a postal code of its own: the first
    of the commune's postal codes is kept with it)."""
    found = commune(insee)
    force: Force = found.force if found.force is not None else "gendarmerie"  # not reached with shipped data
    return Resolution(
        postal_code=found.postal_codes[0] if found.postal_codes else "",
        insee=found.insee,
        commune_name=found.name,
        department=found.department,
        force=force,
        local_service=local_service(found.insee, force),
    )
