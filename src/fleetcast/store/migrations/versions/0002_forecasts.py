"""Forecasts and backtests: forecasts, backtest_runs, backtest_metrics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecasts",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("q10", sa.Float(), nullable=False),
        sa.Column("q50", sa.Float(), nullable=False),
        sa.Column("q90", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id", "zone_id"],
            ["zones.system_id", "zones.zone_id"],
            name=op.f("fk_forecasts_system_id_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "system_id",
            "zone_id",
            "target_date",
            "issued_on",
            "model_version",
            name=op.f("pk_forecasts"),
        ),
    )
    op.create_index("ix_forecasts_system_issued", "forecasts", ["system_id", "issued_on"])
    op.create_table(
        "backtest_runs",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("weather_note", sa.Text(), nullable=True),
        sa.Column("mlflow_run_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_backtest_runs")),
    )
    op.create_index("ix_backtest_runs_system_created", "backtest_runs", ["system_id", "created_at"])
    op.create_table(
        "backtest_metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("mae", sa.Float(), nullable=False),
        sa.Column("rmse", sa.Float(), nullable=False),
        sa.Column("wape", sa.Float(), nullable=True),
        sa.Column("bias", sa.Float(), nullable=True),
        sa.Column("pinball", sa.Float(), nullable=False),
        sa.Column("coverage_80", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backtest_runs.run_id"],
            name=op.f("fk_backtest_metrics_run_id_backtest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_metrics")),
    )
    op.create_index("ix_backtest_metrics_run", "backtest_metrics", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_backtest_metrics_run", table_name="backtest_metrics")
    op.drop_table("backtest_metrics")
    op.drop_index("ix_backtest_runs_system_created", table_name="backtest_runs")
    op.drop_table("backtest_runs")
    op.drop_index("ix_forecasts_system_issued", table_name="forecasts")
    op.drop_table("forecasts")
