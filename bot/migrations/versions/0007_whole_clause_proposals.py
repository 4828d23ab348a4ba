"""proposed wording is the whole clause as the delegate wants it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:00:00.000000

From this release on the bot gives a delegate who proposes wording the clause's current
text and asks for the whole clause, so that the draft with proposals can mark only the
words that change. Wording sent before may be a fragment ("including workers in the
informal economy"): those comments are marked as such (false), and the draft with
proposals marks them in the text only where they restate the clause.
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposed_whole', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('proposed_whole')
