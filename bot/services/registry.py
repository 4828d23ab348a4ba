"""Bodies, Member States, contacts and invites."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Body, Contact, Invite, MemberState, Meta, Role, utcnow
from bot.services.errors import CsvRowErrors, InvalidInput, NotFound, Reason, Refused, ServiceError
from bot.services.schedule import known_zone

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# How long an invite may stay valid, in days.
MAX_INVITE_DAYS = 3650
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def author_label(body_code: str | None, state_name: str | None) -> str:
    """Who a comment speaks for, as the consolidated draft names its author: "SOMHD – Thailand"."""
    if body_code and state_name:
        return f"{body_code} – {state_name}"
    return body_code or state_name or "Secretariat"


@dataclass(frozen=True)
class Actor:
    """Who is talking to the bot, as the handlers and services need it."""

    contact_id: int
    name: str
    role: Role
    body_id: int | None
    body_code: str | None
    state_id: int | None
    state_name: str | None
    timezone: str
    chat_id: int | None

    @property
    def is_secretariat(self) -> bool:
        return self.role == Role.SECRETARIAT

    @property
    def is_chair(self) -> bool:
        return self.role == Role.CHAIR

    @property
    def is_focal(self) -> bool:
        return self.role == Role.FOCAL

    @property
    def label(self) -> str:
        return author_label(self.body_code, self.state_name)

    @property
    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


# Whoever runs the command line on the bot's machine acts as the Secretariat.
CONSOLE = Actor(
    contact_id=0,
    name="command line",
    role=Role.SECRETARIAT,
    body_id=None,
    body_code=None,
    state_id=None,
    state_name=None,
    timezone="UTC",
    chat_id=None,
)


def require(actor: Actor, *roles: Role) -> None:
    """Refuse unless the actor has one of these roles. Every service that acts for the
    Secretariat or a chair checks it itself, whatever checked before it."""
    if actor.role not in roles:
        raise Refused(Reason.NOT_FOR_ROLE, role=str(actor.role), allowed=[str(r) for r in roles])


def actor_from(contact: Contact, default_tz: str = "UTC") -> Actor:
    return Actor(
        contact_id=contact.id,
        name=contact.name,
        role=Role(contact.role),
        body_id=contact.body_id,
        body_code=contact.body.code if contact.body else None,
        state_id=contact.state_id,
        state_name=contact.state.name if contact.state else None,
        timezone=contact.timezone or (contact.state.timezone if contact.state else default_tz),
        chat_id=contact.chat_id,
    )


class ActorCache:
    """Actors by Telegram user id, each kept for ``ttl`` seconds.

    Only registered people are kept (someone who joins is let in at once). A change made in
    this process (a new time zone) replaces the entry; one made elsewhere (the command line,
    another instance) is seen within ``ttl``.
    """

    def __init__(self, ttl: float = 60.0, size: int = 20_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[int, tuple[float, Actor]] = {}

    def get(self, telegram_user_id: int) -> Actor | None:
        entry = self._entries.get(telegram_user_id)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._entries[telegram_user_id]
            return None
        return entry[1]

    def put(self, telegram_user_id: int, actor: Actor) -> None:
        if len(self._entries) >= self.size:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            if len(self._entries) >= self.size:
                self._entries.clear()
        self._entries[telegram_user_id] = (time.monotonic() + self.ttl, actor)

    def forget(self, telegram_user_id: int) -> None:
        self._entries.pop(telegram_user_id, None)


async def actor_for_user(session: AsyncSession, telegram_user_id: int, default_tz: str = "UTC") -> Actor | None:
    contact = await session.scalar(select(Contact).where(Contact.telegram_user_id == telegram_user_id))
    return actor_from(contact, default_tz) if contact else None


# --- bodies and states -------------------------------------------------------------------


async def add_body(session: AsyncSession, code: str, name: str = "") -> Body:
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]{0,31}", code):
        raise InvalidInput(Reason.BAD_BODY_CODE, code=code)
    body = await session.scalar(select(Body).where(Body.code == code))
    if body is None:
        body = Body(code=code, name=name.strip())
        session.add(body)
    elif name:
        body.name = name.strip()
    await session.flush()
    return body


async def add_state(session: AsyncSession, name: str, code: str, timezone: str = "UTC") -> MemberState:
    name, code = name.strip(), code.strip().upper()
    if not name or not re.fullmatch(r"[A-Z]{2,3}", code):
        raise InvalidInput(Reason.BAD_STATE, name=name, code=code)
    zone = known_zone(timezone)
    if zone is None:
        raise InvalidInput(Reason.BAD_TIMEZONE, tz=timezone)
    timezone = zone
    state = await session.scalar(select(MemberState).where((MemberState.code == code) | (MemberState.name == name)))
    if state is None:
        state = MemberState(name=name, code=code, timezone=timezone)
        session.add(state)
    else:
        state.name, state.code, state.timezone = name, code, timezone
    await session.flush()
    return state


async def list_bodies(session: AsyncSession) -> list[Body]:
    return list(await session.scalars(select(Body).order_by(Body.code)))


async def list_states(session: AsyncSession) -> list[MemberState]:
    return list(await session.scalars(select(MemberState).order_by(MemberState.name)))


async def seed_asean(session: AsyncSession) -> tuple[int, int]:
    """Register the founding case's eight sectoral bodies and ten Member States."""
    from documents.sample import sample_bodies, sample_states

    for code, name in sample_bodies():
        await add_body(session, code, name)
    for name, code, tz in sample_states():
        await add_state(session, name, code, tz)
    return len(sample_bodies()), len(sample_states())


