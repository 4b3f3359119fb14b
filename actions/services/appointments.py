"""Appointments: free slots, atomic booking, alternatives, rescheduling and cancelling."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from actions.language.numbers import keyed
from actions.services.catalog import Catalog, Place, Service
from actions.services.database import bookings, insert_ignoring_duplicates, slot_usage
from actions.services.hours import HoursService

CODE_LETTERS = "ABCDEFGHJKLMNPRSTUVXYZ"  # no I, O, Q, W: easy to tell apart on the phone


class SlotProblem(Enum):
    """Why an appointment cannot start at the asked time."""

    PAST = "past"
    TOO_SOON = "too_soon"
    TOO_FAR = "too_far"
    CLOSED_DAY = "closed_day"
    NOT_OFFERED = "not_offered"  # outside working hours or not a start time of the service
    FULL = "full"
    DAY_FULL = "day_full"  # open that day, but no start left with room (or with enough notice)


@dataclass(frozen=True)
class Booking:
    """A confirmed or cancelled appointment."""

    code: str
    service_id: str
    place_id: str
    starts_at: dt.datetime
    customer_name: str
    phone: str
    status: str


class AppointmentService:
    """Books appointments so that two customers can never take the same last place.

    Args:
        catalog: services, shops and booking rules.
        hours: opening hours and the clock.
        engine: the database holding bookings and slot usage.
    """

    def __init__(self, catalog: Catalog, hours: HoursService, engine: Engine) -> None:
        self._catalog = catalog
        self._hours = hours
        self._engine = engine

    def day_problem(self, service: Service, place: Place, day: dt.date) -> SlotProblem | None:
        """Whether any appointment can be had on `day` at all."""
        today = self._hours.now().date()
        if day < today:
            return SlotProblem.PAST
        if day > today + dt.timedelta(days=self._catalog.booking.horizon_days):
            return SlotProblem.TOO_FAR
        if not self.starts_on(service, place, day):
            return SlotProblem.CLOSED_DAY
        if not self.free_starts(service, place, day):
            return SlotProblem.DAY_FULL
        return None

    def starts_on(self, service: Service, place: Place, day: dt.date) -> list[dt.datetime]:
        """Every start time the service offers at `place` on `day`, booked or not."""
        if self._hours.closed_reason(place, day):
            return []
        week = service.hours or self._hours.week_for(place, day)
        step = dt.timedelta(minutes=service.duration_minutes)
        starts = []
        for opening, closing in week[day.weekday()]:
            start = dt.datetime.combine(day, opening, tzinfo=self._hours.zone)
            end = dt.datetime.combine(day, closing, tzinfo=self._hours.zone)
            while start + step <= end:
                starts.append(start)
                start += step
        return starts

    def slot_problem(
        self, service: Service, place: Place, start: dt.datetime
    ) -> SlotProblem | None:
        """None when `start` can be booked now."""
        now = self._hours.now()
        if start <= now:
            return SlotProblem.PAST
        problem = self.day_problem(service, place, start.date())
        if problem:
            return problem
        if start < now + dt.timedelta(hours=self._catalog.booking.min_notice_hours):
            return SlotProblem.TOO_SOON
        if start not in self.starts_on(service, place, start.date()):
            return SlotProblem.NOT_OFFERED
        if start not in self.free_starts(service, place, start.date()):
            return SlotProblem.FULL
        return None

    def free_starts(self, service: Service, place: Place, day: dt.date) -> list[dt.datetime]:
        """Start times on `day` with room left and enough notice."""
        earliest = self._hours.now() + dt.timedelta(hours=self._catalog.booking.min_notice_hours)
        starts = [s for s in self.starts_on(service, place, day) if s >= earliest]
        if not starts:
            return []
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(slot_usage.c.starts_at, slot_usage.c.booked).where(
                    and_(
                        slot_usage.c.service == service.id,
                        slot_usage.c.place == place.id,
                        slot_usage.c.starts_at.in_([s.isoformat() for s in starts]),
                    )
                )
            ).all()
        booked = {row.starts_at: row.booked for row in rows}
        return [s for s in starts if booked.get(s.isoformat(), 0) < service.capacity]

    def alternatives(
        self, service: Service, place: Place, wanted: dt.datetime
    ) -> list[dt.datetime]:
        """The free starts nearest to `wanted`, first on its day, then on the following days."""
        count = self._catalog.booking.alternatives
        today = self._hours.now().date()
        found: list[dt.datetime] = []
        day = max(wanted.date(), today)
        last_day = today + dt.timedelta(days=self._catalog.booking.horizon_days)
        while day <= last_day and len(found) < count:
            free = self.free_starts(service, place, day)
            found += sorted(free, key=lambda start: abs(start - wanted))[: count - len(found)]
            day += dt.timedelta(days=1)
        return sorted(found)

    def book(
        self,
        service: Service,
        place: Place,
        start: dt.datetime,
        name: str,
        phone: str,
        conversation_id: str | None = None,
    ) -> Booking | None:
        """Books one place at `start`, all or nothing (one transaction); None when it was
        taken meanwhile. `conversation_id` lets a failed turn find out whether it booked, and
        makes booking the same again in that conversation give the booking already made: a
        turn sent again (its Rasa server died half-way through it, and the gateway passed it
        to another) must not book twice."""
        with self._engine.begin() as connection:
            if conversation_id is not None:
                made = self._made_in(connection, conversation_id, service, place, start)
                if made is not None:
                    return made
        if self.slot_problem(service, place, start):
            return None
        with self._engine.begin() as connection:
            if not self._take_place(connection, service, place, start):
                return None
            return self._insert_booking(
                connection, service, place, start, name, phone, conversation_id
            )

    def get(self, code: str) -> Booking | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(bookings).where(bookings.c.code == code)).first()
        return _booking(row) if row else None

    def find_keyed(self, keys: str, letters: int = 2) -> list[str]:
        """Codes a caller may have keyed on the phone ('574821' → ['KP4821']): the digits
        must match, and each letter must be on the key pressed for it."""
        pattern = "_" * letters + keys[letters:]
        with self._engine.connect() as connection:
            rows = connection.execute(select(bookings.c.code).where(bookings.c.code.like(pattern)))
            return [row.code for row in rows if keyed(row.code) == keys]

    def cancel(self, code: str, conversation_id: str | None = None) -> Booking | None:
        """Cancels a confirmed booking and frees its place; None when there is none.
        `conversation_id` lets a failed turn find out whether it cancelled."""
        with self._engine.begin() as connection:
            booking = self._confirmed(connection, code)
            if not booking:
                return None
            self._release_place(connection, booking)
            self._set(connection, code, conversation_id, status="cancelled")
        return self.get(code)

    def reschedule(
        self, code: str, start: dt.datetime, conversation_id: str | None = None
    ) -> Booking | None:
        """Moves a confirmed booking to `start`; None when that time cannot be taken.
        `conversation_id` lets a failed turn find out whether it moved it."""
        booking = self.get(code)
        if not booking or booking.status != "confirmed":
            return None
        service = self._catalog.service(booking.service_id)
        place = self._catalog.shop(booking.place_id)
        if self.slot_problem(service, place, start):
            return None
        with self._engine.begin() as connection:
            if not self._confirmed(connection, code) or not self._take_place(
                connection, service, place, start
            ):
                return None
            self._release_place(connection, booking)
            self._set(connection, code, conversation_id, starts_at=start.isoformat())
        return self.get(code)

    def _take_place(
        self, connection: Connection, service: Service, place: Place, start: dt.datetime
    ) -> bool:
        key = dict(service=service.id, place=place.id, starts_at=start.isoformat())
        connection.execute(
            insert_ignoring_duplicates(self._engine, slot_usage), {**key, "booked": 0}
        )
        taken = connection.execute(
            update(slot_usage)
            .where(and_(*(slot_usage.c[name] == value for name, value in key.items())))
            .where(slot_usage.c.booked < service.capacity)
            .values(booked=slot_usage.c.booked + 1)
        )
        return taken.rowcount == 1

    def _release_place(self, connection: Connection, booking: Booking) -> None:
        connection.execute(
            update(slot_usage)
            .where(slot_usage.c.service == booking.service_id)
            .where(slot_usage.c.place == booking.place_id)
            .where(slot_usage.c.starts_at == booking.starts_at.isoformat())
            .where(slot_usage.c.booked > 0)
            .values(booked=slot_usage.c.booked - 1)
        )

    def _insert_booking(
        self,
        connection: Connection,
        service: Service,
        place: Place,
        start: dt.datetime,
        name: str,
        phone: str,
        conversation_id: str | None,
    ) -> Booking:
        now = self._hours.now().isoformat()
        while True:
            code = new_code()
            try:
                with connection.begin_nested():
                    connection.execute(
                        bookings.insert().values(
                            code=code,
                            service=service.id,
                            place=place.id,
                            starts_at=start.isoformat(),
                            customer_name=name,
                            phone=phone,
                            status="confirmed",
                            created_at=now,
                            updated_at=now,
                            conversation_id=conversation_id,
                            recorded_at=time.time(),
                        )
                    )
                return Booking(code, service.id, place.id, start, name, phone, "confirmed")
            except IntegrityError:
                continue  # the random code exists already: draw another

    def _made_in(
        self,
        connection: Connection,
        conversation_id: str,
        service: Service,
        place: Place,
        start: dt.datetime,
    ) -> Booking | None:
        """The confirmed booking this conversation already made of this service, place and
        time, if any."""
        row = connection.execute(
            select(bookings)
            .where(bookings.c.conversation_id == conversation_id)
            .where(bookings.c.service == service.id)
            .where(bookings.c.place == place.id)
            .where(bookings.c.starts_at == start.isoformat())
            .where(bookings.c.status == "confirmed")
        ).first()
        return _booking(row) if row else None

    def _confirmed(self, connection: Connection, code: str) -> Booking | None:
        row = connection.execute(
            select(bookings).where(bookings.c.code == code).where(bookings.c.status == "confirmed")
        ).first()
        return _booking(row) if row else None

    def _set(
        self, connection: Connection, code: str, conversation_id: str | None, **values: str
    ) -> None:
        """Changes a booking, with who changed it and when on the wall clock."""
        connection.execute(
            update(bookings)
            .where(bookings.c.code == code)
            .values(
                **values,
                updated_at=self._hours.now().isoformat(),
                changed_by=conversation_id,
                changed_at=time.time(),
            )
        )


def new_code() -> str:
    """'KP4821': two letters and four digits, about 2.3 million codes."""
    letters = "".join(secrets.choice(CODE_LETTERS) for _ in range(2))
    return letters + "".join(secrets.choice("0123456789") for _ in range(4))


def _booking(row: Row) -> Booking:
    return Booking(
        code=row.code,
        service_id=row.service,
        place_id=row.place,
        starts_at=dt.datetime.fromisoformat(row.starts_at),
        customer_name=row.customer_name,
        phone=row.phone,
        status=row.status,
    )


def changed_since(engine: Engine, conversation_id: str, since: float) -> Booking | None:
    """The booking this conversation cancelled or moved at or after `since` (wall-clock
    seconds), if any, as it is now."""
    with engine.connect() as connection:
        row = connection.execute(
            select(bookings)
            .where(bookings.c.changed_by == conversation_id)
            .where(bookings.c.changed_at >= since)
            .order_by(bookings.c.changed_at.desc())
        ).first()
    return _booking(row) if row else None


def booked_since(engine: Engine, conversation_id: str, since: float) -> str | None:
    """The code of a booking this conversation made at or after `since` (wall-clock seconds),
    if any: what a turn cut short by a fault did or did not do."""
    with engine.connect() as connection:
        row = connection.execute(
            select(bookings.c.code)
            .where(bookings.c.conversation_id == conversation_id)
            .where(bookings.c.recorded_at >= since)
            .order_by(bookings.c.recorded_at.desc())
        ).first()
    return str(row.code) if row else None
