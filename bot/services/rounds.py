"""Consultations, their drafts, routing, opening a round and circulating sections."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload, undefer

from bot.models import (
    Body,
    Clause,
    Comment,
    CommentStatus,
    Consultation,
    Contact,
    PendingUpload,
    ReminderMute,
    Role,
    RoundStatus,
    Route,
    Section,
    Stage,
    StageBody,
    StageKind,
    Version,
    utcnow,
)
from bot.services import clearance, endorsements, outbox
from bot.services.errors import InvalidInput, NotFound, Reason, Refused
from bot.services.registry import Actor, require, resolve_body
from bot.services.render import Renderer
from bot.services.timetable import Timing, contact_tz, plan_round
from documents import versions
from documents.draft import ParsedDraft, normalise_ref, parse_draft
from documents.versions import ClauseMapping, Correction, MappingError, map_clauses

# A column, a bound parameter or a plain value in a SQL condition.
SqlValue = Any

NAME_RE = re.compile(r"[^a-z0-9]+")
# Telegram allows about one message a second per chat.
PER_CHAT_INTERVAL = timedelta(seconds=1.05)


def slug(text: str, fallback: str = "draft", limit: int = 28) -> str:
    """A short name people can type: lower case words joined by dashes, cut at a word."""
    words = [w for w in NAME_RE.split(text.lower()) if w]
    value = ""
    for word in words:
        candidate = f"{value}-{word}" if value else word
        if len(candidate) > limit:
            break
        value = candidate
    return value or (words[0][:limit] if words else fallback)


# --- importing a draft ------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingSummary:
    """How a new version's clauses map to the last version's: counts per kind, and the
    doubtful matches (new ref, old ref, kind, confidence), least sure first."""

    version: str
    previous: str
    counts: dict[str, int]
    doubtful: list[tuple[str | None, str | None, str, float]]
    # The Secretariat's corrections applied: (new ref, old ref), None for new or deleted.
    corrections: tuple[tuple[str | None, str | None], ...] = ()


@dataclass(frozen=True)
class Outline:
    consultation: str
    title: str
    sections: list[tuple[str, str, int]]
    mapping: MappingSummary | None = None
    upload_id: int | None = None  # a new version not stored yet: the upload it waits in
    stored: bool = True

    @property
    def clause_count(self) -> int:
        return sum(n for _, _, n in self.sections)


def outline_of(parsed: ParsedDraft, name: str = "") -> Outline:
    return Outline(consultation=name, title=parsed.title, sections=parsed.outline())


async def _unique_name(session: AsyncSession, base: str) -> str:
    base = slug(base)
    existing = set(await session.scalars(select(Consultation.name).where(Consultation.name.like(f"{base}%"))))
    if base not in existing:
        return base
    n = 2
    while f"{base}-{n}" in existing:
        n += 1
    return f"{base}-{n}"


async def import_draft(
    session: AsyncSession,
    data: bytes,
    filename: str,
    *,
    name: str | None = None,
    replace: Consultation | None = None,
    version_of: Consultation | None = None,
    corrections: list[Correction] | None = None,
    max_bytes: int = 10 * 1024 * 1024,
) -> Outline:
    """Parse a draft and store it: as a new consultation (v0, with its first stage prepared),
    as the new text of a consultation whose current stage is not yet open (`replace`), or as
    the next version of a consultation whose last stage is closed (`version_of`: its clauses
    are mapped to the last version's, with `corrections` applied, and the next stage is
    prepared on it).

    Raises `documents.draft.DraftError` (a clear message) on a bad file; nothing is stored then.
    """
    parsed = await asyncio.to_thread(parse_draft, data, max_bytes=max_bytes)
    mapping: ClauseMapping | None = None
    if version_of is not None and version_of.status == RoundStatus.DRAFT:
        replace, version_of = version_of, None  # not yet circulated: the new text replaces it
    if replace is not None:
        if replace.status != RoundStatus.DRAFT:
            raise Refused(Reason.CANNOT_REPLACE_OPEN, name=replace.name)
        consultation = replace
        version = consultation.version
        of_version = select(Section.id).where(Section.version_id == version.id)
        await session.execute(delete(Route).where(Route.section_id.in_(of_version)))
        await session.execute(delete(Section).where(Section.version_id == version.id))
        if version.number == 0:
            consultation.title = parsed.title[:500] or consultation.title
    elif version_of is not None:
        consultation = version_of
        if consultation.status == RoundStatus.OPEN:
            raise Refused(Reason.STAGE_STILL_OPEN, name=consultation.name, kind=consultation.kind)
        previous = consultation.version
        mapping = await _mapping_for(session, consultation, parsed, corrections or [])
        version = Version(
            consultation_id=consultation.id,
            number=max(v.number for v in consultation.versions) + 1,
            mapping=mapping_record(mapping),
        )
        session.add(version)
        await session.flush()
        last = consultation.stage
        session.add(
            Stage(
                consultation_id=consultation.id,
                version=version,
                version_id=version.id,
                position=last.position + 1,
                kind=StageKind.FINAL,
                only_changed=True,
                reminder_schedule=last.reminder_schedule,
                remind_everyone=last.remind_everyone,
                clearance=last.clearance,
            )
        )
        await session.flush()
        await session.refresh(consultation, ["versions", "stages"])
    else:
        if name:
            wanted = slug(name)
            if await session.scalar(select(Consultation.id).where(Consultation.name == wanted)):
                raise Refused(Reason.CONSULTATION_EXISTS, name=wanted)
        else:
            wanted = await _unique_name(session, parsed.title or filename.rsplit(".", 1)[0])
        consultation = Consultation(name=wanted, title=(parsed.title or filename)[:500])
        version = Version(number=0)
        consultation.versions.append(version)
        consultation.stages.append(Stage(version=version, position=1, kind=StageKind.COMMENTS))
        session.add(consultation)
    version.filename = filename[-255:]
    version.title = (parsed.title or consultation.title)[:500]
    version.draft_bytes = data
    await session.flush()
    section_ids: dict[str, int] = {}
    clause_position = 0
    for s_index, parsed_section in enumerate(parsed.sections):
        section = Section(
            consultation_id=consultation.id,
            version_id=version.id,
            position=s_index,
            ref=parsed_section.ref,
            heading=parsed_section.heading,
            level=parsed_section.level,
            paragraph=parsed_section.paragraph,
        )
        session.add(section)
        await session.flush()
        section_ids[section.ref] = section.id
        for parsed_clause in parsed_section.clauses:
            session.add(
                Clause(
                    consultation_id=consultation.id,
                    version_id=version.id,
                    section_id=section.id,
                    position=clause_position,
                    ref=parsed_clause.ref,
                    label=parsed_clause.label,
                    text=parsed_clause.text,
                    level=parsed_clause.level,
                    paragraphs=list(parsed_clause.paragraphs),
                )
            )
            clause_position += 1
    await session.flush()
    if mapping is None:
        return outline_of(parsed, consultation.name)
    await _carry_routes(session, consultation, previous.id, section_ids)
    summary = _summary(mapping, version.label, previous.label, corrections or [])
    return Outline(consultation.name, parsed.title, parsed.outline(), summary)


async def _mapping_for(
    session: AsyncSession, consultation: Consultation, parsed: ParsedDraft, corrections: Sequence[Correction]
) -> ClauseMapping:
    """The clauses of a new version mapped to the last version's, the corrections applied;
    refused when it cannot be a new version of it."""
    if consultation.status == RoundStatus.OPEN:
        raise Refused(Reason.STAGE_STILL_OPEN, name=consultation.name, kind=consultation.kind)
    previous = consultation.version
    old = await _version_clauses(session, previous.id)
    mapping = await asyncio.to_thread(map_clauses, old, versions.clauses_of(parsed))
    if corrections:
        try:
            mapping = mapping.corrected(corrections)
        except MappingError as exc:
            raise InvalidInput(Reason.BAD_CORRECTION, side=exc.side, ref=exc.ref) from exc
    if mapping.identical:
        raise Refused(Reason.VERSION_IDENTICAL, name=consultation.name, version=previous.label)
    if old and not mapping.shared:
        raise Refused(Reason.VERSION_UNRELATED, name=consultation.name, version=previous.label)
    return mapping


def _summary(mapping: ClauseMapping, label: str, previous: str, corrections: Sequence[Correction]) -> MappingSummary:
    return MappingSummary(
        label,
        previous,
        {kind.value: n for kind, n in mapping.counts().items() if n},
        [
            (m.new.ref if m.new else None, m.old.ref if m.old else None, m.kind.value, m.confidence)
            for m in mapping.for_review()
            if m.doubtful
        ],
        tuple((c.new_ref, c.old_ref) for c in corrections),
    )


# --- a new version checked before it is stored -------------------------------------------------------


async def preview_version(
    session: AsyncSession, actor: Actor, pending_id: int, consultation_id: int, *, max_bytes: int
) -> Outline:
    """A draft sent in chat, as the next version of a consultation: its clauses mapped to the
    last version's, nothing stored yet. The upload is kept, marked as a new version of it, for
    the Secretariat's corrections (`correct_version`) and then `confirm_upload`."""
    require(actor, Role.SECRETARIAT)
    pending = await _pending(session, actor, pending_id)
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(Reason.UNKNOWN_CONSULTATION, name=str(consultation_id), known=[])
    if pending.version_of_id != consultation.id:
        pending.version_of_id, pending.corrections = consultation.id, []
    return await _preview(session, pending, consultation, max_bytes=max_bytes)


