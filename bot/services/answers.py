"""The Secretariat's answer to every comment: a disposition, an observation, and word back
to the delegates who wrote them.

A comment's current answer lives on the comment (disposition, observation, who answered and
when, when it was last made known to its author); every change is kept in `answer_changes`.
An officer answering in chat walks through the unanswered comments one at a time; where they
stand is kept in `answer_walks`, so they can stop and resume, across a restart, and two
officers walking at once are never handed the same comment. The same steps change one
comment's answer from its card (`/history`), checked at the end against the answer the
officer saw when they began: an answer given meanwhile by another officer is not overwritten.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    AnswerChange,
    AnswerWalk,
    Body,
    Clause,
    ClearanceEvent,
    Comment,
    CommentStatus,
    Consultation,
    Contact,
    MemberState,
    Role,
    Section,
    utcnow,
)
from bot.services import clearance, outbox, reminders
from bot.services.comments import clean_text
from bot.services.errors import InvalidInput, NotFound, Reason, Refused
from bot.services.registry import Actor, require
from bot.services.render import Renderer
from bot.services.sql import dialect, table
from bot.services.status import answer_counts


class Disposition(enum.StrEnum):
    ACCEPTED = "accepted"
    PARTLY = "partly"  # accepted in part (modified)
    NOTED = "noted"
    REJECTED = "rejected"  # not accepted

    @property
    def needs_observation(self) -> bool:
        """An answer that does not simply take the comment says why."""
        return self in (Disposition.PARTLY, Disposition.REJECTED)


# A walk-through holds its comment this long; an officer who walked away frees it for others.
HOLD = timedelta(minutes=30)
OBSERVATION_LIMIT = 4000
STEP_DISPOSITION, STEP_OBSERVATION = "disposition", "observation"


def parse_disposition(value: str) -> Disposition:
    try:
        return Disposition(value.strip().lower())
    except ValueError as exc:
        raise InvalidInput(Reason.BAD_DISPOSITION, value=value) from exc


# --- the filter of a walk-through -------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """Which comments a walk-through covers: one section, body, Member State or type, or all."""

    section: str | None = None
    body: str | None = None
    state: str | None = None
    kind: str | None = None

    def encode(self) -> str:
        return ";".join(
            f"{k}={v}"
            for k, v in (("section", self.section), ("body", self.body), ("state", self.state), ("kind", self.kind))
            if v
        )

    @classmethod
    def decode(cls, text: str | None) -> Filter:
        values = dict(part.split("=", 1) for part in (text or "").split(";") if "=" in part)
        return cls(**{k: v for k, v in values.items() if k in ("section", "body", "state", "kind")})

    def describe(self) -> str:
        return (
            ", ".join(v for v in (self.section and f"section {self.section}", self.body, self.state, self.kind) if v)
            or ""
        )


async def read_filter(session: AsyncSession, consultation: Consultation, words: list[str]) -> Filter:
    """`/answer` arguments after the consultation: a section number, a body code, a Member
    State (name or code) or a type (ge, te, ed). Anything else is refused by name."""
    if not words:
        return Filter()
    word = " ".join(words).strip()
    key = word.lower()
    if key in ("ge", "te", "ed"):
        return Filter(kind=key)
    sections = {
        s.ref.lower(): s.ref
        for s in await session.scalars(select(Section).where(Section.consultation_id == consultation.id))
    }
    if key in sections:
        return Filter(section=sections[key])
    for body in await session.scalars(select(Body)):
        if body.code.lower() == key:
            return Filter(body=body.code)
    for state in await session.scalars(select(MemberState)):
        if key in (state.name.lower(), state.code.lower()):
            return Filter(state=state.name)
    raise InvalidInput(Reason.BAD_ANSWER_FILTER, value=word)


def _matching(consultation_id: int, flt: Filter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Comment.consultation_id == consultation_id,
        clearance.counted(),
    ]
    if flt.section:
        conditions.append(
            Clause.section_id.in_(
                select(Section.id).where(Section.consultation_id == consultation_id, Section.ref == flt.section)
            )
        )
    if flt.body:
        conditions.append(Comment.body_id.in_(select(Body.id).where(Body.code == flt.body)))
    if flt.state:
        conditions.append(Comment.state_id.in_(select(MemberState.id).where(MemberState.name == flt.state)))
    if flt.kind:
        conditions.append(Comment.kind == flt.kind)
    return conditions


# --- one comment to answer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ToAnswer:
    """A comment as the officer answering it sees it."""

    comment_id: int
    consultation_title: str
    clause_ref: str
    clause_text: str
    author: str
    kind: str
    text: str
    proposed: str | None
    late: bool
    disposition: str | None
    observation: str | None
    step: str
    chosen: str | None  # the disposition picked, while its observation is awaited
    answered: int
    total: int
    scope: str
    number: str | None  # in the matrix ("TH-004"), once compiled
    changing: bool  # changing this one comment's answer, not walking through the unanswered
    published_at: datetime | None  # when its answer was last made known to its author

    @property
    def observation_required(self) -> bool:
        """The disposition picked needs its observation (the officer cannot skip it)."""
        return self.chosen is not None and Disposition(self.chosen).needs_observation


async def _progress(session: AsyncSession, consultation_id: int, flt: Filter) -> tuple[int, int]:
    conditions = _matching(consultation_id, flt)
    base = select(func.count()).select_from(Comment).join(Clause, Clause.id == Comment.clause_id).where(*conditions)
    total = await session.scalar(base) or 0
    answered = await session.scalar(base.where(Comment.disposition.is_not(None))) or 0
    return answered, total


async def _shown(session: AsyncSession, walk: AnswerWalk) -> ToAnswer:
    comment = await session.get(Comment, walk.comment_id) if walk.comment_id else None
    consultation = await session.get(Consultation, walk.consultation_id)
    if comment is None or consultation is None:
        raise NotFound(Reason.COMMENT_GONE)
    body = await session.get(Body, comment.body_id) if comment.body_id is not None else None
    state = await session.get(MemberState, comment.state_id)
    flt = Filter.decode(walk.filter)
    changing = walk.change_from is not None
    answered, total = (0, 0) if changing else await _progress(session, consultation.id, flt)
    return ToAnswer(
        comment_id=comment.id,
        consultation_title=consultation.title,
        clause_ref=comment.clause.ref,
        clause_text=comment.clause.text,
        author=" – ".join(x for x in (body.code if body else "", state.name if state else "") if x),
        kind=comment.kind,
        text=comment.text,
        proposed=comment.proposed,
        late=comment.late,
        disposition=comment.disposition,
        observation=comment.observation,
        step=walk.step,
        chosen=walk.disposition,
        answered=answered,
        total=total,
        scope=flt.describe(),
        number=comment.number,
        changing=changing,
        published_at=comment.answer_published_at,
    )


@dataclass(frozen=True)
class WalkDone:
    """Nothing left to answer in the walk-through's scope."""

    consultation_title: str
    answered: int
    total: int
    scope: str


