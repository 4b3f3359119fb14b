"""Booking: slots, alternatives, and no double booking of the last place, even concurrently."""

import datetime as dt
import multiprocessing
import time
from pathlib import Path

import pytest

from actions.language.numbers import keyed
from actions.services.appointments import SlotProblem, changed_since
from actions.services.database import open_database
from tests.helpers.actions import MADRID, make_services


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MADRID)


@pytest.fixture
def shop(services):
    return services.catalog.service("shop_appointment"), services.catalog.shop("sevilla_nervion")


def test_starts_follow_opening_hours_and_duration(services, shop):
    starts = services.appointments.starts_on(*shop, dt.date(2026, 3, 3))
    assert starts[0] == at(2026, 3, 3, 10, 0) and starts[-1] == at(2026, 3, 3, 21, 30)
    assert len(starts) == 24


@pytest.mark.parametrize(
    "start, problem",
    [
        (at(2026, 3, 1, 12, 0), SlotProblem.PAST),
        (at(2026, 3, 2, 10, 0), SlotProblem.TOO_SOON),
        (at(2026, 3, 8, 12, 0), SlotProblem.CLOSED_DAY),
        (at(2026, 3, 3, 8, 0), SlotProblem.NOT_OFFERED),
        (at(2026, 3, 3, 10, 15), SlotProblem.NOT_OFFERED),
        (at(2026, 6, 1, 12, 0), SlotProblem.TOO_FAR),
        (at(2026, 3, 3, 12, 0), None),
    ],
)
def test_slot_problems(services, shop, start, problem):
    assert services.appointments.slot_problem(*shop, start) == problem


def test_full_slot_and_nearest_alternatives(services, shop):
    start = at(2026, 3, 3, 12, 0)
    for name in ("Ana", "Luis"):
        assert services.appointments.book(*shop, start, name, "600000000")
    assert services.appointments.book(*shop, start, "Eva", "600000001") is None
    assert services.appointments.slot_problem(*shop, start) == SlotProblem.FULL
    # the three free starts nearest to 12:00 on the same day, in time order
    assert services.appointments.alternatives(*shop, start) == [
        at(2026, 3, 3, 11, 0),
        at(2026, 3, 3, 11, 30),
        at(2026, 3, 3, 12, 30),
    ]


def test_cancel_frees_the_place_and_reschedule_moves_it(services, shop):
    first = services.appointments.book(*shop, at(2026, 3, 3, 12, 0), "Ana", "600000000")
    services.appointments.book(*shop, at(2026, 3, 3, 12, 0), "Luis", "600000000")
    assert services.appointments.cancel(first.code).status == "cancelled"
    assert services.appointments.cancel(first.code) is None  # already cancelled
    assert services.appointments.slot_problem(*shop, at(2026, 3, 3, 12, 0)) is None
    second = services.appointments.book(*shop, at(2026, 3, 3, 13, 0), "Eva", "600000000")
    moved = services.appointments.reschedule(second.code, at(2026, 3, 4, 17, 0))
    assert moved.starts_at == at(2026, 3, 4, 17, 0) and moved.code == second.code
    assert services.appointments.get("ZZ0000") is None


def _book_in_process(database_url: str, barrier, results) -> None:
    from tests.helpers.actions import make_services as build

    services = build(Path("unused"), database_url=database_url)
    service = services.catalog.service("fibre_installation")
    place = services.catalog.shop("madrid_gran_via")
    barrier.wait()
    booking = services.appointments.book(
        service, place, at(2026, 3, 4, 9, 0), "Cliente", "600000000"
    )
    results.put(booking.code if booking else None)


def test_the_same_booking_sent_again_by_its_conversation_is_made_once(services, shop):
    """A turn sent again (its Rasa server died half-way, another ran it) gives the booking
    already made; another conversation, or another time, books anew."""
    start = at(2026, 3, 3, 12, 0)
    book = services.appointments.book
    first = book(*shop, start, "Ana", "600000000", conversation_id="c1")
    again = book(*shop, start, "Ana", "600000000", conversation_id="c1")
    other = book(*shop, start, "Luis", "600000001", conversation_id="c2")
    later = book(*shop, at(2026, 3, 3, 13, 0), "Ana", "600000000", conversation_id="c1")

    assert first is not None and again == first
    assert other is not None and later is not None
    assert len({first.code, other.code, later.code}) == 3
    services.appointments.cancel(first.code)
    rebooked = book(*shop, start, "Ana", "600000000", conversation_id="c1")  # after a cancel
    assert rebooked is not None and rebooked.code != first.code


def test_concurrent_bookings_never_exceed_capacity(tmp_path, database_url: str):
    """Six processes race for a slot with room for two, on the same real SQLite file or
    PostgreSQL database (as several action servers do)."""
    make_services(tmp_path, database_url=database_url)  # creates and seeds the database once
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(6), context.Queue()
    workers = [
        context.Process(target=_book_in_process, args=(database_url, barrier, results))
        for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    codes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    booked = [code for code in codes if code]
    assert len(booked) == 2 and len(set(booked)) == 2
    services = make_services(tmp_path, database_url=database_url)
    assert all(services.appointments.get(code).status == "confirmed" for code in booked)


def test_bookings_survive_a_restart(tmp_path, shop, database_url: str):
    first = make_services(tmp_path, database_url=database_url)
    booking = first.appointments.book(*shop, at(2026, 3, 3, 12, 0), "Ana", "600000000")
    again = make_services(tmp_path, database_url=database_url)
    assert again.appointments.get(booking.code) == booking


def test_a_code_keyed_on_the_phone_finds_its_booking(services, shop):
    booking = services.appointments.book(*shop, at(2026, 3, 3, 12, 0), "Ana", "600000000")
    keys = keyed(booking.code)
    assert keys.isdigit() and keys[2:] == booking.code[2:]

    assert services.appointments.find_keyed(keys) == [booking.code]
    wrong_letters = ("9" if keys[0] != "9" else "2") + keys[1:]
    assert services.appointments.find_keyed(wrong_letters) == []
    other_digits = f"{(int(keys[2:]) + 1) % 10000:04d}"
    assert services.appointments.find_keyed(keys[:2] + other_digits) == []


def test_a_change_says_which_conversation_made_it(services, shop, tmp_path: Path):
    """What a turn cut short by a fault reads back: did this conversation cancel or move it?"""
    engine = open_database(f"sqlite:///{tmp_path / 'actions.db'}")
    before = time.time()
    booking = services.appointments.book(*shop, at(2026, 3, 3, 12, 0), "Ana", "600000000")
    assert changed_since(engine, "conv-1", before) is None  # booked, not changed
    services.appointments.reschedule(booking.code, at(2026, 3, 4, 17, 0), "conv-1")
    moved = changed_since(engine, "conv-1", before)
    assert moved is not None and moved.starts_at == at(2026, 3, 4, 17, 0)
    assert changed_since(engine, "conv-2", before) is None  # another conversation's turn
    assert changed_since(engine, "conv-1", time.time() + 1) is None  # an earlier change
    services.appointments.cancel(booking.code, "conv-2")
    cancelled = changed_since(engine, "conv-2", before)
    assert cancelled is not None and cancelled.status == "cancelled"