async def _pending(session: AsyncSession, actor: Actor, pending_id: int) -> PendingUpload:
    pending = await session.get(PendingUpload, pending_id, options=[undefer(PendingUpload.data)])
    if pending is None or pending.contact_id != actor.contact_id:
        raise NotFound(Reason.UPLOAD_GONE)
    if "data" not in pending.__dict__:  # loaded before without its bytes (deferred)
        await session.refresh(pending, ["data"])
    return pending


def _corrections_of(pending: PendingUpload) -> list[Correction]:
    return [Correction(row.get("new"), row.get("old")) for row in pending.corrections or []]


async def _preview(
    session: AsyncSession, pending: PendingUpload, consultation: Consultation, *, max_bytes: int
) -> Outline:
    parsed = await asyncio.to_thread(parse_draft, pending.data, max_bytes=max_bytes)
    corrections = _corrections_of(pending)
    mapping = await _mapping_for(session, consultation, parsed, corrections)
    label = f"v{max(v.number for v in consultation.versions) + 1}"
    await session.flush()
    return Outline(
        consultation.name,
        parsed.title,
        parsed.outline(),
        _summary(mapping, label, consultation.version.label, corrections),
        upload_id=pending.id,
        stored=False,
    )


async def pending_version(session: AsyncSession, actor: Actor) -> PendingUpload | None:
    """The actor's last upload being checked as a new version, if any."""
    if not actor.is_secretariat or not actor.contact_id:
        return None
    return await session.scalar(
        select(PendingUpload)
        .where(PendingUpload.contact_id == actor.contact_id, PendingUpload.version_of_id.is_not(None))
        .order_by(PendingUpload.id.desc())
        .limit(1)
    )


_FROM = re.compile(r"^(?P<new>\S+)\s*(?:=|<-|←|from|comes from|is)\s*(?:old\s+)?(?P<old>\S+)$", re.IGNORECASE)
_NEW = re.compile(r"^(?P<new>\S+)\s+(?:is\s+)?new$", re.IGNORECASE)
_DELETED = re.compile(r"^(?:old\s+)?(?P<old>\S+)\s+(?:was\s+)?deleted$", re.IGNORECASE)