async def _next_comment(
    session: AsyncSession, actor: Actor, consultation_id: int, flt: Filter, now: datetime, *, after: int | None = None
) -> int | None:
    """The first unanswered comment, in the draft's order (after the comment `after`, when
    given), that no other officer is holding."""
    held_by_others = exists().where(
        AnswerWalk.comment_id == Comment.id,
        AnswerWalk.contact_id != actor.contact_id,
        AnswerWalk.updated_at > now - HOLD,
    )
    query = (
        select(Comment.id)
        .join(Clause, Clause.id == Comment.clause_id)
        .where(*_matching(consultation_id, flt), Comment.disposition.is_(None), ~held_by_others)
        .order_by(Clause.position, Comment.id)
        .limit(1)
    )
    if after is not None:
        position = await session.scalar(
            select(Clause.position).join(Comment, Comment.clause_id == Clause.id).where(Comment.id == after)
        )
        if position is not None:
            query = query.where(or_(Clause.position > position, and_(Clause.position == position, Comment.id > after)))
    return await session.scalar(query)


async def begin(
    session: AsyncSession, actor: Actor, consultation: Consultation, flt: Filter, *, now: datetime | None = None
) -> ToAnswer | WalkDone:
    """Start answering (or resume: the same walk-through, where it stood)."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    walk = await session.get(AnswerWalk, actor.contact_id)
    if walk is not None and walk.comment_id and walk.change_from is not None:
        # A change begun from a comment's card comes first (its card has Cancel).
        comment = await session.get(Comment, walk.comment_id)
        if comment is not None and comment.status == CommentStatus.ACTIVE:
            walk.updated_at = now
            await session.flush()
            return await _shown(session, walk)
    elif (
        walk is not None and walk.consultation_id == consultation.id and walk.filter == flt.encode() and walk.comment_id
    ):
        comment = await session.get(Comment, walk.comment_id)
        if comment is not None and comment.status == CommentStatus.ACTIVE and comment.disposition is None:
            walk.updated_at = now
            await session.flush()
            return await _shown(session, walk)
    if walk is None:
        walk = AnswerWalk(contact_id=actor.contact_id)
        session.add(walk)
    walk.consultation_id, walk.filter = consultation.id, flt.encode()
    return await _advance(session, actor, walk, now)


async def resume(session: AsyncSession, actor: Actor, *, now: datetime | None = None) -> ToAnswer | WalkDone | None:
    """The walk-through in hand, if any."""
    walk = await session.get(AnswerWalk, actor.contact_id)
    if walk is None or walk.comment_id is None:
        return None
    return await _shown(session, walk)


async def _advance(session: AsyncSession, actor: Actor, walk: AnswerWalk, now: datetime) -> ToAnswer | WalkDone:
    flt = Filter.decode(walk.filter)
    walk.comment_id = await _next_comment(session, actor, walk.consultation_id, flt, now)
    walk.step, walk.disposition, walk.change_from, walk.updated_at = STEP_DISPOSITION, None, None, now
    await session.flush()
    if walk.comment_id is None:
        consultation = await session.get(Consultation, walk.consultation_id)
        answered, total = await _progress(session, walk.consultation_id, flt)
        await session.delete(walk)
        await session.flush()
        return WalkDone(consultation.title if consultation else "", answered, total, flt.describe())
    return await _shown(session, walk)


async def begin_again(
    session: AsyncSession, actor: Actor, *, now: datetime | None = None
) -> ToAnswer | WalkDone | AnswerHistory:
    """After an answer that could not be stored (the comment was answered by someone else
    meanwhile, or withdrawn): a walk-through goes on to the next comment; a change of one
    answer ends, and the comment is shown as it stands."""
    require(actor, Role.SECRETARIAT)
    walk = await session.get(AnswerWalk, actor.contact_id)
    if walk is None:
        raise NotFound(Reason.ANSWER_NOT_IN_HAND)
    if walk.change_from is not None:
        comment_id = walk.comment_id
        await session.delete(walk)
        await session.flush()
        if comment_id is None:
            raise NotFound(Reason.COMMENT_GONE)
        return await card(session, actor, comment_id)
    return await _advance(session, actor, walk, now or utcnow())


async def _walk_on(session: AsyncSession, actor: Actor, comment_id: int, *, changing: bool | None = None) -> AnswerWalk:
    """The officer's walk-through, if it is on this comment (and, when `changing` is given,
    a change of one answer or a walk-through, as asked)."""
    walk = await session.get(AnswerWalk, actor.contact_id)
    if walk is None or walk.comment_id != comment_id:
        raise NotFound(Reason.ANSWER_NOT_IN_HAND)
    if changing is not None and changing != (walk.change_from is not None):
        raise NotFound(Reason.ANSWER_NOT_IN_HAND)
    return walk


async def choose(
    session: AsyncSession, actor: Actor, comment_id: int, disposition: str, *, now: datetime | None = None
) -> ToAnswer | WalkDone:
    """The officer picks a disposition: on to its observation (required or optional)."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    chosen = parse_disposition(disposition)
    walk = await _walk_on(session, actor, comment_id)
    walk.step, walk.disposition, walk.updated_at = STEP_OBSERVATION, chosen.value, now
    await session.flush()
    return await _shown(session, walk)


