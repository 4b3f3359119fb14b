"""End to end in Chromium: a trainer teaches the assistant a sentence it did not understand, and a
training that makes things worse is not activated.

The trainers' system runs on its own: a Rasa server, an action server and a gateway on their own
ports, editing and training a copy of the project with a copy of the trained model, so the other
tests' servers never see a model change.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bot.cli.launcher import Servers
from bot.settings import PROJECT_ROOT, Settings
from tests.e2e.conftest import screenshot
from tests.e2e.test_chat_and_desk import REPLY_TIMEOUT_MS, last_message, send
from tests.helpers.live import FIXED_NOW, add_account, environment, require_model

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PORTS = {
    "BOT_RASA_PORT": "16005",
    "BOT_ACTIONS_PORT": "16055",
    "BOT_GATEWAY_PORT": "16000",
    "BOT_AUDIOSOCKET_PORT": "0",
}
TRAINER = ("tere", "Teresa", "tere-e2e-password")
# the current model falls back on it (checked when the test starts)
UNKNOWN = "la lucecita del chisme se ha puesto naranja"
TRAINING_TIMEOUT_MS = 8 * 60_000  # training ~30 s, the sandbox and both models' tests ~1 min
PROJECT_PARTS = (
    "config.yml",
    "credentials.yml",
    "domain",
    "data",
    "tests/nlu",
    "tests/conversations",
)


@dataclass(frozen=True)
class TrainerSystem:
    url: str
    project: Path
    settings: Settings


@pytest.fixture(scope="module")
def trainer_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainerSystem]:
    require_model()
    root = tmp_path_factory.mktemp("trainer")
    project, models, data_dir = root / "project", root / "models", root / "var"
    for part in PROJECT_PARTS:
        copy = shutil.copytree if (PROJECT_ROOT / part).is_dir() else shutil.copy
        (project / part).parent.mkdir(parents=True, exist_ok=True)
        copy(PROJECT_ROOT / part, project / part)
    models.mkdir()
    newest = max((PROJECT_ROOT / "models").glob("*.tar.gz"), key=os.path.getmtime)
    shutil.copy2(newest, models / newest.name)
    overrides = {
        **PORTS,
        "BOT_DATA_DIR": str(data_dir),
        "BOT_MODELS_DIR": str(models),
        "BOT_PROJECT_DIR": str(project),
        "BOT_SUPERVISOR_PASSWORD": "supervisor-e2e-pass",
        "ACTIONS_DATABASE_URL": f"sqlite:///{data_dir / 'actions.db'}",
        "ACTIONS_FIXED_NOW": FIXED_NOW,
    }
    with environment(overrides):
        settings = Settings.from_env()
        add_account(*TRAINER, "--trainer")
        url = f"http://{settings.host}:{PORTS['BOT_GATEWAY_PORT']}"
        servers = Servers(settings, log_file=data_dir / "servers.log", gateway_url=url)
        servers.start()
    try:
        yield TrainerSystem(url, project, settings)
    finally:
        servers.stop()


@pytest.fixture
def contexts(browser: Browser, trainer_system: TrainerSystem) -> Iterator:
    made: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(
            base_url=trainer_system.url, viewport={"width": 1366, "height": 900}, locale="es-ES"
        )
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def parse(system: TrainerSystem, text: str) -> dict:
    """What the running Rasa server's model makes of `text`."""
    answer = requests.post(
        f"{system.settings.rasa_url}/model/parse",
        params={"token": system.settings.rasa_token},
        json={"text": text},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["intent"]


def log_in_as_trainer(contexts) -> Page:  # type: ignore[no-untyped-def]
    page = contexts().new_page()
    page.goto("/desk/login")
    page.fill("#username", TRAINER[0])
    page.fill("#password", TRAINER[2])
    page.click("#login-button")
    page.wait_for_url(re.compile(r"/trainer"))
    return page


def train(page: Page) -> None:
    page.click("#tab-train")
    page.click("#train-button")
    expect(page.locator("#train-button")).to_be_disabled()
    expect(page.locator("#train-step")).not_to_be_empty()
    expect(page.locator("#train-button")).to_be_enabled(timeout=TRAINING_TIMEOUT_MS)


def test_a_trainer_teaches_a_misunderstood_sentence_and_a_worse_model_is_not_activated(
    contexts, trainer_system: TrainerSystem
) -> None:
    assert parse(trainer_system, UNKNOWN)["name"] == "nlu_fallback", "pick another sentence"

    # a customer says something the assistant does not understand
    customer = contexts().new_page()
    customer.goto("/chat")
    send(customer, UNKNOWN)
    expect(last_message(customer, "bot")).to_contain_text(
        "no le he entendido", timeout=REPLY_TIMEOUT_MS
    )

    # it is waiting in the trainer's inbox; she labels it as a technical fault
    trainer = log_in_as_trainer(contexts)
    item = trainer.locator(".inbox-item", has_text=UNKNOWN)
    expect(item).to_be_visible()
    item.click()
    expect(trainer.locator("#label-text")).to_have_value(UNKNOWN)
    expect(trainer.locator("#inbox-list")).to_contain_text("no lo entendió")
    trainer.select_option("#label-intent", "report_problem")
    screenshot(trainer, "trainer-inbox")
    trainer.click("#label-save")
    expect(trainer.locator("#label-result")).to_contain_text("data/nlu/complaints.yml")
    assert f"    - {UNKNOWN}\n" in (trainer_system.project / "data/nlu/complaints.yml").read_text()

    # she trains: the new model is tested and activated, and now understands the sentence
    train(trainer)
    expect(trainer.locator("#train-summary")).to_contain_text("activado")
    screenshot(trainer, "trainer-train")
    assert parse(trainer_system, UNKNOWN)["name"] == "report_problem"
    send(customer, UNKNOWN)
    expect(last_message(customer, "bot")).not_to_contain_text(
        "no le he entendido", timeout=REPLY_TIMEOUT_MS
    )
    expect(last_message(customer, "bot")).to_contain_text("He abierto la incidencia")
    active = trainer.evaluate("fetch('/api/trainer/trainings').then(r => r.json())")

    # order tracking loses most of its examples: that model is trained but not activated
    orders = trainer_system.project / "data/nlu/orders.yml"
    lines = orders.read_text(encoding="utf-8").splitlines(keepends=True)
    orders.write_text("".join(lines[:9]), encoding="utf-8")  # the intent keeps 4 examples
    train(trainer)
    expect(trainer.locator("#train-summary")).to_contain_text("no se ha activado")
    expect(trainer.locator("#train-regressions")).to_contain_text("Seguimiento de pedido")
    screenshot(trainer, "trainer-rejected")
    after = trainer.evaluate("fetch('/api/trainer/trainings').then(r => r.json())")
    assert after["active_model"] == active["active_model"]
    assert parse(trainer_system, "¿dónde está mi pedido?")["name"] == "track_order"

    # the quality page shows the latest report
    trainer.click("#tab-quality")
    expect(trainer.locator("#quality-table")).to_contain_text("Seguimiento de pedido")
    expect(trainer.locator("#quality-matrix")).to_be_visible()
    screenshot(trainer, "trainer-quality")
