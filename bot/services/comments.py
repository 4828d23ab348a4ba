"""Comments by clause, the comment being written, and "no comments on this section"."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.models import (
    Clause,
    Comment,
    CommentDraft,
    CommentKind,
    CommentStatus,
    Consultation,
    MessageAnchor,
    RoundStatus,
    Section,
    SectionResponse,
    utcnow,
)
from bot.services.errors import InvalidInput, NotFound, Refused, RoundClosed, UnknownClause
from bot.services.registry import Actor
from bot.services.rounds import may_read_section, sections_for_actor
from documents.draft import normalise_ref

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(value: str, *, limit: int) -> str:
    """Keep what a person wrote, minus control characters; refuse empty or oversized text."""
    value = unicodedata.normalize("NFC", value or "")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value).strip()
    if not value:
        raise InvalidInput(texts.empty_text())
    if len(value) > limit:
        raise InvalidInput(texts.text_too_long(len(value), limit))
    return value


# --- finding clauses --------------------------------------------------------------------------------


async def clause_by_id(session: AsyncSession, clause_id: int) -> Clause:
    clause = await session.get(Clause, clause_id)
    if clause is None:
        raise NotFound(texts.clause_gone())
    return clause


async def find_clause(session: AsyncSession, consultation: Consultation, actor: Actor, ref: str) -> Clause:
    """The clause with this reference among those the actor may see, or an error naming the
    nearest references."""
    wanted = normalise_ref(ref)
    clause = await session.scalar(
        select(Clause).where(Clause.consultation_id == consultation.id, func.lower(Clause.ref) == wanted)
    )
    if clause is not None and await may_read_section(session, consultation.id, clause.section_id, actor):
        return clause
    sections = await sections_for_actor(session, consultation, actor)
    refs = [c.ref for s in sections for c in s.clauses]
    suggestions = [r for r in refs if wanted and r.lower().startswith(wanted + ".")][:6]
    for match in difflib.get_close_matches(wanted, [r.lower() for r in refs], n=6, cutoff=0.5):
        original = next(r for r in refs if r.lower() == match)
        if original not in suggestions:
            suggestions.append(original)
    raise UnknownClause(texts.unknown_clause(ref, consultation.name, suggestions[:6]), suggestions[:6])


async def anchor_for(session: AsyncSession, chat_id: int, message_id: int) -> MessageAnchor | None:
    return await session.get(MessageAnchor, (chat_id, message_id))


async def record_anchor(
    session: AsyncSession, chat_id: int, message_id: int, consultation_id: int, section_id: int | None, clause_ids: list[int]
) -> None:
    existing = await session.get(MessageAnchor, (chat_id, message_id))
    if existing is None:
        session.add(
            MessageAnchor(
                chat_id=chat_id,
                message_id=message_id,
                consultation_id=consultation_id,
                section_id=section_id,
                clause_ids=clause_ids,
            )
        )
        await session.flush()


# --- whether comments are accepted ----------------------------------------------------------------


def check_accepting(consultation: Consultation, now: datetime) -> bool:
    """Raise when the round does not take comments; return True when a comment would be late."""
    if consultation.status == RoundStatus.DRAFT:
        raise RoundClosed(texts.round_not_open(consultation.title))
    late = bool(consultation.deadline and now > consultation.deadline)
    if consultation.status == RoundStatus.CLOSED or (late and not consultation.allow_late):
        raise RoundClosed(texts.round_closed(consultation.title, consultation.deadline))
    return late


def _require_delegate(actor: Actor) -> None:
    if actor.body_id is None or actor.state_id is None:
        raise Refused(texts.only_delegates_comment())


# --- the comment being written ---------------------------------------------------------------------


@dataclass(frozen=True)
class DraftView:
    clause_id: int
    clause_ref: str
    clause_text: str
    consultation_title: str
    step: str
    kind: str | None
    text: str | None
    proposed: str | None
    editing: int | None


STEP_PICK = "pick"
STEP_KIND = "kind"
STEP_TEXT = "text"
STEP_PROPOSED = "proposed"
STEP_CONFIRM = "confirm"


async def _view(session: AsyncSession, draft: CommentDraft) -> DraftView:
    clause = draft.clause
    consultation = await session.get(Consultation, clause.consultation_id)
    return _view_of(draft, clause, consultation)


def _view_of(draft: CommentDraft, clause: Clause, consultation: Consultation) -> DraftView:
    return DraftView(
        clause_id=clause.id,
        clause_ref=clause.ref,
        clause_text=clause.text,
        consultation_title=consultation.title,
        step=draft.step,
        kind=draft.kind,
        text=draft.text,
        proposed=draft.proposed,
        editing=draft.comment_id,
    )


async def current_draft(session: AsyncSession, actor: Actor) -> DraftView | None:
    draft = await session.get(CommentDraft, actor.contact_id)
    return await _view(session, draft) if draft else None


async def start_comment(
    session: AsyncSession,
    actor: Actor,
    clause_id: int,
    *,
    text: str | None = None,
    now: datetime | None = None,
    limit: int = 8000,
    step: str | None = None,
) -> DraftView:
    """Begin a comment on a clause (replacing any unfinished one)."""
    now = now or utcnow()
    _require_delegate(actor)
    clause = await clause_by_id(session, clause_id)
    consultation = await session.get(Consultation, clause.consultation_id)
    check_accepting(consultation, now)
    await _check_visible(session, consultation, actor, clause)
    if text is not None:
        text = clean_text(text, limit=limit)
    # All reads are done: the write (and SQLite's write lock) lasts only until the commit.
    await session.execute(delete(CommentDraft).where(CommentDraft.contact_id == actor.contact_id))
    draft = CommentDraft(
        contact_id=actor.contact_id,
        clause_id=clause.id,
        step=step or STEP_KIND,
        text=text,
        updated_at=now,
    )
    session.add(draft)
    await session.flush()
    return _view_of(draft, clause, consultation)


async def _check_visible(session: AsyncSession, consultation: Consultation, actor: Actor, clause: Clause) -> None:
    if not await may_read_section(session, consultation.id, clause.section_id, actor):
        raise Refused(texts.clause_not_routed(clause.ref))


async def _draft(session: AsyncSession, actor: Actor) -> CommentDraft:
    draft = await session.get(CommentDraft, actor.contact_id)
    if draft is None:
        raise NotFound(texts.no_comment_in_progress())
    return draft


async def pick_clause(session: AsyncSession, actor: Actor, clause_id: int, now: datetime | None = None) -> DraftView:
    draft = await _draft(session, actor)
    clause = await clause_by_id(session, clause_id)
    draft.clause_id = clause.id
    draft.step = STEP_KIND
    draft.updated_at = now or utcnow()
    await session.flush()
    await session.refresh(draft, ["clause"])
    return await _view(session, draft)


async def set_kind(session: AsyncSession, actor: Actor, kind: str, now: datetime | None = None) -> DraftView:
    draft = await _draft(session, actor)
    try:
        draft.kind = CommentKind(kind)
    except ValueError as exc:
        raise InvalidInput(texts.bad_kind(kind)) from exc
    if draft.step in (STEP_KIND, STEP_PICK):
        draft.step = STEP_PROPOSED if draft.text else STEP_TEXT
    draft.updated_at = now or utcnow()
    await session.flush()
    return await _view(session, draft)


async def set_text(session: AsyncSession, actor: Actor, text: str, *, limit: int, now: datetime | None = None) -> DraftView:
    draft = await _draft(session, actor)
    draft.text = clean_text(text, limit=limit)
    draft.step = STEP_CONFIRM if draft.comment_id or draft.step == STEP_CONFIRM else STEP_PROPOSED
    draft.updated_at = now or utcnow()
    await session.flush()
    return await _view(session, draft)


async def set_proposed(
    session: AsyncSession, actor: Actor, proposed: str | None, *, limit: int, now: datetime | None = None
) -> DraftView:
    draft = await _draft(session, actor)
    draft.proposed = clean_text(proposed, limit=limit) if proposed is not None else None
    draft.step = STEP_CONFIRM
    draft.updated_at = now or utcnow()
    await session.flush()
    return await _view(session, draft)


async def goto_step(session: AsyncSession, actor: Actor, step: str) -> DraftView:
    draft = await _draft(session, actor)
    draft.step = step
    await session.flush()
    return await _view(session, draft)


async def cancel_draft(session: AsyncSession, actor: Actor) -> bool:
    result = await session.execute(delete(CommentDraft).where(CommentDraft.contact_id == actor.contact_id))
    return bool(result.rowcount)


@dataclass(frozen=True)
class Saved:
    comment_id: int
    clause_ref: str
    kind: str
    late: bool
    edited: bool
    consultation_title: str


async def submit(
    session: AsyncSession, actor: Actor, *, source_key: str | None = None, now: datetime | None = None
) -> Saved:
    """Turn the comment being written into a recorded comment (or update the one being edited)."""
    now = now or utcnow()
    draft = await _draft(session, actor)
    if not draft.kind or not draft.text:
        raise InvalidInput(texts.comment_incomplete())
    clause = draft.clause
    consultation = await session.get(Consultation, clause.consultation_id)
    late = check_accepting(consultation, now)
    if draft.comment_id:
        comment = await session.get(Comment, draft.comment_id)
        if comment is None or comment.status != CommentStatus.ACTIVE:
            raise NotFound(texts.comment_gone())
        comment.kind, comment.text, comment.proposed = draft.kind, draft.text, draft.proposed
        comment.updated_at = now
        comment.late = comment.late or late
        edited = True
    else:
        if source_key and await session.scalar(select(Comment.id).where(Comment.source_key == source_key)):
            raise Refused(texts.already_recorded())
        comment = Comment(
            consultation_id=consultation.id,
            clause_id=clause.id,
            contact_id=actor.contact_id,
            body_id=actor.body_id,
            state_id=actor.state_id,
            kind=draft.kind,
            text=draft.text,
            proposed=draft.proposed,
            late=late,
            created_at=now,
            updated_at=now,
            source_key=source_key,
        )
        session.add(comment)
        edited = False
    await session.delete(draft)
    await session.flush()
    return Saved(comment.id, clause.ref, comment.kind, comment.late, edited, consultation.title)


async def quick_comment(
    session: AsyncSession, actor: Actor, consultation: Consultation, ref: str, text: str, *, limit: int, now=None
) -> DraftView:
    """`/comment 2.3.1 TEXT`: start a comment with its text already written."""
    clause = await find_clause(session, consultation, actor, ref)
    return await start_comment(session, actor, clause.id, text=text, now=now, limit=limit)


# --- my comments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyComment:
    id: int
    consultation: str
    consultation_title: str
    clause_ref: str
    kind: str
    text: str
    proposed: str | None
    late: bool
    created_at: datetime
    editable: bool
    observation: str | None


async def my_comments(session: AsyncSession, actor: Actor, now: datetime | None = None) -> list[MyComment]:
    now = now or utcnow()
    rows = await session.execute(
        select(Comment, Clause.ref, Clause.position, Consultation)
        .join(Clause, Clause.id == Comment.clause_id)
        .join(Consultation, Consultation.id == Comment.consultation_id)
        .where(Comment.contact_id == actor.contact_id, Comment.status == CommentStatus.ACTIVE)
        .order_by(Consultation.id, Clause.position, Comment.id)
    )
    result = []
    for comment, ref, _pos, consultation in rows:
        try:
            check_accepting(consultation, now)
            editable = True
        except RoundClosed:
            editable = False
        result.append(
            MyComment(
                comment.id,
                consultation.name,
                consultation.title,
                ref,
                comment.kind,
                comment.text,
                comment.proposed,
                comment.late,
                comment.created_at,
                editable,
                comment.observation,
            )
        )
    return result


async def _own_comment(session: AsyncSession, actor: Actor, comment_id: int, now: datetime) -> Comment:
    comment = await session.get(Comment, comment_id)
    if comment is None or comment.contact_id != actor.contact_id or comment.status != CommentStatus.ACTIVE:
        raise NotFound(texts.comment_gone())
    consultation = await session.get(Consultation, comment.consultation_id)
    check_accepting(consultation, now)
    return comment


async def edit_comment(session: AsyncSession, actor: Actor, comment_id: int, now: datetime | None = None) -> DraftView:
    now = now or utcnow()
    comment = await _own_comment(session, actor, comment_id, now)
    await session.execute(delete(CommentDraft).where(CommentDraft.contact_id == actor.contact_id))
    draft = CommentDraft(
        contact_id=actor.contact_id,
        clause_id=comment.clause_id,
        comment_id=comment.id,
        step=STEP_CONFIRM,
        kind=comment.kind,
        text=comment.text,
        proposed=comment.proposed,
        updated_at=now,
    )
    session.add(draft)
    await session.flush()
    await session.refresh(draft, ["clause"])
    return await _view(session, draft)


async def withdraw_comment(session: AsyncSession, actor: Actor, comment_id: int, now: datetime | None = None) -> str:
    now = now or utcnow()
    comment = await _own_comment(session, actor, comment_id, now)
    comment.status = CommentStatus.WITHDRAWN
    comment.updated_at = now
    await session.execute(delete(CommentDraft).where(CommentDraft.comment_id == comment.id))
    await session.flush()
    return comment.clause.ref


async def comment_summary(session: AsyncSession, actor: Actor, comment_id: int) -> MyComment:
    for item in await my_comments(session, actor):
        if item.id == comment_id:
            return item
    raise NotFound(texts.comment_gone())


# --- no comments on a section --------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionAnswer:
    section_id: int
    section_ref: str
    heading: str
    consultation_title: str
    recorded: bool


async def no_comments(session: AsyncSession, actor: Actor, section_id: int, now: datetime | None = None) -> SectionAnswer:
    now = now or utcnow()
    _require_delegate(actor)
    section = await session.get(Section, section_id)
    if section is None:
        raise NotFound(texts.section_gone())
    consultation = await session.get(Consultation, section.consultation_id)
    check_accepting(consultation, now)
    if not await may_read_section(session, consultation.id, section.id, actor):
        raise Refused(texts.clause_not_routed(section.ref))
    existing = await session.scalar(
        select(SectionResponse).where(SectionResponse.section_id == section.id, SectionResponse.contact_id == actor.contact_id)
    )
    if existing is None:
        session.add(
            SectionResponse(
                consultation_id=consultation.id,
                section_id=section.id,
                contact_id=actor.contact_id,
                body_id=actor.body_id,
                state_id=actor.state_id,
                created_at=now,
            )
        )
        await session.flush()
    return SectionAnswer(section.id, section.ref, section.heading, consultation.title, existing is None)


async def undo_no_comments(session: AsyncSession, actor: Actor, section_id: int, now: datetime | None = None) -> SectionAnswer:
    now = now or utcnow()
    section = await session.get(Section, section_id)
    if section is None:
        raise NotFound(texts.section_gone())
    consultation = await session.get(Consultation, section.consultation_id)
    check_accepting(consultation, now)
    result = await session.execute(
        delete(SectionResponse).where(SectionResponse.section_id == section.id, SectionResponse.contact_id == actor.contact_id)
    )
    return SectionAnswer(section.id, section.ref, section.heading, consultation.title, bool(result.rowcount))


async def find_clause_anywhere(session: AsyncSession, actor: Actor, ref: str) -> tuple[Consultation, Section, Clause]:
    """A clause by reference in whichever consultation the actor sees has it (the most recent
    open one first)."""
    from bot.services.rounds import visible_consultations

    consultations = await visible_consultations(session, actor)
    if not consultations:
        raise NotFound(texts.no_consultations(actor.is_secretariat))
    ordered = sorted(consultations, key=lambda c: (c.status != RoundStatus.OPEN, -c.id))
    first_error: UnknownClause | None = None
    for consultation in ordered:
        try:
            clause = await find_clause(session, consultation, actor, ref)
        except UnknownClause as exc:
            first_error = first_error or exc
            continue
        section = await session.get(Section, clause.section_id)
        return consultation, section, clause
    raise first_error
