"""The trainers' edits of NLU files: one line changes, comments and order stay."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from bot.nlu.data import NluData, NluDataError, StaleEdit, declare_intent

ORDERS = """# Tracking orders. Keep the spoken-digit examples together.
version: "3.1"
nlu:
- intent: track_order
  examples: |
    - mi pedido 48213
    # spoken digits
    - pedido cuatro ocho dos uno tres

- intent: greet   # short ones
  examples: |
    - hola
    - buenas
- synonym: router
  examples: |
    - rúter
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "data" / "nlu" / "orders.yml").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "orders.yml").write_text(
        'version: "3.1"\n\nintents:\n  - track_order\n  - greet\n\nslots: {}\n', encoding="utf-8"
    )
    return tmp_path


def diff(before: str, after: str) -> list[str]:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def orders(project: Path) -> str:
    return (project / "data" / "nlu" / "orders.yml").read_text(encoding="utf-8")


def test_examples_are_read_with_their_lines_and_synonyms_are_not_examples(project: Path):
    examples = NluData(project).examples()
    assert [(e.intent, e.text, e.line) for e in examples] == [
        ("track_order", "mi pedido 48213", 6),
        ("track_order", "pedido cuatro ocho dos uno tres", 8),
        ("greet", "hola", 12),
        ("greet", "buenas", 13),
    ]
    assert examples[0].file == "data/nlu/orders.yml"


def test_adding_an_example_is_a_one_line_diff_at_the_end_of_its_intent(project: Path):
    example = NluData(project).add("track_order", "  ¿dónde   está mi router? ")
    after = orders(project)
    assert diff(ORDERS, after) == ["+    - ¿dónde está mi router?"]
    assert after.splitlines()[example.line - 1] == "    - ¿dónde está mi router?"
    assert example.line == 9
    parsed = yaml.safe_load(after)["nlu"][0]["examples"]
    assert "- ¿dónde está mi router?" in parsed


def test_editing_replaces_only_that_line_and_keeps_comments(project: Path):
    data = NluData(project)
    data.update("data/nlu/orders.yml", 12, "hola", "hola, buenos días", "greet")
    assert diff(ORDERS, orders(project)) == ["-    - hola", "+    - hola, buenos días"]


def test_moving_an_example_to_another_intent(project: Path):
    data = NluData(project)
    moved = data.update("data/nlu/orders.yml", 13, "buenas", "buenas, mi pedido", "track_order")
    assert moved.intent == "track_order"
    texts = {(e.intent, e.text) for e in data.examples()}
    assert ("track_order", "buenas, mi pedido") in texts
    assert ("greet", "buenas") not in texts


def test_deleting_removes_one_line(project: Path):
    NluData(project).delete("data/nlu/orders.yml", 6, "mi pedido 48213")
    assert diff(ORDERS, orders(project)) == ["-    - mi pedido 48213"]


def test_an_edit_of_a_line_that_changed_meanwhile_is_refused(project: Path):
    data = NluData(project)
    data.add("track_order", "estado del envío")  # shifts greet's lines down by one
    with pytest.raises(StaleEdit):
        data.delete("data/nlu/orders.yml", 12, "hola")
    assert "    - hola\n" in orders(project)


def test_a_new_intent_gets_its_block_and_is_declared_in_the_domain(project: Path):
    data = NluData(project)
    example = data.add("ask_invoice", "quiero ver mi factura", topic="orders")
    assert example.intent == "ask_invoice"
    assert orders(project).endswith(
        "- intent: ask_invoice\n  examples: |\n    - quiero ver mi factura\n"
    )
    domain = (project / "domain" / "orders.yml").read_text(encoding="utf-8")
    assert "  - greet\n  - ask_invoice\n\nslots: {}" in domain
    assert declare_intent(project, "ask_invoice", "orders") is False


@pytest.mark.parametrize(
    ("intent", "text", "topic"),
    [("Bad Name", "hola", "orders"), ("track_order", "   ", None), ("nueva", "hola", None),
     ("track_order", "x" * 301, None), ("nueva_cosa", "hola", "../../escape")],
)  # fmt: skip
def test_bad_edits_are_refused_with_a_spanish_message(project: Path, intent, text, topic):
    with pytest.raises(NluDataError) as error:
        NluData(project).add(intent, text, topic)
    assert str(error.value)[0].isupper() and str(error.value).endswith((".", ")"))
    assert orders(project) == ORDERS
    assert sorted(p.name for p in project.rglob("*.yml")) == ["orders.yml", "orders.yml"]


def test_control_characters_never_reach_the_file(project: Path):
    example = NluData(project).add("greet", "hola\x00 buenas\u2028tardes\x1b[31m")
    assert example.text == "hola buenas tardes [31m"
    assert yaml.safe_load(orders(project))["nlu"][1]["examples"].endswith(
        "- hola buenas tardes [31m\n"
    )


def test_search_ignores_accents_and_case(project: Path):
    found = NluData(project).search(query="PEDIDO cuatro")
    assert [e.text for e in found] == ["pedido cuatro ocho dos uno tres"]
    assert [e.text for e in NluData(project).search(intent="greet")] == ["hola", "buenas"]


def test_the_real_data_is_read_completely():
    project = Path(__file__).resolve().parents[3]
    data = NluData(project)
    for nlu_file in data.files():
        parsed = yaml.safe_load(nlu_file.path.read_text(encoding="utf-8"))
        expected = sum(
            1 for block in parsed["nlu"] if "intent" in block
            for line in block["examples"].splitlines() if line.strip().startswith("- ")
        )  # fmt: skip
        assert len(nlu_file.scan()[0]) == expected, nlu_file.relative


def test_a_move_into_a_broken_file_keeps_the_example_where_it_was(project: Path):
    broken = project / "data" / "nlu" / "zz_broken.yml"
    broken.write_text(
        'version: "3.1"\nnlu:\n- intent: thank\n  examples: |\n    - gracias\n  x: [\n'
    )
    data = NluData(project)
    with pytest.raises(NluDataError) as error:
        data.update("data/nlu/orders.yml", 13, "buenas", "muchas gracias", "thank")
    assert "zz_broken.yml" in str(error.value) and "error de formato" in str(error.value)
    assert orders(project) == ORDERS


def test_a_file_that_is_not_utf8_gets_a_clear_message(project: Path):
    (project / "data" / "nlu" / "latin1.yml").write_bytes("- canción".encode("latin-1"))
    with pytest.raises(NluDataError) as error:
        NluData(project).examples()
    assert "latin1.yml" in str(error.value) and "UTF-8" in str(error.value)


def test_an_intents_list_with_a_comment_is_found_and_flow_style_is_refused(project: Path):
    domain = project / "domain" / "orders.yml"
    domain.write_text("intents:  # what customers want\n  - track_order\n", encoding="utf-8")
    assert declare_intent(project, "ask_invoice", "orders")
    assert yaml.safe_load(domain.read_text())["intents"] == ["track_order", "ask_invoice"]
    domain.write_text("intents: [track_order]\n", encoding="utf-8")
    with pytest.raises(NluDataError):
        declare_intent(project, "ask_invoice", "orders")
    assert domain.read_text() == "intents: [track_order]\n"
