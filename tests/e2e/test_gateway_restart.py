"""End to end in Chromium: the gateway is killed (SIGKILL) under a chat and a browser call, and
started again on the same port and database, as the supervisor does.

The chat says it is reconnecting, keeps what the customer writes meanwhile, reconnects by itself
and goes on where it was: every message shown once, the message written offline sent once and
answered. The call page says the call was cut and offers to call again or to go on by chat,
which opens once the gateway is back. The chat widget opened meanwhile says it cannot connect
and loads the chat once it can. This gateway is the test's own: the shared one lives on.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bot.settings import Settings
from tests.e2e.test_browser_call import wait_for_stat
from tests.e2e.test_chat_and_desk import REPLY_TIMEOUT_MS, last_message, send
from tests.helpers.live import GatewayProcess, restartable_gateway

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PORT = 18004
SECOND = 1000
HOURS = "¿A qué hora abre la tienda de Gran Vía?"
ORDER = "Quiero saber dónde está mi pedido"


@pytest.fixture
def own_gateway(live_settings: Settings, tmp_path: Path) -> Iterator[GatewayProcess]:
    # calls hear a script instead of loading a speech model into this second process
    script = tmp_path / "caller.txt"
    script.write_text("hola\n", encoding="utf-8")
    with restartable_gateway(live_settings, PORT, tmp_path, BOT_CALL_SCRIPT=str(script)) as gw:
        yield gw


@pytest.fixture
def contexts(browser: Browser, own_gateway: GatewayProcess) -> Iterator[list[BrowserContext]]:
    made = []
    for _ in range(3):  # the chat customer, the caller, a visitor of the company's site
        context = browser.new_context(
            base_url=own_gateway.url, viewport={"width": 1280, "height": 800}, locale="es-ES"
        )
        context.grant_permissions(["microphone"], origin=own_gateway.url)
        made.append(context)
    yield made
    for context in made:
        context.close()


def settled(page: Page) -> list[tuple[str, str]]:
    """The messages the chat shows as the server's, in order: (author, text)."""
    messages = page.locator("#messages .message:not(.pending):not(.unsent)")
    authors = [m.get_attribute("data-author") or "" for m in messages.all()]
    return list(zip(authors, messages.locator(".message-bubble").all_inner_texts(), strict=True))


def test_a_killed_gateway_comes_back_under_the_chat_and_the_call_page(  # type: ignore[no-untyped-def]
    own_gateway: GatewayProcess, contexts: list[BrowserContext]
) -> None:
    chat = contexts[0].new_page()
    chat.goto("/chat")
    expect(last_message(chat, "bot")).to_contain_text("asistente virtual")
    send(chat, HOURS)
    messages = chat.locator("#messages")
    expect(messages).to_contain_text("La tienda de Madrid Gran Vía abre", timeout=REPLY_TIMEOUT_MS)
    expect(chat.locator("#typing")).to_be_hidden()
    before = settled(chat)  # the greeting, the question, the answer (in one or more messages)

    caller = contexts[1].new_page()
    caller.goto("/call")
    caller.click("#call-button")
    expect(caller.locator("#call-status")).to_have_attribute("data-state", "in-call")
    wait_for_stat(caller, "callStats", "receivedBytes", 8_000, timeout_s=15)  # the greeting

    visitor = contexts[2].new_page()
    visitor.goto("/")  # the company's page with the widget, which opens the chat later

    own_gateway.kill()

    # the chat says so, keeps what is written meanwhile, and tries again by itself
    connection = chat.locator("#connection")
    expect(connection).to_contain_text("Reconectando…", timeout=10 * SECOND)
    expect(connection).to_be_visible()
    send(chat, ORDER)
    waiting = chat.locator("#messages .message.pending")
    expect(waiting).to_contain_text(ORDER)
    expect(waiting).to_contain_text("se enviará en cuanto se recupere la conexión")

    # the call page says the call was cut, and offers to call again or to go on by chat
    expect(caller.locator("#call-status")).to_have_text("Se ha cortado la llamada.")
    lost = caller.locator("#call-lost")
    expect(lost).to_be_visible()
    expect(lost.locator("#call-again")).to_have_text("Volver a llamar")
    expect(lost.locator("#continue-chat")).to_have_text("Seguir por el chat")
    expect(lost).to_contain_text("conversación por escrito")
    caller.click("#continue-chat")  # the service is still away: the page waits for it
    expect(caller.locator("#call-lost-wait")).to_contain_text("Abriremos el chat en cuanto")

    # the widget opened now holds the browser's error page: it says so and tries again
    visitor.get_by_role("button", name="Abrir el chat").click()
    expect(visitor.get_by_text("No podemos conectar con el chat en este momento.")).to_be_visible(
        timeout=10 * SECOND
    )

    restart_s = own_gateway.start()
    back = time.monotonic()

    # the chat reconnects by itself and goes on where it was
    expect(connection).to_be_hidden(timeout=15 * SECOND)
    reconnect_s = time.monotonic() - back
    expect(waiting).to_have_count(0, timeout=REPLY_TIMEOUT_MS)
    expect(last_message(chat, "bot")).to_contain_text("pedido", timeout=REPLY_TIMEOUT_MS)
    after = settled(chat)  # all that was shown before, once, then the offline message once
    assert after[: len(before)] == before
    assert after[len(before)] == ("customer", ORDER)
    assert [m for m in after[len(before) + 1 :] if m[0] == "customer"] == []
    send(chat, "48213")  # the assistant still knows it asked for the order's number
    expect(last_message(chat, "bot")).to_contain_text("código postal", timeout=REPLY_TIMEOUT_MS)

    # the server holds the message written offline once
    stored = json.loads(chat.evaluate("window.localStorage.getItem('telco-chat')"))
    snapshot = requests.get(
        f"{own_gateway.url}/api/conversations/{stored['id']}",
        headers={"Authorization": f"Bearer {stored['token']}"},
        timeout=5,
    ).json()
    said = [m["text"] for m in snapshot["messages"] if m["author"] == "customer"]
    assert said == [HOURS, ORDER, "48213"]

    # and the caller who chose the chat gets it, told that the call does not go on there
    caller.wait_for_url(re.compile(r"/chat$"), timeout=20 * SECOND)
    expect(caller.locator("#notice")).to_contain_text("La llamada no continúa en este chat")
    expect(last_message(caller, "bot")).to_contain_text("asistente virtual")

    # the widget's chat loads by itself
    widget_chat = visitor.frame_locator("iframe[src*='/chat?embed=1']")
    expect(widget_chat.locator("#messages")).to_contain_text(
        "asistente virtual", timeout=20 * SECOND
    )
    expect(visitor.get_by_text("No podemos conectar con el chat en este momento.")).to_be_hidden()

    assert reconnect_s < 12, f"the chat took {reconnect_s:.1f} s to reconnect"
    print(f"gateway start {restart_s:.1f} s, chat back {reconnect_s:.1f} s after it")
