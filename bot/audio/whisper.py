"""Whisper (faster-whisper over CTranslate2) behind the Recognizer protocol.

Whisper is not a streaming recogniser: it reads a whole utterance at once. So each call's
`WhisperRecognizer` only collects the turn's audio (the VAD-bounded speech with its pre-roll) and
decodes it when the turn ends. Everything heavy lives in one `WhisperEngine` per process, shared
by every call:

- one model in memory, loaded once;
- one decode worker thread: turns of different calls are decoded one after the other, each with
  all the cores (two decodes at once would only share them and both finish later);
- that worker runs at a lower CPU priority (nice), and so do the CTranslate2 threads it starts,
  so a decode never holds up another call's VAD, barge-in or playback on the event loop.

The window. Whisper was trained on 30 s windows: its encoder costs ~1.8 s on 30 s here (2 cores)
against ~0.2 s on 5 s. A turn shorter than `window_s` is padded to `window_s`; a longer one to
its own length plus a margin (the margin matters: cut right after the last word, Whisper drops or
invents the end); a turn over 30 s is decoded in Whisper's standard 30 s windows. `make bench`
measures the word error rate and the cost of each window (bench/README.md).

What Whisper invents (on silence, breath, music, line noise, or in a loop) is judged by
`bot.audio.hallucinations`; such a turn is recognised as nothing, so it is never a caller turn
and never interrupts the bot.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.audio.hallucinations import Decoded, rejection, said_again
from bot.audio.pcm import SAMPLE_RATE, seconds
from bot.audio.recognition import Recognition, RecognizedWord
from bot.audio.whisper_model import WhisperModelError, looks_like_whisper_model, missing_message

logger = logging.getLogger(__name__)

LANGUAGE = "es"
FRAMES_PER_SECOND = 100  # Whisper's mel frames
MAX_WINDOW_S = 30.0
WINDOW_MARGIN_S = (
    2.0  # padding after the turn's own length, when the turn is longer than the window
)
WORKER_NICENESS = 5  # lower CPU priority for decodes than for the calls' real-time work
WARM_UP_S = 1.0
_DIGIT_JOINERS = re.compile(r"(?<=\d)[.,](?=\d{3}\b)")  # "1.500" -> "1500"
_DIGIT_SEPARATORS = re.compile(r"(?<=\d)-(?=\d)")  # "612-345-678" -> "612 345 678"
_PUNCTUATION = re.compile(r"(?!(?<=\d):(?=\d))[^\w\s]")  # all but the colon of "10:30"


def spoken_form(text: str) -> str:
    """Whisper's written text as recognisers write speech: lower case, no punctuation
    (accents and digits kept; "10:30" stays a time)."""
    text = _DIGIT_SEPARATORS.sub(" ", _DIGIT_JOINERS.sub("", text.lower()))
    return " ".join(_PUNCTUATION.sub(" ", text).split())


@dataclass(frozen=True)
class WhisperOptions:
    """How the engine decodes (VoiceSettings: BOT_WHISPER_*).

    Attributes:
        model: folder of a CTranslate2 Whisper conversion.
        beam: beam size (1: greedy; about 5 WER points worse on real read speech).
        threads: CPU threads of one decode (0: every core).
        window_s: shortest encoder window, in seconds (see the module docstring).
    """

    model: Path
    beam: int = 5
    threads: int = 0
    window_s: float = 8.0


@dataclass(frozen=True)
class Transcription:
    """One decoded utterance, before and after the hallucination checks.

    Attributes:
        recognition: what the caller said (empty when rejected).
        decoded: Whisper's own output and scores.
        rejected: why the output was thrown away ("" when kept).
        window_s: the encoder window used.
        seconds: time spent decoding (queueing excluded).
    """

    recognition: Recognition
    decoded: Decoded
    rejected: str
    window_s: float
    seconds: float


def window_for(duration: float, minimum: float) -> float | None:
    """The encoder window for an utterance of `duration` seconds; None: Whisper's standard
    30 s windows (the utterance does not fit in one)."""
    if duration > MAX_WINDOW_S:
        return None
    return min(MAX_WINDOW_S, max(minimum, duration + WINDOW_MARGIN_S))


class WhisperEngine:
    """The process's Whisper model and its decode worker (see the module docstring).

    Args:
        options: which model and how to decode.

    Raises:
        WhisperModelError: the model folder is missing or incomplete (Spanish message).
    """

    def __init__(self, options: WhisperOptions) -> None:
        if not looks_like_whisper_model(options.model):
            raise WhisperModelError(missing_message(options.model))
        self.options = options
        self.model_name = options.model.name
        self._worker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="whisper", initializer=_lower_priority
        )
        # loaded on the worker, so CTranslate2's threads are started there, at its priority
        self._model, self._tokenizer, self._decode_options = self._worker.submit(
            _load, options
        ).result()
        self._warm = False
        self._warm_lock = threading.Lock()
        self._jobs = 0  # decodes queued or running
        self._jobs_lock = threading.Lock()

    def transcribe(self, pcm: bytes) -> Transcription:
        """Decodes one utterance (16 kHz 16-bit mono PCM); blocks until the worker is done."""
        return self.submit(pcm).result()

    def submit(self, pcm: bytes) -> Future[Transcription]:
        """Queues the decode of one utterance behind the others."""
        with self._jobs_lock:
            self._jobs += 1
        future = self._worker.submit(self._decode, pcm)
        future.add_done_callback(self._job_done)
        return future

    def submit_if_idle(self, pcm: bytes) -> Future[Transcription] | None:
        """Decodes ahead of time only with a free worker: a guess must never make another
        call's turn wait (None when the worker is busy)."""
        with self._jobs_lock:
            if self._jobs:
                return None
        return self.submit(pcm)

    def _job_done(self, _: Future[Transcription]) -> None:
        with self._jobs_lock:
            self._jobs -= 1

    def warm_up(self) -> None:
        """Decodes a second of silence once per process: the first decode is several times
        slower than the next ones (memory and kernels are set up on first use)."""
        with self._warm_lock:
            if not self._warm:
                self.transcribe(bytes(int(WARM_UP_S * SAMPLE_RATE) * 2))
                self._warm = True

    def _decode(self, pcm: bytes) -> Transcription:
        started = time.perf_counter()
        audio = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
        duration = seconds(pcm)
        window = window_for(duration, self.options.window_s)
        decoded = self._run(audio, duration, window)
        reason = rejection(decoded)
        words = () if reason else _spoken_words(decoded.words)
        text = "" if reason else spoken_form(decoded.text)
        period = said_again(text.split())
        if period:  # Whisper said the whole turn twice: the caller said it once
            text, words = " ".join(text.split()[:period]), words[:period]
        return Transcription(
            Recognition(text, words), decoded, reason, window or MAX_WINDOW_S,
            time.perf_counter() - started,
        )  # fmt: skip

    def _run(self, audio: np.ndarray, duration: float, window: float | None) -> Decoded:
        from faster_whisper.audio import pad_or_trim

        features = self._model.feature_extractor(audio)
        encoded, language = None, {}
        if window is not None:
            encoded = self._model.encode(pad_or_trim(features, int(window * FRAMES_PER_SECOND)))
            language = dict(self._model.model.detect_language(encoded)[0])
        segments = list(
            self._model.generate_segments(
                features, self._tokenizer, self._decode_options, False, encoded
            )
        )
        if encoded is not None:
            words = self._align(segments, encoded, features.shape[-1] - 1)
        else:
            words = _spread(segments)
        return _decoded(segments, words, language, duration)

    def _align(self, segments: list[Any], encoded: Any, frames: int) -> tuple[RecognizedWord, ...]:
        """Word times from the decoder's cross-attention (Whisper's own alignment heads)."""
        tokens = [t for s in segments for t in s.tokens if t < self._tokenizer.eot]
        if not tokens:
            return ()
        (alignment,) = self._model.find_alignment(self._tokenizer, [tokens], encoded, frames)
        return tuple(
            RecognizedWord(w["word"].strip(), float(w["start"]), float(w["end"]),
                           float(w["probability"]))
            for w in alignment
            if w["word"].strip()
        )  # fmt: skip


