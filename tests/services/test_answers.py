"""The Secretariat's answers: dispositions with observations, their history, answering one
comment at a time (two officers at once, stopping and resuming), and publishing."""

from datetime import timedelta

from sqlalchemy import func, select

from bot.models import Comment, Outbox
from bot.rendering import RENDERER
from bot.services import answers, comments, registry, rounds
from bot.services.answers import Filter, ToAnswer, WalkDone
from bot.services.errors import InvalidInput, NotFound, Refused
from bot.services.registry import CONSOLE
from tests.factories import at, small_draft
from tests.refusals import refused

NOW = at("2026-11-23T08:00:00")


async def _join(session, role, body=None, state=None, user=1, name=""):
    issued = await registry.issue_invite(session, CONSOLE, role=role, body=body, state=state, name=name, now=NOW)
    joined = await registry.join(
        session, issued.token, telegram_user_id=user, chat_id=user, username=None, full_name=name or f"U{user}", now=NOW
    )
    return joined.actor


async def _comment(session, actor, consultation, ref, text):
    clause = await comments.find_clause(session, consultation, actor, ref)
    await comments.start_comment(session, actor, clause.id, now=NOW)
    await comments.set_kind(session, actor, "te")
    await comments.set_text(session, actor, text, limit=8000)
    await comments.set_proposed(session, actor, None, limit=8000)
    return await comments.submit(session, actor, now=NOW)


async def _round(session):
    await registry.add_body(session, "SOMHD")
    await registry.add_body(session, "SLOM")
    await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
    await registry.add_state(session, "Cambodia", "KH", "Asia/Phnom_Penh")
    outline = await rounds.import_draft(session, small_draft(), "plan.docx")
    consultation = await rounds.resolve_consultation(session, outline.consultation)
    thai = await _join(session, "delegate", "SOMHD", "TH", user=10)
    khmer = await _join(session, "delegate", "SLOM", "KH", user=11)
    officer = await _join(session, "secretariat", user=1, name="Mega")
    second = await _join(session, "secretariat", user=2, name="Arif")
    await rounds.open_round(session, CONSOLE, consultation, NOW + timedelta(days=30), render=RENDERER, now=NOW)
    saved = [
        await _comment(session, thai, consultation, "2.2", "Every two years is too rare."),
        await _comment(session, khmer, consultation, "1.1", "Start in 2027."),
        await _comment(session, thai, consultation, "3.1", "Name who reviews."),
    ]
    return consultation, (thai, khmer, officer, second), saved


async def test_an_answer_needs_an_observation_when_it_does_not_simply_take_the_comment(session):
    _consultation, (thai, _khmer, officer, _), saved = await _round(session)
    with refused(InvalidInput, "needs an observation"):
        await answers.record(session, officer, saved[0].comment_id, "rejected", "  ", now=NOW)
    with refused(InvalidInput, "is not an answer"):
        await answers.record(session, officer, saved[0].comment_id, "maybe", None, now=NOW)
    first = await answers.record(session, officer, saved[0].comment_id, "noted", None, now=NOW)
    assert not first.changed
    second = await answers.record(session, officer, saved[0].comment_id, "partly", "Kept, every 18 months.", now=NOW)
    assert second.changed
    changes = await answers.history(session, officer, saved[0].comment_id)
    assert [(c.before, c.after, c.by) for c in changes] == [
        ((None, None), ("noted", None), "Mega"),
        (("noted", None), ("partly", "Kept, every 18 months."), "Mega"),
    ]
    for someone in (thai,):
        with refused(Refused, "Only the Secretariat"):
            await answers.record(session, someone, saved[0].comment_id, "accepted", None, now=NOW)


async def test_a_withdrawn_comment_needs_no_answer(session):
    _consultation, (thai, _khmer, officer, _), saved = await _round(session)
    await comments.withdraw_comment(session, thai, saved[0].comment_id, now=NOW)
    with refused(Refused, "withdrawn"):
        await answers.record(session, officer, saved[0].comment_id, "accepted", None, now=NOW)


