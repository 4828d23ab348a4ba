"""Clearance by the national focal points: the national deadline, the focal points'
reminders, a comment cleared late, and what counts for the Secretariat in each mode."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.models import Outbox
from bot.rendering import RENDERER
from bot.services import (
    clearance,
    comments,
    consolidation,
    outbox,
    registry,
    reminders,
    review,
    rounds,
    status,
    timetable,
)
from bot.services.registry import CONSOLE
from tests.factories import at, small_draft


async def _comment(session, actor, consultation, ref, text, now=None):
    now = now or OPEN + timedelta(days=1)
    clause = await comments.find_clause(session, consultation, actor, ref)
    await comments.start_comment(session, actor, clause.id, now=now)
    await comments.set_kind(session, actor, "te")
    await comments.set_text(session, actor, text, limit=8000)
    await comments.set_proposed(session, actor, None, limit=8000)
    return await comments.submit(session, actor, now=now)


OPEN = at("2026-11-02T02:00:00")
TIMING = timetable.Timing(
    schedule="14d", quiet_hours=None, digest_every=None, milestones=(), national_lead=timedelta(days=7)
)


async def _join(session, role, body, state, user):
    issued = await registry.issue_invite(session, CONSOLE, role=role, body=body, state=state, name=f"U{user}", now=OPEN)
    joined = await registry.join(
        session, issued.token, telegram_user_id=user, chat_id=user, username=None, full_name="U", now=OPEN
    )
    return joined.actor


async def test_national_deadline_reminders_and_a_comment_cleared_late(session):
    await registry.add_body(session, "SOMHD")
    await registry.add_body(session, "SLOM")
    await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
    delegate = await _join(session, "delegate", "SOMHD", "Thailand", 1)
    focal = await _join(session, "focal", None, "Thailand", 2)
    await _join(session, "delegate", "SLOM", "Thailand", 3)  # has not responded: reminded
    outline = await rounds.import_draft(session, small_draft(), "plan.docx")
    consultation = await rounds.resolve_consultation(session, outline.consultation)
    deadline = OPEN + timedelta(days=30)
    assert clearance.national_deadline(consultation, TIMING.national_lead) is None  # no deadline yet, and off
    await clearance.set_mode(session, CONSOLE, consultation, "required")
    await rounds.open_round(session, CONSOLE, consultation, deadline, render=RENDERER, now=OPEN, timing=TIMING)
    assert clearance.national_deadline(consultation, TIMING.national_lead) == deadline - timedelta(days=7)
    assert clearance.national_deadline(consultation, timedelta(0)) is None
    first = await _comment(session, delegate, consultation, "1.1", "Say which period.")
    await _comment(session, delegate, consultation, "2.2", "Every three years.")

    # The reminder 14 days before: the delegate who has not responded is given both dates,
    # the focal point the comments waiting for them.
    fired = await reminders.fire_due(session, TIMING, now=deadline - timedelta(days=14), render=RENDERER)
    assert fired.reminders == 2
    sent = {
        row.chat_id: row.payload["text"]
        for row in await session.scalars(select(Outbox).where(Outbox.kind == "reminder"))
    }
    assert "Your national deadline is <b>Wed 25 Nov 2026" in sent[3] and "(7 days left)" in sent[3]
    assert "2 comments of your state wait for your clearance" in sent[2]
    assert "Your delegates' national deadline is Wed 25 Nov 2026" in sent[2]

    # Required: nothing counts for the Secretariat until it is cleared; cleared after the
    # regional deadline, it is marked late in the documents.
    assert (await status.status_report(session, consultation)).total_comments == 0
    done = await review.clear(session, focal, first.comment_id, now=deadline + timedelta(hours=1))
    assert done.late
    report = await status.status_report(session, consultation)
    health = next(b for b in report.bodies if b.code == "SOMHD").states[0]
    assert report.total_comments == 1 and (health.cleared, health.waiting) == (1, 1)
    # The summaries give each state's comments waiting, returned and cleared.
    from zoneinfo import ZoneInfo

    whole = await reminders.build_summary(
        session, consultation, body_id=None, now=deadline, tz=ZoneInfo("UTC"), render=RENDERER
    )
    assert (
        "🛂 Clearance required, per Member State (waiting · returned · cleared):\n• Thailand: 1 · 0 · 1" in whole.text
    )
    assert "• 1 Purpose: 1" in whole.text and "• 2 Actions: 0" in whole.text  # what counts, per section
    chair = await reminders.build_summary(
        session, consultation, body_id=delegate.body_id, now=deadline, tz=ZoneInfo("UTC"), render=RENDERER
    )
    assert "✅ Thailand — 1 comment(s); 1 cleared, 1 waiting for clearance" in chair.text
    entries = (await consolidation.gather(session, CONSOLE, consultation, now=deadline)).entries
    assert [(e.clause_ref, e.clearance_line) for e in entries] == [
        ("1.1", "cleared by the Thailand focal point after the deadline")
    ]
    assert await outbox.pending_count(session) >= 2


async def test_the_focal_points_digest_comes_at_most_once_a_day(session):
    from bot.models import OutboxStatus

    await registry.add_body(session, "SOMHD")
    await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
    await registry.add_state(session, "Viet Nam", "VN", "Asia/Ho_Chi_Minh")
    delegate = await _join(session, "delegate", "SOMHD", "Thailand", 1)
    await _join(session, "focal", None, "Thailand", 2)
    await _join(session, "focal", None, "Viet Nam", 3)
    outline = await rounds.import_draft(session, small_draft(), "plan.docx")
    consultation = await rounds.resolve_consultation(session, outline.consultation)
    await rounds.open_round(session, CONSOLE, consultation, OPEN + timedelta(days=30), render=RENDERER, now=OPEN)

    async def digests():
        return list(await session.scalars(select(Outbox).where(Outbox.kind == "focal_digest").order_by(Outbox.id)))

    # Clearance off: no digest.
    first = await _comment(session, delegate, consultation, "1.1", "Say which period.", now=OPEN)
    assert await review.queue_digests(session, first.comment_id, render=RENDERER, timing=TIMING, now=OPEN) == 0
    await clearance.set_mode(session, CONSOLE, consultation, "advisory")
    assert await review.queue_digests(session, first.comment_id, render=RENDERER, timing=TIMING, now=OPEN) == 1
    [sent] = await digests()
    assert sent.chat_id == 2 and sent.next_attempt_at == OPEN
    assert (
        "1 new comment of your state to clear" in sent.payload["text"]
        and "• 1 Purpose · SOMHD: 1" in sent.payload["text"]
    )
    for item in await outbox.claim(session, limit=100, now=OPEN):
        await outbox.mark_sent(session, item, message_id=item.id, now=OPEN)

    # Two more that day: one digest, a day after the last, counting both (not the first).
    for hours, ref in ((2, "2.2"), (3, "3.1")):
        later = await _comment(session, delegate, consultation, ref, f"On {ref}.", now=OPEN + timedelta(hours=hours))
        await review.queue_digests(
            session, later.comment_id, render=RENDERER, timing=TIMING, now=OPEN + timedelta(hours=hours)
        )
    rows = await digests()
    assert [r.status for r in rows] == [OutboxStatus.SENT, OutboxStatus.SUPERSEDED, OutboxStatus.QUEUED]
    assert rows[2].next_attempt_at == OPEN + timedelta(days=1)
    assert "2 new comments" in rows[2].payload["text"] and "1 Purpose" not in rows[2].payload["text"]


async def test_the_summary_chart_shows_comments_waiting_for_the_focal_point(session):
    from documents.chart import WAITING_COLOUR
    from tests.test_chart_and_calendar import _has_colour

    await registry.add_body(session, "SOMHD")
    await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
    delegate = await _join(session, "delegate", "SOMHD", "Thailand", 1)
    await _join(session, "focal", None, "Thailand", 2)
    outline = await rounds.import_draft(session, small_draft(), "plan.docx")
    consultation = await rounds.resolve_consultation(session, outline.consultation)
    await clearance.set_mode(session, CONSOLE, consultation, "required")
    await rounds.open_round(
        session, CONSOLE, consultation, OPEN + timedelta(days=30), render=RENDERER, now=OPEN, timing=TIMING
    )
    await _comment(session, delegate, consultation, "1.1", "Say which period.")
    summary = await reminders.build_summary(
        session, consultation, body_id=None, now=OPEN + timedelta(days=1), tz=ZoneInfo("UTC"), render=RENDERER
    )
    assert _has_colour(summary.chart, WAITING_COLOUR)  # drafted, not yet cleared: told apart
