"""Who has answered: per body and Member State; and how many comments the Secretariat has
answered and how many are still open."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Body,
    Clause,
    ClearanceState,
    Comment,
    CommentStatus,
    Consultation,
    Contact,
    MemberState,
    Outbox,
    OutboxStatus,
    Role,
    Section,
    SectionResponse,
    Stage,
)
from bot.services import clearance
from bot.services.registry import Actor, require
from bot.services.rounds import bodies_taking_part, sections_for_body


@dataclass
class StateStatus:
    state: str
    contacts: int = 0
    joined: int = 0
    unreachable: list[str] = field(default_factory=list)
    sections_routed: int = 0
    sections_delivered: int = 0  # sections whose every part reached at least one contact
    comments: int = 0
    late_comments: int = 0
    no_comment_sections: int = 0
    sections_answered: int = 0
    # Where clearance is asked for: the state's comments waiting for its focal point,
    # returned to their delegates, and cleared.
    waiting: int = 0
    returned: int = 0
    cleared: int = 0

    @property
    def responded(self) -> bool:
        return self.comments > 0 or self.no_comment_sections > 0


@dataclass
class BodyStatus:
    code: str
    name: str
    states: list[StateStatus]

    @property
    def responded(self) -> list[StateStatus]:
        return [s for s in self.states if s.responded]

    @property
    def not_responded(self) -> list[StateStatus]:
        return [s for s in self.states if not s.responded]


@dataclass(frozen=True)
class Tally:
    """The active comments of one scope (a body, a section, a Member State, or all) by the
    Secretariat's answer; `open` have none yet."""

    key: str  # the body's code, the section's number, the Member State's name ("" for all)
    name: str = ""  # the section's heading
    by_disposition: dict[str, int] = field(default_factory=dict)
    open: int = 0

    @property
    def answered(self) -> int:
        return sum(self.by_disposition.values())

    @property
    def total(self) -> int:
        return self.answered + self.open


@dataclass(frozen=True)
class AnswerCounts:
    """How far the answering has come: overall, per body, per section (in the draft's
    order) and per Member State; only scopes with comments are listed."""

    overall: Tally
    bodies: list[Tally]
    sections: list[Tally]
    states: list[Tally]

    @property
    def total(self) -> int:
        return self.overall.total

    @property
    def answered(self) -> int:
        return self.overall.answered


async def answer_counts(
    session: AsyncSession, consultation: Consultation, *, body_id: int | None = None
) -> AnswerCounts:
    """Active (not withdrawn) comments answered and open, of one body or of all."""
    query = (
        select(
            Comment.disposition,
            Section.ref,
            Section.heading,
            Body.code,
            MemberState.name,
            func.count(),
        )
        .join(Clause, Clause.id == Comment.clause_id)
        .join(Section, Section.id == Clause.section_id)
        .outerjoin(Body, Body.id == Comment.body_id)  # none: the state's own comment
        .join(MemberState, MemberState.id == Comment.state_id)
        .where(Comment.stage_id == consultation.stage_id, clearance.counted())
        .group_by(Comment.disposition, Section.position, Section.ref, Section.heading, Body.code, MemberState.name)
        .order_by(Section.position)
    )
    if body_id is not None:
        query = query.where(Comment.body_id == body_id)
    overall: dict[str | None, int] = defaultdict(int)
    scopes: tuple[dict[str, dict[str | None, int]], ...] = ({}, {}, {})
    headings: dict[str, str] = {}
    for disposition, section_ref, heading, body_code, state_name, n in await session.execute(query):
        overall[disposition] += n
        headings[section_ref] = heading
        for scope, key in zip(scopes, (body_code or "", section_ref, state_name), strict=True):
            counts = scope.setdefault(key, defaultdict(int))
            counts[disposition] += n

    def tally(key: str, counts: dict[str | None, int], name: str = "") -> Tally:
        answered = {d: n for d, n in counts.items() if d is not None}
        return Tally(key, name, answered, counts.get(None, 0))

    bodies, sections, states = scopes
    return AnswerCounts(
        overall=tally("", overall),
        bodies=[tally(code, counts) for code, counts in sorted(bodies.items())],
        sections=[tally(ref, counts, headings[ref]) for ref, counts in sections.items()],
        states=[tally(name, counts) for name, counts in sorted(states.items())],
    )


@dataclass
class StatusReport:
    consultation: str
    title: str
    status: str
    deadline: datetime | None
    bodies: list[BodyStatus]
    answers: AnswerCounts | None = None  # for the Secretariat's eyes only
    clearance: str = "off"
    # Clearance required: Member States with delegates but no focal point who has joined.
    without_focal: list[str] = field(default_factory=list)
    # The Member States' own comments (by their focal points), by state.
    state_comments: dict[str, int] = field(default_factory=dict)

    @property
    def total_comments(self) -> int:
        return sum(s.comments for b in self.bodies for s in b.states) + sum(self.state_comments.values())


