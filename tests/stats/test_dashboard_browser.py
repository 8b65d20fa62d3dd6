"""The statistics page in a real browser at 1,366 px (issue 16, item 15): counts on integer axes, no table cut off,
and the outcome labels the console uses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from operators.stats.labels import OUTCOME_LABELS
from tests.conftest import ServerPool, wipe
from tests.operators.desks import sign_in
from tests.operators.staff import make
from tests.servers import LiveServer
from tests.stats.test_dashboard import _seed
from tests.web.conftest import SCREENSHOTS, TAKE_SCREENSHOTS, WAIT_MS, browser
from tests.web.test_accessibility import AXE, AXE_RUN

pytestmark = pytest.mark.browser
__all__ = ["browser"]

# The most common laptop screen in French administrations.
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
async def server(server_pool: ServerPool, sqlite_url: str) -> LiveServer:
    """The SQLite + memory server of the pool, emptied."""
    live = server_pool.get(sqlite_url, "memory://")
    await wipe(sqlite_url)
    return live


@pytest.fixture
async def laptop(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=LAPTOP, locale="fr-FR", timezone_id="Europe/Paris",
                                        bypass_csp=True)
    context.set_default_timeout(WAIT_MS)
    yield context
    await context.close()


async def _cut_tables(page: Page) -> list[str]:
    """Tables whose right edge leaves the window, or that hide columns in a box narrower than they are."""
    found: list[str] = await page.evaluate("""() => [...document.querySelectorAll('.stats-table')].filter(box => {
        const table = box.querySelector('table');
        const right = table.getBoundingClientRect().right;
        const clipped = [...box.querySelectorAll('*')].some(n => n.scrollWidth > n.clientWidth + 1
            && getComputedStyle(n).overflowX !== 'visible');
        return right > document.documentElement.clientWidth || clipped;
    }).map(box => box.id)""")
    return found


async def test_statistics_fit_a_laptop_with_integer_axes_and_the_console_labels(
        server: LiveServer, laptop: BrowserContext) -> None:
    """At 1,366 × 768 every table is whole on screen, every count axis is graduated in whole numbers, the
    outcome labels are those of the console's close form, and axe finds nothing."""
    await _seed(server)
    chief = await make(server, "chef.stats", "supervisor", "police")
    page = await sign_in(laptop, server, chief)
    await page.goto(server.base + "/supervision/stats")
    await expect(page.locator("h1")).to_have_text("Statistiques du tchat")

    assert await _cut_tables(page) == []
    assert await page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    for chart in ("#graphique-jours", "#graphique-attentes"):
        ticks = await page.locator(f"svg:has({chart}) text.stats-axis[text-anchor=end]").all_text_contents()
        assert ticks and all(t.isdigit() for t in ticks), (chart, ticks)
        values = [int(t) for t in ticks]
        assert values == sorted(values) and len(set(values)) == len(values), (chart, ticks)

    headings = await page.locator("#tableau-issues thead th").all_text_contents()
    assert [h for h in headings if h in OUTCOME_LABELS.values()] == list(OUTCOME_LABELS.values())
    await page.add_script_tag(path=str(AXE))
    assert await page.evaluate(AXE_RUN) == []
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "23-statistiques.png"), full_page=True)
