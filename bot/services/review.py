"""What a national focal point does with their state's comments: read those waiting, clear
them (one, or a whole section or body at once), return one to its delegate with a note, edit
one (its text before is kept), merge two on one clause into one.

Every action checks again, whatever the button said, that the comment is of the focal
point's own Member State, still active, and where the action expects it: a forged press, a
withdrawn comment or one another focal point of the state has handled meanwhile changes
nothing and is answered with why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Body,
    Clause,
    Clearance,
    ClearanceEvent,
    ClearanceState,
    Comment,
    CommentDraft,
    CommentStatus,
    Consultation,
    Contact,
    Outbox,
    OutboxStatus,
    ReviewStep,
    Role,
    Section,
    utcnow,
)
from bot.services import clearance, outbox
from bot.services.comments import clean_text
from bot.services.errors import NotFound, Reason, Refused
from bot.services.registry import Actor, require
from bot.services.render import Renderer
from bot.services.schedule import next_daytime
from bot.services.sql import dialect, table
from bot.services.timetable import Timing, contact_tz

STEP_NOTE = "note"
STEP_EDIT = "edit"


@dataclass(frozen=True)
class ReviewItem:
    id: int
    consultation_id: int
    consultation_title: str
    section_id: int
    section_ref: str
    section_heading: str
    body_id: int
    body_code: str
    clause_id: int
    clause_ref: str
    kind: str
    text: str
    proposed: str | None
    author: str
    late: bool
    # The other comments of the state waiting on the same clause (what it may be merged with).
    siblings: tuple[int, ...] = ()


@dataclass(frozen=True)
class ReviewGroup:
    """One section's comments of one body, in the draft's order; `last_id` is the newest
    comment shown, so that clearing the group clears only what was read."""

    consultation_title: str
    section_id: int
    section_ref: str
    section_heading: str
    body_id: int
    body_code: str
    items: list[ReviewItem]

    @property
    def last_id(self) -> int:
        return max(item.id for item in self.items)


def _require_focal(actor: Actor) -> int:
    require(actor, Role.FOCAL)
    if actor.state_id is None:
        raise Refused(Reason.NOT_FOR_ROLE, role=str(actor.role), allowed=[str(Role.FOCAL)])
    return actor.state_id


async def waiting(session: AsyncSession, actor: Actor) -> list[ReviewGroup]:
    """The focal point's state's comments waiting for clearance, in consultations that ask
    for it, grouped by section and body in the draft's order."""
    state_id = _require_focal(actor)
    rows = await session.execute(
        select(Comment, Consultation.title, Section, Body.code, Clause.ref, Contact.name)
        .join(Consultation, Consultation.id == Comment.consultation_id)
        .join(Clause, Clause.id == Comment.clause_id)
        .join(Section, Section.id == Clause.section_id)
        .join(Body, Body.id == Comment.body_id)
        .join(Contact, Contact.id == Comment.contact_id)
        .where(
            Comment.state_id == state_id,
            Comment.status == CommentStatus.ACTIVE,
            Comment.clearance == ClearanceState.DRAFTED,
            Clause.version_id == Consultation.version_id,
            clearance.asked(),
        )
        .order_by(Consultation.id, Section.position, Body.code, Clause.position, Comment.id)
    )
    found = list(rows)
    by_clause: dict[int, list[int]] = {}
    for comment, *_ in found:
        by_clause.setdefault(comment.clause_id, []).append(comment.id)
    groups: dict[tuple[int, int, int], ReviewGroup] = {}
    for comment, title, section, body_code, clause_ref, author in found:
        item = ReviewItem(
            comment.id,
            comment.consultation_id,
            title,
            section.id,
            section.ref,
            section.heading,
            comment.body_id or 0,
            body_code,
            comment.clause_id,
            clause_ref,
            comment.kind,
            comment.text,
            comment.proposed,
            author,
            comment.late,
            tuple(i for i in by_clause[comment.clause_id] if i != comment.id),
        )
        key = (comment.consultation_id, section.id, comment.body_id or 0)
        if key not in groups:
            groups[key] = ReviewGroup(title, section.id, section.ref, section.heading, key[2], body_code, [])
        groups[key].items.append(item)
    return list(groups.values())


