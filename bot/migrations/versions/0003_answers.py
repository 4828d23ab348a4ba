"""the Secretariat's answers to comments, their history, and officers' walk-throughs

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 07:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import bot.models

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disposition', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('answered_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('answer_published_at', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_comments_answered_by_contacts'), 'contacts', ['answered_by'], ['id'], ondelete='SET NULL'
        )
    op.create_table('answer_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disposition_before', sa.String(length=16), nullable=True),
    sa.Column('observation_before', sa.Text(), nullable=True),
    sa.Column('disposition_after', sa.String(length=16), nullable=True),
    sa.Column('observation_after', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_answer_changes_comment_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_answer_changes_contact_id_contacts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_changes'))
    )
    with op.batch_alter_table('answer_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_changes_comment_id'), ['comment_id'], unique=False)
    op.create_table('answer_walks',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('filter', sa.String(length=255), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('disposition', sa.String(length=16), nullable=True),
    sa.Column('updated_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_answer_walks_comment_id_comments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_answer_walks_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_answer_walks_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_answer_walks'))
    )
    with op.batch_alter_table('answer_walks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_walks_comment_id'), ['comment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('answer_walks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_walks_comment_id'))
    op.drop_table('answer_walks')
    with op.batch_alter_table('answer_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_changes_comment_id'))
    op.drop_table('answer_changes')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_comments_answered_by_contacts'), type_='foreignkey')
        batch_op.drop_column('answer_published_at')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('answered_by')
        batch_op.drop_column('disposition')
