"""Comments by clause, the comment being written, and "no comments on this section"."""

from __future__ import annotations

import difflib
import re
import unicodedata
import weakref
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Clause,
    Clearance,
    ClearanceEvent,
    ClearanceState,
    Comment,
    CommentDraft,
    CommentKind,
    CommentStatus,
    Consultation,
    MessageAnchor,
    RoundStatus,
    Section,
    SectionResponse,
    Stage,
    StageKind,
    utcnow,
)
from bot.services import clearance
from bot.services.errors import (
    InvalidInput,
    NotFound,
    Reason,
    Refused,
    RoundClosed,
    UnknownClause,
)
from bot.services.registry import Actor
from bot.services.rounds import (
    may_read_section,
    readable,
    routed_to,
    sections_for_actor,
    shown_version,
)
from bot.services.sql import dialect, rowcount, table
from documents.draft import normalise_ref

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(value: str, *, limit: int) -> str:
    """Keep what a person wrote, minus control characters; refuse empty or oversized text."""
    value = unicodedata.normalize("NFC", value or "")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value).strip()
    if not value:
        raise InvalidInput(Reason.EMPTY_TEXT)
    if len(value) > limit:
        raise InvalidInput(Reason.TEXT_TOO_LONG, length=len(value), limit=limit)
    return value


# --- finding clauses --------------------------------------------------------------------------------


async def clause_by_id(session: AsyncSession, clause_id: int) -> Clause:
    clause = await session.get(Clause, clause_id)
    if clause is None:
        raise NotFound(Reason.CLAUSE_GONE)
    return clause


async def find_clause(session: AsyncSession, consultation: Consultation, actor: Actor, ref: str) -> Clause:
    """The clause with this reference among those the actor may see, or an error naming the
    nearest references."""
    wanted = normalise_ref(ref)
    row = (
        await session.execute(
            select(Clause, readable(Clause.consultation_id, Clause.section_id, actor)).where(
                Clause.version_id == shown_version(consultation, actor), func.lower(Clause.ref) == wanted
            )
        )
    ).first()
    if row is not None and row[1]:
        return row[0]
    sections = await sections_for_actor(session, consultation, actor)
    refs = [c.ref for s in sections for c in s.clauses]
    suggestions = [r for r in refs if wanted and r.lower().startswith(wanted + ".")][:6]
    for match in difflib.get_close_matches(wanted, [r.lower() for r in refs], n=6, cutoff=0.5):
        original = next(r for r in refs if r.lower() == match)
        if original not in suggestions:
            suggestions.append(original)
    raise UnknownClause(ref=ref, consultation=consultation.name, suggestions=suggestions[:6])


async def anchor_for(session: AsyncSession, chat_id: int, message_id: int) -> MessageAnchor | None:
    return await session.get(MessageAnchor, (chat_id, message_id))


