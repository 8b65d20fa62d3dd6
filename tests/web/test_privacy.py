"""What a visitor's browser receives: strict headers, no cookie, no inline code, nothing from another host."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, expect

from chat.pages import DEFAULT_QUICK_EXIT_URL
from tests.servers import LiveServer
from tests.web.conftest import new_visit

PAGES = ("/", "/commencer", "/commencer?tchat=domestic_violence", "/tchat", "/fin", "/fin?tchat=sexual_violence",
         "/suivi", "/mentions-legales")
# Links a page may hold to another place: phone numbers, SMS, and the quick exit's neutral site.
ALLOWED_SCHEMES = ("tel:", "sms:", "data:", "#")


async def test_pages_send_strict_headers_and_no_cookie(server: LiveServer) -> None:
    """Every page: CSP without unsafe-inline, no referrer, not cached, no Set-Cookie."""
    async with httpx.AsyncClient(base_url=server.base) as http:
        for path in PAGES:
            response = await http.get(path)
            assert response.status_code == 200, path
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["cache-control"] == "no-store"
            assert "set-cookie" not in response.headers, path


async def test_pages_have_no_inline_code_and_no_foreign_resource(server: LiveServer) -> None:
    """No inline script, no style attribute or element, and every src/href stays on this host."""
    async with httpx.AsyncClient(base_url=server.base) as http:
        for path in PAGES:
            html = (await http.get(path)).text
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
            assert not re.search(r"\sstyle\s*=", html), path
            assert "<style" not in html, path
            assert not re.search(r"\son[a-z]+\s*=", html), path
            for url in re.findall(r"""(?:src|href|action)\s*=\s*["']([^"']*)["']""", html):
                if url.startswith(ALLOWED_SCHEMES) or url == DEFAULT_QUICK_EXIT_URL:
                    continue
                assert not urlsplit(url).netloc, f"{path} links to {url}"


async def test_dsfr_is_served_from_an_allowlist(server: LiveServer) -> None:
    """The DSFR stylesheet, fonts and icons are served; the rest of the npm package is not reachable."""
    async with httpx.AsyncClient(base_url=server.base) as http:
        assert (await http.get("/static/dsfr/dsfr.min.css")).status_code == 200
        assert (await http.get("/static/dsfr/fonts/Marianne-Regular.woff2")).status_code == 200
        assert (await http.get("/static/dsfr/icons/system/fr--info-fill.svg")).status_code == 200
        for path in ("/static/dsfr/dsfr.module.min.js", "/static/dsfr/../package.json",
                     "/static/dsfr/favicon/favicon.svg", "/static/dsfr/%2e%2e/package.json"):
            assert (await http.get(path)).status_code == 404, path


@pytest.mark.browser
async def test_without_javascript_the_numbers_and_an_explanation_show(browser: Browser, server: LiveServer) -> None:
    """JavaScript off: the noscript block explains and lists the emergency numbers from the routing data."""
    visit = await new_visit(browser, server, java_script_enabled=False)
    try:
        for path in ("/", "/tchat"):
            await visit.goto(path)
            notice = visit.page.locator(".pnav-noscript")
            await expect(notice).to_be_visible()
            await expect(notice).to_contain_text("Le tchat a besoin de JavaScript")
            for number in ("17", "112", "114", "116 006"):
                await expect(notice).to_contain_text(number)
            last = notice.locator("li").last  # the tchat's screen layout must not cut the list off
            await last.scroll_into_view_if_needed()
            await expect(last).to_be_in_viewport()
        await visit.screenshot("11-sans-javascript")
        assert visit.foreign_requests() == []
    finally:
        await visit.context.close()
