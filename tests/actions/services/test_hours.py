"""Opening hours with summer schedules, public holidays and closures."""

import datetime as dt

import pytest

from actions.services.catalog import CatalogError, load_catalog, parse_week
from actions.services.hours import HoursService
from actions.settings import PROJECT_ROOT
from tests.helpers.actions import MADRID, FakeClock

CATALOG = load_catalog(PROJECT_ROOT / "data" / "business")
GRAN_VIA = CATALOG.shop("madrid_gran_via")
BILLING = CATALOG.department("billing")
SUPPORT = CATALOG.department("technical_support")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MADRID)


@pytest.fixture
def hours() -> HoursService:
    return HoursService(CATALOG, FakeClock(at(2026, 3, 2, 9, 0)))


def test_open_and_closed_now(hours):
    assert hours.open_range_at(GRAN_VIA, at(2026, 3, 2, 12, 0)) == (dt.time(10), dt.time(21))
    assert hours.open_range_at(GRAN_VIA, at(2026, 3, 2, 9, 59)) is None
    assert hours.open_range_at(GRAN_VIA, at(2026, 3, 8, 12, 0)) is None  # Sunday


def test_next_opening_skips_sunday(hours):
    saturday_night = at(2026, 3, 7, 22, 0)
    assert hours.next_opening(GRAN_VIA, saturday_night) == at(2026, 3, 9, 10, 0)


def test_public_holidays_national_and_regional(hours):
    assert hours.closed_reason(GRAN_VIA, dt.date(2026, 12, 8)) == "Inmaculada Concepción"
    assert hours.closed_reason(GRAN_VIA, dt.date(2026, 5, 2)) is not None  # Comunidad de Madrid
    assert hours.closed_reason(CATALOG.shop("sevilla_nervion"), dt.date(2026, 5, 2)) is None
    assert hours.ranges_on(GRAN_VIA, dt.date(2026, 12, 8)) == ()


def test_company_closures_and_open_on_holidays(hours):
    assert hours.closed_reason(GRAN_VIA, dt.date(2026, 12, 24)) == "cierre de Nochebuena"
    assert hours.closed_reason(SUPPORT, dt.date(2026, 12, 8)) is None


def test_summer_schedule(hours):
    july_monday = dt.date(2026, 7, 6)
    assert hours.ranges_on(BILLING, july_monday) == ((dt.time(8), dt.time(15)),)
    assert hours.ranges_on(BILLING, dt.date(2026, 3, 2)) == ((dt.time(9), dt.time(19)),)


def test_malformed_week_is_rejected_clearly():
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_week({"mon": ["14:00-09:00"]})
    with pytest.raises(ValueError, match="unknown weekdays"):
        parse_week({"lunes": ["09:00-14:00"]})


def test_missing_business_file(tmp_path):
    with pytest.raises(CatalogError, match="hours.yml"):
        load_catalog(tmp_path)
