"""Nobody does what their role does not allow, and every bad input gets an answer: tried
through the real application, over HTTP, as an attacker and as clumsy users would."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from bot.models import Clause, Comment, CommentDraft, Consultation, Contact, ReminderMute, RoundStatus, Route, Section
from tests.conversations.test_round import import_small_draft, wait_sections, with_clause


def _raw_message(text: str, user_id: int, chat_id: int | None = None, **extra) -> dict:
    """A message as Telegram would deliver it, from anyone, to any chat."""
    sender = {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"}
    data = {
        "message_id": 10_000 + int(time.monotonic_ns() % 1_000_000),
        "from": sender,
        "chat": {"id": chat_id if chat_id is not None else user_id, "type": "private", "first_name": f"U{user_id}"},
        "date": int(time.time()),
        **extra,
    }
    if text:
        data["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            data["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return data


def forge_press(user, message, data: str) -> str:
    """Press a button the bot never sent: hand-made callback data on one of its messages."""
    record = user._records[message.message_id]
    query_id = user._server._new_callback_query(user)
    user._pressed.append(query_id)
    user._server._push_update(
        "callback_query",
        {
            "id": query_id,
            "from": user.user_dict(),
            "message": record.data,
            "chat_instance": user._chat_instance,
            "data": data,
        },
    )
    return query_id


async def _handled(env, update_count_before: int, timeout: float = 10.0) -> None:
    """Wait until the bot has fetched every update pushed so far and answered what it would."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if not env.server._updates and len(env.server.calls) > update_count_before:
            await asyncio.sleep(0.5)
            return
        await asyncio.sleep(0.05)


async def _status(env, name: str) -> tuple[str, object]:
    async with env.db.session() as session:
        consultation = await session.scalar(select(Consultation).where(Consultation.name == name))
        return consultation.status, consultation.deadline


async def test_the_gate_stops_a_stranger_even_when_the_refusal_cannot_be_delivered(env):
    """A stranger's refusal fails to send (their chat does not exist for Telegram): the
    update is still stopped, and the round is neither opened nor moved."""
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer, "Secret")
        await officer.send("/open secret 30")
        await officer.wait_for("is open until")
        await import_small_draft(officer, "Unreleased")
        before_open = await _status(env, "secret")
        calls = len(env.server.calls)
        for text in ("/extend secret 5", "/open unreleased 30", "/close secret", "/latecomments secret on"):
            env.server._push_update("message", _raw_message(text, 666))
        await _handled(env, calls)
        failed = [c for c in env.server.calls[calls:] if c.method == "sendMessage"]
        assert failed and all(c.status != 200 for c in failed), "the refusals were attempted and failed"
        assert await _status(env, "secret") == before_open
        assert (await _status(env, "unreleased"))[0] == RoundStatus.DRAFT
        async with env.db.session() as session:
            secret = await session.scalar(select(Consultation).where(Consultation.name == "secret"))
            assert not secret.allow_late


async def test_a_private_chat_that_is_not_the_senders_own_is_ignored(env):
    """An update claiming the Secretariat's user id in someone else's chat (only a forger
    can send that) is dropped: no invite link reaches the other chat."""
    async with env.running():
        await env.join(100, "secretariat")
        stranger = env.server.user(555, "Eve")
        await stranger.send("/help")
        await stranger.wait_for("invite link")
        calls = len(env.server.calls)
        env.server._push_update("message", _raw_message("/invite secretariat", 100, chat_id=555))
        await _handled(env, calls)
        assert not [c for c in env.server.calls[calls:] if c.method == "sendMessage"]
        assert all("start=" not in m.content for m in stranger.messages())
        async with env.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Contact)) == 1


