"""Car sharing: rentals with their check-out delay and the gap to the car's previous rental.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rentals",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("rental_id", sa.String(64), nullable=False),
        sa.Column("car_id", sa.String(64), nullable=False),
        sa.Column("checkin_type", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delay_at_checkout_minutes", sa.Float(), nullable=True),
        sa.Column("previous_rental_id", sa.String(64), nullable=True),
        sa.Column("gap_with_previous_minutes", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.system_id"],
            name=op.f("fk_rentals_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", "rental_id", name=op.f("pk_rentals")),
    )


def downgrade() -> None:
    op.drop_table("rentals")
