"""The frustration meter over a conversation: each dialogue and voice signal, decay, and the
gate on the development set of whole conversations."""

from __future__ import annotations

import pytest

from bot.frames import VoiceFeatures
from bot.rasa_server.frustration import FrustrationWeights, load_lexicon
from bot.rasa_server.frustration_eval import evaluate_conversations
from bot.rasa_server.frustration_meter import FrustrationMeter, MeterState, Turn, same_request
from bot.settings import PROJECT_ROOT

DEV_CONVERSATIONS = PROJECT_ROOT / "tests" / "data" / "frustration_conversations.jsonl"
LEXICON = load_lexicon()
# the meter's mechanics with the tone and the wording model switched off, so that each figure is
# exact (they have their tests below, in test_frustration.py and in test_complaint_wording.py)
WEIGHTS = FrustrationWeights(bitter_tone=0, pleased_tone=0, complaint_wording=0)


def meter() -> FrustrationMeter:
    return FrustrationMeter(LEXICON, WEIGHTS)


def kinds(assessment) -> list[str]:
    return [sign.kind for sign in assessment.signs]


def test_repetition_builds_up_and_calm_turns_let_it_fall():
    m = meter()
    assert m.update(Turn("¿dónde está mi router?")).score == 0.0
    second = m.update(Turn("¿dónde está mi router? no me ha llegado"))
    assert 0 < second.score < WEIGHTS.threshold
    assert second.reasons == ["repitió 2 veces lo mismo"]
    assert second.acknowledge and not second.crossed  # rising: acknowledge and offer a person
    third = m.update(Turn("pero dónde está mi router"))
    assert third.crossed and third.reasons == ["repitió 3 veces lo mismo"]
    calm = m.update(Turn("vale, gracias"))
    assert calm.score == pytest.approx(third.score * WEIGHTS.decay)
    assert not calm.crossed


def test_short_answers_are_not_repetition():
    assert not same_request("no", "no, solo la fibra")
    assert not same_request("sí", "sí")
    assert same_request("quiero hablar con una persona", "quiero hablar con una persona, por favor")
    m = meter()
    for answer in ["quiero contratar fibra", "no", "no", "no, solo la fibra", "sí", "no, gracias"]:
        assert m.update(Turn(answer)).score == 0.0


def test_the_frustration_intent_counts_by_its_confidence_and_complaints_a_little():
    sure = meter().update(
        Turn("esto no hay quien lo aguante", intent="express_frustration", confidence=1.0)
    )
    unsure = meter().update(
        Turn("esto no hay quien lo aguante", intent="express_frustration", confidence=0.5)
    )
    assert sure.score == pytest.approx(WEIGHTS.frustration_intent)
    assert unsure.score == pytest.approx(WEIGHTS.frustration_intent / 2)
    assert sure.reasons == ["dijo que está molesto"]
    polite = meter().update(Turn("quiero poner una reclamación", intent="complain", confidence=0.9))
    assert polite.score == pytest.approx(WEIGHTS.complaint_intent) and not polite.acknowledge


def test_misunderstandings_in_a_row_and_in_total():
    m = meter()
    assert m.update(Turn("asdf qwe", intent="nlu_fallback")).score == 0.0
    twice = m.update(Turn("zzkx", intent="nlu_fallback"))
    assert twice.reasons == ["no se le entendió dos veces seguidas"]
    m = meter()
    for text, intent in [
        ("x1", "nlu_fallback"),
        ("hola", "greet"),
        ("x2", "nlu_fallback"),
        ("ok", "affirm"),
    ]:
        m.update(Turn(text, intent=intent))
    third = m.update(Turn("x3", intent="nlu_fallback"))
    assert "no se le entendió 3 veces" in third.reasons


def test_the_same_request_again_later_on():
    m = meter()
    m.update(Turn("¿dónde está mi pedido?", intent="track_order", confidence=0.9))
    m.update(Turn("12345", intent="inform", confidence=0.9))
    again = m.update(
        Turn("quiero saber cuándo llega lo que compré", intent="track_order", confidence=0.9)
    )
    assert kinds(again) == ["same_request"] and again.reasons == ["volvió a pedir lo mismo"]


def test_minutes_without_progress():
    m = meter()
    m.update(Turn("hola", at=0.0, intent="greet"))
    m.update(Turn("asdf", at=60.0, intent="nlu_fallback"))
    assert "no_progress" not in kinds(m.update(Turn("qwer", at=120.0, intent="nlu_fallback")))
    late = m.update(Turn("zxcv", at=300.0, intent="nlu_fallback"))
    assert "no_progress" in kinds(late) and "lleva 5 minutos sin avanzar" in late.reasons
    # a turn that gets somewhere resets the clock
    m.update(Turn("quiero pedir cita", at=320.0, intent="book_appointment"))
    assert "no_progress" not in kinds(m.update(Turn("asdf", at=400.0, intent="nlu_fallback")))


CALM = VoiceFeatures(loudness_db=-30.0, pitch_hz=120.0, words_per_s=2.5)


def test_a_louder_higher_faster_caller_than_in_their_first_turns():
    m = meter()
    assert m.update(Turn("quería saber dónde está mi pedido", voice=CALM)).score == 0.0
    assert m.update(Turn("es el uno dos tres", voice=CALM)).score == 0.0
    angry = VoiceFeatures(loudness_db=-22.0, pitch_hz=150.0, words_per_s=3.6)
    heated = m.update(Turn("pues no me ha llegado nada", voice=angry))
    assert kinds(heated) == ["louder", "higher_pitch", "faster"]
    assert heated.crossed
    assert heated.reasons == ["subió la voz", "habla en un tono más agudo", "habla más deprisa"]


