"""Catalogue completeness: every visitor-facing French string is marked, extracted, and translated everywhere.

Three checks, each of which fails on the condition it names:
- a French sentence left unmarked in a visitor template (text or a read-aloud attribute) or in a visitor script;
- a catalogue template (``.pot``) older than the code: extraction now finds strings it lacks;
- a language whose ``.po`` lacks a string, leaves it empty or fuzzy, or drops a placeholder or an HTML tag.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from chat.languages import DOMAIN, LANGUAGES, LOCALES_DIR, SCRIPT_DOMAIN, SOURCE
from chat.settings import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "pnav" / "templates"
SCRIPTS = PROJECT_ROOT / "chat" / "static" / "js"
PYBABEL = PROJECT_ROOT / ".venv" / "bin" / "pybabel"
LETTERS = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœ]{2,}")
# Read aloud or shown: these attributes must come from a translation too.
SPOKEN_ATTRIBUTES = re.compile(r"""\s(?:aria-label|title|placeholder|alt)\s*=\s*"([^"]*)\"""")


def unmarked_template_text(source: str) -> list[str]:
    """Letters left in a template once its comments, translated blocks, expressions and tags are taken out."""
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    # Blocks that fill an attribute of <body> (classes, data-*), not text.
    text = re.sub(r"\{% block page_class %\}.*?\{% endblock %\}", " ", text, flags=re.S)
    text = re.sub(r"\{% block body_attrs %\}.*?\{% endblock %\}", " ", text, flags=re.S)
    text = re.sub(r"\{%-?\s*trans\b.*?%\}.*?\{%-?\s*endtrans\s*-?%\}", " ", text, flags=re.S)
    found = [value for value in SPOKEN_ATTRIBUTES.findall(text) if LETTERS.search(re.sub(r"\{\{.*?\}\}", "", value))]
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"<script\b.*?</script>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    text = re.sub(r"&[a-z]+;", " ", text)
    return found + [chunk.strip() for chunk in re.split(r"\n\s*\n|\s{2,}", text) if LETTERS.search(chunk)]


# A string literal of a script: "…", '…' or `…` (no nesting needed: the scripts keep templates simple).
LITERAL = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`""")
# Not prose: CSS classes, selectors, media types, identifiers, URLs, format options.
TECHNICAL = re.compile(r"""^[\w\s./:#=\[\]"*+@,$>{}()-]*$""")
MARKED_CALL = re.compile(r"""(?<![\w$])N?_\(\s*$""")


# Capitalised words that are names of keys, headers or data types, not text.
NOT_TEXT = frozenset(("Authorization", "Accept", "Files", "Enter", "Escape"))


def prose(literal: str) -> bool:
    body = re.sub(r"\$\{.*?\}", " ", literal[1:-1])
    if body.strip() in NOT_TEXT:
        return False
    if not LETTERS.search(body):
        return False
    accented = re.search(r"[À-ÖØ-öø-ÿŒœ«»…’]", body) is not None
    sentence = re.search(r"[A-Za-zÀ-ÿ]{2,}[ '][A-Za-zÀ-ÿ]{2,}", body) is not None and not TECHNICAL.match(body)
    capitalised_word = re.fullmatch(r"[A-ZÀ-Ý][a-zà-ÿ]{2,}[.…]?", body) is not None
    return accented or sentence or capitalised_word


def unmarked_script_strings(source: str) -> list[str]:
    """Prose literals of a script that are not the argument (or a concatenated part of one) of ``_()``."""
    code = re.sub(r"^\s*//.*$", "", source, flags=re.M)
    code = re.sub(r"/\*.*?\*/", "", code, flags=re.S)
    found = []
    for match in LITERAL.finditer(code):
        literal = match.group(0)
        if not prose(literal):
            continue
        before = code[:match.start()]
        # Inside _( … ): the nearest unclosed parenthesis before the literal belongs to a _ call.
        depth, index = 0, len(before) - 1
        while index >= 0:
            char = before[index]
            if char == ")":
                depth += 1
            elif char == "(":
                if depth == 0:
                    break
                depth -= 1
            index -= 1
        if index >= 0 and MARKED_CALL.search(before[:index + 1]):
            continue
        found.append(literal)
    return found


