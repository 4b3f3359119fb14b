"""The operator's business data (shops, departments, services, ...) loaded from YAML files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

TimeRange = tuple[dt.time, dt.time]
Week = tuple[tuple[TimeRange, ...], ...]  # index 0 = Monday


class CatalogError(ValueError):
    """A business data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Place:
    """Anything with opening hours: a shop or a department.

    Attributes:
        kind: "shop" or "department".
        region: ISO 3166-2 subdivision whose public holidays close it (None: national only).
        closures: extra closed days with the reason told to customers.
    """

    id: str
    kind: str  # "shop" or "department"
    name: str
    aliases: tuple[str, ...]
    week: Week
    summer_week: Week | None = None
    region: str | None = None
    address: str = ""
    zone: str = ""
    open_on_holidays: bool = False
    closures: dict[dt.date, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    """A bookable service; `hours` None means the shop's opening hours apply."""

    id: str
    name: str
    aliases: tuple[str, ...]
    at_home: bool
    duration_minutes: int
    capacity: int
    hours: Week | None


@dataclass(frozen=True)
class Category:
    """A complaint category."""

    id: str
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class BookingRules:
    """How far ahead appointments can be booked and how many alternatives to offer."""

    min_notice_hours: int
    horizon_days: int
    alternatives: int


@dataclass(frozen=True)
class ComplaintRules:
    """Deadlines and the next step when a complaint's answer does not satisfy."""

    complaint_response_days: int
    incident_response_hours: int
    ombudsman: str
    categories: tuple[Category, ...]


@dataclass(frozen=True)
class HandoffRules:
    """Which department takes a conversation, by the intents seen in it."""

    default_department: str
    department_by_intent: dict[str, str]


@dataclass(frozen=True)
class Catalog:
    """Everything the operator describes about the business."""

    timezone: str
    country: str
    summer: tuple[tuple[int, int], tuple[int, int]] | None
    shops: tuple[Place, ...]
    departments: tuple[Place, ...]
    services: tuple[Service, ...]
    booking: BookingRules
    complaints: ComplaintRules
    handoff: HandoffRules
    orders_file: Path

    def shop(self, shop_id: str) -> Place:
        return _by_id(self.shops, shop_id)

    @property
    def places(self) -> tuple[Place, ...]:
        return self.shops + self.departments

    def department(self, department_id: str) -> Place:
        return _by_id(self.departments, department_id)

    def service(self, service_id: str) -> Service:
        return _by_id(self.services, service_id)


def _by_id(items: tuple[Any, ...], item_id: str) -> Any:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)


def load_catalog(folder: Path) -> Catalog:
    """Reads and validates the YAML files of `folder`.

    Raises:
        CatalogError: a file is missing or an entry is malformed.
    """
    catalog = _build(folder)
    _check_departments(catalog)
    return catalog


def _check_departments(catalog: Catalog) -> None:
    """Every department named in handoff.yml must exist in hours.yml."""
    known = {department.id for department in catalog.departments}
    named = {catalog.handoff.default_department, *catalog.handoff.department_by_intent.values()}
    unknown = sorted(named - known)
    if unknown:
        raise CatalogError(
            f"handoff.yml names unknown departments {unknown}; known: {sorted(known)}"
        )


def _build(folder: Path) -> Catalog:
    hours = _read(folder / "hours.yml")
    appointments = _read(folder / "appointments.yml")
    complaints = _read(folder / "complaints.yml")
    handoff = _read(folder / "handoff.yml")
    summer = hours.get("summer")
    return Catalog(
        timezone=hours.get("timezone", "Europe/Madrid"),
        country=hours.get("country", "ES"),
        summer=(_month_day(summer["from"]), _month_day(summer["to"])) if summer else None,
        shops=tuple(_place(entry, "shop") for entry in hours.get("shops", [])),
        departments=tuple(_place(entry, "department") for entry in hours.get("departments", [])),
        services=tuple(_service(entry) for entry in appointments.get("services", [])),
        booking=BookingRules(
            min_notice_hours=int(appointments.get("min_notice_hours", 2)),
            horizon_days=int(appointments.get("horizon_days", 60)),
            alternatives=int(appointments.get("alternatives", 3)),
        ),
        complaints=ComplaintRules(
            complaint_response_days=int(complaints["complaint_response_days"]),
            incident_response_hours=int(complaints["incident_response_hours"]),
            ombudsman=str(complaints["ombudsman"]).strip(),
            categories=tuple(
                Category(c["id"], c["name"], tuple(c.get("aliases", [])))
                for c in complaints["categories"]
            ),
        ),
        handoff=HandoffRules(
            default_department=handoff["default"],
            department_by_intent=dict(handoff.get("by_intent", {})),
        ),
        orders_file=folder / "orders.yml",
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CatalogError(f"{path}: the business data file is missing") from error
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(content, dict):
        raise CatalogError(f"{path}: expected a mapping at the top level")
    return content


def _place(entry: dict[str, Any], kind: str) -> Place:
    try:
        return Place(
            id=entry["id"],
            kind=kind,
            name=entry["name"],
            aliases=tuple(entry.get("aliases", [])),
            week=parse_week(entry["week"]),
            summer_week=parse_week(entry["summer_week"]) if "summer_week" in entry else None,
            region=entry.get("region"),
            address=entry.get("address", ""),
            zone=entry.get("zone", ""),
            open_on_holidays=bool(entry.get("open_on_holidays", False)),
            closures={
                dt.date.fromisoformat(str(c["date"])): c.get("reason", "cierre")
                for c in entry.get("closures", [])
            },
        )
    except (KeyError, ValueError, TypeError) as error:
        raise CatalogError(f"place {entry.get('id', entry)!r}: {error}") from error


def _service(entry: dict[str, Any]) -> Service:
    try:
        return Service(
            id=entry["id"],
            name=entry["name"],
            aliases=tuple(entry.get("aliases", [])),
            at_home=bool(entry.get("at_home", False)),
            duration_minutes=int(entry["duration_minutes"]),
            capacity=int(entry["capacity"]),
            hours=parse_week(entry["hours"]) if "hours" in entry else None,
        )
    except (KeyError, ValueError, TypeError) as error:
        raise CatalogError(f"service {entry.get('id', entry)!r}: {error}") from error


def parse_week(week: dict[str, list[str]]) -> Week:
    """Turns {"mon": ["09:00-14:00", ...], ...} into seven tuples of time ranges."""
    unknown = set(week) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekdays {sorted(unknown)}; use {', '.join(WEEKDAYS)}")
    return tuple(tuple(_time_range(text) for text in week.get(day) or []) for day in WEEKDAYS)


def _time_range(text: str) -> TimeRange:
    start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    if end <= start:
        raise ValueError(f"range {text!r} ends before it starts")
    return start, end


def _month_day(text: str) -> tuple[int, int]:
    month, day = (int(part) for part in str(text).split("-"))
    return month, day
