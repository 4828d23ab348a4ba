"""Clearance by the Member States' national focal points.

A consultation's clearance is off (every comment reaches the Secretariat as it is sent),
advisory (every comment counts, and whether its state's focal point cleared it is shown) or
required (a comment reaches the Secretariat, its status counts, its matrix and its
consolidated draft, only once cleared). The setting is read through `mode_of` and the SQL
conditions `asked` and `counted`, and nowhere else: a stage of the procedure can hold its own
setting by changing these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Clearance, ClearanceState, Comment, CommentStatus, Consultation, Contact, MemberState, Role
from bot.services.errors import InvalidInput, Reason
from bot.services.registry import Actor, require


class HasClearance(Protocol):
    @property
    def clearance(self) -> str: ...


def mode_of(consultation: HasClearance) -> Clearance:
    """The clearance the consultation asks for now (a consultation, or a row read with its
    `clearance` column)."""
    try:
        return Clearance(consultation.clearance)
    except ValueError:
        return Clearance.OFF


def national_deadline(consultation: Consultation, lead: timedelta) -> datetime | None:
    """By when delegates send their comments to their focal point, so that it can clear them
    before the regional deadline: `lead` before it, where clearance is asked for (else None)."""
    if consultation.deadline is None or lead <= timedelta(0) or mode_of(consultation) == Clearance.OFF:
        return None
    return consultation.deadline - lead


def parse_mode(value: str) -> Clearance:
    try:
        return Clearance(value.strip().lower())
    except ValueError as exc:
        raise InvalidInput(Reason.BAD_CLEARANCE, value=value) from exc


def asked() -> ColumnElement[bool]:
    """A SQL condition on `Consultation`: it asks its focal points for clearance (advisory or required)."""
    return Consultation.clearance != Clearance.OFF


def counted() -> ColumnElement[bool]:
    """A SQL condition on `Comment`: the comment reaches the Secretariat (not withdrawn, and
    cleared where its consultation requires clearance). For use inside any query on comments."""
    mode = select(Consultation.clearance).where(Consultation.id == Comment.consultation_id).scalar_subquery()
    return and_(
        Comment.status == CommentStatus.ACTIVE,
        or_(Comment.clearance == ClearanceState.CLEARED, mode != Clearance.REQUIRED),
    )


@dataclass(frozen=True)
class ClearanceChanged:
    consultation: str
    title: str
    before: Clearance
    after: Clearance
    # Comments not (yet) cleared when the setting changed: drafted (waiting) and returned.
    waiting: int
    returned: int
    # Member States with delegates but no focal point who has joined (clearance required).
    without_focal: list[str]


async def set_mode(
    session: AsyncSession, actor: Actor, consultation: Consultation, value: str | Clearance
) -> ClearanceChanged:
    """Set the consultation's clearance. Comments keep where they stand with their focal
    point: switched from required to off or advisory, those waiting (and those returned) count
    at once as they stand; switched to required, those not cleared stop counting until they are."""
    require(actor, Role.SECRETARIAT)
    after = parse_mode(value) if isinstance(value, str) else value
    before = mode_of(consultation)
    consultation.clearance = after
    await session.flush()
    pending: dict[str, int] = {}
    for state, n in await session.execute(
        select(Comment.clearance, func.count())
        .where(
            Comment.consultation_id == consultation.id,
            Comment.status == CommentStatus.ACTIVE,
            Comment.clearance != ClearanceState.CLEARED,
        )
        .group_by(Comment.clearance)
    ):
        pending[state] = n
    return ClearanceChanged(
        consultation.name,
        consultation.title,
        before,
        after,
        pending.get(ClearanceState.DRAFTED, 0),
        pending.get(ClearanceState.RETURNED, 0),
        await states_without_focal(session, consultation),
    )


async def states_without_focal(session: AsyncSession, consultation: Consultation) -> list[str]:
    """Where clearance is required: the Member States that have delegates but no focal point
    who has joined, so their comments can never be cleared (empty otherwise)."""
    if mode_of(consultation) != Clearance.REQUIRED:
        return []
    with_delegates = select(Contact.state_id).where(Contact.role == Role.DELEGATE)
    with_focal = select(Contact.state_id).where(Contact.role == Role.FOCAL, Contact.telegram_user_id.is_not(None))
    return list(
        await session.scalars(
            select(MemberState.name)
            .where(MemberState.id.in_(with_delegates), MemberState.id.not_in(with_focal))
            .order_by(MemberState.name)
        )
    )
