"""The simulated caller's ear: what it counts as the bot's voice, silence, and gaps."""

from __future__ import annotations

import pytest

from bench.caller import QUIET_S, Speaker, script_lines
from bot.settings import PROJECT_ROOT

SECOND = bytes(32000)  # one second of pipeline audio


def test_audio_plays_on_arrival_after_what_is_queued():
    speaker = Speaker()
    speaker.audio(10.0, SECOND)
    speaker.audio(10.2, SECOND)  # arrives while the first second plays

    assert speaker.heard_from == [10.0, 11.0]
    assert speaker.playing(11.5) and not speaker.playing(12.1)
    assert speaker.underrun_ms == []


def test_a_late_piece_in_the_middle_of_a_reply_is_an_underrun():
    speaker = Speaker()
    speaker.audio(10.0, SECOND)
    speaker.audio(11.3, SECOND)  # the first second ended at 11.0

    assert speaker.underrun_ms == [pytest.approx(300.0, abs=0.01)]


def test_the_first_piece_of_a_reply_is_never_an_underrun():
    speaker = Speaker()
    speaker.audio(10.0, SECOND)
    speaker.in_reply = False  # the caller spoke
    speaker.audio(15.0, SECOND)

    assert speaker.underrun_ms == []


def test_pause_holds_the_rest_resume_plays_it_stop_drops_it():
    speaker = Speaker()
    speaker.audio(10.0, SECOND)
    speaker.control(10.4, "pause")
    assert not speaker.playing(10.5) and speaker.silenced_times == [10.4]
    speaker.control(11.0, "resume")
    assert speaker.playing(11.5) and not speaker.playing(11.7)  # 0.6 s were left
    speaker.control(11.2, "stop")
    assert not speaker.playing(11.3) and speaker.silenced_times == [10.4, 11.2]


def test_finished_needs_the_audio_played_out_and_quiet_after_it():
    speaker = Speaker()
    speaker.audio(10.0, SECOND)

    assert not speaker.finished(11.0 + QUIET_S - 0.1)
    assert speaker.finished(11.0 + QUIET_S)


def test_the_caller_lines_are_cut_from_the_sample_with_the_cut_in_and_the_handoff():
    lines = script_lines(PROJECT_ROOT / "audio" / "samples" / "bench.wav", cut_in=2, handoff=True)

    assert [line.cuts_in for line in lines].index(True) == 2
    assert [line.asks_for_person for line in lines] == [False] * (len(lines) - 1) + [True]
    assert "persona" in lines[-1].text
    assert all(0.3 < len(line.pcm) / 32000 < 5.0 for line in lines)
