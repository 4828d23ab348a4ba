"""A delegate's own Word file: the draft sent back with Word comments and tracked changes.

The file is read against the version circulated in each open round the delegate takes part
in (`documents.commented`), and kept until they choose what to send: its comments and
proposed changes become their comments, on the clauses routed to their body, all of one
type (asked once). A file with several authors is read for the authors they choose.
Nothing is recorded until they send.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from bot.models import (
    ClearanceState,
    Comment,
    CommentKind,
    CommentStatus,
    Consultation,
    PendingUpload,
    RoundStatus,
    utcnow,
)
from bot.services.comments import check_accepting, clean_text, require_commenter
from bot.services.errors import InvalidInput, NotFound, Reason, Refused
from bot.services.registry import Actor
from bot.services.rounds import sections_for_actor, sections_of, shown_version, visible_consultations
from documents import commented
from documents.versions import Clause as DraftClause


@dataclass(frozen=True)
class Item:
    """One comment the file would give: on a clause, its text (None: a proposal alone) and
    proposed wording (None: a comment alone)."""

    ref: str
    text: str | None
    proposed: str | None


@dataclass(frozen=True)
class FileRead:
    upload_id: int
    consultation: str
    title: str
    summary: commented.Summary
    items: tuple[Item, ...]
    # Placed on clauses the delegate's body is not asked about.
    not_routed: tuple[str, ...]
    authors: tuple[str, ...]  # every author of the file
    chosen: tuple[str, ...] | None  # the authors read (None: all)


@dataclass(frozen=True)
class SentFromFile:
    title: str
    count: int
    refs: tuple[str, ...]
    late: bool


async def _open_rounds(session: AsyncSession, actor: Actor) -> list[tuple[Consultation, list[DraftClause], set[str]]]:
    """The open rounds the actor sees: each with every clause of the version they read (a
    file is read against the whole draft, so a comment on a section their body is not asked
    about is named as such) and the references of the clauses they are asked about."""
    rounds = []
    for consultation in await visible_consultations(session, actor):
        if consultation.status != RoundStatus.OPEN:
            continue
        asked = await sections_for_actor(session, consultation, actor)
        if not asked:
            continue
        every = await sections_of(session, consultation, version_id=shown_version(consultation, actor))
        clauses = [DraftClause(c.ref, c.text, s.ref, c.label) for s in every for c in s.clauses]
        routed = {c.ref for s in asked for c in s.clauses}
        if routed:
            rounds.append((consultation, clauses, routed))
    return rounds


async def commented_copy_of(session: AsyncSession, actor: Actor, data: bytes, *, max_bytes: int) -> str | None:
    """For a file the Secretariat sends: the title of the open round whose draft it is a copy
    of with Word comments or tracked changes (a delegate's, forwarded from an e-mail), or None
    (a draft; a file that cannot be read is left to the draft's own checks)."""
    for consultation, clauses, _routed in await _open_rounds(session, actor):
        try:
            kind = await asyncio.to_thread(commented.kind_of_upload, data, clauses, max_bytes=max_bytes)
        except commented.CommentedFileError:
            return None
        if kind == commented.UploadKind.COMMENTED:
            return consultation.title
    return None


def _refusal(error: commented.CommentedFileError) -> Refused:
    return Refused(Reason.WORD_FILE_REFUSED, refusal=error.reason.value, **error.data)


async def _read(
    session: AsyncSession, actor: Actor, data: bytes, authors: tuple[str, ...] | None, max_bytes: int
) -> tuple[Consultation, commented.CommentedCopy, set[str]]:
    """The open round the file is a commented copy of (the one it matches best), and the file
    read against it."""
    rounds = await _open_rounds(session, actor)
    if not rounds:
        raise Refused(Reason.NO_ROUND_FOR_FILE)
    best: tuple[Consultation, commented.CommentedCopy, set[str]] | None = None
    refused: commented.CommentedFileError | None = None
    for consultation, clauses, routed in rounds:
        try:
            copy = await asyncio.to_thread(
                commented.read_commented, data, clauses, authors=authors, max_bytes=max_bytes
            )
        except commented.CommentedFileError as error:
            if error.reason != commented.Refusal.NOT_THIS_DRAFT:
                raise _refusal(error) from error
            refused = error
            continue
        if best is None or copy.share > best[1].share:
            best = (consultation, copy, routed)
    if best is None:
        assert refused is not None
        raise _refusal(refused)
    return best


def _items(copy: commented.CommentedCopy, routed: set[str]) -> tuple[list[Item], list[str]]:
    """Per clause: its comments (replies and resolved threads left out), the proposal joined to
    the first of them."""
    proposals = {p.ref: p.proposed for p in copy.proposals}
    items: list[Item] = []
    not_routed: list[str] = []
    seen: set[str] = set()
    for comment in copy.comments:
        if comment.ref is None or comment.reply_to is not None or comment.resolved or not comment.text.strip():
            continue
        if comment.ref not in routed:
            not_routed.append(comment.ref)
            continue
        proposed = proposals.pop(comment.ref, None) if comment.ref not in seen else None
        seen.add(comment.ref)
        items.append(Item(comment.ref, comment.text, proposed or None))
    for ref, proposed in proposals.items():
        if ref not in routed:
            not_routed.append(ref)
        elif proposed:
            items.append(Item(ref, None, proposed))
    return items, sorted(set(not_routed))


async def read_file(
    session: AsyncSession,
    actor: Actor,
    data: bytes,
    filename: str,
    *,
    max_bytes: int,
    authors: tuple[str, ...] | None = None,
    upload_id: int | None = None,
) -> FileRead:
    """Read a delegate's Word file and keep it until they choose what to send."""
    require_commenter(actor)
    consultation, copy, routed = await _read(session, actor, data, authors, max_bytes)
    items, not_routed = _items(copy, routed)
    if upload_id is None:
        pending = PendingUpload(contact_id=actor.contact_id, filename=filename[-255:], data=data)
        session.add(pending)
        await session.flush()
        upload_id = pending.id
    return FileRead(
        upload_id,
        consultation.name,
        consultation.title,
        copy.summary(),
        tuple(items),
        tuple(not_routed),
        tuple(a.name for a in copy.authors),
        authors,
    )


async def _pending(session: AsyncSession, actor: Actor, upload_id: int) -> PendingUpload:
    pending = await session.get(PendingUpload, upload_id, options=[undefer(PendingUpload.data)])
    if pending is None or pending.contact_id != actor.contact_id:
        raise NotFound(Reason.UPLOAD_GONE)
    return pending


async def read_for_authors(
    session: AsyncSession, actor: Actor, upload_id: int, authors: tuple[str, ...] | None, *, max_bytes: int
) -> FileRead:
    """The file kept, read again for the authors chosen (None: all of them)."""
    require_commenter(actor)
    pending = await _pending(session, actor, upload_id)
    return await read_file(
        session, actor, pending.data, pending.filename, max_bytes=max_bytes, authors=authors, upload_id=upload_id
    )


# Picking comments one by one: at most this many (a keyboard of one row each).
PICK_AT_MOST = 40
_CYCLE = {"ge": "te", "te": "ed", "ed": "skip", "skip": "ge"}


@dataclass(frozen=True)
class Picked:
    read: FileRead
    choices: tuple[str, ...]  # per item: ge, te, ed, or skip

    @property
    def chosen(self) -> int:
        return sum(1 for c in self.choices if c != "skip")


async def pick(
    session: AsyncSession,
    actor: Actor,
    upload_id: int,
    authors: tuple[str, ...] | None,
    *,
    max_bytes: int,
    toggle: int | None = None,
) -> Picked:
    """The file's comments to pick from, each with its type (technical to begin with; the
    button cycles technical, editorial, not sent, general); `toggle` changes one."""
    require_commenter(actor)
    pending = await _pending(session, actor, upload_id)
    read = await read_file(
        session, actor, pending.data, pending.filename, max_bytes=max_bytes, authors=authors, upload_id=upload_id
    )
    if not read.items:
        raise InvalidInput(Reason.NOTHING_IN_FILE)
    if len(read.items) > PICK_AT_MOST:
        raise InvalidInput(Reason.TOO_MANY_TO_PICK, count=len(read.items), limit=PICK_AT_MOST)
    choices = list(pending.picked or [])
    if len(choices) != len(read.items):
        choices = ["te"] * len(read.items)  # the file was read for other authors: start again
    if toggle is not None:
        if not 0 <= toggle < len(choices):
            raise NotFound(Reason.UPLOAD_GONE)
        choices[toggle] = _CYCLE.get(choices[toggle], "te")
    pending.picked = choices
    await session.flush()
    return Picked(read, tuple(choices))


async def send_from_file(
    session: AsyncSession,
    actor: Actor,
    upload_id: int,
    kind: str,
    *,
    authors: tuple[str, ...] | None,
    max_bytes: int,
    proposal_text: str,
    now: datetime | None = None,
    limit: int = 8000,
) -> SentFromFile:
    """Record the file's comments as the delegate's, all of type `kind`, or (kind "picked")
    those picked, each with its own type. `proposal_text` is the comment a proposed change
    alone is sent with. A second press sends nothing twice."""
    require_commenter(actor)
    now = now or utcnow()
    pending = await _pending(session, actor, upload_id)
    consultation, copy, routed = await _read(session, actor, pending.data, authors, max_bytes)
    late = check_accepting(consultation, now)
    items, _ = _items(copy, routed)
    if not items:
        raise InvalidInput(Reason.NOTHING_IN_FILE)
    if kind == "picked":
        kinds = list(pending.picked or [])
        if len(kinds) != len(items):
            raise NotFound(Reason.UPLOAD_GONE)
        if all(k == "skip" for k in kinds):
            raise InvalidInput(Reason.NOTHING_PICKED)
    else:
        try:
            kinds = [CommentKind(kind).value] * len(items)
        except ValueError as exc:
            raise InvalidInput(Reason.BAD_KIND, kind=kind) from exc
    clause_ids = {c.ref: c.id for s in await sections_for_actor(session, consultation, actor) for c in s.clauses}
    refs: list[str] = []
    for index, (item, item_kind) in enumerate(zip(items, kinds, strict=True)):
        if item_kind == "skip":
            continue
        key = f"file:{upload_id}:{index}"
        if await session.scalar(select(Comment.id).where(Comment.source_key == key)):
            continue
        session.add(
            Comment(
                consultation_id=consultation.id,
                stage_id=consultation.stage_id,
                clause_id=clause_ids[item.ref],
                contact_id=actor.contact_id,
                body_id=actor.body_id,
                state_id=actor.state_id,
                kind=item_kind,
                text=clean_text(item.text or proposal_text, limit=limit),
                proposed=clean_text(item.proposed, limit=limit) if item.proposed else None,
                proposed_whole=True,
                status=CommentStatus.ACTIVE,
                late=late,
                created_at=now,
                updated_at=now,
                source_key=key,
                clearance=ClearanceState.CLEARED if actor.is_focal else ClearanceState.DRAFTED,
                cleared_by=actor.contact_id if actor.is_focal else None,
                cleared_at=now if actor.is_focal else None,
            )
        )
        refs.append(item.ref)
    await session.delete(pending)
    await session.flush()
    return SentFromFile(consultation.title, len(refs), tuple(dict.fromkeys(refs)), late)
