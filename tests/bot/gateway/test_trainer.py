"""The trainer pages' API on a served gateway, with a fake assistant and a copy of the project's
data: the inbox, labelling, editing the data, an agent's correction, and who may do what."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.assistant.contract import BotReply
from bot.settings import PROJECT_ROOT
from tests.helpers.gateway_fakes import (
    Api,
    FakeAssistant,
    add_agent,
    handoff_reply,
    make_gateway,
    run_api,
)

UNSURE = {"intent": "nlu_fallback", "confidence": 0.7, "guess": "report_problem",
          "guess_confidence": 0.35}  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    for part in ("domain", "data/nlu", "data/rules", "data/trainers"):
        shutil.copytree(PROJECT_ROOT / part, copy / part)
    shutil.copy(PROJECT_ROOT / "config.yml", copy / "config.yml")
    return copy


def serve(tmp_path: Path, project: Path, scenario, assistant: FakeAssistant | None = None) -> None:
    gateway = make_gateway(tmp_path / "gw.db", assistant or FakeAssistant(), project_dir=project)
    add_agent(gateway, "tere", "Teresa", role="trainer")
    add_agent(gateway, "lucia", "Lucía", departments=["sales"])
    run_api(gateway, scenario)


def complaints(project: Path) -> str:
    return (project / "data" / "nlu" / "complaints.yml").read_text(encoding="utf-8")


def test_only_trainers_and_supervisors_see_the_trainer_api(tmp_path: Path, project: Path):
    async def scenario(api: Api) -> None:
        assert (await api.get("/api/trainer/inbox")).status == 401
        agent = await api.login("lucia")
        refused = await api.get("/api/trainer/inbox", agent)
        assert refused.status == 403 and "entrenan" in refused.body["error"]
        trainer = await api.login("tere")
        assert (await api.get("/api/trainer/inbox", trainer)).status == 200
        page = await api.get("/trainer")
        assert page.status == 200 and "Entrenamiento" in page.body

    serve(tmp_path, project, scenario)


def test_a_misunderstood_message_is_labelled_into_its_topic_file(tmp_path: Path, project: Path):
    before = complaints(project)

    async def scenario(api: Api) -> None:
        customer = await api.start()
        await api.say(customer, "soy Marta, el chisme del 612345678 hace pum")
        trainer = await api.login("tere")
        inbox = (await api.get("/api/trainer/inbox", trainer)).body
        assert inbox["total"] == 1
        [item] = inbox["items"]
        assert item["text"] == "soy «nombre», el chisme del «teléfono» hace pum"
        assert (item["intent"], item["reason"]) == ("report_problem", "fallback")

        detail = (await api.get(f"/api/trainer/inbox/{item['id']}", trainer)).body
        current = [line for line in detail["context"] if line["current"]]
        assert [line["text"] for line in current] == [item["text"]]
        assert all("612345678" not in line["text"] for line in detail["context"])

        saved = await api.post(
            f"/api/trainer/inbox/{item['id']}/label",
            {"intent": "report_problem", "text": "el chisme del «teléfono» hace pum"}, trainer,
        )  # fmt: skip
        assert saved.status == 200, saved.body
        assert saved.body["example"]["file"] == "data/nlu/complaints.yml"
        assert (await api.get("/api/trainer/inbox", trainer)).body["total"] == 0
        again = await api.post(f"/api/trainer/inbox/{item['id']}/discard", {}, trainer)
        assert again.status == 404

    serve(
        tmp_path, project, scenario, FakeAssistant([BotReply(["¿Perdón?"], understanding=UNSURE)])
    )
    added = set(complaints(project).splitlines()) - set(before.splitlines())
    assert added == {"    - el chisme del 600 123 456 hace pum"}


def test_examples_are_searched_edited_and_deleted_and_stale_edits_refused(
    tmp_path: Path, project: Path
):
    async def scenario(api: Api) -> None:
        trainer = await api.login("tere")
        found = (await api.get("/api/trainer/examples?intent=track_order&q=ROUTER", trainer)).body
        assert found["examples"] and all("router" in e["text"].lower() for e in found["examples"])
        assert not [p for p in found["problems"] if p["level"] == "error"]
        first = found["examples"][0]

        edited = await api.request(
            "PUT",
            "/api/trainer/examples",
            {**first, "new_text": "¿por dónde anda mi router?", "intent": "track_order"},
            trainer,
        )
        assert edited.status == 200, edited.body
        stale = await api.request("PUT", "/api/trainer/examples", {
            **first, "new_text": "otra cosa", "intent": "track_order"}, trainer)  # fmt: skip
        assert stale.status == 409 and "ha cambiado" in stale.body["error"]

        gone = await api.request("DELETE", "/api/trainer/examples", edited.body["example"], trainer)
        assert gone.status == 200
        left = (await api.get("/api/trainer/examples?q=anda%20mi%20router", trainer)).body
        assert left["examples"] == []

    serve(tmp_path, project, scenario)


def test_a_new_intent_is_declared_and_checked_on_save(tmp_path: Path, project: Path):
    async def scenario(api: Api) -> None:
        trainer = await api.login("tere")
        bad = await api.post("/api/trainer/examples", {"intent": "Factura!", "text": "hola",
                                                      "topic": "orders"}, trainer)  # fmt: skip
        assert bad.status == 422 and "minúsculas" in bad.body["error"]
        no_topic = await api.post(
            "/api/trainer/examples", {"intent": "ask_invoice", "text": "mi factura"}, trainer
        )
        assert no_topic.status == 422 and "tema" in no_topic.body["error"]

        saved = await api.post(
            "/api/trainer/examples",
            {"intent": "ask_invoice", "text": "quiero ver mi factura", "topic": "orders"},
            trainer,
        )
        assert saved.status == 200, saved.body
        lonely = [p for p in saved.body["problems"] if "ask_invoice" in p["message"]]
        assert lonely, "an intent with one example and no rule must be flagged"
        intents = (await api.get("/api/trainer/intents", trainer)).body
        assert "ask_invoice" in [i["name"] for i in intents["intents"]]

    serve(tmp_path, project, scenario)
    assert "  - ask_invoice\n" in (project / "domain" / "orders.yml").read_text(encoding="utf-8")


def test_an_agents_correction_reaches_the_inbox(tmp_path: Path, project: Path):
    async def scenario(api: Api) -> None:
        customer = await api.start("webchat")
        await api.say(customer, "lo del aparato de la tele")
        agent = await api.login("lucia")
        snapshot = await api.snapshot(customer)
        said = [m for m in snapshot["messages"] if m["author"] == "customer"][0]
        intents = (await api.get("/api/desk/intents", agent)).body["intents"]
        assert {"name": "track_order", "label": "Seguimiento de pedido"} in intents

        path = f"/api/desk/conversations/{customer.id}/corrections"
        wrong = await api.post(path, {"message_id": said["id"], "intent": "no_such"}, agent)
        assert wrong.status == 422
        sent = await api.post(path, {"message_id": said["id"], "intent": "track_order"}, agent)
        assert sent.status == 200, sent.body

        trainer = await api.login("tere")
        [item] = (await api.get("/api/trainer/inbox", trainer)).body["items"]
        assert (item["reason"], item["suggested_intent"]) == ("agent", "track_order")

    serve(tmp_path, project, scenario, FakeAssistant([handoff_reply()]))


def test_agents_cannot_change_the_data_or_the_model_and_trainers_cannot_take_conversations(
    tmp_path: Path, project: Path
):
    async def scenario(api: Api) -> None:
        agent = await api.login("lucia")
        example = {"file": "data/nlu/orders.yml", "line": 6, "text": "x", "new_text": "y",
                   "intent": "track_order"}  # fmt: skip
        for method, path, body in [
            ("POST", "/api/trainer/trainings", {}),
            ("POST", "/api/trainer/models/anything/activate", {}),
            ("PUT", "/api/trainer/examples", example),
            ("DELETE", "/api/trainer/examples", example),
            ("POST", "/api/trainer/examples", {"intent": "greet", "text": "hola"}),
            ("GET", "/api/trainer/quality", None),
        ]:
            answer = await api.request(method, path, body, agent)
            assert answer.status == 403, (method, path, answer.body)
        trainer = await api.login("tere")
        assert (await api.get("/api/desk/queue", trainer)).status == 403
        assert (await api.get("/api/desk/me", trainer)).body["role"] == "trainer"

    serve(tmp_path, project, scenario)


def test_a_sentence_is_labelled_once_and_names_are_masked_wherever_they_come_back(
    tmp_path: Path, project: Path
):
    replies = [BotReply(["Gracias, Marta. ¿En qué le ayudo?"]),
               BotReply(["¿Perdón?"], understanding=UNSURE)]  # fmt: skip

    async def scenario(api: Api) -> None:
        customer = await api.start()
        await api.say(customer, "me llamo Marta Ruiz")
        await api.say(customer, "Marta otra vez, lo de la lucecita")
        trainer = await api.login("tere")
        [item] = (await api.get("/api/trainer/inbox", trainer)).body["items"]
        assert item["text"] == "«nombre» otra vez, lo de la lucecita"
        context = (await api.get(f"/api/trainer/inbox/{item['id']}", trainer)).body["context"]
        assert not [line for line in context if "Marta" in line["text"] or "Ruiz" in line["text"]]

        label = {"intent": "report_problem", "text": "lo de la lucecita"}
        first, second = await asyncio.gather(
            api.post(f"/api/trainer/inbox/{item['id']}/label", label, trainer),
            api.post(f"/api/trainer/inbox/{item['id']}/label", label, trainer),
        )
        assert sorted([first.status, second.status]) == [200, 404]

    serve(tmp_path, project, scenario, FakeAssistant(replies))
    assert complaints(project).count("    - lo de la lucecita\n") == 1
