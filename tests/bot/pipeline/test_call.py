"""A whole call with fake engines, replayed from a generated recording on the media clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.assistant.contract import BotReply
from bot.audio.pcm import SAMPLE_RATE
from bot.audio.timeline_output import TimelineOutput
from bot.clock import MediaClock
from bot.frames import (
    AudioFrame,
    BotAudioFrame,
    BotStartedSpeakingFrame,
    EndFrame,
    Frame,
    HandoffFrame,
    InterruptFrame,
)
from bot.pipeline import prompts
from bot.pipeline.call import Call, CallEngines
from bot.pipeline.call_log import CallLog
from bot.pipeline.spoken import for_speech, split_sentences
from bot.pipeline.tts import PromptCache
from bot.settings import VoiceSettings
from tests.helpers.voice_fakes import (
    FakeDialogueClient,
    FakeRecognizer,
    FakeSpeechDetector,
    FakeSynthesizer,
    audio_frames,
    of_type,
    quiet,
    speech,
)

BOT_LEVEL = 1000  # the bot's audio on its track; the caller's "speech" is another level
HANDOFF = {
    "reason": "user_request",
    "department": "atencion_cliente",
    "priority": "normal",
    "summary": "Pide hablar con una persona.",
    "intents": ["request_human"],
    "slots": {},
}
# caller blocks: (start, end, what the recogniser hears)
BLOCKS = [
    (3.0, 4.0, "cuatro ocho dos uno tres"),  # after the greeting: turn 1
    (6.0, 6.8, "a qué hora abren mañana"),  # after the short reply: turn 2
    (9.0, 10.0, "quiero hablar con una persona"),  # over the long reply: a barge-in, turn 3
]
HOURS = "Mañana abrimos a las diez. Cerramos a las nueve. Los sábados abrimos de diez a dos."
REPLIES = [
    BotReply(["Gracias. Su pedido está en camino."]),
    BotReply([HOURS]),
    BotReply([], handoff=HANDOFF),
]


def recording() -> bytes:
    pcm, at = b"", 0.0
    for start, end, _ in BLOCKS:
        pcm += quiet(start - at) + speech(end - start)
        at = end
    return pcm + quiet(3.0)


async def caller(pcm: bytes) -> AsyncIterator[AudioFrame]:
    for frame in audio_frames(pcm):
        yield frame


def bot_audio_spans(track: bytes) -> list[tuple[float, float]]:
    """(start, end) in seconds of every stretch of bot audio on the track."""
    voiced = np.frombuffer(track, "<i2") != 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    return [
        (a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


class Recorded:
    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def __call__(self, frame: Frame) -> None:
        self.frames.append(frame)


def run_call(
    tmp_path: Path,
    pcm: bytes,
    heard: list[str],
    replies: list[BotReply],
    hang_up_at_end: bool = False,
    dialogue: FakeDialogueClient | None = None,
    recognizer: Any = None,
    detector: Any = None,
    timeout_s: float = 10.0,
    call_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Runs a call on `pcm` with fake engines (or the given real recogniser and detector);
    returns what it left behind."""
    settings = VoiceSettings(vosk_model=Path("unused"), prompts_dir=tmp_path)
    synthesizer = FakeSynthesizer(seconds_per_char=0.04, level=BOT_LEVEL)
    cache = PromptCache(tmp_path, synthesizer)
    cache.prepare(prompts.FIXED_PROMPTS)
    rendered = synthesizer.calls
    dialogue = dialogue or FakeDialogueClient(replies)
    engines = CallEngines(
        detector=detector or FakeSpeechDetector(),
        recognizer=recognizer or FakeRecognizer(heard),
        synthesizer=synthesizer,
        dialogue=dialogue,
        stt_executor=ThreadPoolExecutor(1),
        tts_executor=ThreadPoolExecutor(1),
        prompts=cache,
    )
    clock = MediaClock()
    output = TimelineOutput(clock)
    log = CallLog({"source": "generated"})
    seen = Recorded()
    call = Call(
        engines, settings, output, clock, "call-1", {"channel": "voice"}, [log, seen],
        **(call_options or {}),
    )  # fmt: skip
    if isinstance(dialogue, SaysOutsideTheTurn):
        dialogue.call = call
    try:
        running = call.run(caller(pcm), hang_up_at_end)
        reason = asyncio.run(asyncio.wait_for(running, timeout=timeout_s))
    finally:
        engines.close()
    return {
        "reason": reason,
        "log": log.as_dict(),
        "frames": seen.frames,
        "track": output.track(),
        "synthesizer": synthesizer,
        "rendered": rendered,
        "dialogue": dialogue,
        "clock": clock,
        "caller_audio": bytes(call.caller_audio),
    }


