"""How much a message is worded like a complaint, learned from labelled examples.

The word lists of the frustration meter catch swearing, shouting and set phrases; most unhappy
customers write none of them ("tres semanas sin internet y nadie me dice nada"). This small
classifier, trained on the project's own Spanish messages (data/frustration/examples_*.tsv,
`text<TAB>label`) and on the NLU training sentences (`express_frustration` displeased; the
requests, answers and small talk of a calm customer not), reads the wording as a whole. The NLU
sentences teach it this assistant's ordinary business, so its requests are not heard as
complaints. It is fitted when the meter first needs it
(about a second for a couple of thousand messages), so trainers change it by editing the
examples; there is no model file to keep in step.

The text is normalised as a recogniser delivers it (lower case, no accents or punctuation):
typed and spoken messages are read alike, and capitals and "!!!" are left to their own signs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.settings import PROJECT_ROOT
from bot.text import spoken_form, without_entity_marks

EXAMPLES_DIR = PROJECT_ROOT / "data" / "frustration"
EXAMPLES_GLOB = "examples_*.tsv"
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
DISPLEASED_INTENTS = frozenset({"express_frustration"})
# neither calm nor displeased as a rule: complaints and faults are often polite, often not; a
# request for a person or a question about the bot may be either
MIXED_INTENTS = frozenset({"complain", "report_problem", "request_human", "bot_challenge", "deny"})


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: int  # 1: the customer shows displeasure


def read_labelled(path: Path) -> list[LabelledText]:
    """A TSV of `text<TAB>label` under a header line; quotes are part of the text.

    Raises:
        ValueError: naming the first line that is not `text<TAB>0|1`.
    """
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        text, _, label = line.rpartition("\t")
        if label.strip() not in ("0", "1") or not text:
            raise ValueError(f"{path.name}:{number}: se esperaba «texto<TAB>0|1»")
        rows.append(LabelledText(text, int(label)))
    return rows


class ComplaintWording:
    """A linear model over character and word n-grams: P(displeased | wording)."""

    def __init__(self, examples: Iterable[LabelledText]) -> None:
        rows = list(examples)
        labels = {row.label for row in rows}
        if labels != {0, 1}:
            raise ValueError("complaint wording needs examples of both labels")
        self._pipeline = Pipeline(
            [
                (
                    "features",
                    FeatureUnion(
                        [
                            # character n-grams inside words: robust to slips and inflection
                            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                                      sublinear_tf=True, min_df=2)),
                            # word pairs: "nadie me", "otra vez", "ni caso"
                            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                        ]
                    ),
                ),
                ("model", LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000)),
            ]
        )  # fmt: skip
        self._pipeline.fit([spoken_form(row.text) for row in rows], [row.label for row in rows])

    def probability(self, text: str) -> float:
        """How likely the message is a displeased one, 0..1."""
        plain = spoken_form(text)
        if not plain:
            return 0.0
        return float(self._pipeline.predict_proba([plain])[0][1])


def nlu_sentences(folder: Path = NLU_DIR) -> list[LabelledText]:
    """The NLU training sentences of calm and of displeased intents, labelled as such."""
    rows = []
    for path in sorted(folder.glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            intent = item.get("intent") if isinstance(item, dict) else None
            if not intent or intent in MIXED_INTENTS:
                continue
            label = int(intent in DISPLEASED_INTENTS)
            for line in str(item.get("examples") or "").splitlines():
                text = without_entity_marks(line.strip().removeprefix("- ").strip())
                if text:
                    rows.append(LabelledText(text, label))
    return rows


@lru_cache(maxsize=2)
def load_complaint_wording(
    folder: Path = EXAMPLES_DIR, nlu_folder: Path = NLU_DIR
) -> ComplaintWording | None:
    """The model fitted on every examples file of `folder` and the NLU sentences of
    `nlu_folder`; None when there are no examples files (the sign is then off)."""
    rows = [row for path in sorted(folder.glob(EXAMPLES_GLOB)) for row in read_labelled(path)]
    return ComplaintWording(rows + nlu_sentences(nlu_folder)) if rows else None