def _spread(segments: list[Any]) -> tuple[RecognizedWord, ...]:
    """Word times for a turn over 30 s (decoded window by window, not aligned): each segment's
    words evenly over its span. Rare, and only prosody reads these times."""
    words: list[RecognizedWord] = []
    for segment in segments:
        tokens = segment.text.split()
        step = (segment.end - segment.start) / max(1, len(tokens))
        confidence = float(np.exp(segment.avg_logprob))
        for i, token in enumerate(tokens):
            start = segment.start + i * step
            words.append(RecognizedWord(token, start, start + step, confidence))
    return tuple(words)


def _decoded(
    segments: list[Any],
    words: tuple[RecognizedWord, ...],
    language: dict[str, float],
    duration: float,
) -> Decoded:
    probabilities = {token.strip("<|>"): p for token, p in language.items()}
    top = max(probabilities, key=lambda code: probabilities[code], default=LANGUAGE)
    return Decoded(
        text=" ".join(segment.text.strip() for segment in segments).strip(),
        words=words,
        duration=duration,
        avg_logprob=min((s.avg_logprob for s in segments), default=0.0),
        no_speech_prob=max((s.no_speech_prob for s in segments), default=0.0),
        compression_ratio=max((s.compression_ratio for s in segments), default=0.0),
        language=top,
        language_probability=probabilities.get(LANGUAGE, 1.0 if not language else 0.0),
        top_language_probability=probabilities.get(top, 1.0),
    )


