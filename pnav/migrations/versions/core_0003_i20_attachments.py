"""core: attachments of a tchat (screenshots, photos, PDF) and their sealed bytes (issue 20)

Revision ID: core_0003_i20
Revises: core_0002_i21
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from chat.db import UTCDateTime

revision: str = "core_0003_i20"
down_revision: str | Sequence[str] | None = "core_0002_i21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name="fk_attachments_conversation_id_conversations", ondelete="CASCADE"),
        sa.UniqueConstraint("conversation_id", "client_id", name="uq_attachments_conversation_client"),
    )
    op.create_index("ix_attachments_conversation_id", "attachments", ["conversation_id"])
    op.create_index("ix_attachments_received", "attachments", ["received_at"])
    op.create_table(
        "attachment_blobs",
        sa.Column("attachment_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("attachment_id", "kind", name="pk_attachment_blobs"),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"],
                                name="fk_attachment_blobs_attachment_id_attachments", ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("attachment_blobs")
    op.drop_index("ix_attachments_received", table_name="attachments")
    op.drop_index("ix_attachments_conversation_id", table_name="attachments")
    op.drop_table("attachments")
