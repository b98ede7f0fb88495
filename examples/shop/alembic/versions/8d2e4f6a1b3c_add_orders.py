"""add orders

Revision ID: 8d2e4f6a1b3c
Revises: 3f1c0a9b2d11
Create Date: 2025-02-10 14:02:10.551029

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "8d2e4f6a1b3c"
down_revision: Union[str, None] = "3f1c0a9b2d11"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("orders")
