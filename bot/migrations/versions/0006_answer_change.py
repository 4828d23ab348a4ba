"""one answer changed in chat: the walk-through row remembers which answer it changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00.000000

`answer_walks.change_from` is set while an officer changes one comment's answer from its
card: the last change of that answer they saw when they began (0: none yet). It is NULL for
a walk-through of the unanswered comments, which every row written before this revision is.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answer_walks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_from', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('answer_walks', schema=None) as batch_op:
        batch_op.drop_column('change_from')
