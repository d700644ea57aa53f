"""Monitoring: forecast accuracy per day, horizon, zone (or '*') and model; monitor runs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _system_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["system_id"],
        ["systems.system_id"],
        name=op.f(f"fk_{table}_system_id_systems"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "monitor_accuracy",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("actual", sa.Float(), nullable=False),
        sa.Column("forecast", sa.Float(), nullable=False),
        sa.Column("mae", sa.Float(), nullable=False),
        sa.Column("wape", sa.Float(), nullable=True),
        sa.Column("bias", sa.Float(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        _system_fk("monitor_accuracy"),
        sa.PrimaryKeyConstraint(
            "system_id",
            "target_date",
            "horizon",
            "zone_id",
            "model_version",
            name=op.f("pk_monitor_accuracy"),
        ),
    )
    op.create_index(
        "ix_monitor_accuracy_system_zone_date",
        "monitor_accuracy",
        ["system_id", "zone_id", "target_date"],
    )
    op.create_table(
        "monitor_runs",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        _system_fk("monitor_runs"),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_monitor_runs")),
    )
    op.create_index("ix_monitor_runs_system_ran", "monitor_runs", ["system_id", "ran_at"])


def downgrade() -> None:
    op.drop_index("ix_monitor_runs_system_ran", table_name="monitor_runs")
    op.drop_table("monitor_runs")
    op.drop_index("ix_monitor_accuracy_system_zone_date", table_name="monitor_accuracy")
    op.drop_table("monitor_accuracy")
