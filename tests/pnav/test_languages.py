"""The visitor's language: chosen in the URL, then from Accept-Language; <html lang/dir>, the menu, kept in links."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from chat.languages import LANGUAGES, from_accept_language
from tests.conftest import settings_for
from tests.servers import LiveServer


@pytest.fixture(scope="module")
def server(sqlite_url: str) -> Iterator[LiveServer]:
    live = LiveServer(settings_for(sqlite_url, "memory://")).start()
    yield live
    live.stop()


def page(server: LiveServer, path: str, **headers: str) -> str:
    response = httpx.get(server.base + path, headers=headers, timeout=10)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    return response.text


@pytest.mark.parametrize(("header", "expected"), [
    ("ar-MA,ar;q=0.9,fr;q=0.8", "ar"),
    ("de-DE,de;q=0.9,uk;q=0.5,en;q=0.7", "en"),
    ("pt-BR", "pt"),
    ("de, it", None),
    ("en;q=0, es", "es"),
    ("", None),
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
    ("en;q=abc, ar;q=0.1", "ar"),
])
def test_accept_language(header: str, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_choice_in_the_url_wins_over_the_browser(server: LiveServer) -> None:
    html = page(server, "/commencer?tchat=domestic_violence&lang=ar", **{"accept-language": "en"})
    assert '<html lang="ar" dir="rtl"' in html
    # Internal links keep the choice (pages without script), and the menu keeps the page's own parameters.
    assert 'href="/mentions-legales?lang=ar"' in html
    assert 'href="/commencer?tchat=domestic_violence&amp;lang=en"' in html
    names = re.findall(r'data-lang="(\w+)" data-replace(?: aria-current="true")?>([^<]+)</a>', html)
    assert dict(names) == {code: lang.name for code, lang in LANGUAGES.items()}
    assert 'data-lang="ar" data-replace aria-current="true"' in html


def test_browser_language_then_french(server: LiveServer) -> None:
    html = page(server, "/", **{"accept-language": "uk-UA,uk;q=0.9"})
    assert '<html lang="uk" dir="ltr"' in html
    assert 'href="/suivi"' in html  # no explicit choice: the links stay plain
    assert '<html lang="fr" dir="ltr"' in page(server, "/", **{"accept-language": "de"})
    assert '<html lang="fr" dir="ltr"' in page(server, "/?lang=xx")


def test_legal_notice_says_the_french_version_is_the_reference(server: LiveServer) -> None:
    for code in LANGUAGES:
        html = page(server, f"/mentions-legales?lang={code}")
        assert ('id="version-de-reference"' in html) == (code != "fr")
        if code != "fr":
            assert 'href="/mentions-legales?lang=fr"' in html
