"""The machine's microphone and speaker (sounddevice/PortAudio) for `python -m bot talk`.

PortAudio calls our callbacks on its own thread; audio crosses to the event loop through a
queue (microphone) or a locked buffer (speaker). Devices run at their own rate and are converted
at this edge.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, StreamConverter, seconds
from bot.clock import Clock
from bot.frames import AudioFrame


class NoAudioDeviceError(RuntimeError):
    """No usable microphone or speaker; the message says so in Spanish."""


def check_devices() -> None:
    """Raises NoAudioDeviceError unless both a default input and output device exist."""
    try:
        import sounddevice
    except OSError as error:  # the PortAudio library itself is missing
        raise NoAudioDeviceError(f"No puedo usar el audio de este equipo ({error}).") from error
    try:
        sounddevice.query_devices(kind="input")
        sounddevice.query_devices(kind="output")
    except (sounddevice.PortAudioError, ValueError) as error:
        raise NoAudioDeviceError(
            "No encuentro micrófono y altavoz en este equipo, así que no puedo mantener una "
            "conversación de voz aquí. Conecte unos auriculares con micrófono (o active el "
            "audio del sistema) y vuelva a intentarlo. Para probar sin audio: "
            "python -m bot call audio/samples/hours.wav --out var/calls/prueba"
            f" (detalle: {error})"
        ) from error


async def microphone(clock: Clock, frame_ms: int) -> AsyncIterator[AudioFrame]:
    """Caller audio from the default microphone, in pipeline frames stamped on `clock`."""
    import sounddevice

    rate = int(sounddevice.query_devices(kind="input")["default_samplerate"])
    converter = StreamConverter(rate)
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()

    def captured(data: Any, frames: int, time: Any, _status: Any) -> None:
        # Stamped here, on PortAudio's thread, from the card's own capture time: the event
        # loop may get to the chunk late, but the caller spoke when the card heard them.
        delay = time.currentTime - time.inputBufferAdcTime
        if not 0.0 <= delay < 1.0:  # some host APIs leave the capture time at zero
            delay = frames / rate
        end = clock.now() - delay + frames / rate
        loop.call_soon_threadsafe(chunks.put_nowait, (bytes(data), end))

    blocksize = rate * frame_ms // 1000
    with _opened("el micrófono", sounddevice.RawInputStream, rate, blocksize, captured):
        while True:
            data, end = await chunks.get()
            pcm = converter.convert(data)
            if pcm:  # the resampler releases audio in bursts; empty chunks carry nothing
                yield AudioFrame(pcm, end - seconds(pcm))


def _opened(device: str, stream_class: Any, *args: Any) -> Any:
    """Opens a PortAudio stream; a device that is listed but cannot be opened (busy, unplugged,
    rate refused) gets the same clear message as a missing one."""
    import sounddevice

    rate, blocksize, callback = args
    try:
        return stream_class(rate, blocksize, channels=1, dtype="int16", callback=callback)
    except (sounddevice.PortAudioError, ValueError) as error:
        raise NoAudioDeviceError(
            f"No puedo abrir {device} ({error}). Compruebe que está conectado y que ningún otro "
            "programa lo está usando, y vuelva a intentarlo."
        ) from error


class SpeakerOutput:
    """The AudioOutput of a live call: the default speaker, fed from a buffer.

    Args:
        clock: the call's clock, to say when queued audio will be heard.
    """

    def __init__(self, clock: Clock) -> None:
        import sounddevice

        self._clock = clock
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._held = bytearray()
        self._paused = False
        self._stale_before = 0
        self._stream = _opened(
            "el altavoz", sounddevice.RawOutputStream, SAMPLE_RATE, 0, self._fill
        )
        try:
            self._stream.start()
        except sounddevice.PortAudioError as error:
            raise NoAudioDeviceError(f"No puedo usar el altavoz ({error}).") from error

    @property
    def speaking(self) -> bool:
        with self._lock:
            return bool(self._buffer)

    def remaining(self) -> float:
        with self._lock:
            return seconds(self._buffer) + seconds(self._held)

    def play(self, pcm: bytes, turn: int) -> float | None:
        with self._lock:
            if turn < self._stale_before:
                return None
            if self._paused:
                self._held += pcm
                return None
            start = self._clock.now() + seconds(self._buffer)
            self._buffer += pcm
            return start

    def pause(self) -> None:
        with self._lock:
            self._held[:0] = self._buffer
            self._buffer.clear()
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._buffer += self._held
            self._held.clear()
            self._paused = False

    def stop(self, stale_before: int) -> None:
        with self._lock:
            self._buffer.clear()
            self._held.clear()
            self._paused = False
            self._stale_before = max(self._stale_before, stale_before)

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()

    def _fill(self, out: Any, frames: int, _time: Any, _status: Any) -> None:
        size = frames * SAMPLE_WIDTH
        with self._lock:
            chunk = bytes(self._buffer[:size])
            del self._buffer[:size]
        out[:] = chunk + bytes(size - len(chunk))
