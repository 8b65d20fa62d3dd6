"""The part of a minified stylesheet that can match a page: rules whose DSFR classes the pages never use go.

The visitor pages use a few dozen of the DSFR's classes (buttons, fields, alerts, tiles…) out of thousands; the
compiled ``dsfr.min.css`` is 717 KB. :func:`subset` keeps every rule that could apply to markup using only the
classes in ``used`` (found in the templates and scripts by :func:`classes_in`), and every rule without a DSFR class
(elements, ``:root`` variables, ``@font-face``, ``@keyframes``). A selector is dropped when:

- it needs a ``fr-*`` class outside ``:not(…)`` that no page uses, or
- it tests ``[class^=fr-x]`` / ``[class*=" fr-x"]`` / ``[class*=fr-x]`` and no used class starts with (or contains)
  ``fr-x``, or
- it needs ``[data-fr-theme=dark]`` (the visitor pages are light and load no DSFR script to switch).

``:is()``, ``:where()`` and ``:has()`` lists are kept as they are (conservative). Empty ``@media``/``@supports``
blocks go. Used at install time by ``chat/assets.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CLASS = re.compile(r"\.(fr-[A-Za-z0-9_-]+)")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])(fr-[a-z0-9][a-z0-9_-]*[a-z0-9])")
_ATTRIBUTE = re.compile(r"""\[class(\^|\*)=["']?( ?)(fr-[A-Za-z0-9_-]+)["']?\]""")
_NESTED = ("@media", "@supports", "@layer", "@container", "@document", "@-moz-document")


def classes_in(texts: Iterable[str]) -> set[str]:
    """Every ``fr-…`` token of templates, scripts or stylesheets (a superset of the classes they use)."""
    return {token for text in texts for token in _TOKEN.findall(text)}


def _blocks(css: str) -> list[tuple[str, str | None]]:
    """Top-level statements: (prelude, body) for ``x{…}``, (statement, None) for ``@import …;``-like ones."""
    found: list[tuple[str, str | None]] = []
    i, start, n = 0, 0, len(css)
    while i < n:
        char = css[i]
        if char in "\"'":
            i = css.index(char, i + 1) + 1
            continue
        if char == ";":
            statement = css[start:i].strip()
            if statement:
                found.append((statement + ";", None))
            start = i = i + 1
            continue
        if char == "{":
            depth, j = 1, i + 1
            while depth:
                c = css[j]
                if c in "\"'":
                    j = css.index(c, j + 1) + 1
                    continue
                depth += (c == "{") - (c == "}")
                j += 1
            found.append((css[start:i].strip(), css[i + 1:j - 1]))
            start = i = j
            continue
        i += 1
    return found


def _split_selectors(prelude: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(prelude):
        depth += (char in "([") - (char in ")]")
        if char == "," and depth == 0:
            parts.append(prelude[start:i])
            start = i + 1
    parts.append(prelude[start:])
    return parts


def _without_not(selector: str) -> str:
    out, i = [], 0
    while i < len(selector):
        if selector.startswith(":not(", i):
            depth, j = 1, i + 5
            while depth:
                depth += (selector[j] == "(") - (selector[j] == ")")
                j += 1
            i = j
            continue
        out.append(selector[i])
        i += 1
    return "".join(out)


def keeps(selector: str, used: set[str]) -> bool:
    """Whether ``selector`` may match markup whose DSFR classes are all in ``used``."""
    if "data-fr-theme=dark" in selector.replace('"', ""):
        return False
    if any(f":{name}(" in selector for name in ("is", "where", "has")):
        return True
    positive = _without_not(selector)
    if any(name not in used for name in _CLASS.findall(positive)):
        return False
    for operator, space, prefix in _ATTRIBUTE.findall(positive):
        starts = operator == "^" or space == " "
        if not any(name.startswith(prefix) if starts else prefix in name for name in used):
            return False
    return True


def subset(css: str, used: set[str]) -> str:
    """``css`` (minified) without the rules and selectors that cannot match (module docstring)."""
    out: list[str] = []
    for prelude, body in _blocks(css):
        if body is None:
            out.append(prelude)
        elif prelude.startswith(_NESTED):
            inner = subset(body, used)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):
            out.append(f"{prelude}{{{body}}}")
        else:
            selectors = [s for s in _split_selectors(prelude) if keeps(s, used)]
            if selectors:
                out.append(f"{','.join(selectors)}{{{body}}}")
    return "".join(out)
