"""The recorded outgoing queue.

Every message the bot sends on its own initiative is a row here first, keyed so that the
same thing is never queued twice (one section part to one contact, say). A sender claims
rows, sends them and records the outcome: sent (with Telegram's message id), failed with a
reason, or blocked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import Contact, FloodWaitRow, Instance, MessageAnchor, Outbox, OutboxStatus, utcnow
from bot.services.sql import dialect, rowcount, table

MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send: HTML text, inline buttons as (label, callback data) rows, and an
    optional anchor telling which clauses the message shows."""

    text: str
    buttons: list[list[tuple[str, str]]] | None = None
    consultation_id: int | None = None
    section_id: int | None = None
    clause_ids: list[int] | None = None
    # A picture (base64 PNG) or a file (base64, with its name) sent with `text` as caption.
    photo: str | None = None
    document: str | None = None
    filename: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text,
            "buttons": [[list(b) for b in row] for row in self.buttons] if self.buttons else None,
            "clause_ids": self.clause_ids,
        }
        if self.photo:
            payload["photo"] = self.photo
        if self.document:
            payload["document"] = self.document
            payload["filename"] = self.filename or "file"
        return payload


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    chat_id: int
    contact_id: int | None
    kind: str
    consultation_id: int | None
    section_id: int | None
    payload: dict[str, Any]
    attempts: int


def _insert(session: AsyncSession) -> Callable[[Table], Any]:
    return pg_insert if dialect(session) == "postgresql" else sqlite_insert


@dataclass(frozen=True)
class Queued:
    """A message to queue, for `enqueue_many`."""

    key: str
    kind: str
    chat_id: int
    message: OutgoingMessage
    contact_id: int | None = None
    not_before: datetime | None = None
    expires_at: datetime | None = None


# Rows per INSERT: well under SQLite's limit on parameters in one statement.
_BATCH = 400


async def enqueue_many(session: AsyncSession, items: list[Queued], *, now: datetime | None = None) -> int:
    """Queue many messages in a few statements (a round opened to hundreds of contacts), each
    unless one with the same key was ever queued. Returns how many were queued now."""
    now = now or utcnow()
    queued = 0
    for start in range(0, len(items), _BATCH):
        rows = [
            {
                "dedupe_key": item.key[:191],
                "kind": item.kind,
                "contact_id": item.contact_id,
                "chat_id": item.chat_id,
                "consultation_id": item.message.consultation_id,
                "section_id": item.message.section_id,
                "payload": item.message.to_payload(),
                "status": OutboxStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": max(now, item.not_before) if item.not_before else now,
                "expires_at": item.expires_at,
                "created_at": now,
            }
            for item in items[start : start + _BATCH]
        ]
        result = await session.execute(
            _insert(session)(table(Outbox)).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        queued += rowcount(result)
    return queued


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    chat_id: int | None,
    message: OutgoingMessage,
    contact_id: int | None = None,
    now: datetime | None = None,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
) -> int:
    """Queue a message unless one with the same key was ever queued: 1 if queued now, 0 if
    not (or if there is no chat to send it to: the person has not joined).

    `not_before` holds it back (quiet hours); `expires_at` drops it if it could only be
    sent later than that."""
    if chat_id is None:
        return 0
    item = Queued(key, kind, chat_id, message, contact_id=contact_id, not_before=not_before, expires_at=expires_at)
    return await enqueue_many(session, [item], now=now)


# Claims are taken one at a time across processes (PostgreSQL), so that two never take
# messages of one chat side by side: a transaction-level advisory lock, released at commit.
_CLAIM_LOCK = 0x636C61696D  # "claim"


