"""The visitor stylesheet keeps every rule a page can match and drops the others (chat/css_subset.py), and Marianne
split by Unicode range loses no character (chat/fonts.py)."""

from __future__ import annotations

import io

from fontTools.ttLib import TTFont

from chat import fonts
from chat.assets import SOURCE
from chat.css_subset import classes_in, keeps, subset

CSS = (':root{--x:1}:root[data-fr-theme=dark]{--x:2}body{margin:0}.fr-btn,.fr-tag{color:red}'
       '.fr-btn:not(.fr-btn--sm){padding:1px}@media (min-width:48em){.fr-tag{x:1}.fr-btn--lg{x:2}}'
       '@media print{.fr-tile{x:3}}[class^=fr-icon-]:before{x:4}[class*=" fr-btn--"]{x:5}'
       '@font-face{font-family:M;src:url(fonts/M.woff2)}.fr-a .fr-b{x:6}.a:is(.fr-zz){x:7}'
       '.x{background:url("data:image/svg+xml;charset=utf-8,<svg>{}</svg>")}')


def test_rules_of_unused_classes_go_and_the_rest_stays() -> None:
    used = {"fr-btn", "fr-btn--lg", "fr-a"}
    out = subset(CSS, used)
    assert out == (':root{--x:1}body{margin:0}.fr-btn{color:red}.fr-btn:not(.fr-btn--sm){padding:1px}'
                   '@media (min-width:48em){.fr-btn--lg{x:2}}[class*=" fr-btn--"]{x:5}'
                   '@font-face{font-family:M;src:url(fonts/M.woff2)}.a:is(.fr-zz){x:7}'
                   '.x{background:url("data:image/svg+xml;charset=utf-8,<svg>{}</svg>")}')
    assert keeps(".fr-b .fr-a", {"fr-a", "fr-b"}) and not keeps(".fr-b .fr-a", {"fr-a"})


def test_classes_are_found_in_markup_and_scripts() -> None:
    text = '<div class="fr-alert fr-alert--error" data-fr-scheme="x">' + 'el.classList.add("fr-input--error");'
    assert classes_in([text]) == {"fr-alert", "fr-alert--error", "fr-input--error"}


def test_marianne_split_in_two_keeps_every_character() -> None:
    source = SOURCE / "dist" / "fonts" / "Marianne-Regular.woff2"
    latin, rest, rest_range = fonts.split(source)
    original = set(TTFont(source).getBestCmap())
    covered = set(TTFont(io.BytesIO(latin)).getBestCmap()) | set(TTFont(io.BytesIO(rest)).getBestCmap())
    assert covered == original
    assert len(latin) < 16_000 and ord("é") in TTFont(io.BytesIO(latin)).getBestCmap()
    assert "U+0100" in rest_range or "U+0100-" in rest_range
    face = ('@font-face{font-display:swap;font-family:Marianne;font-weight:400;'
            'src:url(fonts/Marianne-Regular.woff2) format("woff2"),url(fonts/Marianne-Regular.woff) format("woff")}')
    rewritten = fonts.rewrite_faces(face, {"fonts/Marianne-Regular": rest_range})
    assert rewritten.count("@font-face") == 2 and "Marianne-Regular.woff)" not in rewritten
    assert "url(fonts/Marianne-Regular.latin.woff2)" in rewritten and f"unicode-range:{rest_range}" in rewritten
