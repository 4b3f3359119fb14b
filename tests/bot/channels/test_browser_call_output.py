"""The browser call's speaker (audio and play/pause/resume/stop sent to the page, timed by a
manual clock) and the scripted recogniser used for browser calls in tests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.channels.call_audio import WebSocketAudioOutput
from bot.pipeline.scripted import ScriptedRecognizer, ScriptLine, read_script
from tests.helpers.voice_fakes import ManualClock, quiet, speech


def make(now: float = 0.0) -> tuple[WebSocketAudioOutput, ManualClock, asyncio.Queue[Any]]:
    clock = ManualClock(now)
    outgoing: asyncio.Queue[Any] = asyncio.Queue()
    return WebSocketAudioOutput(clock, outgoing), clock, outgoing


def sent(outgoing: asyncio.Queue[Any]) -> list[Any]:
    """What went to the page so far: audio as its length in seconds, control messages as dicts."""
    items = []
    while not outgoing.empty():
        item = outgoing.get_nowait()
        items.append(round(len(item) / 32000, 3) if isinstance(item, bytes) else item)
    return items


PAUSE, RESUME, STOP = {"type": "pause"}, {"type": "resume"}, {"type": "stop"}


def test_play_sends_at_once_and_times_from_the_play_head():
    output, clock, outgoing = make(1.0)

    assert output.play(speech(0.5), turn=0) == pytest.approx(1.0)
    clock.set(1.2)
    assert output.play(speech(0.3), turn=0) == pytest.approx(1.5)  # behind what still plays

    assert sent(outgoing) == [0.5, 0.3]
    assert output.speaking and output.remaining() == pytest.approx(0.6)
    clock.set(1.8)
    assert not output.speaking and output.remaining() == 0.0
    clock.set(3.0)
    assert output.play(speech(0.2), turn=1) == pytest.approx(3.0)  # idle: starts now


def test_stop_drops_everything_and_later_audio_of_older_turns():
    output, clock, outgoing = make()
    output.play(speech(1.0), turn=1)
    clock.set(0.4)

    output.stop(stale_before=2)

    assert sent(outgoing) == [1.0, STOP]
    assert not output.speaking and output.remaining() == 0.0
    assert output.play(speech(0.5), turn=1) is None  # a late chunk of the interrupted reply
    assert sent(outgoing) == []
    assert output.play(speech(0.5), turn=2) == pytest.approx(0.4)
    assert sent(outgoing) == [0.5]


def test_stop_when_silent_tells_the_page_nothing():
    output, clock, outgoing = make()
    output.play(speech(0.2), turn=0)
    clock.set(1.0)

    output.stop(stale_before=1)

    assert sent(outgoing) == [0.2]


def test_pause_holds_what_is_unheard_and_resume_plays_it():
    output, clock, outgoing = make()
    output.play(speech(1.0), turn=0)
    clock.set(0.3)

    output.pause()

    assert sent(outgoing) == [1.0, PAUSE]
    assert not output.speaking
    assert output.remaining() == pytest.approx(0.7)  # still owed to the caller
    clock.set(2.0)  # a long pause does not eat the held audio
    assert output.remaining() == pytest.approx(0.7)

    output.resume()

    assert sent(outgoing) == [RESUME]
    assert output.speaking and output.remaining() == pytest.approx(0.7)
    clock.set(2.7)
    assert not output.speaking


def test_audio_that_arrives_while_paused_waits_for_resume():
    output, clock, outgoing = make()
    output.play(speech(1.0), turn=0)
    clock.set(0.5)
    output.pause()

    assert output.play(speech(0.4), turn=0) is None

    assert sent(outgoing) == [1.0, PAUSE]  # not sent yet
    assert output.remaining() == pytest.approx(0.9)
    clock.set(1.0)
    output.resume()
    assert sent(outgoing) == [RESUME, 0.4]
    clock.set(1.85)  # 0.5 held at the page, then the 0.4 that waited
    assert output.speaking
    clock.set(1.9)
    assert not output.speaking


def test_pausing_a_silent_speaker_tells_the_page_nothing():
    output, clock, outgoing = make()

    output.pause()
    output.play(speech(0.3), turn=0)
    output.resume()

    assert sent(outgoing) == [0.3]  # no pause or resume: the page had nothing to hold
    assert output.speaking


def test_pause_and_resume_are_idempotent():
    output, clock, outgoing = make()
    output.play(speech(1.0), turn=0)
    output.resume()  # not paused: nothing
    clock.set(0.2)

    output.pause()
    output.pause()
    output.resume()
    output.resume()

    assert sent(outgoing) == [1.0, PAUSE, RESUME]


def test_stop_while_paused_drops_the_held_audio():
    output, clock, outgoing = make()
    output.play(speech(1.0), turn=0)
    clock.set(0.2)
    output.pause()
    output.play(speech(0.5), turn=0)

    output.stop(stale_before=1)
    output.resume()  # no longer paused: nothing comes back

    assert sent(outgoing) == [1.0, PAUSE, STOP]
    assert output.remaining() == 0.0 and not output.speaking


def test_the_agents_voice_goes_out_even_while_the_bot_is_paused():
    output, _, outgoing = make()
    output.pause()

    output.send_other_voice(speech(0.02))

    assert sent(outgoing) == [0.02]
    assert output.remaining() == 0.0  # not the bot's turn-taking


# the scripted recogniser


def utterance(recognizer: ScriptedRecognizer, seconds: float) -> Any:
    recognizer.start(0.0)
    for _ in range(round(seconds / 0.02)):
        assert recognizer.accept(quiet(0.02)) == ""  # no partial words
    return recognizer.finish()


def test_each_utterance_says_the_next_line_as_lowercase_words():
    recognizer = ScriptedRecognizer(["Quiero hablar con una persona.", "Sí, por favor"])

    first = utterance(recognizer, 1.0)
    second = utterance(recognizer, 0.6)

    assert first.text == "quiero hablar con una persona"
    assert [w.word for w in first.words] == ["quiero", "hablar", "con", "una", "persona"]
    assert first.words[0].start == 0.0 and first.words[-1].end == pytest.approx(1.0)
    assert all(w.confidence == 1.0 for w in first.words)
    assert second.text == "sí por favor"


def test_short_noises_take_no_line():
    recognizer = ScriptedRecognizer(["hola"], min_speech_s=0.4)

    assert utterance(recognizer, 0.2).text == ""
    assert utterance(recognizer, 0.5).text == "hola"


def test_nothing_once_the_script_is_done():
    recognizer = ScriptedRecognizer(["hola"])
    utterance(recognizer, 1.0)

    assert utterance(recognizer, 1.0).text == ""


def test_each_utterance_counts_its_own_audio():
    recognizer = ScriptedRecognizer(["uno", "dos"], min_speech_s=0.4)
    utterance(recognizer, 0.3)

    assert utterance(recognizer, 0.3).text == ""  # 0.3 + 0.3 would have passed


def test_read_script_from_text_and_from_a_turns_transcript(tmp_path: Path):
    text = tmp_path / "caller.txt"
    text.write_text("hola\n\n  quiero una cita  \n", encoding="utf-8")
    turns = tmp_path / "caller.turns.json"
    turns.write_text(
        json.dumps({"turns": [{"text": "buenos días", "start": 0.5, "end": 1.5}]}),
        encoding="utf-8",
    )

    assert read_script(text) == [ScriptLine("hola"), ScriptLine("quiero una cita")]
    assert read_script(turns) == [ScriptLine("buenos días", 1.0)]


def test_a_line_of_known_length_shows_its_words_while_it_is_heard():
    recognizer = ScriptedRecognizer([ScriptLine("a qué hora abren", 1.0)])
    recognizer.start(0.0)

    partials = [recognizer.accept(quiet(0.1)) for _ in range(14)]  # 0.3 s pre-roll + 1.1 s

    assert partials[1] == ""  # 0.2 s: still the pre-roll
    assert partials[5] == "a"  # 0.6 s: the first quarter of the line heard
    assert partials[9] == "a qué"  # 1.0 s
    assert partials[12] == "a qué hora abren"  # 1.3 s: the whole line
    assert partials[-1] == "a qué hora abren"
    final = recognizer.finish()
    assert final.text == "a qué hora abren"
    assert final.words[-1].end == pytest.approx(1.3)


class CountingDecoder:
    name = "counting"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.audio_s = 0.0

    def start(self, at: float) -> None:
        self.calls.append("start")

    def accept(self, pcm: bytes) -> str:
        self.audio_s += len(pcm) / 32000
        return "palabras que no cuentan"

    def finish(self) -> Any:
        self.calls.append("finish")

    def warm_up(self) -> None:
        self.calls.append("warm_up")

    def pause(self, paused: bool) -> None:
        self.calls.append(f"pause {paused}")


def test_a_decoder_hears_every_sample_but_the_words_come_from_the_script():
    decoder = CountingDecoder()
    recognizer = ScriptedRecognizer(["hola"], decoder=decoder)

    result = utterance(recognizer, 0.6)

    assert result.text == "hola"
    assert decoder.calls == ["start", "finish"]
    assert decoder.audio_s == pytest.approx(0.6)
    assert recognizer.name == "scripted (decoded by counting)"
