"""What every form's validation shares: reading the answer to the question just asked."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import bot_spoke_this_turn, is_digression, latest_intent, latest_text
from actions.replies import say

SWITCH_CONFIDENCE = 0.8
OTHER_TOPICS = frozenset(
    {
        "ask_opening_hours", "book_appointment", "reschedule_appointment", "cancel_appointment",
        "check_appointment", "track_order", "complain", "report_problem", "goodbye",
        "bot_challenge", "out_of_scope",
    }
)  # fmt: skip


MAX_FAILED_ANSWERS = 2


def accepts_offer(tracker: Tracker) -> bool:
    """A clear "sí" right after the assistant offered a person."""
    name, confidence = latest_intent(tracker)
    return bool(tracker.get_slot("handoff_offered")) and name == "affirm" and confidence >= 0.6


class TopicFormValidation(FormValidationAction, ABC):
    """Base of the forms' validation actions.

    A message that asks for a person or shows anger never fills a slot: the form rejects it and
    the handoff rule takes over. Nor does a confident question about another topic ("¿a qué
    hora abren?" while a booking code is asked): the form rejects it, that topic's rule answers,
    and the form carries on with the next message. `answer_for` gives the text when the
    message is a real answer.
    """

    # the form's own topics: a message classified as one of these may still carry an answer
    own_intents: frozenset[str] = frozenset()

    @abstractmethod
    def name(self) -> str:
        """Every concrete form validation names itself `validate_<form>`."""

    def answer_for(self, tracker: Tracker, slot: str | None = None) -> str | None:
        """The latest text if it may answer `slot` (any slot when None), else None."""
        if is_digression(tracker) or self._switches_topic(tracker) or accepts_offer(tracker):
            return None
        if slot is not None and tracker.get_slot("requested_slot") != slot:
            return None
        text = latest_text(tracker).strip()
        return text or None

    def _switches_topic(self, tracker: Tracker) -> bool:
        name, confidence = latest_intent(tracker)
        return (
            name in OTHER_TOPICS
            and name not in self.own_intents
            and confidence >= SWITCH_CONFIDENCE
        )

    def reject(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
        reply: str,
        **values: Any,
    ) -> dict[str, Any]:
        """Says why the answer for `slot` was not taken; from the second failed answer in a row
        on, also offers a person, so nobody is stuck in a loop of questions."""
        say(dispatcher, tracker, reply, **values)
        failures = int(tracker.get_slot("failed_answers") or 0) + 1
        result: dict[str, Any] = {slot: None, "failed_answers": float(failures)}
        if failures >= MAX_FAILED_ANSWERS:
            say(dispatcher, tracker, "offer_person")
            result["handoff_offered"] = True
        return result

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Validates as rasa_sdk does; after an answer to the form, also resets the failure count
        (good answer) and withdraws an offer of a person the customer did not take up.

        Nothing is added when the message answered nothing: Rasa rejects the form only when the
        validation sets no slot at all, and that rejection is what lets the rules for "a person",
        "sí" to an offer, or another topic answer instead.
        """
        events = await super().run(dispatcher, tracker, domain)
        set_now = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        form_slots = set(self.domain_slots(domain))
        if not form_slots & set(set_now):
            return events
        extra = []
        good = any(set_now.get(slot) is not None for slot in form_slots)
        if good and "failed_answers" not in set_now:
            extra.append(SlotSet("failed_answers", 0.0))
        if tracker.get_slot("handoff_offered") and "handoff_offered" not in set_now:
            extra.append(SlotSet("handoff_offered", False))
        return events + extra

    @staticmethod
    def failed(tracker: Tracker, counter: str = "verification_failures") -> dict[str, Any]:
        """Counts one more failed answer in `counter`."""
        return {counter: float(tracker.get_slot(counter) or 0) + 1}


# Questions whose wording never depends on the conversation: one ask action per slot, each
# saying replies.yml's `ask_<slot>`, unless the validation just explained a problem (its reply
# already asks again). Questions built from live data have their own classes.
PLAIN_QUESTIONS = (
    "service",
    "date",
    "customer_name",
    "phone",
    "booking_code",
    "order_number",
    "postcode",
    "complaint_description",
    "problem_description",
)


def _question_action(slot: str) -> type[Action]:
    class AskQuestion(Action):
        __doc__ = f"Asks for `{slot}`."

        def name(self) -> str:
            return f"action_ask_{slot}"

        async def run(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
        ) -> list[dict[str, Any]]:
            if not bot_spoke_this_turn(tracker):
                say(dispatcher, tracker, f"ask_{slot}")
            return []

    AskQuestion.__name__ = AskQuestion.__qualname__ = f"ActionAsk{slot.title().replace('_', '')}"
    return AskQuestion


QUESTION_ACTIONS = tuple(_question_action(slot) for slot in PLAIN_QUESTIONS)
