"""The complaint-wording model: fitted on labelled examples, read as a recogniser writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.rasa_server.complaint_wording import (
    ComplaintWording,
    LabelledText,
    load_complaint_wording,
    nlu_sentences,
    read_labelled,
)

BITTER = [
    "llevo dos semanas esperando y nadie me dice nada",
    "es la tercera vez que llamo y sigo igual",
    "nadie me da una solución, estoy harto",
    "otra semana más sin conexión, qué vergüenza",
    "me prometieron que vendrían y nadie vino",
    "cada mes me cobran de más y nadie lo arregla",
]
CALM = [
    "quería saber el horario de la tienda",
    "mi código postal es 28013",
    "muchas gracias, muy amable",
    "quiero pedir una cita para el martes",
    "¿me puede decir dónde está mi pedido?",
    "perfecto, eso es todo",
]


@pytest.fixture(scope="module")
def wording() -> ComplaintWording:
    rows = [LabelledText(t, 1) for t in BITTER] + [LabelledText(t, 0) for t in CALM]
    return ComplaintWording(rows)


def test_bitter_wording_scores_above_calm_wording(wording):
    assert wording.probability("llevo tres semanas esperando y nadie me dice nada") > 0.5
    assert wording.probability("quería saber el horario de la tienda de Valencia") < 0.5


def test_typed_and_spoken_forms_score_alike(wording):
    typed = wording.probability("¡Es la TERCERA vez que llamo!")
    assert typed == pytest.approx(wording.probability("es la tercera vez que llamo"))


def test_an_empty_message_is_no_complaint(wording):
    assert wording.probability("¿¡!?") == 0.0


def test_one_label_alone_cannot_train_a_model():
    with pytest.raises(ValueError):
        ComplaintWording([LabelledText("hola", 0)])


def test_the_model_is_fitted_on_every_examples_file_of_the_folder(tmp_path: Path):
    (tmp_path / "examples_a.tsv").write_text(
        "text\tlabel\n" + "".join(f"{t}\t1\n" for t in BITTER), encoding="utf-8"
    )
    (tmp_path / "examples_b.tsv").write_text(
        "text\tlabel\n" + "".join(f"{t}\t0\n" for t in CALM), encoding="utf-8"
    )
    model = load_complaint_wording(tmp_path, tmp_path / "no-nlu")
    assert model is not None and model.probability("nadie me dice nada, estoy harto") > 0.5
    assert load_complaint_wording(tmp_path / "missing", tmp_path / "no-nlu") is None


def test_nlu_sentences_of_calm_and_displeased_intents_are_labelled(tmp_path: Path):
    (tmp_path / "hours.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: ask_opening_hours\n  examples: |\n    - horario de [Sevilla](city)\n"
        "- intent: express_frustration\n  examples: |\n    - esto es una vergüenza\n"
        "- intent: complain\n  examples: |\n    - quiero poner una reclamación\n"
        "- synonym: sevilla\n  examples: |\n    - SVQ\n",
        encoding="utf-8",
    )
    assert nlu_sentences(tmp_path) == [
        LabelledText("horario de Sevilla", 0),
        LabelledText("esto es una vergüenza", 1),
    ]


def test_the_shipped_model_reads_bitter_sentences_and_the_business_apart():
    model = load_complaint_wording()
    assert model is not None
    for bitter in ("tres semanas sin internet y nadie me dice nada",
                   "me han pasado de un departamento a otro toda la mañana"):  # fmt: skip
        assert model.probability(bitter) > 0.5, bitter
    for calm in ("horario de verano", "nada más, eso es todo, adiós", "quiero pedir cita"):
        assert model.probability(calm) < 0.5, calm


def test_a_malformed_line_is_named(tmp_path: Path):
    path = tmp_path / "examples_x.tsv"
    path.write_text("text\tlabel\nhola\t1\nsin etiqueta\n", encoding="utf-8")
    with pytest.raises(ValueError, match="examples_x.tsv:3"):
        read_labelled(path)
