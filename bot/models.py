"""The database schema. Every change here needs an Alembic revision."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    deferred,
    mapped_column,
    relationship,
)
from sqlalchemy.sql.selectable import ScalarSelect

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Role(enum.StrEnum):
    DELEGATE = "delegate"
    CHAIR = "chair"
    SECRETARIAT = "secretariat"
    # A Member State's national focal point: clears what goes out under the state's name.
    FOCAL = "focal"


class RoundStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class CommentKind(enum.StrEnum):
    GENERAL = "ge"
    TECHNICAL = "te"
    EDITORIAL = "ed"


class CommentStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"  # merged by its state's focal point into another comment on its clause


class Clearance(enum.StrEnum):
    """Whether a consultation asks Member States' focal points to clear their delegates'
    comments: not at all, shown beside each comment, or before a comment reaches the
    Secretariat."""

    OFF = "off"
    ADVISORY = "advisory"
    REQUIRED = "required"


class ClearanceState(enum.StrEnum):
    """Where a comment stands with its Member State's focal point."""

    DRAFTED = "drafted"  # waiting for clearance
    RETURNED = "returned"  # sent back to its delegate with a note
    CLEARED = "cleared"


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    EXPIRED = "expired"  # no longer useful when its turn came (a reminder after its deadline)
    SUPERSEDED = "superseded"  # merged into a later message to the same person


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Body(Base):
    __tablename__ = "bodies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")


class MemberState(Base):
    __tablename__ = "member_states"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")


class _OfCurrentStage(Generic[T]):
    """An attribute of a consultation's current stage (its last), read and written through the
    consultation: `consultation.deadline` in Python, `Consultation.deadline` in a query (a
    correlated scalar subquery), so that code about "the round" reads as it always did."""

    def __init__(self, column: str = "") -> None:
        self.name = column

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = self.name or name

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> ScalarSelect[T]: ...

    @overload
    def __get__(self, obj: Consultation, owner: type[Any]) -> T: ...

    def __get__(self, obj: Consultation | None, owner: type[Any]) -> T | ScalarSelect[T]:
        if obj is None:
            table = Stage.__table__
            return (
                select(table.c[self.name])
                .where(table.c.consultation_id == Consultation.__table__.c.id)
                .order_by(table.c.position.desc())
                .limit(1)
                .scalar_subquery()
            )
        value: T = getattr(obj.stage, self.name)
        return value

    def __set__(self, obj: Consultation, value: T) -> None:
        setattr(obj.stage, self.name, value)


class StageKind(enum.StrEnum):
    """What a stage of a consultation asks of the bodies it goes to."""

    COMMENTS = "comments"  # comments on the draft, clause by clause
    FINAL = "final"  # final comments on a new version (by default on its changed clauses)
    REVIEW = "review"  # a stage routed to one or a few bodies (a cross-sector review)
    ENDORSEMENT = "endorsement"  # endorse, endorse with a reservation, or cannot endorse


