"""Planning: plans with their targets, moves, routes and stops; workers; field tasks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _system_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["system_id"],
        ["systems.system_id"],
        name=op.f(f"fk_{table}_system_id_systems"),
        ondelete="CASCADE",
    )


def _plan_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["plan_id"], ["plans.plan_id"], name=op.f(f"fk_{table}_plan_id_plans"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("plan_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        _system_fk("plans"),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plans")),
    )
    op.create_index("ix_plans_system_created", "plans", ["system_id", "created_at"])
    op.create_table(
        "plan_targets",
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("supply", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("after", sa.Integer(), nullable=False),
        sa.Column("demand_at_ratio", sa.Float(), nullable=False),
        sa.Column("newsvendor_target", sa.Integer(), nullable=False),
        sa.Column("min_vehicles", sa.Integer(), nullable=False),
        sa.Column("max_vehicles", sa.Integer(), nullable=True),
        sa.Column("cut", sa.Integer(), nullable=False),
        sa.Column("rides_per_vehicle", sa.Float(), nullable=False),
        sa.Column("expected_rides_supply", sa.Float(), nullable=False),
        sa.Column("expected_rides_after", sa.Float(), nullable=False),
        _plan_fk("plan_targets"),
        sa.PrimaryKeyConstraint("plan_id", "zone_id", name=op.f("pk_plan_targets")),
    )
    op.create_table(
        "plan_moves",
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("move_id", sa.String(32), nullable=False),
        sa.Column("from_id", sa.String(64), nullable=False),
        sa.Column("to_id", sa.String(64), nullable=False),
        sa.Column("vehicles", sa.Integer(), nullable=False),
        sa.Column("vehicles_served", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("rides_gained", sa.Float(), nullable=False),
        sa.Column("truck_id", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("vehicle_ids", sa.JSON(), nullable=False),
        _plan_fk("plan_moves"),
        sa.PrimaryKeyConstraint("plan_id", "move_id", name=op.f("pk_plan_moves")),
    )
    op.create_table(
        "plan_routes",
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("truck_id", sa.String(64), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("start_load", sa.Integer(), nullable=False),
        sa.Column("depot_id", sa.String(64), nullable=False),
        sa.Column("end_depot_id", sa.String(64), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        _plan_fk("plan_routes"),
        sa.PrimaryKeyConstraint("plan_id", "truck_id", name=op.f("pk_plan_routes")),
    )
    op.create_table(
        "plan_stops",
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("truck_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("pickup", sa.Integer(), nullable=False),
        sa.Column("dropoff", sa.Integer(), nullable=False),
        sa.Column("load_after", sa.Integer(), nullable=False),
        sa.Column("arrival_s", sa.Float(), nullable=False),
        sa.Column("move_ids", sa.JSON(), nullable=False),
        _plan_fk("plan_stops"),
        sa.PrimaryKeyConstraint("plan_id", "truck_id", "seq", name=op.f("pk_plan_stops")),
    )
    op.create_table(
        "workers",
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("shift_minutes", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _system_fk("workers"),
        sa.PrimaryKeyConstraint("system_id", "worker_id", name=op.f("pk_workers")),
    )
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=True),
        sa.Column("task_key", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=True),
        sa.Column("parking_id", sa.String(64), nullable=True),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("score_parts", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("service_minutes", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("route_seq", sa.Integer(), nullable=True),
        sa.Column("eta_minutes", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        _system_fk("tasks"),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_system_status", "tasks", ["system_id", "status"])
    op.create_index("ix_tasks_assignee_status", "tasks", ["assignee", "status"])


def downgrade() -> None:
    op.drop_index("ix_tasks_assignee_status", table_name="tasks")
    op.drop_index("ix_tasks_system_status", table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("workers")
    op.drop_table("plan_stops")
    op.drop_table("plan_routes")
    op.drop_table("plan_moves")
    op.drop_table("plan_targets")
    op.drop_index("ix_plans_system_created", table_name="plans")
    op.drop_table("plans")
