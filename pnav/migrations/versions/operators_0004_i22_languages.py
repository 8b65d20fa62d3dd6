"""operators: the languages an operator speaks, and the language of a canned answer (issue 22)

Revision ID: operators_0004_i22
Revises: operators_0003_i21
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "operators_0004_i22"
down_revision: str | Sequence[str] | None = "operators_0003_i21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Codes separated by commas (chat/languages.py); every account speaks French.
    op.add_column("accounts", sa.Column("languages", sa.String(32), nullable=False, server_default="fr"))
    # A canned answer is written in one language; the existing ones are French.
    op.add_column("canned_answers", sa.Column("language", sa.String(8), nullable=False, server_default="fr"))


def downgrade() -> None:
    with op.batch_alter_table("canned_answers") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("languages")