async def resolve_body(session: AsyncSession, code: str) -> Body:
    body = await session.scalar(select(Body).where(func.upper(Body.code) == code.strip().upper()))
    if body is None:
        known = [b.code for b in await list_bodies(session)]
        raise NotFound(Reason.UNKNOWN_BODY, code=code, known=known)
    return body


async def resolve_state(session: AsyncSession, name: str) -> MemberState:
    key = name.strip().lower()
    states = await list_states(session)
    for state in states:
        if key in (state.name.lower(), state.code.lower()):
            return state
    raise NotFound(Reason.UNKNOWN_STATE, name=name, known=[s.name for s in states])


# --- invites -------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    """What the database keeps of an invite token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedInvite:
    # The token itself, for the link given out now; the database keeps only its hash.
    token: str
    contact_id: int
    name: str
    role: Role
    body_code: str | None
    state_name: str | None
    expires_at: datetime


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError as exc:
        raise InvalidInput(Reason.BAD_ROLE, role=value) from exc


async def issue_invite(
    session: AsyncSession,
    actor: Actor,
    *,
    role: str | Role,
    body: str | None,
    state: str | None,
    name: str = "",
    email: str = "",
    ttl_days: int = 30,
    now: datetime | None = None,
) -> IssuedInvite:
    require(actor, Role.SECRETARIAT)
    if not 1 <= ttl_days <= MAX_INVITE_DAYS:
        raise InvalidInput(Reason.BAD_DAYS, days=ttl_days)
    now = now or utcnow()
    role = parse_role(role) if isinstance(role, str) else role
    body_row = await resolve_body(session, body) if body else None
    state_row = await resolve_state(session, state) if state else None
    if role in (Role.DELEGATE,) and (body_row is None or state_row is None):
        raise InvalidInput(Reason.INVITE_NEEDS_BODY_AND_STATE, role=role)
    if role == Role.CHAIR and body_row is None:
        raise InvalidInput(Reason.INVITE_NEEDS_BODY_AND_STATE, role=role)
    if role == Role.FOCAL:
        # A focal point speaks for a Member State, across its bodies.
        if state_row is None:
            raise InvalidInput(Reason.INVITE_NEEDS_BODY_AND_STATE, role=role)
        if body_row is not None:
            raise InvalidInput(Reason.FOCAL_HAS_NO_BODY, body=body_row.code, state=state_row.name)
    email = email.strip()
    if email and not EMAIL_RE.match(email):
        raise InvalidInput(Reason.BAD_EMAIL, email=email)
    contact = Contact(
        name=name.strip(),
        email=email,
        role=role,
        body_id=body_row.id if body_row else None,
        state_id=state_row.id if state_row else None,
    )
    session.add(contact)
    await session.flush()
    token = secrets.token_urlsafe(18)
    invite = Invite(
        token_hash=token_hash(token),
        contact_id=contact.id,
        expires_at=now + timedelta(days=ttl_days),
    )
    session.add(invite)
    await session.flush()
    return IssuedInvite(
        token=token,
        contact_id=contact.id,
        name=contact.name,
        role=role,
        body_code=body_row.code if body_row else None,
        state_name=state_row.name if state_row else None,
        expires_at=invite.expires_at,
    )


def invite_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


CSV_COLUMNS = ("name", "role", "body", "state", "email")


