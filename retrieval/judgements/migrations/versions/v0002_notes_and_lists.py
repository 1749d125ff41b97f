"""Schema 0002: a short note on a judgement (and in its history), notes on queries, saved query lists.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns with no default: a plain ALTER TABLE ... ADD COLUMN on SQLite and PostgreSQL alike.
    op.add_column("judgements", sa.Column("note", sa.String(500), nullable=True))
    op.add_column("judgement_events", sa.Column("note", sa.String(500), nullable=True))
    op.create_table(
        "query_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("qid", sa.String(300), nullable=False),
        sa.Column("judge", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dataset", "qid", "judge", name="uq_query_notes_query_judge"),
    )
    op.create_table(
        "query_lists",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("split", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dataset", "split", "name", name="uq_query_lists_name"),
    )
    op.create_table(
        "query_list_items",
        sa.Column("list_id", sa.Integer(), sa.ForeignKey("query_lists.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("qid", sa.String(300), nullable=False),
        sa.UniqueConstraint("list_id", "qid", name="uq_query_list_items_qid"),
    )


def downgrade() -> None:
    op.drop_table("query_list_items")
    op.drop_table("query_lists")
    op.drop_table("query_notes")
    with op.batch_alter_table("judgement_events") as batch:
        batch.drop_column("note")
    with op.batch_alter_table("judgements") as batch:
        batch.drop_column("note")
