"""Test doubles for the voice pipeline: engines, output and clock, plus audio builders.

"Speech" in these tests is constant nonzero PCM and silence is zeros: `FakeSpeechDetector`
calls a frame speech when any sample is nonzero, and `FakeRecognizer` hears a word per stretch
of nonzero audio.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from bot.assistant.contract import BotReply, DialogueUnavailable
from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, seconds
from bot.audio.recognition import Recognition, RecognizedWord
from bot.frames import AudioFrame, Frame
from bot.pipeline.pipeline import Stage

SPEECH_LEVEL = 3000


def speech(duration_s: float, level: int = SPEECH_LEVEL) -> bytes:
    """Constant nonzero PCM: "speech" for the fake detector."""
    samples = round(duration_s * SAMPLE_RATE)
    return np.full(samples, level, "<i2").tobytes()


def quiet(duration_s: float) -> bytes:
    """Digital silence."""
    return bytes(SAMPLE_WIDTH * round(duration_s * SAMPLE_RATE))


def audio_frames(pcm: bytes, frame_ms: int = 20, start: float = 0.0) -> list[AudioFrame]:
    """`pcm` cut into AudioFrames of `frame_ms` (the last one may be shorter), stamped from
    `start` on the call timeline."""
    size = SAMPLE_WIDTH * SAMPLE_RATE * frame_ms // 1000
    return [
        AudioFrame(pcm[offset : offset + size], start + seconds(pcm[:offset]))
        for offset in range(0, len(pcm), size)
    ]


def is_voiced(pcm: bytes) -> bool:
    return any(pcm)


async def run_stage(stage: Stage, frames: Iterable[Frame]) -> list[Frame]:
    """Feeds `frames` one by one through `stage.process` and collects everything it yields,
    letting the stage's background work finish after each frame (as a drained pipeline does)."""
    produced: list[Frame] = []
    for frame in frames:
        async for out in stage.process(frame):
            produced.append(out)
        await stage.settle()
    return produced


async def run_chain(stages: Sequence[Stage], frames: Iterable[Frame]) -> list[Frame]:
    """Like `run_stage` through several stages in order, each frame all the way through before
    the next one (as the pipeline does when it is drained after every frame)."""
    produced: list[Frame] = []
    for frame in frames:
        current = [frame]
        for stage in stages:
            current = await run_stage(stage, current)
        produced.extend(current)
    return produced


def of_type(frames: Iterable[Frame], kind: type) -> list[Any]:
    return [frame for frame in frames if isinstance(frame, kind)]


class ManualClock:
    """A call clock the test sets by hand: `clock.at = 3.2`, or `advance(0.5)`."""

    def __init__(self, at: float = 0.0) -> None:
        self.at = at

    def now(self) -> float:
        return self.at

    def set(self, at: float) -> None:
        self.at = at

    def advance(self, seconds_: float) -> None:
        self.at += seconds_


class FakeSpeechDetector:
    """Speech is any frame with a nonzero sample; records the size of every frame it judged."""

    def __init__(self) -> None:
        self.frame_sizes: list[int] = []

    def is_speech(self, pcm: bytes) -> bool:
        self.frame_sizes.append(len(pcm))
        return is_voiced(pcm)


