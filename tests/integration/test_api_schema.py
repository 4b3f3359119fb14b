"""The gateway against its own OpenAPI document (`GET /api/openapi.json`), operation by
operation, with schemathesis: valid and invalid requests (the fuzzing and coverage phases, with
a fixed seed), signed in where the document asks for the desk session. No answer may be a 5xx,
and every answer must be one the document describes: its status, its content type, its body
and its headers; an operation that asks for a session must refuse requests without one.

What it runs against, and why:

- A gateway process of its own (`python -m bot serve`, on the live Rasa and action servers),
  not the shared live gateway: fuzzing starts dozens of conversations and logins from this
  address, and the gateway's rate limits per address (30 new conversations a minute, 30 logins
  in 5 minutes) would then refuse the other tests' customers and agents sharing that gateway.
  Its own database holds its own accounts (a supervisor for the desk, a trainer for the trainer
  pages), signed in through the real login route.
- A copy of the project's training data (BOT_PROJECT_DIR), as the trainer routes write examples
  and domain files: the repository's data is never touched.
- No model a trainer could activate (BOT_MODELS_DIR is an empty folder): activating one would
  switch the model of the live Rasa server every other test talks to.
- A data error on purpose in that copy (a rule with an unknown response): a training started
  by `POST /api/trainer/trainings` stops at its first step, the data check, instead of training
  for minutes on the machine's two cores and then activating its model on the live Rasa.
- Login and logout run last, in their own test: fuzzing the login uses up the login limit of
  this address, and a logout ends the session the other operations are signed in with.

So that the fuzzing reaches past "404 unknown conversation", some of the generated cases (a
fixed share, chosen from the generated value itself, so a run is reproducible) are pointed at
real things made beforehand: conversations with the assistant and in the queue, a callback,
the trainers' inbox items. Messages sent so reach the live assistant (in conversations of their
own: the live servers' other conversations are never touched).
"""

from __future__ import annotations

import contextlib
import shutil
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import ignored_auth

from bot.settings import PROJECT_ROOT, Settings
from tests.helpers.live import add_account, environment, second_gateway

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PORT = 18005
PASSWORD = "fuzzing-password-1"
SUPERVISOR, TRAINER = "fuzz_supervisor", "fuzz_trainer"
PROJECT_PARTS = ("config.yml", "credentials.yml", "domain", "data")
BROKEN_RULE = """version: "3.1"
rules:
- rule: API fuzzing - a training must stop at the data check
  steps:
  - intent: greet
  - action: utter_fuzzing_no_such_response
"""
HANDOFF = "Quiero hablar con una persona."
UNSURE = "plof trasgu zirimiri bork"  # nothing the assistant knows: an inbox item
# Bounded: about 40 operations, each with MAX_EXAMPLES fuzzed cases per mode (valid, invalid)
# plus the coverage phase's cases, in about two minutes on two cores.
MAX_EXAMPLES = 15
CONFIG = {
    "seed": 20260302,
    "suppress-health-check": ["all"],
    "request-timeout": 30,
    "generation": {
        "mode": "all",
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
        "no-shrink": True,  # a failure is reported as found: shrinking replays the live system
    },
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
        "ignored_auth": {"enabled": True},
    },
}


@dataclass
class Target:
    """The gateway under test and the real things the cases may be pointed at."""

    url: str
    sessions: dict[str, str]  # account -> desk_session cookie
    customer: tuple[str, str]  # (id, token) of a conversation with the assistant
    queued_customer: tuple[str, str]  # (id, token) of a conversation waiting for a person
    queued: str  # a conversation waiting in the desk's queue
    callback: int  # an open callback


SESSIONS: dict[str, str] = {}  # read by the auth provider, which schemathesis instantiates


