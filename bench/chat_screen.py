"""The agent's chat messages until they are on the customer's screen, in a real headless Chromium
(Debian's, launched as the end-to-end tests launch it).

The customer's /chat page asks for a person; the supervisor at the desk accepts and writes
several messages, a short pause apart, then closes. Each figure runs from just before the desk's
POST of a message to the moment its bubble is added to the page (a MutationObserver in the page
stamps `Date.now()`); both ends read the same machine's wall clock.
"""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Page, async_playwright, expect

from bench.handoff import HANDOFF_REQUEST, Desk
from bench.stats import summary
from bench.system import GATEWAY
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

TIMEOUT_S = 30.0
PAUSE_S = 0.3  # between the agent's messages, so that each one is timed on a quiet page
AGENT_LINES = (
    "Hola, soy Lucía, de atención al cliente. ¿En qué puedo ayudarle?",
    "Un momento, por favor, que lo compruebo.",
    "Ya lo veo en el sistema.",
    "¿Necesita algo más?",
)
AGENT_BUBBLES = "#messages .message[data-author='agent']"
# Stamps the wall clock whenever the page gains agent bubbles (one stamp per new bubble), and
# wakes whoever waits for them. page.evaluate runs despite the page's CSP, which refuses
# Playwright's wait_for_function.
WATCH_AGENT_BUBBLES = """selector => {
  const shownAt = (window.__agentShownAt = []);
  const waiters = (window.__agentWaiters = []);
  const base = document.querySelectorAll(selector).length;
  new MutationObserver(() => {
    const now = Date.now();
    const count = document.querySelectorAll(selector).length - base;
    while (shownAt.length < count) shownAt.push(now);
    waiters.splice(0).forEach((wake) => wake());
  }).observe(document.querySelector('#messages'), { childList: true, subtree: true });
}"""
SHOWN_AT = """n => new Promise((resolve) => {
  const check = () => {
    if (window.__agentShownAt.length >= n) resolve(window.__agentShownAt[n - 1]);
    else window.__agentWaiters.push(check);
  };
  check();
})"""


async def agent_messages_on_screen(count: int) -> dict[str, float]:
    """Summary of ms from the desk's POST of each of `count` agent messages to its bubble."""
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        desk = await Desk().open()
        try:
            page = await browser.new_page(locale="es-ES", viewport={"width": 1280, "height": 800})
            conversation = await _customer_with_agent(page, desk)
            shown = [await _agent_writes(page, desk, conversation, n) for n in range(count)]
            await desk.post(f"conversations/{conversation}/close")
        finally:
            await desk.close()
            await browser.close()
    return summary(shown)


async def _customer_with_agent(page: Page, desk: Desk) -> str:
    """The customer asks for a person and the desk accepts; the conversation's id."""
    await page.goto(f"{GATEWAY}/chat")
    timeout = TIMEOUT_S * 1000
    await expect(page.locator("#messages .message[data-author='bot']").last).to_contain_text(
        "asistente virtual", timeout=timeout
    )
    await page.fill("#message-input", HANDOFF_REQUEST)
    await page.click("#send")
    status = page.locator("#queue-status")
    await expect(status).to_have_attribute("data-state", "queued", timeout=timeout)
    conversation: str = await page.evaluate(
        "() => JSON.parse(window.localStorage.getItem('telco-chat')).id"
    )
    await desk.post(f"conversations/{conversation}/accept")
    await expect(status).to_have_attribute("data-state", "agent", timeout=timeout)
    await page.evaluate(WATCH_AGENT_BUBBLES, AGENT_BUBBLES)
    return conversation


async def _agent_writes(page: Page, desk: Desk, conversation: str, n: int) -> float:
    """ms from just before the POST of the agent's n-th message (from 0) to its bubble."""
    await asyncio.sleep(PAUSE_S)
    text = AGENT_LINES[n % len(AGENT_LINES)]
    start_ms = time.time() * 1000
    await desk.post(f"conversations/{conversation}/messages", {"text": text})
    try:
        shown_ms = await asyncio.wait_for(page.evaluate(SHOWN_AT, n + 1), TIMEOUT_S)
    except asyncio.TimeoutError as error:
        raise RuntimeError(f"the agent's message {n + 1} never reached the chat page") from error
    return float(shown_ms) - start_ms