class FakeRecognizer:
    """Recognises the scripted texts, one per utterance, in order ("" once the script is over).

    Words appear in the partial results as voiced audio arrives: one word per `word_s` seconds
    of nonzero audio. The final result gives each word `confidence` (or the scripted
    Recognition as it is), with word times spread over the voiced audio of the utterance.

    Attributes:
        calls: ("start", at), ("accept", bytes), ("finish",) in the order they happened.
        starts: the `at` of every utterance.
        fed: the audio fed to each utterance.
        threads: names of the threads the recogniser was called on.
    """

    name = "fake"

    def __init__(
        self,
        script: Sequence[str | Recognition],
        word_s: float = 0.1,
        confidence: float | Sequence[float] = 0.9,
    ) -> None:
        self._script = list(script)
        self._word_s = word_s
        self._confidence = confidence
        self.calls: list[tuple[Any, ...]] = []
        self.starts: list[float] = []
        self.fed: list[bytearray] = []
        self.threads: set[str] = set()
        self._current: str | Recognition = ""
        self._voiced_s = 0.0
        self._first_voiced: float | None = None
        self._heard_s = 0.0

    def start(self, at: float) -> None:
        self._note(("start", at))
        self.starts.append(at)
        self.fed.append(bytearray())
        self._current = self._script.pop(0) if self._script else ""
        self._voiced_s, self._heard_s, self._first_voiced = 0.0, 0.0, None

    def accept(self, pcm: bytes) -> str:
        self._note(("accept", len(pcm)))
        self.fed[-1] += pcm
        voiced = np.flatnonzero(np.frombuffer(pcm, "<i2"))  # the stage feeds 100 ms at a time
        if len(voiced):
            if self._first_voiced is None:
                self._first_voiced = self._heard_s + voiced[0] / SAMPLE_RATE
            self._voiced_s += len(voiced) / SAMPLE_RATE
        self._heard_s += seconds(pcm)
        heard = int(self._voiced_s / self._word_s + 1e-9)
        return " ".join(self._text().split()[:heard])

    def warm_up(self) -> None:
        self._note(("warm_up",))

    def pause(self, paused: bool) -> None:
        self._note(("pause", paused))

    def finish(self) -> Recognition:
        self._note(("finish",))
        if isinstance(self._current, Recognition):
            return self._current
        tokens = self._current.split()
        start = self._first_voiced or 0.0
        step = self._voiced_s / max(1, len(tokens))
        confidences = (
            [self._confidence] * len(tokens)
            if isinstance(self._confidence, (int, float))
            else list(self._confidence)
        )
        words = tuple(
            RecognizedWord(token, start + i * step, start + (i + 1) * step, confidences[i])
            for i, token in enumerate(tokens)
        )
        return Recognition(self._current, words)

    def _text(self) -> str:
        return self._current.text if isinstance(self._current, Recognition) else self._current

    def _note(self, call: tuple[Any, ...]) -> None:
        self.calls.append(call)
        self.threads.add(threading.current_thread().name)


class FakeSynthesizer:
    """Speech of `seconds_per_char` per character: silence, or a constant `level` so the
    test can see it on a track. Records every text it was asked to say."""

    def __init__(
        self, seconds_per_char: float = 0.04, level: int = 0, cache_key: str = "fake-voice|175"
    ) -> None:
        self.seconds_per_char = seconds_per_char
        self.level = level
        self.cache_key = cache_key
        self.texts: list[str] = []
        self.threads: set[str] = set()

    @property
    def calls(self) -> int:
        return len(self.texts)

    def duration(self, text: str) -> float:
        return round(len(text) * self.seconds_per_char * SAMPLE_RATE) / SAMPLE_RATE

    def synthesize(self, text: str) -> bytes:
        self.texts.append(text)
        self.threads.add(threading.current_thread().name)
        samples = round(len(text) * self.seconds_per_char * SAMPLE_RATE)
        return np.full(samples, self.level, "<i2").tobytes()


class FakeDialogueClient:
    """Answers from a script of BotReply (or raises the scripted exception, e.g.
    DialogueUnavailable); records every turn it was sent."""

    def __init__(self, replies: Sequence[BotReply | Exception] = ()) -> None:
        self._replies = list(replies)
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    @property
    def texts(self) -> list[str]:
        return [text for _, text, _ in self.sent]

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        self.sent.append((conversation_id, text, metadata))
        if not self._replies:
            raise DialogueUnavailable("no scripted reply left")
        reply = self._replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


class FakeOutput:
    """An AudioOutput whose state the test sets (`speaking`, `remaining_s`); records calls.

    Attributes:
        calls: "pause", "resume", ("stop", stale_before), ("play", turn) in order.
        played: (pcm, turn) of everything accepted by `play`.
    """

    def __init__(self, clock: ManualClock | None = None, speaking: bool = False) -> None:
        self._clock = clock or ManualClock()
        self.speaking = speaking
        self.remaining_s = 0.0
        self.calls: list[Any] = []
        self.played: list[tuple[bytes, int]] = []

    def remaining(self) -> float:
        return self.remaining_s

    def play(self, pcm: bytes, turn: int) -> float | None:
        self.calls.append(("play", turn))
        self.played.append((pcm, turn))
        return self._clock.now()

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")

    def stop(self, stale_before: int) -> None:
        self.calls.append(("stop", stale_before))


