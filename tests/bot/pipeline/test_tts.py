"""The TTS stage and the prompt cache: the bot's text becomes audio, sentence by sentence."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.audio.pcm import read_wav, seconds
from bot.frames import BotAudioFrame, BotTextFrame, InterruptFrame
from bot.pipeline import prompts
from bot.pipeline.tts import PromptCache, TtsStage
from tests.helpers.voice_fakes import FakeSynthesizer, ManualClock, of_type, run_stage


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(1, thread_name_prefix="tts")
    yield pool
    pool.shutdown(wait=True)


def stage_for(
    synthesizer: FakeSynthesizer, executor, cache_dir: Path, now: float = 1.5
) -> TtsStage:
    return TtsStage(synthesizer, executor, ManualClock(now), PromptCache(cache_dir, synthesizer))


def test_one_audio_frame_per_sentence_in_order(executor, tmp_path):
    synthesizer = FakeSynthesizer(level=500)
    stage = stage_for(synthesizer, executor, tmp_path)
    text = BotTextFrame("Abrimos en **«Gran Vía»**. ¿Necesita algo más?", 1.2, turn=2)

    out = asyncio.run(run_stage(stage, [text]))

    assert out[0] is text
    audio = of_type(out, BotAudioFrame)
    assert [frame.text for frame in audio] == ["Abrimos en Gran Vía.", "¿Necesita algo más?"]
    assert synthesizer.texts == ["Abrimos en Gran Vía.", "¿Necesita algo más?"]
    assert [frame.turn for frame in audio] == [2, 2]
    assert [frame.at for frame in audio] == [1.5, 1.5]
    for frame in audio:
        assert seconds(frame.pcm) == pytest.approx(synthesizer.duration(frame.text))
    assert "MainThread" not in synthesizer.threads


def test_spoken_text_has_no_typographic_marks_or_links(executor, tmp_path):
    synthesizer = FakeSynthesizer()
    stage = stage_for(synthesizer, executor, tmp_path)

    asyncio.run(run_stage(stage, [BotTextFrame("Consulte «www.ejemplo.es» a las *cinco*.", 0.0)]))

    assert synthesizer.texts == ["Consulte a las cinco."]


def test_prepare_writes_one_wav_per_sentence_and_the_stage_uses_them(executor, tmp_path):
    synthesizer = FakeSynthesizer(level=700)
    cache = PromptCache(tmp_path, synthesizer)

    cache.prepare([prompts.GREETING, prompts.REPROMPT])

    sentences = [
        "Hola, soy el asistente virtual.",
        "Dígame en qué puedo ayudarle.",
        "¿Sigue en la línea?",
    ]
    assert synthesizer.texts == sentences
    files = sorted(tmp_path.glob("*.wav"))
    assert len(files) == 3
    on_disk = sorted(len(read_wav(path)) for path in files)
    assert on_disk == sorted(len(cache.get(sentence) or b"") for sentence in sentences)

    stage = TtsStage(synthesizer, executor, ManualClock(), cache)
    out = asyncio.run(run_stage(stage, [BotTextFrame(prompts.GREETING, 0.0, prompt=True)]))

    assert [frame.text for frame in of_type(out, BotAudioFrame)] == sentences[:2]
    assert [frame.pcm for frame in of_type(out, BotAudioFrame)] == [
        cache.get(s) for s in sentences[:2]
    ]
    assert synthesizer.calls == 3  # nothing synthesised again


def test_a_second_cache_on_the_same_folder_loads_the_files(tmp_path):
    PromptCache(tmp_path, FakeSynthesizer(level=700)).prepare(prompts.FIXED_PROMPTS)
    again = FakeSynthesizer(level=700)

    cache = PromptCache(tmp_path, again)
    cache.prepare(prompts.FIXED_PROMPTS)

    assert again.calls == 0
    pcm = cache.get("¿Sigue en la línea?")
    assert pcm is not None and seconds(pcm) == pytest.approx(again.duration("¿Sigue en la línea?"))


def test_another_voice_does_not_reuse_the_cached_audio(tmp_path):
    PromptCache(tmp_path, FakeSynthesizer(cache_key="es|175")).prepare([prompts.REPROMPT])
    other = FakeSynthesizer(cache_key="es-419|150")

    PromptCache(tmp_path, other).prepare([prompts.REPROMPT])

    assert other.texts == ["¿Sigue en la línea?"]
    assert len(list(tmp_path.glob("*.wav"))) == 2


def test_a_damaged_cache_file_is_rendered_again(tmp_path):
    PromptCache(tmp_path, FakeSynthesizer(level=700)).prepare([prompts.REPROMPT])
    [path] = tmp_path.glob("*.wav")
    path.write_bytes(b"\x00garbage, not a wave file")
    again = FakeSynthesizer(level=700)

    cache = PromptCache(tmp_path, again)
    cache.prepare([prompts.REPROMPT])

    assert again.texts == ["¿Sigue en la línea?"]
    assert len(read_wav(path)) == len(
        cache.get("¿Sigue en la línea?") or b""
    )  # the file is good again


def test_a_truncated_cache_file_is_rendered_again(tmp_path):
    PromptCache(tmp_path, FakeSynthesizer(level=700)).prepare([prompts.REPROMPT])
    [path] = tmp_path.glob("*.wav")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # the process died while writing it
    again = FakeSynthesizer(level=700)

    cache = PromptCache(tmp_path, again)
    cache.prepare([prompts.REPROMPT])

    pcm = cache.get("¿Sigue en la línea?")
    assert pcm is not None
    assert seconds(pcm) == pytest.approx(again.duration("¿Sigue en la línea?"))


def test_after_an_interrupt_older_replies_are_dropped(executor, tmp_path):
    synthesizer = FakeSynthesizer()
    stage = stage_for(synthesizer, executor, tmp_path)
    frames = [
        BotTextFrame("Uno. Dos.", 1.0, turn=1),
        InterruptFrame(2.0, 1.9, turn=2),
        BotTextFrame("Tres. Cuatro.", 2.1, turn=1),  # the rest of the interrupted reply
        BotTextFrame("Cinco.", 2.5, turn=2),
        BotTextFrame(prompts.REPROMPT, 9.0, turn=2, prompt=True),
    ]

    out = asyncio.run(run_stage(stage, frames))

    assert [frame.text for frame in of_type(out, BotAudioFrame)] == [
        "Uno.",
        "Dos.",
        "Cinco.",
        "¿Sigue en la línea?",
    ]
    assert "Tres." not in synthesizer.texts and "Cuatro." not in synthesizer.texts
    assert [f for f in out if not isinstance(f, BotAudioFrame)] == frames  # all passed on
