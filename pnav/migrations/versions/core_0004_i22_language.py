"""core: the language of a tchat's visitor (issue 22)

Revision ID: core_0004_i22
Revises: core_0003_i20
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "core_0004_i22"
down_revision: str | Sequence[str] | None = "core_0003_i20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The tchats already there were all in French: the server default fills them.
    op.add_column("conversations", sa.Column("language", sa.String(8), nullable=False, server_default="fr"))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("language")
