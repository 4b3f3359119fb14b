"""Opening hours: weekly schedules, summer hours, public holidays and closures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from actions.services.catalog import Catalog, Place, TimeRange, Week

SEARCH_DAYS = 30  # how far ahead to look for the next opening


class HoursService:
    """Answers when a shop or department is open, in the business's time zone.

    Args:
        catalog: the operator's business data.
        clock: returns the current aware datetime; tests pass a fixed one.
    """

    def __init__(self, catalog: Catalog, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._catalog = catalog
        self.zone = ZoneInfo(catalog.timezone)
        self._clock = clock or (lambda: dt.datetime.now(self.zone))

    def now(self) -> dt.datetime:
        return self._clock().astimezone(self.zone)

    def closed_reason(self, place: Place, day: dt.date) -> str | None:
        """Why `place` is closed all `day` (a closure or a public holiday), or None."""
        if day in place.closures:
            return place.closures[day]
        if place.open_on_holidays:
            return None
        return _public_holidays(self._catalog.country, place.region, day.year).get(day)

    def week_for(self, place: Place, day: dt.date) -> Week:
        """The schedule in force on `day`: the summer one in summer, if the place has one."""
        if place.summer_week and self.is_summer(day):
            return place.summer_week
        return place.week

    def is_summer(self, day: dt.date) -> bool:
        if not self._catalog.summer:
            return False
        start, end = self._catalog.summer
        return start <= (day.month, day.day) <= end

    def ranges_on(self, place: Place, day: dt.date) -> tuple[TimeRange, ...]:
        """Opening ranges of `place` on `day`, empty when closed."""
        if self.closed_reason(place, day):
            return ()
        return self.week_for(place, day)[day.weekday()]

    def open_range_at(self, place: Place, moment: dt.datetime) -> TimeRange | None:
        """The range `place` is open in at `moment`, or None when closed."""
        local = moment.astimezone(self.zone)
        for start, end in self.ranges_on(place, local.date()):
            if start <= local.time() < end:
                return start, end
        return None

    def next_opening(self, place: Place, moment: dt.datetime) -> dt.datetime | None:
        """The first opening strictly after `moment`, within SEARCH_DAYS, or None."""
        local = moment.astimezone(self.zone)
        for offset in range(SEARCH_DAYS + 1):
            day = local.date() + dt.timedelta(days=offset)
            for start, _ in self.ranges_on(place, day):
                opening = dt.datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None


@lru_cache(maxsize=64)
def _public_holidays(country: str, region: str | None, year: int) -> dict[dt.date, str]:
    calendar = holidays.country_holidays(country, subdiv=region, years=year, language="es")
    return dict(calendar.items())
