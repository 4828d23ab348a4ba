"""clearance by national focal points

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:55:12.978226

`consultations.clearance` says whether a consultation asks the Member States' focal points
to clear their delegates' comments: off, advisory or required. Every consultation there was
before this revision is off, as the bot behaved until now.

`comments.clearance` is where a comment stands with its state's focal point: drafted
(waiting), returned (with `clearance_note`) or cleared (by `cleared_by`, at `cleared_at`;
`cleared_late` when after the deadline). Earlier comments are drafted, which changes
nothing while their consultation's clearance is off.
"""

import sqlalchemy as sa
from alembic import op

import bot.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clearance', sa.String(length=16), server_default='drafted', nullable=False))
        batch_op.add_column(sa.Column('cleared_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cleared_at', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clearance_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('cleared_late', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key(
            batch_op.f('fk_comments_cleared_by_contacts'), 'contacts', ['cleared_by'], ['id'], ondelete='SET NULL'
        )

    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clearance', sa.String(length=16), server_default='off', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('clearance')

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_comments_cleared_by_contacts'), type_='foreignkey')
        batch_op.drop_column('cleared_late')
        batch_op.drop_column('clearance_note')
        batch_op.drop_column('cleared_at')
        batch_op.drop_column('cleared_by')
        batch_op.drop_column('clearance')