def parse_corrections(text: str) -> list[tuple[str | None, str | None]]:
    """Corrections as typed, one per line (or separated by ";"): "4.2 = 4.1" (new 4.2 comes
    from old 4.1), "4.3 new", "2.2 deleted" (old 2.2 has no clause in the new version)."""
    found: list[tuple[str | None, str | None]] = []
    for raw in re.split(r"[;\n]", text):
        line = raw.strip().strip(".").strip()
        if not line:
            continue
        if match := _NEW.match(line):
            found.append((match["new"], None))
        elif match := _DELETED.match(line):
            found.append((None, match["old"]))
        elif match := _FROM.match(line):
            found.append((match["new"], match["old"]))
        else:
            raise InvalidInput(Reason.BAD_CORRECTION, side="", ref=line[:60])
    if not found:
        raise InvalidInput(Reason.BAD_CORRECTION, side="", ref="")
    return found


async def correct_version(session: AsyncSession, actor: Actor, text: str, *, max_bytes: int) -> Outline:
    """Apply the corrections typed to the new version being checked, and show it again. A
    later correction of a clause replaces an earlier one; a wrong reference changes nothing."""
    require(actor, Role.SECRETARIAT)
    pending = await pending_version(session, actor)
    if pending is None or pending.version_of_id is None:
        raise NotFound(Reason.UPLOAD_GONE)
    pending = await _pending(session, actor, pending.id)
    consultation = await session.get(Consultation, pending.version_of_id)
    if consultation is None:
        raise NotFound(Reason.UPLOAD_GONE)
    parsed = await asyncio.to_thread(parse_draft, pending.data, max_bytes=max_bytes)
    new_refs = {normalise_ref(c.ref): c.ref for c in versions.clauses_of(parsed)}
    old_refs = {normalise_ref(c.ref): c.ref for c in await _version_clauses(session, consultation.version.id)}

    def known(ref: str | None, refs: dict[str, str], side: str) -> str | None:
        if ref is None:
            return None
        if ref in refs.values():
            return ref
        if normalise_ref(ref) in refs:
            return refs[normalise_ref(ref)]
        raise InvalidInput(Reason.BAD_CORRECTION, side=side, ref=ref)

    rows = [dict(row) for row in pending.corrections or []]
    for new, old in parse_corrections(text):
        new, old = known(new, new_refs, "new"), known(old, old_refs, "old")
        rows = [r for r in rows if (new is None or r.get("new") != new) and (old is None or r.get("old") != old)]
        rows.append({"new": new, "old": old})
    pending.corrections = rows
    return await _preview(session, pending, consultation, max_bytes=max_bytes)


async def _version_clauses(session: AsyncSession, version_id: int) -> list[versions.Clause]:
    rows = await session.execute(
        select(Clause.ref, Clause.text, Section.ref, Clause.label, Clause.level, Clause.paragraphs)
        .join(Section, Section.id == Clause.section_id)
        .where(Clause.version_id == version_id)
        .order_by(Clause.position)
    )
    return [versions.Clause(r, t, s, lab, lev, tuple(p or ())) for r, t, s, lab, lev, p in rows]


def mapping_record(mapping: ClauseMapping) -> list[dict[str, Any]]:
    """The mapping as stored with the version: one row per clause, new or deleted."""
    return [
        {
            "new": m.new.ref if m.new else None,
            "old": m.old.ref if m.old else None,
            "kind": m.kind.value,
            "confidence": round(m.confidence, 3),
            "basis": m.basis.value,
            "edited": m.edited,
        }
        for m in mapping.matches
    ]


async def _carry_routes(
    session: AsyncSession, consultation: Consultation, previous_version_id: int, section_ids: dict[str, int]
) -> None:
    """The new version's sections go to the bodies their section went to in the last version
    (by reference); a section the last version did not have goes to every body routed before."""
    rows = list(
        await session.execute(
            select(Section.ref, Route.body_id)
            .join(Route, Route.section_id == Section.id)
            .where(Section.version_id == previous_version_id)
        )
    )
    if not rows:
        return  # no routes: every section goes to every body, as before
    by_ref: dict[str, set[int]] = {}
    for ref, body_id in rows:
        by_ref.setdefault(ref, set()).add(body_id)
    every = {body_id for _, body_id in rows}
    for ref, section_id in section_ids.items():
        for body_id in sorted(by_ref.get(ref, every)):
            session.add(Route(consultation_id=consultation.id, section_id=section_id, body_id=body_id))
    await session.flush()


async def stage_upload(
    session: AsyncSession, actor: Actor, data: bytes, filename: str, *, max_bytes: int
) -> tuple[int, Outline, list[tuple[int, str]], list[tuple[int, str]]]:
    """Parse a draft sent in chat and keep it until the Secretariat confirms the outline.
    Also returns the consultations it could replace (not yet open) and those it could be a
    new version of (the last stage closed)."""
    require(actor, Role.SECRETARIAT)
    parsed = await asyncio.to_thread(parse_draft, data, max_bytes=max_bytes)
    pending = PendingUpload(contact_id=actor.contact_id, filename=filename, data=data)
    session.add(pending)
    await session.flush()
    replaceable = list(
        await session.scalars(
            select(Consultation).where(Consultation.status == RoundStatus.DRAFT).order_by(Consultation.id)
        )
    )
    closed = [c for c in await all_consultations(session) if c.status == RoundStatus.CLOSED]
    return pending.id, outline_of(parsed), [(c.id, c.name) for c in replaceable], [(c.id, c.name) for c in closed]


async def confirm_upload(
    session: AsyncSession,
    actor: Actor,
    pending_id: int,
    *,
    replace_id: int | None,
    max_bytes: int,
    version_of_id: int | None = None,
) -> Outline:
    require(actor, Role.SECRETARIAT)
    pending = await _pending(session, actor, pending_id)
    replace = None
    if replace_id is not None:
        replace = await session.get(Consultation, replace_id)
        if replace is None:
            raise NotFound(Reason.UNKNOWN_CONSULTATION, name=str(replace_id), known=[])
    version_of = None
    if version_of_id is not None:
        version_of = await session.get(Consultation, version_of_id)
        if version_of is None:
            raise NotFound(Reason.UNKNOWN_CONSULTATION, name=str(version_of_id), known=[])
    corrections = (
        _corrections_of(pending) if version_of_id is not None and version_of_id == pending.version_of_id else []
    )
    result = await import_draft(
        session,
        pending.data,
        pending.filename,
        replace=replace,
        version_of=version_of,
        corrections=corrections,
        max_bytes=max_bytes,
    )
    await session.delete(pending)
    return result


