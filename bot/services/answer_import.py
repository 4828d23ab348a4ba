"""Answering in bulk: the comment matrix (.xlsx) filled in by the Secretariat and sent back.

Every row is checked before anything is stored: the comment number must be this
consultation's (rows are matched by it, "TH-004"), the disposition one of the four, an
observation given where the disposition needs one, no formula, no number twice, no answer
to a withdrawn comment. :func:`preview` says what the file would change; :func:`apply` stores
it, all or nothing: a file with any refused row changes nothing, and the Secretariat mends
it and sends it again. A comment whose text was edited in the sheet keeps its stored text
(the preview names the rows). Every answer stored keeps its history as one given in chat.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from bot.models import AnswerChange, Comment, CommentStatus, Consultation, PendingUpload, Role, utcnow
from bot.services.answers import OBSERVATION_LIMIT, Disposition, clean_observation
from bot.services.errors import InvalidInput, NotFound, Reason, Refused
from bot.services.registry import Actor, require
from bot.services.rounds import resolve_consultation
from bot.services.sql import table
from documents.matrix_read import MAX_ROWS, MatrixError, MatrixRow, MatrixSheet, read_matrix

# What a Disposition cell may say: the names the matrix gives (its drop-down list), the
# stored codes, and the ways people write them by hand.
_DISPOSITIONS = {
    "accepted": Disposition.ACCEPTED,
    "accept": Disposition.ACCEPTED,
    "accepted in part": Disposition.PARTLY,
    "partly accepted": Disposition.PARTLY,
    "partially accepted": Disposition.PARTLY,
    "accepted in part (modified)": Disposition.PARTLY,
    "accepted (modified)": Disposition.PARTLY,
    "modified": Disposition.PARTLY,
    "partly": Disposition.PARTLY,
    "noted": Disposition.NOTED,
    "not accepted": Disposition.REJECTED,
    "rejected": Disposition.REJECTED,
}


def disposition_of(value: str) -> Disposition | None:
    """The disposition a cell names, or None."""
    key = " ".join(unicodedata.normalize("NFKC", value).replace("\u2013", "-").split()).casefold().rstrip(".")
    return _DISPOSITIONS.get(key)


class RowProblem(enum.StrEnum):
    FORMULA = "formula"
    NO_NUMBER = "no_number"
    UNKNOWN_NUMBER = "unknown_number"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"
    BAD_DISPOSITION = "bad_disposition"
    NEEDS_OBSERVATION = "needs_observation"
    NO_DISPOSITION = "no_disposition"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class RefusedRow:
    row: int
    number: str
    problem: RowProblem
    detail: str = ""  # the value typed, the other row, the column


@dataclass(frozen=True)
class _Answer:
    comment_id: int
    disposition: str
    observation: str | None
    before: tuple[str | None, str | None]


@dataclass(frozen=True)
class ImportPreview:
    """What a filled-in matrix would change, row by row."""

    consultation: str
    title: str
    rows: int  # comment rows read
    new: int  # comments answered for the first time
    changed: int  # answers replaced
    unchanged: int  # answers the file repeats as stored
    open: int  # rows left without a disposition
    refused: list[RefusedRow] = field(default_factory=list)
    text_changed: list[tuple[int, str]] = field(default_factory=list)  # (row, number): stored text kept
    applied: bool = False

    @property
    def changes(self) -> int:
        return self.new + self.changed


@dataclass(frozen=True)
class _Stored:
    """What the check needs of a stored comment."""

    id: int
    number: str | None
    status: str
    text: str
    disposition: str | None
    observation: str | None


@dataclass(frozen=True)
class _Checked:
    consultation: Consultation
    preview: ImportPreview
    answers: list[_Answer]


def _same_text(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).split())

    return norm(a) == norm(b)


async def _read(data: bytes) -> MatrixSheet:
    try:
        return await asyncio.to_thread(read_matrix, data, max_rows=MAX_ROWS)
    except MatrixError as exc:
        raise InvalidInput(Reason.NOT_A_MATRIX, detail=str(exc)) from exc


async def _consultation(
    session: AsyncSession, sheet: MatrixSheet, name: str | None, consultation_id: int | None
) -> Consultation:
    chosen = await session.get(Consultation, consultation_id) if consultation_id is not None else None
    if consultation_id is not None and chosen is None:
        raise NotFound(Reason.UPLOAD_GONE)
    wanted = chosen.name if chosen is not None else name
    if wanted and sheet.consultation and sheet.consultation.casefold() != wanted.strip().casefold():
        raise Refused(Reason.MATRIX_OF_ANOTHER, found=sheet.consultation, wanted=wanted)
    return chosen or await resolve_consultation(session, name or sheet.consultation or None)


def _check_row(
    row: MatrixRow, stored: _Stored | None, seen: dict[str, int]
) -> tuple[RefusedRow | None, _Answer | None, bool]:
    """(the refusal, the answer to store, whether the row is left open)."""

    def refuse(problem: RowProblem, detail: str = "") -> tuple[RefusedRow, None, bool]:
        return RefusedRow(row.row, row.number, problem, detail), None, False

    if row.formula:
        return refuse(RowProblem.FORMULA, row.formula)
    if not row.number:
        if row.disposition or row.observation:
            return refuse(RowProblem.NO_NUMBER)
        return None, None, False
    if stored is None:
        return refuse(RowProblem.UNKNOWN_NUMBER, row.number)
    key = row.number.casefold()
    if key in seen:
        return refuse(RowProblem.DUPLICATE, str(seen[key]))
    seen[key] = row.row
    try:
        observation = clean_observation(row.observation)
    except InvalidInput:
        return refuse(RowProblem.TOO_LONG, str(OBSERVATION_LIMIT))
    if stored.status != CommentStatus.ACTIVE:
        if row.disposition or (observation and observation != stored.observation):
            return refuse(RowProblem.WITHDRAWN)
        return None, None, False
    if not row.disposition:
        if observation and observation != stored.observation:
            return refuse(RowProblem.NO_DISPOSITION)
        return None, None, stored.disposition is None
    chosen = disposition_of(row.disposition)
    if chosen is None:
        return refuse(RowProblem.BAD_DISPOSITION, row.disposition)
    if chosen.needs_observation and not observation:
        return refuse(RowProblem.NEEDS_OBSERVATION, chosen.value)
    before = (stored.disposition, stored.observation)
    if before == (chosen.value, observation):
        return None, None, False
    return None, _Answer(stored.id, chosen.value, observation, before), False


async def _check(
    session: AsyncSession, actor: Actor, data: bytes, name: str | None, consultation_id: int | None = None
) -> _Checked:
    require(actor, Role.SECRETARIAT)
    sheet = await _read(data)
    consultation = await _consultation(session, sheet, name, consultation_id)
    stored = {
        (c.number or "").casefold(): _Stored(*c)
        for c in await session.execute(
            select(
                Comment.id,
                Comment.number,
                Comment.status,
                Comment.text,
                Comment.disposition,
                Comment.observation,
            ).where(Comment.consultation_id == consultation.id, Comment.number.is_not(None))
        )
    }
    if sheet.rows and not any(r.number.casefold() in stored for r in sheet.rows):
        raise Refused(
            Reason.MATRIX_OF_ANOTHER, found=sheet.consultation or "another consultation", wanted=consultation.name
        )
    seen: dict[str, int] = {}
    refused: list[RefusedRow] = []
    answers: list[_Answer] = []
    text_changed: list[tuple[int, str]] = []
    left_open = unchanged = 0
    for row in sheet.rows:
        comment = stored.get(row.number.casefold()) if row.number else None
        problem, answer, is_open = _check_row(row, comment, seen)
        if problem is not None:
            refused.append(problem)
            continue
        if comment is not None and comment.status == CommentStatus.ACTIVE and not _same_text(row.comment, comment.text):
            text_changed.append((row.row, comment.number or row.number))
        if answer is not None:
            answers.append(answer)
        elif is_open:
            left_open += 1
        elif comment is not None and comment.status == CommentStatus.ACTIVE:
            unchanged += 1
    new = sum(1 for a in answers if a.before[0] is None)
    preview = ImportPreview(
        consultation=consultation.name,
        title=consultation.title,
        rows=sum(1 for r in sheet.rows if r.number),
        new=new,
        changed=len(answers) - new,
        unchanged=unchanged,
        open=left_open,
        refused=refused,
        text_changed=text_changed,
    )
    return _Checked(consultation, preview, answers)


async def preview(
    session: AsyncSession, actor: Actor, data: bytes, *, consultation: str | None = None
) -> ImportPreview:
    """What the file would change; nothing is stored."""
    return (await _check(session, actor, data, consultation)).preview


async def apply(
    session: AsyncSession,
    actor: Actor,
    data: bytes,
    *,
    consultation: str | None = None,
    consultation_id: int | None = None,
    now: datetime | None = None,
) -> ImportPreview:
    """Store the file's answers if no row is refused (checked again against what is stored
    now); otherwise store nothing. The preview returned says which it was."""
    checked = await _check(session, actor, data, consultation, consultation_id)
    result = checked.preview
    if result.refused or not checked.answers:
        return result
    now = now or utcnow()
    by = actor.contact_id or None
    # Core statements, each one executemany: a file answers thousands of comments at once.
    await session.execute(
        insert(table(AnswerChange)),
        [
            {
                "comment_id": a.comment_id,
                "contact_id": by,
                "changed_at": now,
                "disposition_before": a.before[0],
                "observation_before": a.before[1],
                "disposition_after": a.disposition,
                "observation_after": a.observation,
            }
            for a in checked.answers
        ],
    )
    comments = table(Comment)
    await session.execute(
        update(comments)
        .where(comments.c.id == bindparam("comment_id"))
        .values(
            disposition=bindparam("disposition"),
            observation=bindparam("observation"),
            answered_by=bindparam("by"),
            answered_at=bindparam("at"),
        ),
        [
            {
                "comment_id": a.comment_id,
                "disposition": a.disposition,
                "observation": a.observation,
                "by": by,
                "at": now,
            }
            for a in checked.answers
        ],
    )
    return dataclasses.replace(result, applied=True)


# --- in chat: the file kept between the preview and the Secretariat's confirmation ----------------------


@dataclass(frozen=True)
class Staged:
    preview: ImportPreview
    consultation_id: int
    upload_id: int | None  # None: nothing to confirm (refused rows, or no change)


async def stage(
    session: AsyncSession, actor: Actor, data: bytes, filename: str, *, consultation: str | None = None
) -> Staged:
    """The preview of a matrix sent in chat; the file is kept until the Secretariat confirms
    (or cancels) when there is something to store."""
    checked = await _check(session, actor, data, consultation)
    if checked.preview.refused or not checked.answers:
        return Staged(checked.preview, checked.consultation.id, None)
    pending = PendingUpload(contact_id=actor.contact_id, filename=filename, data=data)
    session.add(pending)
    await session.flush()
    return Staged(checked.preview, checked.consultation.id, pending.id)


async def apply_staged(
    session: AsyncSession, actor: Actor, upload_id: int, consultation_id: int, *, now: datetime | None = None
) -> ImportPreview:
    """Store a staged matrix, checked again against what is stored now (all or nothing)."""
    require(actor, Role.SECRETARIAT)
    pending = await session.get(PendingUpload, upload_id, options=[undefer(PendingUpload.data)])
    if pending is None or pending.contact_id != actor.contact_id:
        raise NotFound(Reason.UPLOAD_GONE)
    result = await apply(session, actor, pending.data, consultation_id=consultation_id, now=now)
    await session.delete(pending)
    return result