async def observe(
    session: AsyncSession,
    actor: Actor,
    comment_id: int | None,
    observation: str | None,
    *,
    keep: bool = False,
    now: datetime | None = None,
) -> tuple[Answered, ToAnswer | WalkDone | AnswerHistory]:
    """The observation (None: skipped; `keep`: the one the answer has now, when changing it)
    completes the answer. A walk-through goes on to the next comment; a change of one answer
    ends with the comment's card as it now stands."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    walk = await session.get(AnswerWalk, actor.contact_id)
    if walk is None or walk.comment_id is None or walk.step != STEP_OBSERVATION or walk.disposition is None:
        raise NotFound(Reason.ANSWER_NOT_IN_HAND)
    if comment_id is not None and walk.comment_id != comment_id:
        raise NotFound(Reason.ANSWER_NOT_IN_HAND)
    if walk.change_from is None:
        if keep:
            raise NotFound(Reason.ANSWER_NOT_IN_HAND)
        done = await record(session, actor, walk.comment_id, walk.disposition, observation, now=now, first_only=True)
        return done, await _advance(session, actor, walk, now)
    if keep:
        comment = await session.get(Comment, walk.comment_id)
        observation = comment.observation if comment is not None else None
    done = await record(
        session, actor, walk.comment_id, walk.disposition, observation, now=now, expected_change=walk.change_from
    )
    await session.delete(walk)
    await session.flush()
    return done, await card(session, actor, done.comment_id)


async def skip(
    session: AsyncSession, actor: Actor, comment_id: int, *, now: datetime | None = None
) -> ToAnswer | WalkDone:
    """Leave this comment for later (or for another officer) and go on to the next; after the
    last one, round again from the first still unanswered."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    walk = await _walk_on(session, actor, comment_id, changing=False)
    following = await _next_comment(
        session, actor, walk.consultation_id, Filter.decode(walk.filter), now, after=comment_id
    )
    if following is None:
        return await _advance(session, actor, walk, now)
    walk.comment_id, walk.step, walk.disposition, walk.updated_at = following, STEP_DISPOSITION, None, now
    await session.flush()
    return await _shown(session, walk)