async def discard_upload(session: AsyncSession, actor: Actor, pending_id: int) -> None:
    pending = await session.get(PendingUpload, pending_id)
    if pending is not None and pending.contact_id == actor.contact_id:
        await session.delete(pending)


# --- finding consultations ----------------------------------------------------------------------


async def all_consultations(session: AsyncSession) -> list[Consultation]:
    return list(await session.scalars(select(Consultation).order_by(Consultation.id)))


async def bodies_taking_part(
    session: AsyncSession, consultation: Consultation, *, stage: Stage | None = None
) -> list[Body]:
    """The bodies the current stage (or ``stage``) goes to: those it is routed to (a review),
    else every body for an endorsement, else those its version's sections are routed to, else
    every body."""
    stage = stage or consultation.stage
    of_stage = select(StageBody.body_id).where(StageBody.stage_id == stage.id)
    if await session.scalar(select(of_stage.exists())):
        return list(await session.scalars(select(Body).where(Body.id.in_(of_stage)).order_by(Body.code)))
    if stage.kind == StageKind.ENDORSEMENT:
        return list(await session.scalars(select(Body).order_by(Body.code)))  # every body endorses
    routed = (
        select(Route.body_id)
        .join(Section, Section.id == Route.section_id)
        .where(Route.consultation_id == consultation.id, Section.version_id == stage.version_id)
    )
    if await session.scalar(select(func.count()).select_from(routed.subquery())):
        return list(await session.scalars(select(Body).where(Body.id.in_(routed)).order_by(Body.code)))
    return list(await session.scalars(select(Body).order_by(Body.code)))


async def visible_consultations(session: AsyncSession, actor: Actor) -> list[Consultation]:
    """The consultations a contact sees: all for the Secretariat; for others the ones their
    body takes part in (every body, for a round without routes), once opened."""
    if actor.is_secretariat:
        return await all_consultations(session)
    if actor.is_focal:
        # A focal point speaks for their state in every round once it is opened.
        return list(await session.scalars(select(Consultation).where(circulated()).order_by(Consultation.id)))
    if actor.body_id is None:
        return []
    routes = select(Route.section_id).where(Route.consultation_id == Consultation.id)
    return list(
        await session.scalars(
            select(Consultation)
            .where(
                circulated(),
                ~routes.exists() | routes.where(Route.body_id == actor.body_id).exists(),
            )
            .order_by(Consultation.id)
        )
    )


def circulated() -> ColumnElement[bool]:
    """A SQL condition: the consultation has been circulated (a stage of it was opened).
    Until then it exists for no one but the Secretariat."""
    return select(Stage.id).where(Stage.consultation_id == Consultation.id, Stage.opened_at.is_not(None)).exists()


def routed_to(consultation_id: SqlValue, section_id: SqlValue, body_id: SqlValue) -> ColumnElement[bool]:
    """A SQL condition: the section is routed to the body (every section is, in a round without
    routes). Its arguments may be columns or parameters, so it fits inside any query."""
    of_round = select(Route.section_id).where(Route.consultation_id == consultation_id)
    return ~of_round.exists() | of_round.where(Route.section_id == section_id, Route.body_id == body_id).exists()


def readable(consultation_id: SqlValue, section_id: SqlValue, actor: Actor) -> ColumnElement[bool]:
    """A SQL condition: the actor may read the section. For use inside a query, so the check
    costs no statement of its own."""
    if actor.is_secretariat or actor.is_focal:
        return true()
    if actor.body_id is None:
        return false()
    return routed_to(consultation_id, section_id, actor.body_id)


async def may_read_section(session: AsyncSession, consultation_id: int, section_id: int, actor: Actor) -> bool:
    """Whether the section is routed to the actor's body (every section is, without routes)."""
    return bool(await session.scalar(select(readable(consultation_id, section_id, actor))))


async def resolve_consultation(session: AsyncSession, name: str | None, actor: Actor | None = None) -> Consultation:
    """Find a consultation by name; without a name, the only one there is (or the only one
    the actor sees)."""
    candidates = await (visible_consultations(session, actor) if actor else all_consultations(session))
    if name:
        key = name.strip().lower()
        for c in candidates:
            if c.name.lower() == key or str(c.id) == key:
                return c
        raise NotFound(Reason.UNKNOWN_CONSULTATION, name=name, known=[c.name for c in candidates])
    if not candidates:
        raise NotFound(Reason.NO_CONSULTATIONS, is_secretariat=actor.is_secretariat if actor else True)
    if len(candidates) == 1:
        return candidates[0]
    raise InvalidInput(Reason.WHICH_CONSULTATION, names=[c.name for c in candidates])


def shown_version(consultation: Consultation, actor: Actor | None) -> int:
    """The version the actor reads: the current stage's for the Secretariat (a new version it
    is preparing included), the last circulated one for everyone else."""
    if actor is None or actor.is_secretariat:
        return consultation.version_id
    return consultation.circulated_version_id


async def sections_of(
    session: AsyncSession, consultation: Consultation, *, version_id: int | None = None
) -> list[Section]:
    """The sections of a version (the current stage's by default), with their clauses."""
    return list(
        await session.scalars(
            select(Section)
            .where(Section.version_id == (version_id or consultation.version_id))
            .options(selectinload(Section.clauses))
            .order_by(Section.position)
        )
    )


