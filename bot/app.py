"""The one place that builds the Telegram application."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from telegram import BotCommand, BotCommandScopeDefault, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import callbacks, texts
from bot.budget import SendBudget
from bot.config import Settings
from bot.context import BotData, ClausebotApplication, ClausebotContext
from bot.db import Database
from bot.models import Role
from bot.ordering import InOrderPerUser
from bot.sender import OutboxSender
from bot.services import registry, updates
from bot.services.timetable import timing_from
from bot.timer import Timer
from bot.transport import AiohttpRequest
from handlers import answers, chair, common, delegate, endorsement, focal, secretariat, versions
from handlers.common import Handler
from handlers.gate import Gate

log = logging.getLogger(__name__)

# Handler groups run in this order; within a group the first matching handler wins.
GROUP_GATE = -1  # who is this and may they do this? (raises ApplicationHandlerStop to refuse)
GROUP_MAIN = 0  # commands, buttons, uploads, then free text last

# What the builder's hooks are given (it is a ClausebotApplication, the builder's types do not say so).
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    settings: Settings,
    *,
    db: Database | None = None,
    token: str | None = None,
    clock: Callable[[], datetime] | None = None,
    budget: SendBudget | None = None,
) -> ClausebotApplication:
    token = token or settings.token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    db = db or Database(settings.database_url, echo=settings.sql_echo)
    bot_data = BotData(settings=settings, db=db, menus=menus(), budget=budget or SendBudget(settings.outbox_rate))
    if clock is not None:
        bot_data.clock = clock
    # Every context shares this one BotData (ContextTypes makes bot_data by calling what it is given).
    context_types = ContextTypes(context=ClausebotContext, bot_data=cast(type[BotData], lambda: bot_data))
    api = settings.telegram_api_url
    builder = (
        ApplicationBuilder()
        .application_class(ClausebotApplication)
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(context_types)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        # One send budget for everything the bot sends (bot/budget.py): replies to people
        # first, the outgoing queue in the slots left; shared by every process on PostgreSQL.
        .rate_limiter(bot_data.budget)
        # Several people at once, each person's updates in order (bot/ordering.py).
        .concurrent_updates(InOrderPerUser(16))
        .request(AiohttpRequest(connect_timeout=10, read_timeout=20, write_timeout=30, media_write_timeout=60))
        .get_updates_request(AiohttpRequest(connection_pool_size=1, connect_timeout=10, read_timeout=35))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    application = cast(ClausebotApplication, builder.build())
    register_handlers(application)
    return application


EVERYONE = frozenset(Role)
CHAIRS = frozenset({Role.CHAIR, Role.SECRETARIAT})
COMMENTERS = frozenset({Role.DELEGATE, Role.FOCAL})
SECRETARIAT = frozenset({Role.SECRETARIAT})
FOCALS = frozenset({Role.FOCAL})


@dataclass(frozen=True)
class Command:
    """One chat command: who may use it, and where it stands in whose menu (the menu's
    wording is in `texts.MENU`)."""

    name: str
    handler: Handler
    roles: frozenset[Role] | None  # None: anyone, registered or not
    menu: tuple[Role, ...] = ()


@dataclass(frozen=True)
class Button:
    data: type[callbacks.CallbackData] | tuple[type[callbacks.CallbackData], ...]
    handler: Handler
    roles: frozenset[Role] = EVERYONE

    @property
    def kinds(self) -> tuple[type[callbacks.CallbackData], ...]:
        return self.data if isinstance(self.data, tuple) else (self.data,)


D, C, S, F = Role.DELEGATE, Role.CHAIR, Role.SECRETARIAT, Role.FOCAL

# The one list of commands: it registers the handlers, feeds the gate and builds each role's
# menu (in this order).
COMMANDS: tuple[Command, ...] = (
    Command("start", common.start, None),
    Command("status", chair.status_command, CHAIRS, menu=(C, S)),
    Command("consolidate", secretariat.consolidate, SECRETARIAT, menu=(S,)),
    Command("open", secretariat.open_round, SECRETARIAT, menu=(S,)),
    Command("stage", secretariat.stage, CHAIRS, menu=(C, S)),
    Command("invite", secretariat.invite, SECRETARIAT, menu=(S,)),
    Command("consultations", secretariat.consultations, SECRETARIAT, menu=(S,)),
    Command("route", secretariat.route, SECRETARIAT, menu=(S,)),
    Command("extend", secretariat.extend, SECRETARIAT, menu=(S,)),
    Command("reminders", secretariat.reminder_plan, SECRETARIAT, menu=(S,)),
    Command("latecomments", secretariat.late_comments, SECRETARIAT, menu=(S,)),
    Command("clearance", secretariat.clearance_setting, SECRETARIAT, menu=(S,)),
    Command("summary", chair.summary, CHAIRS, menu=(C, S)),
    Command("close", secretariat.close_round, SECRETARIAT, menu=(S,)),
    Command("answer", answers.answer_command, SECRETARIAT, menu=(S,)),
    Command("publish", answers.publish, SECRETARIAT, menu=(S,)),
    Command("history", answers.history, SECRETARIAT, menu=(S,)),
    Command("review", focal.review_command, FOCALS, menu=(F,)),
    Command("sections", delegate.sections, EVERYONE, menu=(D, C, S, F)),
    Command("draft", delegate.draft, EVERYONE, menu=(D, C, F)),
    Command("mycomments", delegate.my_comments, EVERYONE, menu=(D, C, F)),
    Command("comment", delegate.comment_command, EVERYONE, menu=(D, F)),
    Command("clause", delegate.clause, EVERYONE, menu=(D, F)),
    Command("deadline", delegate.deadline, EVERYONE, menu=(D, C, S, F)),
    Command("cancel", delegate.cancel_comment, EVERYONE, menu=(D, F)),
    Command("timezone", delegate.timezone, EVERYONE, menu=(D, F)),
    Command("help", common.help_command, None, menu=(D, C, S, F)),
)

# The one list of buttons: the gate lets through only presses whose data matches one of
# them, for the roles named; each handler's service checks the object again.
BUTTONS: tuple[Button, ...] = (
    Button(callbacks.CommentOn, delegate.start_on_clause),
    Button(callbacks.PickClause, delegate.pick),
    Button(callbacks.ChooseKind, delegate.choose_kind),
    Button(callbacks.SkipProposed, delegate.skip_proposed),
    Button(callbacks.ChangePart, delegate.change_part),
    Button(callbacks.SendComment, delegate.send_comment),
    Button(callbacks.CancelComment, delegate.cancel_comment),
    Button(callbacks.ShowSection, delegate.show_section),
    Button(callbacks.NoComments, delegate.no_comments),
    Button(callbacks.UndoNoComments, delegate.undo_no_comments),
    Button(callbacks.EditComment, delegate.edit_comment),
    Button(callbacks.AskWithdraw, delegate.ask_withdraw),
    Button(callbacks.Withdraw, delegate.withdraw),
    Button(callbacks.KeepComment, delegate.keep),
    Button((callbacks.Mute, callbacks.Unmute), delegate.mute),
    Button(callbacks.Nudge, chair.nudge, CHAIRS),
    Button(
        (callbacks.UploadNew, callbacks.UploadReplace, callbacks.UploadVersion, callbacks.UploadCancel),
        secretariat.upload_choice,
        SECRETARIAT,
    ),
    Button(callbacks.VersionStore, versions.store_version, SECRETARIAT),
    Button(callbacks.AnswerWith, answers.choose, SECRETARIAT),
    Button(callbacks.AnswerNoObservation, answers.no_observation, SECRETARIAT),
    Button(callbacks.AnswerLater, answers.later, SECRETARIAT),
    Button(callbacks.AnswerStop, answers.stop, SECRETARIAT),
    Button(callbacks.ChangeAnswer, answers.change, SECRETARIAT),
    Button(callbacks.KeepObservation, answers.keep_observation, SECRETARIAT),
    Button(callbacks.CancelChange, answers.cancel_change, SECRETARIAT),
    Button((callbacks.MatrixApply, callbacks.MatrixCancel), answers.matrix_choice, SECRETARIAT),
    Button(callbacks.ClearComment, focal.clear, FOCALS),
    Button(callbacks.ClearGroup, focal.clear_group, FOCALS),
    Button(callbacks.ReturnComment, focal.ask_return, FOCALS),
    Button(callbacks.EditForState, focal.ask_edit, FOCALS),
    Button(callbacks.MergePick, focal.merge_pick, FOCALS),
    Button(callbacks.MergeWith, focal.merge, FOCALS),
    Button(callbacks.CancelReview, focal.cancel, FOCALS),
    Button(callbacks.Endorse, endorsement.press, COMMENTERS),
    Button(callbacks.EndorseCancel, endorsement.cancel, COMMENTERS),
    Button(callbacks.DraftOf, endorsement.draft_of),
    Button(callbacks.EndorsementRecordFile, endorsement.record_file, CHAIRS),
    Button(callbacks.OpenEndorsement, endorsement.open_anyway, SECRETARIAT),
    Button(callbacks.OpenEndorsementNot, endorsement.open_not, SECRETARIAT),
    Button(callbacks.ExportRecord, secretariat.export_record, SECRETARIAT),
    Button(callbacks.CompareVersions, secretariat.compare_versions, SECRETARIAT),
    Button(callbacks.FileAuthor, delegate.file_author, COMMENTERS),
    Button(callbacks.FileSend, delegate.file_send, COMMENTERS),
    Button((callbacks.FilePick, callbacks.FileToggle), delegate.file_pick, COMMENTERS),
    Button(callbacks.FileCancel, delegate.file_cancel, COMMENTERS),
)

# The Secretariat uploads drafts and matrices; delegates and focal points their commented copy.
UPLOADS = frozenset({Role.SECRETARIAT, Role.DELEGATE, Role.FOCAL})


def menus() -> dict[Role, list[tuple[str, str]]]:
    """Each role's command menu, from the command table."""
    return {role: [(c.name, texts.menu_entry(c.name, role)) for c in COMMANDS if role in c.menu] for role in Role}


