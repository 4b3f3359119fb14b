"""A real headless Chromium (Debian's `chromium`) driven by Playwright against the live system.

Its fake microphone plays a sample call (a WAV made by scripts/make_samples.py) in a loop.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from bot.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CALLER_WAV = PROJECT_ROOT / "audio" / "samples" / "person.wav"
# `make screenshots` points this at docs/screenshots for the README; tests write under var/
SCREENSHOTS = Path(os.environ.get("BOT_SCREENSHOTS_DIR", PROJECT_ROOT / "var" / "screenshots"))
# No sandbox as root; no background traffic: this machine's network is closed.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    f"--use-file-for-fake-audio-capture={CALLER_WAV}",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package.")
    if not CALLER_WAV.exists():
        pytest.fail(f"{CALLER_WAV} is missing: `make samples` makes it (`make test` does).")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser: Browser, gateway_url: str) -> Iterator:
    """Makes browser contexts (one per person: customer, agent), closed after the test."""
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(
            base_url=gateway_url, viewport={"width": 1280, "height": 800}, locale="es-ES"
        )
        context.grant_permissions(["microphone"], origin=gateway_url)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Saves a screenshot of the page as it is now (see SCREENSHOTS)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
