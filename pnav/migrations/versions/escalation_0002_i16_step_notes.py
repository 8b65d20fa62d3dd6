"""escalation: a private note, encrypted at rest, with each step a local service records (issue 16)

Revision ID: escalation_0002_i16
Revises: escalation_0001
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "escalation_0002_i16"
down_revision: str | Sequence[str] | None = "escalation_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signalement_events") as batch:
        batch.add_column(sa.Column("note_ciphertext", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signalement_events") as batch:
        batch.drop_column("note_ciphertext")