@pytest.fixture(scope="module")
def call_result(tmp_path_factory) -> dict[str, Any]:
    heard = [text for _, _, text in BLOCKS]
    return run_call(tmp_path_factory.mktemp("call"), recording(), heard, list(REPLIES))


def started(result: dict[str, Any]) -> dict[int, float]:
    return {f.turn: f.at for f in of_type(result["frames"], BotStartedSpeakingFrame)}


def test_the_greeting_plays_first_at_the_start_of_the_call(call_result):
    spans = bot_audio_spans(call_result["track"])
    greeting_s = sum(
        call_result["synthesizer"].duration(s) for s in split_sentences(prompts.GREETING)
    )

    assert started(call_result)[0] == pytest.approx(0.0, abs=0.03)
    assert spans[0][0] == pytest.approx(0.0, abs=0.03)
    assert spans[0][1] == pytest.approx(spans[0][0] + greeting_s, abs=0.01)
    assert call_result["log"]["prompts"][0]["text"] == prompts.GREETING


def test_each_caller_block_becomes_a_turn(call_result):
    turns = call_result["log"]["turns"]

    assert [turn["turn"] for turn in turns] == [1, 2, 3]
    assert [turn["caller"]["recognized"] for turn in turns] == [text for *_, text in BLOCKS]
    assert turns[0]["caller"]["text"] == "48213"
    assert call_result["dialogue"].texts == ["48213", "a qué hora abren mañana", BLOCKS[2][2]]
    for turn, (start, end, _) in zip(turns, BLOCKS, strict=True):
        assert turn["timings"]["speech_start"] == pytest.approx(start, abs=0.001)
        assert turn["timings"]["speech_end"] == pytest.approx(end, abs=0.001)


def test_the_bot_answers_after_the_caller_block_ends(call_result):
    spans = bot_audio_spans(call_result["track"])
    first_audio = started(call_result)

    for turn, (_, end, _) in zip([1, 2, 3], BLOCKS, strict=True):
        assert first_audio[turn] >= end + 0.25  # at least the early end-of-turn silence
        assert first_audio[turn] <= end + 0.6
    # nothing of the bot over the first two caller blocks: they came in quiet moments
    for start, end, _ in BLOCKS[:2]:
        assert not [s for s in spans if s[0] < end and s[1] > start]


def test_a_caller_block_over_the_bot_is_a_barge_in(call_result):
    onset = BLOCKS[2][0]
    spans = bot_audio_spans(call_result["track"])
    [interrupt] = of_type(call_result["frames"], InterruptFrame)

    assert interrupt.turn == 3
    assert interrupt.onset == pytest.approx(onset, abs=0.001)
    assert onset < interrupt.at <= onset + 0.15
    talking = [s for s in spans if s[0] < onset < s[1]]
    assert talking, "the bot must be talking when the caller starts"
    assert talking[0][1] - onset <= 0.15  # at most ~150 ms of bot audio after the onset
    # the rest of the interrupted reply never plays: next comes the transfer line
    after = [s for s in spans if s[0] > onset]
    assert after and after[0][0] >= BLOCKS[2][1]


def test_the_handoff_ends_the_call_after_the_transfer_line(call_result):
    transfer_s = sum(
        call_result["synthesizer"].duration(s)
        for s in split_sentences(for_speech(prompts.TRANSFER))
    )
    spans = bot_audio_spans(call_result["track"])
    transfer_start = started(call_result)[3]
    end = call_result["log"]["end"]

    assert call_result["reason"] == "handoff"
    assert end["reason"] == "handoff"
    assert of_type(call_result["frames"], HandoffFrame)[0].handoff == HANDOFF
    assert spans[-1] == pytest.approx((transfer_start, transfer_start + transfer_s), abs=0.001)
    assert end["at"] >= transfer_start + transfer_s - 0.001  # the transfer line was heard
    assert end["at"] <= transfer_start + transfer_s + 0.1
    assert [f.reason for f in of_type(call_result["frames"], EndFrame)] == ["handoff"]
    assert call_result["log"]["turns"][2]["bot"] == [prompts.TRANSFER]
    assert call_result["log"]["turns"][2]["handoff"] == HANDOFF
    assert call_result["log"]["handoff"] == HANDOFF


