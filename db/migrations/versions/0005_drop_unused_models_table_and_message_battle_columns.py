"""drop the unused models table and messages.battle_id/side

Nothing wrote the `models` table, and battle turns live in `battles.conversation_a/b`,
so the battle columns of `messages` were never filled outside a test factory.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_battle_id"))
        batch_op.drop_column("side")
        batch_op.drop_column("battle_id")
    op.drop_table("models")


def downgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.String(length=128), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("battle_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("side", sa.String(length=1), nullable=True))
        batch_op.create_foreign_key("fk_messages_battle_id_battles", "battles", ["battle_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_messages_battle_id"), ["battle_id"], unique=False)
