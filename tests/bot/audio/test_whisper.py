"""The real Whisper path: the embedded multilingual base model on real and natural Spanish.

Real human voices come from Debian's Asterisk Spanish prompts (8 kHz recordings, with texts);
natural synthetic callers from SVOX Pico. The tests assert the words, not only that some came out.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.audio.errors import ModelMissingError
from bot.audio.pcm import SAMPLE_RATE, chunks
from bot.audio.whisper import (
    WhisperEngine,
    WhisperOptions,
    WhisperRecognizer,
    load_engine,
    spoken_form,
    window_for,
)
from bot.pipeline.engines import make_recognizer, whisper_options
from bot.settings import PROJECT_ROOT, VoiceSettings
from tests.helpers.non_speech import GENERATORS
from tests.helpers.spanish_speech import (
    asterisk_prompts,
    comparable,
    pico_speech,
    through_phone,
    word_error_rate,
)

pytestmark = pytest.mark.integration

# Prompts of everyday words, spread over the alphabet; the whole set is measured by `make bench`.
REAL_VOICE_PROMPTS = (
    "conf-getpin",
    "conf-hasleft",
    "vm-intro",
    "vm-goodbye",
    "vm-nomore",
    "vm-msgsaved",
    "vm-tooshort",
    "pbx-invalid",
)
CALLER_LINES = (
    "¿A qué hora abre la tienda de Sevilla el sábado?",
    "Quiero pedir cita para instalar la fibra.",
    "¿Dónde está mi pedido?",
    "Quiero hablar con una persona.",
    "Llevo tres días sin internet y nadie me lo arregla.",
)


@pytest.fixture(scope="module")
def engine() -> WhisperEngine:
    engine = load_engine(whisper_options(VoiceSettings.from_env()))
    engine.warm_up()
    return engine


def recognize(engine: WhisperEngine, pcm: bytes) -> str:
    recognizer = WhisperRecognizer(engine)
    recognizer.start(0.0)
    for piece in chunks(pcm, 100):
        recognizer.accept(piece)
    return recognizer.finish().text


def test_real_spanish_voices_are_recognised(engine: WhisperEngine) -> None:
    prompts = [p for p in asterisk_prompts() if p.name in REAL_VOICE_PROMPTS]
    assert len(prompts) == len(REAL_VOICE_PROMPTS)
    heard = [recognize(engine, prompt.pcm()) for prompt in prompts]
    assert word_error_rate([p.text for p in prompts], heard) <= 0.2, list(
        zip(prompts, heard, strict=True)
    )
    assert "clave de entrada" in heard[[p.name for p in prompts].index("conf-getpin")]


@pytest.mark.parametrize("line", CALLER_LINES)
def test_natural_synthetic_callers_are_recognised_word_for_word(
    engine: WhisperEngine, line: str
) -> None:
    assert comparable(recognize(engine, pico_speech(line))) == comparable(line)


def test_phone_audio_is_recognised(engine: WhisperEngine) -> None:
    line = "Quiero pedir cita para instalar la fibra."
    assert comparable(recognize(engine, through_phone(pico_speech(line)))) == comparable(line)


def test_words_have_times_within_the_turn_and_confidences(engine: WhisperEngine) -> None:
    pcm = pico_speech("¿Dónde está mi pedido?")
    recognizer = WhisperRecognizer(engine)
    recognizer.start(0.0)
    recognizer.accept(pcm)
    result = recognizer.finish()
    duration = len(pcm) / (2 * SAMPLE_RATE)
    assert [w.word for w in result.words] == result.text.split()
    assert all(0.0 <= w.start <= w.end <= duration + 0.05 for w in result.words)
    assert [w.start for w in result.words] == sorted(w.start for w in result.words)
    assert all(0.0 <= w.confidence <= 1.0 for w in result.words)


@pytest.mark.parametrize("sound", sorted(GENERATORS))
@pytest.mark.parametrize("duration", [1.0, 3.0, 8.0])
def test_sounds_that_are_not_speech_are_recognised_as_nothing(
    engine: WhisperEngine, sound: str, duration: float
) -> None:
    for seed in (0, 1):
        transcription = engine.transcribe(GENERATORS[sound](duration, seed))
        assert transcription.recognition.text == "", transcription.decoded
        assert transcription.recognition.words == ()


def test_another_language_never_becomes_a_turn(engine: WhisperEngine) -> None:
    from py_nanotts import NanoTTS

    english = NanoTTS().speak("Hello, I would like to know when the shop opens tomorrow.", "en-GB")
    transcription = engine.transcribe(english)
    assert transcription.rejected == "wrong_language"
    assert transcription.recognition.text == ""


def test_a_turn_over_thirty_seconds_is_decoded_whole(engine: WhisperEngine) -> None:
    first, last = "Quiero pedir cita para instalar la fibra.", "Muchas gracias por todo."
    middle = "Le cuento que ayer llamé por la avería y nadie me dio una solución."
    pcm = pico_speech(first)
    while len(pcm) < 32 * 2 * SAMPLE_RATE:
        pcm += pico_speech(middle)
    pcm += pico_speech(last)
    assert window_for(len(pcm) / (2 * SAMPLE_RATE), 10.0) is None  # Whisper's own windows
    text = comparable(recognize(engine, pcm))
    assert text.startswith(comparable(first)) and text.endswith(comparable(last))


def test_a_guess_made_while_the_caller_pauses_is_the_result(engine: WhisperEngine) -> None:
    recognizer = WhisperRecognizer(engine)
    recognizer.start(0.0)
    recognizer.accept(pico_speech("Quiero hablar con una persona."))
    recognizer.pause(True)
    partial = ""
    for _ in range(200):  # the guess is decoded on the engine's worker meanwhile
        partial = recognizer.accept(bytes(320))
        if partial:
            break
        threading.Event().wait(0.05)
    assert partial == "quiero hablar con una persona"
    assert recognizer.finish().text == partial


def test_speech_after_a_pause_is_not_lost(engine: WhisperEngine) -> None:
    recognizer = WhisperRecognizer(engine)
    recognizer.start(0.0)
    recognizer.accept(pico_speech("Quiero pedir cita"))
    recognizer.pause(True)
    recognizer.pause(False)  # the caller goes on
    recognizer.accept(pico_speech("para instalar la fibra."))
    assert comparable(recognizer.finish().text) == comparable(
        "quiero pedir cita para instalar la fibra"
    )


def test_decodes_run_on_the_engine_worker_one_model_per_process(engine: WhisperEngine) -> None:
    assert load_engine(engine.options) is engine
    names = []
    original = engine._decode

    def spy(pcm: bytes) -> object:
        names.append(threading.current_thread().name)
        return original(pcm)

    engine._decode = spy  # type: ignore[method-assign]
    try:
        engine.transcribe(pico_speech("Hola."))
    finally:
        del engine._decode
    assert names and names[0].startswith("whisper")


def test_the_window_grows_with_the_turn() -> None:
    assert window_for(2.0, 10.0) == 10.0
    assert window_for(12.0, 10.0) == 14.0
    assert window_for(29.0, 10.0) == 30.0
    assert window_for(31.0, 10.0) is None


def test_written_text_becomes_spoken_words() -> None:
    assert spoken_form("¿Dónde está mi pedido 48213?") == "dónde está mi pedido 48213"
    assert spoken_form("Mi teléfono es 612-345-678.") == "mi teléfono es 612 345 678"
    assert spoken_form("A las 10:30, por favor.") == "a las 10:30 por favor"
    assert spoken_form("Cuesta 1.500 euros") == "cuesta 1500 euros"


def test_missing_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as error:
        WhisperEngine(WhisperOptions(tmp_path / "whisper-base"))
    assert "BOT_WHISPER_MODEL" in str(error.value) and str(tmp_path) in str(error.value)


def test_auto_uses_whisper_without_a_vosk_model(tmp_path: Path) -> None:
    voice = VoiceSettings(
        vosk_model=tmp_path / "no-vosk",
        whisper_model=PROJECT_ROOT / "models" / "whisper-base",
    )
    assert make_recognizer(voice).name == "whisper"
