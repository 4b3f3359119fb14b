"""End to end in Chromium: a chat customer, the handoff queue and a live agent at the desk."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import Page, expect

from bot.assistant.contract import CHAT_APOLOGY
from bot.settings import Settings
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

REPLY_TIMEOUT_MS = 15_000


def send(page: Page, text: str) -> None:
    page.fill("#message-input", text)
    page.click("#send")


def last_message(page: Page, author: str):  # type: ignore[no-untyped-def]
    """The text bubble of the latest message by `author` (customer, bot, agent, system)."""
    return page.locator(f"#messages .message[data-author='{author}'] .message-bubble").last


def open_chat(new_context) -> Page:  # type: ignore[no-untyped-def]
    page = new_context().new_page()
    page.goto("/chat")
    expect(last_message(page, "bot")).to_contain_text("asistente virtual")
    return page


def log_in(new_context, username: str, password: str) -> Page:  # type: ignore[no-untyped-def]
    desk = new_context().new_page()
    desk.goto("/desk/login")
    desk.fill("#username", username)
    desk.fill("#password", password)
    desk.click("#login-button")
    desk.wait_for_url(re.compile(r"/desk$"))
    return desk


def test_chat_user_asks_the_opening_hours(new_context) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_context)
    send(page, "¿A qué hora abre la tienda de Gran Vía?")
    messages = page.locator("#messages")
    expect(messages).to_contain_text("La tienda de Madrid Gran Vía abre", timeout=REPLY_TIMEOUT_MS)
    expect(messages).to_contain_text("de 10:00 a 21:00")
    screenshot(page, "chat")


def test_chat_text_is_shown_as_text_not_markup(new_context) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_context)
    hostile = "<img src=x onerror=\"document.title='pwned'\"><b>hola</b>"
    send(page, hostile)
    expect(last_message(page, "customer")).to_have_text(hostile)
    expect(last_message(page, "bot")).not_to_have_count(0, timeout=REPLY_TIMEOUT_MS)
    assert page.title() != "pwned"
    assert page.locator("#messages b, #messages img").count() == 0


def test_conversation_survives_a_reload(new_context) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_context)
    send(page, "Quiero saber dónde está mi pedido")
    expect(last_message(page, "bot")).to_contain_text("pedido", timeout=REPLY_TIMEOUT_MS)
    page.reload()
    expect(last_message(page, "customer")).to_have_text("Quiero saber dónde está mi pedido")
    send(page, "48213")
    # the assistant goes on where it was: it now asks for the postcode of that order
    expect(last_message(page, "bot")).to_contain_text("código postal", timeout=REPLY_TIMEOUT_MS)


def test_handoff_in_the_middle_of_a_booking_to_an_agent_and_back(  # type: ignore[no-untyped-def]
    new_context, agent_login
) -> None:
    customer = open_chat(new_context)
    send(customer, "Quiero pedir cita para instalar la fibra")
    expect(last_message(customer, "bot")).to_contain_text("zona", timeout=REPLY_TIMEOUT_MS)
    send(customer, "Madrid")
    expect(last_message(customer, "bot")).to_contain_text("día", timeout=REPLY_TIMEOUT_MS)
    send(customer, "Prefiero hablar con una persona")

    # queued, with place and wait, told at once
    status = customer.locator("#queue-status")
    expect(status).to_have_attribute("data-state", "queued", timeout=REPLY_TIMEOUT_MS)
    expect(status).to_contain_text("soporte técnico")
    expect(last_message(customer, "system")).to_contain_text(re.compile("delante|no hay nadie"))
    screenshot(customer, "chat-queued")

    # the agent logs in, sees the conversation with its context, and takes it
    desk = log_in(new_context, *agent_login)
    item = desk.locator("#queues .queue-item[data-reason='user_request']").first
    expect(item).to_be_visible()
    item.click()
    expect(desk.locator("#detail-summary")).to_contain_text("Pide hablar con una persona")
    expect(desk.locator("#detail-intents")).to_contain_text("book_appointment")
    expect(desk.locator("#detail-slots")).to_contain_text("tienda de Madrid Gran Vía")
    transcript = desk.locator("#transcript")
    expect(transcript).to_contain_text("Quiero pedir cita para instalar la fibra")
    screenshot(desk, "desk")
    desk.click("#accept")
    expect(customer.locator("#queue-status")).to_have_attribute("data-state", "agent")
    expect(last_message(customer, "system")).to_contain_text("Le atiende Lucía")

    # the agent tells the trainers what a customer's words meant (they reach the inbox)
    said = transcript.locator(".message[data-author='customer']", has_text="Madrid").first
    said.locator(".correct-button").click()
    said.locator(".correct-intent").select_option("inform")
    said.locator(".correct-send").click()
    expect(said.locator(".correct-done")).to_contain_text("Enviado a entrenamiento")

    # messages flow both ways; nothing from the bot meanwhile
    desk.fill("#agent-input", "Hola, soy Lucía. ¿Qué día le viene bien la instalación?")
    desk.click("#agent-send")
    expect(last_message(customer, "agent")).to_contain_text("¿Qué día le viene bien")
    bot_lines = customer.locator("#messages .message[data-author='bot']").count()
    send(customer, "El jueves por la mañana")
    expect(transcript.locator(".message[data-author='customer']").last).to_contain_text(
        "El jueves por la mañana"
    )
    customer.wait_for_timeout(1500)
    assert customer.locator("#messages .message[data-author='bot']").count() == bot_lines

    # the agent hands back; the assistant answers the next question
    desk.click("#hand-back")
    expect(customer.locator("#queue-status")).not_to_have_attribute("data-state", "agent")
    expect(last_message(customer, "bot")).to_contain_text("asistente virtual")
    send(customer, "¿A qué hora abre la tienda de Barcelona Diagonal?")
    expect(last_message(customer, "bot")).to_contain_text("Diagonal", timeout=REPLY_TIMEOUT_MS)


def test_a_customer_losing_patience_reaches_the_desk_first_with_the_reasons(  # type: ignore[no-untyped-def]
    new_context, agent_login
) -> None:
    customer = open_chat(new_context)
    send(customer, "¿Dónde está mi pedido?")
    expect(last_message(customer, "bot")).to_contain_text("pedido", timeout=REPLY_TIMEOUT_MS)
    send(customer, "Le pregunto que dónde está mi pedido")
    # rising: the assistant says it understands and offers a person, then goes on
    expect(customer.locator("#messages")).to_contain_text(
        "Entiendo que es frustrante", timeout=REPLY_TIMEOUT_MS
    )
    send(customer, "DÍGAME DÓNDE ESTÁ MI PEDIDO")
    status = customer.locator("#queue-status")
    expect(status).to_have_attribute("data-state", "queued", timeout=REPLY_TIMEOUT_MS)

    desk = log_in(new_context, *agent_login)
    item = desk.locator("#queues .queue-item[data-reason='frustration']").first
    expect(item).to_contain_text("Prioridad alta")
    expect(item.locator(".item-signals")).to_contain_text("repitió 3 veces lo mismo")
    item.click()
    expect(desk.locator("#detail-signals")).to_contain_text("mayúsculas; repitió 3 veces lo mismo")
    expect(desk.locator("#detail-reason")).to_contain_text("Cliente molesto")
    screenshot(desk, "desk-frustration")


def test_supervisor_sees_queues_agents_and_reasons(  # type: ignore[no-untyped-def]
    new_context,
) -> None:
    from tests.helpers.live import SUPERVISOR

    customer = open_chat(new_context)
    send(customer, "Páseme con un agente, por favor")
    expect(customer.locator("#queue-status")).to_have_attribute(
        "data-state", "queued", timeout=REPLY_TIMEOUT_MS
    )
    desk = log_in(new_context, *SUPERVISOR)
    desk.goto("/desk/supervisor")
    expect(desk.locator("#departments-table")).to_contain_text(re.compile("soporte técnico", re.I))
    expect(desk.locator("#agents-table")).to_contain_text("Supervisión")
    expect(desk.locator("#reasons")).to_contain_text("Lo pidió el cliente")
    screenshot(desk, "supervisor")


def test_widget_on_a_company_page_opens_the_chat(new_context) -> None:  # type: ignore[no-untyped-def]
    page = new_context().new_page()
    page.goto("/")
    page.get_by_role("button", name="Abrir el chat").click()
    chat = page.frame_locator("iframe[src*='/chat?embed=1']")
    expect(chat.locator("#messages")).to_contain_text("asistente virtual")
    chat.locator("#message-input").fill("¿A qué hora abre la tienda de Valencia Colón?")
    chat.locator("#send").click()
    answer = chat.locator("#messages .message[data-author='bot'] .message-bubble").last
    expect(answer).to_contain_text("Valencia Colón abre", timeout=REPLY_TIMEOUT_MS)
    screenshot(page, "widget")


def test_callback_from_a_phone_when_nobody_is_connected(  # type: ignore[no-untyped-def]
    new_context, agent_login
) -> None:
    # No desk is open here (earlier tests' contexts are closed), so nobody is online: the wait
    # is unknown and the callback is offered, folded behind its button on a phone-sized screen.
    customer = open_chat(new_context)
    customer.set_viewport_size({"width": 390, "height": 740})
    send(customer, "Quiero hablar con una persona")
    status = customer.locator("#queue-status")
    expect(status).to_have_attribute("data-state", "queued", timeout=REPLY_TIMEOUT_MS)
    expect(status).to_contain_text("no hay nadie conectado")
    expect(status.locator(".status-wait")).to_be_hidden()
    toggle = customer.locator("#callback-toggle")
    form = customer.locator("#callback-form")
    expect(toggle).to_have_text("Prefiero que me llamen")
    expect(toggle).to_have_attribute("aria-controls", "callback-form")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(customer.locator("#back-to-bot")).to_be_visible()
    expect(form).to_be_hidden()
    expect(last_message(customer, "system")).to_be_in_viewport()

    # the form opens on request and folds again
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(form).to_be_visible()
    expect(customer.locator("#callback-phone")).to_be_focused()
    form.get_by_role("button", name="Cancelar").click()
    expect(form).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(form).to_be_visible()

    # a wrong number is refused in Spanish, a right one closes the conversation
    customer.fill("#callback-phone", "12")
    form.locator("button[type='submit']").click()
    expect(form).to_contain_text(re.compile("Revise el número|no parece válido"))
    expect(status).to_have_attribute("data-state", "queued")
    customer.fill("#callback-phone", "600 123 456")
    customer.fill("#callback-when", "mañana por la mañana")
    form.locator("button[type='submit']").click()
    expect(last_message(customer, "system")).to_contain_text(
        re.compile(r"le llamaremos al (\+34 )?600 123 456, mañana por la mañana"),
        timeout=REPLY_TIMEOUT_MS,
    )
    expect(status).to_have_attribute("data-state", "closed")
    expect(status).to_contain_text("Esta conversación ha terminado")
    expect(form).to_be_hidden()
    expect(toggle).to_be_hidden()

    # an agent finds the callback on the desk and marks it done
    desk = log_in(new_context, *agent_login)
    callback = desk.locator("#callbacks .callback-item").filter(has_text="600 123 456")
    expect(callback).to_have_count(1)
    expect(callback).to_contain_text("mañana por la mañana")
    callback.locator(".cb-done").click()
    expect(callback).to_have_count(0)


def test_a_locked_database_still_answers_and_every_line_shows_once(  # type: ignore[no-untyped-def]
    new_context, live_settings: Settings
) -> None:
    page = open_chat(new_context)
    other = sqlite3.connect(live_settings.data_dir / "gateway.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the gateway's file
    try:
        send(page, "¿A qué hora abre la tienda de Gran Vía?")
        expect(last_message(page, "bot")).to_have_text(CHAT_APOLOGY, timeout=REPLY_TIMEOUT_MS)
    finally:
        other.execute("ROLLBACK")
        other.close()
    # the file is free: the conversation is saved and queued, and the page hears it by itself
    expect(last_message(page, "system")).to_be_visible(timeout=REPLY_TIMEOUT_MS)  # the queue
    for shown in (page, _reloaded(page)):
        customer_lines = shown.locator("#messages .message[data-author='customer']")
        expect(customer_lines).to_have_count(1)
        expect(shown.locator("#messages .message-bubble", has_text=CHAT_APOLOGY)).to_have_count(1)


def _reloaded(page: Page) -> Page:
    page.reload()
    expect(last_message(page, "system")).to_be_visible()
    return page
