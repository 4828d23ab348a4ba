"""The endorsement stage through the real application and real HTTP: the warning about
unanswered comments, the ballot, answers changed until the deadline, the silence procedure
and its broken silence, a focal point answering for the state, the record, and the deadline
across a restart."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

from docx import Document

from bot.services import registry, rounds
from tests.conversations.test_clearance import comment
from tests.conversations.test_round import import_small_draft, wait_sections


def _text_of(docx_bytes: bytes) -> str:
    document = Document(io.BytesIO(docx_bytes))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


async def _first_round_with_a_comment(env, officer, delegate) -> None:
    await import_small_draft(officer)
    await officer.send("/open 30")
    await officer.wait_for("is open until")
    await wait_sections(delegate, 3)
    await comment(delegate, "2.2", "Every two years is too rare.")
    await officer.send("/close")
    await officer.wait_for("closed")


async def test_endorsement_under_the_silence_procedure_with_a_reservation_an_objection_and_a_focal_point(env):
    async with env.db.session() as session:
        await registry.add_state(session, "Viet Nam", "VN", "Asia/Ho_Chi_Minh")  # nobody enrolled
        await session.commit()
    async with env.running():
        officer = await env.join(100, "secretariat")
        chair = await env.join(150, "chair", "SOMHD", name="Chair of SOMHD")
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        labour = await env.join(201, "delegate", "SLOM", "Philippines", "Maria")
        health_ph = await env.join(202, "delegate", "SOMHD", "Philippines", "Jose")
        focal = await env.join(300, "focal", state="Thailand", name="Thai focal")
        labour_th = await env.join(203, "delegate", "SLOM", "Thailand", "Niran")
        await _first_round_with_a_comment(env, officer, health)
        for user in (labour, health_ph, labour_th, chair, focal):
            await user.drain(quiet=0.3)

        # A comment has no answer yet: a warning, and nothing opens until the officer goes on.
        await officer.send("/open endorsement silence 30")
        warning = await officer.wait_for("have no answer yet")
        assert "1 comment" in warning.content
        assert warning.button_texts() == ["Open endorsement anyway", "Not now"]
        await officer.press(warning, "Not now")
        await officer.wait_for("was not opened")
        # The consultation's name may come after the kind, and is not taken for a body.
        async with env.db.session() as session:
            (name,) = [c.name for c in await rounds.all_consultations(session)]
        await officer.send(f"/open endorsement silence {name} 30")
        warning = await officer.wait_for("have no answer yet")
        await officer.press(warning, "Open endorsement anyway")
        opened = await officer.wait_for("Endorsement of")
        assert "silence procedure" in opened.content and "v0" in opened.content

        # Each delegate gets one ballot for their body and state, saying the silence rule plainly.
        ballot = await health.wait_for("🖋 Endorsement")
        assert "You answer for SOMHD – Thailand" in ballot.content
        assert "Silence procedure" in ballot.content and "recorded as endorsing" in ballot.content
        assert ballot.button_texts() == [
            "✅ Endorse",
            "☑️ Endorse with a reservation",
            "⛔ Cannot endorse",
            "📄 The draft (.docx)",
        ]
        labour_ballot = await labour.wait_for("🖋 Endorsement")
        ph_ballot = await health_ph.wait_for("🖋 Endorsement")
        focal_ballot = await focal.wait_for("🖋 Endorsement")
        assert "speaks for every sectoral body of Thailand" in focal_ballot.content
        labour_th_ballot = await labour_th.wait_for("🖋 Endorsement")

        # Comments are no longer taken while the draft is being endorsed.
        await health.send("/comment 2.1 One more thought.")
        assert "comments are no longer taken" in (await health.wait_for("being endorsed")).content

        # Endorse: recorded at once; pressing it again changes nothing.
        await health.press(ballot, "✅ Endorse")
        recorded = await health.wait_for("Answer recorded: ✅ Endorse")
        assert "Somchai" in recorded.content
        assert "✅ Endorse" not in recorded.button_texts()

        # A reservation is typed; it can be changed until the deadline.
        await labour.press(labour_ballot, "☑️ Endorse with a reservation")
        await labour.wait_for("Type the reservation")
        await labour.send("On 3.1: the review should include <b>labour</b> ministries.")
        reserved = await labour.wait_for("Endorse with a reservation: “On 3.1")
        assert "the review should include <b>labour</b> ministries" in reserved.content  # shown as typed

        # An objection breaks the silence: the Secretariat and the body's chair are told at once.
        await health_ph.press(ph_ballot, "⛔ Cannot endorse")
        await health_ph.wait_for("Type the reason")
        await health_ph.send("Clause 2.2 sets a timetable our ministry cannot meet.")
        objected = await health_ph.wait_for("breaks the silence")
        assert "Cannot endorse" in objected.content
        alert = await officer.wait_for("The silence is broken")
        assert "SOMHD – Philippines" in alert.content and "cannot meet" in alert.content
        chair_alert = await chair.wait_for("The silence is broken")
        assert "Jose" in chair_alert.content
        # The objection is changed to an endorsement: recorded, and the history is kept.
        await health_ph.press(objected, "✅ Endorse")
        await health_ph.wait_for("Answer changed (it was: ⛔ Cannot endorse)")

        # Thailand's focal point answers for the whole state; its delegates cannot answer over it.
        await focal.press(focal_ballot, "☑️ Endorse with a reservation")
        await focal.wait_for("Type the reservation")
        await focal.send("Thailand reserves its position on 2.2 until the budget is adopted.")
        await focal.wait_for("Answer recorded: ☑️ Endorse with a reservation")
        await labour_th.press(labour_th_ballot, "✅ Endorse")
        refused = await labour_th.wait_for("has answered for the whole Member State")
        assert "Thai focal" in refused.content

        # A chair cannot answer; the Secretariat's /status shows where it stands.
        await officer.send("/status")
        status = await officer.wait_for("🖋 Endorsement of")
        assert "provisional until the deadline" in status.content
        assert "3 with a reservation" in status.content  # SLOM–PH, and both of Thailand by its focal point
        assert "0 cannot endorse" in status.content
        assert "2 no answer (2 with no contact enrolled)" in status.content
        assert "SOMHD: Viet Nam (no contact)" in status.content
        assert "SLOM – Philippines: On 3.1" in status.content
        await chair.press(chair_alert, "📄 Endorsement record")
        record = await chair.wait_for(lambda m: m.document is not None)
        text = _text_of(record.file_bytes)
        assert "Thailand reserves its position" in text and "Cannot endorse" in text  # the changed answer's history
        assert record.document["file_name"].endswith("-endorsement-v0.docx")

        # /close before the deadline: the record goes out, nobody counted as endorsing by silence.
        await officer.send("/close")
        await officer.wait_for("closed before its deadline")
        final = await officer.wait_for(lambda m: m.document is not None and "endorsement" in m.document["file_name"])
        # Closed early, the silence is not counted: Viet Nam's bodies never answered.
        assert "Outcome: not endorsed" in final.content
        notice = await health.wait_for("is closed:")
        # Thailand's focal point spoke for the state: that is what stands for SOMHD – Thailand.
        assert "not endorsed" in notice.content
        assert "Recorded for SOMHD – Thailand: ☑️ Endorse with a reservation" in notice.content
        # After the close, a press is refused and nothing changes.
        await health.press(recorded, "☑️ Endorse with a reservation")
        late = await health.wait_for("no longer taken")
        assert "closed" in late.content and "recorded as endorsing" not in late.content


async def test_an_endorsement_routed_to_one_body_despite_unanswered_comments(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        labour = await env.join(201, "delegate", "SLOM", "Thailand", "Niran")
        await _first_round_with_a_comment(env, officer, health)
        await labour.drain(quiet=0.3)

        # A body named wrong is refused before the warning.
        await officer.send("/open endorsement SOMHX 30")
        await officer.wait_for("SOMHX")
        # Warned: a button could not carry the routing, so the command says "anyway".
        await officer.send("/open endorsement SOMHD 30")
        warning = await officer.wait_for("have no answer yet")
        assert "anyway" in warning.content and warning.button_texts() == []
        await officer.send("/open endorsement SOMHD 30 anyway")
        opened = await officer.wait_for("Endorsement of")
        assert "SOMHD" in opened.content
        await health.wait_for("🖋 Endorsement")
        assert not [m for m in await labour.drain(quiet=1.0) if "Endorsement" in m.content]


async def test_silence_counts_at_the_deadline_even_when_the_bot_was_down(env):
    """The deadline passes while the bot is stopped: on restart the stage closes at its
    deadline, pairs that kept silent are recorded as endorsing, and a late objection is refused."""
    async with env.running():
        officer = await env.join(100, "secretariat")
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        labour = await env.join(201, "delegate", "SLOM", "Thailand", "Niran")
        others = [
            await env.join(202, "delegate", "SOMHD", "Philippines"),
            await env.join(203, "delegate", "SLOM", "Philippines"),
        ]
        await import_small_draft(officer)
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await wait_sections(health, 3)
        await officer.send("/close")
        await officer.wait_for("closed")
        deadline = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
        await officer.send(f"/open endorsement silence {deadline.isoformat()}")
        await officer.wait_for("Endorsement of")
        ballot = await health.wait_for("🖋 Endorsement")
        await labour.wait_for("🖋 Endorsement")
        for other in others:
            await other.wait_for("🖋 Endorsement")
        await health.press(ballot, "✅ Endorse")
        await health.wait_for("Answer recorded")
    # The bot is down over the deadline.
    while datetime.now(UTC) < deadline + timedelta(seconds=1):  # noqa: ASYNC110 - waiting for the clock
        await asyncio.sleep(0.2)
    async with env.running():
        record = await officer.wait_for(lambda m: m.document is not None, timeout=20)
        assert "Outcome: endorsed by all" in record.content
        assert "1 endorse" in record.content and "3 by silence" in record.content
        text = _text_of(record.file_bytes)
        assert "silence" in text.lower()
        told = await labour.wait_for("is closed:")
        assert "Recorded for SLOM – Thailand: 🤫 Endorsed by silence" in told.content
        # An objection after the silence period is refused plainly.
        labour_ballot = next(m for m in labour.messages() if "🖋 Endorsement" in m.content)
        await labour.press(labour_ballot, "⛔ Cannot endorse")
        assert "silence procedure" in (await labour.wait_for("ended")).content
