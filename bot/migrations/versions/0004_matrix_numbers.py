"""comments keep their matrix number ("TH-004") from one consolidation to the next

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:00:00.000000

The earlier release numbered the matrix afresh at every consolidation: the active comments
of each Member State in document order (clause position, then time of the comment). The
upgrade stores those same numbers, so that a matrix compiled before the upgrade still
matches its comments row by row.
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_comments_consultation_id'), ['consultation_id', 'number'])

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.consultation_id, s.code FROM comments c"
            " JOIN clauses k ON k.id = c.clause_id"
            " JOIN member_states s ON s.id = c.state_id"
            " WHERE c.status = 'active'"
            " ORDER BY c.consultation_id, k.position, c.created_at, c.id"
        )
    ).all()
    counters: dict[tuple[int, str], int] = defaultdict(int)
    numbers = []
    for comment_id, consultation_id, code in rows:
        counters[consultation_id, code] += 1
        numbers.append({'id': comment_id, 'number': f"{code}-{counters[consultation_id, code]:03d}"})
    if numbers:
        bind.execute(sa.text("UPDATE comments SET number = :number WHERE id = :id"), numbers)


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_comments_consultation_id'), type_='unique')
        batch_op.drop_column('number')