def test_fixed_prompts_come_from_the_cache(call_result):
    synthesizer = call_result["synthesizer"]
    prepared = synthesizer.texts[: call_result["rendered"]]

    live = synthesizer.texts[call_result["rendered"] :]
    assert not set(live) & set(prepared)  # greeting and transfer line were not synthesised
    assert live[0] == "Gracias."
    assert "Mañana abrimos a las diez." in live


def test_the_call_log_has_ordered_timings_and_the_barge_in(call_result):
    turns = call_result["log"]["turns"]

    for turn in turns:
        t = turn["timings"]
        order = ["speech_end", "endpoint_detected", "transcript_ready", "reply_received"]
        values = [t[key] for key in [*order, "first_audio"]]
        assert values == sorted(values), t
        assert t["latency_ms"]["speech_end_to_first_audio"] > 0
    assert [turn["timings"]["endpoint"] for turn in turns] == ["silence", "early", "early"]
    assert turns[0]["barge_in"] is None and turns[1]["barge_in"] is None
    barge_in = turns[2]["barge_in"]
    assert barge_in["speech_onset"] == pytest.approx(BLOCKS[2][0], abs=0.001)
    assert 0 < barge_in["stop_ms"] <= 150
    assert turns[0]["caller"]["confidence"] == pytest.approx(0.9)
    assert call_result["log"]["ignored_speech"] == []


def test_the_caller_audio_is_kept_whole(call_result):
    audio = call_result["caller_audio"]

    assert audio.startswith(recording()[: len(audio)])
    assert len(audio) >= len(recording()[: int(2 * SAMPLE_RATE * 10.5)])


def test_a_backchannel_over_the_bot_pauses_it_and_it_carries_on(tmp_path):
    # the reply runs from 4.26 s for 3.56 s; "vale" at 5.0 s leaves it 2.7 s to say
    pcm = quiet(3.0) + speech(1.0) + quiet(1.0) + speech(0.4) + quiet(6.0)

    result = run_call(tmp_path, pcm, ["a qué hora abren mañana", "vale"], [BotReply([HOURS])])

    reply_s = sum(result["synthesizer"].duration(s) for s in split_sentences(for_speech(HOURS)))
    spans = bot_audio_spans(result["track"])
    [ignored] = result["log"]["ignored_speech"]
    assert ignored["text"] == "vale" and ignored["reason"] == "backchannel"
    assert result["dialogue"].texts == ["a qué hora abren mañana"]  # "vale" is not a turn
    assert of_type(result["frames"], InterruptFrame) == []
    reply = [span for span in spans if span[0] > 4.0]
    assert len(reply) == 2  # paused for the caller, then the rest
    assert reply[0][1] == pytest.approx(5.08, abs=0.001)  # 80 ms after "vale" began
    assert reply[1][0] == pytest.approx(5.0 + 0.4 + 0.26, abs=0.001)  # once it was understood
    played = sum(end - start for start, end in reply)
    assert played == pytest.approx(reply_s, abs=0.001)  # nothing of the reply was lost
    assert ignored["bot_paused_ms"] == pytest.approx((reply[1][0] - reply[0][1]) * 1000, abs=1)
    assert result["reason"] == "caller_done"


def test_a_silent_caller_is_asked_once_and_then_left(tmp_path):
    result = run_call(tmp_path, quiet(30.0), [], [])

    said = [(p["text"], p["at"]) for p in result["log"]["prompts"]]
    greeting_end = bot_audio_spans(result["track"])[0][1]
    assert [text for text, _ in said] == [
        prompts.GREETING,
        prompts.REPROMPT,
        prompts.SILENCE_GOODBYE,
    ]
    assert said[1][1] == pytest.approx(greeting_end + 8.0, abs=0.05)
    assert result["reason"] == "silence"
    assert result["log"]["end"]["reason"] == "silence"
    goodbye = bot_audio_spans(result["track"])[-1]
    goodbye_s = sum(
        result["synthesizer"].duration(s) for s in split_sentences(prompts.SILENCE_GOODBYE)
    )
    assert goodbye[1] - goodbye[0] == pytest.approx(goodbye_s, abs=0.001)  # said in full
    assert result["clock"].now() >= goodbye[1]  # the line stayed open until it was said
    assert result["dialogue"].sent == []