async def claim(
    session: AsyncSession, *, limit: int = 50, now: datetime | None = None, instance: str | None = None
) -> list[ClaimedMessage]:
    """Take due messages for sending, each chat's in the order they were queued.

    A message is not taken while an older one of its chat is still to go: being sent by
    another process (a dead one's claims come back to the queue and go first), or waiting
    to be tried again. Messages held back for later (quiet hours) do not hold up the others.
    Concurrent senders never take the same row."""
    now = now or utcnow()
    older = aliased(Outbox)
    mine = older.claimed_by.is_(None) if instance is None else older.claimed_by == instance
    others_sending = (older.status == OutboxStatus.SENDING) & ~func.coalesce(mine, False)
    held_up = exists().where(
        older.chat_id == Outbox.chat_id,
        older.id < Outbox.id,
        others_sending | ((older.status == OutboxStatus.QUEUED) & (older.attempts > 0)),
    )
    query = (
        select(Outbox)
        .where(Outbox.status == OutboxStatus.QUEUED, Outbox.next_attempt_at <= now, ~held_up)
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
    )
    if dialect(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
        query = query.with_for_update(skip_locked=True)
    rows = sorted(await session.scalars(query), key=lambda row: row.id)
    claimed = []
    for row in rows:
        if row.expires_at is not None and row.expires_at <= now:
            row.status = OutboxStatus.EXPIRED
            row.error = "no longer useful: its deadline has passed"
            continue
        row.status = OutboxStatus.SENDING
        row.claimed_by = instance
        row.claimed_at = now
        row.attempts += 1
        claimed.append(
            ClaimedMessage(
                id=row.id,
                chat_id=row.chat_id,
                contact_id=row.contact_id,
                kind=row.kind,
                consultation_id=row.consultation_id,
                section_id=row.section_id,
                payload=row.payload,
                attempts=row.attempts,
            )
        )
    await session.flush()
    return claimed


# Queued messages to one chat go out at least this far apart (bot.budget paces them so
# within a process; the queue does it between processes).
CHAT_GAP = timedelta(seconds=1.05)


async def mark_sent(
    session: AsyncSession,
    item: ClaimedMessage,
    message_id: int,
    now: datetime | None = None,
    *,
    instance: str | None = None,
    alive_within: timedelta | None = None,
) -> None:
    """The message went out. On PostgreSQL, while another instance is alive (its heartbeat
    within `alive_within`), the chat's next queued messages wait `CHAT_GAP` from now: the
    process that claims them next keeps to the chat's pace as this one would. (A process
    alone paces its chats itself, bot.budget.)"""
    now = now or utcnow()
    await session.execute(
        update(Outbox)
        .where(Outbox.id == item.id)
        .values(status=OutboxStatus.SENT, message_id=message_id, sent_at=now, error=None)
    )
    if dialect(session) == "postgresql" and item.chat_id is not None and instance and alive_within:
        gap = now + CHAT_GAP
        others = select(Instance.id).where(Instance.id != instance, Instance.seen_at > now - alive_within)
        await session.execute(
            update(Outbox)
            .where(
                Outbox.chat_id == item.chat_id,
                Outbox.status == OutboxStatus.QUEUED,
                Outbox.next_attempt_at < gap,
                others.exists(),
            )
            .values(next_attempt_at=gap)
        )
    clause_ids = item.payload.get("clause_ids")
    if item.consultation_id and clause_ids is not None:
        session.add(
            MessageAnchor(
                chat_id=item.chat_id,
                message_id=message_id,
                consultation_id=item.consultation_id,
                section_id=item.section_id,
                clause_ids=clause_ids,
            )
        )
    if item.contact_id:
        await session.execute(update(Contact).where(Contact.id == item.contact_id).values(unreachable_at=None))
    await session.flush()


async def mark_blocked(session: AsyncSession, item: ClaimedMessage, reason: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    await session.execute(
        update(Outbox).where(Outbox.id == item.id).values(status=OutboxStatus.BLOCKED, error=reason[:1000])
    )
    if item.contact_id:
        await session.execute(update(Contact).where(Contact.id == item.contact_id).values(unreachable_at=now))


async def mark_failed(session: AsyncSession, item: ClaimedMessage, reason: str) -> None:
    await session.execute(
        update(Outbox).where(Outbox.id == item.id).values(status=OutboxStatus.FAILED, error=reason[:1000])
    )


async def retry_later(
    session: AsyncSession, item: ClaimedMessage, reason: str, *, delay: float | None = None, now: datetime | None = None
) -> bool:
    """Put a message back for another try after a backoff. False when attempts are used up."""
    now = now or utcnow()
    if item.attempts >= MAX_ATTEMPTS:
        await mark_failed(session, item, f"gave up after {item.attempts} attempts: {reason}")
        return False
    wait = delay if delay is not None else min(300.0, 2.0**item.attempts)
    await session.execute(
        update(Outbox)
        .where(Outbox.id == item.id)
        .values(status=OutboxStatus.QUEUED, next_attempt_at=now + timedelta(seconds=wait), error=reason[:1000])
    )
    return True


HEARTBEAT_TIMEOUT = timedelta(seconds=30)


async def heartbeat(
    session: AsyncSession,
    instance: str,
    description: str = "",
    *,
    now: datetime | None = None,
    send_rate: float = 0.0,
    reply_rate: float = 0.0,
) -> None:
    now = now or utcnow()
    row = await session.get(Instance, instance)
    if row is None:
        row = Instance(id=instance, description=description[:255], started_at=now, seen_at=now)
        session.add(row)
    row.seen_at = now
    row.send_rate = send_rate
    row.reply_rate = reply_rate
    await session.flush()


async def release(session: AsyncSession, ids: list[int], instance: str) -> int:
    """Give back messages this instance claimed and did not send (it is stopping): they are
    queued again at once, for whichever instance runs next."""
    if not ids:
        return 0
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(ids), Outbox.status == OutboxStatus.SENDING, Outbox.claimed_by == instance)
        .values(status=OutboxStatus.QUEUED, claimed_by=None, attempts=Outbox.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def forget_instance(session: AsyncSession, instance: str) -> None:
    await session.execute(delete(Instance).where(Instance.id == instance))


async def requeue_interrupted(
    session: AsyncSession, *, now: datetime | None = None, timeout: timedelta = HEARTBEAT_TIMEOUT
) -> int:
    """Messages claimed by a process that stopped without recording the outcome (killed, or
    its heartbeat is older than HEARTBEAT_TIMEOUT) go back in the queue. Claims of instances
    still alive are left alone."""
    now = now or utcnow()
    alive = select(Instance.id).where(Instance.seen_at >= now - timeout)
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.status == OutboxStatus.SENDING,
            (Outbox.claimed_by.is_(None)) | (Outbox.claimed_by.not_in(alive)),
        )
        .values(status=OutboxStatus.QUEUED, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(Instance).where(Instance.seen_at < now - timedelta(days=1)))
    return rowcount(result)


async def pending_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]))
        )
        or 0
    )