def test_templates_mark_every_french_sentence() -> None:
    problems = {path.name: unmarked_template_text(path.read_text(encoding="utf-8"))
                for path in sorted(TEMPLATES.glob("*.html"))}
    assert {name: found for name, found in problems.items() if found} == {}


def test_scripts_mark_every_french_sentence() -> None:
    problems = {path.name: unmarked_script_strings(path.read_text(encoding="utf-8"))
                for path in sorted(SCRIPTS.glob("*.js"))}
    assert {name: found for name, found in problems.items() if found} == {}


def test_the_checks_catch_an_unmarked_string() -> None:
    """The two scanners above are not blind: an unmarked sentence, attribute or button label is reported."""
    assert unmarked_template_text('<p>{{ _("Bonjour") }}</p>\n<p>Un texte oublié</p>') == ["Un texte oublié"]
    assert unmarked_template_text('<nav aria-label="Sortie rapide"></nav>') == ["Sortie rapide"]
    assert unmarked_template_text('{% trans %}Marqué{% endtrans %} <b class="x">{{ n }}</b>') == []
    assert unmarked_script_strings('el("button", "fr-btn fr-btn--sm", "Envoyer");') == ['"Envoyer"']
    assert unmarked_script_strings('x = `Vous êtes ${n}e`; y = _("Déjà " + "marqué", { n });') == ["`Vous êtes ${n}e`"]
    assert unmarked_script_strings('a.className = "pnav-card pnav-card--x"; f("application/json");') == []


def extracted(config: str, tmp_path: Path) -> set[str]:
    out = tmp_path / f"{config}.pot"
    subprocess.run([str(PYBABEL), "-q", "extract", "--no-location", "-F", config, "-o", str(out),
                    "--ignore-dirs=.* _* node_modules dsfr var build dist", "."],
                   cwd=PROJECT_ROOT, check=True, timeout=60)
    return {str(m.id if isinstance(m.id, str) else m.id[0]) for m in read_catalog(out) if m.id}


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


@pytest.mark.skipif(not PYBABEL.exists(), reason="pybabel comes with `make install`")
@pytest.mark.parametrize(("config", "domain"), [("babel.cfg", DOMAIN), ("babel-js.cfg", SCRIPT_DOMAIN)])
def test_catalogue_templates_are_up_to_date(config: str, domain: str, tmp_path: Path) -> None:
    """`make messages` was run after the last marked string: the .pot holds everything the code marks."""
    committed = {str(m.id if isinstance(m.id, str) else m.id[0]) for m in read_catalog(LOCALES_DIR / f"{domain}.pot")
                 if m.id}
    assert extracted(config, tmp_path) - committed == set()


PLACEHOLDERS = re.compile(r"%\(\w+\)s|\{\w+\}|</?[a-z]+\b|&nbsp;")


@pytest.mark.parametrize("code", [code for code in LANGUAGES if code != SOURCE])
@pytest.mark.parametrize("domain", [DOMAIN, SCRIPT_DOMAIN])
def test_every_language_translates_every_string(code: str, domain: str) -> None:
    template = read_catalog(LOCALES_DIR / f"{domain}.pot")
    catalog = read_catalog(LOCALES_DIR / code / "LC_MESSAGES" / f"{domain}.po")
    problems = []
    for source in template:
        if not source.id:
            continue
        message = catalog.get(source.id)
        strings = [] if message is None else list(message.string) if isinstance(message.string, tuple) \
            else [message.string]
        if message is None or message.fuzzy or not strings or not all(strings):
            problems.append(("missing", source.id))
            continue
        ids = source.id if isinstance(source.id, tuple) else (source.id,)
        expected = sorted(PLACEHOLDERS.findall(ids[-1]))
        for string in strings:
            if sorted(PLACEHOLDERS.findall(string)) != expected:
                problems.append(("placeholders or tags differ", source.id))
    assert problems == []
