"""The action server's tables as they were before migrations: bookings and the slot counters
that keep them from double booking, orders, complaint tickets and the seeds' fingerprints.

Revision ID: actions_0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Column, Float, Integer, PrimaryKeyConstraint, String, Table, Text

from migrations import NAMING_CONVENTION, create_missing

revision = "actions_0001"
down_revision = None
branch_labels = ("actions",)
depends_on = None

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
Table(
    "bookings", metadata,
    Column("code", String(12), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("place", String(64), nullable=False),
    Column("starts_at", String(32), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("conversation_id", String(128)),
    Column("recorded_at", Float),
    Column("changed_by", String(128)),
    Column("changed_at", Float),
)  # fmt: skip
Table(
    "slot_usage", metadata,
    Column("service", String(64), nullable=False),
    Column("place", String(64), nullable=False),
    Column("starts_at", String(32), nullable=False),
    Column("booked", Integer, nullable=False),
    PrimaryKeyConstraint("service", "place", "starts_at"),
)  # fmt: skip
Table(
    "orders", metadata,
    Column("number", String(16), primary_key=True),
    Column("postcode", String(8), nullable=False),
    Column("item", String(200), nullable=False),
    Column("carrier", String(100), nullable=False),
    Column("status", String(32), nullable=False),
    Column("estimated_delivery", String(10)),
    Column("history", Text, nullable=False),
)  # fmt: skip
Table(
    "seeds", metadata,
    Column("name", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
)  # fmt: skip
Table(
    "tickets", metadata,
    Column("reference", String(16), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("category", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("due_at", String(32), nullable=False),
    Column("conversation_id", String(128)),
)  # fmt: skip


def upgrade() -> None:
    create_missing(metadata)