async def sections_for_body(
    session: AsyncSession, consultation: Consultation, body_id: int | None, *, version_id: int | None = None
) -> list[Section]:
    sections = await sections_of(session, consultation, version_id=version_id)
    routes = list(
        await session.execute(select(Route.section_id, Route.body_id).where(Route.consultation_id == consultation.id))
    )
    if not routes:
        return sections
    if body_id is None:
        return []
    routed = {section_id for section_id, b in routes if b == body_id}
    return [s for s in sections if s.id in routed]


async def sections_for_actor(session: AsyncSession, consultation: Consultation, actor: Actor) -> list[Section]:
    version_id = shown_version(consultation, actor)
    if actor.is_secretariat or actor.is_focal:
        return await sections_of(session, consultation, version_id=version_id)
    return await sections_for_body(session, consultation, actor.body_id, version_id=version_id)


# --- routing ------------------------------------------------------------------------------------


async def set_routes(
    session: AsyncSession, actor: Actor, consultation: Consultation, section_refs: list[str], body_codes: list[str]
) -> list[tuple[str, list[str]]]:
    """Route the given sections (all when empty) to exactly the given bodies."""
    require(actor, Role.SECRETARIAT)
    sections = await sections_of(session, consultation)
    if section_refs:
        by_ref = {s.ref: s for s in sections}
        missing = [r for r in section_refs if r not in by_ref]
        if missing:
            raise NotFound(Reason.UNKNOWN_SECTIONS, missing=missing, known=[s.ref for s in sections])
        chosen = [by_ref[r] for r in section_refs]
    else:
        chosen = sections
    bodies = [await resolve_body(session, code) for code in body_codes]
    if not bodies:
        raise InvalidInput(Reason.ROUTE_NEEDS_BODIES)
    existing = list(await session.scalars(select(Route).where(Route.consultation_id == consultation.id)))
    if not existing:
        # Until now every section went to every body: make that explicit before narrowing.
        for section in sections:
            for body in await session.scalars(select(Body)):
                session.add(Route(consultation_id=consultation.id, section_id=section.id, body_id=body.id))
        await session.flush()
    chosen_ids = [s.id for s in chosen]
    await session.execute(
        delete(Route).where(Route.consultation_id == consultation.id, Route.section_id.in_(chosen_ids))
    )
    for section in chosen:
        for body in bodies:
            session.add(Route(consultation_id=consultation.id, section_id=section.id, body_id=body.id))
    await session.flush()
    return await routing_table(session, consultation)


async def routing_table(session: AsyncSession, consultation: Consultation) -> list[tuple[str, list[str]]]:
    sections = await sections_of(session, consultation)
    rows = list(
        await session.execute(
            select(Route.section_id, Body.code)
            .join(Body, Body.id == Route.body_id)
            .where(Route.consultation_id == consultation.id)
        )
    )
    if not rows:
        every = [b.code for b in await session.scalars(select(Body).order_by(Body.code))]
        return [(s.ref, every) for s in sections]
    by_section: dict[int, list[str]] = {}
    for section_id, code in rows:
        by_section.setdefault(section_id, []).append(code)
    return [(s.ref, sorted(by_section.get(s.id, []))) for s in sections]


# --- opening and circulating ---------------------------------------------------------------------


# The longest window a round can have, or be extended by, in days.
MAX_DAYS = 3650


def parse_deadline(value: str | None, *, days: int | None, tz: ZoneInfo, now: datetime) -> datetime:
    """A deadline from an ISO date/datetime (in the Secretariat's zone when it has none) or a
    number of days (end of that day, Secretariat's time)."""
    if value:
        text = value.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                parsed = datetime.combine(datetime.fromisoformat(text).date(), time(23, 59), tzinfo=tz)
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=tz)
        except (ValueError, OverflowError) as exc:
            raise InvalidInput(Reason.BAD_DEADLINE, value=value) from exc
        if parsed > now + timedelta(days=MAX_DAYS):
            raise InvalidInput(Reason.BAD_DEADLINE, value=value)
    else:
        if days is None or days < 0 or days > MAX_DAYS:
            raise InvalidInput(Reason.BAD_DAYS, days=days)
        local = now.astimezone(tz) + timedelta(days=days)
        parsed = datetime.combine(local.date(), time(23, 59), tzinfo=tz) if days else now + timedelta(hours=1)
    if parsed <= now:
        raise InvalidInput(Reason.DEADLINE_IN_PAST, moment=parsed)
    return parsed


def extended_deadline(
    consultation: Consultation, *, days: int | None, value: str | None, tz: ZoneInfo, now: datetime
) -> datetime:
    """A new deadline: `days` added to the current one, or a date/date-time given."""
    if days is not None:
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(Reason.BAD_DAYS, days=days)
        return (consultation.deadline or now) + timedelta(days=days)
    return parse_deadline(value, days=None, tz=tz, now=now)


@dataclass(frozen=True)
class Opened:
    consultation: str
    title: str
    deadline: datetime
    contacts: int
    messages_queued: int
    # Where clearance is required: Member States with delegates but no focal point joined.
    without_focal: tuple[str, ...] = ()
    kind: str = StageKind.COMMENTS
    version: str = "v0"
    position: int = 1
    # Final comments on the changed clauses only: how many were circulated.
    changed_clauses: int | None = None
    silence: bool = False  # an endorsement under the silence procedure
    bodies: tuple[str, ...] = ()  # the bodies the stage is routed to (codes); empty: every one


@dataclass(frozen=True)
class StagePlan:
    """What `/open` asks of the stage it opens: its kind (None: the prepared stage's), the
    bodies a review goes to (codes), and for final comments whether every clause is
    circulated rather than only those changed since the last version."""

    kind: StageKind | None = None
    bodies: tuple[str, ...] = ()
    all_clauses: bool = False
    # Endorsement: run as a silence procedure (no objection by the deadline is endorsement).
    silence: bool = False
    # Endorsement: open it although comments of the stages before have no answer yet.
    despite_unanswered: bool = False


