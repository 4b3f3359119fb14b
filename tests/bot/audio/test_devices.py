"""The live path of `python -m bot talk` (microphone, speaker, `talk`) on a fake `sounddevice`.

The machine running the tests has no audio devices, so a `FakeSoundDevice` stands in for the
module: its streams call our callbacks from their own threads, in real time, as PortAudio does.
"""

from __future__ import annotations

import asyncio
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.assistant.contract import BotReply
from bot.audio.devices import NoAudioDeviceError, SpeakerOutput, check_devices, microphone
from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, seconds
from bot.cli import talk as talk_module
from bot.clock import WallClock
from bot.frames import AudioFrame
from bot.pipeline import prompts
from bot.pipeline.call import CallEngines
from bot.pipeline.spoken import for_speech, split_sentences
from bot.pipeline.tts import PromptCache
from bot.settings import Settings, VoiceSettings
from tests.helpers.voice_fakes import (
    SPEECH_LEVEL,
    FakeDialogueClient,
    FakePortAudioError,
    FakeRecognizer,
    FakeSoundDevice,
    FakeSpeechDetector,
    FakeSynthesizer,
    ManualClock,
)

DEVICE_RATE = 48_000
BLOCK = 160  # frames per manual output callback: 10 ms
HANDOFF = {
    "reason": "user_request",
    "department": "atencion_cliente",
    "priority": "normal",
    "summary": "Pregunta el horario y pide una persona.",
    "intents": ["ask_hours", "request_human"],
    "slots": {},
}


def install(monkeypatch: pytest.MonkeyPatch, fake: FakeSoundDevice) -> FakeSoundDevice:
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    return fake


def device_audio(rate: int, *parts: tuple[float, int]) -> bytes:
    """int16 mono at `rate`: (seconds, constant level) after one another."""
    return b"".join(np.full(round(s * rate), level, "<i2").tobytes() for s, level in parts)


def ramp(start: int, count: int) -> bytes:
    """`count` distinct nonzero samples from `start`: where each one ends up is visible."""
    return np.arange(start, start + count, dtype="<i2").tobytes()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2")


