"""Turns NLU predictions into a report that the people who train the assistant can read.

`build_report` computes per-intent precision, recall and F1, the accuracy, the confusion matrix
and the most frequent confusions (with example sentences). The report is saved and loaded as
JSON (`NluReport.to_json` / `NluReport.from_json`), shown as Markdown, as a standalone HTML page
or as a PNG picture of the confusion matrix, and two reports can be compared to say, in Spanish,
what got worse. Plain Python, scikit-learn and matplotlib: this module does not import rasa.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from string import Template
from typing import Any, TypeVar

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

LOW_F1 = 0.8
MAX_EXAMPLES = 3
WARNING = "⚠"
EXPLANATION = (
    "Precisión: de las veces que el asistente eligió esta intención, cuántas acertó. "
    "Exhaustividad: de los mensajes de esta intención, cuántos reconoció. "
    "F1: una nota que combina las dos (1,00 es perfecto)."
)
INTENT_COLUMNS = ("Intención", "Precisión", "Exhaustividad", "F1", "Frases")
CONFUSION_COLUMNS = ("Esperada", "Predicha", "Veces", "Ejemplos")
ALT = "Matriz de confusión: filas, intención esperada; columnas, intención predicha"
_PAGE = Template("""<!doctype html>
<html lang="es">
<head><meta charset="utf-8"><title>$title</title><style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
tr.bajo { background: #fdecea; }
img { max-width: 100%; }
</style></head>
<body>
$body
</body>
</html>
""")


@dataclass(frozen=True)
class Prediction:
    """What the NLU predicted for one sentence whose intent is known."""

    text: str
    expected: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class IntentScore:
    """Precision, recall and F1 of one intent; `support` is how many sentences expected it."""

    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Confusion:
    """Sentences of intent `expected` recognised as `predicted`, with up to 3 examples."""

    expected: str
    predicted: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class NluReport:
    """The evaluation of a set of predictions; `matrix` rows are expected, columns predicted."""

    macro_f1: float
    accuracy: float
    intents: tuple[IntentScore, ...]
    confusions: tuple[Confusion, ...]
    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]

    def to_json(self) -> dict[str, Any]:
        """Returns the report as a dict of plain JSON types (lists instead of tuples)."""
        data = asdict(self)
        data["intents"] = [dict(score) for score in data["intents"]]
        data["confusions"] = [{**c, "examples": list(c["examples"])} for c in data["confusions"]]
        data["labels"] = list(self.labels)
        data["matrix"] = [list(row) for row in self.matrix]
        return data

    @classmethod
    def from_json(cls, data: Any) -> NluReport:
        """Reads a report written by `to_json`.

        Raises:
            ValueError: if `data` is not a well-formed report.
        """
        report = _record(cls, data)
        size = len(report.labels)
        if len(report.matrix) != size or any(len(row) != size for row in report.matrix):
            raise ValueError("report: the matrix must be square over the labels")
        return report


def _seq(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"report: {name} must be a list")
    return list(value)


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"report: {name} must be text")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"report: {name} must be a whole number of at least 0")
    return value


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"report: {name} must be a number between 0 and 1")
    return float(value)


def _texts(value: Any, name: str) -> tuple[str, ...]:
    return tuple(_str(text, name) for text in _seq(value, name))


# Keyed by the annotations as written: with postponed evaluation they are strings.
_READERS: dict[str, Callable[[Any, str], Any]] = {
    "str": _str,
    "int": _int,
    "float": _float,
    "tuple[str, ...]": _texts,
    "tuple[IntentScore, ...]": lambda v, name: tuple(
        _record(IntentScore, i) for i in _seq(v, name)
    ),
    "tuple[Confusion, ...]": lambda v, name: tuple(_record(Confusion, c) for c in _seq(v, name)),
    "tuple[tuple[int, ...], ...]": lambda v, name: tuple(
        tuple(_int(n, name) for n in _seq(row, name)) for row in _seq(v, name)
    ),
}
_Record = TypeVar("_Record", IntentScore, Confusion, NluReport)


def _record(kind: type[_Record], item: Any) -> _Record:
    """Reads a report or a part of it, checking every field against its annotation."""
    if not isinstance(item, Mapping):
        raise ValueError(f"report: {kind.__name__} must be an object")
    missing = [field.name for field in fields(kind) if field.name not in item]
    if missing:
        raise ValueError(f"report: {kind.__name__} without {', '.join(missing)}")
    return kind(**{f.name: _READERS[str(f.type)](item[f.name], f.name) for f in fields(kind)})


def build_report(predictions: Sequence[Prediction], top_confusions: int = 10) -> NluReport:
    """Evaluates the predictions.

    Scores cover the expected intents only (a prediction such as `nlu_fallback` lowers recall
    but gets no row); the confusion matrix covers expected and predicted intents.

    Args:
        predictions: one per test sentence.
        top_confusions: how many of the most frequent confusions to keep.

    Raises:
        ValueError: if there are no predictions.
    """
    if not predictions:
        raise ValueError("no predictions")
    expected = [p.expected for p in predictions]
    predicted = [p.predicted for p in predictions]
    intents = sorted(set(expected))
    labels = sorted(set(expected) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=intents, zero_division=0
    )
    scores = tuple(
        IntentScore(name, float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(intents, precision, recall, f1, support, strict=True)
    )
    matrix = confusion_matrix(expected, predicted, labels=labels)
    return NluReport(
        macro_f1=float(sum(s.f1 for s in scores) / len(scores)),
        accuracy=float(accuracy_score(expected, predicted)),
        intents=scores,
        confusions=_top_confusions(predictions, top_confusions),
        labels=tuple(labels),
        matrix=tuple(tuple(int(n) for n in row) for row in matrix),
    )


def _top_confusions(predictions: Sequence[Prediction], top: int) -> tuple[Confusion, ...]:
    """The most frequent wrong (expected, predicted) pairs, count first, then by name."""
    wrong = [p for p in predictions if p.expected != p.predicted]
    counts = Counter((p.expected, p.predicted) for p in wrong)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: max(top, 0)]
    confusions = []
    for (expected, predicted), count in ranked:
        texts = [p.text for p in wrong if (p.expected, p.predicted) == (expected, predicted)]
        examples = tuple(dict.fromkeys(texts))[:MAX_EXAMPLES]
        confusions.append(Confusion(expected, predicted, count, examples))
    return tuple(confusions)


def is_low(score: IntentScore) -> bool:
    """Whether the intent's F1 is under 0.8 (ignoring float noise such as 0.7999999)."""
    return round(score.f1, 6) < LOW_F1


def number(value: float) -> str:
    """A score with 2 decimals and a Spanish decimal comma: 0.8 -> '0,80'."""
    return f"{value:.2f}".replace(".", ",")


def display(intent: str, labels: Mapping[str, str]) -> str:
    """'Etiqueta (name)' for people, or just the name when it has no Spanish label."""
    label = labels.get(intent)
    return f"{label} ({intent})" if label else intent


def _summary(report: NluReport) -> str:
    total = sum(sum(row) for row in report.matrix)
    return (
        f"F1 media: {number(report.macro_f1)} · Acierto: {number(report.accuracy)} "
        f"({total} frases evaluadas)"
    )


def _intent_cells(score: IntentScore, labels: Mapping[str, str]) -> list[str]:
    """One intent's table cells as plain text; low intents start with ⚠."""
    name = (f"{WARNING} " if is_low(score) else "") + display(score.intent, labels)
    scores = (score.precision, score.recall, score.f1)
    return [name, *(number(value) for value in scores), str(score.support)]


def _confusion_cells(confusion: Confusion, labels: Mapping[str, str]) -> list[str]:
    """One confusion's cells as plain text, without the examples."""
    expected, predicted = confusion.expected, confusion.predicted
    return [display(expected, labels), display(predicted, labels), str(confusion.count)]


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(report: NluReport, labels: Mapping[str, str], title: str) -> str:
    """The report as Markdown, in Spanish; intents with F1 under 0,80 are marked with ⚠."""
    lines = [f"# {_md_cell(title)}", "", "## Resultado general", "", _summary(report), ""]
    lines += ["## Por intención", "", EXPLANATION, "", _md_row(INTENT_COLUMNS)]
    lines.append("|---|---:|---:|---:|---:|")
    lines += [_md_row([_md_cell(c) for c in _intent_cells(s, labels)]) for s in report.intents]
    lines += ["", "## Confusiones más frecuentes", ""]
    if not report.confusions:
        return "\n".join([*lines, "No hay confusiones.", ""])
    lines += [_md_row(CONFUSION_COLUMNS), "|---|---|---:|---|"]
    for c in report.confusions:
        examples = "<br>".join(f"«{_md_cell(text)}»" for text in c.examples)
        lines.append(_md_row([*(_md_cell(x) for x in _confusion_cells(c, labels)), examples]))
    return "\n".join([*lines, ""])


SPOKEN_TITLE = "Frases habladas y reconocidas"
SPOKEN_EXPLANATION = (
    "Las mismas frases dichas por una voz sintética y reconocidas como en una llamada (sin "
    "tildes ni puntuación, con los errores del reconocedor). Si la F1 hablada de una intención "
    "es mucho más baja que la escrita, añada ejemplos escritos como se dicen."
)


@dataclass(frozen=True)
class SpokenReport:
    """The evaluation of the same sentences spoken in one voice and recognised."""

    voice: str
    report: NluReport
    misheard: tuple[tuple[str, str, str, str], ...]  # said, heard, expected, predicted


def spoken_rows(
    typed: NluReport, spoken: Sequence[SpokenReport], labels: Mapping[str, str]
) -> tuple[list[str], list[list[str]]]:
    """The spoken comparison as a table: one row per intent, the F1 typed then per voice; the
    last row is the accuracy."""
    columns = ["Intención", "F1 escrita", *(f"F1 hablada ({s.voice})" for s in spoken)]
    by_voice = [{score.intent: score.f1 for score in s.report.intents} for s in spoken]
    rows = []
    for score in typed.intents:
        cells = [display(score.intent, labels), number(score.f1)]
        rows.append(cells + [number(found.get(score.intent, 0.0)) for found in by_voice])
    rows.append(["Acierto", number(typed.accuracy), *(number(s.report.accuracy) for s in spoken)])
    return columns, rows


def _spoken_counts(typed: NluReport, spoken: Sequence[SpokenReport]) -> str:
    written = sum(map(sum, typed.matrix))
    said = ", ".join(f"{s.voice}: {sum(map(sum, s.report.matrix))}" for s in spoken)
    return f"Frases escritas: {written}. Frases dichas ({said})."


def spoken_markdown(
    typed: NluReport, spoken: Sequence[SpokenReport], labels: Mapping[str, str]
) -> str:
    columns, rows = spoken_rows(typed, spoken, labels)
    lines = [f"## {SPOKEN_TITLE}", "", SPOKEN_EXPLANATION, "", _spoken_counts(typed, spoken), ""]
    lines.append(_md_row(columns))
    lines.append("|---|" + "---:|" * (len(columns) - 1))
    lines += [_md_row([_md_cell(c) for c in row]) for row in rows]
    for result in spoken:
        if result.misheard:
            lines += ["", f"Mal entendidas con la voz {result.voice} (dicho → oído → entendido):"]
            lines += [f"- «{_md_cell(said)}» → «{_md_cell(heard)}» → {display(got, labels)}"
                      for said, heard, _, got in result.misheard]  # fmt: skip
    return "\n".join([*lines, ""])


def spoken_html(typed: NluReport, spoken: Sequence[SpokenReport], labels: Mapping[str, str]) -> str:
    columns, rows = spoken_rows(typed, spoken, labels)
    body = [f"<h2>{SPOKEN_TITLE}</h2>", f"<p>{html.escape(SPOKEN_EXPLANATION)}</p>"]
    body += [f"<p>{html.escape(_spoken_counts(typed, spoken))}</p>", "<table>"]
    body += [_row([html.escape(c) for c in columns], tag="th")]
    body += [_row([html.escape(c) for c in row]) for row in rows]
    return "\n".join([*body, "</table>"])


def _row(cells: Sequence[str], low: bool = False, tag: str = "td") -> str:
    """One HTML table row; the cells must already be escaped."""
    start = '<tr class="bajo">' if low else "<tr>"
    return start + "".join(f"<{tag}>{cell}</{tag}>" for cell in cells) + "</tr>"


def _html_intents(report: NluReport, labels: Mapping[str, str]) -> list[str]:
    rows = [_row(INTENT_COLUMNS, tag="th")]
    for s in report.intents:
        rows.append(_row([html.escape(c) for c in _intent_cells(s, labels)], low=is_low(s)))
    return ["<table>", *rows, "</table>"]


def _html_confusions(report: NluReport, labels: Mapping[str, str]) -> list[str]:
    if not report.confusions:
        return ["<h2>Confusiones más frecuentes</h2>", "<p>No hay confusiones.</p>"]
    rows = [_row(CONFUSION_COLUMNS, tag="th")]
    for c in report.confusions:
        examples = "".join(f"<li>{html.escape(text)}</li>" for text in c.examples)
        cells = [html.escape(cell) for cell in _confusion_cells(c, labels)]
        rows.append(_row([*cells, f"<ul>{examples}</ul>"]))
    return ["<h2>Confusiones más frecuentes</h2>", "<table>", *rows, "</table>"]


def render_html(
    report: NluReport,
    labels: Mapping[str, str],
    title: str,
    picture: str | None,
    spoken: Sequence[SpokenReport] = (),
) -> str:
    """The report as a standalone HTML page in Spanish, every text escaped.

    Args:
        picture: file name of the confusion-matrix PNG, relative to the page, or None.
    """
    body = [f"<h1>{html.escape(title)}</h1>", "<h2>Resultado general</h2>"]
    body += [f"<p>{html.escape(_summary(report))}</p>", "<h2>Por intención</h2>"]
    body.append(f"<p>{html.escape(EXPLANATION)}</p>")
    body += _html_intents(report, labels)
    if spoken:
        body.append(spoken_html(report, spoken, labels))
    body += _html_confusions(report, labels)
    if picture is not None:
        body += ["<h2>Matriz de confusión</h2>", f'<img src="{html.escape(picture)}" alt="{ALT}">']
    return _PAGE.substitute(title=html.escape(title), body="\n".join(body))


def render_confusion_png(report: NluReport, labels: Mapping[str, str], path: Path) -> None:
    """Draws the confusion matrix (rows expected, columns predicted) as a PNG at `path`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    size = max(6.0, 0.6 * len(report.labels) + 4)
    figure = Figure(figsize=(size, size), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.imshow(report.matrix, cmap="Blues")
    names = [labels.get(label) or label for label in report.labels]
    ticks = range(len(names))
    axes.set_xticks(ticks, names, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(ticks, names, fontsize=8)
    axes.set_title("Matriz de confusión")
    axes.set_xlabel("Intención predicha")
    axes.set_ylabel("Intención esperada")
    darkest = max((max(row) for row in report.matrix), default=0)
    for i, row in enumerate(report.matrix):
        for j, count in enumerate(row):
            color = "white" if count > darkest / 2 else "black" if count else "#aaa"
            axes.text(j, i, str(count), ha="center", va="center", color=color, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, format="png")
    figure.clear()


def compare(
    baseline: NluReport, candidate: NluReport, labels: Mapping[str, str], tolerance: float = 0.02
) -> list[str]:
    """What got worse from `baseline` to `candidate`, as Spanish sentences ([] if nothing).

    Args:
        tolerance: largest drop of the mean F1 that is not reported; an intent's F1 may drop
            by max(tolerance, 0.05).
    """
    worse = []
    old, new = baseline.macro_f1, candidate.macro_f1
    if old - new > tolerance:
        worse.append(f"La F1 media ha bajado de {number(old)} a {number(new)}.")
    now = {score.intent: score for score in candidate.intents}
    for before in baseline.intents:
        name = _quoted(before.intent, labels)
        after = now.get(before.intent)
        if after is None:
            worse.append(f"{name} ya no aparece en la evaluación nueva.")
        elif before.f1 - after.f1 > max(tolerance, 0.05):
            worse.append(f"{name}: F1 de {number(before.f1)} a {number(after.f1)}.")
    return worse


def _quoted(intent: str, labels: Mapping[str, str]) -> str:
    label = labels.get(intent)
    return f"«{label}» ({intent})" if label else f"«{intent}»"
