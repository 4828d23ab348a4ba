"""Typed access to what handlers share: settings, database, the current actor and session."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, ExtBot, JobQueue

from bot.budget import SendBudget
from bot.config import Settings
from bot.db import Database
from bot.models import Role, utcnow
from bot.services.registry import Actor, ActorCache
from bot.services.timetable import Timing, timing_from
from bot.services.updates import Ledger

if TYPE_CHECKING:
    from bot.sender import OutboxSender
    from bot.timer import Timer

# The session of the update being processed (one per update, see ClausebotApplication).
current_session: contextvars.ContextVar[AsyncSession | None] = contextvars.ContextVar("current_session", default=None)
current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("current_actor", default=None)
# The update being processed, until it is recorded as handled (in its first commit).
unmarked_update: contextvars.ContextVar[int | None] = contextvars.ContextVar("unmarked_update", default=None)


class DuplicateUpdate(ApplicationHandlerStop):
    """The update was handled meanwhile (a re-delivery handled twice at once): its effects
    are undone and nothing more is done with it."""


async def _commit(session: AsyncSession, now: datetime) -> None:
    """Commit, recording the update as handled in the same transaction. If it was recorded
    already, by another instance or an earlier run still finishing, undo instead."""
    from bot.services import updates

    update_id = unmarked_update.get()
    if update_id is not None:
        unmarked_update.set(None)
        if not await updates.mark(session, update_id, now=now):
            await session.rollback()
            raise DuplicateUpdate
    await session.commit()


@dataclass
class BotData:
    settings: Settings
    db: Database
    # Everything the bot sends goes through this one budget (python-telegram-bot's rate limiter).
    budget: SendBudget = field(default_factory=SendBudget)
    sender: OutboxSender | None = None
    timer: Timer | None = None
    bot_username: str = ""
    # What time it is for the bot: the real clock, or a controllable one (tests, the demo).
    clock: Callable[[], datetime] = utcnow
    # Who is who, kept for a minute so most updates need no lookup to pass the gate.
    actors: ActorCache = field(default_factory=ActorCache)
    # The newest update handled before this process started (see services.updates.Ledger).
    ledger: Ledger = field(default_factory=Ledger)
    # Each role's command menu (from the command table of bot.app).
    menus: dict[Role, list[tuple[str, str]]] = field(default_factory=dict)


class ClausebotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    def now(self) -> datetime:
        return self.bot_data.clock()

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def db(self) -> Database:
        return self.bot_data.db

    @property
    def session(self) -> AsyncSession:
        session = current_session.get()
        if session is None:
            raise RuntimeError("no database session for this update")
        return session

    @property
    def actor(self) -> Actor | None:
        return current_actor.get()

    @property
    def me(self) -> Actor:
        actor = current_actor.get()
        if actor is None:
            raise RuntimeError("handler reached without a registered actor")
        return actor

    async def commit(self) -> None:
        """Make this update's changes durable before telling the user they are."""
        await _commit(self.session, self.now())

    def wake_sender(self) -> None:
        if self.bot_data.sender is not None:
            self.bot_data.sender.wake()

    @property
    def timing(self) -> Timing:
        return timing_from(self.settings)

    async def rearm_timer(self) -> None:
        """The timetable changed: let the timer look again."""
        if self.bot_data.timer is not None:
            await self.bot_data.timer.rearm()


class ClausebotApplication(
    Application[ExtBot[None], "ClausebotContext", dict[Any, Any], dict[Any, Any], BotData, JobQueue["ClausebotContext"]]
):
    """Processes each update inside its own database session, committed at the end."""

    async def process_update(self, update: object) -> None:
        bot_data: BotData = self.bot_data
        async with bot_data.db.sessionmaker() as session:
            session_token = current_session.set(session)
            actor_token = current_actor.set(None)
            update_token = unmarked_update.set(getattr(update, "update_id", None))
            try:
                await super().process_update(update)
                if unmarked_update.get() is not None and current_actor.get() is not None:
                    try:
                        await _commit(session, bot_data.clock())
                    except DuplicateUpdate:
                        pass
                else:
                    await session.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                current_session.reset(session_token)
                current_actor.reset(actor_token)
                unmarked_update.reset(update_token)
