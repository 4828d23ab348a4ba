"""consultations in versions and stages

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 06:17:13.064568

A consultation is now a sequence of versions of its draft (v0, v1, ...) and of stages
(comments, final comments, review, endorsement), each stage on one version with its own
window, reminders and clearance.

Every consultation there was becomes one version, v0 (its draft, file name and title),
and one stage, the first, of kind "comments", holding what the consultation held of its
round: status, deadline, opened and closed, late comments allowed, reminder schedule,
whom to remind, clearance. Its sections and clauses are v0's; its comments, "no comments"
answers, planned reminders and summaries, and chairs' nudges are of that first stage.
Nothing else moves: comments keep their numbers, answers and history, outgoing messages
stay as they were queued.

Downgrading keeps, of each consultation, its current stage's round and version; sections
and clauses of other versions, and what was said on them, are removed (a release before
this one knows only one draft per consultation).
"""

import sqlalchemy as sa
from alembic import op

import bot.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

ROUND_COLUMNS = (
    'status', 'deadline', 'opened_at', 'closed_at', 'allow_late', 'reminder_schedule', 'remind_everyone', 'clearance'
)


def upgrade() -> None:
    op.create_table(
        'versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('draft_bytes', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', bot.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('mapping', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ['consultation_id'], ['consultations.id'], name=op.f('fk_versions_consultation_id_consultations'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_versions')),
        sa.UniqueConstraint('consultation_id', 'number', name=op.f('uq_versions_consultation_id')),
    )  # fmt: skip
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_versions_consultation_id'), ['consultation_id'], unique=False)

    op.create_table(
        'stages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), server_default='comments', nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('deadline', bot.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('opened_at', bot.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_at', bot.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('allow_late', sa.Boolean(), nullable=False),
        sa.Column('reminder_schedule', sa.String(length=200), nullable=True),
        sa.Column('remind_everyone', sa.Boolean(), nullable=False),
        sa.Column('clearance', sa.String(length=16), server_default='off', nullable=False),
        sa.Column('silence', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('only_changed', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', bot.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['consultation_id'], ['consultations.id'], name=op.f('fk_stages_consultation_id_consultations'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['version_id'], ['versions.id'], name=op.f('fk_stages_version_id_versions'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stages')),
        sa.UniqueConstraint('consultation_id', 'position', name=op.f('uq_stages_consultation_id')),
    )  # fmt: skip
    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stages_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stages_version_id'), ['version_id'], unique=False)

    op.create_table(
        'stage_bodies',
        sa.Column('stage_id', sa.Integer(), nullable=False),
        sa.Column('body_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['body_id'], ['bodies.id'], name=op.f('fk_stage_bodies_body_id_bodies'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['stage_id'], ['stages.id'], name=op.f('fk_stage_bodies_stage_id_stages'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('stage_id', 'body_id', name=op.f('pk_stage_bodies')),
    )

    # Each consultation: its draft becomes v0, its round the first stage.
    op.execute(
        'INSERT INTO versions (consultation_id, number, title, filename, draft_bytes, created_at) '
        'SELECT id, 0, title, draft_filename, draft_bytes, created_at FROM consultations'
    )
    columns = ', '.join(ROUND_COLUMNS)
    of_round = ', '.join(f'c.{name}' for name in ROUND_COLUMNS)
    op.execute(
        f'INSERT INTO stages (consultation_id, version_id, position, kind, {columns}, silence, only_changed, '
        f'created_at) SELECT c.id, v.id, 1, \'comments\', {of_round}, {_false()}, {_false()}, c.created_at '
        'FROM consultations c JOIN versions v ON v.consultation_id = c.id'
    )

    for table in ('sections', 'clauses'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version_id', sa.Integer(), nullable=True))
        op.execute(
            f'UPDATE {table} SET version_id = '
            f'(SELECT v.id FROM versions v WHERE v.consultation_id = {table}.consultation_id)'
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('version_id', existing_type=sa.Integer(), nullable=False)
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_consultation_id'), type_='unique')
            batch_op.create_index(batch_op.f(f'ix_{table}_version_id'), ['version_id'], unique=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_version_id'), ['version_id', 'ref'])
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_version_id_versions'), 'versions', ['version_id'], ['id'], ondelete='CASCADE'
            )

    for table, required in (('comments', True), ('section_responses', True), ('planned_jobs', False), ('nudges', False)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('stage_id', sa.Integer(), nullable=True))
        op.execute(
            f'UPDATE {table} SET stage_id = (SELECT s.id FROM stages s WHERE s.consultation_id = {table}.consultation_id)'
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            if required:
                batch_op.alter_column('stage_id', existing_type=sa.Integer(), nullable=False)
            if table == 'section_responses':
                batch_op.drop_constraint(batch_op.f('uq_section_responses_section_id'), type_='unique')
                batch_op.create_unique_constraint(
                    batch_op.f('uq_section_responses_stage_id'), ['stage_id', 'section_id', 'contact_id']
                )
            batch_op.create_index(batch_op.f(f'ix_{table}_stage_id'), ['stage_id'], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_stage_id_stages'), 'stages', ['stage_id'], ['id'], ondelete='CASCADE'
            )

    with op.batch_alter_table('consultations', schema=None) as batch_op:
        for name in (*ROUND_COLUMNS, 'draft_filename', 'draft_bytes'):
            batch_op.drop_column(name)


def _false() -> str:
    return 'false' if op.get_bind().dialect.name == 'postgresql' else '0'


def downgrade() -> None:
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('deadline', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('opened_at', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('allow_late', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('reminder_schedule', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('remind_everyone', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('clearance', sa.String(length=16), server_default='off', nullable=False))
        batch_op.add_column(sa.Column('draft_filename', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('draft_bytes', sa.LargeBinary(), nullable=True))
    current = (
        'SELECT s.{column} FROM stages s WHERE s.consultation_id = consultations.id ORDER BY s.position DESC LIMIT 1'
    )
    for name in ROUND_COLUMNS:
        op.execute(f'UPDATE consultations SET {name} = ({current.format(column=name)})')
    for name, column in (('draft_filename', 'filename'), ('draft_bytes', 'draft_bytes')):
        op.execute(
            f'UPDATE consultations SET {name} = (SELECT v.{column} FROM versions v WHERE v.id = '
            f'({current.format(column="version_id")}))'
        )
    # Only the current version's sections and clauses stay (and what was said on them).
    other = (
        'SELECT x.id FROM {table} x WHERE x.version_id <> (SELECT s.version_id FROM stages s '
        'WHERE s.consultation_id = x.consultation_id ORDER BY s.position DESC LIMIT 1)'
    )
    clauses, sections = other.format(table='clauses'), other.format(table='sections')
    for table, column, gone in (
        ('comments', 'clause_id', clauses),
        ('comment_drafts', 'clause_id', clauses),
        ('clauses', 'id', clauses),
        ('section_responses', 'section_id', sections),
        ('routes', 'section_id', sections),
        ('message_anchors', 'section_id', sections),
        ('outbox', 'section_id', sections),
        ('sections', 'id', sections),
    ):
        op.execute(f'DELETE FROM {table} WHERE {column} IN ({gone})')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        for name in ('status', 'allow_late', 'remind_everyone', 'draft_filename'):
            batch_op.alter_column(name, existing_type=sa.String(length=255), nullable=False)

    for table in ('nudges', 'planned_jobs', 'section_responses', 'comments'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_stage_id_stages'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_stage_id'))
            if table == 'section_responses':
                batch_op.drop_constraint(batch_op.f('uq_section_responses_stage_id'), type_='unique')
                batch_op.create_unique_constraint(
                    batch_op.f('uq_section_responses_section_id'), ['section_id', 'contact_id']
                )
            batch_op.drop_column('stage_id')

    for table in ('clauses', 'sections'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_version_id_versions'), type_='foreignkey')
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_version_id'), type_='unique')
            batch_op.drop_index(batch_op.f(f'ix_{table}_version_id'))
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_consultation_id'), ['consultation_id', 'ref'])
            batch_op.drop_column('version_id')

    op.drop_table('stage_bodies')
    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stages_version_id'))
        batch_op.drop_index(batch_op.f('ix_stages_consultation_id'))
    op.drop_table('stages')
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_versions_consultation_id'))
    op.drop_table('versions')