def gate() -> Gate:
    return Gate(
        {c.name: c.roles for c in COMMANDS},
        [(kind.pattern(), b.roles) for b in BUTTONS for kind in b.kinds],
        uploads=UPLOADS,
    )


def register_handlers(app: ClausebotApplication) -> None:
    app.add_handler(TypeHandler(Update, gate()), group=GROUP_GATE)
    for command in COMMANDS:
        app.add_handler(CommandHandler(command.name, common.refusals(command.handler)), group=GROUP_MAIN)
    for button in BUTTONS:
        for kind in button.kinds:
            app.add_handler(
                CallbackQueryHandler(common.refusals(button.handler), pattern=kind.pattern()), group=GROUP_MAIN
            )
    app.add_handler(CallbackQueryHandler(common.unknown_button), group=GROUP_MAIN)
    app.add_handler(MessageHandler(filters.Document.ALL, common.refusals(secretariat.upload)), group=GROUP_MAIN)
    # Free text comes after commands, buttons and uploads: it continues a comment being
    # written or replies to a section.
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND, common.refusals(delegate.text_message)), group=GROUP_MAIN
    )
    # Last: photos, stickers, voice… get told what the bot reads.
    app.add_handler(MessageHandler(filters.ALL & ~filters.COMMAND, common.not_understood), group=GROUP_MAIN)
    app.add_error_handler(common.error_handler)


