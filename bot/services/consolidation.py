"""Gathering a round's comments for the consolidated draft."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Body, Clause, Comment, CommentStatus, Consultation, MemberState, utcnow
from documents.consolidate import CommentEntry, ConsolidationInfo, consolidate


@dataclass(frozen=True)
class ConsolidationInput:
    draft: bytes
    filename: str
    entries: list[CommentEntry]
    info: ConsolidationInfo


async def gather(session: AsyncSession, consultation: Consultation, *, now: datetime | None = None) -> ConsolidationInput:
    now = now or utcnow()
    draft = await session.scalar(select(Consultation.draft_bytes).where(Consultation.id == consultation.id))
    rows = await session.execute(
        select(Comment, Clause.ref, Clause.position, Clause.paragraphs, Body.code, MemberState.name, MemberState.code)
        .join(Clause, Clause.id == Comment.clause_id)
        .join(Body, Body.id == Comment.body_id)
        .join(MemberState, MemberState.id == Comment.state_id)
        .where(Comment.consultation_id == consultation.id, Comment.status == CommentStatus.ACTIVE)
        .order_by(Clause.position, Comment.created_at, Comment.id)
    )
    counters: dict[str, int] = defaultdict(int)
    entries = []
    for comment, ref, _position, paragraphs, body_code, state_name, state_code in rows:
        counters[state_code] += 1
        entries.append(
            CommentEntry(
                number=f"{state_code}-{counters[state_code]:03d}",
                clause_ref=ref,
                paragraphs=tuple(paragraphs or ()),
                body=body_code,
                state=state_name,
                kind=comment.kind,
                text=comment.text,
                proposed=comment.proposed,
                created_at=comment.created_at,
                late=comment.late,
                observation=comment.observation,
            )
        )
    info = ConsolidationInfo(
        title=consultation.title,
        consultation=consultation.name,
        deadline=consultation.deadline,
        generated_at=now,
    )
    return ConsolidationInput(draft, consultation.draft_filename, entries, info)


def output_filename(data: ConsolidationInput) -> str:
    stem = data.info.consultation or "draft"
    return f"{stem}-consolidated-{data.info.generated_at:%Y%m%d-%H%M}.docx"


async def compile_docx(
    data: ConsolidationInput, progress: Callable[[float], None] | None = None
) -> bytes:
    """Build the consolidated draft in a worker thread so the bot keeps answering."""
    return await asyncio.to_thread(consolidate, data.draft, data.entries, data.info, progress=progress)