async def stop(session: AsyncSession, actor: Actor) -> tuple[int, int] | None:
    """Stop answering for now; the comment in hand is freed for others."""
    walk = await session.get(AnswerWalk, actor.contact_id)
    if walk is None:
        return None
    progress = await _progress(session, walk.consultation_id, Filter.decode(walk.filter))
    await session.delete(walk)
    await session.flush()
    return progress


# --- changing one answer from its card ------------------------------------------------------------------


async def _last_change(session: AsyncSession, comment_id: int) -> int:
    """The id of the last change of a comment's answer (0: never answered); a card carries
    it, so that a change begun from an old card is known for one."""
    return await session.scalar(select(func.max(AnswerChange.id)).where(AnswerChange.comment_id == comment_id)) or 0


async def _answerer(session: AsyncSession, comment: Comment) -> str:
    by = await session.get(Contact, comment.answered_by) if comment.answered_by else None
    return by.name if by else "the command line"


async def change(
    session: AsyncSession, actor: Actor, comment_id: int, seen: int, *, now: datetime | None = None
) -> ToAnswer:
    """Begin changing one comment's answer (or giving its first) from its card: the
    walk-through's steps, for this comment alone. `seen` is the last change of the answer the
    card showed: a card older than the answer is refused, and the change is checked again
    when it is stored. An answer already made known can be changed: its author is sent the
    change at the next publish."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    comment = await session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(Reason.COMMENT_GONE)
    if comment.status != CommentStatus.ACTIVE:
        raise Refused(Reason.COMMENT_WITHDRAWN, ref=comment.clause.ref)
    if await _last_change(session, comment.id) != seen:
        raise Refused(
            Reason.ANSWER_CARD_OUT_OF_DATE,
            number=comment.number or comment.clause.ref,
            by=await _answerer(session, comment),
            disposition=comment.disposition,
        )
    walk = await session.get(AnswerWalk, actor.contact_id)
    if walk is None:
        walk = AnswerWalk(contact_id=actor.contact_id)
        session.add(walk)
    walk.consultation_id, walk.filter, walk.comment_id = comment.consultation_id, "", comment.id
    walk.step, walk.disposition, walk.change_from, walk.updated_at = STEP_DISPOSITION, None, seen, now
    await session.flush()
    return await _shown(session, walk)


async def cancel_change(session: AsyncSession, actor: Actor, comment_id: int) -> AnswerHistory:
    """Leave the answer as it is; the comment's card as it stands."""
    require(actor, Role.SECRETARIAT)
    walk = await _walk_on(session, actor, comment_id, changing=True)
    await session.delete(walk)
    await session.flush()
    return await card(session, actor, comment_id)


