"""Wire formats of the phone peers: Twilio's webhook signature and TwiML, AudioSocket framing.

Documents followed, byte by byte:

- Twilio, "TwiML Voice: <Stream>" (https://www.twilio.com/docs/voice/twiml/stream):
  `<Connect><Stream>` is the bidirectional stream; each `<Parameter name value>` arrives in
  `start.customParameters`; the `url` is a `wss://` URL that "does not support query string
  parameters".
- Twilio, "Secure webhooks" (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
  `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, full URL + each POST parameter's name
  immediately followed by its value, sorted by name)). Checked against the vector pinned by
  Twilio's own Python SDK (twilio/twilio-python, tests/unit/test_request_validator.py).
- Asterisk, "AudioSocket" protocol (https://docs.asterisk.org/Configuration/Channel-Drivers/
  AudioSocket/), the `AudioSocket()` application page, and the sources res/res_audiosocket.c,
  apps/app_audiosocket.c and include/asterisk/res_audiosocket.h: a message is a 1-byte kind, a
  2-byte big-endian payload length and the payload; 0x00 hangup, 0x01 UUID (16 raw bytes, sent
  first), 0x03 DTMF (1 ASCII byte), 0x10 audio (signed linear 16-bit little-endian, 8 kHz mono),
  0xff error.

Details the documents do not settle, and what these functions do about them:

- Query strings on the Stream url: the page says they are not supported (others report Twilio
  drops them); `parse_connect_stream` refuses such TwiML. Twilio only connects to `wss://`; it
  also accepts `ws://` because tests run over plain http.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections.abc import Mapping
from urllib.parse import urlsplit
from xml.etree import ElementTree

TWILIO_VOICE_PATH = "/telephony/twilio/voice"
TWILIO_API_VERSION = "2010-04-01"
TWILIO_DIGITS = "0123456789*#"
DTMF_DIGITS = "0123456789*#ABCD"

AUDIOSOCKET_HANGUP = 0x00
AUDIOSOCKET_UUID = 0x01
AUDIOSOCKET_DTMF = 0x03
AUDIOSOCKET_AUDIO = 0x10
AUDIOSOCKET_ERROR = 0xFF
AUDIOSOCKET_HEADER = struct.Struct(">BH")
AUDIOSOCKET_MAX_PAYLOAD = 0xFFFF


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Compute the `X-Twilio-Signature` Twilio sends with a webhook request.

    Args:
        auth_token: The account's auth token, the HMAC key.
        url: The full URL Twilio requested, query string included.
        params: The POST (form) parameters of the request.

    Returns:
        Base64 of HMAC-SHA1 over the URL followed by each parameter's name and value, by name.
    """
    signed = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def audiosocket_message(kind: int, payload: bytes = b"") -> bytes:
    """Frame one AudioSocket message: kind byte, big-endian 16-bit length, payload.

    Args:
        kind: The message kind, 0-255 (0x10 audio, 0x03 DTMF, ...).
        payload: The payload, at most 65535 bytes.

    Returns:
        The bytes to write to the socket.

    Raises:
        ValueError: If the kind or the payload length does not fit the header.
    """
    if not 0 <= kind <= 0xFF:
        raise ValueError(f"AudioSocket kind {kind} does not fit in one byte")
    if len(payload) > AUDIOSOCKET_MAX_PAYLOAD:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes exceeds 65535")
    return AUDIOSOCKET_HEADER.pack(kind, len(payload)) + payload


def parse_audiosocket(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split a byte stream into complete AudioSocket messages.

    Args:
        buffer: Bytes read so far (possibly ending inside a message).

    Returns:
        The complete messages as (kind, payload) and the bytes of an unfinished message.
    """
    messages: list[tuple[int, bytes]] = []
    offset = 0
    while len(buffer) - offset >= AUDIOSOCKET_HEADER.size:
        kind, length = AUDIOSOCKET_HEADER.unpack_from(buffer, offset)
        end = offset + AUDIOSOCKET_HEADER.size + length
        if end > len(buffer):
            break
        messages.append((kind, bytes(buffer[offset + AUDIOSOCKET_HEADER.size : end])))
        offset = end
    return messages, bytes(buffer[offset:])


def parse_connect_stream(twiml: str) -> tuple[str, dict[str, str]]:
    """Read the Stream url and Parameters of `<Response><Connect><Stream>` TwiML (verbs after
    `<Connect>`, for when the stream ends, are allowed and left to the caller of this).

    Args:
        twiml: The body the voice webhook answered with.

    Returns:
        The Stream url and the Parameters (name to value), as Twilio would use them.

    Raises:
        AssertionError: If the TwiML is not exactly that shape (what Twilio would reject or
            would not stream bidirectionally).
    """
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError as error:
        raise AssertionError(f"the voice webhook's TwiML is not XML ({error}): {twiml!r}") from None
    if root.tag != "Response":
        raise AssertionError(f"TwiML root is <{root.tag}>, not <Response>: {twiml!r}")
    verbs = list(root)
    # Verbs after <Connect> are what Twilio does once the stream's WebSocket closes (verbs
    # before it are refused: our webhook never delays the stream)
    if not verbs or verbs[0].tag != "Connect" or "Connect" in [v.tag for v in verbs[1:]]:
        found = [verb.tag for verb in verbs]
        raise AssertionError(
            f"<Response> must start with its one <Connect>, found {found}: {twiml!r}"
        )
    nouns = list(verbs[0])
    if [noun.tag for noun in nouns] != ["Stream"]:
        found = [noun.tag for noun in nouns]
        raise AssertionError(f"<Connect> must hold just <Stream>, found {found}: {twiml!r}")
    stream = nouns[0]
    url = stream.get("url")
    if not url:
        raise AssertionError(f"<Stream> has no url: {twiml!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("wss", "ws") or not parts.netloc:
        raise AssertionError(f"<Stream url> must be an absolute wss:// URL, not {url!r}")
    if parts.query:
        raise AssertionError(f"Twilio does not support a query string on <Stream url>: {url!r}")
    parameters: dict[str, str] = {}
    for child in stream:
        name, value = child.get("name"), child.get("value")
        if child.tag != "Parameter" or name is None or value is None:
            raise AssertionError(f"<Stream> may hold only <Parameter name value/>: {twiml!r}")
        if name in parameters:
            raise AssertionError(f"<Parameter name={name!r}> appears twice: {twiml!r}")
        parameters[name] = value
    return url, parameters
