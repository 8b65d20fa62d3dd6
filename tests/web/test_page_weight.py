"""A first visit on a weak phone: what the visitor pages weigh, compressed, and how long their files may be kept.

Issue 19: a first visit of ``/``, ``/commencer``, ``/tchat`` or ``/suivi`` transfers at most 100 KB (HTML, CSS,
scripts and fonts, headers included) with compression; static files have content-versioned URLs cached for a
year, pages are never cached. The bytes are counted by Chromium itself on a fresh profile (nothing cached), over
with brotli (what it asks for) and with gzip only.
"""

from __future__ import annotations

import functools
import gzip
import re

import brotli
import httpx
import pytest
from playwright.async_api import Browser, Response

from chat.assets import TARGET as DSFR_DIR
from chat.assets import VISITOR_CLASSES, visitor_classes
from chat.static_files import IMMUTABLE, negotiate
from tests.servers import LiveServer
from tests.web.conftest import new_visit

BUDGET_BYTES = 100_000
PAGES = ("/", "/commencer", "/tchat", "/suivi")
_ASSET = re.compile(r"""(?:src|href)="(/assets/[0-9a-f]{16}/[^"]+)\"""")


@pytest.mark.browser
@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_first_visit_of_each_page_fits_the_budget(browser: Browser, server: LiveServer, encoding: str) -> None:
    """Every byte Chromium receives for the page (a fresh profile, fonts drawn) adds up to at most 100 KB, with
    brotli (what Chromium asks for) and with gzip only (an older browser, or a proxy that strips brotli)."""
    weights: dict[str, int] = {}
    headers = {} if encoding == "br" else {"accept-encoding": "gzip, deflate"}
    for path in PAGES:
        visit = await new_visit(browser, server, extra_http_headers=headers)
        responses: list[Response] = []
        visit.page.on("response", functools.partial(list.append, responses))
        try:
            await visit.goto(path)
            await visit.page.wait_for_load_state("networkidle")
            await visit.page.evaluate("document.fonts.ready.then(() => true)")
            total = 0
            kinds: set[str] = set()
            for response in responses:
                assert response.status < 400, response.url  # every file the page asks for is served
                sizes = await response.request.sizes()
                total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
                kinds.add(response.request.resource_type)
                if response.request.resource_type in ("stylesheet", "script"):
                    assert await response.header_value("content-encoding") == encoding, response.url
            assert {"document", "stylesheet", "script", "font"} <= kinds, (path, kinds)
            weights[path] = total
        finally:
            await visit.context.close()
    assert all(weight <= BUDGET_BYTES for weight in weights.values()), weights
    print(encoding, weights)


async def test_static_files_are_versioned_immutable_and_compressed(server: LiveServer) -> None:
    """Pages: not cached. Their CSS, scripts and preloaded fonts: /assets/<version>/…, a year, immutable; CSS and
    scripts brotli or gzip as asked."""
    async with httpx.AsyncClient(base_url=server.base) as http:
        urls: set[str] = set()
        for path in PAGES:
            page = await http.get(path, headers={"accept-encoding": "gzip"})
            assert page.headers["cache-control"] == "no-store", path
            assert page.headers["content-encoding"] == "gzip" and "accept-encoding" in page.headers["vary"], path
            urls |= set(_ASSET.findall(page.text))
        assert any(url.endswith("/dsfr/visitor.min.css") for url in urls), urls
        for url in urls:
            plain = await http.get(url, headers={"accept-encoding": "identity"})
            assert plain.status_code == 200 and plain.headers["cache-control"] == IMMUTABLE, url
            assert "content-encoding" not in plain.headers, url
            raw = plain.content
            br = await http.get(url, headers={"accept-encoding": "gzip, deflate, br"})
            if url.endswith(".woff2"):  # the preloaded fonts: compressed already, sent as they are
                assert "content-encoding" not in br.headers and br.content == raw, url
                continue
            assert br.headers["content-encoding"] == "br" and br.headers["cache-control"] == IMMUTABLE, url
            assert brotli.decompress(await _raw(http, url, "br")) == raw, url
            assert gzip.decompress(await _raw(http, url, "gzip")) == raw, url
        version, rest = next(iter(urls)).removeprefix("/assets/").split("/", 1)
        stale = await http.get(f"/assets/{'0' * 16}/{rest}")
        assert stale.status_code == 404 and stale.headers["cache-control"] == "no-store"
        for hidden in ("dsfr/dsfr.module.min.js", "dsfr/VERSION", "js/../assets.py"):
            assert (await http.get(f"/assets/{version}/{hidden}")).status_code == 404, hidden
        for path in ("/static/built/x.br", "/static/dsfr/VERSION", "/static/dsfr/visitor-classes.txt"):
            assert (await http.get(path)).status_code == 404, path


async def _raw(http: httpx.AsyncClient, url: str, encoding: str) -> bytes:
    """The body as sent (httpx would decode it)."""
    async with http.stream("GET", url, headers={"accept-encoding": encoding}) as response:
        assert response.headers["content-encoding"] == encoding, url
        return b"".join([chunk async for chunk in response.aiter_raw()])


def test_accept_encoding_is_negotiated() -> None:
    both = {"br", "gzip"}
    assert negotiate("gzip, deflate, br, zstd", both) == "br"
    assert negotiate("gzip, deflate", both) == "gzip"
    assert negotiate("br;q=0, gzip;q=0.5", both) == "gzip"
    assert negotiate("*", both) == "br"
    assert negotiate("*;q=0", both) is None
    assert negotiate("identity", both) is None
    assert negotiate("", both) is None
    assert negotiate("br", {"gzip"}) is None


def test_the_visitor_stylesheet_was_cut_for_the_classes_the_pages_use() -> None:
    """A DSFR class added to a visitor template or script after ``make assets`` would be unstyled: run it again."""
    built = set((DSFR_DIR / VISITOR_CLASSES).read_text("utf-8").split())
    missing = visitor_classes() - built
    assert not missing, f"run `make assets`: the visitor stylesheet lacks {sorted(missing)}"


# Lighthouse's mobile network (simulated slow 4G): 150 ms of latency, 1.6 Mbit/s down, 750 kbit/s up.
SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push(entry.value);
}).observe({type: "layout-shift", buffered: true});
"""
GOOD_CLS = 0.1  # Core Web Vitals: "good" cumulative layout shift


@pytest.mark.browser
async def test_nothing_moves_while_a_first_visit_loads_on_a_slow_network(browser: Browser, server: LiveServer) -> None:
    """On a fresh profile and a slow phone network, the text does not jump when the fonts arrive: the fonts every
    visitor page draws are preloaded with the stylesheet (a page drawn in the fallback font, then in Marianne,
    moved its whole content 30 px up: Lighthouse's layout shift 0.25 on ``/``, performance 88)."""
    shifts: dict[str, float] = {}
    for path in PAGES:
        visit = await new_visit(browser, server)
        try:
            cdp = await visit.context.new_cdp_session(visit.page)
            await cdp.send("Network.enable")
            await cdp.send("Network.emulateNetworkConditions", SLOW_4G)
            await visit.page.add_init_script(_SHIFTS)
            await visit.goto(path)
            await visit.page.wait_for_load_state("networkidle")
            await visit.page.evaluate("document.fonts.ready.then(() => true)")
            shifts[path] = round(await visit.page.evaluate("window.__shifts.reduce((a, b) => a + b, 0)"), 3)
        finally:
            await visit.context.close()
    assert all(shift < GOOD_CLS for shift in shifts.values()), shifts
