"""The console in a real browser (Debian's headless chromium, driven by selenium): real
clicks on a console serving a real SQLite file in a subprocess, asserting what the page then
shows. The run saves the screenshots docs/console.md shows (docs/img/console-*.png)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from eventsource import open_backend

from .conftest import Console
from .model import HOSTILE, ConsoleItemAdded, Seeded
from .test_http import outbox_claimable

#: Where the screenshots go: docs/img when $EVENTSOURCE_CONSOLE_SCREENSHOTS=1 (to refresh the
#: ones docs/console.md shows), else a temporary folder (a test run leaves docs as they are).
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def wait_for(driver: Any, condition: Callable[[Any], Any], timeout: float = 10) -> Any:
    """``condition``'s first truthy value; an element replaced meanwhile (live pages swap
    their content) is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(
        driver, timeout, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition)


def texts(driver: Any, css: str) -> list[str]:
    """The visible text of every element matching ``css``, read at one moment."""
    script = "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)"
    return list(driver.execute_script(script, css))


def text_of(driver: Any, css: str) -> str:
    """The text of the first element matching ``css`` ("" when there is none)."""
    found = texts(driver, css)
    return found[0] if found else ""


def click(driver: Any, by: str, value: str) -> None:
    """Click the element, looking it up again if a live refresh replaced it."""

    def clicked(d: Any) -> bool:
        d.find_element(by, value).click()
        return True

    wait_for(driver, clicked)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the screenshots are saved in."""
    if os.environ.get("EVENTSOURCE_CONSOLE_SCREENSHOTS") == "1":
        return DOCS_IMG
    return tmp_path_factory.mktemp("screenshots")


def shot(driver: Any, folder: Path, name: str) -> None:
    """Save the page as FOLDER/console-NAME.png (and check it is a PNG)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"console-{name}.png"
    driver.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_browse_search_and_open_an_event(
    browser: Any,
    screenshots: Path,
    sqlite_store: tuple[str, Seeded],
    console_factory: Callable[..., Console],
) -> None:
    from selenium.webdriver.common.by import By

    url, seeded = sqlite_store
    console = console_factory(url)
    browser.get(console.url("/"))
    assert text_of(browser, '[data-card="global position"] b') == "18"
    wait_for(browser, lambda d: "live: polling" in text_of(d, "#live-state"))
    shot(browser, screenshots, "overview")
    click(browser, By.LINK_TEXT, "Streams")
    box = wait_for(browser, lambda d: d.find_element(By.ID, "stream"))
    box.send_keys(seeded.hostile_stream[:8])
    browser.find_element(By.ID, "search-button").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#found a"))
    browser.find_element(By.CSS_SELECTOR, "#found a").click()
    wait_for(browser, lambda d: "Stream " in d.title)
    rows = browser.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    assert len(rows) == 3
    shot(browser, screenshots, "stream")
    rows[0].find_element(By.CSS_SELECTOR, "td a").click()  # its first event
    document = wait_for(browser, lambda d: d.find_element(By.ID, "document"))
    # the hostile payload shows as text: no script ran, no element was made of it
    assert HOSTILE in document.text
    assert browser.title.startswith("Event ") and "pwned" not in browser.title
    assert not browser.find_elements(By.CSS_SELECTOR, "main script, main img")
    shot(browser, screenshots, "event")
    # search by event type
    browser.get(console.url("/streams"))
    browser.find_element(By.ID, "type").send_keys("consoletest.OrderPlaced")
    browser.find_element(By.ID, "search-button").click()
    wait_for(browser, lambda d: "Events of type" in text_of(d, "main h2"))
    assert texts(browser, "#events td:nth-child(4)") == ["consoletest.OrderPlaced"] * 6


def test_live_overview_and_projection_chart(
    browser: Any,
    screenshots: Path,
    sqlite_store: tuple[str, Seeded],
    console_factory: Callable[..., Console],
) -> None:
    from selenium.webdriver.common.by import By

    url, _ = sqlite_store
    console = console_factory(url)
    browser.get(console.url("/"))
    wait_for(browser, lambda d: "live:" in text_of(d, "#live-state"))

    async def append() -> None:
        async with open_backend(url, create=False) as backend:
            aggregate_id = uuid4()
            event = ConsoleItemAdded(aggregate_id=aggregate_id, sku="plum")
            await backend.events.append_events(aggregate_id, "ConsoleOrder", [event], 0)

    asyncio.run(append())  # another process appends: the open page shows it, no reload
    wait_for(browser, lambda d: text_of(d, '[data-card="global position"] b') == "19")
    browser.get(console.url("/projections"))
    cells = texts(browser, "#projections tbody tr:first-child td")
    assert cells[:3] == ["emails", "18", "1"]

    async def work() -> None:
        """Appends, and "orders" catching up, over a few of the console's samples."""
        async with open_backend(url, create=False) as backend:
            for _ in range(8):
                aggregate_id = uuid4()
                events = [
                    ConsoleItemAdded(aggregate_id=aggregate_id, sku="fig", aggregate_version=v)
                    for v in (1, 2)
                ]
                await backend.events.append_events(aggregate_id, "ConsoleOrder", events, 0)
                stored = [e async for e in backend.events.read_all()]
                at = await backend.checkpoints.get_position("orders") or 0
                nxt = stored[min(len(stored), at + 3) - 1]
                await backend.checkpoints.update_checkpoint(
                    "orders", nxt.event_id, nxt.event_type, nxt.global_position
                )
                await asyncio.sleep(0.3)  # pacing only, so samples fall in between

    asyncio.run(work())
    # 19 + 16 events; "orders" moved from 13 by 3 each time: 37 > 35, so it caught up
    wait_for(
        browser,
        lambda d: texts(d, "#projections tbody tr:nth-child(2) td")[:3] == ["orders", "35", "0"],
    )
    # the sampler (every 0.5 s) has drawn lag and throughput lines
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "svg.chart polyline")) >= 4)
    shot(browser, screenshots, "projections")


