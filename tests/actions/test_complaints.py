"""Complaints and incidents: reference numbers, deadlines and the next step."""

from actions.complaints import ActionRegisterComplaint, ActionReportProblem, ValidateComplaintForm
from tests.helpers.actions import run_action, slots_set, texts, tracker_for


def test_short_opening_asks_while_a_whole_story_fills_the_description(services):
    opening = tracker_for("quiero poner una reclamación", "complain", active_loop="complaint_form")
    assert "complaint_description" not in slots_set(run_action(ValidateComplaintForm(), opening)[1])
    story = "me han cobrado dos veces la factura de octubre y nadie me lo soluciona"
    _, events = run_action(
        ValidateComplaintForm(), tracker_for(story, "complain", active_loop="complaint_form")
    )
    assert slots_set(events) == {"complaint_category": "billing", "complaint_description": story}


def test_free_words_for_the_category_are_kept_as_other(services):
    tracker = tracker_for(
        "pues un poco de todo",
        slots={"requested_slot": "complaint_category"},
        active_loop="complaint_form",
    )
    assert (
        slots_set(run_action(ValidateComplaintForm(), tracker)[1])["complaint_category"] == "other"
    )


def test_registered_complaint_gets_reference_deadline_and_ombudsman(services):
    tracker = tracker_for(
        "", slots={"complaint_category": "billing", "complaint_description": "cobro doble"}
    )
    reply = texts(run_action(ActionRegisterComplaint(), tracker)[0])
    assert "referencia RC-" in reply and "como tarde el miércoles 1 de abril" in reply
    assert "Defensor del Cliente" in reply


def test_incident_offers_technical_support(services):
    messages, events = run_action(
        ActionReportProblem(), tracker_for("", slots={"problem_description": "no tengo internet"})
    )
    assert "He abierto la incidencia IN-" in texts(messages)
    assert slots_set(events)["handoff_offered"] is True


def test_keyboard_mashing_is_not_a_category(services):
    tracker = tracker_for(
        "dfgdfg sdfsdf",
        "nlu_fallback",
        slots={"requested_slot": "complaint_category"},
        active_loop="complaint_form",
    )
    assert slots_set(run_action(ValidateComplaintForm(), tracker)[1]) == {}
