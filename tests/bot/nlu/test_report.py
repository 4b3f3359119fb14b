"""The NLU report: metrics computed by hand, JSON, Markdown, HTML, PNG and comparisons."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.nlu.report import (
    Confusion,
    IntentScore,
    NluReport,
    Prediction,
    SpokenReport,
    build_report,
    compare,
    render_confusion_png,
    render_html,
    render_markdown,
    spoken_html,
    spoken_markdown,
)

LABELS = {
    "cancel": "Cancelar pedido",
    "greet": "Saludo",
    "track_order": "Seguimiento de pedidos",
}


def p(text: str, expected: str, predicted: str) -> Prediction:
    return Prediction(text=text, expected=expected, predicted=predicted, confidence=0.9)


# greet: 2 of 3 right, never predicted wrongly           -> P 1,    R 2/3, F1 0.8
# track_order: 2 of 3 right, predicted 5 times (2 right) -> P 0.4,  R 2/3, F1 0.5
# cancel: 1 of 3 right, predicted once (right)           -> P 1,    R 1/3, F1 0.5
# macro F1 = (0.8 + 0.5 + 0.5) / 3 = 0.6; accuracy = 5 / 9
PREDICTIONS = [
    p("hola", "greet", "greet"),
    p("buenas tardes", "greet", "greet"),
    p("hola, ¿dónde está mi pedido?", "greet", "track_order"),
    p("¿dónde está mi pedido?", "track_order", "track_order"),
    p("seguimiento del envío", "track_order", "track_order"),
    p("zzkx ppq", "track_order", "nlu_fallback"),
    p("cancele el pedido", "cancel", "cancel"),
    p("no quiero el pedido", "cancel", "track_order"),
    p("anule mi compra del pedido", "cancel", "track_order"),
]


@pytest.fixture
def report() -> NluReport:
    return build_report(PREDICTIONS)


def scores(report: NluReport) -> dict[str, IntentScore]:
    return {score.intent: score for score in report.intents}


def test_metrics_match_the_hand_computed_values(report: NluReport):
    by_name = scores(report)
    assert list(by_name) == ["cancel", "greet", "track_order"]  # expected intents only
    assert by_name["greet"] == IntentScore(
        "greet", 1.0, pytest.approx(2 / 3), pytest.approx(0.8), 3
    )
    assert by_name["track_order"].precision == pytest.approx(0.4)
    assert by_name["track_order"].recall == pytest.approx(2 / 3)
    assert by_name["track_order"].f1 == pytest.approx(0.5)
    assert by_name["cancel"].precision == pytest.approx(1.0)
    assert by_name["cancel"].recall == pytest.approx(1 / 3)
    assert by_name["cancel"].f1 == pytest.approx(0.5)
    assert report.macro_f1 == pytest.approx(0.6)
    assert report.accuracy == pytest.approx(5 / 9)


def test_matrix_covers_expected_and_predicted_intents(report: NluReport):
    assert report.labels == ("cancel", "greet", "nlu_fallback", "track_order")
    assert report.matrix == (
        (1, 0, 0, 2),
        (0, 2, 0, 1),
        (0, 0, 0, 0),
        (0, 0, 1, 2),
    )


def test_confusions_are_ordered_by_count_then_names(report: NluReport):
    assert [(c.expected, c.predicted, c.count) for c in report.confusions] == [
        ("cancel", "track_order", 2),
        ("greet", "track_order", 1),
        ("track_order", "nlu_fallback", 1),
    ]
    assert report.confusions[0].examples == ("no quiero el pedido", "anule mi compra del pedido")
    assert build_report(PREDICTIONS, top_confusions=1).confusions == report.confusions[:1]


def test_confusions_keep_at_most_three_examples():
    texts = [f"frase {n}" for n in range(5)]
    report = build_report([p(text, "cancel", "greet") for text in texts])
    assert report.confusions == (
        Confusion("cancel", "greet", 5, ("frase 0", "frase 1", "frase 2")),
    )


def test_a_perfect_run_has_no_confusions():
    report = build_report([p("hola", "greet", "greet"), p("adiós", "bye", "bye")])
    assert report.confusions == ()
    assert report.macro_f1 == pytest.approx(1.0)
    assert report.accuracy == pytest.approx(1.0)


def test_empty_predictions_raise():
    with pytest.raises(ValueError, match="no predictions"):
        build_report([])


def test_json_round_trip(report: NluReport):
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == {"macro_f1", "accuracy", "intents", "confusions", "labels", "matrix"}
    assert data["intents"][1] == {
        "intent": "greet",
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(0.8),
        "support": 3,
    }
    assert data["confusions"][0]["examples"] == [
        "no quiero el pedido",
        "anule mi compra del pedido",
    ]
    assert NluReport.from_json(data) == report


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d.pop("macro_f1"),
        lambda d: d.update(accuracy="alta"),
        lambda d: d.update(accuracy=1.5),
        lambda d: d.update(intents={"greet": 1}),
        lambda d: d["intents"][0].pop("f1"),
        lambda d: d["intents"][0].update(support=-1),
        lambda d: d["confusions"][0].update(examples="no quiero"),
        lambda d: d["confusions"][0].update(count=True),
        lambda d: d["labels"].append("bye"),
        lambda d: d["matrix"][0].pop(),
    ],
)
def test_from_json_rejects_malformed_data(report: NluReport, spoil):
    data = report.to_json()
    spoil(data)
    with pytest.raises(ValueError):
        NluReport.from_json(data)


@pytest.mark.parametrize("data", [None, [], "informe"])
def test_from_json_rejects_what_is_not_an_object(data):
    with pytest.raises(ValueError):
        NluReport.from_json(data)


def test_markdown_shows_spanish_labels_numbers_and_warnings(report: NluReport):
    text = render_markdown(report, LABELS, "Evaluación de mayo")
    assert text.startswith("# Evaluación de mayo\n")
    for heading in ("## Resultado general", "## Por intención", "## Confusiones más frecuentes"):
        assert heading in text
    assert "| Intención | Precisión | Exhaustividad | F1 |" in text
    assert "F1 media: 0,60 · Acierto: 0,56 (9 frases evaluadas)" in text
    assert "| Saludo (greet) | 1,00 | 0,67 | 0,80 | 3 |" in text  # 0.8 is not below 0.8
    assert "| ⚠ Seguimiento de pedidos (track_order) | 0,40 | 0,67 | 0,50 | 3 |" in text
    assert "| Seguimiento de pedidos (track_order) | nlu_fallback | 1 | «zzkx ppq» |" in text
    assert "Exhaustividad: de los mensajes" in text


def test_markdown_keeps_table_cells_intact():
    report = build_report([p("a | b\nc", "cancel", "greet"), p("hola", "greet", "greet")])
    assert "| «a \\| b c» |" in render_markdown(report, {}, "Prueba")


def test_html_is_a_standalone_spanish_page(report: NluReport):
    page = render_html(report, LABELS, "Evaluación de mayo", "matriz.png")
    assert page.startswith("<!doctype html>")
    assert '<html lang="es">' in page
    assert '<meta charset="utf-8">' in page
    assert "<style>" in page
    assert "<title>Evaluación de mayo</title>" in page
    assert "<td>Saludo (greet)</td><td>1,00</td><td>0,67</td><td>0,80</td>" in page
    assert '<tr class="bajo"><td>⚠ Cancelar pedido (cancel)</td><td>1,00</td><td>0,33</td>' in page
    assert '<img src="matriz.png" alt="Matriz de confusión' in page
    assert "<img" not in render_html(report, LABELS, "Evaluación de mayo", None)


def test_html_escapes_customer_sentences_and_labels():
    hostile = "<script>alert(1)</script>"
    report = build_report([p(hostile, "greet", "cancel"), p("hola", "greet", "greet")])
    page = render_html(report, {"greet": "Saludo <b>"}, "Informe & <i>", 'a"b.png')
    assert hostile not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Saludo &lt;b&gt; (greet)" in page
    assert "<title>Informe &amp; &lt;i&gt;</title>" in page
    assert 'src="a&quot;b.png"' in page


def test_png_is_written(report: NluReport, tmp_path: Path):
    path = tmp_path / "matriz.png"
    render_confusion_png(report, LABELS, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_stays_readable_with_twenty_intents(tmp_path: Path):
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    render_confusion_png(build_report(PREDICTIONS), LABELS, small)
    many = [p(f"frase {n}", f"intent_{n:02}", f"intent_{(n + 1) % 20:02}") for n in range(20)]
    render_confusion_png(build_report(many), {}, large)
    assert large.stat().st_size > small.stat().st_size


def test_compare_finds_a_macro_drop_and_an_intent_drop(report: NluReport):
    worse = replace(
        report,
        macro_f1=0.5,
        intents=tuple(replace(s, f1=0.7) if s.intent == "greet" else s for s in report.intents),
    )
    assert compare(report, worse, LABELS) == [
        "La F1 media ha bajado de 0,60 a 0,50.",
        "«Saludo» (greet): F1 de 0,80 a 0,70.",
    ]


def test_compare_reports_missing_intents_and_unlabelled_names(report: NluReport):
    fewer = replace(report, intents=report.intents[1:])
    assert compare(report, fewer, {}) == ["«cancel» ya no aparece en la evaluación nueva."]


def test_compare_ignores_small_drops_and_improvements(report: NluReport):
    assert compare(report, report, LABELS) == []
    slightly = replace(
        report,
        macro_f1=report.macro_f1 - 0.018,
        intents=tuple(replace(s, f1=s.f1 - 0.04) for s in report.intents),
    )
    assert compare(report, slightly, LABELS) == []
    assert compare(slightly, report, LABELS) == []
    assert compare(report, slightly, LABELS, tolerance=0.01) == [
        "La F1 media ha bajado de 0,60 a 0,58."
    ]


def test_the_spoken_section_puts_typed_and_spoken_side_by_side():
    typed = build_report([Prediction("hola", "greet", "greet", 0.9),
                          Prediction("adiós", "goodbye", "goodbye", 0.9)])  # fmt: skip
    heard = build_report([Prediction("ola", "greet", "greet", 0.9),
                          Prediction("", "goodbye", "(nada)", 0.0)])  # fmt: skip
    spoken = [SpokenReport("pico", heard, (("adiós", "", "goodbye", "(nada)"),))]
    markdown = spoken_markdown(typed, spoken, {"greet": "Saludo"})
    assert "| Intención | F1 escrita | F1 hablada (pico) |" in markdown
    assert "| Acierto | 1,00 | 0,50 |" in markdown
    assert "«adiós» → «» → (nada)" in markdown
    assert "Frases escritas: 2. Frases dichas (pico: 2)." in markdown
    assert "<table>" in spoken_html(typed, spoken, {}) and "&" not in spoken_html(typed, spoken, {})
