"""What every handler module shares: the access gate, replies, /start, /help, errors."""

from __future__ import annotations

import functools
import html
import logging

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.context import ClausebotContext, current_actor
from bot.models import Role
from bot.sender import markup
from bot.services import registry, rounds, updates
from bot.services.errors import ServiceError
from documents.draft import DraftError

log = logging.getLogger(__name__)

EVERYONE = frozenset(Role)
CHAIRS = frozenset({Role.CHAIR, Role.SECRETARIAT})
SECRETARIAT = frozenset({Role.SECRETARIAT})

# Which roles may use each command. Commands not listed are unknown.
COMMAND_ROLES: dict[str, frozenset[Role] | None] = {
    "start": None,
    "help": None,
    "sections": EVERYONE,
    "clause": EVERYONE,
    "comment": EVERYONE,
    "mycomments": EVERYONE,
    "deadline": EVERYONE,
    "cancel": EVERYONE,
    "timezone": EVERYONE,
    "status": CHAIRS,
    "summary": CHAIRS,
    "consultations": SECRETARIAT,
    "invite": SECRETARIAT,
    "route": SECRETARIAT,
    "open": SECRETARIAT,
    "close": SECRETARIAT,
    "extend": SECRETARIAT,
    "latecomments": SECRETARIAT,
    "reminders": SECRETARIAT,
    "consolidate": SECRETARIAT,
}

# Callback prefixes only the Secretariat may press.
SECRETARIAT_CALLBACKS = ("up:",)

MENU = {
    Role.DELEGATE: [
        ("sections", "Sections sent to you"),
        ("mycomments", "Your comments: edit or withdraw"),
        ("comment", "Comment on a clause: /comment 2.3.1 text"),
        ("clause", "Show a clause: /clause 2.3.1"),
        ("deadline", "Deadlines and time left"),
        ("cancel", "Drop the comment you are writing"),
        ("timezone", "Your time zone for dates and reminders"),
        ("help", "How to take part"),
    ],
    Role.CHAIR: [
        ("status", "Who has and has not responded"),
        ("summary", "Summary for your body"),
        ("sections", "Sections of the draft"),
        ("mycomments", "Your comments"),
        ("deadline", "Deadlines and time left"),
        ("help", "What you can do"),
    ],
    Role.SECRETARIAT: [
        ("status", "Responses per body and Member State"),
        ("consolidate", "Consolidated Word draft"),
        ("open", "Open a round and circulate"),
        ("invite", "Invite link: /invite ROLE BODY STATE"),
        ("consultations", "All consultations"),
        ("route", "Route sections to bodies"),
        ("extend", "Move a deadline"),
        ("reminders", "Reminder plan of a round"),
        ("latecomments", "Accept or refuse late comments"),
        ("summary", "Cross-body summary with chart"),
        ("close", "Close a round"),
        ("sections", "Read the draft"),
        ("deadline", "Deadlines"),
        ("help", "What you can do"),
    ],
}


def command_of(update: Update) -> str | None:
    message = update.effective_message
    if update.callback_query or message is None or not message.text or not message.text.startswith("/"):
        return None
    word = message.text[1:].split(maxsplit=1)[0] if len(message.text) > 1 else ""
    return word.split("@", 1)[0].lower()


async def reply(update: Update, text: str, buttons=None) -> None:
    """Answer in the chat the update came from, splitting long texts."""
    chat = update.effective_chat
    parts = texts.split_message(text)
    for index, part in enumerate(parts):
        await chat.send_message(part, reply_markup=markup(buttons) if index == len(parts) - 1 else None)


async def replace(update: Update, text: str, buttons=None) -> None:
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
        await query.answer(html.unescape(_strip_tags(text))[:190] if text else None, show_alert=alert)
    except BadRequest:
        pass  # too old to answer: the user has moved on


