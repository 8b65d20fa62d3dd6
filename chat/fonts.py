"""Marianne for the visitor pages, split in two by Unicode range so that a French page downloads a third of it.

Each weight of the DSFR's Marianne (a 41–45 KB WOFF2 with every script the font covers and all its OpenType
features) becomes two WOFF2 files: ``latin`` (Basic Latin, Latin-1, French ligatures and punctuation, the euro:
every character of a French page, ≈13 KB) and ``rest`` (every other character of the font). Each has its own
``@font-face`` with a ``unicode-range``, so a browser fetches ``rest`` only for a page that uses one of its
characters (a Polish or Romanian name, Cyrillic): nothing the font covers is lost. Hinting (unused by the
browsers' own rasterisers on phones) and the OpenType features no DSFR rule asks for are dropped.

Used at install time by ``chat/assets.py`` (fontTools is a pinned development dependency); the server only serves
the files this wrote.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

LATIN = ("U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+2000-206F,U+20AC,U+2122,U+2191,"
         "U+2193,U+2212,U+2215,U+FEFF,U+FFFD")
_FACE = re.compile(r"@font-face\{([^}]*)\}")
_WOFF2 = re.compile(r"url\((fonts/[A-Za-z_-]+)\.woff2\)")


def _ranges(spec: str) -> list[tuple[int, int]]:
    found = []
    for part in spec.split(","):
        first, _, last = part.removeprefix("U+").partition("-")
        found.append((int(first, 16), int(last or first, 16)))
    return found


def _spec(codepoints: list[int]) -> str:
    """``U+…`` ranges covering exactly ``codepoints`` (sorted), runs merged."""
    runs: list[list[int]] = []
    for code in codepoints:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return ",".join(f"U+{a:04X}" if a == b else f"U+{a:04X}-{b:04X}" for a, b in runs)


def split(source: Path) -> tuple[bytes, bytes, str]:
    """The ``latin`` and ``rest`` WOFF2 subsets of ``source`` and the ``unicode-range`` of ``rest``."""
    from fontTools import subset  # a development dependency: only the install step imports this module
    from fontTools.ttLib import TTFont

    covered = sorted(TTFont(source).getBestCmap())
    latin = {code for first, last in _ranges(LATIN) for code in range(first, last + 1)}
    rest = [code for code in covered if code not in latin]

    def cut(codepoints: list[int]) -> bytes:
        options = subset.Options()
        options.flavor = "woff2"
        options.hinting = False
        options.desubroutinize = True
        font = TTFont(source)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        return out.getvalue()

    return cut(sorted(latin)), cut(rest), _spec(rest)


def rewrite_faces(css: str, rest_ranges: dict[str, str]) -> str:
    """Each ``@font-face`` whose WOFF2 was split (``rest_ranges``: ``fonts/Name`` → range of its rest) becomes two
    faces, ``fonts/Name.latin.woff2`` and ``fonts/Name.rest.woff2``, WOFF2 only (every browser that runs the DSFR's
    CSS custom properties reads WOFF2), ``font-display: swap`` kept so text shows at once in a system font."""
    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        name = _WOFF2.search(body)
        if not name or name.group(1) not in rest_ranges:
            return match.group(0)
        base = name.group(1)
        declarations = [d for d in body.split(";") if d and not d.startswith("src:")]
        if "font-display:swap" not in declarations:
            declarations.append("font-display:swap")
        common = ";".join(declarations)
        return (f'@font-face{{{common};src:url({base}.latin.woff2) format("woff2");unicode-range:{LATIN}}}'
                f'@font-face{{{common};src:url({base}.rest.woff2) format("woff2");unicode-range:{rest_ranges[base]}}}')

    return _FACE.sub(one, css)
