"""operators: accounts, sessions, canned answers, psychologist invitations, transfers, closing notes

Revision ID: operators_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from chat.db import UTCDateTime

revision: str = "operators_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("operators",)
depends_on: str | Sequence[str] | None = "core_0001"

# The key messages of issue 4, seeded once; supervisors edit them afterwards in the console.
CANNED = [
    ("Encourager le dépôt de plainte",
     "Ce que vous décrivez peut constituer une infraction. Vous pouvez déposer plainte dans n'importe quel "
     "commissariat ou brigade de gendarmerie, qui ne peut pas refuser de l'enregistrer. Si vous le souhaitez, "
     "je peux vous aider à préparer ce dépôt de plainte ou à prendre rendez-vous."),
    ("Conserver les preuves",
     "Pour conserver des preuves : faites des captures d'écran où l'on voit la date et l'heure, notez les "
     "adresses (liens) des pages et des profils, gardez les messages, courriels et SMS sans les supprimer, et "
     "conservez les certificats médicaux. Rangez-les dans un endroit que l'auteur ne peut pas consulter."),
    ("Conseils de sécurité",
     "Votre sécurité passe avant tout. Si vous êtes en danger, éloignez-vous si vous le pouvez, allez vers un "
     "lieu où il y a du monde, et gardez votre téléphone chargé. Vous pouvez quitter ce site à tout moment avec "
     "le bouton « Quitter rapidement »."),
    ("Numéros d'urgence",
     "En cas d'urgence : appelez le 17 (police secours) ou le 112. Si vous ne pouvez pas parler, envoyez un SMS "
     "au 114. Violences conjugales : 3919 (gratuit, anonyme, 24 h/24). Enfance en danger : 119. "
     "Cyber-harcèlement : 3018. Aide aux victimes : 116 006."),
]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("force", sa.String(16), nullable=True),
        sa.Column("service_id", sa.String(64), nullable=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
    )
    op.create_table(
        "account_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("csrf_secret", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("console_seen_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_account_sessions"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_account_sessions_account_id_accounts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_account_sessions_account_id", "account_sessions", ["account_id"])
    canned = op.create_table(
        "canned_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(32), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_canned_answers"),
    )
    op.create_table(
        "psychologist_invitations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("invited_by", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accepted_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_psychologist_invitations"),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name="fk_psychologist_invitations_conversation_id_conversations", ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_psychologist_invitations_conversation_id", "psychologist_invitations", ["conversation_id"]
    )
    op.create_index("ix_psychologist_invitations_status", "psychologist_invitations", ["status", "created_at"])
    for table in ("conversation_transfers", "closing_notes"):
        columns = (
            [
                sa.Column("from_account", sa.String(32), nullable=False),
                sa.Column("to_account", sa.String(32), nullable=True),
                sa.Column("to_force", sa.String(16), nullable=True),
                sa.Column("note", sa.Text(), nullable=False),
            ]
            if table == "conversation_transfers"
            else [sa.Column("account_id", sa.String(32), nullable=False), sa.Column("note", sa.Text(), nullable=False)]
        )
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("conversation_id", sa.String(32), nullable=False),
            *columns,
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["conversation_id"], ["conversations.id"], name=f"fk_{table}_conversation_id_conversations",
                ondelete="CASCADE",
            ),
        )
        op.create_index(f"ix_{table}_conversation_id", table, ["conversation_id"])
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    op.bulk_insert(
        canned,
        [
            {"title": title, "body": body, "position": i, "updated_by": None, "updated_at": now}
            for i, (title, body) in enumerate(CANNED)
        ],
    )


def downgrade() -> None:
    for table in ("closing_notes", "conversation_transfers", "psychologist_invitations", "canned_answers",
                  "account_sessions", "accounts"):
        op.drop_table(table)
