from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.models import Comment
from bot.rendering import RENDERER
from bot.services import comments, registry, rounds, status
from bot.services.errors import InvalidInput, RoundClosed, UnknownClause
from bot.services.registry import CONSOLE
from tests.factories import at, small_draft
from tests.refusals import refused

NOW = at("2026-11-23T08:00:00")


async def _round(session, *, days=30):
    await registry.add_body(session, "SOMHD")
    await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
    await registry.add_state(session, "Cambodia", "KH", "Asia/Phnom_Penh")
    outline = await rounds.import_draft(session, small_draft(), "plan.docx")
    consultation = await rounds.resolve_consultation(session, outline.consultation)
    issued = await registry.issue_invite(session, CONSOLE, role="delegate", body="SOMHD", state="TH", now=NOW)
    actor = (
        await registry.join(session, issued.token, telegram_user_id=5, chat_id=5, username=None, full_name="D", now=NOW)
    ).actor
    await rounds.open_round(session, CONSOLE, consultation, NOW + timedelta(days=days), render=RENDERER, now=NOW)
    return consultation, actor


async def test_a_comment_goes_through_type_text_wording_and_confirmation(session):
    consultation, actor = await _round(session)
    clause = await comments.find_clause(session, consultation, actor, "2.1(a)")
    view = await comments.start_comment(session, actor, clause.id, now=NOW)
    assert view.step == "kind" and view.clause_ref == "2.1.a"
    view = await comments.set_kind(session, actor, "te")
    assert view.step == "text"
    view = await comments.set_text(session, actor, "  Add\x00 <b>seasonal</b> workers  ", limit=8000)
    assert view.text == "Add <b>seasonal</b> workers" and view.step == "proposed"
    view = await comments.set_proposed(session, actor, "a) through schemes for seasonal workers;", limit=8000)
    assert view.step == "confirm"
    saved = await comments.submit(session, actor, source_key="5:100", now=NOW)
    assert saved.clause_ref == "2.1.a" and not saved.late
    stored = await session.get(Comment, saved.comment_id)
    assert (stored.kind, stored.text, stored.proposed) == (
        "te",
        "Add <b>seasonal</b> workers",
        "a) through schemes for seasonal workers;",
    )
    assert await comments.current_draft(session, actor) is None


async def test_a_wrong_reference_suggests_the_nearest(session):
    consultation, actor = await _round(session)
    with pytest.raises(UnknownClause) as caught:
        await comments.find_clause(session, consultation, actor, "2.3")
    assert "2.1" in caught.value.suggestions or "2.2" in caught.value.suggestions
    with pytest.raises(UnknownClause) as caught:
        await comments.find_clause(session, consultation, actor, "2")
    assert caught.value.suggestions[:2] == ["2.1", "2.1.a"]


async def test_empty_and_oversized_text_is_refused_without_losing_the_draft(session):
    consultation, actor = await _round(session)
    clause = await comments.find_clause(session, consultation, actor, "1.1")
    await comments.start_comment(session, actor, clause.id, now=NOW)
    await comments.set_kind(session, actor, "ge")
    with refused(InvalidInput, "no text"):
        await comments.set_text(session, actor, "\x01\x02  ", limit=100)
    with refused(InvalidInput, "limit is 100"):
        await comments.set_text(session, actor, "x" * 101, limit=100)
    view = await comments.current_draft(session, actor)
    assert view is not None and view.step == "text"


async def test_after_the_deadline_comments_are_refused_unless_late_ones_are_allowed(session):
    consultation, actor = await _round(session, days=1)
    clause = await comments.find_clause(session, consultation, actor, "1.2")
    later = NOW + timedelta(days=2)
    with refused(RoundClosed, "no longer accepted"):
        await comments.start_comment(session, actor, clause.id, now=later)
    consultation.allow_late = True
    await comments.start_comment(session, actor, clause.id, text="Late but useful.", now=later)
    await comments.set_kind(session, actor, "ed")
    await comments.set_proposed(session, actor, None, limit=8000)
    saved = await comments.submit(session, actor, now=later)
    assert saved.late


async def test_edit_and_withdraw_own_comments(session):
    consultation, actor = await _round(session)
    clause = await comments.find_clause(session, consultation, actor, "2.2")
    await comments.start_comment(session, actor, clause.id, text="Every two years is too often.", now=NOW)
    await comments.set_kind(session, actor, "ge")
    await comments.set_proposed(session, actor, None, limit=8000)
    saved = await comments.submit(session, actor, now=NOW)
    view = await comments.edit_comment(session, actor, saved.comment_id, now=NOW)
    assert view.step == "confirm" and view.text == "Every two years is too often."
    await comments.goto_step(session, actor, "text")
    await comments.set_text(session, actor, "Every three years would be enough.", limit=8000)
    again = await comments.submit(session, actor, now=NOW)
    assert again.edited and again.comment_id == saved.comment_id
    mine = await comments.my_comments(session, actor, now=NOW)
    assert [m.text for m in mine] == ["Every three years would be enough."]
    assert await comments.withdraw_comment(session, actor, saved.comment_id, now=NOW) == "2.2"
    assert await comments.my_comments(session, actor, now=NOW) == []
    rows = list(await session.scalars(select(Comment)))
    assert rows[0].status == "withdrawn"


async def test_no_comments_counts_as_a_response_in_the_status(session):
    consultation, actor = await _round(session)
    report = await status.status_report(session, consultation)
    thailand = next(s for s in report.bodies[0].states if s.state == "Thailand")
    assert not thailand.responded and thailand.joined == 1
    section = (await rounds.sections_of(session, consultation))[0]
    answer = await comments.no_comments(session, actor, section.id, now=NOW)
    assert answer.recorded
    again = await comments.no_comments(session, actor, section.id, now=NOW)
    assert not again.recorded
    report = await status.status_report(session, consultation)
    body = report.bodies[0]
    thailand = next(s for s in body.states if s.state == "Thailand")
    assert thailand.responded and thailand.comments == 0 and thailand.sections_answered == 1
    assert [s.state for s in body.not_responded] == ["Cambodia"]
