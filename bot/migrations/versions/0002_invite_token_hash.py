"""invites keep the SHA-256 of their token, not the token

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00.000000

Links given out before keep working: each stored token is replaced by its hash, which is
what a link's token is looked up by from now on.
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _hash(token: str) -> str:
    # The same as bot.services.registry.token_hash, kept here as it was when written.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # The rebuilt table's old pages are overwritten, not left with the tokens in them.
        op.execute("PRAGMA secure_delete = ON")
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))

    invites = sa.table('invites', sa.column('id', sa.Integer()), sa.column('token', sa.String()),
                       sa.column('token_hash', sa.String()))
    rows = bind.execute(sa.select(invites.c.id, invites.c.token)).all()
    for invite_id, token in rows:
        bind.execute(invites.update().where(invites.c.id == invite_id).values(token_hash=_hash(token)))

    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_invites_token_hash'), ['token_hash'])
        batch_op.drop_constraint(batch_op.f('uq_invites_token'), type_='unique')
        batch_op.drop_column('token')


def downgrade() -> None:
    # Tokens cannot be had back from their hashes: after a downgrade the links not yet used
    # no longer work (the hash stands in the token's place) and new invites must be issued.
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token', sa.String(length=64), nullable=True))
    op.execute("UPDATE invites SET token = token_hash")
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_invites_token'), ['token'])
        batch_op.drop_constraint(batch_op.f('uq_invites_token_hash'), type_='unique')
        batch_op.drop_column('token_hash')
