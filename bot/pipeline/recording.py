"""A whole recording through the call's own VAD and recogniser, as fast as possible.

AudioFrame… (a WAV file) -> TranscriptFrame(final) per caller turn, with words and times

Used by `python -m bot transcribe` (QA and trainers hear what the recogniser hears) and by the
benchmarks: the turns are cut exactly as in a call, pre-roll included.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.audio.pcm import chunks
from bot.audio.recognition import Recognizer
from bot.clock import MediaClock
from bot.frames import AudioFrame, Frame, TranscriptFrame
from bot.pipeline.pipeline import Pipeline
from bot.pipeline.stt import SttStage
from bot.pipeline.vad import VadStage, WebrtcSpeechDetector
from bot.settings import VoiceSettings


async def recognize_recording(
    pcm: bytes, recognizer: Recognizer, voice: VoiceSettings
) -> list[TranscriptFrame]:
    """Every caller turn of `pcm` (pipeline audio) as its final transcript, in order.

    Turns the recogniser heard as nothing (noise, or what it rejected) are left out.
    """
    clock = MediaClock()
    executor = ThreadPoolExecutor(1, thread_name_prefix="stt")
    stt = SttStage(recognizer, executor, clock)
    finals: list[TranscriptFrame] = []

    def keep_finals(frame: Frame) -> None:
        if isinstance(frame, TranscriptFrame) and frame.final and frame.text:
            finals.append(frame)

    vad = VadStage(WebrtcSpeechDetector(voice.vad_aggressiveness), voice, stt.words_look_complete)
    pipeline = Pipeline([vad, stt], [keep_finals])
    pipeline.start()
    try:
        step = voice.frame_ms / 1000
        # trailing silence so that a turn running to the end of the file is closed too
        padded = pcm + bytes(round((voice.end_silence_ms / 1000 + 0.1) * 32000))
        for index, piece in enumerate(chunks(padded, voice.frame_ms)):
            clock.advance_to((index + 1) * step)
            await pipeline.push(AudioFrame(piece, index * step))
            await pipeline.drain()
        await stt.settle()
    finally:
        await pipeline.stop()
        executor.shutdown(wait=True)
    return finals