async def _own(session: AsyncSession, actor: Actor, comment_id: int, *, lock: bool = True) -> Comment:
    """The comment, if it is of the focal point's state and not withdrawn or merged."""
    state_id = _require_focal(actor)
    query = select(Comment).where(Comment.id == comment_id)
    if lock:
        # Locked until the commit: two focal points of a state acting on one comment at once
        # take turns, and the second is told what the first did. SQLite locks the whole file,
        # and only from a transaction's first write: a write first.
        if dialect(session) == "sqlite":
            comments = table(Comment)
            await session.execute(update(comments).where(comments.c.id == comment_id).values(id=comments.c.id))
        query = query.with_for_update(of=Comment)
    comment = await session.scalar(query.execution_options(populate_existing=True))
    if comment is None:
        raise NotFound(Reason.COMMENT_GONE)
    if comment.state_id != state_id:
        raise Refused(Reason.NOT_YOUR_STATE)
    ref = await _ref(session, comment)
    if comment.status == CommentStatus.WITHDRAWN:
        raise Refused(Reason.WITHDRAWN_NOT_CLEARABLE, ref=ref)
    if comment.status != CommentStatus.ACTIVE:
        raise Refused(Reason.COMMENT_MERGED, ref=ref)
    return comment


async def _ref(session: AsyncSession, comment: Comment) -> str:
    return str(await session.scalar(select(Clause.ref).where(Clause.id == comment.clause_id)))


async def _handled_by(session: AsyncSession, comment: Comment) -> str:
    """Who cleared or returned the comment (another focal point of the state, or this one)."""
    if comment.cleared_by is None:
        return ""
    return str(await session.scalar(select(Contact.name).where(Contact.id == comment.cleared_by)) or "")


async def _late(session: AsyncSession, comment: Comment, now: datetime) -> bool:
    deadline = await session.scalar(select(Consultation.deadline).where(Consultation.id == comment.consultation_id))
    return deadline is not None and now > deadline


def _expect_waiting(comment: Comment, ref: str, by: str) -> None:
    if comment.clearance == ClearanceState.CLEARED:
        raise Refused(Reason.ALREADY_CLEARED, ref=ref, by=by)
    if comment.clearance == ClearanceState.RETURNED:
        raise Refused(Reason.ALREADY_RETURNED, ref=ref, by=by)


@dataclass(frozen=True)
class Cleared:
    ref: str
    late: bool


async def clear(session: AsyncSession, actor: Actor, comment_id: int, *, now: datetime | None = None) -> Cleared:
    now = now or utcnow()
    comment = await _own(session, actor, comment_id)
    ref = await _ref(session, comment)
    _expect_waiting(comment, ref, await _handled_by(session, comment))
    late = await _late(session, comment, now)
    _mark_cleared(session, comment, actor, now, late)
    await session.flush()
    return Cleared(ref, late)


def _mark_cleared(session: AsyncSession, comment: Comment, actor: Actor, now: datetime, late: bool) -> None:
    comment.clearance = ClearanceState.CLEARED
    comment.cleared_by = actor.contact_id
    comment.cleared_at = now
    comment.cleared_late = late
    comment.clearance_note = None
    session.add(ClearanceEvent(comment_id=comment.id, contact_id=actor.contact_id, at=now, action="cleared"))


async def clear_group(
    session: AsyncSession,
    actor: Actor,
    section_id: int,
    body_id: int,
    last_id: int,
    *,
    now: datetime | None = None,
) -> int:
    """Clear the state's comments waiting in one section from one body, up to the newest
    the focal point was shown (`last_id`): one that came in since is left waiting."""
    now = now or utcnow()
    state_id = _require_focal(actor)
    section = await session.get(Section, section_id)
    if section is None:
        raise NotFound(Reason.SECTION_GONE)
    comments = list(
        await session.scalars(
            select(Comment)
            .join(Clause, Clause.id == Comment.clause_id)
            .where(
                Clause.section_id == section_id,
                Comment.body_id == body_id,
                Comment.state_id == state_id,
                Comment.status == CommentStatus.ACTIVE,
                Comment.clearance == ClearanceState.DRAFTED,
                Comment.id <= last_id,
            )
            .with_for_update(of=Comment)
        )
    )
    if not comments:
        return 0
    late = await _late(session, comments[0], now)
    for comment in comments:
        _mark_cleared(session, comment, actor, now, late)
    await session.flush()
    return len(comments)


async def begin(session: AsyncSession, actor: Actor, comment_id: int, step: str, *, now: datetime | None = None) -> str:
    """Start returning (step note) or editing (step edit) a waiting comment: its next
    message is the note or the new text. Returns the clause's reference."""
    now = now or utcnow()
    comment = await _own(session, actor, comment_id)
    ref = await _ref(session, comment)
    _expect_waiting(comment, ref, await _handled_by(session, comment))
    await session.execute(delete(ReviewStep).where(ReviewStep.contact_id == actor.contact_id))
    session.add(ReviewStep(contact_id=actor.contact_id, comment_id=comment.id, step=step, updated_at=now))
    await session.flush()
    return ref