class Consultation(Base):
    """A consultation on one draft: its versions (v0, v1, ...) and its stages, in order.

    The round attributes (status, deadline, ...) are those of its current stage, the last one:
    they read and write through to it, in Python and in SQL (see `_stage_attribute`)."""

    __tablename__ = "consultations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The current stage's (see Stage).
    kind = _OfCurrentStage[str]()
    status = _OfCurrentStage[str]()
    deadline = _OfCurrentStage[datetime | None]()
    opened_at = _OfCurrentStage[datetime | None]()
    closed_at = _OfCurrentStage[datetime | None]()
    allow_late = _OfCurrentStage[bool]()
    reminder_schedule = _OfCurrentStage[str | None]()
    remind_everyone = _OfCurrentStage[bool]()
    clearance = _OfCurrentStage[str]()
    silence = _OfCurrentStage[bool]()
    only_changed = _OfCurrentStage[bool]()
    stage_id = _OfCurrentStage[int]("id")
    version_id = _OfCurrentStage[int]()

    versions: Mapped[list[Version]] = relationship(
        back_populates="consultation", order_by="Version.number", cascade="all, delete-orphan", lazy="selectin"
    )
    stages: Mapped[list[Stage]] = relationship(
        back_populates="consultation", order_by="Stage.position", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def stage(self) -> Stage:
        """The current stage: the last one (open, closed, or prepared and not yet open)."""
        return self.stages[-1]

    @property
    def version(self) -> Version:
        """The version the current stage is on."""
        stage = self.stage
        return next(v for v in self.versions if v.id == stage.version_id or v is stage.version)

    @property
    def ever_opened(self) -> bool:
        """Whether a stage of it was ever opened: until then only the Secretariat sees it."""
        return any(stage.opened_at is not None for stage in self.stages)

    @property
    def circulated_version_id(self) -> int:
        """The version delegates see: that of the last stage that was opened (the current
        one's while the first stage has not been)."""
        for stage in reversed(self.stages):
            if stage.opened_at is not None:
                return stage.version_id
        return self.stage.version_id

    # Read by bot.services.consolidation and rounds only, from the current version.
    @property
    def draft_filename(self) -> str:
        return self.version.filename


class Version(Base):
    """One text of the draft (v0 the zero draft, v1 the first revision, ...), as uploaded.

    `mapping` is how its clauses were mapped to the previous version's when it was uploaded
    (documents.versions, with the Secretariat's corrections): a list of
    {"new": ref | None, "old": ref | None, "kind": ..., "confidence": ...}."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("consultation_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(500), default="")
    filename: Mapped[str] = mapped_column(String(255), default="draft.docx")
    draft_bytes: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mapping: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    consultation: Mapped[Consultation] = relationship(back_populates="versions")

    @property
    def label(self) -> str:
        return f"v{self.number}"


class Stage(Base):
    """One stage of a consultation on one version: its window, its reminders, its clearance.

    A stage is prepared (status draft) until opened; at most one stage of a consultation is
    open, and only the last one can be."""

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("consultation_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)  # 1, 2, ... in the consultation
    kind: Mapped[str] = mapped_column(String(16), default=StageKind.COMMENTS, server_default=StageKind.COMMENTS.value)
    status: Mapped[str] = mapped_column(String(16), default=RoundStatus.DRAFT)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    allow_late: Mapped[bool] = mapped_column(Boolean, default=False)
    # Offsets before the deadline, e.g. "30d,14d,7d,3d,1d,0d" (units s, m, h, d); None: the setting.
    reminder_schedule: Mapped[str | None] = mapped_column(String(200))
    # Remind every delegate, not only those whose body and state have not responded.
    remind_everyone: Mapped[bool] = mapped_column(Boolean, default=False)
    # Clearance by the Member States' focal points (Clearance): read through
    # bot.services.clearance.mode_of, never directly.
    clearance: Mapped[str] = mapped_column(String(16), default=Clearance.OFF, server_default=Clearance.OFF.value)
    # Endorsement under the silence procedure: no objection by the deadline is endorsement.
    silence: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Final comments: only the clauses changed since the last version are circulated.
    only_changed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consultation: Mapped[Consultation] = relationship(back_populates="stages")
    version: Mapped[Version] = relationship(lazy="joined")


class StageBody(Base):
    """A body a stage is routed to (a review by one or a few bodies). A stage without rows
    goes to the bodies the version's sections are routed to."""

    __tablename__ = "stage_bodies"
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id", ondelete="CASCADE"), primary_key=True)


class EndorsementKind(enum.StrEnum):
    """An answer to an endorsement stage."""

    ENDORSE = "endorse"
    RESERVATION = "reservation"  # endorse with a reservation (its text)
    CANNOT = "cannot"  # cannot endorse (the reason)


class Endorsement(Base):
    """One answer of a sectoral body in a Member State to an endorsement stage; with no body,
    the Member State's answer for all its bodies, given by its focal point. A changed answer
    is kept with `replaced_at`; the one that stands has none."""

    __tablename__ = "endorsements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), index=True)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id", ondelete="CASCADE"))
    state_id: Mapped[int] = mapped_column(ForeignKey("member_states.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    by_name: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EndorsementStep(Base):
    """A reservation or a reason for not endorsing, awaited as the contact's next message
    (kept here, so a restart loses nothing)."""

    __tablename__ = "endorsement_steps"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # reservation | cannot
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("version_id", "ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(32))
    heading: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer, default=1)
    paragraph: Mapped[int] = mapped_column(Integer, default=0)

    clauses: Mapped[list[Clause]] = relationship(
        back_populates="section", order_by="Clause.position", cascade="all, delete-orphan"
    )


class Clause(Base):
    __tablename__ = "clauses"
    __table_args__ = (UniqueConstraint("version_id", "ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer, default=0)
    paragraphs: Mapped[list[int]] = mapped_column(JSON, default=list)

    section: Mapped[Section] = relationship(back_populates="clauses")


class Route(Base):
    """A section routed to a body. A consultation without routes goes to every body."""

    __tablename__ = "routes"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id", ondelete="CASCADE"), primary_key=True)


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16))
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id"), index=True)
    state_id: Mapped[int | None] = mapped_column(ForeignKey("member_states.id"), index=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64))
    # The contact's own time zone; None means their Member State's.
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    body: Mapped[Body | None] = relationship(lazy="joined")
    state: Mapped[MemberState | None] = relationship(lazy="joined")


class Invite(Base):
    """A single-use invite. Only the SHA-256 of its token is kept (hex): the token itself is
    in the link given out once, and a copy of the database lets no one in."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(BigInteger)

    contact: Mapped[Contact] = relationship(lazy="joined")


class Outbox(Base):
    """Every message the bot sends on its own initiative, with what became of it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # A chat's messages go in the order they were queued: the claim looks for older ones.
        Index("ix_outbox_chat_status", "chat_id", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(191), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    # Which running instance took it, and when (see Instance).
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A message no longer worth sending after this moment (a reminder after its deadline).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageAnchor(Base):
    """What a message the bot sent shows, so a reply to it can be tied to its clauses."""

    __tablename__ = "message_anchors"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    clause_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("consultation_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    # The stage it was made in (its clause is of that stage's version).
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), index=True)
    clause_id: Mapped[int] = mapped_column(ForeignKey("clauses.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    # None: the Member State's own comment, written by its focal point.
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id"))
    state_id: Mapped[int] = mapped_column(ForeignKey("member_states.id"))
    kind: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    proposed: Mapped[str | None] = mapped_column(Text)
    # `proposed` is the whole clause as the delegate wants it (the bot asks for that, giving
    # the clause's text to start from); false for wording sent before it did, which may be a
    # fragment (migration 0007).
    proposed_whole: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default=CommentStatus.ACTIVE)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    observation: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The update that created it: a re-delivered update does not create a second comment.
    source_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The comment's number in the matrix ("TH-004"), given when the round is first
    # consolidated and kept from then on, so that a matrix sent back with answers is matched
    # row by row; comments made later get the next free number of their Member State.
    number: Mapped[str | None] = mapped_column(String(16))
    # The Secretariat's answer (bot.services.answers): accepted, partly, noted or rejected,
    # with the observation above; who gave it and when, and when its author was last told.
    disposition: Mapped[str | None] = mapped_column(String(16))
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where it stands with its Member State's focal point (ClearanceState): who cleared or
    # returned it and when, the note it was returned with, and whether it was cleared after
    # the deadline.
    clearance: Mapped[str] = mapped_column(
        String(16), default=ClearanceState.DRAFTED, server_default=ClearanceState.DRAFTED.value
    )
    cleared_by: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clearance_note: Mapped[str | None] = mapped_column(Text)
    cleared_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A comment merged into another (status merged): the one that holds both now.
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))

    clause: Mapped[Clause] = relationship(lazy="joined")
    contact: Mapped[Contact] = relationship(lazy="joined", foreign_keys=[contact_id])


