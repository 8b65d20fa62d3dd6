"""operators: operator status and lapses, routing mode per force, offers (issue 21, part 2)

Revision ID: operators_0003_i21
Revises: operators_0002_i21
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from chat.db import UTCDateTime

revision: str = "operators_0003_i21"
down_revision: str | Sequence[str] | None = "operators_0002_i21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="available"))
        batch.add_column(sa.Column("lapses", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_assigned_at", UTCDateTime(), nullable=True))
    op.create_table(
        "routing_modes",
        sa.Column("force", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("force", name="pk_routing_modes"),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("offered_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name="fk_offers_conversation_id_conversations", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_offers_account_id_accounts",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_offers_conversation_id", "offers", ["conversation_id"])
    op.create_index("ix_offers_status_expires", "offers", ["status", "expires_at"])
    op.create_index("uq_offers_open_conversation", "offers", ["conversation_id"], unique=True,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("uq_offers_open_account", "offers", ["account_id"], unique=True,
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_table("offers")
    op.drop_table("routing_modes")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("last_assigned_at")
        batch.drop_column("lapses")
        batch.drop_column("status")