def _strip_tags(text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", text)


async def drop_buttons(update: Update) -> None:
    """Remove the keyboard from the message whose button was pressed, so it is not pressed twice."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        pass


def callback_arg(update: Update, index: int = 1) -> int:
    return int(update.callback_query.data.split(":")[index])


def refusals(handler):
    """Every handler runs inside this: a refusal from a service (a wrong clause, a closed
    round, a bad file…) undoes what the update had begun and is told to the user plainly."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ClausebotContext) -> None:
        try:
            await handler(update, context)
        except (ServiceError, DraftError) as exc:
            await context.session.rollback()
            message = str(exc) if isinstance(exc, ServiceError) else texts.draft_rejected(str(exc))
            if update.callback_query:
                await answer(update)
            await reply(update, message)

    return guarded


# --- the gate ---------------------------------------------------------------------------------------


async def gate(update: Update, context: ClausebotContext) -> None:
    """Runs first for every update: who is this, and may they do what they ask?"""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        raise ApplicationHandlerStop
    if chat.type != "private":
        if update.effective_message and update.effective_message.text and update.effective_message.text.startswith("/"):
            await chat.send_message(texts.private_only())
        raise ApplicationHandlerStop
    polling = context.application.updater is not None and context.application.updater.running
    if not context.bot_data.ledger.surely_new(update.update_id, polling=polling) and await updates.seen(
        context.session, update.update_id
    ):
        log.info("update %s was handled already; ignored", update.update_id)
        raise ApplicationHandlerStop
    actor = context.bot_data.actors.get(user.id)
    if actor is None:
        actor = await registry.actor_for_user(context.session, user.id, context.settings.timezone)
        if actor is not None:
            context.bot_data.actors.put(user.id, actor)
    current_actor.set(actor)
    command = command_of(update)
    if actor is None:
        if command in ("start", "help"):
            return
        if update.callback_query:
            await answer(update, texts.not_registered(), alert=True)
        elif update.effective_message:
            await reply(update, texts.not_registered())
        raise ApplicationHandlerStop
    if command is not None:
        if command not in COMMAND_ROLES:
            await reply(update, texts.unknown_command(command))
            raise ApplicationHandlerStop
        allowed = COMMAND_ROLES[command]
        if allowed is not None and actor.role not in allowed:
            refusal = texts.secretariat_only(command) if allowed == SECRETARIAT else texts.chairs_only(command)
            await reply(update, refusal)
            raise ApplicationHandlerStop
    message = update.message
    if message is not None and message.document is not None and not actor.is_secretariat:
        await reply(update, texts.upload_only_secretariat())
        raise ApplicationHandlerStop
    query = update.callback_query
    if query is not None and (query.data or "").startswith(SECRETARIAT_CALLBACKS) and not actor.is_secretariat:
        await answer(update, texts.secretariat_only("upload"), alert=True)
        raise ApplicationHandlerStop


# --- /start and /help --------------------------------------------------------------------------------


async def set_menu(context: ClausebotContext, chat_id: int, role: Role) -> None:
    commands = [BotCommand(name, description) for name, description in MENU[role]]
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
    user = update.effective_user
    try:
        joined = await registry.join(
            context.session,
            token,
            telegram_user_id=user.id,
            chat_id=update.effective_chat.id,
            username=user.username,
            full_name=user.full_name,
            now=context.now(),
            default_tz=context.settings.timezone,
        )
    except ServiceError as exc:
        await context.session.rollback()
        await reply(update, str(exc))
        return
    if joined.already:
        await reply(update, texts.already_joined(joined.actor.name))
        return
    current_actor.set(joined.actor)
    context.bot_data.actors.put(user.id, joined.actor)
    visible = await rounds.visible_consultations(context.session, joined.actor)
    queued = await rounds.circulate_on_join(context.session, joined.actor.contact_id, now=context.now())
    await context.commit()
    await set_menu(context, update.effective_chat.id, joined.actor.role)
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


async def unknown_text_from_secretariat(update: Update, context: ClausebotContext) -> None:
    await reply(update, texts.help_for(Role.SECRETARIAT))


async def error_handler(update: object, context: ClausebotContext) -> None:
    log.error("error while handling an update", exc_info=context.error)
    from bot.context import current_session

    session = current_session.get()
    if session is not None:
        await session.rollback()
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await update.effective_chat.send_message(texts.generic_error())
        except TelegramError:
            pass