async def step_in_hand(session: AsyncSession, actor: Actor) -> ReviewStep | None:
    if not actor.is_focal:
        return None
    return await session.get(ReviewStep, actor.contact_id)


async def cancel_step(session: AsyncSession, actor: Actor) -> bool:
    result = await session.execute(delete(ReviewStep).where(ReviewStep.contact_id == actor.contact_id))
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class Done:
    """A note or a new text typed: what became of the comment."""

    step: str
    ref: str
    # Returning: whether the delegate could be told now (they have a chat with the bot).
    told: bool = False


async def finish(
    session: AsyncSession,
    actor: Actor,
    typed: str,
    *,
    render: Renderer,
    limit: int = 8000,
    now: datetime | None = None,
) -> Done:
    """The focal point's message for the step in hand: the note a comment is returned with
    (its delegate is told through the outgoing queue), or the comment's new text."""
    now = now or utcnow()
    step = await session.get(ReviewStep, actor.contact_id, with_for_update=True)
    if step is None:
        raise NotFound(Reason.NO_REVIEW_IN_PROGRESS)
    text = clean_text(typed, limit=limit)
    comment = await _own(session, actor, step.comment_id)
    ref = await _ref(session, comment)
    await session.delete(step)
    _expect_waiting(comment, ref, await _handled_by(session, comment))
    if step.step == STEP_EDIT:
        session.add(
            ClearanceEvent(
                comment_id=comment.id,
                contact_id=actor.contact_id,
                at=now,
                action="edited",
                text_before=comment.text,
                text_after=text,
            )
        )
        comment.text = text
        comment.updated_at = now
        await session.flush()
        return Done(STEP_EDIT, ref)
    comment.clearance = ClearanceState.RETURNED
    comment.clearance_note = text
    comment.cleared_by = actor.contact_id
    comment.cleared_at = now
    session.add(
        ClearanceEvent(comment_id=comment.id, contact_id=actor.contact_id, at=now, action="returned", note=text)
    )
    await session.flush()
    delegate = await session.get(Contact, comment.contact_id)
    title = str(await session.scalar(select(Consultation.title).where(Consultation.id == comment.consultation_id)))
    told = await outbox.enqueue(
        session,
        key=f"returned:{comment.id}:{now.isoformat()}",
        kind="returned",
        chat_id=delegate.chat_id if delegate else None,
        contact_id=comment.contact_id,
        message=outbox.OutgoingMessage(
            text=render.comment_returned(title, ref, actor.state_name or "", text),
            consultation_id=comment.consultation_id,
        ),
        now=now,
    )
    return Done(STEP_NOTE, ref, told=bool(told))


async def merge_candidates(session: AsyncSession, actor: Actor, comment_id: int) -> tuple[ReviewItem, list[ReviewItem]]:
    """The waiting comment and the others of the state waiting on its clause."""
    comment = await _own(session, actor, comment_id, lock=False)
    ref = await _ref(session, comment)
    _expect_waiting(comment, ref, await _handled_by(session, comment))
    items = {i.id: i for g in await waiting(session, actor) for i in g.items}
    item = items.get(comment_id)
    others = [items[o] for o in item.siblings if o in items] if item else []
    if item is None or not others:
        raise Refused(Reason.NOTHING_TO_MERGE, ref=ref)
    return item, others


@dataclass(frozen=True)
class Merged:
    ref: str
    kept: int
    text: str