def voiced_spans(pcm: bytes) -> list[tuple[int, int]]:
    """(first, end) sample indices of every run of nonzero samples."""
    voiced = (samples(pcm) != 0).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced, [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


# --- check_devices -----------------------------------------------------------------------------


@pytest.mark.parametrize("devices", [(), ("output",), ("input",)], ids=["none", "no-mic", "no-spk"])
def test_check_devices_without_a_microphone_or_speaker_says_so_in_spanish(monkeypatch, devices):
    install(monkeypatch, FakeSoundDevice(devices=devices))

    with pytest.raises(NoAudioDeviceError) as raised:
        check_devices()

    message = str(raised.value)
    assert message.startswith("No encuentro micrófono y altavoz en este equipo")
    assert "python -m bot call audio/samples/hours.wav" in message
    assert "Error querying device -1" in message  # PortAudio's detail is kept
    assert isinstance(raised.value.__cause__, FakePortAudioError)


def test_check_devices_refuses_a_default_device_of_the_wrong_kind(monkeypatch):
    fake = install(monkeypatch, FakeSoundDevice())

    def not_an_output(device: Any = None, kind: str | None = None) -> dict[str, Any]:
        if kind == "output":
            raise ValueError("Not an output device: 'Micrófono USB'")
        return {"default_samplerate": 48000.0}

    fake.query_devices = not_an_output  # type: ignore[method-assign]

    with pytest.raises(NoAudioDeviceError, match="No encuentro micrófono y altavoz"):
        check_devices()


def test_check_devices_passes_with_both_devices(monkeypatch):
    fake = install(monkeypatch, FakeSoundDevice())

    assert check_devices() is None
    assert fake.queries == ["input", "output"]


# --- microphone --------------------------------------------------------------------------------


async def record(frame_count: int, lag_s: float = 0.04) -> list[AudioFrame]:
    """The microphone's frames until `frame_count` frames' worth of audio (20 ms each, less
    what the resampler still holds back) has come, then it is closed."""
    frames: list[AudioFrame] = []
    mic = microphone(WallClock(), 20)
    try:
        async for frame in mic:
            frames.append(frame)
            if sum(len(f.pcm) for f in frames) >= (frame_count * 0.02 - lag_s) * 32000:
                break
    finally:
        await mic.aclose()
    return frames


@pytest.mark.parametrize("rate", [48_000, 44_100])
def test_the_microphone_gives_pipeline_frames_of_what_the_device_heard(monkeypatch, rate):
    # 0.2 s of silence, 0.3 s of "speech", 0.1 s of silence: 30 device blocks of 20 ms
    pcm = device_audio(rate, (0.2, 0), (0.3, SPEECH_LEVEL), (0.1, 0))
    fake = install(monkeypatch, FakeSoundDevice(pcm, input_rate=rate))
    blocks = round(0.6 / 0.02)

    frames = asyncio.run(asyncio.wait_for(record(blocks), timeout=5))

    [stream] = fake.inputs
    assert (stream.samplerate, stream.blocksize) == (rate, rate // 50)
    assert (stream.channels, stream.dtype) == (1, "int16")
    assert stream.calls == ["start", "stop", "close"] and not stream.thread_alive
    assert stream.errors == []
    assert all(frame.pcm for frame in frames)  # empty resampler bursts are not passed on
    audio = b"".join(frame.pcm for frame in frames)
    assert all(len(frame.pcm) % SAMPLE_WIDTH == 0 for frame in frames)
    # all of it at 16 kHz, less what the streaming resampler still holds: soxr gives its
    # output in bursts, so it lags the device by 6 to 40 ms (up to two frames) at 44.1/48 kHz
    assert 0.6 - 0.040 <= seconds(audio) <= 0.6 + 0.02
    level = samples(audio)
    voiced = np.flatnonzero(level > SPEECH_LEVEL // 2)
    assert len(voiced) == pytest.approx(0.3 * SAMPLE_RATE, abs=2)  # the speech, resampled
    assert voiced[-1] - voiced[0] + 1 == len(voiced)  # in one piece
    assert voiced[0] / SAMPLE_RATE == pytest.approx(0.2, abs=0.025)  # and where it was
    middle = level[voiced[0] + 100 : voiced[-1] - 100]
    assert np.abs(middle.astype(int) - SPEECH_LEVEL).max() <= 2  # at the level it was spoken


def test_the_microphone_stamps_frames_on_the_call_clock_as_they_are_captured(monkeypatch):
    pcm = device_audio(DEVICE_RATE, (0.6, SPEECH_LEVEL))
    install(monkeypatch, FakeSoundDevice(pcm, input_rate=DEVICE_RATE))

    frames = asyncio.run(asyncio.wait_for(record(30), timeout=5))

    ends = [frame.at + seconds(frame.pcm) for frame in frames]
    assert ends == sorted(ends)  # each frame ends when it was captured
    heard = [frame for frame in frames if frame.pcm]
    starts = [frame.at for frame in heard]
    assert all(b > a for a, b in zip(starts, starts[1:], strict=False))
    assert starts[0] >= 0.0
    # real time: the frames span the audio they hold (give or take the callbacks' jitter)
    span = ends[-1] - starts[0]
    assert span == pytest.approx(sum(seconds(frame.pcm) for frame in heard), abs=0.06)


def test_a_16k_microphone_passes_through_unchanged(monkeypatch):
    pcm = ramp(1, 3200) + ramp(-3200, 3200)  # 0.4 s, every sample distinct and nonzero
    fake = install(monkeypatch, FakeSoundDevice(pcm, input_rate=SAMPLE_RATE))

    frames = asyncio.run(asyncio.wait_for(record(20, lag_s=0.0), timeout=5))

    assert fake.inputs[0].blocksize == 320
    assert [len(frame.pcm) for frame in frames] == [640] * 20
    assert b"".join(frame.pcm for frame in frames) == pcm  # copied out of PortAudio's buffer


# --- SpeakerOutput -----------------------------------------------------------------------------


@pytest.fixture
def speaker(monkeypatch) -> tuple[SpeakerOutput, Any, ManualClock]:
    """A SpeakerOutput on a fake device the test pumps by hand, with a manual clock."""
    fake = install(monkeypatch, FakeSoundDevice(output_thread=False))
    clock = ManualClock(2.0)
    output = SpeakerOutput(clock)
    [stream] = fake.outputs
    return output, stream, clock


def test_the_speaker_opens_a_running_16k_mono_int16_stream(speaker):
    _, stream, _ = speaker

    assert (stream.samplerate, stream.channels, stream.dtype) == (SAMPLE_RATE, 1, "int16")
    assert stream.calls == ["start"]


def test_with_nothing_queued_the_speaker_writes_silence_not_stale_bytes(speaker):
    output, stream, _ = speaker

    assert stream.pump(BLOCK) == bytes(BLOCK * SAMPLE_WIDTH)
    assert not output.speaking and output.remaining() == 0.0


def test_played_audio_comes_out_exactly_then_silence(speaker):
    output, stream, clock = speaker
    first, second = ramp(1, 200), ramp(1000, 100)

    assert output.play(first, turn=0) == pytest.approx(2.0)
    clock.set(2.001)
    assert output.play(second, turn=0) == pytest.approx(2.001 + 200 / SAMPLE_RATE)  # behind it
    assert output.speaking and output.remaining() == pytest.approx(300 / SAMPLE_RATE)

    out = [stream.pump(BLOCK) for _ in range(3)]

    assert out[0] == (first + second)[: BLOCK * SAMPLE_WIDTH]
    assert out[1] == (first + second)[BLOCK * SAMPLE_WIDTH :] + bytes(20 * SAMPLE_WIDTH)
    assert out[2] == bytes(BLOCK * SAMPLE_WIDTH)  # not what the buffer held before
    assert not output.speaking and output.remaining() == 0.0


def test_speaking_and_remaining_follow_what_the_device_took(speaker):
    output, stream, _ = speaker
    output.play(ramp(1, 800), turn=0)  # 50 ms

    stream.pump(BLOCK)
    assert output.speaking and output.remaining() == pytest.approx(640 / SAMPLE_RATE)
    stream.pump(4 * BLOCK)
    assert not output.speaking and output.remaining() == 0.0


def test_pause_holds_the_rest_and_resume_plays_it_from_there(speaker):
    output, stream, _ = speaker
    pcm = ramp(1, 400)
    output.play(pcm, turn=0)
    said = stream.pump(BLOCK)

    output.pause()

    assert not output.speaking
    assert output.remaining() == pytest.approx(240 / SAMPLE_RATE)  # kept for later
    assert stream.pump(BLOCK) == bytes(BLOCK * SAMPLE_WIDTH)  # silent while paused
    assert output.remaining() == pytest.approx(240 / SAMPLE_RATE)
    output.resume()
    assert output.speaking
    rest = stream.pump(BLOCK) + stream.pump(BLOCK)
    assert said + rest[: 240 * SAMPLE_WIDTH] == pcm  # nothing lost, nothing said twice
    assert not any(rest[240 * SAMPLE_WIDTH :])
    assert output.remaining() == 0.0


def test_audio_played_while_paused_is_held_and_follows_the_rest_after_resume(speaker):
    output, stream, _ = speaker
    before, during = ramp(1, 300), ramp(2000, 100)
    output.play(before, turn=1)
    said = stream.pump(BLOCK)
    output.pause()

    assert output.play(during, turn=1) is None  # not heard yet
    assert stream.pump(BLOCK) == bytes(BLOCK * SAMPLE_WIDTH)
    assert output.remaining() == pytest.approx(240 / SAMPLE_RATE)

    output.resume()
    rest = stream.pump(BLOCK) + stream.pump(BLOCK)
    assert said + rest[: 240 * SAMPLE_WIDTH] == before + during
    assert not any(rest[240 * SAMPLE_WIDTH :])


def test_stop_drops_the_rest_and_late_audio_of_older_turns_is_never_heard(speaker):
    output, stream, clock = speaker
    output.play(ramp(1, 400), turn=1)
    stream.pump(BLOCK)

    output.stop(stale_before=2)

    assert not output.speaking and output.remaining() == 0.0
    assert stream.pump(BLOCK) == bytes(BLOCK * SAMPLE_WIDTH)
    assert output.play(ramp(500, 100), turn=1) is None  # the interrupted reply, arriving late
    assert not output.speaking and output.remaining() == 0.0
    assert stream.pump(BLOCK) == bytes(BLOCK * SAMPLE_WIDTH)
    clock.set(3.0)
    new = ramp(3000, 100)
    assert output.play(new, turn=2) == pytest.approx(3.0)  # the new turn is heard at once
    assert stream.pump(BLOCK) == new + bytes(60 * SAMPLE_WIDTH)


def test_stop_while_paused_drops_the_held_audio_and_unpauses(speaker):
    output, stream, clock = speaker
    output.play(ramp(1, 400), turn=1)
    output.pause()
    output.play(ramp(500, 100), turn=1)

    output.stop(stale_before=2)

    assert output.remaining() == 0.0
    new = ramp(3000, 100)
    assert output.play(new, turn=2) == pytest.approx(clock.now())
    assert stream.pump(BLOCK) == new + bytes(60 * SAMPLE_WIDTH)


def test_close_stops_and_closes_the_stream(speaker):
    output, stream, _ = speaker

    output.close()

    assert stream.calls == ["start", "stop", "close"]


def test_on_a_running_device_everything_queued_is_heard_once_and_in_order(monkeypatch):
    fake = install(monkeypatch, FakeSoundDevice(output_thread=True, output_blocksize=160))
    output = SpeakerOutput(WallClock())
    [stream] = fake.outputs
    parts = [ramp(1 + 500 * i, 500) for i in range(6)]  # 6 x 31 ms, nonzero throughout
    try:
        for part in parts:
            output.play(part, turn=0)
            time.sleep(0.015)  # queued while the device plays
        deadline = time.monotonic() + 2
        while output.speaking and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not output.speaking
    finally:
        output.close()

    assert stream.errors == [] and not stream.thread_alive
    written = samples(bytes(stream.written))
    assert bytes(written[written != 0]) == b"".join(parts)


# --- talk --------------------------------------------------------------------------------------


class TrackedExecutor(ThreadPoolExecutor):
    """A thread pool that remembers being shut down."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.was_shut_down = False

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.was_shut_down = True
        super().shutdown(wait=wait, cancel_futures=cancel_futures)


class Engines:
    """`build_engines` for `talk`, with the fakes: records what it built."""

    def __init__(self, synthesizer: FakeSynthesizer, dialogue: FakeDialogueClient) -> None:
        self.synthesizer = synthesizer
        self.dialogue = dialogue
        self.built: list[CallEngines] = []

    def __call__(self, voice: VoiceSettings, recognizer: Any, dialogue: Any) -> CallEngines:
        cache = PromptCache(voice.prompts_dir, self.synthesizer)
        cache.prepare(prompts.FIXED_PROMPTS)
        engines = CallEngines(
            detector=FakeSpeechDetector(),
            recognizer=recognizer,
            synthesizer=self.synthesizer,
            dialogue=self.dialogue,
            stt_executor=TrackedExecutor(),
            tts_executor=TrackedExecutor(),
            prompts=cache,
        )
        self.built.append(engines)
        return engines

    @property
    def closed(self) -> bool:
        return all(
            engines.stt_executor.was_shut_down and engines.tts_executor.was_shut_down  # type: ignore[attr-defined]
            for engines in self.built
        )


REPLY = "Mañana abrimos a las 10:00."
ASKED = "a qué hora abren mañana"


def setup_talk(monkeypatch, tmp_path: Path, **device: Any) -> dict[str, Any]:
    # the caller: 0.8 s quiet (the greeting plays), 0.5 s of speech, then quiet
    caller = device_audio(DEVICE_RATE, (0.8, 0), (0.5, SPEECH_LEVEL), (1.5, 0))
    fake = install(monkeypatch, FakeSoundDevice(caller, input_rate=DEVICE_RATE, **device))
    synthesizer = FakeSynthesizer(seconds_per_char=0.005, level=1000)  # 0.3 s greeting
    dialogue = FakeDialogueClient([BotReply([REPLY], handoff=HANDOFF)])
    engines = Engines(synthesizer, dialogue)
    monkeypatch.setattr(talk_module, "build_engines", engines)
    voice = VoiceSettings(
        vosk_model=Path("unused"),
        prompts_dir=tmp_path,
        end_silence_ms=300,
        early_end_silence_ms=200,
    )
    return {
        "fake": fake,
        "engines": engines,
        "voice": voice,
        "recognizer": FakeRecognizer([ASKED]),
        "settings": Settings.from_env({}),
    }


def run_talk(setup: dict[str, Any]) -> str:
    return asyncio.run(
        asyncio.wait_for(
            talk_module.talk(setup["settings"], setup["voice"], setup["recognizer"]), timeout=10
        )
    )


def test_talk_holds_a_live_call_until_the_handoff(monkeypatch, tmp_path, capsys):
    setup = setup_talk(monkeypatch, tmp_path)
    fake, engines = setup["fake"], setup["engines"]
    began = time.monotonic()

    reason = run_talk(setup)

    assert reason == "handoff"
    assert time.monotonic() - began < 8
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Hable cuando quiera; Ctrl-C cuelga."
    assert f"  Asistente:  {prompts.GREETING}" in printed
    assert f"  Usted:      {ASKED}" in printed
    assert f"  Asistente:  {REPLY}" in printed
    assert (
        "  (Pasa a una persona (lo pidió el cliente): Pregunta el horario y pide una persona.)"
        in printed
    )
    order = [printed.index(line) for line in (f"  Usted:      {ASKED}", f"  Asistente:  {REPLY}")]
    assert order == sorted(order)
    # the assistant got the caller's words, once, in this call's conversation
    [(conversation_id, text, metadata)] = engines.dialogue.sent
    assert (text, metadata.pop("voice")["barged_in"]) == (ASKED, False)  # and how it was said
    assert metadata == {"channel": "voice", "call_id": conversation_id}
    assert conversation_id.startswith("talk-")
    assert engines.built[0].recognizer is setup["recognizer"]
    # the speaker played the greeting at once and the reply after the caller spoke
    [speaker] = fake.outputs
    assert speaker.calls == ["start", "stop", "close"] and speaker.errors == []
    greeting = [engines.synthesizer.duration(s) for s in split_sentences(prompts.GREETING)]
    reply = [engines.synthesizer.duration(s) for s in split_sentences(for_speech(REPLY))]
    spans = voiced_spans(bytes(speaker.written))
    assert [(end - start) / SAMPLE_RATE for start, end in spans] == pytest.approx(
        [sum(greeting), sum(reply)], abs=1 / SAMPLE_RATE
    )
    assert set(samples(bytes(speaker.written))) == {0, 1000}  # the bot's audio, nothing stale
    assert spans[0][0] / SAMPLE_RATE < 0.15  # the greeting: right away
    assert spans[1][0] / SAMPLE_RATE > 0.8 + 0.5  # the reply: once the caller was done
    # the microphone was open through the call and closed after it
    [mic] = fake.inputs
    assert (mic.samplerate, mic.blocksize) == (DEVICE_RATE, DEVICE_RATE // 50)
    assert mic.calls == ["start", "stop", "close"] and mic.errors == []
    assert mic.blocks * 0.02 >= 0.8 + 0.5 + 0.2
    assert engines.closed


@pytest.mark.parametrize("kind", ["input", "output"])
def test_a_device_that_cannot_be_opened_ends_talk_with_the_spanish_error(
    monkeypatch, tmp_path, kind
):
    setup = setup_talk(monkeypatch, tmp_path, unopenable=(kind,))

    with pytest.raises(NoAudioDeviceError):
        run_talk(setup)


def test_the_engines_are_closed_when_the_speaker_cannot_be_opened(monkeypatch, tmp_path):
    setup = setup_talk(monkeypatch, tmp_path, unopenable=("output",))

    with pytest.raises((NoAudioDeviceError, FakePortAudioError)):
        run_talk(setup)

    assert setup["engines"].built and setup["engines"].closed
