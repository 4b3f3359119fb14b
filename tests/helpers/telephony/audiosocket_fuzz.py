"""A PBX's AudioSocket byte streams for property tests (hypothesis strategies), and a small
model of what the protocol says the gateway must do with one: the unit tests
(tests/bot/channels/telephony/test_audiosocket_fuzz.py) and the live one
(tests/integration/test_hostile_lines.py) fuzz the same way.

The AudioSocket protocol is described in tests.helpers.telephony.wire; these kinds are its.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from bot.channels.telephony.keypad import KEYS, MAX_DIGITS
from bot.channels.telephony.phone_line import MAX_PHONE_FRAME_BYTES
from tests.helpers.telephony import wire as protocol

HANGUP, UUID, DTMF = (
    protocol.AUDIOSOCKET_HANGUP,
    protocol.AUDIOSOCKET_UUID,
    protocol.AUDIOSOCKET_DTMF,
)
AUDIO, ERROR = protocol.AUDIOSOCKET_AUDIO, protocol.AUDIOSOCKET_ERROR
message = protocol.audiosocket_message

kinds = st.one_of(st.sampled_from([HANGUP, UUID, DTMF, AUDIO, ERROR]), st.integers(0, 255))
payloads = st.one_of(
    st.binary(max_size=8),
    # any length, odd and even, around the largest frame allowed
    st.integers(0, MAX_PHONE_FRAME_BYTES + 10).map(lambda n: b"\x01" * n),
    st.sampled_from([b"#", b"*", b"0", b"5", b"A", b"x", b"\xff"]),
)
messages = st.tuples(kinds, payloads)
keys = st.sampled_from(sorted(KEYS | {"x", "é", "\x00"}))
keypad_messages = keys.map(lambda key: (DTMF, key.encode()))
audio_messages = st.integers(1, 160).flatmap(
    lambda n: st.binary(min_size=2 * n, max_size=2 * n).map(lambda pcm: (AUDIO, pcm))
)
entries = st.text(alphabet="0123456789*#", min_size=1, max_size=8).map(
    lambda typed: [(DTMF, key.encode()) for key in typed]  # a caller keying in a code
)
# mostly what Asterisk sends (audio, keys), with anything at all mixed in
streams = st.lists(
    st.one_of(
        messages.map(lambda m: [m]),
        keypad_messages.map(lambda m: [m]),
        audio_messages.map(lambda m: [m]),
        st.lists(audio_messages, max_size=6),
        entries,
    ),
    max_size=12,
).map(lambda parts: [m for part in parts for m in part])


def wire(stream: list[tuple[int, bytes]]) -> bytes:
    """The bytes of these (kind, payload) messages on the connection."""
    return b"".join(message(kind, payload) for kind, payload in stream)


@dataclass
class Expected:
    frames: list[int] = field(default_factory=list)  # 8 kHz bytes of each good audio frame
    entries: list[str] = field(default_factory=list)
    broken: bool = False
    clean_end: bool = False


def model(data: bytes) -> Expected:
    """What the protocol says should happen to this byte stream."""
    expected = Expected()
    digits = ""
    offset = 0
    while True:
        header = data[offset : offset + 3]
        if len(header) < 3:
            expected.clean_end = True  # the end of the stream, even inside a header
            return expected
        kind, length = header[0], int.from_bytes(header[1:3], "big")
        payload = data[offset + 3 : offset + 3 + length]
        if len(payload) < length:
            expected.clean_end = True  # cut inside a payload: the connection ended
            return expected
        offset += 3 + length
        if kind == AUDIO:
            if not payload or len(payload) % 2 or len(payload) > MAX_PHONE_FRAME_BYTES:
                expected.broken = True
                return expected
            expected.frames.append(len(payload))
        elif kind == DTMF and len(payload) == 1:
            key = payload.decode("ascii", "replace")
            if key not in KEYS:
                expected.broken = True
                return expected
            if key == "#":
                if digits:
                    expected.entries.append(digits)
                digits = ""
            elif key == "*":
                digits = ""
            elif key.isdigit():
                digits = (digits + key)[:MAX_DIGITS]
        elif kind in (HANGUP, ERROR):
            expected.clean_end = True
            return expected
        else:
            expected.broken = True
            return expected
