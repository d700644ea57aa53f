"""Scheduled pipelines: one row per step of each flow run (and one for the run as a whole).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("system_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("flow_run_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "step", name=op.f("pk_pipeline_runs")),
    )
    op.create_index(
        "ix_pipeline_runs_flow_system_started",
        "pipeline_runs",
        ["flow", "system_id", "started_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_pipeline_runs_flow_system_started", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
