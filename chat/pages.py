"""The visitor's pages (server-rendered in the visitor's language, French by default: chat/languages.py) and the
static files they need, all served by pnav itself.

No page sets a cookie or loads anything from another host: the design system (DSFR) is served from the copy of the
pinned npm package inside pnav (``chat/static/dsfr/``, made by ``chat/assets.py``), and only the files a page can ask
for are exposed (an allowlist, not the package).
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

import routing
from chat import languages
from chat.assets import ALLOWED as DSFR_ALLOWED
from chat.assets import OWN_ALLOWED
from chat.assets import TARGET as DSFR_DIST
from chat.attachments import config as attachment_config
from chat.languages import N_
from chat.state import state_of
from chat.static_files import PREFIX as ASSETS_PREFIX
from chat.static_files import asset, negotiate
from chat.templating import templates
from routing import Category

log = logging.getLogger("pnav.pages")

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The unversioned URLs of the static files (/static/…), kept for links from before the versioned ones
# (/assets/<version>/…, chat/static_files.py): the package version is pinned in package-lock.json, so a day of
# browser cache is safe for the DSFR files; ours are revalidated (ETag) before each use.
STATIC_CACHE = "public, max-age=86400"
# Pages are compressed on the fly with gzip (the standard library's; brotli is only a build-time dependency) at a
# level that costs well under a millisecond for a page of 10–15 KB. Only these pages: they carry no secret
# (no CSRF token, no session), so compressing them next to the query string gives nothing away (BREACH).
PAGE_GZIP_LEVEL = 6

# Where the quick exit sends the visitor: Météo-France's home page. A weather page is what anyone opens many
# times a day, it needs no account (unlike a search engine, whose query would land in a signed-in history), it
# is a French public service that does not show advertising, and with Referrer-Policy: no-referrer it never
# learns where the visitor came from. PNAV_QUICK_EXIT_URL overrides it (e.g. a local page in a kiosk).
DEFAULT_QUICK_EXIT_URL = "https://meteofrance.com/"

# A pasted text is sent as at most 5 messages (20,000 characters at the default limit): a long account fits, and 5
# stays under the burst of the per-socket send limit (10); the rest of a longer text stays in the box, never lost.
MAX_MESSAGE_PARTS = 5

CATEGORY_LABELS = {
    "sexual_violence": N_("Violences sexuelles et sexistes"),
    "domestic_violence": N_("Violences conjugales"),
    "discrimination_hate": N_("Discriminations, haine et cyber-harcèlement"),
}
CATEGORY_HINTS = {
    "sexual_violence": N_("Agression ou harcèlement sexuel, viol, exhibition, outrage sexiste, dans la rue, au "
                          "travail, en ligne ou ailleurs."),
    "domestic_violence": N_("Violences physiques, psychologiques, sexuelles ou économiques de la part d'un "
                            "conjoint, d'un concubin, d'un partenaire de Pacs ou d'un ex."),
    "discrimination_hate": N_("Racisme, antisémitisme, haine anti-LGBT, discrimination, menaces et cyber-harcèlement."),
}
ROLE_LABELS = {
    "victim": N_("Je suis victime"),
    "witness": N_("Je suis témoin"),
    "relative": N_("Je suis proche d'une victime"),
    "professional": N_("Je suis un ou une professionnelle (santé, social, éducation…)"),
}

# The opening hours, cost and channels of the national numbers (routing's data), translated where they are shown
# (_numbers.html, and cards.js for the cards of the tchat); the numbers' names stay as they are.
HELPLINE_TEXTS = (
    N_("24h/24 7j/7"),
    N_("7j/7, 9h–20h ; messagerie de rappel en dehors de ces horaires"),
    N_("7j/7, 9h–23h"),
    N_("SMS ; application « Urgence 114 » (visio en LSF, tchat, texte) ; permet aussi d'alerter discrètement"),
    N_("appel"),
    N_("appel ; anonyme"),
    N_("appel ; e-mail victimes@france-victimes.fr ; depuis l'étranger : +33 1 80 52 33 76"),
    N_("appel ; tchat sur 3018.fr ; application 3018"),
    N_("appel ; tchat sur allo119.gouv.fr (moins de 21 ans)"),
    N_("gratuit"),
)


def _helplines(category: str | None, *, minor: bool = False, emergency: bool = False) -> list[dict[str, str]]:
    """National numbers from the routing data: emergency ones for no category, the fitting ones otherwise."""
    try:
        lines = routing.helplines(cast(Category, category), minor=minor, emergency=emergency) \
            if category in CATEGORY_LABELS else routing.emergency_numbers()
    except Exception:  # the pages must render even if the routing data is missing or broken
        log.exception("helplines unavailable")
        return []
    return [{"number": h.number, "href": ("sms:" if "sms" in h.as_json() else "tel:") + h.number.replace(" ", ""),
             "name": h.name, "availability": h.availability, "cost": h.cost, "channels": h.channels, "only": ""}
            for h in lines]


def _end_numbers(category: str) -> list[dict[str, str]]:
    """The numbers of the category, and those a flag adds (emergency: 17, 112, 114; minor: 119, 3018), marked with
    the flag: the end page shows the latter only for a tchat that carried it (the tab knows, the URL does not)."""
    base = {line["number"] for line in _helplines(category)}
    urgent = {line["number"] for line in _helplines(None)}
    return [{**line, "only": "" if line["number"] in base else "emergency" if line["number"] in urgent else "minor"}
            for line in _helplines(category, minor=True, emergency=True)]


def _emergency_with_helplines() -> list[dict[str, str]]:
    """17, 112, 114 then the general victim line (116 006): what the home page and the noscript block show."""
    seen: dict[str, dict[str, str]] = {}
    for line in [*_helplines(None), *_helplines("domestic_violence")]:
        seen.setdefault(line["number"], line)
    return list(seen.values())


def _context(request: Request, **extra: Any) -> dict[str, Any]:
    settings = state_of(request).settings
    return {
        "request": request,
        **languages.page_context(request),
        "quick_exit_url": settings.extra.get("PNAV_QUICK_EXIT_URL", DEFAULT_QUICK_EXIT_URL),
        "max_message_chars": settings.max_message_chars,
        "max_message_parts": MAX_MESSAGE_PARTS,
        "categories": CATEGORY_LABELS,
        "category_hints": CATEGORY_HINTS,
        "roles": ROLE_LABELS,
        "emergency": _helplines(None),
        "noscript_numbers": _emergency_with_helplines(),
        **extra,
    }


def _category(request: Request) -> str | None:
    value = request.query_params.get("tchat")
    return value if value in CATEGORY_LABELS else None


def _home_numbers() -> list[dict[str, str]]:
    """Emergency numbers first, then the helplines of the three tchats and the one for children."""
    seen: dict[str, dict[str, str]] = {}
    by_category = [h for c in CATEGORY_LABELS for h in _helplines(c)]
    for line in [*_helplines(None), *by_category, *_helplines("sexual_violence", minor=True)]:
        seen.setdefault(line["number"], line)
    return list(seen.values())


def compressed(page: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """``page`` with its HTML gzipped when the browser accepts it (``Vary: Accept-Encoding`` either way)."""
    async def handler(request: Request) -> Response:
        response = await page(request)
        response.headers["vary"] = "accept-encoding"
        if negotiate(request.headers.get("accept-encoding", ""), {"gzip"}) == "gzip" and response.body:
            response.body = gzip.compress(response.body, compresslevel=PAGE_GZIP_LEVEL, mtime=0)
            response.headers["content-encoding"] = "gzip"
            response.headers["content-length"] = str(len(response.body))
        return response

    return handler


async def home(request: Request) -> Response:
    return templates.TemplateResponse(request, "home.html", _context(request, numbers=_home_numbers()))


async def start(request: Request) -> Response:
    return templates.TemplateResponse(request, "start.html", _context(request, selected=_category(request)))


async def tchat(request: Request) -> Response:
    return templates.TemplateResponse(request, "tchat.html", _context(
        request, attachment_max_bytes=attachment_config.of(state_of(request)).max_bytes))


async def end(request: Request) -> Response:
    category = _category(request)
    return templates.TemplateResponse(request, "end.html", _context(
        request, category=category, numbers=_end_numbers(category) if category else _emergency_with_helplines()))


async def followup(request: Request) -> Response:
    return templates.TemplateResponse(request, "followup.html", _context(
        request, attachment_max_bytes=attachment_config.of(state_of(request)).max_bytes))


async def legal(request: Request) -> Response:
    settings = state_of(request).settings
    retention = settings.extra.get("PNAV_RETENTION_DAYS", "")
    return templates.TemplateResponse(request, "legal.html", _context(
        request, token_grace_hours=max(1, settings.token_grace_seconds // 3600),
        retention_days=int(retention) if retention.isdigit() else None,
        publisher=settings.extra.get("PNAV_PUBLISHER", ""), publisher_contact=settings.extra.get("PNAV_CONTACT", ""),
        href_fr=f"{request.url.path}?{languages.QUERY}={languages.SOURCE}"))


async def dsfr_file(request: Request) -> Response:
    path = str(request.path_params["path"])
    if not DSFR_ALLOWED.match(path) or ".." in path:
        return PlainTextResponse("Fichier introuvable.", status_code=404)
    file = DSFR_DIST / path
    if not file.is_file():
        return PlainTextResponse("Fichier introuvable.", status_code=404)
    return FileResponse(file, headers={"cache-control": STATIC_CACHE})


async def script_texts(request: Request) -> Response:
    """The scripts' strings of a language (chat/static/js/i18n.js); the name carries a digest of the content."""
    catalogue = languages.script_catalogue_named(str(request.path_params["digest"]))
    if catalogue is None:
        return PlainTextResponse("Fichier introuvable.", status_code=404)
    return Response(catalogue.body, media_type="application/json",
                    headers={"cache-control": "public, max-age=31536000, immutable"})


