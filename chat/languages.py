"""The languages of the visitor's side: which one a request gets, and the gettext catalogues that speak it.

French is the source language (the text of the templates and scripts); the others come from the gettext catalogues
under ``pnav/locales/`` (``messages`` for templates and Python, ``js`` for the scripts), compiled by
``make translations`` into ``.mo`` files and one JSON object per language that the visitor's scripts fetch
(``/textes/<language>-<digest>.json``, cached for good since its name changes with its content).

A request's language: an explicit ``?lang=xx`` first (the language menu of every page; the scripts keep the choice
in ``sessionStorage`` and add it to the links they follow), then the browser's ``Accept-Language``, then French.
Nothing is stored on the server side and no cookie is set. The operators' side stays in French.
"""

from __future__ import annotations

import gettext
import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import Request

log = logging.getLogger("pnav.languages")


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself: the menu must be readable by someone who does not read French
    direction: str  # "ltr" or "rtl"
    locale: str  # what the scripts give Intl / toLocaleString (Latin digits in Arabic, like phone numbers)


SOURCE = "fr"
LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (
    Language("fr", "Français", "ltr", "fr-FR"),
    Language("en", "English", "ltr", "en-GB"),
    Language("ar", "العربية", "rtl", "ar-u-nu-latn"),
    Language("es", "Español", "ltr", "es-ES"),
    Language("pt", "Português", "ltr", "pt-PT"),
    Language("uk", "Українська", "ltr", "uk-UA"),
)}
QUERY = "lang"

LOCALES_DIR = Path(str(files("pnav") / "locales"))
DOMAIN = "messages"
SCRIPT_DOMAIN = "js"


def N_(message: str) -> str:
    """Marks a French string for extraction where it is defined; it is translated where it is shown."""
    return message


def from_accept_language(header: str | None) -> str | None:
    """The first supported language of an ``Accept-Language`` header, by quality then order (``ar-MA`` is ``ar``)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:512].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else None


def explicit(request: Request) -> str | None:
    """The language the visitor chose, carried by the URL (``?lang=``), if it is one pnav speaks."""
    value = request.query_params.get(QUERY, "").strip().lower()
    return value if value in LANGUAGES else None


def of(request: Request) -> str:
    """The language of this request: the visitor's choice, then the browser's, then French."""
    return explicit(request) or from_accept_language(request.headers.get("accept-language")) or SOURCE


@cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of a language (French: the source text itself)."""
    if code == SOURCE or code not in LANGUAGES:
        return gettext.NullTranslations()
    try:
        return gettext.translation(DOMAIN, localedir=str(LOCALES_DIR), languages=[code])
    except OSError:
        log.error("no compiled catalogue for %r under %s: run `make translations`; showing French", code, LOCALES_DIR)
        return gettext.NullTranslations()


@dataclass(frozen=True)
class ScriptCatalogue:
    body: bytes  # a JSON object {french: translation}
    digest: str  # in the file's URL, so that a browser may keep it for good

    @property
    def url(self) -> str:
        return f"/textes/{self.digest}.json" if self.digest else ""


@cache
def script_catalogue(code: str) -> ScriptCatalogue:
    """The scripts' strings of a language (``js.json`` made by ``make translations``); French needs none."""
    if code == SOURCE or code not in LANGUAGES:
        return ScriptCatalogue(b"{}", "")
    path = LOCALES_DIR / code / "LC_MESSAGES" / f"{SCRIPT_DOMAIN}.json"
    try:
        messages = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.error("no script catalogue for %r at %s: run `make translations`; scripts speak French", code, path)
        return ScriptCatalogue(b"{}", "")
    body = json.dumps(messages, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return ScriptCatalogue(body, f"{code}-{hashlib.sha256(body).hexdigest()[:16]}")


def script_catalogue_named(digest: str) -> ScriptCatalogue | None:
    """The catalogue whose URL carries this digest (``ar-0123456789abcdef``), if it is the current one."""
    code = digest.split("-", 1)[0]
    catalogue = script_catalogue(code) if code in LANGUAGES else None
    return catalogue if catalogue is not None and catalogue.digest == digest else None


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context.get("lang") or SOURCE).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(context.get("lang") or SOURCE).ngettext(singular, plural, n)


def install(env: Environment) -> None:
    """Jinja2's i18n extension, with gettext functions that follow each page's ``lang`` (set by page_context)."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # msgids without the templates' line breaks and indentation
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


def page_context(request: Request) -> dict[str, Any]:
    """What the visitor's templates need to speak a language and keep it in their links."""
    code = of(request)
    chosen = explicit(request)

    def href(path: str, **params: str) -> str:
        """An internal link that keeps the visitor's explicit choice of language (pages without script)."""
        query = {**params, **({QUERY: chosen} if chosen else {})}
        return f"{path}?{urlencode(query)}" if query else path

    others = [(key, value) for key, value in request.query_params.multi_items() if key != QUERY]
    menu = [{"code": lang.code, "name": lang.name, "current": lang.code == code,
             "href": f"{request.url.path}?{urlencode([*others, (QUERY, lang.code)])}"} for lang in LANGUAGES.values()]
    language = LANGUAGES[code]
    return {"lang": code, "dir": language.direction, "locale": language.locale, "href": href, "language_menu": menu,
            "script_catalogue_url": script_catalogue(code).url}
