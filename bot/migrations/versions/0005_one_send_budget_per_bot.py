"""one send budget per bot: the shared timeline, the 429s, each instance's send rate

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import bot.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flood_waits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('instance', sa.String(length=36), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('retry_after', sa.Float(), nullable=False),
    sa.Column('bulk', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flood_waits'))
    )
    with op.batch_alter_table('flood_waits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flood_waits_at'), ['at'], unique=False)

    op.create_table('send_budget',
    sa.Column('bot_id', sa.String(length=32), nullable=False),
    sa.Column('next_at', sa.Float(), nullable=False),
    sa.Column('slow_factor', sa.Float(), nullable=False),
    sa.Column('slow_until', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('bot_id', name=op.f('pk_send_budget'))
    )
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_rate', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reply_rate', sa.Float(), nullable=False, server_default='0'))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_chat_status', ['chat_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_chat_status')

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('reply_rate')
        batch_op.drop_column('send_rate')

    op.drop_table('send_budget')
    with op.batch_alter_table('flood_waits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flood_waits_at'))

    op.drop_table('flood_waits')
