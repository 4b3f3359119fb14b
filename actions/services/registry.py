"""Builds the services once, lazily, on the first action that needs them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from actions.services.appointments import AppointmentService
from actions.services.catalog import Catalog, load_catalog
from actions.services.database import open_database
from actions.services.hours import HoursService
from actions.services.orders import OrderService
from actions.services.tickets import TicketService
from actions.settings import ActionsSettings


@dataclass(frozen=True)
class Services:
    """Every service the actions use, sharing one catalog, clock and database."""

    catalog: Catalog
    hours: HoursService
    appointments: AppointmentService
    orders: OrderService
    tickets: TicketService


_current: Services | None = None


def build_services(
    settings: ActionsSettings, clock: Callable[[], dt.datetime] | None = None
) -> Services:
    """Loads the business data, opens the database and seeds it if needed."""
    catalog = load_catalog(settings.business_dir)
    if clock is None and settings.fixed_now is not None:
        fixed_now = settings.fixed_now
        clock = lambda: fixed_now  # noqa: E731
    hours = HoursService(catalog, clock)
    engine = open_database(settings.database_url)
    return Services(
        catalog=catalog,
        hours=hours,
        appointments=AppointmentService(catalog, hours, engine),
        orders=OrderService(engine, catalog.orders_file, lambda: hours.now().date()),
        tickets=TicketService(catalog.complaints, hours, engine),
    )


def services() -> Services:
    """The services of this process, built on first use from the environment."""
    global _current
    if _current is None:
        _current = build_services(ActionsSettings.from_env())
    return _current


def use_services(replacement: Services | None) -> None:
    """Makes the actions use `replacement` (tests); None builds them again on next use."""
    global _current
    _current = replacement