def test_a_caller_who_hangs_up_is_not_kept_on_the_line(tmp_path):
    # the reply would run from about 4.3 s for 3.6 s; the line goes dead at 5 s
    pcm = quiet(3.0) + speech(1.0) + quiet(1.0)

    result = run_call(
        tmp_path, pcm, ["a qué hora abren mañana"], [BotReply([HOURS])], hang_up_at_end=True
    )

    assert result["reason"] == "hangup"
    assert result["clock"].now() <= 5.0 + 0.05  # no silence fed to let the bot finish


def test_a_handoff_ends_a_call_only_where_nobody_takes_over(tmp_path):
    """A call straight to the assistant ends at a handoff; on the gateway the caller waits on
    the line for a person, and the handoff is in the call's log all the same."""
    pcm = quiet(3.0) + speech(1.0) + quiet(6.0)
    handoff = BotReply(["Le paso con una persona."], handoff=HANDOFF)

    direct = run_call(tmp_path, pcm, ["con una persona"], [handoff])
    on_gateway = run_call(
        tmp_path, pcm, ["con una persona"], [handoff], call_options={"handoff_ends_call": False}
    )

    assert direct["reason"] == "handoff"
    assert on_gateway["reason"] == "caller_done"
    assert on_gateway["log"]["handoff"] is not None


class SaysOutsideTheTurn(FakeDialogueClient):
    """Like the gateway's hub: a line that answers no turn (an agent's words) is said meanwhile."""

    call: Call | None = None

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        self.sent.append((conversation_id, text, metadata))
        assert self.call is not None
        await self.call.say(HOURS)
        return BotReply()


def test_a_line_said_from_outside_the_pipeline_belongs_to_the_latest_turn(tmp_path):
    pcm = quiet(3.0) + speech(1.0) + quiet(6.0)

    result = run_call(tmp_path, pcm, ["a qué hora abren"], [], dialogue=SaysOutsideTheTurn())

    spoken = [f for f in result["frames"] if isinstance(f, BotAudioFrame) and f.text in HOURS]
    assert spoken and {frame.turn for frame in spoken} == {1}


class BrokenRecognizer(FakeRecognizer):
    """A speech model that fails on every turn (a damaged file, out of memory…)."""

    def finish(self) -> Any:
        super().finish()
        raise RuntimeError("the model is gone")


def test_a_failing_recogniser_is_reported_once_and_the_call_is_not_left_hanging(tmp_path):
    pcm = quiet(3.0) + speech(1.0) + quiet(2.0) + speech(1.0) + quiet(2.0)
    failures: list[str] = []

    result = run_call(
        tmp_path,
        pcm,
        ["uno", "dos"],
        [],
        recognizer=BrokenRecognizer(["uno", "dos"]),
        call_options={"on_engine_failure": lambda: failures.append("engines")},
    )

    assert failures == ["engines"]  # once, although both turns failed
    assert result["reason"] == "caller_done"


def test_a_reply_the_voice_cannot_say_is_reported(tmp_path):
    class BrokenVoice(FakeSynthesizer):
        def synthesize(self, text: str) -> bytes:
            raise OSError("espeak-ng crashed")

    pcm = quiet(3.0) + speech(1.0) + quiet(3.0)
    failures: list[str] = []
    settings = VoiceSettings(vosk_model=Path("unused"), prompts_dir=tmp_path)
    voice = BrokenVoice(seconds_per_char=0.04, level=BOT_LEVEL)
    cache = PromptCache(tmp_path, FakeSynthesizer(seconds_per_char=0.04, level=BOT_LEVEL))
    cache.prepare(prompts.FIXED_PROMPTS)  # the fixed prompts were rendered at start
    engines = CallEngines(
        detector=FakeSpeechDetector(),
        recognizer=FakeRecognizer(["a qué hora abren"]),
        synthesizer=voice,
        dialogue=FakeDialogueClient([BotReply([HOURS])]),
        stt_executor=ThreadPoolExecutor(1),
        tts_executor=ThreadPoolExecutor(1),
        prompts=cache,
    )
    clock = MediaClock()
    call = Call(
        engines, settings, TimelineOutput(clock), clock, "call-2", {"channel": "voice"},
        on_engine_failure=lambda: failures.append("engines"),
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(call.run(caller(pcm)), timeout=10))
    finally:
        engines.close()

    assert failures == ["engines"]