def parse_stage_kind(value: str) -> StageKind | None:
    """A stage kind as typed ("final", "final-comments", "endorse", ...), or None."""
    word = value.strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "comments": StageKind.COMMENTS,
        "comment": StageKind.COMMENTS,
        "final": StageKind.FINAL,
        "finalcomments": StageKind.FINAL,
        "review": StageKind.REVIEW,
        "crosssector": StageKind.REVIEW,
        "endorsement": StageKind.ENDORSEMENT,
        "endorse": StageKind.ENDORSEMENT,
    }
    return aliases.get(word)


async def prepare_stage(session: AsyncSession, actor: Actor, consultation: Consultation, plan: StagePlan) -> Stage:
    """The stage `/open` opens: the prepared one (with the kind asked for), or, when the last
    stage is closed, a new one on the current version (its settings carried over)."""
    require(actor, Role.SECRETARIAT)
    current = consultation.stage
    if current.status == RoundStatus.OPEN:
        raise Refused(Reason.ALREADY_OPEN, name=consultation.name, deadline=current.deadline)
    endorsing = (plan.kind or (current.kind if current.status == RoundStatus.DRAFT else None)) == StageKind.ENDORSEMENT
    # Bodies named wrong are refused first, before any warning.
    bodies = [await resolve_body(session, code) for code in plan.bodies]
    if endorsing and not plan.despite_unanswered:
        # A warning, before anything is written: the Secretariat may go on (`despite_unanswered`).
        unanswered = await endorsements.unanswered_comments(session, consultation)
        if unanswered:
            raise Refused(Reason.ENDORSEMENT_UNANSWERED, name=consultation.name, count=unanswered)
    if current.status == RoundStatus.CLOSED:
        if plan.kind is None:
            raise Refused(Reason.ROUND_CLOSED_ALREADY, name=consultation.name, kind=current.kind)
        stage = Stage(
            consultation_id=consultation.id,
            version_id=current.version_id,
            position=current.position + 1,
            kind=plan.kind,
            reminder_schedule=current.reminder_schedule,
            remind_everyone=current.remind_everyone,
            clearance=current.clearance,
        )
        session.add(stage)
        await session.flush()
        await session.refresh(consultation, ["stages"])
        stage = consultation.stage
    else:
        stage = current
        if plan.kind is not None:
            stage.kind = plan.kind
    if bodies:
        await session.execute(delete(StageBody).where(StageBody.stage_id == stage.id))
        for body in bodies:
            session.add(StageBody(stage_id=stage.id, body_id=body.id))
    elif stage.kind == StageKind.REVIEW and not await stage_bodies(session, stage.id):
        raise InvalidInput(Reason.REVIEW_NEEDS_BODIES)
    stage.only_changed = stage.kind == StageKind.FINAL and not plan.all_clauses and consultation.version.number > 0
    stage.silence = stage.kind == StageKind.ENDORSEMENT and plan.silence
    await session.flush()
    return stage


async def stage_bodies(session: AsyncSession, stage_id: int) -> list[int]:
    """The bodies a stage is routed to; empty: every body the sections go to."""
    return list(await session.scalars(select(StageBody.body_id).where(StageBody.stage_id == stage_id)))


async def open_round(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    deadline: datetime,
    *,
    render: Renderer,
    now: datetime | None = None,
    timing: Timing | None = None,
    plan: StagePlan | None = None,
) -> Opened:
    """Open the consultation's next stage (see `prepare_stage`): plan its reminders and
    summaries and queue its sections for everyone registered it goes to."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    if not await sections_of(session, consultation):
        raise Refused(Reason.NOTHING_TO_CIRCULATE)
    stage = await prepare_stage(session, actor, consultation, plan or StagePlan())
    stage.status = RoundStatus.OPEN
    stage.deadline = deadline
    stage.opened_at = now
    if stage.position > 1:
        # Reminders muted in an earlier stage are on again: the new stage asks something new.
        await session.execute(delete(ReminderMute).where(ReminderMute.consultation_id == consultation.id))
    await session.flush()
    await plan_round(session, consultation, timing or Timing(), now=now)
    circulation = _Circulation(session, consultation, now, render)
    items = []
    for contact in await joined_contacts(session):
        items += await circulation.messages_for(contact)
    queued = await outbox.enqueue_many(session, items, now=now)
    reached = len({item.contact_id for item in items})
    without_focal = tuple(await clearance.states_without_focal(session, consultation))
    return Opened(
        consultation.name,
        consultation.title,
        deadline,
        reached,
        queued,
        without_focal,
        kind=stage.kind,
        version=consultation.version.label,
        position=stage.position,
        changed_clauses=circulation.changed_count if stage.only_changed else None,
        silence=stage.silence,
        bodies=tuple(
            await session.scalars(
                select(Body.code).join(StageBody, StageBody.body_id == Body.id).where(StageBody.stage_id == stage.id)
            )
        ),
    )


@dataclass(frozen=True)
class StageLine:
    position: int
    kind: str
    version: str
    status: str
    opened_at: datetime | None
    deadline: datetime | None
    closed_at: datetime | None
    bodies: tuple[str, ...]
    only_changed: bool
    comments: int


@dataclass(frozen=True)
class StageHistory:
    name: str
    title: str
    versions: tuple[tuple[str, str, datetime], ...]  # label, file name, uploaded
    stages: tuple[StageLine, ...]


async def stage_history(session: AsyncSession, consultation: Consultation) -> StageHistory:
    """The consultation's versions and stages, in order, with what is open now."""
    bodies: dict[int, list[str]] = {}
    for stage_id, code in await session.execute(
        select(StageBody.stage_id, Body.code)
        .join(Body, Body.id == StageBody.body_id)
        .join(Stage, Stage.id == StageBody.stage_id)
        .where(Stage.consultation_id == consultation.id)
        .order_by(Body.code)
    ):
        bodies.setdefault(stage_id, []).append(code)
    counts: dict[int, int] = dict(
        (
            await session.execute(
                select(Comment.stage_id, func.count())
                .where(Comment.consultation_id == consultation.id, Comment.status == CommentStatus.ACTIVE)
                .group_by(Comment.stage_id)
            )
        ).all()
    )
    labels = {v.id: v.label for v in consultation.versions}
    return StageHistory(
        consultation.name,
        consultation.title,
        tuple((v.label, v.filename, v.created_at) for v in consultation.versions),
        tuple(
            StageLine(
                s.position,
                s.kind,
                labels.get(s.version_id, "?"),
                s.status,
                s.opened_at,
                s.deadline,
                s.closed_at,
                tuple(bodies.get(s.id, ())),
                s.only_changed,
                counts.get(s.id, 0),
            )
            for s in consultation.stages
        ),
    )


