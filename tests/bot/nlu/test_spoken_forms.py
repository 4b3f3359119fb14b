"""Training sentences as a call delivers them, and the recogniser's slips found in recognitions."""

from __future__ import annotations

from bot.nlu.data import NluFile
from bot.nlu.spoken_forms import (
    load_slips,
    mine_slips,
    slips_yaml,
    spoken_variants,
    with_slips,
    write_spoken_variants,
)
from bot.text import spoken_form


def test_the_spoken_form_has_no_capitals_accents_or_punctuation():
    assert spoken_form("¿A qué hora abre la tienda de Sevilla?") == (
        "a que hora abre la tienda de sevilla"
    )
    assert spoken_form("¡Páseme con una persona, YA!") == "paseme con una persona ya"


def test_slips_replace_the_words_they_were_heard_for():
    slips = {"cita": ["sita"], "hablar": ["ablar"]}
    assert with_slips("Quiero pedir cita para hablar", slips) == "quiero pedir sita para ablar"


def test_variants_add_only_what_the_data_does_not_hold():
    examples = [
        ("¿A qué hora abren?", "ask_opening_hours"), ("a que hora abren", "ask_opening_hours"),
        ("Pedir cita, por favor.", "book_appointment"), ("Sí", "affirm"), ("sí", "affirm"),
    ]  # fmt: skip
    variants = spoken_variants(examples, {"cita": ["sita"]})
    assert "a que hora abren" not in variants.get("ask_opening_hours", [])  # already there
    assert variants["affirm"] == ["si"]  # once, though two examples give it
    assert "pedir cita por favor" in variants["book_appointment"]
    # the same sentences get their slips on every run (no randomness between trainings)
    assert spoken_variants(examples, {"cita": ["sita"]}) == variants


def test_the_variants_file_is_an_nlu_file(tmp_path):
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - ¡Hola, buenas!\n', "utf-8"
    )
    out = tmp_path / "build" / "spoken.yml"
    assert write_spoken_variants(nlu, out, tmp_path / "no-slips.yml") == 1
    examples, _ = NluFile(out, "spoken.yml").scan()
    assert [(e.intent, e.plain) for e in examples] == [("greet", "hola buenas")]


def test_slips_are_mined_from_recognitions_that_still_sound_alike(tmp_path):
    pairs = [
        ("Quiero pedir cita", "quiero pedir sita"),
        ("mover la cita", "mover la sita"),
        ("abren el sábado", "abren el sábado"),
        ("la tienda de la castellana", "la tienda me la castellara"),  # "de" -> "me" is too short
        ("horario de ventas", "horario de mentira"),  # not alike: noise, not a slip
    ]
    found = mine_slips(pairs)
    assert found[("cita", "sita")] == 2
    assert ("ventas", "mentira") not in found
    path = tmp_path / "slips.yml"
    path.write_text(slips_yaml(found, 5, ["pico"]), encoding="utf-8")
    assert load_slips(path)["cita"] == ["sita"]
