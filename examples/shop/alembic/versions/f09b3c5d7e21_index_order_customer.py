"""index orders by customer

Revision ID: f09b3c5d7e21
Revises: 3f1c0a9b2d11
Create Date: 2025-02-12 16:21:37.871200

"""
from typing import Sequence, Union

from alembic import op

revision: str = "f09b3c5d7e21"
down_revision: Union[str, None] = "8d2e4f6a1b3c"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_customer_id", table_name="orders")