@dataclass(frozen=True)
class DraftFile:
    filename: str
    data: bytes
    version: str
    title: str


async def draft_file(session: AsyncSession, actor: Actor, consultation: Consultation) -> DraftFile:
    """The draft as the actor reads it (`shown_version`): the .docx as uploaded, to read
    offline. Not before it is circulated, except for the Secretariat."""
    if not actor.is_secretariat and not consultation.ever_opened:
        raise NotFound(Reason.NO_CONSULTATIONS, is_secretariat=False)
    version_id = shown_version(consultation, actor)
    version = next(v for v in consultation.versions if v.id == version_id)
    data = await session.scalar(select(Version.draft_bytes).where(Version.id == version_id))
    if not data:
        raise NotFound(Reason.NO_DRAFT, name=consultation.name)
    return DraftFile(f"{consultation.name}-{version.label}.docx", data, version.label, consultation.title)


def stage_key(consultation: Consultation) -> str:
    """What outgoing messages of the current stage are keyed by: the consultation's id for
    its first stage (as before stages existed), with the stage's position after it."""
    position = consultation.stage.position
    return str(consultation.id) if position == 1 else f"{consultation.id}s{position}"


async def joined_contacts(session: AsyncSession) -> list[Contact]:
    return list(await session.scalars(select(Contact).where(Contact.chat_id.is_not(None)).order_by(Contact.id)))


async def circulate_to_contact(
    session: AsyncSession,
    consultation: Consultation,
    contact: Contact,
    *,
    render: Renderer,
    now: datetime | None = None,
) -> int:
    """Queue the sections routed to the contact's body (all of them for the Secretariat and
    for cross-sector chairs). Returns how many messages were newly queued."""
    now = now or utcnow()
    items = await _Circulation(session, consultation, now, render).messages_for(contact)
    return await outbox.enqueue_many(session, items, now=now)


class _Circulation:
    """The messages that circulate one round: each section is read and rendered once, however
    many contacts receive it."""

    def __init__(self, session: AsyncSession, consultation: Consultation, now: datetime, render: Renderer) -> None:
        self.session = session
        self.render = render
        self.consultation = consultation
        self.now = now
        self._sections: dict[int | None, list[Section]] = {}
        self._messages: dict[int, list[tuple[int, outbox.OutgoingMessage]]] = {}
        self._bodies: set[int] | None = None
        self.key = stage_key(consultation)
        # Final comments on the changed clauses: what each was in the last version (None: new).
        self.changes: dict[str, tuple[str, str | None]] | None = None
        self.changed_count = 0

    async def _load_stage(self) -> None:
        if self._bodies is not None:
            return
        self._bodies = set(await stage_bodies(self.session, self.consultation.stage_id))
        if self.consultation.only_changed:
            self.changes = await changes_since_last_version(self.session, self.consultation)
            self.changed_count = len(self.changes)

    async def messages_for(self, contact: Contact) -> list[outbox.Queued]:
        consultation = self.consultation
        if consultation.status != RoundStatus.OPEN or contact.chat_id is None:
            return []
        if consultation.kind == StageKind.ENDORSEMENT:
            # One ballot per person, not the sections: the text is read with /sections or /draft.
            return await endorsements.ballots(
                self.session, consultation, contact, now=self.now, render=self.render, key=self.key
            )
        if contact.role in (Role.SECRETARIAT, Role.FOCAL):
            # The Secretariat reads its own draft, a focal point reads it with /sections and
            # their state's comments with /review: it is circulated to neither.
            return []
        await self._load_stage()
        if self._bodies and contact.body_id not in self._bodies:
            return []  # a stage routed to other bodies (a review)
        if contact.body_id not in self._sections:
            sections = await sections_for_body(self.session, consultation, contact.body_id)
            if self.changes is not None:
                sections = [s for s in sections if any(c.ref in self.changes for c in s.clauses)]
            self._sections[contact.body_id] = sections
        sections = self._sections[contact.body_id]
        if not sections:
            return []
        tz = ZoneInfo(contact.state.timezone) if contact.state else ZoneInfo("UTC")
        intro = outbox.OutgoingMessage(
            text=self.render.circulation_intro(
                consultation.title,
                consultation.deadline,
                tz,
                len(sections),
                kind=consultation.kind,
                version=consultation.version.label,
                changed=self.changed_count if self.changes is not None else None,
            ),
            consultation_id=consultation.id,
        )
        items = [
            outbox.Queued(
                key=f"intro:{self.key}:{contact.id}",
                kind="intro",
                chat_id=contact.chat_id,
                contact_id=contact.id,
                message=intro,
            )
        ]
        step = 1  # messages to one chat are spaced out to stay under Telegram's per-chat limit
        for section in sections:
            for index, message in self._section_messages(section):
                items.append(
                    outbox.Queued(
                        key=f"sec:{self.key}:{section.id}:{contact.id}:{index}",
                        kind="section",
                        chat_id=contact.chat_id,
                        contact_id=contact.id,
                        message=message,
                        not_before=self.now + PER_CHAT_INTERVAL * step,
                    )
                )
                step += 1
        return items

    def _section_messages(self, section: Section) -> list[tuple[int, outbox.OutgoingMessage]]:
        if section.id not in self._messages:
            clauses = section.clauses
            if self.changes is not None:
                clauses = [c for c in clauses if c.ref in self.changes]
            parts = self.render.section_parts(self.consultation.title, section, clauses, changes=self.changes)
            self._messages[section.id] = [
                (
                    index,
                    outbox.OutgoingMessage(
                        text=html,
                        buttons=self.render.section_buttons(
                            [c for c in section.clauses if c.id in set(clause_ids)],
                            section.id,
                            with_no_comments=index == len(parts) - 1,
                        ),
                        consultation_id=self.consultation.id,
                        section_id=section.id,
                        clause_ids=clause_ids,
                    ),
                )
                for index, (html, clause_ids) in enumerate(parts)
            ]
        return self._messages[section.id]