def _spoken_words(words: tuple[RecognizedWord, ...]) -> tuple[RecognizedWord, ...]:
    spoken = (replace(word, word=spoken_form(word.word)) for word in words)
    return tuple(word for word in spoken if word.word)


def _lower_priority() -> None:
    # Linux: a thread's own niceness, inherited by the threads it starts; elsewhere decodes
    # simply share the CPU evenly
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)


def _load(options: WhisperOptions) -> tuple[Any, Any, Any]:
    from faster_whisper import WhisperModel
    from faster_whisper.tokenizer import Tokenizer

    threads = options.threads or os.cpu_count() or 1
    model = WhisperModel(str(options.model), device="cpu", compute_type="int8", cpu_threads=threads)
    # transcribe() only prepares its generator here: this is the simplest way to get the
    # library's own defaults (suppressed tokens, punctuation) with our choices applied
    _, info = model.transcribe(
        np.zeros(SAMPLE_RATE // 10, np.float32),
        language=LANGUAGE,
        beam_size=options.beam,
        temperature=[0.0],  # no sampling fallbacks: they multiply the cost of a hard turn
        condition_on_previous_text=False,
        without_timestamps=True,  # one segment per window: no second encoder pass
        word_timestamps=False,  # aligned separately (see _align): here it decodes twice
    )
    decode_options = replace(info.transcription_options)
    tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=LANGUAGE)
    return model, tokenizer, decode_options


_engines: dict[WhisperOptions, WhisperEngine] = {}
_engines_lock = threading.Lock()


def load_engine(options: WhisperOptions) -> WhisperEngine:
    """The process's engine for `options`, created on first use and shared by every call."""
    with _engines_lock:
        if options not in _engines:
            _engines[options] = WhisperEngine(options)
            logger.info("whisper.loaded model=%s window_s=%s", options.model.name, options.window_s)
        return _engines[options]


class WhisperRecognizer:
    """One call's recogniser: collects each turn's audio and has the engine decode it.

    When the caller pauses, the audio so far is decoded ahead of time (if the engine is idle):
    if the turn then ends without more speech, that is the result, ready up to a few hundred
    milliseconds sooner; its words are also reported as the partial result, so the VAD can end
    a turn whose words look complete early, as with a streaming recogniser.

    Args:
        engine: the process's shared engine.

    Attributes:
        last: the last turn's full transcription (scores, rejection), for logs and tests.
    """

    name = "whisper"

    def __init__(self, engine: WhisperEngine) -> None:
        self._engine = engine
        self._audio = bytearray()
        self._guess: Future[Transcription] | None = None
        self.model = engine.model_name
        self.last: Transcription | None = None

    def start(self, at: float) -> None:
        self._audio, self._guess = bytearray(), None

    def accept(self, pcm: bytes) -> str:
        self._audio += pcm
        guess = self._guess
        if guess is not None and guess.done() and guess.exception() is None:
            return guess.result().recognition.text
        return ""

    def pause(self, paused: bool) -> None:
        # a guess already made stands for the whole turn only while no more speech came
        self._guess = self._engine.submit_if_idle(bytes(self._audio)) if paused else None

    def finish(self) -> Recognition:
        pcm, self._audio = bytes(self._audio), bytearray()
        guess, self._guess = self._guess, None
        if not pcm:
            return Recognition("")
        self.last = guess.result() if guess is not None else self._engine.transcribe(pcm)
        if self.last.rejected:
            logger.info("whisper.rejected reason=%s seconds=%.1f", self.last.rejected, seconds(pcm))
        return self.last.recognition

    def warm_up(self) -> None:
        self._engine.warm_up()
