"""The frustration meter's text signals, and the gate on the Spanish development set."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.rasa_server.frustration import (
    FrustrationWeights,
    Sign,
    combined,
    load_lexicon,
    text_signs,
)
from bot.rasa_server.frustration_eval import evaluate_messages
from bot.settings import PROJECT_ROOT, SettingsError
from tests.helpers.shared_data import shared_file

DEV_MESSAGES = PROJECT_ROOT / "tests" / "data" / "frustration_messages.tsv"
LEXICON = load_lexicon()


NOT_WORD_LISTS = {"tone", "pleased", "wording"}


def kinds(text: str) -> list[str]:
    """The signs of the word lists (the tone and the wording model are tested on their own)."""
    return [sign.kind for sign in text_signs(text, LEXICON) if sign.kind not in NOT_WORD_LISTS]


def test_profanity_from_the_spanish_lists_in_any_form():
    assert kinds("son unos boludos") == ["profanity"]  # plural of a listed word
    assert kinds("me cago en todo, joder") == ["profanity"]
    assert "palabras malsonantes" in text_signs("JODER", LEXICON)[0].reason


@pytest.mark.parametrize(
    "ordinary",
    [
        "me han vuelto a cargar el recibo, ¿pueden revisarlo?",
        "no puedo coger el teléfono por la mañana",
        "me robaron el teléfono ayer, ¿cómo bloqueo la SIM?",
        "quiero cancelar la cita",
        "no tengo internet desde ayer",
    ],
)
def test_ordinary_contact_centre_words_are_not_signs(ordinary: str):
    assert kinds(ordinary) == []


def test_anger_exhaustion_and_sarcasm():
    assert kinds("sois unos inútiles") == ["anger"]
    assert kinds("es la tercera vez que llamo") == ["exhaustion"]
    assert kinds("llevo dos horas esperando") == ["exhaustion"]
    assert kinds("otra vez lo mismo") == ["exhaustion_weak"]
    assert kinds("genial, otra vez sin internet") == ["exhaustion_weak", "sarcasm"]
    assert kinds("genial, gracias") == []  # praise on its own is praise


def test_shouting_is_capitals_over_words_not_acronyms():
    assert kinds("QUIERO HABLAR CON UNA PERSONA YA") == ["shouting"]
    assert kinds("¿el ADSL y el DNI?") == []
    assert kinds("el técnico me ha dejado plantado OTRA VEZ") == [
        "anger", "exhaustion_weak", "shouting"
    ]  # fmt: skip
    assert kinds("¿¿pero qué pasa??") == ["punctuation"]
    assert kinds("¿qué pasa?") == []


def test_signs_combine_as_independent_evidence():
    weak = Sign("a", 0.3, "")
    assert combined([]) == 0.0
    assert combined([weak]) == pytest.approx(0.3)
    assert combined([weak, weak]) == pytest.approx(0.51)  # two weak signs cross 0.5


def test_weights_come_from_settings_and_are_checked():
    weights = FrustrationWeights.from_env({"BOT_FRUSTRATION_THRESHOLD": "0.6", "OTHER": "x"})
    assert weights.threshold == 0.6 and weights.profanity == FrustrationWeights().profanity
    with pytest.raises(SettingsError, match="BOT_FRUSTRATION_LOUDER must be a number"):
        FrustrationWeights.from_env({"BOT_FRUSTRATION_LOUDER": "mucho"})
    with pytest.raises(SettingsError, match="at most BOT_FRUSTRATION_THRESHOLD"):
        FrustrationWeights.from_env({"BOT_FRUSTRATION_ACKNOWLEDGE": "0.7"})


def test_single_messages_meet_the_gate_of_the_development_set():
    result = evaluate_messages(DEV_MESSAGES)
    assert result["messages"] >= 250
    assert result["recall"] >= 0.90, result["mistakes"]
    assert result["false_positive_rate"] <= 0.05, result["mistakes"]


def test_the_eval_command_prints_its_figures_as_json_last():
    run = subprocess.run(
        [sys.executable, "-m", "bot", "eval", "frustration", str(DEV_MESSAGES)],
        capture_output=True, text=True, check=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(figures) >= {"precision", "recall", "f1", "false_positive_rate", "roc_auc"}
    assert figures["threshold"] == FrustrationWeights().threshold


def test_the_tone_counts_for_frustration_and_thanks_against_it():
    signs = {
        sign.kind: sign.weight for sign in text_signs("nadie me contesta, una vergüenza", LEXICON)
    }
    assert signs["tone"] > 0
    assert {s.kind for s in text_signs("muchas gracias, muy amable", LEXICON)} == {"pleased"}
    assert combined(text_signs("muchas gracias, muy amable", LEXICON)) < 0
    # sarcasm: the praise does not calm anything
    assert "pleased" not in kinds_with_tone("genial, otra vez sin internet, qué maravilla")


def kinds_with_tone(text: str) -> list[str]:
    return [sign.kind for sign in text_signs(text, LEXICON)]


def test_recall_at_five_percent_false_positives_and_the_sweep(tmp_path):
    path = tmp_path / "m.tsv"
    rows = ["text\tlabel", '"Hola" dijo\t0', "qué tal\t0", "sois unos inútiles\t1", "todo bien\t0"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = evaluate_messages(path)
    assert result["messages"] == 4  # the quote is part of the text, as in tweets
    assert result["recall_at_5pct_fp"] == 1.0 and result["roc_auc"] == 1.0
    assert [row["threshold"] for row in result["sweep"]] == [0.1 * n for n in range(1, 10)] or len(
        result["sweep"]
    ) == 9
    path.write_text("text\tlabel\nhola\tquizá\n", encoding="utf-8")
    with pytest.raises(ValueError, match="m.tsv:2"):
        evaluate_messages(path)


def test_real_airline_complaints_rank_above_calm_tweets():
    """Real Spanish tweets to airlines (evaluation only): the text signs must rank the negative
    ones above the others. The floor guards what was reached (0.709 with the word lists and the
    tone, tuned on this dev file; 0.726 with the wording model, which never saw it); the issue's
    target is 0.75."""
    result = evaluate_messages(shared_file("frustration/airline_es_dev.tsv"))
    print({key: result[key] for key in ("roc_auc", "recall_at_5pct_fp", "messages")})
    assert result["messages"] == 5032
    assert result["roc_auc"] >= 0.72


def test_sealed_messages_rank_frustration_above_calm():
    """The sealed held-out messages (tests/nlu/README.md: never read, never tuned on). Only the
    aggregate figures are shown. First measured 2026-12-05: ROC AUC 0.886, recall 0.65 at ≤ 5 %
    false positives (the issue's target is 0.90); with the wording model, chosen on the
    development sets alone: 0.976 and 0.92; 0.969 and 0.92 after the conversation tests moved
    its start to 0.6. The floors guard against a step back."""
    result = evaluate_messages(PROJECT_ROOT / "tests" / "data" / "frustration_sealed.tsv")
    figures = {key: result[key] for key in ("messages", "roc_auc", "recall_at_5pct_fp")}
    assert result["messages"] == 200, figures
    assert result["roc_auc"] >= 0.95 and result["recall_at_5pct_fp"] >= 0.88, figures
    assert result["false_positive_rate"] <= 0.05, figures


def test_ordinary_words_of_the_swear_lists_are_no_sign():
    assert kinds_with_tone("¿cuál es el horario de verano de la tienda?") == []