async def post_init(application: AnyApplication) -> None:
    bot_data: BotData = application.bot_data
    me = application.bot.bot
    bot_data.bot_username = me.username or ""
    async with bot_data.db.session() as session:
        await registry.set_meta(session, "bot_username", bot_data.bot_username)
        bot_data.ledger = updates.Ledger(await updates.newest(session))
    await application.bot.set_my_commands(
        [BotCommand(name, description) for name, description in bot_data.menus[Role.DELEGATE]],
        scope=BotCommandScopeDefault(),
    )
    # Every process sending for this bot takes its slots from one timeline (PostgreSQL).
    await bot_data.budget.share_through(bot_data.db, str(me.id))
    sender = OutboxSender(
        application.bot,
        bot_data.db,
        poll_seconds=bot_data.settings.outbox_poll_seconds,
        instance_timeout=bot_data.settings.instance_timeout_seconds,
        clock=bot_data.clock,
        budget=bot_data.budget,
    )
    bot_data.sender = sender
    await sender.start()
    # The timetable lives in the database; the timer is re-armed from it (and catches up).
    if application.job_queue is None:
        raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
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
    # Said once the updates are coming in: the job queue runs only after the updater has
    # started, so a stop signal from then on finds the bot fully started (PTB cannot stop
    # cleanly in the middle of starting).
    application.job_queue.run_once(_ready, 0, name="ready")


async def _ready(context: ClausebotContext) -> None:
    log.info("Clausebot @%s ready", context.bot_data.bot_username)


async def post_stop(application: AnyApplication) -> None:
    bot_data: BotData = application.bot_data
    if bot_data.timer is not None:
        bot_data.timer.stop()
    if bot_data.sender is not None:
        await bot_data.sender.stop()


async def post_shutdown(application: AnyApplication) -> None:
    bot_data: BotData = application.bot_data
    await bot_data.db.dispose()
