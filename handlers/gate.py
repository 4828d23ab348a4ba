"""The access gate: runs before every handler and decides who may go on.

It fails closed. A refusal is decided first and the update is stopped whatever happens next:
telling the person why is attempted afterwards, and if that fails (they blocked the bot, a
429, the network) the update is still stopped. Anything unexpected while deciding (a database
error) refuses the update too. The services check roles again themselves.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from telegram import MessageEntity, Update
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.context import ClausebotContext, current_actor
from bot.models import Role
from bot.services import registry, updates

log = logging.getLogger(__name__)

Roles = frozenset[Role]


@dataclass(frozen=True)
class Refusal:
    """What the person is told when the gate stops their update (nothing, when text is None)."""

    text: str | None = None
    alert: bool = False


SILENT = Refusal()


def command_of(update: Update) -> str | None:
    """The command a message starts with, as Telegram marks it (a bot_command entity at the
    very start): "/help@clausebot x" → "help"; "/ help" is no command."""
    message = update.message or update.edited_message
    if update.callback_query or message is None or not message.text:
        return None
    entity = next((e for e in message.entities if e.offset == 0 and e.type == MessageEntity.BOT_COMMAND), None)
    if entity is None:
        return None
    word = message.text[1 : entity.length]
    return word.split("@", 1)[0].lower()


class Gate:
    """Built by the composition root from the command and button tables."""

    def __init__(
        self,
        commands: Mapping[str, Roles | None],
        buttons: Sequence[tuple[re.Pattern[str], Roles]],
        *,
        uploads: Roles,
    ) -> None:
        self.commands = dict(commands)
        self.buttons = list(buttons)
        self.uploads = uploads

    async def __call__(self, update: object, context: ClausebotContext) -> None:
        if not isinstance(update, Update):
            raise ApplicationHandlerStop
        try:
            refusal = await self.check(update, context)
        except ApplicationHandlerStop:
            raise
        except Exception:
            log.exception("the access gate could not decide on update %s; it is refused", update.update_id)
            refusal = Refusal(texts.generic_error(), alert=True)
        if refusal is None:
            return
        try:
            await _tell(update, refusal)
        except Exception as exc:  # the refusal could not be delivered; the update stays stopped
            log.warning("could not deliver a refusal for update %s: %s", update.update_id, exc)
        raise ApplicationHandlerStop

    async def check(self, update: Update, context: ClausebotContext) -> Refusal | None:
        """None lets the update through; a Refusal stops it."""
        user = update.effective_user
        chat = update.effective_chat
        if user is None or chat is None or user.is_bot:
            return SILENT
        if chat.type != "private":
            return Refusal(texts.private_only()) if command_of(update) else SILENT
        if chat.id != user.id:
            # A private chat is always the user's own: anything else was not sent by Telegram.
            log.warning("update %s: private chat %s is not user %s's own; ignored", update.update_id, chat.id, user.id)
            return SILENT
        polling = context.application.updater is not None and context.application.updater.running
        if not context.bot_data.ledger.surely_new(update.update_id, polling=polling) and await updates.seen(
            context.session, update.update_id
        ):
            log.info("update %s was handled already; ignored", update.update_id)
            return SILENT
        actor = context.bot_data.actors.get(user.id)
        if actor is None:
            actor = await registry.actor_for_user(context.session, user.id, context.settings.timezone)
            if actor is not None:
                context.bot_data.actors.put(user.id, actor)
        current_actor.set(actor)
        command = command_of(update)
        query = update.callback_query
        if actor is None:
            if command in ("start", "help"):
                return None
            return Refusal(texts.not_registered(), alert=query is not None)
        if command is not None:
            if command not in self.commands:
                return Refusal(texts.unknown_command(command))
            allowed = self.commands[command]
            if allowed is not None and actor.role not in allowed:
                return Refusal(texts.command_not_for_role(command, allowed))
        message = update.message
        if message is not None and message.document is not None and actor.role not in self.uploads:
            return Refusal(texts.upload_only_secretariat())
        if query is not None:
            data = query.data or ""
            roles = next((roles for pattern, roles in self.buttons if pattern.match(data)), None)
            if roles is None:
                return Refusal(texts.button_unknown(), alert=True)
            if actor.role not in roles:
                return Refusal(texts.button_not_for_role(), alert=True)
        return None


async def _tell(update: Update, refusal: Refusal) -> None:
    if refusal.text is None:
        return
    query = update.callback_query
    if query is not None:
        await query.answer(texts.plain(refusal.text)[:190], show_alert=refusal.alert)
    elif update.effective_chat is not None:
        await update.effective_chat.send_message(refusal.text)