async def record_flood_wait(
    session: AsyncSession,
    *,
    instance: str,
    method: str,
    chat_id: int | None,
    retry_after: float,
    bulk: bool,
    now: datetime | None = None,
) -> None:
    """Keep an answer of 429 for the status (a day of them)."""
    now = now or utcnow()
    session.add(
        FloodWaitRow(at=now, instance=instance, method=method[:32], chat_id=chat_id, retry_after=retry_after, bulk=bulk)
    )
    await session.execute(delete(FloodWaitRow).where(FloodWaitRow.at < now - timedelta(days=1)))
    await session.flush()


@dataclass(frozen=True)
class Sending:
    """How sending goes, over every running instance of the bot."""

    instances: int
    send_rate: float  # messages a second over the last minute, replies included
    reply_rate: float
    queued: int
    flood_waits_last_hour: int


async def sending(
    session: AsyncSession, *, now: datetime | None = None, timeout: timedelta = HEARTBEAT_TIMEOUT
) -> Sending:
    now = now or utcnow()
    live = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Instance.send_rate), 0.0),
                func.coalesce(func.sum(Instance.reply_rate), 0.0),
            )
            .select_from(Instance)
            .where(Instance.seen_at >= now - timeout)
        )
    ).one()
    floods = await session.scalar(
        select(func.count()).select_from(FloodWaitRow).where(FloodWaitRow.at >= now - timedelta(hours=1))
    )
    return Sending(
        instances=int(live[0]),
        send_rate=float(live[1]),
        reply_rate=float(live[2]),
        queued=await pending_count(session),
        flood_waits_last_hour=int(floods or 0),
    )