# --- recording an answer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    comment_id: int
    clause_ref: str
    disposition: str
    changed: bool  # it replaced an earlier answer
    change_id: int  # the last change of the answer, now (for a button that changes it again)
    same: bool = False  # the answer given was the one stored: nothing changed


async def record(
    session: AsyncSession,
    actor: Actor,
    comment_id: int,
    disposition: str,
    observation: str | None,
    *,
    now: datetime | None = None,
    first_only: bool = False,
    expected_change: int | None = None,
) -> Answered:
    """Set (or change) a comment's answer; the change is kept with who made it and when.
    `first_only`: refuse if someone answered it meanwhile (two officers at once).
    `expected_change`: refuse unless the answer's last change is still this one (0: none),
    i.e. nobody answered or changed it since the officer began."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    chosen = parse_disposition(disposition)
    text = clean_observation(observation)
    if chosen.needs_observation and not text:
        raise InvalidInput(Reason.OBSERVATION_REQUIRED, disposition=chosen.value)
    # Locked until the commit: two officers answering one comment at once take turns here.
    # SQLite locks the whole file, and only from a transaction's first write: a write first,
    # so that what is checked below is still true when the answer is written.
    if dialect(session) == "sqlite":
        comments = table(Comment)
        await session.execute(update(comments).where(comments.c.id == comment_id).values(id=comments.c.id))
    comment = await session.scalar(select(Comment).where(Comment.id == comment_id).with_for_update(of=Comment))
    if comment is None:
        raise NotFound(Reason.COMMENT_GONE)
    if comment.status != CommentStatus.ACTIVE:
        raise Refused(Reason.COMMENT_WITHDRAWN, ref=comment.clause.ref)
    if first_only and comment.disposition is not None:
        raise Refused(
            Reason.ALREADY_ANSWERED,
            ref=comment.clause.ref,
            by=await _answerer(session, comment),
            disposition=comment.disposition,
        )
    last = await _last_change(session, comment.id)
    if expected_change is not None and last != expected_change:
        raise Refused(
            Reason.ANSWER_CHANGED_MEANWHILE,
            number=comment.number or comment.clause.ref,
            by=await _answerer(session, comment),
            disposition=comment.disposition,
            first=expected_change == 0,
        )
    before = (comment.disposition, comment.observation)
    if before == (chosen.value, text):
        return Answered(comment.id, comment.clause.ref, chosen.value, False, last, same=True)
    change = AnswerChange(
        comment_id=comment.id,
        contact_id=actor.contact_id or None,
        changed_at=now,
        disposition_before=before[0],
        observation_before=before[1],
        disposition_after=chosen.value,
        observation_after=text,
    )
    session.add(change)
    comment.disposition, comment.observation = chosen.value, text
    comment.answered_by, comment.answered_at = actor.contact_id or None, now
    await session.flush()
    return Answered(comment.id, comment.clause.ref, chosen.value, before[0] is not None, change.id)


def clean_observation(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return clean_text(text, limit=OBSERVATION_LIMIT) if text else None


@dataclass(frozen=True)
class Change:
    at: datetime
    by: str
    before: tuple[str | None, str | None]
    after: tuple[str | None, str | None]


async def history(session: AsyncSession, actor: Actor, comment_id: int) -> list[Change]:
    """Every change of a comment's answer, oldest first (for the Secretariat)."""
    require(actor, Role.SECRETARIAT)
    rows = await session.execute(
        select(AnswerChange, Contact.name)
        .outerjoin(Contact, Contact.id == AnswerChange.contact_id)
        .where(AnswerChange.comment_id == comment_id)
        .order_by(AnswerChange.changed_at, AnswerChange.id)
    )
    return [
        Change(
            c.changed_at,
            name or "the command line",
            (c.disposition_before, c.observation_before),
            (c.disposition_after, c.observation_after),
        )
        for c, name in rows
    ]