async def test_forged_buttons_cannot_reach_what_the_delegate_may_not_see(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer, "Plan of Action")
        await import_small_draft(officer, "Unreleased")
        await officer.send("/route plan-of-action 1 SLOM")
        await officer.wait_for("Routing of plan-of-action")
        await officer.send("/route plan-of-action 2,3 SOMHD")
        await officer.wait_for("Routing of plan-of-action")
        labour = await env.join(201, "delegate", "SLOM", "Thailand")
        await officer.send("/open plan-of-action 30")
        await officer.wait_for("is open until")
        parts = await wait_sections(labour, 1)
        async with env.db.session() as session:
            plan = await session.scalar(select(Consultation).where(Consultation.name == "plan-of-action"))
            hidden = await session.scalar(select(Clause).where(Clause.consultation_id == plan.id, Clause.ref == "2.2"))
            unreleased = await session.scalar(select(Consultation).where(Consultation.name == "unreleased"))
            draft_section = await session.scalar(select(Section).where(Section.consultation_id == unreleased.id))
            draft_clause = await session.scalar(select(Clause).where(Clause.consultation_id == unreleased.id))
            assert await session.scalar(select(func.count()).select_from(Route)) == 3
        section = parts[0]

        # Comment on a clause of a section routed to another body.
        forge_press(labour, section, f"cm:{hidden.id}")
        assert "not among the sections sent" in (await labour.wait_for("2.2")).content
        # Comment on a clause of a draft never circulated: it does not exist for a delegate.
        forge_press(labour, section, f"cm:{draft_clause.id}")
        assert "no longer" in (await labour.wait_for("no longer")).content
        # Read a section of a draft never circulated.
        forge_press(labour, section, f"sec:{draft_section.id}")
        await labour.wait_for("no longer")
        assert all("Unreleased" not in m.content for m in labour.messages())
        # Say "no comments" for a section routed to another body.
        hidden_section = hidden.section_id
        forge_press(labour, section, f"nc:{hidden_section}")
        await labour.wait_for("not among the sections sent")

        # Begin a comment by reply on a several-clause message, then pick a forged clause.
        await labour.send("Two clauses at once", reply_to=section)
        picker = await labour.wait_for("Which one")
        forge_press(labour, picker, f"pk:{hidden.id}")
        await labour.wait_for("not among the sections sent")
        async with env.db.session() as session:
            draft = await session.scalar(select(CommentDraft))
            assert draft is not None and draft.clause_id != hidden.id

        # Mute reminders of a consultation the delegate does not take part in.
        forge_press(labour, section, f"mute:{unreleased.id}")
        await labour.wait_for("There is no consultation")
        async with env.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(ReminderMute)) == 0
            assert await session.scalar(select(func.count()).select_from(Comment)) == 0

        # Buttons that are not ours at all: each press is answered, nothing else happens.
        for data in ("k:zz", "cm:" + "9" * 25, "\x00\xffgarbage", "up:n:1"):
            query = forge_press(labour, section, data)
            answer = await labour.wait_callback_answer(query)
            assert answer.get("text"), data


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer, "Main")
        delegate = await env.join(200, "delegate", "SOMHD", "Thailand")
        await officer.send("/open main 30")
        await officer.wait_for("is open until")
        await wait_sections(delegate, 3)
        status, deadline = await _status(env, "main")
        await delegate.drain(quiet=0.5)
        await officer.drain(quiet=0.1)

        await delegate.send("/timezone Asia")
        assert "not a time zone" in (await delegate.next_message()).content
        await delegate.send("/timezone " + "Europe/" * 40)
        reply = await delegate.next_message()
        assert "not a time zone" in reply.content and len(reply.content) < 300
        async with env.db.session() as session:
            assert (await session.scalar(select(Contact).where(Contact.telegram_user_id == 200))).timezone is None

        for text in ("/extend main 99999999999", "/extend main -5", "/open main -5"):
            await officer.send(text)
            assert "number of days" in (await officer.next_message()).content, text
        await officer.send("/reminders main 99999999999d")
        assert "duration" in (await officer.next_message()).content
        assert await _status(env, "main") == (status, deadline)

        long_ref = "9." * 2000
        await delegate.send(f"/clause {long_ref}")
        reply = await delegate.next_message()
        assert "There is no clause" in reply.content and len(reply.content) < 600
        await delegate.send("/" + "x" * 30)
        reply = await delegate.next_message()
        assert "I don't know" in reply.content and len(reply.content) < 300
        await delegate.send("/" + "x" * 4000)
        assert len((await delegate.next_message()).content) < 600

        # The wrong role is refused by name, whoever presses or types.
        await delegate.send("/open main 5")
        assert "Secretariat only" in (await delegate.next_message()).content
        assert await _status(env, "main") == (status, deadline)


async def test_strangers_pictures_and_stickers_all_get_an_answer(env):
    async with env.running():
        stranger = env.server.user(700, "Stranger")
        await stranger.send("/ help")
        assert "not registered" in (await stranger.next_message()).content
        await stranger.send_photo(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
        assert "not registered" in (await stranger.next_message()).content
        delegate = await env.join(200, "delegate", "SOMHD", "Thailand")
        await delegate.send_photo(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
        assert "only read text" in (await delegate.next_message()).content
        calls = len(env.server.calls)
        env.server._push_update(
            "message",
            _raw_message(
                "",
                200,
                sticker={
                    "file_id": "x",
                    "file_unique_id": "x",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                },
            ),
        )
        reply = await delegate.next_message()
        assert "only read text" in reply.content
        assert len(env.server.calls) > calls


async def test_send_pressed_twice_records_one_comment_and_answers_both(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        delegate = await env.join(200, "delegate", "SOMHD", "Thailand")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        parts = await wait_sections(delegate, 3)
        await delegate.press(with_clause(parts, "2.2"), "💬 2.2")
        # Typed straight after the tap, before the bot has answered it: still taken in order.
        await delegate.press(await delegate.wait_for("type"), "Technical")
        await delegate.send("Every two years is too rare.")
        await delegate.press(await delegate.wait_for("new wording"), "Skip")
        preview = await delegate.wait_for("check your comment")
        first = await delegate.press(preview, "✅ Send")
        second = forge_press(delegate, preview, "ok")
        assert (await delegate.wait_callback_answer(first))["text"] == "Sent"
        assert (await delegate.wait_callback_answer(second))["text"] == "Sent"
        await delegate.drain(quiet=0.5)
        assert not [m for m in delegate.messages() if "not writing a comment" in m.content]
        async with env.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Comment)) == 1


async def test_a_wrong_reference_is_looked_up_in_every_round_the_delegate_is_in(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer, "Framework")
        await import_small_draft(officer, "Plan of Action")
        delegate = await env.join(200, "delegate", "SOMHD", "Thailand")
        await officer.send("/open framework 20")
        await officer.wait_for("is open until")
        await officer.send("/open plan-of-action 30")
        await officer.wait_for("is open until")
        await wait_sections(delegate, 6)
        await delegate.send("/comment 2.9 Missing clause")
        reply = await delegate.wait_for("There is no clause")
        assert "framework" in reply.content and "plan-of-action" in reply.content
        assert "2.1" in reply.content or "2.2" in reply.content
