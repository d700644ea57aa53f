"""Monitoring: the data drift check of each monitor run and its figures per column.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_drift",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_start", sa.Date(), nullable=False),
        sa.Column("reference_end", sa.Date(), nullable=False),
        sa.Column("current_start", sa.Date(), nullable=False),
        sa.Column("current_end", sa.Date(), nullable=False),
        sa.Column("reference_rows", sa.Integer(), nullable=False),
        sa.Column("current_rows", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.Integer(), nullable=False),
        sa.Column("drifted_inputs", sa.Integer(), nullable=False),
        sa.Column("drift_share", sa.Float(), nullable=False),
        sa.Column("target_drifted", sa.Boolean(), nullable=False),
        sa.Column("report_path", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["monitor_runs.run_id"],
            name=op.f("fk_monitor_drift_run_id_monitor_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.system_id"],
            name=op.f("fk_monitor_drift_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_monitor_drift")),
    )
    op.create_index("ix_monitor_drift_system_ran", "monitor_drift", ["system_id", "ran_at"])
    op.create_table(
        "monitor_drift_columns",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("column", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["monitor_drift.run_id"],
            name=op.f("fk_monitor_drift_columns_run_id_monitor_drift"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "column", name=op.f("pk_monitor_drift_columns")),
    )


def downgrade() -> None:
    op.drop_table("monitor_drift_columns")
    op.drop_index("ix_monitor_drift_system_ran", table_name="monitor_drift")
    op.drop_table("monitor_drift")
