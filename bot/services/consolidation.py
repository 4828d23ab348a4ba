"""Gathering a round's comments for the consolidated draft."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Body,
    Clause,
    Clearance,
    ClearanceState,
    Comment,
    Consultation,
    MemberState,
    Role,
    Section,
    StageKind,
    Version,
    utcnow,
)
from bot.services import clearance
from bot.services.errors import NotFound, Reason
from bot.services.registry import Actor, author_label, require
from bot.services.rounds import sections_of
from bot.services.status import status_report
from documents.consolidate import (
    CommentEntry,
    ConsolidationInfo,
    consolidate,
    draft_with_proposals,
)
from documents.matrix import comment_matrix_xlsx


def _sequence(number: str | None) -> int:
    """The running part of a matrix number: 4 for "TH-004"."""
    tail = (number or "").rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


async def _number(session: AsyncSession, consultation_id: int, comments: list[tuple[Comment, str]]) -> None:
    """Give each comment that has none the next matrix number of its Member State ("TH-004").

    Numbers are given in document order and never change or come back: a withdrawn
    comment keeps its number, and a comment made after the first consolidation gets the
    next one, so every matrix the Secretariat has sent out still matches its comments."""
    if all(comment.number for comment, _ in comments):
        return
    taken = await session.scalars(
        select(Comment.number).where(Comment.consultation_id == consultation_id, Comment.number.is_not(None))
    )
    last: dict[str, int] = defaultdict(int)
    for number in taken:
        prefix = (number or "").rpartition("-")[0]
        last[prefix] = max(last[prefix], _sequence(number))
    for comment, state_code in comments:
        if not comment.number:
            last[state_code] += 1
            comment.number = f"{state_code}-{last[state_code]:03d}"
    await session.flush()


@dataclass(frozen=True)
class ConsolidationInput:
    draft: bytes
    filename: str
    entries: list[CommentEntry]
    info: ConsolidationInfo


async def gather(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    *,
    now: datetime | None = None,
    timezone: str = "UTC",
    version: Version | None = None,
) -> ConsolidationInput:
    """Everything the outputs are built from: of the current version, or of ``version`` (an
    earlier one: its comments, and who responded in its last stage of comments); their dates
    are given in ``timezone`` (the Secretariat's, an IANA name)."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    earlier = version if version is not None and version.id != consultation.version_id else None
    version_id = earlier.id if earlier is not None else consultation.version_id
    stage = None  # the current one
    if earlier is not None:
        of_version = [s for s in consultation.stages if s.version_id == version_id]
        commented = [s for s in of_version if s.kind != StageKind.ENDORSEMENT]
        stage = (commented or of_version or [consultation.stage])[-1]
    draft = await session.scalar(select(Version.draft_bytes).where(Version.id == version_id))
    if draft is None:
        raise NotFound(Reason.NO_DRAFT, name=consultation.name)
    rows = await session.execute(
        select(
            Comment,
            Clause.ref,
            Clause.position,
            Clause.paragraphs,
            Body.code,
            MemberState.name,
            MemberState.code,
            Section.ref,
        )
        .join(Clause, Clause.id == Comment.clause_id)
        .join(Section, Section.id == Clause.section_id)
        .outerjoin(Body, Body.id == Comment.body_id)  # none: the state's own comment
        .join(MemberState, MemberState.id == Comment.state_id)
        .where(Clause.version_id == version_id, clearance.counted())
        .order_by(Clause.position, Comment.created_at, Comment.id)
    )
    found = rows.all()
    await _number(session, consultation.id, [(row[0], row[6]) for row in found])
    entries = []
    mode = clearance.mode_of(consultation)
    for comment, ref, _position, paragraphs, body_code, state_name, _state_code, section_ref in found:
        entries.append(
            CommentEntry(
                number=comment.number or "",
                clause_ref=ref,
                paragraphs=tuple(paragraphs or ()),
                body=body_code or "",
                state=state_name,
                kind=comment.kind,
                text=comment.text,
                proposed=comment.proposed,
                proposed_whole=comment.proposed_whole,
                created_at=comment.created_at,
                late=comment.late,
                observation=comment.observation,
                disposition=comment.disposition,
                section_ref=section_ref,
                clearance=""
                if mode == Clearance.OFF
                else ("cleared" if comment.clearance == ClearanceState.CLEARED else "not cleared"),
                cleared_late=comment.cleared_late,
            )
        )
    report = await status_report(session, consultation, stage=stage, with_answers=False)
    cells = [(b.code, s) for b in report.bodies for s in b.states]
    info = ConsolidationInfo(
        title=(earlier.title if earlier is not None else "") or consultation.title,
        consultation=consultation.name,
        deadline=stage.deadline if stage is not None else consultation.deadline,
        generated_at=now,
        responded=tuple(author_label(code, s.state) for code, s in cells if s.responded),
        not_responded=tuple(author_label(code, s.state) for code, s in cells if not s.responded and s.contacts),
        not_enrolled=tuple(author_label(code, s.state) for code, s in cells if not s.responded and not s.contacts),
        sections=tuple((s.ref, s.heading) for s in await sections_of(session, consultation, version_id=version_id)),
        timezone=timezone,
    )
    filename = earlier.filename if earlier is not None else consultation.draft_filename
    return ConsolidationInput(draft, filename, entries, info)


@dataclass(frozen=True)
class Outputs:
    """The consolidated draft, the draft with proposals as tracked changes, the comment matrix."""

    consolidated: bytes
    proposals: bytes
    matrix: bytes


def output_names(data: ConsolidationInput) -> tuple[str, str, str]:
    stem = f"{data.info.consultation or 'draft'}-{data.info.generated_at:%Y%m%d-%H%M}"
    return f"{stem}-consolidated.docx", f"{stem}-with-proposals.docx", f"{stem}-comment-matrix.xlsx"


def _build(data: ConsolidationInput, progress: Callable[[float], None] | None) -> Outputs:
    def part(start: float, share: float) -> Callable[[float], None] | None:
        if progress is None:
            return None
        return lambda fraction: progress(start + share * max(0.0, min(1.0, fraction)))

    consolidated = consolidate(data.draft, data.entries, data.info, progress=part(0.0, 0.5))
    proposals = draft_with_proposals(data.draft, data.entries, data.info, progress=part(0.5, 0.4))
    matrix = comment_matrix_xlsx(data.entries, data.info)
    if progress is not None:
        progress(1.0)
    return Outputs(consolidated, proposals, matrix)


async def compile_outputs(data: ConsolidationInput, progress: Callable[[float], None] | None = None) -> Outputs:
    """Build all three files in a worker thread so the bot keeps answering."""
    return await asyncio.to_thread(_build, data, progress)
