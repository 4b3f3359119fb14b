"""Keypad digits gathered into entries: '#' or a pause ends one, '*' starts again."""

from __future__ import annotations

import asyncio

from bot.channels.telephony.keypad import MAX_DIGITS, KeypadEntry


def collect(keys: str, pause_s: float = 0.05, wait_s: float = 0.0) -> tuple[list[str], list[bool]]:
    async def scenario() -> tuple[list[str], list[bool]]:
        entries: list[str] = []

        async def on_entry(digits: str) -> None:
            entries.append(digits)

        keypad = KeypadEntry(on_entry, pause_s)
        accepted = [await keypad.press(key) for key in keys]
        await asyncio.sleep(wait_s)
        keypad.close()
        return entries, accepted

    return asyncio.run(scenario())


def test_hash_ends_an_entry_at_once():
    assert collect("48213#")[0] == ["48213"]


def test_a_pause_ends_an_entry():
    assert collect("28013", pause_s=0.05, wait_s=0.15)[0] == ["28013"]
    assert collect("28013", pause_s=1.0, wait_s=0.05)[0] == []  # still typing


def test_star_starts_again_and_an_empty_entry_is_nothing():
    assert collect("12*48213#")[0] == ["48213"]
    assert collect("#*#")[0] == []


def test_a_lone_zero_is_an_entry_of_its_own():
    assert collect("0#")[0] == ["0"]


def test_keys_that_are_not_on_a_keypad_are_refused():
    entries, accepted = collect("1x#")
    assert accepted == [True, False, True] and entries == ["1"]


def test_a_stuck_key_is_cut_at_the_longest_code():
    assert collect("5" * 100 + "#")[0] == ["5" * MAX_DIGITS]