async def merge(
    session: AsyncSession, actor: Actor, comment_id: int, other_id: int, *, now: datetime | None = None
) -> Merged:
    """Merge `other_id` into `comment_id`: two waiting comments of the state on one clause
    become one, which keeps both texts (and the first's proposed wording, else the
    other's); the other is left as merged, with the history of both kept."""
    now = now or utcnow()
    if comment_id == other_id:
        raise Refused(Reason.MERGE_SAME)
    kept = await _own(session, actor, comment_id)
    other = await _own(session, actor, other_id)
    ref = await _ref(session, kept)
    _expect_waiting(kept, ref, await _handled_by(session, kept))
    _expect_waiting(other, ref, await _handled_by(session, other))
    if kept.clause_id != other.clause_id:
        raise Refused(Reason.MERGE_OTHER_CLAUSE, ref=ref, other=await _ref(session, other))
    before = kept.text
    kept.text = f"{kept.text}\n\n{other.text}"
    if not kept.proposed and other.proposed:
        kept.proposed, kept.proposed_whole = other.proposed, other.proposed_whole
    kept.updated_at = now
    other.status = CommentStatus.MERGED
    other.merged_into = kept.id
    other.updated_at = now
    session.add_all(
        [
            ClearanceEvent(
                comment_id=kept.id,
                contact_id=actor.contact_id,
                at=now,
                action="merged",
                text_before=before,
                text_after=kept.text,
            ),
            ClearanceEvent(comment_id=other.id, contact_id=actor.contact_id, at=now, action="merged"),
        ]
    )
    # Neither delegate goes on editing a comment that is now merged.
    await session.execute(delete(CommentDraft).where(CommentDraft.comment_id == other.id))
    await session.execute(delete(ReviewStep).where(ReviewStep.comment_id == other.id))
    await session.flush()
    return Merged(ref, kept.id, kept.text)


# --- the focal points' digest ------------------------------------------------------------------------

DIGEST_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class DigestLine:
    section_ref: str
    section_heading: str
    body_code: str
    new: int


async def queue_digests(
    session: AsyncSession, comment_id: int, *, render: Renderer, timing: Timing, now: datetime | None = None
) -> int:
    """A delegate sent a comment: each focal point of their state is sent, through the
    outgoing queue, the state's new comments waiting for clearance by section and body, at
    most once a day (in their daytime). A digest not yet sent gives way to a newer one, which
    counts everything new (or sent again) since the last digest that went out."""
    now = now or utcnow()
    comment = await session.get(Comment, comment_id)
    if comment is None:
        return 0
    consultation = await session.get(Consultation, comment.consultation_id)
    if consultation is None or clearance.mode_of(consultation) == Clearance.OFF:
        return 0
    focal_points = list(
        await session.scalars(
            select(Contact).where(
                Contact.role == Role.FOCAL,
                Contact.state_id == comment.state_id,
                Contact.chat_id.is_not(None),
                Contact.unreachable_at.is_(None),
            )
        )
    )
    queued = 0
    for focal in focal_points:
        last = await session.scalar(
            select(func.max(Outbox.sent_at)).where(
                Outbox.contact_id == focal.id,
                Outbox.consultation_id == consultation.id,
                Outbox.kind == "focal_digest",
                Outbox.status == OutboxStatus.SENT,
            )
        )
        query = (
            select(Section.ref, Section.heading, Body.code, func.count())
            .select_from(Comment)
            .join(Clause, Clause.id == Comment.clause_id)
            .join(Section, Section.id == Clause.section_id)
            .join(Body, Body.id == Comment.body_id)
            .where(
                Comment.consultation_id == consultation.id,
                Comment.state_id == comment.state_id,
                Comment.status == CommentStatus.ACTIVE,
                Comment.clearance == ClearanceState.DRAFTED,
            )
            .group_by(Section.position, Section.ref, Section.heading, Body.code)
            .order_by(Section.position, Body.code)
        )
        if last is not None:
            query = query.where(Comment.updated_at > last)
        lines = [DigestLine(ref, heading, code, n) for ref, heading, code, n in await session.execute(query)]
        if not lines:
            continue
        await session.execute(
            update(Outbox)
            .where(
                Outbox.contact_id == focal.id,
                Outbox.consultation_id == consultation.id,
                Outbox.kind == "focal_digest",
                Outbox.status == OutboxStatus.QUEUED,
            )
            .values(status=OutboxStatus.SUPERSEDED)
        )
        tz = contact_tz(focal, timing.default_tz)
        at = next_daytime(max(now, last + DIGEST_EVERY) if last is not None else now, tz, timing.quiet_hours)
        queued += await outbox.enqueue(
            session,
            key=f"focal_digest:{consultation.id}:{focal.id}:{comment.id}:{now.isoformat()}",
            kind="focal_digest",
            chat_id=focal.chat_id,
            contact_id=focal.id,
            message=outbox.OutgoingMessage(
                text=render.focal_digest(consultation.title, lines), consultation_id=consultation.id
            ),
            now=now,
            not_before=at,
        )
    return queued


async def history(session: AsyncSession, comment_id: int) -> list[ClearanceEvent]:
    return list(
        await session.scalars(
            select(ClearanceEvent).where(ClearanceEvent.comment_id == comment_id).order_by(ClearanceEvent.id)
        )
    )
