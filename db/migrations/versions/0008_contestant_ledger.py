"""contestant ledger: every contestant ever served, its revisions, weights and retirement

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contestant_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('arena_weight', sa.Float(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contestant_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contestant_events_model'), ['model'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contestant_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contestant_events_model'))

    op.drop_table('contestant_events')
