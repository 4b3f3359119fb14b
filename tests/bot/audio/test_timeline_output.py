"""The virtual speaker of replayed calls: the bot's audio laid on the call's timeline."""

from __future__ import annotations

import numpy as np
import pytest

from bot.audio.pcm import SAMPLE_RATE, seconds
from bot.audio.timeline_output import TimelineOutput
from tests.helpers.voice_fakes import ManualClock, speech


def make(now: float = 0.0) -> tuple[TimelineOutput, ManualClock]:
    clock = ManualClock(now)
    return TimelineOutput(clock), clock


def level_at(track: bytes, at: float) -> int:
    samples = np.frombuffer(track, "<i2")
    index = round(at * SAMPLE_RATE)
    return int(samples[index]) if index < len(samples) else 0


def voiced_spans(track: bytes) -> list[tuple[float, float, int]]:
    """(start, end, level) of every run of one constant nonzero level, in seconds."""
    samples = np.frombuffer(track, "<i2")
    spans: list[tuple[float, float, int]] = []
    start = None
    for i in range(len(samples) + 1):
        value = int(samples[i]) if i < len(samples) else 0
        if start is not None and value != int(samples[start]):
            spans.append((start / SAMPLE_RATE, i / SAMPLE_RATE, int(samples[start])))
            start = None
        if start is None and value != 0:
            start = i
    return spans


def test_play_lays_audio_at_now_or_after_what_is_already_there():
    output, clock = make(1.0)

    assert output.play(speech(0.5, 100), turn=0) == pytest.approx(1.0)
    clock.set(1.2)
    assert output.play(speech(0.3, 200), turn=0) == pytest.approx(1.5)  # queued behind
    clock.set(3.0)
    assert output.play(speech(0.2, 300), turn=1) == pytest.approx(3.0)  # the speaker was idle

    assert voiced_spans(output.track()) == [
        pytest.approx((1.0, 1.5, 100)),
        pytest.approx((1.5, 1.8, 200)),
        pytest.approx((3.0, 3.2, 300)),
    ]
    assert seconds(output.track()) == pytest.approx(3.2)
    assert level_at(output.track(), 0.5) == 0 and level_at(output.track(), 2.0) == 0


def test_speaking_and_remaining_follow_the_play_head():
    output, clock = make(1.0)
    assert not output.speaking and output.remaining() == 0.0

    output.play(speech(2.0), turn=0)

    assert output.speaking and output.remaining() == pytest.approx(2.0)
    clock.set(2.5)
    assert output.speaking and output.remaining() == pytest.approx(0.5)
    clock.set(3.0)
    assert not output.speaking and output.remaining() == 0.0


def test_pause_cuts_at_now_and_resume_plays_the_rest_at_the_new_now():
    output, clock = make(0.0)
    output.play(speech(1.0, 100), turn=0)
    output.play(speech(1.0, 200), turn=0)
    clock.set(0.4)

    output.pause()

    assert not output.speaking
    assert output.remaining() == pytest.approx(1.6)
    assert seconds(output.track()) == pytest.approx(0.4)
    assert output.play(speech(0.5, 300), turn=0) is None  # held while paused
    assert output.remaining() == pytest.approx(2.1)

    clock.set(1.0)
    output.resume()

    assert output.speaking and output.remaining() == pytest.approx(2.1)
    assert voiced_spans(output.track()) == [
        pytest.approx((0.0, 0.4, 100)),
        pytest.approx((1.0, 1.6, 100)),  # the rest of the first sentence, from the new now
        pytest.approx((1.6, 2.6, 200)),
        pytest.approx((2.6, 3.1, 300)),
    ]


def test_stop_drops_the_rest_and_later_audio_of_older_turns():
    output, clock = make(0.0)
    output.play(speech(2.0, 100), turn=1)
    clock.set(0.5)

    output.stop(stale_before=2)

    assert not output.speaking and output.remaining() == 0.0
    assert output.play(speech(1.0, 200), turn=1) is None  # late audio of the interrupted reply
    assert output.play(speech(1.0, 300), turn=0) is None
    clock.set(0.8)
    assert output.play(speech(0.5, 400), turn=2) == pytest.approx(0.8)
    assert voiced_spans(output.track()) == [
        pytest.approx((0.0, 0.5, 100)),
        pytest.approx((0.8, 1.3, 400)),
    ]


def test_stop_while_paused_drops_what_was_held():
    output, clock = make(0.0)
    output.play(speech(2.0, 100), turn=1)
    clock.set(0.3)
    output.pause()
    output.play(speech(1.0, 200), turn=1)

    clock.set(1.0)
    output.stop(stale_before=2)

    assert output.remaining() == 0.0
    assert output.play(speech(0.2, 300), turn=2) == pytest.approx(1.0)  # no longer paused
    assert voiced_spans(output.track()) == [
        pytest.approx((0.0, 0.3, 100)),
        pytest.approx((1.0, 1.2, 300)),
    ]


def test_the_track_is_silent_where_nothing_played():
    output, clock = make(2.0)

    output.play(speech(0.25), turn=0)

    track = output.track()
    assert seconds(track) == pytest.approx(2.25)
    assert not any(track[: 2 * 2 * SAMPLE_RATE])
    assert all(np.frombuffer(track[2 * 2 * SAMPLE_RATE :], "<i2") != 0)