@dataclass(frozen=True)
class AnswerHistory:
    """One comment, its answer now, and every change of it (for the Secretariat)."""

    number: str
    clause_ref: str
    author: str
    text: str
    disposition: str | None
    observation: str | None
    published_at: datetime | None
    changes: list[Change]
    comment_id: int = 0
    last_change: int = 0  # the last change's id (0: none): what a button to change it carries
    withdrawn: bool = False
    # What its state's focal point did to it (and the delegate resubmitting), oldest first.
    clearance: list[ClearanceStep] = field(default_factory=list)


@dataclass(frozen=True)
class ClearanceStep:
    at: datetime
    by: str
    action: str  # cleared | returned | edited | merged | resubmitted
    note: str | None
    text_before: str | None


async def history_of_number(
    session: AsyncSession, actor: Actor, consultation: Consultation, number: str
) -> AnswerHistory:
    """`/history TH-004`: the comment with this matrix number and its answer's history."""
    require(actor, Role.SECRETARIAT)
    found = await session.scalar(
        select(Comment.id).where(
            Comment.consultation_id == consultation.id, func.upper(Comment.number) == number.strip().upper()
        )
    )
    if found is None:
        raise NotFound(Reason.UNKNOWN_NUMBER, number=number, name=consultation.name)
    return await card(session, actor, found)


async def card(session: AsyncSession, actor: Actor, comment_id: int) -> AnswerHistory:
    """A comment, its answer now and every change of it: what `/history` shows."""
    require(actor, Role.SECRETARIAT)
    found = (
        await session.execute(
            select(Comment, Body.code, MemberState.name)
            .outerjoin(Body, Body.id == Comment.body_id)
            .join(MemberState, MemberState.id == Comment.state_id)
            .where(Comment.id == comment_id)
        )
    ).first()
    if found is None:
        raise NotFound(Reason.COMMENT_GONE)
    comment, body, state = found
    changes = await history(session, actor, comment.id)
    return AnswerHistory(
        comment.number or comment.clause.ref,
        comment.clause.ref,
        f"{body} \u2013 {state}" if body else state,
        comment.text,
        comment.disposition,
        comment.observation,
        comment.answer_published_at,
        changes,
        comment_id=comment.id,
        last_change=await _last_change(session, comment.id),
        withdrawn=comment.status != CommentStatus.ACTIVE,
        clearance=[
            ClearanceStep(e.at, name or "", e.action, e.note, e.text_before)
            for e, name in await session.execute(
                select(ClearanceEvent, Contact.name)
                .outerjoin(Contact, Contact.id == ClearanceEvent.contact_id)
                .where(ClearanceEvent.comment_id == comment.id)
                .order_by(ClearanceEvent.id)
            )
        ],
    )


# --- making the answers known --------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerLine:
    """One comment of a delegate's, with its answer, as their message lists it."""

    clause_ref: str
    kind: str
    text: str
    disposition: str
    observation: str | None
    again: bool  # it was made known before, and has changed since


@dataclass(frozen=True)
class Published:
    consultation: str
    title: str
    delegates: int
    comments: int
    messages: int
    unanswered: int
    chairs: int = 0  # chairs sent a summary of their body's answers