async def record_anchor(
    session: AsyncSession,
    chat_id: int,
    message_id: int,
    consultation_id: int,
    section_id: int | None,
    clause_ids: list[int],
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


class RoundState(Protocol):
    """What decides whether a round takes a comment: a `Consultation`, or a row of its columns."""

    @property
    def title(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def deadline(self) -> datetime | None: ...

    @property
    def allow_late(self) -> bool: ...

    @property
    def kind(self) -> str: ...


def check_accepting(consultation: RoundState, now: datetime) -> bool:
    """Raise when the round does not take comments; return True when a comment would be late."""
    if consultation.status == RoundStatus.DRAFT:
        raise RoundClosed(Reason.ROUND_NOT_OPEN, title=consultation.title)
    if consultation.kind == StageKind.ENDORSEMENT and consultation.status == RoundStatus.OPEN:
        raise RoundClosed(Reason.COMMENTS_DURING_ENDORSEMENT, title=consultation.title)
    late = bool(consultation.deadline and now > consultation.deadline)
    if consultation.status == RoundStatus.CLOSED or (late and not consultation.allow_late):
        raise RoundClosed(Reason.ROUND_CLOSED, title=consultation.title, deadline=consultation.deadline)
    return late


def require_commenter(actor: Actor) -> None:
    """Delegates comment for their body and state; a focal point, for the state itself."""
    if actor.state_id is None or (actor.body_id is None and not actor.is_focal):
        raise Refused(Reason.ONLY_DELEGATES_COMMENT)


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


@dataclass(frozen=True)
class ClauseInfo:
    """What the comment flow shows of a clause. Clauses of a round that has been opened never
    change, so these are kept in memory (per database) once read."""

    id: int
    ref: str
    text: str
    section_id: int
    consultation_id: int
    consultation_title: str
    version_id: int


_clause_infos: weakref.WeakKeyDictionary[Engine, dict[int, ClauseInfo]] = weakref.WeakKeyDictionary()


def _infos(session: AsyncSession) -> dict[int, ClauseInfo]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _clause_infos.setdefault(engine, {})


def _remembered(session: AsyncSession, row: Any) -> ClauseInfo:
    """The clause of a row of `_CLAUSE_AND_ROUND`, kept unless its round is still a draft
    (whose clauses may be replaced)."""
    info = ClauseInfo(row.id, row.ref, row.text, row.section_id, row.consultation_id, row.title, row.version_id)
    if row.status != RoundStatus.DRAFT:
        infos = _infos(session)
        if len(infos) > 50_000:
            infos.clear()
        infos[info.id] = info
    return info


async def clause_info(session: AsyncSession, clause_id: int) -> ClauseInfo:
    info = _infos(session).get(clause_id)
    if info is not None:
        return info
    row = (await session.execute(_CLAUSE_BY_ID, {"clause": clause_id})).first()
    if row is None:
        raise NotFound(Reason.CLAUSE_GONE)
    return _remembered(session, row)


_DRAFTS = table(CommentDraft)
_DRAFT_COLUMNS = (
    _DRAFTS.c.clause_id,
    _DRAFTS.c.step,
    _DRAFTS.c.kind,
    _DRAFTS.c.text,
    _DRAFTS.c.proposed,
    _DRAFTS.c.comment_id,
)
_OF_CONTACT = _DRAFTS.c.contact_id == bindparam("draft_of")
# The comment flow runs these for every button press: each is built once.
_CURRENT_DRAFT = select(*_DRAFT_COLUMNS).where(_OF_CONTACT)
_TAKE_DRAFT = delete(_DRAFTS).where(_OF_CONTACT).returning(*_DRAFT_COLUMNS)
_CHANGES: dict[tuple[tuple[str, int | None], ...], Any] = {}


def _change_statement(values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """UPDATE … RETURNING for these columns; plain values become parameters, SQL expressions
    (the next step worked out by the database) stay in the statement."""
    key = tuple(
        sorted((name, id(value) if isinstance(value, ColumnElement) else None) for name, value in values.items())
    )
    statement = _CHANGES.get(key)
    if statement is None:
        columns = {
            name: value if isinstance(value, ColumnElement) else bindparam(f"v_{name}", type_=_DRAFTS.c[name].type)
            for name, value in values.items()
        }
        statement = _CHANGES[key] = update(_DRAFTS).where(_OF_CONTACT).values(**columns).returning(*_DRAFT_COLUMNS)
    params = {f"v_{name}": value for name, value in values.items() if not isinstance(value, ColumnElement)}
    return statement, params


def _view(info: ClauseInfo, draft: Any) -> DraftView:
    return DraftView(
        clause_id=info.id,
        clause_ref=info.ref,
        clause_text=info.text,
        consultation_title=info.consultation_title,
        step=draft.step,
        kind=draft.kind,
        text=draft.text,
        proposed=draft.proposed,
        editing=draft.comment_id,
    )


async def _view_of_row(session: AsyncSession, row: Any) -> DraftView:
    return _view(await clause_info(session, row.clause_id), row)


async def current_draft(session: AsyncSession, actor: Actor) -> DraftView | None:
    row = (await session.execute(_CURRENT_DRAFT, {"draft_of": actor.contact_id})).first()
    return await _view_of_row(session, row) if row else None


async def _change_draft(session: AsyncSession, actor: Actor, **values: Any) -> DraftView:
    """Change the comment being written in one statement, and return what it has become."""
    statement, params = _change_statement(values)
    row = (await session.execute(statement, {"draft_of": actor.contact_id, **params})).first()
    if row is None:
        raise NotFound(Reason.NO_COMMENT_IN_PROGRESS)
    return await _view_of_row(session, row)


async def _save_draft(session: AsyncSession, actor: Actor, **values: Any) -> SimpleNamespace:
    """Begin a comment, replacing any unfinished one (one statement: an upsert). Returns the
    draft as saved."""
    values = {"comment_id": None, "kind": None, "text": None, "proposed": None, **values}
    params = {f"v_{name}": value for name, value in values.items()}
    await session.execute(_SAVE_DRAFT[dialect(session)], {"v_contact_id": actor.contact_id, **params})
    return SimpleNamespace(**values)


_DRAFT_FIELDS = ("clause_id", "comment_id", "step", "kind", "text", "proposed", "updated_at")
_SAVE_DRAFT = {
    name: (
        statement := insert(_DRAFTS).values(
            contact_id=bindparam("v_contact_id"),
            **{name: bindparam(f"v_{name}", type_=_DRAFTS.c[name].type) for name in _DRAFT_FIELDS},
        )
    ).on_conflict_do_update(
        index_elements=["contact_id"], set_={name: statement.excluded[name] for name in _DRAFT_FIELDS}
    )
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


# A clause with what a comment on it needs to know of its round, and whether the delegate's
# body may see it (every body may, in a round without routes). Built once: the comment flow
# begins with it.
# The round is the consultation's current stage; a clause of another version than the stage's
# (an earlier version's, from an old message) is of a round that is closed.
_CLAUSES, _ROUNDS, _STAGES = table(Clause), table(Consultation), table(Stage)
_LATER = _STAGES.alias("later")
_LAST_STAGE = (
    select(func.max(_LATER.c.position)).where(_LATER.c.consultation_id == _CLAUSES.c.consultation_id)
).scalar_subquery()
_CLAUSE_AND_ROUND = (
    select(
        _CLAUSES.c.id,
        _CLAUSES.c.ref,
        _CLAUSES.c.text,
        _CLAUSES.c.section_id,
        _CLAUSES.c.consultation_id,
        _CLAUSES.c.version_id,
        _ROUNDS.c.title,
        case(
            (_STAGES.c.version_id == _CLAUSES.c.version_id, _STAGES.c.status),
            else_=literal(RoundStatus.CLOSED.value),
        ).label("status"),
        _STAGES.c.deadline,
        _STAGES.c.allow_late,
        _STAGES.c.kind,
        _STAGES.c.version_id.label("stage_version_id"),
    )
    .join(_ROUNDS, _ROUNDS.c.id == _CLAUSES.c.consultation_id)
    .join(_STAGES, and_(_STAGES.c.consultation_id == _CLAUSES.c.consultation_id, _STAGES.c.position == _LAST_STAGE))
)
_CLAUSE_BY_ID = _CLAUSE_AND_ROUND.where(_CLAUSES.c.id == bindparam("clause"))
_FOR_COMMENT = _CLAUSE_AND_ROUND.add_columns(
    routed_to(_CLAUSES.c.consultation_id, _CLAUSES.c.section_id, bindparam("body")).label("visible")
)
_CLAUSE_FOR_COMMENT = _FOR_COMMENT.where(_CLAUSES.c.id == bindparam("clause"))
# By reference, in the rounds the body sees: an open one first, then the most recent.
_REF_FOR_COMMENT = _FOR_COMMENT.where(
    func.lower(_CLAUSES.c.ref) == bindparam("ref"),
    _STAGES.c.status != RoundStatus.DRAFT,
    _STAGES.c.version_id == _CLAUSES.c.version_id,
).order_by(case((_STAGES.c.status == RoundStatus.OPEN, 0), else_=1), _ROUNDS.c.id.desc())


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
    require_commenter(actor)
    row = await _commentable(session, actor, clause_id)
    return await _start(session, actor, row, text=text, now=now, limit=limit, step=step)


async def _commentable(session: AsyncSession, actor: Actor, clause_id: int) -> Any:
    """The clause with its round, if the delegate may comment on it: a clause of a round that
    was circulated, in a section routed to their body. A clause of a draft not yet circulated
    does not exist for them."""
    row = (await session.execute(_CLAUSE_FOR_COMMENT, {"clause": clause_id, "body": actor.body_id})).first()
    if row is None or row.status == RoundStatus.DRAFT:
        raise NotFound(Reason.CLAUSE_GONE)
    if not row.visible and not actor.is_focal:
        raise Refused(Reason.CLAUSE_NOT_ROUTED, ref=row.ref)
    if row.stage_version_id != row.version_id:
        raise RoundClosed(Reason.EARLIER_VERSION, title=row.title)
    return row


async def comment_on_ref(
    session: AsyncSession, actor: Actor, ref: str, *, text: str | None, now: datetime | None = None, limit: int = 8000
) -> DraftView:
    """`/comment 2.3.1 [text]`: begin a comment on the clause with this reference."""
    require_commenter(actor)
    rows = await session.execute(_REF_FOR_COMMENT, {"ref": normalise_ref(ref), "body": actor.body_id})
    row = next((row for row in rows if row.visible or actor.is_focal), None)
    if row is None:  # not among the clauses the delegate sees: this names the nearest ones
        _consultation, clause = await _find_clause_anywhere(session, actor, ref)
        return await start_comment(session, actor, clause.id, text=text, now=now, limit=limit)
    return await _start(session, actor, row, text=text, now=now, limit=limit)


async def _start(
    session: AsyncSession,
    actor: Actor,
    row: Any,
    *,
    text: str | None,
    now: datetime | None,
    limit: int,
    step: str | None = None,
) -> DraftView:
    now = now or utcnow()
    check_accepting(row, now)
    if text is not None:
        text = clean_text(text, limit=limit)
    info = _remembered(session, row)
    # All reads are done: the write (and SQLite's write lock) lasts only until the commit.
    draft = await _save_draft(session, actor, clause_id=info.id, step=step or STEP_KIND, text=text, updated_at=now)
    return _view(info, draft)


# The step that follows, worked out by the database in the same statement that changes the draft.
# After the type: from the first steps on to the text (or past it, when there is one already).
_STEP_AFTER_KIND = case(
    (
        CommentDraft.step.in_([STEP_KIND, STEP_PICK]),
        case((CommentDraft.text.is_not(None), STEP_PROPOSED), else_=STEP_TEXT),
    ),
    else_=CommentDraft.step,
)
# After the text: editing a recorded comment, or rewriting from the confirmation, goes back to
# the confirmation; otherwise on to the proposed wording.
_STEP_AFTER_TEXT = case(
    ((CommentDraft.comment_id.is_not(None)) | (CommentDraft.step == STEP_CONFIRM), STEP_CONFIRM),
    else_=STEP_PROPOSED,
)


async def pick_clause(session: AsyncSession, actor: Actor, clause_id: int, now: datetime | None = None) -> DraftView:
    """The delegate names the clause of a comment begun by replying to a several-clause message."""
    require_commenter(actor)
    now = now or utcnow()
    row = await _commentable(session, actor, clause_id)
    check_accepting(row, now)
    info = _remembered(session, row)
    return await _change_draft(session, actor, clause_id=info.id, step=STEP_KIND, updated_at=now)


async def set_kind(session: AsyncSession, actor: Actor, kind: str, now: datetime | None = None) -> DraftView:
    try:
        kind = CommentKind(kind).value
    except ValueError as exc:
        raise InvalidInput(Reason.BAD_KIND, kind=kind) from exc
    return await _change_draft(session, actor, kind=kind, step=_STEP_AFTER_KIND, updated_at=now or utcnow())


async def set_text(
    session: AsyncSession, actor: Actor, text: str, *, limit: int, now: datetime | None = None
) -> DraftView:
    text = clean_text(text, limit=limit)
    return await _change_draft(session, actor, text=text, step=_STEP_AFTER_TEXT, updated_at=now or utcnow())


async def set_proposed(
    session: AsyncSession, actor: Actor, proposed: str | None, *, limit: int, now: datetime | None = None
) -> DraftView:
    proposed = clean_text(proposed, limit=limit) if proposed is not None else None
    return await _change_draft(session, actor, proposed=proposed, step=STEP_CONFIRM, updated_at=now or utcnow())


async def goto_step(session: AsyncSession, actor: Actor, step: str) -> DraftView:
    return await _change_draft(session, actor, step=step)


async def cancel_draft(session: AsyncSession, actor: Actor) -> bool:
    result = await session.execute(delete(CommentDraft).where(CommentDraft.contact_id == actor.contact_id))
    return bool(rowcount(result))


@dataclass(frozen=True)
class Saved:
    comment_id: int
    clause_ref: str
    kind: str
    late: bool
    edited: bool
    consultation_title: str
    # The consultation's clearance: where it asks for it, the comment goes to the focal point.
    clearance: str = "off"


async def submit(
    session: AsyncSession, actor: Actor, *, source_key: str | None = None, now: datetime | None = None
) -> Saved:
    """Turn the comment being written into a recorded comment (or update the one being edited)."""
    now = now or utcnow()
    # Taken and removed in one statement: pressing "Send" twice records one comment.
    require_commenter(actor)
    draft = (await session.execute(_TAKE_DRAFT, {"draft_of": actor.contact_id})).first()
    if draft is None:
        # The same Send pressed twice (or delivered twice): the second gets the first's answer.
        earlier = await _sent_from(session, actor, source_key)
        if earlier is not None:
            return earlier
        raise NotFound(Reason.NO_COMMENT_IN_PROGRESS)
    if not draft.kind or not draft.text:
        raise InvalidInput(Reason.COMMENT_INCOMPLETE)
    info = await clause_info(session, draft.clause_id)
    consultation = (await session.execute(_ROUND_STATE, {"round": info.consultation_id})).one()
    if consultation.version_id != info.version_id:
        # A clause of an earlier version: its stage is over.
        raise RoundClosed(Reason.EARLIER_VERSION, title=consultation.title)
    late = check_accepting(consultation, now)
    if draft.comment_id:
        comment = await session.get(Comment, draft.comment_id)
        if comment is None or comment.status != CommentStatus.ACTIVE:
            raise NotFound(Reason.COMMENT_GONE)
        if draft.proposed != comment.proposed:
            comment.proposed_whole = True  # written in this release's flow: the whole clause
        comment.kind, comment.text, comment.proposed = draft.kind, draft.text, draft.proposed
        comment.updated_at = now
        if comment.clearance != ClearanceState.DRAFTED and not actor.is_focal:
            # Returned, or cleared as it stood: it waits for its focal point again as it is now.
            comment.clearance = ClearanceState.DRAFTED
            comment.cleared_late = False
            session.add(
                ClearanceEvent(comment_id=comment.id, contact_id=actor.contact_id, at=now, action="resubmitted")
            )
        comment.late = comment.late or late
        comment.source_key = source_key or comment.source_key
        await session.flush()
        return Saved(
            comment.id, info.ref, comment.kind, comment.late, True, consultation.title, clearance.mode_of(consultation)
        )
    try:
        comment_id = await session.scalar(
            _NEW_COMMENT,
            {
                "consultation_id": info.consultation_id,
                "stage_id": consultation.stage_id,
                "clause_id": info.id,
                "contact_id": actor.contact_id,
                "body_id": actor.body_id,
                "state_id": actor.state_id,
                "kind": draft.kind,
                "text": draft.text,
                "proposed": draft.proposed,
                "proposed_whole": True,
                "status": CommentStatus.ACTIVE,
                "late": late,
                "created_at": now,
                "updated_at": now,
                "source_key": source_key,
                # The state's own comment, by its focal point, is cleared as it is written.
                "clearance": ClearanceState.CLEARED if actor.is_focal else ClearanceState.DRAFTED,
                "cleared_by": actor.contact_id if actor.is_focal else None,
                "cleared_at": now if actor.is_focal else None,
                "cleared_late": late if actor.is_focal else False,
            },
        )
    except IntegrityError as exc:  # the same message handled twice
        raise Refused(Reason.ALREADY_RECORDED) from exc
    mode = "own" if actor.is_focal else clearance.mode_of(consultation)
    return Saved(comment_id, info.ref, draft.kind, late, False, consultation.title, mode)


async def _sent_from(session: AsyncSession, actor: Actor, source_key: str | None) -> Saved | None:
    """The comment this person already sent from the same prompt, if any."""
    if not source_key:
        return None
    comment = await session.scalar(
        select(Comment).where(Comment.source_key == source_key, Comment.contact_id == actor.contact_id)
    )
    if comment is None:
        return None
    info = await clause_info(session, comment.clause_id)
    edited = comment.updated_at is not None and comment.updated_at != comment.created_at
    return Saved(comment.id, info.ref, comment.kind, comment.late, edited, info.consultation_title)


# The consultation's current stage, as the comment being sent needs it.
_ROUND_STATE = (
    select(
        _ROUNDS.c.title,
        _STAGES.c.id.label("stage_id"),
        _STAGES.c.version_id,
        _STAGES.c.status,
        _STAGES.c.deadline,
        _STAGES.c.allow_late,
        _STAGES.c.kind,
        _STAGES.c.clearance,
    )
    .join(_STAGES, _STAGES.c.consultation_id == _ROUNDS.c.id)
    .where(_ROUNDS.c.id == bindparam("round"))
    .order_by(_STAGES.c.position.desc())
    .limit(1)
)
_NEW_COMMENT = insert(table(Comment)).returning(table(Comment).c.id)


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
    # The Secretariat's answer, once it has been made known to the author (/publish).
    observation: str | None
    disposition: str | None = None
    # Where the consultation asks for clearance: where the comment stands with the state's
    # focal point (drafted, returned, cleared) and the note it was returned with.
    clearance: str | None = None
    clearance_note: str | None = None


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
                comment.observation if _published(comment) else None,
                comment.disposition if _published(comment) else None,
                comment.clearance
                if clearance.mode_of(consultation) != Clearance.OFF and comment.body_id is not None
                else None,
                comment.clearance_note if comment.clearance == ClearanceState.RETURNED else None,
            )
        )
    return result


def _published(comment: Comment) -> bool:
    """The comment's answer, as it stands, has been made known to its author."""
    return bool(
        comment.disposition
        and comment.answer_published_at is not None
        and comment.answered_at is not None
        and comment.answered_at <= comment.answer_published_at
    )


async def _own_comment(session: AsyncSession, actor: Actor, comment_id: int, now: datetime) -> Comment:
    comment = await session.get(Comment, comment_id)
    if comment is None or comment.contact_id != actor.contact_id or comment.status != CommentStatus.ACTIVE:
        raise NotFound(Reason.COMMENT_GONE)
    consultation = await session.get(Consultation, comment.consultation_id)
    if consultation is None:
        raise NotFound(Reason.COMMENT_GONE)
    check_accepting(consultation, now)
    return comment


async def edit_comment(session: AsyncSession, actor: Actor, comment_id: int, now: datetime | None = None) -> DraftView:
    now = now or utcnow()
    comment = await _own_comment(session, actor, comment_id, now)
    draft = await _save_draft(
        session,
        actor,
        clause_id=comment.clause_id,
        comment_id=comment.id,
        step=STEP_CONFIRM,
        kind=comment.kind,
        text=comment.text,
        proposed=comment.proposed,
        updated_at=now,
    )
    return await _view_of_row(session, draft)


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
    raise NotFound(Reason.COMMENT_GONE)


# --- no comments on a section --------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionAnswer:
    section_id: int
    section_ref: str
    heading: str
    consultation_title: str
    recorded: bool


async def _answerable_section(
    session: AsyncSession, actor: Actor, section_id: int, now: datetime
) -> tuple[Section, Consultation]:
    section = await session.get(Section, section_id)
    consultation = await session.get(Consultation, section.consultation_id) if section is not None else None
    if section is None or consultation is None or consultation.status == RoundStatus.DRAFT:
        raise NotFound(Reason.SECTION_GONE)
    if not await may_read_section(session, consultation.id, section.id, actor):
        raise Refused(Reason.CLAUSE_NOT_ROUTED, ref=section.ref)
    if section.version_id != consultation.version_id:
        raise RoundClosed(Reason.EARLIER_VERSION, title=consultation.title)
    check_accepting(consultation, now)
    return section, consultation


async def no_comments(
    session: AsyncSession, actor: Actor, section_id: int, now: datetime | None = None
) -> SectionAnswer:
    now = now or utcnow()
    require_commenter(actor)
    section, consultation = await _answerable_section(session, actor, section_id, now)
    existing = await session.scalar(
        select(SectionResponse).where(
            SectionResponse.stage_id == consultation.stage_id,
            SectionResponse.section_id == section.id,
            SectionResponse.contact_id == actor.contact_id,
        )
    )
    if existing is None:
        session.add(
            SectionResponse(
                consultation_id=consultation.id,
                stage_id=consultation.stage_id,
                section_id=section.id,
                contact_id=actor.contact_id,
                body_id=actor.body_id,
                state_id=actor.state_id,
                created_at=now,
            )
        )
        await session.flush()
    return SectionAnswer(section.id, section.ref, section.heading, consultation.title, existing is None)


async def undo_no_comments(
    session: AsyncSession, actor: Actor, section_id: int, now: datetime | None = None
) -> SectionAnswer:
    now = now or utcnow()
    require_commenter(actor)
    section, consultation = await _answerable_section(session, actor, section_id, now)
    result = await session.execute(
        delete(SectionResponse).where(
            SectionResponse.stage_id == consultation.stage_id,
            SectionResponse.section_id == section.id,
            SectionResponse.contact_id == actor.contact_id,
        )
    )
    return SectionAnswer(section.id, section.ref, section.heading, consultation.title, bool(rowcount(result)))


async def _find_clause_anywhere(session: AsyncSession, actor: Actor, ref: str) -> tuple[Consultation, Clause]:
    from bot.services.rounds import visible_consultations

    consultations = await visible_consultations(session, actor)
    if not consultations:
        raise NotFound(Reason.NO_CONSULTATIONS, is_secretariat=actor.is_secretariat)
    ordered = sorted(consultations, key=lambda c: (c.status != RoundStatus.OPEN, -c.id))
    suggestions: list[str] = []
    for consultation in ordered:
        try:
            return consultation, await find_clause(session, consultation, actor, ref)
        except UnknownClause as exc:
            suggestions += [s for s in exc.suggestions if s not in suggestions]
    # In none of them: the nearest references of every round the delegate is in.
    where = ordered[0].name if len(ordered) == 1 else ", ".join(c.name for c in ordered)
    raise UnknownClause(ref=ref, consultation=where, suggestions=suggestions[:6])


async def find_clause_anywhere(session: AsyncSession, actor: Actor, ref: str) -> tuple[Consultation, Section, Clause]:
    """A clause by reference in whichever consultation the actor sees has it (the most recent
    open one first)."""
    consultation, clause = await _find_clause_anywhere(session, actor, ref)
    section = await session.get(Section, clause.section_id)
    if section is None:
        raise NotFound(Reason.CLAUSE_GONE)
    return consultation, section, clause
