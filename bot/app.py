"""The one place that builds the Telegram application."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeDefault, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.context import BotData, ClausebotApplication, ClausebotContext
from bot.db import Database
from bot.sender import OutboxSender
from bot.services import registry, updates
from bot.services.reminders import timing_from
from bot.timer import Timer
from bot.transport import AiohttpRequest
from handlers import chair, common, delegate, secretariat

log = logging.getLogger(__name__)

# Handler groups run in this order; within a group the first matching handler wins.
GROUP_GATE = -1  # who is this and may they do this? (raises ApplicationHandlerStop to refuse)
GROUP_MAIN = 0  # commands, buttons, uploads, then free text last


def build_application(settings: Settings, *, db: Database | None = None, token: str | None = None, clock=None):
    token = token or settings.token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    db = db or Database(settings.database_url, echo=settings.sql_echo)
    bot_data = BotData(settings=settings, db=db)
    if clock is not None:
        bot_data.clock = clock
    context_types = ContextTypes(context=ClausebotContext, bot_data=lambda: bot_data)
    api = settings.telegram_api_url
    application = (
        ApplicationBuilder()
        .application_class(ClausebotApplication)
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(context_types)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        # Bulk sending is paced by the outgoing queue itself (bot/sender.py); answers to people
        # are not throttled, but a 429 "retry after" is honoured and retried.
        .rate_limiter(AIORateLimiter(overall_max_rate=0, max_retries=3))
        .concurrent_updates(8)
        .request(AiohttpRequest(connect_timeout=10, read_timeout=20, write_timeout=30, media_write_timeout=60))
        .get_updates_request(AiohttpRequest(connection_pool_size=1, connect_timeout=10, read_timeout=35))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    register_handlers(application)
    return application


def register_handlers(app) -> None:
    app.add_handler(TypeHandler(Update, common.gate), group=GROUP_GATE)

    commands = [
        ("start", common.start),
        ("help", common.help_command),
        ("sections", delegate.sections),
        ("clause", delegate.clause),
        ("comment", delegate.comment_command),
        ("mycomments", delegate.my_comments),
        ("deadline", delegate.deadline),
        ("cancel", delegate.cancel_comment),
        ("timezone", delegate.timezone),
        ("status", chair.status_command),
        ("summary", chair.summary),
        ("consultations", secretariat.consultations),
        ("invite", secretariat.invite),
        ("route", secretariat.route),
        ("open", secretariat.open_round),
        ("close", secretariat.close_round),
        ("extend", secretariat.extend),
        ("latecomments", secretariat.late_comments),
        ("reminders", secretariat.reminder_plan),
        ("consolidate", secretariat.consolidate),
    ]
    for name, callback in commands:
        app.add_handler(CommandHandler(name, common.refusals(callback)), group=GROUP_MAIN)

    buttons = [
        (r"^cm:\d+$", delegate.start_on_clause),
        (r"^pk:\d+$", delegate.pick),
        (r"^k:(ge|te|ed)$", delegate.choose_kind),
        (r"^skip$", delegate.skip_proposed),
        (r"^pv:(text|prop|kind)$", delegate.change_part),
        (r"^ok$", delegate.send_comment),
        (r"^x$", delegate.cancel_comment),
        (r"^sec:\d+$", delegate.show_section),
        (r"^nc:\d+$", delegate.no_comments),
        (r"^ncu:\d+$", delegate.undo_no_comments),
        (r"^me:\d+$", delegate.edit_comment),
        (r"^mw:\d+$", delegate.ask_withdraw),
        (r"^mwy:\d+$", delegate.withdraw),
        (r"^mwn:\d+$", delegate.keep),
        (r"^(mute|unmute):\d+$", delegate.mute),
        (r"^nudge:\d+:\d+$", chair.nudge),
        (r"^up:(n|x):\d+$|^up:r:\d+:\d+$", secretariat.upload_choice),
    ]
    for pattern, callback in buttons:
        app.add_handler(CallbackQueryHandler(common.refusals(callback), pattern=pattern), group=GROUP_MAIN)

    app.add_handler(MessageHandler(filters.Document.ALL, common.refusals(secretariat.upload)), group=GROUP_MAIN)
    # Free text comes last: it continues a comment being written or replies to a section.
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND, common.refusals(delegate.text_message)), group=GROUP_MAIN
    )
    app.add_handler(MessageHandler(filters.COMMAND, common.help_command), group=GROUP_MAIN)
    app.add_error_handler(common.error_handler)


async def post_init(application) -> None:
    bot_data: BotData = application.bot_data
    me = application.bot.bot
    bot_data.bot_username = me.username or ""
    async with bot_data.db.session() as session:
        await registry.set_meta(session, "bot_username", bot_data.bot_username)
        bot_data.ledger = updates.Ledger(await updates.newest(session))
    await application.bot.set_my_commands(
        [BotCommand(name, description) for name, description in common.MENU[common.Role.DELEGATE]],
        scope=BotCommandScopeDefault(),
    )
    sender = OutboxSender(
        application.bot,
        bot_data.db,
        poll_seconds=bot_data.settings.outbox_poll_seconds,
        per_second=bot_data.settings.outbox_rate,
        instance_timeout=bot_data.settings.instance_timeout_seconds,
        clock=bot_data.clock,
    )
    bot_data.sender = sender
    await sender.start()
    # The timetable lives in the database; the timer is re-armed from it (and catches up).
    timer = Timer(
        application.job_queue,
        bot_data.db,
        timing_from(bot_data.settings),
        on_queued=sender.wake,
        check_every=bot_data.settings.timetable_check_seconds,
        clock=bot_data.clock,
    )
    bot_data.timer = timer
    await timer.start()
    log.info("Clausebot @%s ready", bot_data.bot_username)


async def post_stop(application) -> None:
    bot_data: BotData = application.bot_data
    if bot_data.timer is not None:
        bot_data.timer.stop()
    if bot_data.sender is not None:
        await bot_data.sender.stop()


async def post_shutdown(application) -> None:
    bot_data: BotData = application.bot_data
    await bot_data.db.dispose()
