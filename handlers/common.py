"""What every handler module shares: replies, refusals, /start, /help, errors."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from telegram import BotCommand, BotCommandScopeChat, CallbackQuery, Chat, Message, Update, User
from telegram.error import BadRequest, TelegramError

from bot import texts
from bot.callbacks import BadCallback, CallbackData
from bot.context import ClausebotContext, current_actor
from bot.models import Role
from bot.rendering import RENDERER
from bot.sender import markup
from bot.services import registry, rounds
from bot.services.errors import ServiceError
from bot.services.render import Rows
from documents.draft import DraftError

log = logging.getLogger(__name__)

Handler = Callable[[Update, ClausebotContext], Coroutine[Any, Any, None]]
Data = TypeVar("Data", bound=CallbackData)


# The gate lets through only updates with a sender and a private chat; these say so to the
# type checker, and fail loudly if that ever stops being true.


def chat_of(update: Update) -> Chat:
    if update.effective_chat is None:
        raise RuntimeError(f"update {update.update_id} has no chat")
    return update.effective_chat


def user_of(update: Update) -> User:
    if update.effective_user is None:
        raise RuntimeError(f"update {update.update_id} has no sender")
    return update.effective_user


def message_of(update: Update) -> Message:
    if update.effective_message is None:
        raise RuntimeError(f"update {update.update_id} has no message")
    return update.effective_message


def query_of(update: Update) -> CallbackQuery:
    if update.callback_query is None:
        raise RuntimeError(f"update {update.update_id} is not a button press")
    return update.callback_query


async def reply(update: Update, text: str, buttons: Rows | None = None) -> None:
    """Answer in the chat the update came from, splitting long texts."""
    chat = chat_of(update)
    parts = texts.split_message(text)
    for index, part in enumerate(parts):
        await chat.send_message(part, reply_markup=markup(buttons) if index == len(parts) - 1 else None)


async def replace(update: Update, text: str, buttons: Rows | None = None) -> None:
    """Rewrite the message whose button was pressed (a new message if that fails)."""
    query = update.callback_query
    if query is not None and query.message is not None and len(text) <= texts.MESSAGE_LIMIT - 96:
        try:
            await query.edit_message_text(text, reply_markup=markup(buttons))
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
    await reply(update, text, buttons)


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Acknowledge a button press (the spinner on the user's phone stops)."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(texts.plain(text)[:190] if text else None, show_alert=alert)
    except BadRequest:
        pass  # too old to answer: the user has moved on


async def drop_buttons(update: Update) -> None:
    """Remove the keyboard from the message whose button was pressed, so it is not pressed twice."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        pass


def pressed(update: Update, kind: type[Data]) -> Data:
    """The typed data of the button that was pressed (BadCallback when it is not one of ours)."""
    query = update.callback_query
    return kind.unpack(query.data if query is not None else None)


def refusals(handler: Handler) -> Handler:
    """Every handler runs inside this: a refusal from a service (a wrong clause, a closed
    round, a bad file, a forged button…) undoes what the update had begun and is told to the
    user plainly."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ClausebotContext) -> None:
        try:
            await handler(update, context)
        except (ServiceError, DraftError, BadCallback) as exc:
            await context.session.rollback()
            if isinstance(exc, ServiceError):
                message = texts.refusal(exc)
            elif isinstance(exc, DraftError):
                message = texts.draft_rejected(texts.draft_problem(exc))
            else:
                message = texts.button_unknown()
            if update.callback_query:
                # The pop-up on the phone says it at once; the chat keeps it.
                await answer(update, message)
            await reply(update, message)

    return guarded


# --- /start and /help --------------------------------------------------------------------------------


async def set_menu(context: ClausebotContext, chat_id: int, role: Role) -> None:
    commands = [BotCommand(name, description) for name, description in context.bot_data.menus.get(role, [])]
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError:
        log.warning("could not set the command menu for chat %s", chat_id)


async def start(update: Update, context: ClausebotContext) -> None:
    actor = context.actor
    token = context.args[0] if context.args else None
    if token is None:
        if actor is None:
            await reply(update, texts.welcome_unknown())
        else:
            await reply(update, texts.already_joined(actor.name))
        return
    user = user_of(update)
    joined = await registry.join(
        context.session,
        token,
        telegram_user_id=user.id,
        chat_id=chat_of(update).id,
        username=user.username,
        full_name=user.full_name,
        now=context.now(),
        default_tz=context.settings.timezone,
    )
    if joined.already:
        await reply(update, texts.already_joined(joined.actor.name))
        return
    current_actor.set(joined.actor)
    context.bot_data.actors.put(user.id, joined.actor)
    visible = await rounds.visible_consultations(context.session, joined.actor)
    queued = await rounds.circulate_on_join(
        context.session, joined.actor.contact_id, render=RENDERER, now=context.now()
    )
    await context.commit()
    await set_menu(context, chat_of(update).id, joined.actor.role)
    await reply(
        update,
        texts.joined(
            joined.actor.name,
            joined.actor.role,
            joined.actor.label,
            [c.title for c in visible if c.status == "open"],
        ),
    )
    if queued:
        context.wake_sender()


async def help_command(update: Update, context: ClausebotContext) -> None:
    actor = context.actor
    await reply(update, texts.help_for(actor.role if actor else None))


async def unknown_button(update: Update, context: ClausebotContext) -> None:
    """A press whose data matches no button of ours (the gate lets only known ones through;
    this is the last resort)."""
    await answer(update, texts.button_unknown(), alert=True)


async def not_understood(update: Update, context: ClausebotContext) -> None:
    """A photo, a sticker, a voice message, a location…: say what the bot reads."""
    actor = context.actor
    await reply(update, texts.only_text(actor.is_secretariat if actor else False))


async def error_handler(update: object, context: ClausebotContext) -> None:
    log.error("error while handling an update", exc_info=context.error)
    from bot.context import current_session

    session = current_session.get()
    if session is not None:
        await session.rollback()
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(texts.plain(texts.generic_error())[:190], show_alert=True)
            else:
                await update.effective_chat.send_message(texts.generic_error())
        except TelegramError:
            pass