# --- the machine's audio devices (`sounddevice`, PortAudio) --------------------------------

STALE_BYTE = 0x5A  # what a device's output buffer holds before the callback fills it


class FakePortAudioError(Exception):
    """`sounddevice.PortAudioError` of `FakeSoundDevice`."""


class FakeCallbackFlags:
    """The `status` of a stream callback: no overflow or underflow happened."""

    def __bool__(self) -> bool:
        return False


class FakeStreamTime:
    """The `time` of a stream callback (PortAudio's timestamps, in seconds on the stream's
    clock). `current` is when the callback runs, late by however the thread was scheduled;
    `captured` is when the block's first sample was taken, on the sound card's steady clock."""

    def __init__(self, current: float, captured: float) -> None:
        self.currentTime = current
        self.inputBufferAdcTime = captured
        self.outputBufferDacTime = current


class _FakeStream:
    """What the fake streams share: start/stop/close, use as a context manager, and, like
    PortAudio, a thread of its own calling the callback every `blocksize` frames in real time.

    Attributes:
        calls: "start", "stop", "close" in the order they happened (`close` of a running
            stream aborts it without a "stop").
        blocks: callbacks made so far.
        errors: exceptions raised by the callback (they end the stream's thread).
    """

    kind = ""

    def __init__(
        self,
        samplerate: int,
        blocksize: int,
        channels: int,
        dtype: str,
        callback: Any,
        threaded: bool,
    ) -> None:
        self.samplerate = samplerate
        self.blocksize = blocksize
        self.channels = channels
        self.dtype = dtype
        self.calls: list[str] = []
        self.blocks = 0
        self.errors: list[BaseException] = []
        self._callback = callback
        self._threaded = threaded
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._began = time.monotonic()

    @property
    def active(self) -> bool:
        return self.calls[-1:] == ["start"]

    @property
    def closed(self) -> bool:
        return "close" in self.calls

    @property
    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self.calls.append("start")
        self._began = time.monotonic()
        if self._threaded:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"fake-portaudio-{self.kind}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self.calls.append("stop")
        self._end_thread()

    def close(self) -> None:
        self._end_thread()
        self.calls.append("close")

    def __enter__(self) -> _FakeStream:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
        self.close()

    def _end_thread(self) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        period = self.blocksize / self.samplerate
        block = 0
        while not self._stopping.wait(
            max(0.0, self._began + (block + 1) * period - time.monotonic())
        ):
            try:
                self._block()
            except BaseException as error:  # the test looks at it
                self.errors.append(error)
                return
            block += 1

    def _block(self) -> None:
        raise NotImplementedError

    def _time(self) -> FakeStreamTime:
        first_sample = self.blocks * self.blocksize / self.samplerate
        return FakeStreamTime(time.monotonic() - self._began, first_sample)


class FakeRawInputStream(_FakeStream):
    """A microphone: each block of `pcm` (int16 at the device's rate) goes to the callback once
    its last sample is "spoken"; after `pcm` the microphone goes on with silence. The callback
    gets the same buffer every time, scribbled over once it returns, as PortAudio's: audio must
    be copied out of it during the callback."""

    kind = "input"

    def __init__(self, pcm: bytes, **stream: Any) -> None:
        super().__init__(**stream)
        self._pcm = pcm
        self._buffer = bytearray(self.blocksize * self.channels * SAMPLE_WIDTH)

    def _block(self) -> None:
        size = len(self._buffer)
        data = self._pcm[self.blocks * size : (self.blocks + 1) * size]
        self._buffer[:] = data + bytes(size - len(data))
        self._callback(memoryview(self._buffer), self.blocksize, self._time(), FakeCallbackFlags())
        self._buffer[:] = bytes([STALE_BYTE]) * size  # PortAudio reuses it at once
        self.blocks += 1


