"""escalation: the documents a visitor hands over with her signalement (issue 20)

Revision ID: escalation_0003_i20
Revises: escalation_0002_i16
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from chat.db import UTCDateTime

revision: str = "escalation_0003_i20"
down_revision: str | Sequence[str] | None = "escalation_0002_i16"
branch_labels: str | Sequence[str] | None = None
# The attachments table lives on the core branch.
depends_on: str | Sequence[str] | None = "core_0003_i20"


def upgrade() -> None:
    op.create_table(
        "signalement_attachments",
        sa.Column("signalement_id", sa.String(32), nullable=False),
        sa.Column("attachment_id", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("signalement_id", "attachment_id", name="pk_signalement_attachments"),
        sa.ForeignKeyConstraint(["signalement_id"], ["signalements.id"],
                                name="fk_signalement_attachments_signalement_id_signalements", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"],
                                name="fk_signalement_attachments_attachment_id_attachments", ondelete="CASCADE"),
    )
    op.create_index("ix_signalement_attachments_attachment_id", "signalement_attachments", ["attachment_id"])


def downgrade() -> None:
    op.drop_index("ix_signalement_attachments_attachment_id", table_name="signalement_attachments")
    op.drop_table("signalement_attachments")
