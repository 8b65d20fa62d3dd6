"""operators: capacity, one-time account links, office hours and local-service corrections on the web, whispers
(issue 21)

Revision ID: operators_0002_i21
Revises: operators_0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from chat.db import UTCDateTime

revision: str = "operators_0002_i21"
down_revision: str | Sequence[str] | None = "operators_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=False, server_default="4"))
    op.create_table(
        "account_links",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("pending_secret", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_account_links"),
        sa.UniqueConstraint("token_hash", name="uq_account_links_token_hash"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_account_links_account_id_accounts",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_account_links_account_id", "account_links", ["account_id"])
    op.create_table(
        "psychologist_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spec", sa.String(500), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_psychologist_hours"),
    )
    op.create_table(
        "local_service_overrides",
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", name="pk_local_service_overrides"),
    )
    op.create_table(
        "whispers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("after_seq", sa.Integer(), nullable=False),
        sa.Column("author_role", sa.String(16), nullable=False),
        sa.Column("author_id", sa.String(32), nullable=False),
        sa.Column("author_name", sa.String(128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_whispers"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name="fk_whispers_conversation_id_conversations", ondelete="CASCADE"),
        sa.UniqueConstraint("conversation_id", "client_id", name="uq_whispers_conversation_client"),
    )
    op.create_index("ix_whispers_conversation_id", "whispers", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("whispers")
    op.drop_table("local_service_overrides")
    op.drop_table("psychologist_hours")
    op.drop_index("ix_account_links_account_id", table_name="account_links")
    op.drop_table("account_links")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("capacity")
