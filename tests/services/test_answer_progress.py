"""How far the answering has come: answered and open comments in the Secretariat's status and
summary, and the summary of its body's answers each chair is sent when answers are published."""

import base64
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import texts
from bot.models import Outbox, OutboxStatus
from bot.rendering import RENDERER
from bot.services import answers, comments, reminders, status
from tests.services.test_answers import NOW, _comment, _join, _round

UTC_TZ = ZoneInfo("UTC")


async def _with_chairs(session):
    """The answers tests' round, with a second SOMHD delegate (Cambodia) and a chair for each body."""
    consultation, (thai, khmer, officer, _), saved = await _round(session)
    somhd_kh = await _join(session, "delegate", "SOMHD", "KH", user=12)
    saved.append(await _comment(session, somhd_kh, consultation, "2.1", "Name the schemes."))
    chair = await _join(session, "chair", "SOMHD", user=20, name="Chair of SOMHD")
    slom_chair = await _join(session, "chair", "SLOM", user=21, name="Chair of SLOM")
    return consultation, (thai, khmer, somhd_kh, officer, chair, slom_chair), saved


def _rows(outbox, kind):
    return [row for row in outbox if row.kind == kind]


async def test_status_counts_answered_and_open_comments_per_body_and_section(session):
    consultation, (thai, _khmer, _kh, officer, chair, _), saved = await _with_chairs(session)
    # saved: SOMHD Thailand 2.2, SLOM Cambodia 1.1, SOMHD Thailand 3.1, SOMHD Cambodia 2.1
    withdrawn = await _comment(session, thai, consultation, "1.2", "On second thought, nothing.")
    await comments.withdraw_comment(session, thai, withdrawn.comment_id, now=NOW)
    await answers.record(session, officer, saved[0].comment_id, "accepted", None, now=NOW)
    await answers.record(session, officer, saved[1].comment_id, "rejected", "Out of scope.", now=NOW)
    await answers.record(session, officer, saved[2].comment_id, "noted", None, now=NOW)

    report = await status.report_for(session, officer, consultation)
    assert report.answers is not None
    assert (report.answers.answered, report.answers.total) == (3, 4)  # the withdrawn comment does not count
    assert [(t.key, t.answered, t.open) for t in report.answers.bodies] == [("SLOM", 1, 0), ("SOMHD", 2, 1)]
    assert [(t.key, t.answered, t.open) for t in report.answers.sections] == [("1", 1, 0), ("2", 1, 1), ("3", 1, 0)]
    text = texts.plain(texts.status_report(report, UTC_TZ, NOW))
    assert "Answered 3 of 4 · 1 open" in text
    assert "• SOMHD: 2 of 3 · 1 open" in text and "• SLOM: all 1 answered" in text
    assert "• 2 Actions: 1 of 2 · 1 open" in text and "• 3 Review: all 1 answered" in text
    assert "• 1 Purpose: all 1 answered" in text

    # A chair's /status is about responses; the Secretariat's answers are not shown there.
    theirs = await status.report_for(session, chair, consultation)
    assert theirs.answers is None
    chairs_view = texts.plain(texts.status_report(theirs, UTC_TZ, NOW))
    assert "Answered" not in chairs_view and "By section" not in chairs_view and "💬" not in chairs_view

    await answers.record(session, officer, saved[3].comment_id, "partly", "Two are named.", now=NOW)
    report = await status.report_for(session, officer, consultation)
    assert "All 4 comment(s) answered" in texts.plain(texts.status_report(report, UTC_TZ, NOW))


async def test_the_secretariats_summary_shows_answered_and_open(session):
    consultation, (_thai, _khmer, _kh, officer, chair, _), saved = await _with_chairs(session)
    before = await reminders.build_summary(
        session, consultation, body_id=None, now=NOW, tz=UTC_TZ, render=RENDERER, label="Weekly digest"
    )
    assert "Answered 0 of 4 · 4 open" in texts.plain(before.text)
    await answers.record(session, officer, saved[0].comment_id, "accepted", None, now=NOW)
    await answers.record(session, officer, saved[1].comment_id, "noted", None, now=NOW)
    summary = await reminders.build_summary(
        session, consultation, body_id=None, now=NOW, tz=UTC_TZ, render=RENDERER, label="Weekly digest"
    )
    text = texts.plain(summary.text)
    assert "Answered 2 of 4 · 2 open" in text
    assert "• SLOM: 1/2 responded; all 1 answered" in text
    assert "• SOMHD: 2/2 responded; answered 1 of 3" in text
    assert "• 1 Purpose: 1 (all answered)" in text and "• 2 Actions: 2 (1 open)" in text
    assert "• 3 Review: 1 (1 open)" in text
    # The chair's summary of the same moment says nothing of the Secretariat's answers.
    chairs = await reminders.build_summary(
        session, consultation, body_id=chair.body_id, now=NOW, tz=UTC_TZ, render=RENDERER
    )
    assert "answered" not in texts.plain(chairs.text).lower() and "open" not in texts.plain(chairs.text)


