"""End to end in Chromium: a browser call with the fake microphone playing a sample call.

The caller's audio (a Spanish WAV in Pico's voice) really travels page → gateway → VAD →
Whisper → turn-taking; the assistant, the queue, the bot's voice (Pico) and the agent's audio
path are real: the reply to "¿Me puede pasar con una persona?" is the caller's place in the queue.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_chat_and_desk import log_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SECOND = 1000


def audio_stat(page: Page, stats: str, key: str) -> int:
    return int(page.evaluate(f"window.{stats}.{key}"))


def wait_for_stat(page: Page, stats: str, key: str, above: int, timeout_s: float) -> int:
    """Polls from here: the pages' CSP forbids the eval behind Playwright's wait_for_function."""
    deadline = time.monotonic() + timeout_s
    while (value := audio_stat(page, stats, key)) <= above:
        assert time.monotonic() < deadline, f"{stats}.{key} stayed at {value} (<= {above})"
        page.wait_for_timeout(100)
    return value


def test_browser_call_reaches_the_queue_and_the_agent_hears_the_caller(  # type: ignore[no-untyped-def]
    new_context, agent_login
) -> None:
    desk = log_in(new_context, *agent_login)  # online first: the caller is told a real wait

    caller = new_context().new_page()
    caller.goto("/call")
    caller.click("#call-button")
    expect(caller.locator("#call-status")).to_have_attribute("data-state", "in-call")
    # the greeting is real synthesised audio coming back over the socket
    wait_for_stat(caller, "callStats", "receivedBytes", 16_000, timeout_s=10)
    assert audio_stat(caller, "callStats", "sentFrames") > 0

    # the sample says "¿Me puede pasar con una persona?" after 5.5 s of silence
    transcript = caller.locator("#transcript")
    expect(transcript.locator(".line[data-author='customer']").first).to_contain_text(
        "pasar con una persona", timeout=30 * SECOND
    )
    expect(transcript).to_contain_text(
        re.compile("No tiene a nadie delante|personas? delante"), timeout=15 * SECOND
    )
    screenshot(caller, "call")

    item = desk.locator("#queues .queue-item[data-channel='voice']").first
    expect(item).to_be_visible(timeout=10 * SECOND)
    item.click()
    desk.click("#accept")
    expect(transcript).to_contain_text("Le atiende Lucía", timeout=10 * SECOND)
    desk.click("#talk")
    # half a second of the caller's voice reaches the agent's browser
    wait_for_stat(desk, "deskAudioStats", "receivedBytes", 16_000, timeout_s=15)
    # and the agent's microphone reaches the caller
    sent = wait_for_stat(desk, "deskAudioStats", "sentFrames", 25, timeout_s=10)
    assert sent > 25
    before = audio_stat(caller, "callStats", "receivedBytes")
    wait_for_stat(caller, "callStats", "receivedBytes", before + 16_000, timeout_s=10)
    screenshot(desk, "desk-call")
