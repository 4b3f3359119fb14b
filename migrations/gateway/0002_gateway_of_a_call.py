"""Which gateway a conversation started on: a call lives in that gateway's process, so only
that gateway may close it as abandoned when it restarts (several gateways share one database).

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "gateway_0002"
down_revision = "gateway_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("gateway", sa.Text))
