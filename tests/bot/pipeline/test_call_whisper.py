"""A call with the real recogniser and VAD: what Whisper hears in noise never reaches the
assistant and never stops the bot; a real question does, and is answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.assistant.contract import BotReply
from bot.audio.whisper import WhisperRecognizer, load_engine
from bot.frames import InterruptFrame
from bot.pipeline.engines import whisper_options
from bot.pipeline.spoken import for_speech, split_sentences
from bot.pipeline.vad import WebrtcSpeechDetector
from bot.settings import VoiceSettings
from tests.bot.pipeline.test_call import HOURS, bot_audio_spans, run_call
from tests.helpers.non_speech import breathing, hold_music, line_noise
from tests.helpers.spanish_speech import pico_speech
from tests.helpers.voice_fakes import of_type, quiet

pytestmark = pytest.mark.integration


def test_noise_over_the_bot_is_no_turn_and_no_barge_in(tmp_path: Path) -> None:
    question = pico_speech("¿A qué hora abren mañana?")
    # after the greeting (2.5 s), the question; noise, breath and music over the long reply
    pcm = quiet(3.5) + question + quiet(0.6)
    pcm += line_noise(0.9) + quiet(0.5) + breathing(1.8) + quiet(0.3) + hold_music(1.2)
    pcm += quiet(8.0)
    engine = load_engine(whisper_options(VoiceSettings.from_env()))
    result = run_call(
        tmp_path,
        pcm,
        [],
        [BotReply([HOURS])],
        recognizer=WhisperRecognizer(engine),
        detector=WebrtcSpeechDetector(2),
        timeout_s=120,
    )

    (question_heard,) = result["dialogue"].texts  # "abre" or "abren": both ask the same
    assert question_heard.startswith("a qué hora abre") and question_heard.endswith("mañana")
    assert of_type(result["frames"], InterruptFrame) == []
    ignored = result["log"]["ignored_speech"]
    assert ignored and all(item["text"] == "" for item in ignored), ignored
    reply_s = sum(result["synthesizer"].duration(s) for s in split_sentences(for_speech(HOURS)))
    reply = [span for span in bot_audio_spans(result["track"]) if span[0] > 3.5]
    assert sum(end - start for start, end in reply) == pytest.approx(reply_s, abs=0.001)
