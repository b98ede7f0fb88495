"""create customers

Revision ID: 3f1c0a9b2d11
Revises:
Create Date: 2025-02-03 09:12:44.120311

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "3f1c0a9b2d11"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("customers")
