"""Datasets are owned by an AI system and shared explicitly with others; AI system names are unique regardless of
case.

- ``systems.name_key``: the name in lower case, with a unique index. When existing names differ only by case the
  upgrade stops before changing anything and names them (rename all but one, then upgrade again).
- ``datasets.system_id`` (NOT NULL): the owning system. An existing dataset goes to the system of the first
  model version trained on one of its versions; else to the system of the first assessment recorded against one
  of them; else, when the workspace has exactly one system, to that one. Every other system whose records use
  it gets a share, so every existing record stays consistent (a system only uses datasets it owns or that are
  shared with it). A dataset used by no system in a workspace with several systems (or none) goes to a system
  created for that purpose, ``unassigned-datasets``, which has no members: only admins and auditors see such a
  dataset until an admin moves it to its system (``assay dataset assign NAME --system SYSTEM``). A system of
  that name that exists already (an earlier upgrade made it) is used.
- ``dataset_shares``: (dataset, system) pairs.

Downgrade drops the shares, the owner and the name key; a created ``unassigned-datasets`` system stays.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from assay.errors import InvalidInput

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UNASSIGNED = "unassigned-datasets"
UNASSIGNED_PURPOSE = (
    "Created by the upgrade to schema 0007 to own the datasets no system used when datasets got owners. It has no "
    "members: only admins and auditors see its datasets. An admin moves each to its system with `assay dataset "
    "assign NAME --system SYSTEM`."
)

_systems = sa.table(
    "systems",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
    sa.column("purpose", sa.Text),
    sa.column("intended_uses", sa.JSON),
    sa.column("out_of_scope_uses", sa.JSON),
    sa.column("affected_people", sa.JSON),
    sa.column("deployment_context", sa.Text),
    sa.column("lifecycle_stage", sa.String),
    sa.column("owner", sa.String),
    sa.column("eu_ai_act_category", sa.String),
    sa.column("annex_iii_area", sa.Integer),
    sa.column("generative", sa.Boolean),
    sa.column("disclosure", sa.Text),
    sa.column("oversight", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
_datasets = sa.table("datasets", sa.column("id", sa.Integer), sa.column("system_id", sa.Integer))
_shares = sa.table(
    "dataset_shares",
    sa.column("dataset_id", sa.Integer),
    sa.column("system_id", sa.Integer),
    sa.column("created_at", sa.DateTime),
)


def _refuse_names_differing_by_case(bind: sa.Connection) -> None:
    groups: dict[str, list[str]] = defaultdict(list)
    for ident, name in bind.execute(sa.text("SELECT id, name FROM systems ORDER BY id")).all():
        groups[str(name).lower()].append(f"{name!r} (id {ident})")
    clashes = ["; ".join(names) for names in groups.values() if len(names) > 1]
    if clashes:
        raise InvalidInput(
            "cannot upgrade to schema 0007: AI system names must be unique regardless of case, and these differ "
            f"only by case: {' | '.join(clashes)}. Rename all but one of each (e.g. UPDATE systems SET name = "
            "'credit-2' WHERE id = 2) with the Assay that uses this database now, then upgrade again"
        )


def _owners(bind: sa.Connection) -> tuple[dict[int, int | None], dict[int, list[int]]]:
    """For each dataset: its owning system (None: used by no system) and the other systems that use it."""
    trained = bind.execute(
        sa.text(
            "SELECT dv.dataset_id, m.system_id FROM model_versions mv JOIN models m ON m.id = mv.model_id "
            "JOIN dataset_versions dv ON dv.id = mv.training_dataset_version_id ORDER BY mv.id"
        )
    ).all()
    assessed = bind.execute(
        sa.text(
            "SELECT dv.dataset_id, a.system_id FROM assessments a "
            "JOIN dataset_versions dv ON dv.id = a.dataset_version_id ORDER BY a.id"
        )
    ).all()
    uses: dict[int, list[int]] = defaultdict(list)
    for dataset_id, system_id in [*trained, *assessed]:  # training first, then assessments, each oldest first
        if system_id not in uses[dataset_id]:
            uses[dataset_id].append(system_id)
    systems = list(bind.execute(sa.text("SELECT id FROM systems")).scalars())
    only = systems[0] if len(systems) == 1 else None
    owners: dict[int, int | None] = {}
    shares: dict[int, list[int]] = {}
    for dataset_id in bind.execute(sa.text("SELECT id FROM datasets ORDER BY id")).scalars():
        used = uses.get(dataset_id, [])
        owners[dataset_id] = used[0] if used else only
        shares[dataset_id] = used[1:]
    return owners, shares


def _unassigned_system(bind: sa.Connection) -> int:
    """The system ``unassigned-datasets``: created, or the one an earlier upgrade created (e.g. before a
    downgrade)."""
    name = UNASSIGNED
    existing = bind.execute(sa.text("SELECT id FROM systems WHERE lower(name) = :name"), {"name": name}).scalar()
    if existing is not None:
        return int(existing)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    values: dict[str, object] = {
        "name": name, "name_key": name, "purpose": UNASSIGNED_PURPOSE, "intended_uses": [], "out_of_scope_uses": [],
        "affected_people": [], "deployment_context": "", "lifecycle_stage": "inception", "owner": "",
        "eu_ai_act_category": "minimal", "annex_iii_area": None, "generative": False, "disclosure": None,
        "oversight": "human_in_the_loop", "created_at": now, "updated_at": now,
    }  # fmt: skip
    bind.execute(_systems.insert().values(**values))
    return int(bind.execute(sa.text("SELECT id FROM systems WHERE name = :name"), {"name": name}).scalar_one())


def upgrade() -> None:
    bind = op.get_bind()
    _refuse_names_differing_by_case(bind)  # before anything changes

    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=100), nullable=True))
    op.execute("UPDATE systems SET name_key = lower(name)")
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=100), nullable=False)
        batch_op.create_index(batch_op.f("ix_systems_name_key"), ["name_key"], unique=True)

    owners, shared = _owners(bind)
    if any(owner is None for owner in owners.values()):
        unassigned = _unassigned_system(bind)
        owners = {dataset: unassigned if owner is None else owner for dataset, owner in owners.items()}
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("system_id", sa.Integer(), nullable=True))
    for dataset_id, system_id in owners.items():
        bind.execute(_datasets.update().where(_datasets.c.id == dataset_id).values(system_id=system_id))
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.alter_column("system_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f("fk_datasets_system_id_systems"), "systems", ["system_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_datasets_system_id"), ["system_id"], unique=False)

    op.create_table(
        "dataset_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_shares_dataset_id_datasets")),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_dataset_shares_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_shares")),
        sa.UniqueConstraint("dataset_id", "system_id", name=op.f("uq_dataset_shares_dataset_id")),
    )
    with op.batch_alter_table("dataset_shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_shares_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dataset_shares_system_id"), ["system_id"], unique=False)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [{"dataset_id": d, "system_id": s, "created_at": now} for d, systems in shared.items() for s in systems]
    if rows:
        bind.execute(_shares.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table("dataset_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_shares_system_id"))
        batch_op.drop_index(batch_op.f("ix_dataset_shares_dataset_id"))
    op.drop_table("dataset_shares")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasets_system_id"))
        batch_op.drop_constraint(batch_op.f("fk_datasets_system_id_systems"), type_="foreignkey")
        batch_op.drop_column("system_id")
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_systems_name_key"))
        batch_op.drop_column("name_key")