async def changes_since_last_version(
    session: AsyncSession, consultation: Consultation
) -> dict[str, tuple[str, str | None]]:
    """The clauses of the current version that changed since the last one, by reference:
    (how, the old text) with how one of "changed", "moved", "new" (old text None)."""
    version = consultation.version
    previous = next((v for v in consultation.versions if v.number == version.number - 1), None)
    if previous is None or not version.mapping:
        return {}
    old_text: dict[str, str] = dict(
        (await session.execute(select(Clause.ref, Clause.text).where(Clause.version_id == previous.id))).all()
    )
    changes: dict[str, tuple[str, str | None]] = {}
    for row in version.mapping:
        new, old, kind = row.get("new"), row.get("old"), row.get("kind")
        if new is None or kind == "unchanged" or (kind == "renumbered" and not row.get("edited")):
            continue  # deleted, or the same words (perhaps under another number)
        if old is None:
            changes[new] = ("new", None)
        else:
            changes[new] = ("moved" if kind == "moved" else "changed", old_text.get(old))
    return changes


async def circulate_on_join(
    session: AsyncSession, contact_id: int, *, render: Renderer, now: datetime | None = None
) -> int:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        return 0
    queued = 0
    for consultation in await session.scalars(select(Consultation).where(Consultation.status == RoundStatus.OPEN)):
        queued += await circulate_to_contact(session, consultation, contact, render=render, now=now)
    return queued


async def close_round(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, now: datetime | None = None
) -> None:
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    if consultation.status != RoundStatus.OPEN:
        raise Refused(Reason.NOT_OPEN, name=consultation.name)
    consultation.status = RoundStatus.CLOSED
    consultation.closed_at = now
    await session.flush()


async def section_for_actor(session: AsyncSession, actor: Actor, section_id: int) -> tuple[Consultation, Section]:
    """A section the actor may read, with its clauses loaded."""
    section = await session.get(Section, section_id)
    consultation = await session.get(Consultation, section.consultation_id) if section is not None else None
    if (
        section is None
        or consultation is None
        or (
            not actor.is_secretariat
            and (not consultation.ever_opened or section.version_id != shown_version(consultation, actor))
        )
    ):
        # A draft not yet circulated does not exist for anyone but the Secretariat.
        raise NotFound(Reason.SECTION_GONE)
    for allowed in await sections_for_actor(session, consultation, actor):
        if allowed.id == section.id:
            return consultation, allowed
    raise Refused(Reason.CLAUSE_NOT_ROUTED, ref=section.ref)


# --- the deadline moves, the round closes ---------------------------------------------------------------


async def affected_contacts(session: AsyncSession, consultation: Consultation) -> list[Contact]:
    bodies = {b.id for b in await bodies_taking_part(session, consultation)}
    contacts = list(await session.scalars(select(Contact).where(Contact.chat_id.is_not(None)).order_by(Contact.id)))
    return [c for c in contacts if c.role in (Role.SECRETARIAT, Role.FOCAL) or c.body_id in bodies]


async def change_deadline(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    deadline: datetime,
    timing: Timing,
    *,
    now: datetime,
    render: Renderer,
) -> int:
    """Move the deadline: the timetable moves with it and everyone affected is told once,
    with the new deadline as a calendar file."""
    require(actor, Role.SECRETARIAT)
    from documents.ics import deadline_event

    if consultation.status != RoundStatus.OPEN:
        raise Refused(Reason.NOT_OPEN, name=consultation.name)
    if deadline <= now:
        raise InvalidInput(Reason.DEADLINE_IN_PAST, moment=deadline)
    old = consultation.deadline
    consultation.deadline = deadline
    await session.flush()
    await plan_round(session, consultation, timing, now=now)
    stamp = deadline.strftime("%Y%m%dT%H%M%S")
    ics = deadline_event(f"clausebot-{consultation.id}-{stamp}@clausebot", consultation.title, deadline, now=now)
    queued = 0
    for contact in await affected_contacts(session, consultation):
        tz = contact_tz(contact, timing.default_tz)
        message = outbox.OutgoingMessage(
            text=render.deadline_moved(consultation.title, old, deadline, tz),
            consultation_id=consultation.id,
            document=base64.b64encode(ics).decode("ascii"),
            filename="deadline.ics",
        )
        queued += await outbox.enqueue(
            session,
            key=f"deadline:{consultation.id}:{stamp}:{contact.id}",
            kind="deadline",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=message,
            now=now,
        )
    return queued


async def announce_close(
    session: AsyncSession, consultation: Consultation, timing: Timing, *, now: datetime, render: Renderer
) -> int:
    await plan_round(session, consultation, timing, now=now)  # clears what is still pending
    queued = 0
    for contact in await affected_contacts(session, consultation):
        if contact.role == Role.SECRETARIAT:
            continue
        queued += await outbox.enqueue(
            session,
            key=f"closed:{stage_key(consultation)}:{contact.id}",
            kind="closed",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=outbox.OutgoingMessage(
                text=render.round_closed_notice(consultation.title), consultation_id=consultation.id
            ),
            now=now,
        )
    return queued


async def set_allow_late(session: AsyncSession, actor: Actor, consultation: Consultation, allowed: bool) -> None:
    require(actor, Role.SECRETARIAT)
    consultation.allow_late = allowed
    await session.flush()
