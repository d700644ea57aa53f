"""Serving: backtest_predictions (for the dashboard) and api_keys (hashed write keys).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtest_predictions",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("q10", sa.Float(), nullable=False),
        sa.Column("q90", sa.Float(), nullable=False),
        sa.Column("actual", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backtest_runs.run_id"],
            name=op.f("fk_backtest_predictions_run_id_backtest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id",
            "model",
            "zone_id",
            "target_date",
            "horizon",
            name=op.f("pk_backtest_predictions"),
        ),
    )
    op.create_index(
        "ix_backtest_predictions_run_zone", "backtest_predictions", ["run_id", "zone_id"]
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("ix_backtest_predictions_run_zone", table_name="backtest_predictions")
    op.drop_table("backtest_predictions")
