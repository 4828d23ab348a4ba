"""clearance by national focal points

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:00:15.434514

`consultations.clearance` says whether a consultation asks the Member States' focal points
to clear their delegates' comments: off, advisory or required. Every consultation there was
before this revision is off, as the bot behaved until now.

`comments.clearance` is where a comment stands with its state's focal point: drafted
(waiting), returned (with `clearance_note`) or cleared (by `cleared_by`, at `cleared_at`;
`cleared_late` when after the deadline); `merged_into` is the comment a focal point merged
it into (its status is then "merged"). Earlier comments are drafted, which changes nothing
while their consultation's clearance is off.

`comments.body_id` may be NULL: a Member State's own comment, written by its focal point.

`clearance_events` is each comment's history with its focal point (cleared, returned,
edited with the text before and after, merged, resubmitted); `review_steps` is the note or
text a focal point is about to type.
"""

import sqlalchemy as sa
from alembic import op

import bot.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'clearance_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('at', bot.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('text_before', sa.Text(), nullable=True),
        sa.Column('text_after', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['comment_id'], ['comments.id'], name=op.f('fk_clearance_events_comment_id_comments'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['contact_id'], ['contacts.id'], name=op.f('fk_clearance_events_contact_id_contacts'), ondelete='SET NULL'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clearance_events')),
    )
    with op.batch_alter_table('clearance_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clearance_events_comment_id'), ['comment_id'], unique=False)

    op.create_table(
        'review_steps',
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=16), nullable=False),
        sa.Column('updated_at', bot.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['comment_id'], ['comments.id'], name=op.f('fk_review_steps_comment_id_comments'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['contact_id'], ['contacts.id'], name=op.f('fk_review_steps_contact_id_contacts'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_review_steps')),
    )

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.alter_column('body_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('clearance', sa.String(length=16), server_default='drafted', nullable=False))
        batch_op.add_column(sa.Column('cleared_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cleared_at', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clearance_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('cleared_late', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_comments_cleared_by_contacts'), 'contacts', ['cleared_by'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_comments_merged_into_comments'), 'comments', ['merged_into'], ['id'], ondelete='SET NULL'
        )

    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clearance', sa.String(length=16), server_default='off', nullable=False))


def downgrade() -> None:
    # A Member State's own comments have no body: they go with the downgrade.
    op.execute("DELETE FROM comments WHERE body_id IS NULL")
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('clearance')

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_comments_merged_into_comments'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_comments_cleared_by_contacts'), type_='foreignkey')
        batch_op.drop_column('merged_into')
        batch_op.drop_column('cleared_late')
        batch_op.drop_column('clearance_note')
        batch_op.drop_column('cleared_at')
        batch_op.drop_column('cleared_by')
        batch_op.drop_column('clearance')
        batch_op.alter_column('body_id', existing_type=sa.Integer(), nullable=False)

    op.drop_table('review_steps')
    with op.batch_alter_table('clearance_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clearance_events_comment_id'))
    op.drop_table('clearance_events')