async def publish(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, render: Renderer, now: datetime | None = None
) -> Published:
    """Tell each delegate once what became of their comments: one message each (split only
    by length), through the outgoing queue. An answer changed after it was made known goes
    again, as a short update; nothing else is sent twice. The chairs of the bodies whose
    answers went out are each sent a summary of their body's answers, with a chart."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    rows = list(
        await session.scalars(
            select(Comment)
            .join(Clause, Clause.id == Comment.clause_id)
            .where(
                Comment.consultation_id == consultation.id,
                clearance.counted(),
                Comment.disposition.is_not(None),
                or_(Comment.answer_published_at.is_(None), Comment.answer_published_at < Comment.answered_at),
            )
            .order_by(Comment.contact_id, Clause.position, Comment.id)
        )
    )
    unanswered = (
        await session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(
                Comment.consultation_id == consultation.id,
                clearance.counted(),
                Comment.disposition.is_(None),
            )
        )
        or 0
    )
    by_contact: dict[int, list[Comment]] = defaultdict(list)
    for comment in rows:
        by_contact[comment.contact_id].append(comment)
    messages = 0
    stamp = now.strftime("%Y%m%dT%H%M%S")
    for contact_id, comments in by_contact.items():
        contact = await session.get(Contact, contact_id)
        if contact is None:
            continue
        lines = [
            AnswerLine(
                c.clause.ref, c.kind, c.text, c.disposition or "", c.observation, c.answer_published_at is not None
            )
            for c in comments
        ]
        for index, text in enumerate(render.answers_message(consultation.title, lines)):
            messages += await outbox.enqueue(
                session,
                key=f"answers:{consultation.id}:{contact_id}:{stamp}:{index}",
                kind="answers",
                chat_id=contact.chat_id,
                contact_id=contact.id,
                message=outbox.OutgoingMessage(text=text, consultation_id=consultation.id),
                now=now,
            )
        for comment in comments:
            comment.answer_published_at = now
    await session.flush()
    chairs = await _tell_chairs(
        session,
        consultation,
        {c.body_id for c in rows if c.body_id is not None},
        render=render,
        now=now,
        stamp=stamp,
        timezone=actor.timezone,
    )
    return Published(consultation.name, consultation.title, len(by_contact), len(rows), messages, unanswered, chairs)


async def answer_summary(
    session: AsyncSession,
    consultation: Consultation,
    body_id: int,
    *,
    render: Renderer,
    now: datetime | None = None,
    timezone: str = "UTC",
) -> reminders.Summary:
    """A body's answers, by disposition and Member State, as a chair is sent them: the text
    and a bar chart per Member State, dated ``now`` in ``timezone``."""
    from documents.chart import answers_chart

    body = await session.get(Body, body_id)
    code = body.code if body else ""
    counts = await answer_counts(session, consultation, body_id=body_id)
    numbers = {t.key: [*(t.by_disposition.get(d, 0) for d in Disposition), t.open] for t in counts.states}
    legend = [render.disposition_label(d) for d in (*Disposition, None)]
    chart = await asyncio.to_thread(
        functools.partial(answers_chart, at=now or utcnow(), timezone=timezone),
        consultation.title,
        [t.key for t in counts.states],
        numbers,
        legend,
    )
    return reminders.Summary(
        render.answer_summary(consultation.title, code, counts),
        chart,
        None,
        render.answer_chart_caption(consultation.title, code),
    )


async def _tell_chairs(
    session: AsyncSession,
    consultation: Consultation,
    body_ids: set[int],
    *,
    render: Renderer,
    now: datetime,
    stamp: str,
    timezone: str,
) -> int:
    """Each chair of a body whose answers were just made known: their body's summary, once
    (its chart dated in ``timezone``, the Secretariat's)."""
    if not body_ids:
        return 0
    chairs = list(
        await session.scalars(
            select(Contact)
            .where(Contact.role == Role.CHAIR, Contact.body_id.in_(body_ids), Contact.chat_id.is_not(None))
            .order_by(Contact.id)
        )
    )
    summaries: dict[int, reminders.Summary] = {}
    told = 0
    for chair in chairs:
        body_id = chair.body_id or 0
        if body_id not in summaries:
            summaries[body_id] = await answer_summary(
                session, consultation, body_id, render=render, now=now, timezone=timezone
            )
        queued = await reminders.enqueue_summary(
            session,
            chair,
            consultation,
            summaries[body_id],
            key=f"answer-summary:{consultation.id}:{chair.id}:{stamp}",
            at=now,
            now=now,
            kind="answer-summary",
        )
        told += 1 if queued else 0
    return told
