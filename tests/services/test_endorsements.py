"""The endorsement stage's service on SQLite and PostgreSQL: who may answer, answers changed
and kept, the focal point's answer for the state, the silence procedure and the deadline."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.models import Endorsement, Outbox, ReminderMute
from bot.rendering import RENDERER
from bot.services import answers, endorsements, reminders, rounds
from bot.services.errors import InvalidInput, Refused
from bot.services.rounds import StagePlan
from documents.endorsement import AnswerKind, Outcome
from tests.refusals import refused
from tests.services.test_answers import NOW, _join, _round

DEADLINE = NOW + timedelta(days=70)


async def _endorsement(session, *, silence: bool):
    consultation, (thai, khmer, officer, second), saved = await _round(session)
    await reminders.mute(session, thai, consultation.id, True)  # in the comments stage
    await rounds.close_round(session, officer, consultation, now=NOW + timedelta(days=31))
    plan = StagePlan(kind=rounds.StageKind.ENDORSEMENT, silence=silence)
    # Three comments have no answer: the Secretariat is warned first, and nothing opens.
    with refused(Refused, "3 comments .* have no answer yet"):
        await rounds.open_round(
            session, officer, consultation, DEADLINE, render=RENDERER, now=NOW + timedelta(days=32), plan=plan
        )
    assert consultation.stage.position == 1
    for item in saved:
        await answers.record(session, officer, item.comment_id, "noted", None, now=NOW + timedelta(days=32))
    opened = await rounds.open_round(
        session, officer, consultation, DEADLINE, render=RENDERER, now=NOW + timedelta(days=33), plan=plan
    )
    assert (opened.kind, opened.position, opened.silence, opened.contacts) == ("endorsement", 2, silence, 2)
    # A new stage asks something new: reminders muted in the last one are on again.
    assert not list(await session.scalars(select(ReminderMute)))
    return consultation, (thai, khmer, officer, second)


async def test_answers_change_until_the_deadline_and_the_record_keeps_what_they_were(session):
    consultation, (thai, khmer, officer, _) = await _endorsement(session, silence=False)
    stage_id = consultation.stage_id
    at = NOW + timedelta(days=40)

    first = await endorsements.answer(session, thai, stage_id, "endorse", now=at, render=RENDERER)
    assert (first.before, first.same, first.ballot.standing.kind) == (None, False, "endorse")
    again = await endorsements.answer(session, thai, stage_id, "endorse", now=at, render=RENDERER)
    assert again.same  # endorsing twice records nothing new
    changed = await endorsements.answer(
        session,
        thai,
        stage_id,
        "reservation",
        "On 2.2:\x00 the <i>timetable</i>.",
        now=at + timedelta(days=1),
        render=RENDERER,
    )
    assert changed.before.kind == "endorse" and changed.ballot.standing.text == "On 2.2:  the <i>timetable</i>."
    assert not changed.breaks_silence  # no silence procedure here
    rows = list(await session.scalars(select(Endorsement).order_by(Endorsement.id)))
    assert [(r.kind, r.replaced_at is not None) for r in rows] == [("endorse", True), ("reservation", False)]

    with refused(InvalidInput, "type the reason"):
        await endorsements.answer(session, khmer, stage_id, "cannot", "   ", now=at, render=RENDERER)
    with refused(InvalidInput, "under 2000"):
        await endorsements.answer(session, khmer, stage_id, "cannot", "x" * 2001, now=at, render=RENDERER)
    with refused(Refused, "answered by the delegates"):
        await endorsements.answer(session, officer, stage_id, "endorse", now=at, render=RENDERER)

    tally = await endorsements.tally(session, officer, consultation, now=at + timedelta(days=2))
    assert not tally.result.final and tally.result.outcome == Outcome.NOT_ENDORSED  # not everyone answered
    made = await endorsements.record_file(session, officer, stage_id, now=at + timedelta(days=2), zone="Asia/Jakarta")
    assert made.filename == "plan-of-action-on-social-endorsement-v0.docx" and made.data[:2] == b"PK"
    thai_pair = next(p for p in made.tally.result.pairs if (p.body, p.state) == ("SOMHD", "Thailand"))
    assert thai_pair.kind == AnswerKind.RESERVATION
    assert [e.kind for e in thai_pair.answer.history] == [AnswerKind.ENDORSE]

    # After the deadline nothing changes.
    with refused(Refused, "closed"):
        await endorsements.answer(
            session, thai, stage_id, "endorse", now=DEADLINE + timedelta(minutes=1), render=RENDERER
        )


async def test_an_objection_breaks_the_silence_and_the_deadline_fills_in_the_rest(session):
    consultation, (thai, khmer, officer, second) = await _endorsement(session, silence=True)
    stage_id = consultation.stage_id
    focal = await _join(session, "focal", state="TH", user=30, name="Thai focal")
    at = NOW + timedelta(days=40)

    objection = await endorsements.answer(
        session, khmer, stage_id, "cannot", "Clause 2.2 cannot be met.", now=at, render=RENDERER
    )
    assert objection.breaks_silence and objection.alerted == 2  # both officers, at once
    alerts = list(await session.scalars(select(Outbox).where(Outbox.kind == "alert")))
    assert {a.chat_id for a in alerts} == {officer.chat_id, second.chat_id}
    assert "The silence is broken" in alerts[0].payload["text"]
    # The same objection again does not alert again.
    again = await endorsements.answer(
        session, khmer, stage_id, "cannot", "Clause 2.2 cannot be met.", now=at, render=RENDERER
    )
    assert again.same and again.alerted == 0

    # Thailand's focal point answers for the state: its delegates cannot answer over it.
    await endorsements.answer(session, focal, stage_id, "endorse", now=at, render=RENDERER)
    with refused(Refused, "focal point .* has answered for the whole Member State"):
        await endorsements.answer(session, thai, stage_id, "endorse", now=at, render=RENDERER)

    # At the deadline: closed, silence filled in where a contact was enrolled, record sent.
    queued = await endorsements.close_at_deadline(
        session, consultation, now=DEADLINE + timedelta(hours=3), render=RENDERER, zone="Asia/Jakarta"
    )
    assert consultation.stage.status == "closed" and consultation.stage.closed_at == DEADLINE
    assert queued == 2 + 3  # the record to both officers; the outcome to two delegates and the focal point
    tally = await endorsements.tally(session, officer, consultation, now=DEADLINE + timedelta(hours=3))
    kinds = {(p.body, p.state): p.kind for p in tally.result.pairs}
    assert kinds == {
        ("SLOM", "Cambodia"): AnswerKind.CANNOT,
        ("SLOM", "Thailand"): AnswerKind.ENDORSE,  # by the focal point, for the state
        ("SOMHD", "Cambodia"): AnswerKind.NONE,  # nobody enrolled: not taken to agree
        ("SOMHD", "Thailand"): AnswerKind.ENDORSE,
    }
    assert tally.result.final and tally.result.outcome == Outcome.NOT_ENDORSED
    # Closing twice does nothing.
    assert (
        await endorsements.close_at_deadline(
            session, consultation, now=DEADLINE + timedelta(hours=4), render=RENDERER, zone="UTC"
        )
        == 0
    )


async def test_the_timetable_reminds_who_has_not_answered_and_closes_the_stage_at_its_deadline(session):
    from bot.services import timetable

    consultation, (thai, khmer, officer, _) = await _endorsement(session, silence=True)
    timing = timetable.Timing(quiet_hours=None)
    plan = await timetable.plan_of(session, consultation)
    # Reminders and the deadline: no comment summaries or digests in an endorsement stage.
    assert {(job.kind, job.label) for job in plan if job.kind != "reminder"} == {("milestone", "deadline")}

    await endorsements.answer(
        session, thai, consultation.stage_id, "endorse", now=NOW + timedelta(days=34), render=RENDERER
    )
    fired = await reminders.fire_due(session, timing, now=DEADLINE - timedelta(days=14), render=RENDERER)
    assert fired.reminders == 1  # only Cambodia's SLOM delegate: Thailand's SOMHD has answered
    reminder = await session.scalar(select(Outbox).where(Outbox.kind == "reminder"))
    assert reminder.chat_id == khmer.chat_id
    assert "recorded as endorsing unless it objects" in reminder.payload["text"]
    assert [label for row in reminder.payload["buttons"] for label, _ in row][:3] == [
        "✅ Endorse",
        "☑️ Endorse with a reservation",
        "⛔ Cannot endorse",
    ]

    fired = await reminders.fire_due(session, timing, now=DEADLINE + timedelta(minutes=5), render=RENDERER)
    assert consultation.stage.status == "closed"
    records = list(await session.scalars(select(Outbox).where(Outbox.kind == "summary")))
    assert {r.chat_id for r in records} >= {officer.chat_id} and all(r.payload.get("document") for r in records)
    # SOMHD in Cambodia and SLOM in Thailand have no one enrolled: silence cannot speak for them.
    assert "Outcome: <b>not endorsed</b>" in records[0].payload["text"]


async def test_an_endorsement_routed_to_some_bodies_refuses_the_others(session):
    consultation, (_thai, khmer, officer, _), _saved = await _round(session)
    await rounds.close_round(session, officer, consultation, now=NOW + timedelta(days=31))
    plan = StagePlan(kind=rounds.StageKind.ENDORSEMENT, bodies=("SOMHD",), despite_unanswered=True)
    opened = await rounds.open_round(
        session, officer, consultation, DEADLINE, render=RENDERER, now=NOW + timedelta(days=33), plan=plan
    )
    assert opened.contacts == 1  # the SOMHD delegate only
    with refused(Refused, "not asked of SLOM"):
        await endorsements.answer(
            session, khmer, consultation.stage_id, "endorse", now=DEADLINE - timedelta(days=1), render=RENDERER
        )
    with refused(Refused, "already open"):
        await rounds.open_round(
            session, officer, consultation, DEADLINE, render=RENDERER, now=NOW + timedelta(days=34), plan=plan
        )
    tally = await endorsements.tally(session, officer, consultation, now=NOW + timedelta(days=34))
    assert {p.body for p in tally.result.pairs} == {"SOMHD"}
