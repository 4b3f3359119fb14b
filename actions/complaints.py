"""Complaints (reclamaciones) and technical incidents, each with a reference and a deadline."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import bot_spoke_this_turn, latest_intent
from actions.forms import TopicFormValidation
from actions.language.matching import find_named
from actions.language.phrases import say_date, spell_code
from actions.replies import say
from actions.services.registry import services

MAX_DESCRIPTION = 2000
# An opening message this long already tells the story ("no tengo internet desde ayer");
# a shorter one only asks to start ("quiero poner una reclamación").
STORY_WORDS = {"complaint_description": 8, "problem_description": 4}


class ValidateComplaintForm(TopicFormValidation):
    """Collects the category and a free description of the complaint."""

    own_intents = frozenset({"complain", "report_problem"})

    def name(self) -> str:
        return "validate_complaint_form"

    async def extract_complaint_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker)
        found = find_named(text, services().catalog.complaints.categories) if text else None
        if found:
            return {"complaint_category": found.id}
        intent, _ = latest_intent(tracker)
        if (
            text
            and intent != "nlu_fallback"
            and tracker.get_slot("requested_slot") == "complaint_category"
        ):
            return {"complaint_category": "other"}  # free words: registered, an agent sorts it
        return {}

    async def extract_complaint_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return _description(self, tracker, "complaint_description", opening_intent="complain")


class ValidateProblemForm(TopicFormValidation):
    """Collects a short description of the technical problem."""

    own_intents = frozenset({"complain", "report_problem"})

    def name(self) -> str:
        return "validate_problem_form"

    async def extract_problem_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return _description(self, tracker, "problem_description", opening_intent="report_problem")


def _description(
    form: TopicFormValidation, tracker: Tracker, slot: str, opening_intent: str
) -> dict[str, Any]:
    """The answer to the description question, or an opening message that already tells it."""
    requested = tracker.get_slot("requested_slot")
    text = form.answer_for(tracker)
    if text is None:
        return {}
    intent, _ = latest_intent(tracker)
    tells_story = intent == opening_intent and len(text.split()) >= STORY_WORDS[slot]
    if requested == slot or (requested is None and tells_story):
        return {slot: text[:MAX_DESCRIPTION]}
    return {}


class ActionAskComplaintCategory(Action):
    """Asks what the complaint is about, with the operator's categories as buttons."""

    def name(self) -> str:
        return "action_ask_complaint_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        categories = services().catalog.complaints.categories
        buttons = [{"title": c.name.capitalize(), "payload": c.name} for c in categories]
        if not bot_spoke_this_turn(tracker):
            say(dispatcher, tracker, "ask_complaint_category", buttons)
        return []


class ActionRegisterComplaint(Action):
    """Registers the complaint and gives the reference, the deadline and the next step."""

    def name(self) -> str:
        return "action_register_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rules = services().catalog.complaints
        ticket = services().tickets.open(
            "complaint",
            tracker.get_slot("complaint_category") or "other",
            tracker.get_slot("complaint_description") or "",
            tracker.sender_id,
        )
        today = services().hours.now().date()
        say(
            dispatcher,
            tracker,
            "complaint_registered",
            reference=ticket.reference,
            reference_spoken=spell_code(ticket.reference),
            days=rules.complaint_response_days,
            deadline=say_date(ticket.due_at.date(), today),
            ombudsman=rules.ombudsman,
        )
        return [SlotSet("complaint_category", None), SlotSet("complaint_description", None)]


class ActionReportProblem(Action):
    """Opens an incident and offers technical support straight away."""

    def name(self) -> str:
        return "action_report_problem"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        ticket = services().tickets.open(
            "incident",
            "technical",
            tracker.get_slot("problem_description") or "",
            tracker.sender_id,
        )
        say(
            dispatcher,
            tracker,
            "incident_opened",
            reference=ticket.reference,
            reference_spoken=spell_code(ticket.reference),
            hours=services().catalog.complaints.incident_response_hours,
        )
        return [SlotSet("problem_description", None), SlotSet("handoff_offered", True)]
