"""Small-cell protection by merging upward: every record lands in exactly one published cell of ≥ threshold records.

``levels`` go from the finest key to the coarsest, which must put every record under one key (the catch-all).
At each level the records not yet placed are grouped by that level's key; a group of at least ``threshold``
records is published as one cell ("these records, not counted in any finer cell"), the others move up a level.

Why nothing published can be undone by subtraction: the cells are disjoint and no total, margin or subtotal is
published beside them (a reuser may add cells up, never subtract one from a published sum). A small group is
only ever visible inside a cell that also holds at least ``threshold`` records. If the catch-all ends below the
threshold it is not simply dropped, which would let anyone who knows the true total elsewhere (an annual report)
recover it: the smallest published cells are folded into it (complementary suppression) until it reaches the
threshold, so every record of the input is published in some cell ≥ threshold, or nothing is published at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
Key = tuple[str, ...]


@dataclass(frozen=True)
class Cell:
    level: int
    key: Key
    members: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.members)


def protect(items: Sequence[T], levels: Sequence[Callable[[T], Key]], threshold: int, *,
            complement: bool = True) -> list[Cell]:
    """Partition ``items`` (by index) into cells of at least ``threshold``; see the module docstring."""
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    if not levels:
        raise ValueError("at least one level is needed")
    top = {levels[-1](item) for item in items}
    if len(top) > 1:
        raise ValueError("the last level must map every item to the same key")
    published: list[Cell] = []
    remaining = list(range(len(items)))
    for number, level in enumerate(levels):
        groups: dict[Key, list[int]] = defaultdict(list)
        for index in remaining:
            groups[level(items[index])].append(index)
        remaining = []
        for key, members in groups.items():
            if len(members) >= threshold:
                published.append(Cell(number, key, tuple(members)))
            else:
                remaining.extend(members)
    if remaining and complement:
        published.sort(key=lambda c: (c.count, -c.level, c.key))
        while len(remaining) < threshold and published:
            remaining.extend(published.pop(0).members)
        if len(remaining) >= threshold:
            published.append(Cell(len(levels) - 1, next(iter(top)), tuple(sorted(remaining))))
    return sorted(published, key=lambda c: (c.level, c.key))