async def test_publishing_sends_each_chair_their_bodys_answers_once(session):
    consultation, (_thai, _khmer, _kh, officer, chair, slom_chair), saved = await _with_chairs(session)
    await answers.record(session, officer, saved[0].comment_id, "partly", "Every 18 months.", now=NOW)
    await answers.record(session, officer, saved[2].comment_id, "rejected", "Out of scope.", now=NOW)
    published = await answers.publish(session, officer, consultation, render=RENDERER, now=NOW + timedelta(minutes=1))
    assert published.chairs == 1
    assert "1 chair(s) get a summary of their body's answers" in texts.published(published)

    outbox = list(await session.scalars(select(Outbox).order_by(Outbox.id)))
    texts_sent, charts = _rows(outbox, "answer-summary"), _rows(outbox, "answer-summary-chart")
    # Only the chair of SOMHD: none of SLOM's comments has an answer yet.
    assert [r.chat_id for r in texts_sent] == [chair.chat_id] and [r.chat_id for r in charts] == [chair.chat_id]
    assert charts[0].id < texts_sent[0].id  # the chart comes first, as with the other summaries
    assert base64.b64decode(charts[0].payload["photo"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "SOMHD: answers to comments on" in texts.plain(charts[0].payload["text"])
    text = texts.plain(texts_sent[0].payload["text"])
    assert "SOMHD: the Secretariat has answered 2 of 3 comment(s)" in text
    assert "✅ Accepted: 0" in text and "◐ Accepted in part: 1" in text and "📝 Noted: 0" in text
    assert "✖️ Not accepted: 1" in text and "⏳ Not yet answered: 1" in text
    assert "Thailand: ◐ 1 · ✖️ 1" in text and "Cambodia: ⏳ 1" in text
    assert slom_chair.chat_id not in {r.chat_id for r in outbox if r.kind.startswith("answer-summary")}

    # Publishing again with nothing new sends the chairs nothing either.
    again = await answers.publish(session, officer, consultation, render=RENDERER, now=NOW + timedelta(minutes=2))
    assert again.chairs == 0
    outbox = list(await session.scalars(select(Outbox).order_by(Outbox.id)))
    assert len(_rows(outbox, "answer-summary")) == 1 and len(_rows(outbox, "answer-summary-chart")) == 1

    # New answers for both bodies: each chair is sent theirs; SOMHD's unsent one gives way.
    await answers.record(session, officer, saved[3].comment_id, "accepted", None, now=NOW + timedelta(minutes=3))
    await answers.record(session, officer, saved[1].comment_id, "noted", None, now=NOW + timedelta(minutes=3))
    later = await answers.publish(session, officer, consultation, render=RENDERER, now=NOW + timedelta(minutes=4))
    assert later.chairs == 2
    outbox = list(await session.scalars(select(Outbox).order_by(Outbox.id)))
    somhd = [r for r in _rows(outbox, "answer-summary") if r.chat_id == chair.chat_id]
    assert [r.status for r in somhd] == [OutboxStatus.SUPERSEDED, OutboxStatus.QUEUED]
    latest = texts.plain(somhd[-1].payload["text"])
    assert "answered 3 of 3" in latest and "Cambodia: ✅ 1" in latest and "⏳ Not yet answered: 0" in latest
    slom = [r for r in _rows(outbox, "answer-summary") if r.chat_id == slom_chair.chat_id]
    assert len(slom) == 1 and "📝 Noted: 1" in slom[0].payload["text"]
    assert "Cambodia: 📝 1" in texts.plain(slom[0].payload["text"])
