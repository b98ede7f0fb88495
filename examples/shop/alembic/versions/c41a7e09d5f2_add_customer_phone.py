"""add customer phone

Revision ID: c41a7e09d5f2
Revises: 3f1c0a9b2d11
Create Date: 2025-02-11 08:40:03.004911

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "c41a7e09d5f2"
down_revision: Union[str, None] = "3f1c0a9b2d11"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("phone", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("customers", "phone")
