"""endorsement answers

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:55:39.275967

`endorsements` holds the answers to an endorsement stage: per sectoral body and Member State
(or, with no body, a Member State's answer for all its bodies by its focal point) endorse,
endorse with a reservation, or cannot endorse, with the reservation or reason, who answered
and when. A changed answer is kept with `replaced_at` set, so the record shows its history.

`endorsement_steps` is the reservation or reason a contact is about to type.

`pending_uploads.version_of_id` and `.corrections`: a draft sent in chat that is being
checked as the next version of a consultation, with the Secretariat's corrections of how its
clauses map to the last version's, before it is stored. `pending_uploads.picked`: a delegate's Word file whose comments are
picked one by one, each one's type (or left out).

New tables and two new nullable columns: nothing there was before is changed.
"""

import sqlalchemy as sa
from alembic import op

import bot.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('endorsement_steps',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('updated_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_endorsement_steps_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_endorsement_steps_stage_id_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_endorsement_steps'))
    )
    op.create_table('endorsements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=True),
    sa.Column('state_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('by_name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('answered_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', bot.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['body_id'], ['bodies.id'], name=op.f('fk_endorsements_body_id_bodies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_endorsements_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_endorsements_stage_id_stages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['state_id'], ['member_states.id'], name=op.f('fk_endorsements_state_id_member_states'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endorsements'))
    )
    with op.batch_alter_table('endorsements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endorsements_stage_id'), ['stage_id'], unique=False)

    with op.batch_alter_table('pending_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('corrections', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('picked', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_pending_uploads_version_of_id_consultations'),
            'consultations',
            ['version_of_id'],
            ['id'],
            ondelete='CASCADE',
        )



def downgrade() -> None:
    with op.batch_alter_table('pending_uploads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pending_uploads_version_of_id_consultations'), type_='foreignkey')
        batch_op.drop_column('picked')
        batch_op.drop_column('corrections')
        batch_op.drop_column('version_of_id')

    with op.batch_alter_table('endorsements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endorsements_stage_id'))

    op.drop_table('endorsements')
    op.drop_table('endorsement_steps')
