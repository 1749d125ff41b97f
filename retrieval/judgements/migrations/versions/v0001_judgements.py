"""Schema 0001: judgements (current value per dataset, qid, docid, judge) and their append-only history.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("corpus_checksum", sa.String(64), nullable=False),
        sa.Column("split", sa.String(100), nullable=False),
        sa.Column("qid", sa.String(300), nullable=False),
        sa.Column("docid", sa.String(300), nullable=False),
        sa.Column("judge", sa.String(100), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("cant_tell", sa.Boolean(), nullable=False),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(300), nullable=True),
        sa.Column("revision", EventId, nullable=False),
        sa.UniqueConstraint("dataset", "qid", "docid", "judge", name="uq_judgements_pair_judge"),
        sa.CheckConstraint("(grade IS NULL) = cant_tell", name="ck_judgements_grade_or_cant_tell"),
    )
    op.create_index("ix_judgements_query", "judgements", ["dataset", "qid"])
    op.create_index("ix_judgements_split", "judgements", ["dataset", "split"])
    op.create_table(
        "judgement_events",
        sa.Column("id", EventId, primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("corpus_checksum", sa.String(64), nullable=False),
        sa.Column("split", sa.String(100), nullable=False),
        sa.Column("qid", sa.String(300), nullable=False),
        sa.Column("docid", sa.String(300), nullable=False),
        sa.Column("judge", sa.String(100), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("cant_tell", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(300), nullable=True),
        sa.Column("seen_revision", EventId, nullable=True),
        sa.CheckConstraint("action IN ('set', 'clear', 'rejected')", name="ck_judgement_events_action"),
    )
    op.create_index("ix_judgement_events_pair", "judgement_events", ["dataset", "qid", "docid"])


def downgrade() -> None:
    op.drop_table("judgement_events")
    op.drop_table("judgements")