def decode_csv(data: bytes) -> tuple[str, str] | None:
    """The text of a contacts file as spreadsheets save it, and the encoding to write it back
    in: UTF-8 with or without a byte order mark, UTF-16 with one ("Unicode text"), else
    Windows-1252 (Excel's plain "CSV" on Windows; it reads Latin-1 too). None when it is none
    of these: a file with NUL bytes is UTF-16 without a mark, or not text (a workbook)."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    elif b"\x00" in data:
        return None
    else:
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if "\x00" in text else (text, encoding)
    return None


def csv_delimiter(data: str) -> str:
    """A comma, or what the header row is split by instead: semicolons (spreadsheets where
    the decimal mark is a comma) or tabs ("Unicode text")."""
    header = data.lstrip("\ufeff").split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


async def enrol_csv(
    session: AsyncSession, actor: Actor, data: str, *, ttl_days: int = 30, now: datetime | None = None
) -> tuple[list[str], list[dict[str, str]], list[IssuedInvite]]:
    """Enrol every row of a contacts spreadsheet, or none of them.

    Returns (fieldnames, rows, invites) with one invite per row in order. Bad rows raise
    `CsvRowErrors` naming each line; the caller rolls back.
    """
    require(actor, Role.SECRETARIAT)
    if not 1 <= ttl_days <= MAX_INVITE_DAYS:
        raise InvalidInput(Reason.BAD_DAYS, days=ttl_days)
    data = data.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(data), delimiter=csv_delimiter(data))
    if reader.fieldnames is None:
        raise CsvRowErrors([(1, InvalidInput(Reason.CSV_EMPTY))])
    fields = [f.strip().lower() for f in reader.fieldnames]
    missing = [c for c in CSV_COLUMNS if c not in fields and c != "email"]
    if missing:
        raise CsvRowErrors([(1, InvalidInput(Reason.CSV_MISSING_COLUMNS, missing=missing))])
    reader.fieldnames = fields
    rows = list(reader)
    if not rows:
        raise CsvRowErrors([(1, InvalidInput(Reason.CSV_EMPTY))])
    errors: list[tuple[int, ServiceError]] = []
    invites: list[IssuedInvite] = []
    for index, row in enumerate(rows):
        line = index + 2
        try:
            # issue_invite validates everything before it writes anything.
            invites.append(
                await issue_invite(
                    session,
                    actor,
                    role=(row.get("role") or "").strip() or "delegate",
                    body=(row.get("body") or "").strip() or None,
                    state=(row.get("state") or "").strip() or None,
                    name=(row.get("name") or "").strip(),
                    email=(row.get("email") or "").strip(),
                    ttl_days=ttl_days,
                    now=now,
                )
            )
        except (InvalidInput, NotFound) as exc:
            errors.append((line, exc))
    if errors:
        raise CsvRowErrors(errors)
    return fields, rows, invites


def write_csv_with_links(fields: list[str], rows: list[dict[str, str]], links: list[str], delimiter: str = ",") -> str:
    out = io.StringIO()
    names = [f for f in fields if f != "invite_link"] + ["invite_link"]
    writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n", delimiter=delimiter)
    writer.writeheader()
    for row, link in zip(rows, links, strict=True):
        writer.writerow({**row, "invite_link": link})
    return out.getvalue()


@dataclass(frozen=True)
class Joined:
    actor: Actor
    already: bool = False


async def join(
    session: AsyncSession,
    token: str,
    *,
    telegram_user_id: int,
    chat_id: int,
    username: str | None,
    full_name: str,
    now: datetime | None = None,
    default_tz: str = "UTC",
) -> Joined:
    """Bind a Telegram user to the contact an invite was issued for."""
    now = now or utcnow()
    existing = await session.scalar(select(Contact).where(Contact.telegram_user_id == telegram_user_id))
    token = token.strip()
    if not TOKEN_RE.match(token):
        raise Refused(Reason.INVITE_UNKNOWN)
    digest = token_hash(token)
    invite = await session.scalar(select(Invite).where(Invite.token_hash == digest).with_for_update(of=Invite))
    if invite is None or not hmac.compare_digest(invite.token_hash, digest):
        raise Refused(Reason.INVITE_UNKNOWN)
    if existing is not None:
        if invite.contact_id == existing.id:
            return Joined(actor_from(existing, default_tz), already=True)
        raise Refused(Reason.ALREADY_REGISTERED, label=actor_from(existing, default_tz).label, role=existing.role)
    if invite.used_at is not None:
        raise Refused(Reason.INVITE_USED)
    if invite.expires_at <= now:
        raise Refused(Reason.INVITE_EXPIRED, at=invite.expires_at)
    contact = invite.contact
    invite.used_at = now
    invite.used_by = telegram_user_id
    contact.telegram_user_id = telegram_user_id
    contact.chat_id = chat_id
    contact.username = username
    contact.joined_at = now
    contact.unreachable_at = None
    if not contact.name:
        contact.name = full_name
    await session.flush()
    return Joined(actor_from(contact, default_tz))


async def get_meta(session: AsyncSession, key: str) -> str | None:
    row = await session.get(Meta, key)
    return row.value if row else None


async def set_meta(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value
    await session.flush()


# --- a contact's own settings --------------------------------------------------------------------------


async def set_timezone(session: AsyncSession, actor: Actor, name: str | None) -> str:
    contact = await session.get(Contact, actor.contact_id)
    if contact is None:
        raise NotFound(Reason.NOT_REGISTERED)
    zone = known_zone(name) if name else None
    if name and zone is None:
        raise InvalidInput(Reason.BAD_TIMEZONE, tz=name)
    contact.timezone = zone
    await session.flush()
    return contact.timezone or (contact.state.timezone if contact.state else "UTC")