async def test_answering_one_at_a_time_in_the_drafts_order_stopping_and_resuming(session):
    consultation, (_thai, _khmer, officer, _), _saved = await _round(session)
    shown = await answers.begin(session, officer, consultation, Filter(), now=NOW)
    assert isinstance(shown, ToAnswer)
    assert (shown.clause_ref, shown.answered, shown.total) == ("1.1", 0, 3)
    shown = await answers.choose(session, officer, shown.comment_id, "rejected", now=NOW)
    assert shown.step == "observation" and shown.chosen == "rejected"
    with refused(InvalidInput, "needs an observation"):
        await answers.observe(session, officer, shown.comment_id, None, now=NOW)
    done, shown = await answers.observe(session, officer, None, "The period is fixed by the Declaration.", now=NOW)
    assert done.disposition == "rejected" and isinstance(shown, ToAnswer)
    assert (shown.clause_ref, shown.answered) == ("2.2", 1)
    # Stopped and resumed later (a new session, as after a restart): the same comment again.
    assert await answers.stop(session, officer) == (1, 3)
    resumed = await answers.begin(session, officer, consultation, Filter(), now=NOW + timedelta(hours=2))
    assert isinstance(resumed, ToAnswer) and resumed.clause_ref == "2.2"
    later = await answers.skip(session, officer, resumed.comment_id, now=NOW)
    assert isinstance(later, ToAnswer) and later.clause_ref == "3.1"
    shown = await answers.choose(session, officer, later.comment_id, "accepted", now=NOW)
    _done, last = await answers.observe(session, officer, shown.comment_id, None, now=NOW)
    assert isinstance(last, ToAnswer) and last.clause_ref == "2.2"  # the one left for later comes back
    shown = await answers.choose(session, officer, last.comment_id, "noted", now=NOW)
    _done, finished = await answers.observe(session, officer, None, None, now=NOW)
    assert isinstance(finished, WalkDone) and (finished.answered, finished.total) == (3, 3)


async def test_a_filter_narrows_the_walk(session):
    consultation, (_thai, _khmer, officer, _), _saved = await _round(session)
    flt = await answers.read_filter(session, consultation, ["Thailand"])
    shown = await answers.begin(session, officer, consultation, flt, now=NOW)
    assert isinstance(shown, ToAnswer) and shown.total == 2 and shown.author == "SOMHD – Thailand"
    assert (await answers.read_filter(session, consultation, ["3"])).section == "3"
    assert (await answers.read_filter(session, consultation, ["slom"])).body == "SLOM"
    with refused(InvalidInput, "not a section, body"):
        await answers.read_filter(session, consultation, ["Atlantis"])


async def test_two_officers_are_never_handed_the_same_comment(session):
    consultation, (_thai, _khmer, officer, second), _saved = await _round(session)
    mine = await answers.begin(session, officer, consultation, Filter(), now=NOW)
    theirs = await answers.begin(session, second, consultation, Filter(), now=NOW)
    assert isinstance(mine, ToAnswer) and isinstance(theirs, ToAnswer)
    assert mine.comment_id != theirs.comment_id
    # The first officer's comment is answered by another path (the command line) meanwhile.
    await answers.record(session, CONSOLE, mine.comment_id, "accepted", None, now=NOW)
    await answers.choose(session, officer, mine.comment_id, "noted", now=NOW)
    with refused(Refused, "answered meanwhile by the command line"):
        await answers.observe(session, officer, None, None, now=NOW)