def test_one_voice_change_alone_does_not_hand_off_and_loud_callers_set_their_own_baseline():
    m = meter()
    loud = VoiceFeatures(loudness_db=-12.0, pitch_hz=220.0, words_per_s=3.5)
    m.update(Turn("hola buenas tardes", voice=loud))
    assert m.update(Turn("quería pedir una cita", voice=loud)).score == 0.0  # their normal
    louder = m.update(Turn("para el martes por la tarde", voice=VoiceFeatures(loudness_db=-5.0)))
    assert kinds(louder) == ["louder"] and not louder.crossed


def test_interrupting_the_assistant_repeatedly():
    m = meter()
    interrupting = VoiceFeatures(barged_in=True)
    assert m.update(Turn("sí sí ya", voice=interrupting)).signs == []
    m.update(Turn("vale", voice=VoiceFeatures()))
    again = m.update(Turn("que no, escúcheme", voice=interrupting))
    assert "interrumpió al asistente dos veces" in again.reasons


def test_the_state_survives_a_round_trip_through_json_and_damage():
    m = meter()
    m.update(Turn("¿dónde está mi router?"))
    m.update(Turn("¿dónde está mi router? no llega"))
    restored = FrustrationMeter(LEXICON, WEIGHTS, MeterState.from_json(m.state.to_json()))
    assert restored.score == m.score and restored.reasons == m.reasons
    assert MeterState.from_json({"score": 0.4, "unknown": 1}).score == 0.4
    assert MeterState.from_json({"said": 3, "turns": "x", "score": []}) == MeterState()
    damaged = FrustrationMeter(LEXICON, WEIGHTS, MeterState.from_json({"score": "alto"}))
    assert damaged.update(Turn("hola")).score == 0.0  # starts afresh rather than failing
    assert MeterState.from_json("basura") == MeterState()


def test_voice_features_from_the_wire_are_checked():
    assert (
        VoiceFeatures.from_json({"loudness_db": 5, "pitch_hz": "alto", "barged_in": 1})
        == VoiceFeatures()
    )
    assert VoiceFeatures.from_json({"words_per_s": float("nan")}) == VoiceFeatures()
    assert VoiceFeatures.from_json([1, 2]) is None
    good = {"loudness_db": -20.5, "pitch_hz": 180.0, "words_per_s": 3.0, "barged_in": True}
    assert VoiceFeatures.from_json(good) == VoiceFeatures(-20.5, 180.0, 3.0, True)


def test_conversations_of_the_development_set_are_handed_off_in_time_and_calm_ones_never():
    result = evaluate_conversations(DEV_CONVERSATIONS)
    assert result["calm_kept"] >= 12 and result["calm_handed_off"] == 0
    late = [offset for offset in result["turns_late"] if offset > 0]
    # text signals only: the one conversation that is late asks for a person, which the
    # assistant's request_human intent hands off at once (the NLU run below shows it)
    assert len(late) <= 1, result


def test_a_bitter_tone_adds_up_and_thanks_calm_the_score_faster():
    toned = FrustrationMeter(LEXICON, FrustrationWeights())
    bitter = toned.update(Turn("tres semanas sin internet y nadie me dice nada"))
    assert bitter.crossed and "tono de queja" in bitter.reasons
    thanked = toned.update(Turn("vale, muchas gracias, muy amable"))
    assert thanked.score < bitter.score * FrustrationWeights().decay
    assert "tono satisfecho" not in thanked.reasons  # calm is no reason to tell the agent
    faint = FrustrationMeter(LEXICON, FrustrationWeights()).update(Turn("no, solo la fibra"))
    assert 0 < faint.score < FrustrationWeights().acknowledge and faint.reasons == []


def test_a_follow_up_on_the_same_topic_is_not_the_same_request_again():
    m = meter()
    m.update(Turn("¿a qué hora abre la tienda de sevilla?", intent="ask_opening_hours"))
    again = m.update(Turn("¿y el domingo?", intent="ask_opening_hours", follow_up=True))
    assert "same_request" not in kinds(again)
    repeated = m.update(Turn("horario de la tienda", intent="ask_opening_hours"))
    assert "same_request" in kinds(repeated)


def test_the_intent_and_the_wording_model_count_once_for_the_same_words():
    weights = FrustrationWeights(bitter_tone=0, pleased_tone=0)
    text = "esto no hay quien lo aguante"
    alone = FrustrationMeter(LEXICON, weights).update(Turn(text))
    wording = [s for s in alone.signs if s.kind == "wording"]
    assert wording, "the wording model reads this as a complaint"
    both = FrustrationMeter(LEXICON, weights).update(
        Turn(text, intent="express_frustration", confidence=1.0)
    )
    readings = [s.kind for s in both.signs if s.kind in ("intent", "wording")]
    assert readings == ["intent"]  # 0.45 beats the wording's weight
    assert both.score == pytest.approx(weights.frustration_intent)


def test_the_wording_alone_raises_the_score_but_says_nothing_of_feelings():
    m = FrustrationMeter(LEXICON, FrustrationWeights(bitter_tone=0, pleased_tone=0))
    m.state.score = 0.2  # an earlier sign, decayed
    polite = m.update(Turn("me han cobrado dos veces la cuota de marzo"))
    assert [s.kind for s in polite.signs] == ["wording"]
    assert polite.score >= 0.25 and polite.upset and not polite.acknowledge
