"""core: anonymous feedback after a tchat, and the receipt that makes it once per tchat (issue 21)

Revision ID: core_0002_i21
Revises: core_0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "core_0002_i21"
down_revision: str | Sequence[str] | None = "core_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("force", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_day", "feedback", ["day"])
    op.create_table(
        "feedback_receipts",
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_feedback_receipts"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name="fk_feedback_receipts_conversation_id_conversations", ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("feedback_receipts")
    op.drop_index("ix_feedback_day", table_name="feedback")
    op.drop_table("feedback")