class ClearanceEvent(Base):
    """What a focal point (or the delegate, resubmitting) did to a comment: cleared,
    returned (with the note), edited (the text before and after), merged (the other
    comment's text), resubmitted. The comment's history as its state cleared it."""

    __tablename__ = "clearance_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    text_before: Mapped[str | None] = mapped_column(Text)
    text_after: Mapped[str | None] = mapped_column(Text)


class ReviewStep(Base):
    """A focal point's step in hand: the note to return a comment with, or its new text,
    awaited as their next message (kept here, so a restart loses nothing)."""

    __tablename__ = "review_steps"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(16))  # note | edit
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerChange(Base):
    """Every change of a comment's answer: who, when, before and after."""

    __tablename__ = "answer_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disposition_before: Mapped[str | None] = mapped_column(String(16))
    observation_before: Mapped[str | None] = mapped_column(Text)
    disposition_after: Mapped[str | None] = mapped_column(String(16))
    observation_after: Mapped[str | None] = mapped_column(Text)


class AnswerWalk(Base):
    """Where a Secretariat officer stands in answering comments one at a time: the comment in
    hand (held from other officers), the step, the disposition chosen so far.

    The same steps change one comment's answer from its card (`/history`): `change_from` is
    then the last change of that answer the officer saw when they began (0: it had none), so
    that an answer given meanwhile by someone else is never overwritten unseen. NULL: a
    walk-through of the unanswered comments."""

    __tablename__ = "answer_walks"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    filter: Mapped[str] = mapped_column(String(255), default="")
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"), index=True)
    step: Mapped[str] = mapped_column(String(16), default="disposition")
    disposition: Mapped[str | None] = mapped_column(String(16))
    change_from: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SectionResponse(Base):
    """A delegate's "no comments on this section"."""

    __tablename__ = "section_responses"
    __table_args__ = (UniqueConstraint("stage_id", "section_id", "contact_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    state_id: Mapped[int] = mapped_column(ForeignKey("member_states.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentDraft(Base):
    """A comment being written: the conversation's state lives here so it survives a restart."""

    __tablename__ = "comment_drafts"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    clause_id: Mapped[int] = mapped_column(ForeignKey("clauses.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(2))
    text: Mapped[str | None] = mapped_column(Text)
    proposed: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clause: Mapped[Clause] = relationship(lazy="joined")


class PendingUpload(Base):
    """A draft uploaded in chat, waiting for the Secretariat to confirm its outline."""

    __tablename__ = "pending_uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Being checked as the next version of this consultation, with the Secretariat's
    # corrections of the mapping so far: [{"new": ref | None, "old": ref | None}, ...].
    version_of_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    corrections: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # A delegate's Word file, its comments picked one by one: each one's type (ge, te, ed),
    # or "skip" for one left out, in the order they were read.
    picked: Mapped[list[str] | None] = mapped_column(JSON)


class PlannedJob(Base):
    """The timetable of a round: reminders, chair digests and milestone summaries.

    The database is the source of truth; the bot's timer is re-armed from it at start."""

    __tablename__ = "planned_jobs"
    __table_args__ = (Index("ix_planned_jobs_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder | digest | milestone
    label: Mapped[str] = mapped_column(String(16))  # "7d", "week 2", "deadline"
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | skipped
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReminderMute(Base):
    __tablename__ = "reminder_mutes"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Nudge(Base):
    """A chair's nudge of the non-responders of their body (at most one a day)."""

    __tablename__ = "nudges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessedUpdate(Base):
    """Updates already handled: one re-delivered after a restart is not handled twice."""

    __tablename__ = "processed_updates"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Instance(Base):
    """A running bot process. Its heartbeat tells the others whether its claims are still alive."""

    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Messages a second it sent over the last minute (all, and replies to people among them),
    # as of its last heartbeat: `clausebot status` adds them up.
    send_rate: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    reply_rate: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class SendBudgetRow(Base):
    """The shared timeline of one bot's sends (bot/budget.py): on PostgreSQL every process
    sending for the bot takes its slots here. Times are the database's clock, in seconds."""

    __tablename__ = "send_budget"
    bot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float, default=0.0)
    slow_factor: Mapped[float] = mapped_column(Float, default=1.0)
    slow_until: Mapped[float] = mapped_column(Float, default=0.0)


class FloodWaitRow(Base):
    """An answer of 429 from Telegram: what it held up."""

    __tablename__ = "flood_waits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    instance: Mapped[str] = mapped_column(String(36), default="")
    method: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    retry_after: Mapped[float] = mapped_column(Float)
    bulk: Mapped[bool] = mapped_column(Boolean, default=False)
