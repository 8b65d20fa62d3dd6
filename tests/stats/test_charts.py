"""The vertical axis of the count charts: whole-number graduations from 0 to a round maximum."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from operators.stats import charts


def test_ticks_of_small_and_large_counts() -> None:
    """Five tchats read 0 to 5 by one, not 0; 1,25; 2,5…; 37 reads 0 to 40 by ten; nothing reads 0 to 1."""
    assert charts.ticks(5) == [0, 1, 2, 3, 4, 5]
    assert charts.ticks(3) == [0, 1, 2, 3]
    assert charts.ticks(1) == [0, 1]
    assert charts.ticks(37) == [0, 10, 20, 30, 40]
    assert charts.ticks(0) == [0, 1]


@given(st.integers(min_value=1, max_value=10**7))
def test_ticks_are_whole_cover_the_maximum_and_stay_few(value: int) -> None:
    """Any count gets whole, evenly spaced graduations, at most MAX_TICKS intervals, the last one at or above it."""
    found = charts.ticks(value)
    assert all(t == int(t) for t in found) and found[0] == 0 and found[-1] >= value
    assert 1 <= len(found) - 1 <= charts.MAX_TICKS
    steps = {found[i + 1] - found[i] for i in range(len(found) - 1)}
    assert len(steps) == 1