async def status_report(
    session: AsyncSession,
    consultation: Consultation,
    *,
    body_id: int | None = None,
    with_answers: bool = True,
    stage: Stage | None = None,
) -> StatusReport:
    """Who has responded, per body and Member State, in the current stage (or ``stage``, an
    earlier one); `with_answers`: and how many comments the Secretariat has answered."""
    stage_id = stage.id if stage is not None else consultation.stage_id
    bodies = await bodies_taking_part(session, consultation, stage=stage)
    if body_id is not None:
        bodies = [b for b in bodies if b.id == body_id]
    states = list(await session.scalars(select(MemberState).order_by(MemberState.name)))

    contacts = list(await session.scalars(select(Contact).where(Contact.role.in_([Role.DELEGATE, Role.CHAIR]))))
    by_cell: dict[tuple[int, int], list[Contact]] = defaultdict(list)
    for contact in contacts:
        if contact.body_id and contact.state_id:
            by_cell[(contact.body_id, contact.state_id)].append(contact)

    comment_counts = {
        (b, s, late): n
        for b, s, late, n in await session.execute(
            select(Comment.body_id, Comment.state_id, Comment.late, func.count())
            .where(Comment.stage_id == stage_id, clearance.counted())
            .group_by(Comment.body_id, Comment.state_id, Comment.late)
        )
    }
    state_totals: dict[int, int] = defaultdict(int)
    for (b, s, _late), n in comment_counts.items():
        if b is None:
            state_totals[s] += n
    clearances: dict[tuple[int | None, int], dict[str, int]] = defaultdict(dict)
    for b, s, state_of_comment, n in await session.execute(
        select(Comment.body_id, Comment.state_id, Comment.clearance, func.count())
        .where(Comment.stage_id == stage_id, Comment.status == CommentStatus.ACTIVE)
        .group_by(Comment.body_id, Comment.state_id, Comment.clearance)
    ):
        clearances[(b, s)][state_of_comment] = n
    commented_sections: dict[tuple[int | None, int], set[int]] = defaultdict(set)
    for b, s, section_id in await session.execute(
        select(Comment.body_id, Comment.state_id, Clause.section_id)
        .join(Clause, Clause.id == Comment.clause_id)
        .where(Comment.stage_id == stage_id, clearance.counted())
        .distinct()
    ):
        commented_sections[(b, s)].add(section_id)
    nocomment_sections: dict[tuple[int, int], set[int]] = defaultdict(set)
    for b, s, section_id in await session.execute(
        select(SectionResponse.body_id, SectionResponse.state_id, SectionResponse.section_id).where(
            SectionResponse.stage_id == stage_id
        )
    ):
        nocomment_sections[(b, s)].add(section_id)

    # Delivery: a (contact, section) is delivered when all its parts were sent.
    parts: dict[tuple[int | None, int | None], list[str]] = defaultdict(list)
    for recipient, sent_section, status in await session.execute(
        select(Outbox.contact_id, Outbox.section_id, Outbox.status).where(
            Outbox.consultation_id == consultation.id,
            Outbox.kind == "section",
            Outbox.contact_id.is_not(None),
            Outbox.section_id.is_not(None),
        )
    ):
        parts[(recipient, sent_section)].append(status)

    report_bodies = []
    for body in bodies:
        routed = await sections_for_body(session, consultation, body.id)
        routed_ids = {s.id for s in routed}
        rows = []
        for state in states:
            cell = by_cell.get((body.id, state.id), [])
            delivered = set()
            for contact in cell:
                for section_id in routed_ids:
                    statuses = parts.get((contact.id, section_id))
                    if statuses and all(st == OutboxStatus.SENT for st in statuses):
                        delivered.add(section_id)
            commented = commented_sections.get((body.id, state.id), set())
            nocomment = nocomment_sections.get((body.id, state.id), set())
            cleared = clearances.get((body.id, state.id), {})
            rows.append(
                StateStatus(
                    state=state.name,
                    contacts=len(cell),
                    joined=sum(1 for c in cell if c.chat_id is not None),
                    unreachable=[c.name or f"#{c.id}" for c in cell if c.unreachable_at is not None],
                    sections_routed=len(routed_ids),
                    sections_delivered=len(delivered),
                    comments=comment_counts.get((body.id, state.id, False), 0)
                    + comment_counts.get((body.id, state.id, True), 0),
                    late_comments=comment_counts.get((body.id, state.id, True), 0),
                    no_comment_sections=len(nocomment & routed_ids),
                    sections_answered=len((commented | nocomment) & routed_ids),
                    waiting=cleared.get(ClearanceState.DRAFTED, 0),
                    returned=cleared.get(ClearanceState.RETURNED, 0),
                    cleared=cleared.get(ClearanceState.CLEARED, 0),
                )
            )
        report_bodies.append(BodyStatus(body.code, body.name, rows))
    return StatusReport(
        consultation.name,
        consultation.title,
        consultation.status,
        consultation.deadline,
        report_bodies,
        await answer_counts(session, consultation, body_id=body_id) if with_answers else None,
        clearance.mode_of(consultation),
        await clearance.states_without_focal(session, consultation),
        {} if body_id is not None else {s.name: n for s in states if (n := state_totals.get(s.id, 0))},
    )


async def report_for(session: AsyncSession, actor: Actor, consultation: Consultation) -> StatusReport:
    """The status someone asks for: a chair's, of their own body; the Secretariat's, of all,
    with how far the answering has come."""
    require(actor, Role.CHAIR, Role.SECRETARIAT)
    if actor.is_secretariat:
        return await status_report(session, consultation)
    return await status_report(session, consultation, body_id=actor.body_id, with_answers=False)