def test_dlq_replay_and_resolve_with_the_token(
    browser: Any,
    screenshots: Path,
    sqlite_store: tuple[str, Seeded],
    console_factory: Callable[..., Console],
) -> None:
    from selenium.webdriver.common.by import By

    url, seeded = sqlite_store
    console = console_factory(url, allow_writes=True)
    assert console.token is not None
    browser.delete_all_cookies()
    browser.get(console.url(f"/dlq/{seeded.dlq_ids['replay']}"))
    # a wrong token in the form is refused and changes nothing
    form = browser.find_element(By.ID, "replay")
    form.find_element(By.NAME, "token").send_keys("not-the-right-token")
    form.find_element(By.TAG_NAME, "button").click()
    assert "needs the console's token" in wait_for(browser, lambda d: text_of(d, "#error"))
    assert not console.replay_log.exists()
    # unlock with the token printed at start-up, then replay
    browser.get(console.url("/unlock"))
    browser.find_element(By.ID, "token").send_keys(console.token)
    browser.find_element(By.CSS_SELECTOR, "#unlock button").click()
    wait_for(browser, lambda d: "writes unlocked" in text_of(d, ".banner"))
    browser.get(console.url("/dlq"))
    shot(browser, screenshots, "dlq")
    click(browser, By.LINK_TEXT, str(seeded.dlq_ids["replay"]))
    form = wait_for(browser, lambda d: d.find_element(By.ID, "replay"))
    form.find_element(By.NAME, "note").send_keys("handler fixed")
    form.find_element(By.TAG_NAME, "button").click()
    assert "Replayed" in wait_for(browser, lambda d: text_of(d, "#flash"))
    entry = text_of(browser, "#entry")
    assert "resolved" in entry and "handler fixed" in entry
    assert "ConsoleOrderPlaced" in console.replay_log.read_text()  # the projection ran
    # resolve the other entry with a note
    browser.get(console.url(f"/dlq/{seeded.dlq_ids['resolve']}"))
    form = browser.find_element(By.ID, "resolve")
    form.find_element(By.NAME, "note").send_keys("customer name cleaned up")
    form.find_element(By.TAG_NAME, "button").click()
    assert "resolved" in wait_for(browser, lambda d: text_of(d, "#flash"))
    assert "customer name cleaned up" in text_of(browser, "#entry")
    browser.get(console.url("/dlq?status=resolved"))
    assert len(texts(browser, "#dlq tbody tr")) == 2
    # retry the failed outbox entry
    browser.get(console.url("/outbox?status=failed"))
    assert texts(browser, "#outbox tbody td:first-child") == [str(seeded.failed_outbox)]
    click(browser, By.CSS_SELECTOR, "#outbox button")
    assert "pending" in wait_for(browser, lambda d: text_of(d, "#flash"))
    assert texts(browser, "#outbox tbody td") == ["nothing here"]
    assert text_of(browser, '[data-card="pending"] b') == "3"
    browser.delete_all_cookies()


@pytest.mark.postgres
def test_postgres_console_is_live_by_notifications(
    browser: Any, screenshots: Path, pg_url: str, console_factory: Callable[..., Console]
) -> None:
    from .model import seed

    asyncio.run(seed(pg_url))
    console = console_factory(pg_url)
    browser.get(console.url("/"))
    wait_for(browser, lambda d: "live: notifications" in text_of(d, "#live-state"))
    assert text_of(browser, '[data-card="global position"] b') == "18"
    browser.get(console.url("/outbox"))
    assert text_of(browser, '[data-card="pending"] b') == "2"
    wait_for(browser, lambda d: "live: notifications" in text_of(d, "#live-state"))
    assert len(texts(browser, "#outbox tbody tr")) == 2
    assert outbox_claimable(pg_url) == 2  # listed, none claimed
    shot(browser, screenshots, "outbox")
