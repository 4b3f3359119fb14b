"""Demo orders seeded from YAML; complaints and incidents with references and deadlines."""

import datetime as dt

from sqlalchemy import update

from actions.services.database import orders
from actions.services.orders import OrderService


def test_orders_are_seeded_relative_to_today(services):
    order = services.orders.get("48213")
    assert order.postcode == "28013" and order.status == "in_transit"
    assert order.estimated_delivery == dt.date(2026, 3, 3)
    assert [e.status for e in order.history] == ["received", "preparing", "shipped", "in_transit"]
    assert services.orders.get("00731").number == "00731"  # leading zeros kept
    assert services.orders.get("99999") is None


def test_reseeding_happens_only_when_the_file_or_the_day_changes(services, tmp_path):
    engine = services.appointments._engine  # the same database
    today = lambda: dt.date(2026, 3, 2)  # noqa: E731
    services.orders.get("48213")  # seeds from the real file
    with engine.begin() as connection:
        connection.execute(update(orders).where(orders.c.number == "48213").values(item="cambiado"))
    same_file = OrderService(engine, services.catalog.orders_file, today)
    assert same_file.get("48213").item == "cambiado"  # nothing reseeded
    other_file = tmp_path / "orders.yml"
    other_file.write_text(
        "orders:\n"
        '  - {number: "11111", postcode: "28001", item: x, carrier: y, status: preparing}\n'
    )
    changed = OrderService(engine, other_file, today)
    assert changed.get("11111") is not None and changed.get("48213") is None


def test_complaint_reference_and_deadline(services):
    ticket = services.tickets.open("complaint", "billing", "me cobraron dos veces", "conv-1")
    assert ticket.reference.startswith("RC-") and len(ticket.reference) == 9
    assert ticket.due_at.date() == dt.date(2026, 4, 1)  # 30 days after Monday 2 March
    incident = services.tickets.open("incident", "technical", "sin internet", "conv-1")
    assert incident.reference.startswith("IN-") and incident.reference != ticket.reference


def test_demo_orders_follow_the_calendar(services, clock):
    assert services.orders.get("48213").estimated_delivery == dt.date(2026, 3, 3)
    clock.now += dt.timedelta(days=1)
    assert services.orders.get("48213").estimated_delivery == dt.date(2026, 3, 4)
