"""Consultations, their drafts, routing, opening a round and circulating sections."""

from __future__ import annotations

import asyncio
import base64
import re
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
    Consultation,
    Contact,
    PendingUpload,
    Role,
    RoundStatus,
    Route,
    Section,
    utcnow,
)
from bot.services import clearance, outbox
from bot.services.errors import InvalidInput, NotFound, Reason, Refused
from bot.services.registry import Actor, require, resolve_body
from bot.services.render import Renderer
from bot.services.timetable import Timing, contact_tz, plan_round
from documents.draft import ParsedDraft, parse_draft

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
class Outline:
    consultation: str
    title: str
    sections: list[tuple[str, str, int]]

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
    max_bytes: int = 10 * 1024 * 1024,
) -> Outline:
    """Parse a draft and store it as a new consultation, or as the new text of one not yet open.

    Raises `documents.draft.DraftError` (a clear message) on a bad file; nothing is stored then.
    """
    parsed = await asyncio.to_thread(parse_draft, data, max_bytes=max_bytes)
    if replace is not None:
        if replace.status != RoundStatus.DRAFT:
            raise Refused(Reason.CANNOT_REPLACE_OPEN, name=replace.name)
        consultation = replace
        await session.execute(delete(Route).where(Route.consultation_id == consultation.id))
        await session.execute(delete(Section).where(Section.consultation_id == consultation.id))
        consultation.title = parsed.title[:500] or consultation.title
    else:
        if name:
            wanted = slug(name)
            if await session.scalar(select(Consultation.id).where(Consultation.name == wanted)):
                raise Refused(Reason.CONSULTATION_EXISTS, name=wanted)
        else:
            wanted = await _unique_name(session, parsed.title or filename.rsplit(".", 1)[0])
        consultation = Consultation(name=wanted, title=(parsed.title or filename)[:500], status=RoundStatus.DRAFT)
        session.add(consultation)
    consultation.draft_filename = filename[-255:]
    consultation.draft_bytes = data
    await session.flush()
    clause_position = 0
    for s_index, parsed_section in enumerate(parsed.sections):
        section = Section(
            consultation_id=consultation.id,
            position=s_index,
            ref=parsed_section.ref,
            heading=parsed_section.heading,
            level=parsed_section.level,
            paragraph=parsed_section.paragraph,
        )
        session.add(section)
        await session.flush()
        for parsed_clause in parsed_section.clauses:
            session.add(
                Clause(
                    consultation_id=consultation.id,
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
    return outline_of(parsed, consultation.name)


async def stage_upload(
    session: AsyncSession, actor: Actor, data: bytes, filename: str, *, max_bytes: int
) -> tuple[int, Outline, list[tuple[int, str]]]:
    """Parse a draft sent in chat and keep it until the Secretariat confirms the outline."""
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
    return pending.id, outline_of(parsed), [(c.id, c.name) for c in replaceable]


async def confirm_upload(
    session: AsyncSession, actor: Actor, pending_id: int, *, replace_id: int | None, max_bytes: int
) -> Outline:
    require(actor, Role.SECRETARIAT)
    pending = await session.get(PendingUpload, pending_id, options=[undefer(PendingUpload.data)])
    if pending is None or pending.contact_id != actor.contact_id:
        raise NotFound(Reason.UPLOAD_GONE)
    replace = None
    if replace_id is not None:
        replace = await session.get(Consultation, replace_id)
        if replace is None:
            raise NotFound(Reason.UNKNOWN_CONSULTATION, name=str(replace_id), known=[])
    result = await import_draft(session, pending.data, pending.filename, replace=replace, max_bytes=max_bytes)
    await session.delete(pending)
    return result


async def discard_upload(session: AsyncSession, actor: Actor, pending_id: int) -> None:
    pending = await session.get(PendingUpload, pending_id)
    if pending is not None and pending.contact_id == actor.contact_id:
        await session.delete(pending)


# --- finding consultations ----------------------------------------------------------------------


async def all_consultations(session: AsyncSession) -> list[Consultation]:
    return list(await session.scalars(select(Consultation).order_by(Consultation.id)))


async def bodies_taking_part(session: AsyncSession, consultation: Consultation) -> list[Body]:
    routed = select(Route.body_id).where(Route.consultation_id == consultation.id)
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
        return list(
            await session.scalars(
                select(Consultation).where(Consultation.status != RoundStatus.DRAFT).order_by(Consultation.id)
            )
        )
    if actor.body_id is None:
        return []
    routes = select(Route.section_id).where(Route.consultation_id == Consultation.id)
    return list(
        await session.scalars(
            select(Consultation)
            .where(
                Consultation.status != RoundStatus.DRAFT,
                ~routes.exists() | routes.where(Route.body_id == actor.body_id).exists(),
            )
            .order_by(Consultation.id)
        )
    )


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


async def sections_of(session: AsyncSession, consultation: Consultation) -> list[Section]:
    return list(
        await session.scalars(
            select(Section)
            .where(Section.consultation_id == consultation.id)
            .options(selectinload(Section.clauses))
            .order_by(Section.position)
        )
    )


async def sections_for_body(session: AsyncSession, consultation: Consultation, body_id: int | None) -> list[Section]:
    sections = await sections_of(session, consultation)
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
    if actor.is_secretariat or actor.is_focal:
        return await sections_of(session, consultation)
    return await sections_for_body(session, consultation, actor.body_id)


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


async def open_round(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    deadline: datetime,
    *,
    render: Renderer,
    now: datetime | None = None,
    timing: Timing | None = None,
) -> Opened:
    """Open the round: plan its reminders and summaries and queue the sections for everyone
    registered."""
    require(actor, Role.SECRETARIAT)
    now = now or utcnow()
    if consultation.status == RoundStatus.OPEN:
        raise Refused(Reason.ALREADY_OPEN, name=consultation.name, deadline=consultation.deadline)
    if consultation.status == RoundStatus.CLOSED:
        raise Refused(Reason.ROUND_CLOSED_ALREADY, name=consultation.name)
    if not await sections_of(session, consultation):
        raise Refused(Reason.NOTHING_TO_CIRCULATE)
    consultation.status = RoundStatus.OPEN
    consultation.deadline = deadline
    consultation.opened_at = now
    await session.flush()
    await plan_round(session, consultation, timing or Timing(), now=now)
    circulation = _Circulation(session, consultation, now, render)
    items = []
    for contact in await joined_contacts(session):
        items += await circulation.messages_for(contact)
    queued = await outbox.enqueue_many(session, items, now=now)
    reached = len({item.contact_id for item in items})
    without_focal = tuple(await clearance.states_without_focal(session, consultation))
    return Opened(consultation.name, consultation.title, deadline, reached, queued, without_focal)


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

    async def messages_for(self, contact: Contact) -> list[outbox.Queued]:
        consultation = self.consultation
        if consultation.status != RoundStatus.OPEN or contact.chat_id is None:
            return []
        if contact.role in (Role.SECRETARIAT, Role.FOCAL):
            # The Secretariat reads its own draft, a focal point reads it with /sections and
            # their state's comments with /review: it is circulated to neither.
            return []
        if contact.body_id not in self._sections:
            self._sections[contact.body_id] = await sections_for_body(self.session, consultation, contact.body_id)
        sections = self._sections[contact.body_id]
        if not sections:
            return []
        tz = ZoneInfo(contact.state.timezone) if contact.state else ZoneInfo("UTC")
        intro = outbox.OutgoingMessage(
            text=self.render.circulation_intro(consultation.title, consultation.deadline, tz, len(sections)),
            consultation_id=consultation.id,
        )
        items = [
            outbox.Queued(
                key=f"intro:{consultation.id}:{contact.id}",
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
                        key=f"sec:{consultation.id}:{section.id}:{contact.id}:{index}",
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
            parts = self.render.section_parts(self.consultation.title, section, section.clauses)
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
        or (consultation.status == RoundStatus.DRAFT and not actor.is_secretariat)
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
            key=f"closed:{consultation.id}:{contact.id}",
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
