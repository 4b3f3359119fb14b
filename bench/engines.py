"""The engines on their own, in this process, with nothing else running:

- speech recognition with the real Vosk model: our VAD + STT stages over a whole recorded call
  against a bare loop of Vosk calls over the same caller speech (the pipeline's overhead), and
  several recognisers at once (real-time factor per stream and in total);
- speech synthesis: a fixed prompt from the prompt cache against synthesising it afresh.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.caller import script_lines
from bench.stats import ratio, summary
from bot.audio.pcm import chunks, read_wav, seconds
from bot.audio.vosk import VoskRecognizer, load_model
from bot.clock import MediaClock
from bot.frames import AudioFrame, Frame, TranscriptFrame
from bot.pipeline.engines import make_synthesizer
from bot.pipeline.pipeline import Pipeline
from bot.pipeline.prompts import FIXED_PROMPTS
from bot.pipeline.spoken import for_speech, split_sentences
from bot.pipeline.stt import FEED_EVERY_S, PRE_ROLL_S, SttStage
from bot.pipeline.tts import PromptCache
from bot.pipeline.vad import VadStage, WebrtcSpeechDetector
from bot.settings import VoiceSettings

TTS_ROUNDS = 3


def bare_vosk(model: Any, utterances: list[bytes]) -> float:
    """Seconds for the plainest use of Vosk: each utterance fed in FEED_EVERY_S pieces to a warm
    recogniser, then its final result."""
    recognizer = VoskRecognizer(model)
    recognizer.warm_up()
    step = round(FEED_EVERY_S * 32000)
    start = time.perf_counter()
    for pcm in utterances:
        recognizer.start(0.0)
        for offset in range(0, len(pcm), step):
            recognizer.accept(pcm[offset : offset + step])
        recognizer.finish()
    return time.perf_counter() - start


async def our_stt(model: Any, recording: bytes, voice: VoiceSettings) -> tuple[float, int]:
    """Seconds for our VAD and STT stages over the whole recording as fast as possible (a warm
    recogniser), and the number of turns they found."""
    clock = MediaClock()
    executor = ThreadPoolExecutor(1, thread_name_prefix="stt")
    stt = SttStage(VoskRecognizer(model), executor, clock)
    finals: list[TranscriptFrame] = []

    def keep_finals(frame: Frame) -> None:
        if isinstance(frame, TranscriptFrame) and frame.final:
            finals.append(frame)

    vad = VadStage(WebrtcSpeechDetector(voice.vad_aggressiveness), voice, stt.words_look_complete)
    pipeline = Pipeline([vad, stt], [keep_finals])
    pipeline.start()
    await pipeline.push(AudioFrame(bytes(640), 0.0))
    await pipeline.drain()  # the warm-up done before the clock starts
    await stt.settle()
    start = time.perf_counter()
    for index, pcm in enumerate(chunks(recording, voice.frame_ms)):
        at = (index + 1) * voice.frame_ms / 1000
        clock.advance_to(at)
        await pipeline.push(AudioFrame(pcm, at - voice.frame_ms / 1000))
        await pipeline.drain()
    await stt.settle()
    elapsed = time.perf_counter() - start
    await pipeline.stop()
    executor.shutdown(wait=True)
    return elapsed, len(finals)


def streams(model: Any, utterances: list[bytes], count: int) -> dict[str, Any]:
    """`count` recognisers decoding the same speech at once, each on its own thread."""
    audio_s = sum(seconds(pcm) for pcm in utterances)
    with ThreadPoolExecutor(count) as pool:
        started = time.perf_counter()
        times = list(pool.map(lambda _: bare_vosk(model, utterances), range(count)))
        wall = time.perf_counter() - started
    return {
        "streams": count,
        "rtf_per_stream": summary([t / audio_s for t in times], digits=3),
        "rtf_total": round(wall / (audio_s * count), 3),
        "real_time_streams_possible": round(audio_s * count / wall, 1),
    }


def speech_recognition(
    model_dir: Path, label: str, recording: Path, levels: tuple[int, ...]
) -> dict[str, Any]:
    model = load_model(model_dir)
    voice = VoiceSettings(vosk_model=model_dir)
    whole = read_wav(recording)
    # each caller line with the pre-roll the STT stage also feeds, as bare utterances
    pad = bytes(round(PRE_ROLL_S * 32000))
    utterances = [pad + line.pcm for line in script_lines(recording, None)]
    bare = bare_vosk(model, utterances)
    ours, turns = asyncio.run(our_stt(model, whole, voice))
    speech_s = sum(seconds(pcm) for pcm in utterances)
    return {
        "model": label,
        "model_path": str(model_dir),
        "recording": recording.name,
        "recording_s": round(seconds(whole), 1),
        "speech_s": round(speech_s, 1),
        "turns_found": turns,
        "bare_vosk_s": round(bare, 2),
        "our_stt_s": round(ours, 2),
        "bare_vosk_rtf": round(bare / speech_s, 3),
        "our_stt_rtf_on_speech": round(ours / speech_s, 3),
        "pipeline_overhead_ratio": ratio(ours, bare),
        "concurrent": [streams(model, utterances, count) for count in levels],
    }


def speech_synthesis(voice: VoiceSettings, cache_dir: Path) -> dict[str, Any]:
    """Time to the audio of each fixed prompt's sentences: from the cache, and synthesised."""
    synthesizer = make_synthesizer(voice)
    cache = PromptCache(cache_dir, synthesizer)
    cache.prepare(FIXED_PROMPTS)
    synthesizer.synthesize("Hola.")  # espeak-ng loaded before timing
    sentences = [s for text in FIXED_PROMPTS for s in split_sentences(for_speech(text))]
    cached_us, fresh_ms = [], []
    for _ in range(TTS_ROUNDS):
        for sentence in sentences:
            start = time.perf_counter()
            cache.get(sentence)
            cached_us.append((time.perf_counter() - start) * 1e6)
            start = time.perf_counter()
            synthesizer.synthesize(sentence)
            fresh_ms.append((time.perf_counter() - start) * 1000)
    cached, fresh = summary(cached_us), summary(fresh_ms)
    return {
        "sentences": len(sentences),
        "rounds": TTS_ROUNDS,
        "cached_prompt_us": cached,
        "fresh_synthesis_ms": fresh,
        "fresh_over_cached": ratio(fresh["p50"] * 1000, cached["p50"]),
    }