@pytest.fixture(scope="module")
def target(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("api-schema")
    project, models, data = root / "project", root / "models", root / "var"
    for part in PROJECT_PARTS:
        source = PROJECT_ROOT / part
        if source.is_dir():
            shutil.copytree(source, project / part)
        else:
            project.mkdir(exist_ok=True)
            shutil.copy(source, project / part)
    (project / "data" / "rules" / "zz_fuzzing.yml").write_text(BROKEN_RULE, encoding="utf-8")
    models.mkdir()
    data.mkdir()
    environ = {
        "BOT_GATEWAY_DB": str(data / "gateway.db"),
        "BOT_DATA_DIR": str(data),
        "BOT_PROJECT_DIR": str(project),
        "BOT_MODELS_DIR": str(models),
        "BOT_WHISPER_MODEL": str(PROJECT_ROOT / "models" / "whisper-base"),
        "BOT_RASA_TOKEN": live_settings.rasa_token,
    }
    with environment(environ):
        add_account(SUPERVISOR, "Supervisión", PASSWORD, "--supervisor")
        add_account(TRAINER, "Entrenamiento", PASSWORD, "--trainer")
    with second_gateway(live_settings, PORT, data, **environ) as url, _forgotten(SESSIONS):
        sessions = {name: _log_in(url, name) for name in (SUPERVISOR, TRAINER)}
        SESSIONS.update(sessions)
        customer = _start(url)
        _say(url, customer, UNSURE)
        queued_customer, queued, for_callback = _start(url), _start(url), _start(url)
        for conversation in (queued_customer, queued, for_callback):
            assert _say(url, conversation, HANDOFF)["conversation"]["state"] == "queued"
        callback = _post(
            url, f"/api/conversations/{for_callback[0]}/callback", {"phone": "+34 600 000 000"},
            headers={"Authorization": f"Bearer {for_callback[1]}"},
        )["callback"]["id"]  # fmt: skip
        yield Target(url, sessions, customer, queued_customer, queued[0], callback)


@contextlib.contextmanager
def _forgotten(sessions: dict[str, str]) -> Iterator[None]:
    try:
        yield
    finally:
        sessions.clear()


def _log_in(url: str, username: str) -> str:
    answer = requests.post(
        f"{url}/api/desk/login", json={"username": username, "password": PASSWORD}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer.cookies["desk_session"]


def _post(url: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    answer = requests.post(f"{url}{path}", json=body, headers=headers, timeout=60)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _start(url: str) -> tuple[str, str]:
    started = _post(url, "/api/conversations", {"channel": "webchat"})
    return started["id"], started["token"]


def _say(url: str, conversation: tuple[str, str], text: str) -> Any:
    headers = {"Authorization": f"Bearer {conversation[1]}"}
    return _post(url, f"/api/conversations/{conversation[0]}/messages", {"text": text}, headers)


@pytest.fixture(scope="module")
def api_schema(target: Target) -> Any:
    config = SchemathesisConfig.from_dict(CONFIG)
    return schemathesis.openapi.from_url(f"{target.url}/api/openapi.json", config=config)


@pytest.fixture(scope="module")
def answers() -> dict[str, list[int]]:
    """The status of every answer, by operation, for the test that checks what was reached."""
    return defaultdict(list)


schema = schemathesis.pytest.from_fixture("api_schema")
LOGIN_AND_LOGOUT = "^/api/desk/log(in|out)$"


# refresh_interval=None: asked for every case (by default schemathesis would reuse the first
# answer for every operation for five minutes, whatever its path)
@schema.auth(refresh_interval=None).apply_to(path_regex="^/api/(desk|trainer)/")
class DeskSession:
    """The desk session the document asks for: the trainer's for the trainer pages, the
    supervisor's (who may do everything an agent does, and see the supervisor view) for the
    desk."""

    def get(self, case: Any, context: Any) -> str | None:
        account = TRAINER if case.operation.path.startswith("/api/trainer/") else SUPERVISOR
        return SESSIONS.get(account)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.cookies = {**(case.cookies or {}), "desk_session": data}


# `include` everything: schemathesis leaves out the operation that served the document
# (GET /api/openapi.json) unless a filter names it
@schema.include(path_regex="^/").exclude(path_regex=LOGIN_AND_LOGOUT).parametrize()
def test_every_operation_answers_as_documented(
    case: Any, target: Target, answers: dict[str, list[int]]
) -> None:
    customer_api = _point_at_real_things(case, target)
    # The customer API answers 404 to a missing or wrong token, as to an unknown conversation
    # (it never tells whether a conversation exists): `ignored_auth` expects 401 or 403 there.
    excluded = [ignored_auth] if customer_api else []
    response = case.call_and_validate(excluded_checks=excluded)
    answers[case.operation.label].append(response.status_code)


@schema.include(path_regex=LOGIN_AND_LOGOUT).parametrize()
def test_login_and_logout_answer_as_documented(case: Any, answers: dict[str, list[int]]) -> None:
    response = case.call_and_validate()
    answers[case.operation.label].append(response.status_code)


def test_the_fuzzing_reached_every_operation_and_past_its_guards(
    api_schema: Any, target: Target, answers: dict[str, list[int]]
) -> None:
    if not answers:
        pytest.fail("the schemathesis tests of this module did not run: run the whole module")
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in api_schema.raw_schema["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) - set(answers) == set()
    needs_session = [
        label for label, operation in operations.items()
        if operation.get("security") == [{"deskSession": []}]
    ]  # fmt: skip
    always_401 = [label for label in needs_session if set(answers[label]) == {401}]
    assert always_401 == [], "the desk session was never accepted"
    for label, status in [
        ("GET /api/openapi.json", 200),
        ("POST /api/conversations", 201),
        ("GET /api/conversations/{id}", 200),
        ("POST /api/conversations/{id}/messages", 200),
        ("GET /api/desk/conversations/{id}", 200),
        ("POST /api/desk/conversations/{id}/accept", 200),
        ("POST /api/desk/callbacks/{id}/done", 200),
        ("GET /api/desk/supervisor", 200),
        ("GET /api/trainer/inbox/{id}", 200),
        ("POST /api/trainer/trainings", 202),
        ("POST /api/desk/logout", 200),
    ]:
        assert status in answers[label], (label, sorted(set(answers[label])))
    # the trainings started stopped at the data check: no model was trained, none activated
    trainings = _trainings_once_none_runs(target)
    assert trainings["history"] and trainings["models"] == []
    assert {training["status"] for training in trainings["history"]} == {"failed"}


def _trainings_once_none_runs(target: Target) -> Any:
    deadline = time.monotonic() + 30
    while True:
        answer = requests.get(
            f"{target.url}/api/trainer/trainings",
            cookies={"desk_session": target.sessions[TRAINER]},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        if answer.json()["current"] is None or time.monotonic() > deadline:
            return answer.json()
        time.sleep(0.5)


def _point_at_real_things(case: Any, target: Target) -> bool:
    """Points a share of the cases at real conversations, a real callback or inbox item (which
    share depends only on the generated value); True for the customer API."""
    path = case.operation.path
    generated = str((case.path_parameters or {}).get("id", ""))
    share = zlib.crc32(generated.encode()) % 3  # 0: as generated
    if path.startswith("/api/conversations/{id}"):
        if share:
            conversation_id, token = target.customer if share == 1 else target.queued_customer
            case.path_parameters["id"] = conversation_id
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        return True
    if not share:
        return False
    if path.startswith("/api/desk/conversations/{id}"):
        case.path_parameters["id"] = target.queued
    elif path.startswith("/api/desk/callbacks/{id}"):
        case.path_parameters["id"] = target.callback
    elif path.startswith("/api/trainer/inbox/{id}"):
        with contextlib.suppress(IndexError):
            case.path_parameters["id"] = _open_inbox_items(target)[0]
    return False


def _open_inbox_items(target: Target) -> list[int]:
    answer = requests.get(
        f"{target.url}/api/trainer/inbox",
        cookies={"desk_session": target.sessions[TRAINER]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]