async def test_publishing_tells_each_delegate_once_and_changes_go_again(session):
    consultation, (thai, khmer, officer, _), saved = await _round(session)
    await answers.record(session, officer, saved[0].comment_id, "partly", "Every 18 months.", now=NOW)
    await answers.record(session, officer, saved[2].comment_id, "accepted", None, now=NOW)
    result = await answers.publish(session, officer, consultation, render=RENDERER, now=NOW + timedelta(minutes=1))
    assert (result.delegates, result.comments, result.messages, result.unanswered) == (1, 2, 1, 1)
    rows = list(await session.scalars(select(Outbox).where(Outbox.kind == "answers")))
    assert len(rows) == 1 and rows[0].chat_id == thai.chat_id
    text = rows[0].payload["text"]
    assert "2.2" in text and "Accepted in part" in text and "Every 18 months." in text and "3.1" in text
    # /mycomments shows the published answer.
    mine = {c.clause_ref: c for c in await comments.my_comments(session, thai, now=NOW)}
    assert mine["2.2"].disposition == "partly" and mine["2.2"].observation == "Every 18 months."
    # Publishing again sends nothing; a changed answer goes again, as an update.
    again = await answers.publish(session, officer, consultation, render=RENDERER, now=NOW + timedelta(minutes=2))
    assert again.messages == 0
    await answers.record(session, officer, saved[2].comment_id, "noted", None, now=NOW + timedelta(minutes=3))
    mine = {c.clause_ref: c for c in await comments.my_comments(session, thai, now=NOW)}
    assert mine["3.1"].disposition is None  # the change is not shown before it is made known
    update = await answers.publish(session, officer, consultation, render=RENDERER, now=NOW + timedelta(minutes=4))
    assert (update.comments, update.messages) == (1, 1)
    latest = (await session.scalars(select(Outbox).where(Outbox.kind == "answers").order_by(Outbox.id.desc()))).first()
    assert "changed its answer" in latest.payload["text"] and "Noted" in latest.payload["text"]
    assert khmer.chat_id not in {
        r.chat_id for r in await session.scalars(select(Outbox).where(Outbox.kind == "answers"))
    }
    with refused(Refused, "Only the Secretariat"):
        await answers.publish(session, thai, consultation, render=RENDERER, now=NOW)


async def test_a_comment_gone_from_the_walk_is_not_in_hand(session):
    consultation, (_thai, _khmer, officer, _), saved = await _round(session)
    await answers.begin(session, officer, consultation, Filter(), now=NOW)
    with refused(NotFound, "no longer the one you are answering"):
        await answers.choose(session, officer, saved[0].comment_id, "accepted", now=NOW)
    assert await session.scalar(select(func.count()).select_from(Comment).where(Comment.disposition.is_not(None))) == 0


async def test_the_answers_fill_the_matrix_and_the_word_comments(session):
    import io
    import zipfile

    from openpyxl import load_workbook

    from bot.services import consolidation

    consultation, (_thai, _khmer, officer, _), saved = await _round(session)
    await answers.record(session, officer, saved[0].comment_id, "partly", "Every 18 months.", now=NOW)
    data = await consolidation.gather(session, officer, consultation, now=NOW)
    outputs = await consolidation.compile_outputs(data)
    sheet = load_workbook(io.BytesIO(outputs.matrix)).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    assert "Accepted in part" in cells and "Every 18 months." in cells
    with zipfile.ZipFile(io.BytesIO(outputs.consolidated)) as package:
        comments_xml = package.read("word/comments.xml").decode()
        document_xml = package.read("word/document.xml").decode()
    # The answer is the Secretariat's reply under the delegate's comment.
    assert 'w:author="Secretariat"' in comments_xml and "Accepted in part. Every 18 months." in comments_xml
    with zipfile.ZipFile(io.BytesIO(outputs.consolidated)) as package:
        assert "paraIdParent" in package.read("word/commentsExtended.xml").decode()
    assert "Accepted in part. Every 18 months." in document_xml  # the annex matrix


async def test_two_officers_storing_one_answer_at_the_same_moment_take_turns(db):
    """Each officer's transaction checks what is stored and writes; the second waits for the
    first to commit and then sees its answer, on SQLite (which locks from the first write)
    as on PostgreSQL (which locks the row)."""
    import asyncio

    async with db.session() as session:
        _consultation, (_thai, _khmer, officer, second), saved = await _round(session)
    comment_id = saved[0].comment_id
    async with db.sessionmaker() as first, db.sessionmaker() as other:
        await answers.record(first, officer, comment_id, "noted", None, now=NOW, expected_change=0)
        racing = asyncio.create_task(
            answers.record(other, second, comment_id, "accepted", None, now=NOW, expected_change=0)
        )
        await asyncio.sleep(0.3)
        assert not racing.done()  # waiting for the first officer's transaction
        await first.commit()
        with refused(Refused, "Mega answered meanwhile \\(Noted\\); yours was not stored"):
            await racing
        await other.rollback()
    async with db.session() as session:
        comment = await session.get(Comment, comment_id)
        assert (comment.disposition, comment.answered_by) == ("noted", officer.contact_id)
