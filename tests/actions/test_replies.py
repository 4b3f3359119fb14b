"""Every reply an action names exists, and every template fills in both variants."""

import re
import string

from actions.replies import _templates, render, template_keys
from actions.settings import PROJECT_ROOT

SLOT_PROBLEMS = {"past", "too_soon", "too_far", "closed_day", "not_offered", "full"}
# reasons the handoff action itself produces (`error` comes from the channels, `complaint` from
# the gateway, with their own words)
REASONS = {"user_request", "frustration", "repeated_fallback", "department_closed"}


def keys_named_in_code() -> set[str]:
    code = "\n".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "actions").glob("*.py"))
    named = set(re.findall(r'say\(\s*dispatcher,\s*tracker,\s*"([a-z_]+)"', code))
    named |= set(re.findall(r'"(ask_place_[a-z]+|code_unknown|booking_already_cancelled)"', code))
    named |= {f"slot_{p}" for p in SLOT_PROBLEMS} | {f"handoff_{r}" for r in REASONS}
    from actions.forms import PLAIN_QUESTIONS

    return named | {f"ask_{slot}" for slot in PLAIN_QUESTIONS}


def test_every_reply_named_by_an_action_exists():
    assert keys_named_in_code() - template_keys() == set()


def test_every_template_renders_on_chat_and_voice():
    for key, template in _templates().items():
        parts = [template["text"], template.get("voice", "")] + [
            b["title"] + b["payload"] for b in template.get("buttons", [])
        ]
        names = {
            field for part in parts for _, field, _, _ in string.Formatter().parse(part) if field
        }
        for channel in ("webchat", "voice"):
            rendered = render(key, channel, **{name: "x" for name in names})
            if channel == "voice" and template.get("voice") == "":
                assert rendered == {"text": ""}, key  # deliberately silent on the phone
                continue
            assert rendered["text"] and "{" not in rendered["text"], key
            assert channel == "webchat" or "buttons" not in rendered, key


def test_a_reply_with_an_empty_voice_variant_is_not_said_on_the_phone():
    from rasa_sdk.executor import CollectingDispatcher

    from actions.replies import say
    from tests.helpers.actions import tracker_for

    values = {"period": "del 1 de julio al 31 de agosto", "schedule": "de 8:00 a 15:00"}
    for channel, expected in (("voice", 0), ("webchat", 1)):
        dispatcher = CollectingDispatcher()
        say(dispatcher, tracker_for("horario", channel=channel), "hours_summer", **values)
        assert len(dispatcher.messages) == expected, channel