class FakeRawOutputStream(_FakeStream):
    """A speaker: asks the callback for `blocksize` frames at a time (its thread, or the test
    with `pump`) in a reused buffer that still holds stale bytes, and records what was written.

    Attributes:
        written: everything the callback wrote, in order.
    """

    kind = "output"

    def __init__(self, **stream: Any) -> None:
        super().__init__(**stream)
        self.written = bytearray()
        self._buffer = bytearray()

    def pump(self, frames: int) -> bytes:
        """One callback for `frames` frames, as when the device needs audio; returns what the
        callback wrote."""
        size = frames * self.channels * SAMPLE_WIDTH
        if len(self._buffer) != size:
            self._buffer = bytearray([STALE_BYTE]) * size
        self._callback(memoryview(self._buffer), frames, self._time(), FakeCallbackFlags())
        self.blocks += 1
        self.written += self._buffer
        return bytes(self._buffer)

    def _block(self) -> None:
        self.pump(self.blocksize)


class FakeSoundDevice:
    """A stand-in for the `sounddevice` module (put it in `sys.modules["sounddevice"]`).

    Args:
        caller_pcm: what the microphone hears: int16 mono at `input_rate`, then silence.
        input_rate / output_rate: the devices' default sample rates.
        devices: the kinds of default device the machine has ("input", "output").
        unopenable: kinds of stream that fail to open (device busy or unplugged).
        output_thread: the speaker plays in real time on its own thread; without it the test
            calls `pump` on `outputs[i]`.
        output_blocksize: frames per output callback.

    Attributes:
        queries: the `kind` of every query_devices call.
        inputs / outputs: every stream opened, in order.
    """

    PortAudioError = FakePortAudioError

    def __init__(
        self,
        caller_pcm: bytes = b"",
        input_rate: int = 48_000,
        output_rate: int = 48_000,
        devices: Sequence[str] = ("input", "output"),
        unopenable: Sequence[str] = (),
        output_thread: bool = True,
        output_blocksize: int = 320,
    ) -> None:
        self.caller_pcm = caller_pcm
        self.input_rate = input_rate
        self.output_rate = output_rate
        self.devices = tuple(devices)
        self.unopenable = tuple(unopenable)
        self.output_thread = output_thread
        self.output_blocksize = output_blocksize
        self.queries: list[str | None] = []
        self.inputs: list[FakeRawInputStream] = []
        self.outputs: list[FakeRawOutputStream] = []

    def query_devices(self, device: Any = None, kind: str | None = None) -> dict[str, Any]:
        self.queries.append(kind)
        if kind not in self.devices:
            raise FakePortAudioError("Error querying device -1")
        is_input = kind == "input"
        return {
            "name": f"Fake {kind}",
            "index": 0 if is_input else 1,
            "max_input_channels": 1 if is_input else 0,
            "max_output_channels": 0 if is_input else 2,
            "default_samplerate": float(self.input_rate if is_input else self.output_rate),
        }

    def RawInputStream(  # noqa: N802 - the sounddevice name
        self,
        samplerate: float | None = None,
        blocksize: int | None = None,
        device: Any = None,
        channels: int | None = None,
        dtype: str | None = None,
        latency: Any = None,
        extra_settings: Any = None,
        callback: Any = None,
        **_options: Any,
    ) -> FakeRawInputStream:
        self._check_open("input", "RawInputStream")
        stream = FakeRawInputStream(
            self.caller_pcm,
            samplerate=int(samplerate or self.input_rate),
            blocksize=blocksize or self.input_rate // 50,
            channels=channels or 1,
            dtype=dtype or "float32",
            callback=callback,
            threaded=True,
        )
        self.inputs.append(stream)
        return stream

    def RawOutputStream(  # noqa: N802 - the sounddevice name
        self,
        samplerate: float | None = None,
        blocksize: int | None = None,
        device: Any = None,
        channels: int | None = None,
        dtype: str | None = None,
        latency: Any = None,
        extra_settings: Any = None,
        callback: Any = None,
        **_options: Any,
    ) -> FakeRawOutputStream:
        self._check_open("output", "RawOutputStream")
        stream = FakeRawOutputStream(
            samplerate=int(samplerate or self.output_rate),
            blocksize=blocksize or self.output_blocksize,
            channels=channels or 1,
            dtype=dtype or "float32",
            callback=callback,
            threaded=self.output_thread,
        )
        self.outputs.append(stream)
        return stream

    def _check_open(self, kind: str, name: str) -> None:
        if kind in self.unopenable:
            raise FakePortAudioError(
                f"Error opening {name}: Device unavailable [PaErrorCode -9985]"
            )
