"""escalation: signalement proposals, signalements and their events, sealed identities, lifting requests,
audit events, webhook deliveries

Revision ID: escalation_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from chat.db import UTCDateTime

revision: str = "escalation_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("escalation",)
depends_on: str | Sequence[str] | None = ("core_0001", "operators_0001")


def upgrade() -> None:
    op.create_table(
        "signalement_proposals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("proposed_by", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("consent_version", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_signalement_proposals_conversation_id_conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_signalement_proposals"),
    )
    op.create_index("ix_signalement_proposals_conversation_id", "signalement_proposals", ["conversation_id"])

    op.create_table(
        "signalements",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("proposal_id", sa.String(32), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("force", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("insee", sa.String(5), nullable=False),
        sa.Column("commune_name", sa.String(128), nullable=False),
        sa.Column("department", sa.String(3), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("minor", sa.Boolean(), nullable=False),
        sa.Column("proposed_by", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("contact_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("consent_version", sa.String(32), nullable=False),
        sa.Column("consented_at", UTCDateTime(), nullable=False),
        sa.Column("followup_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_signalements_conversation_id_conversations"),
        sa.ForeignKeyConstraint(["proposal_id"], ["signalement_proposals.id"], ondelete="CASCADE",
                                name="fk_signalements_proposal_id_signalement_proposals"),
        sa.PrimaryKeyConstraint("id", name="pk_signalements"),
        sa.UniqueConstraint("proposal_id", name="uq_signalements_proposal_id"),
        sa.UniqueConstraint("followup_hash", name="uq_signalements_followup_hash"),
    )
    op.create_index("ix_signalements_conversation_id", "signalements", ["conversation_id"])
    op.create_index("ix_signalements_service", "signalements", ["service_id", "status", "created_at"])

    op.create_table(
        "signalement_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("signalement_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by_account", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["signalement_id"], ["signalements.id"], ondelete="CASCADE",
                                name="fk_signalement_events_signalement_id_signalements"),
        sa.PrimaryKeyConstraint("id", name="pk_signalement_events"),
    )
    op.create_index("ix_signalement_events_signalement_id", "signalement_events", ["signalement_id"])

    op.create_table(
        "sealed_identities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_sealed_identities_conversation_id_conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_sealed_identities"),
    )
    op.create_index("ix_sealed_identities_conversation_id", "sealed_identities", ["conversation_id"])

    op.create_table(
        "lifting_requests",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("force", sa.String(16), nullable=False),
        sa.Column("parquet", sa.String(200), nullable=False),
        sa.Column("magistrate", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("authorised_at", UTCDateTime(), nullable=False),
        sa.Column("filed_by", sa.String(32), nullable=False),
        sa.Column("filed_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(32), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("unsealed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> filed_by", name="ck_lifting_requests_two_people"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_lifting_requests_conversation_id_conversations"),
        sa.ForeignKeyConstraint(["filed_by"], ["accounts.id"], name="fk_lifting_requests_filed_by_accounts"),
        sa.ForeignKeyConstraint(["approved_by"], ["accounts.id"], name="fk_lifting_requests_approved_by_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_lifting_requests"),
    )
    op.create_index("ix_lifting_requests_conversation_id", "lifting_requests", ["conversation_id"])

    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sa.UniqueConstraint("prev_hash", name="uq_audit_events_prev_hash"),
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("signalement_id", sa.String(32), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["signalement_id"], ["signalements.id"], ondelete="CASCADE",
                                name="fk_webhook_deliveries_signalement_id_signalements"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_signalement_id", "webhook_deliveries", ["signalement_id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["delivered_at", "next_attempt_at"])


def downgrade() -> None:
    for table in ("webhook_deliveries", "audit_events", "lifting_requests", "sealed_identities", "signalement_events",
                  "signalements", "signalement_proposals"):
        op.drop_table(table)