class _CachedStatic(StaticFiles):
    """Our own assets (scripts, stylesheet) at their unversioned URLs: the browser revalidates them (ETag) before
    each use. Nothing else of ``chat/static/`` (the compressed copies, the DSFR directory) is served here."""

    async def get_response(self, path: str, scope: Any) -> Response:
        if not OWN_ALLOWED.match(path):
            return PlainTextResponse("Fichier introuvable.", status_code=404)
        return await super().get_response(path, scope)

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("cache-control", "no-cache")
        return response


if not DSFR_DIST.is_dir():
    log.warning("DSFR is not installed (%s missing): run `make assets`; pages will show without their styles",
                DSFR_DIST)

routes: list[BaseRoute] = [
    Route("/", compressed(home), name="home"),
    Route("/commencer", compressed(start), name="start"),
    Route("/tchat", compressed(tchat), name="tchat"),
    Route("/fin", compressed(end), name="end"),
    Route("/suivi", compressed(followup), name="followup"),
    Route("/mentions-legales", compressed(legal), name="legal"),
    Route(ASSETS_PREFIX + "/{version}/{path:path}", asset, name="asset"),
    Route("/textes/{digest}.json", compressed(script_texts), name="script_texts"),
    Route("/static/dsfr/{path:path}", dsfr_file, name="dsfr"),
    Mount("/static", app=_CachedStatic(directory=STATIC_DIR), name="static"),
]
