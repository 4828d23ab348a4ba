"""How far the answering has come, through the real application over HTTP: the Secretariat's
/status counts answered and open comments, and a chair is sent their body's answers when the
Secretariat publishes them."""

from __future__ import annotations

from tests.conversations.test_answers import _comment
from tests.conversations.test_round import import_small_draft, wait_sections


async def test_status_counts_answers_and_the_chair_gets_the_summary_after_publish(env):
    async with env.running():
        officer = await env.join(100, "secretariat", name="Mega")
        await import_small_draft(officer)
        chair = await env.join(150, "chair", "SOMHD", name="Chair of SOMHD")
        slom_chair = await env.join(151, "chair", "SLOM", name="Chair of SLOM")
        thai = await env.join(200, "delegate", "SOMHD", "Thailand")
        filipino = await env.join(201, "delegate", "SLOM", "Philippines")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await wait_sections(thai, 3)
        await wait_sections(filipino, 3)
        await _comment(thai, "2.2", "Every two years is too rare.")
        await _comment(thai, "3.1", "Name who reviews.")
        await _comment(filipino, "1.1", "Start in 2027.")

        await officer.send("/answer SOMHD")
        card = await officer.wait_for("0 of 2 answered")
        await officer.press(card, "Accepted")
        await officer.press(await officer.wait_for("Now write the observation (optional)"), "Skip")
        card = await officer.wait_for("1 of 2 answered")
        await officer.press(card, "Not accepted")
        await officer.wait_for("Now write the observation (required)")
        await officer.send("The review is the Secretariat's.")
        await officer.wait_for("Every comment")

        await officer.send("/status")
        report = await officer.wait_for("comment(s) so far")
        assert "Answered 2 of 3 · 1 open" in report.content
        assert "• SLOM: 0 of 1 · 1 open" in report.content and "• SOMHD: all 2 answered" in report.content
        assert "• 1 Purpose: 0 of 1 · 1 open" in report.content and "• 3 Review: all 1 answered" in report.content
        # The chair's /status is about who has responded, not about the Secretariat's answers.
        await chair.send("/status")
        assert "Answered" not in (await chair.wait_for("Member States responded")).content

        await officer.send("/publish")
        done = await officer.wait_for("Answers to 2 comment(s)")
        assert "1 chair(s) get a summary of their body's answers" in done.content
        await thai.wait_for("the Secretariat has answered")
        chart = await chair.wait_for(lambda m: m.photo is not None)
        assert chart.file_bytes.startswith(b"\x89PNG") and "SOMHD: answers to comments" in chart.content
        summary = await chair.wait_for("the Secretariat has answered")
        assert "answered 2 of 2 comment(s)" in summary.content
        assert "✅ Accepted: 1" in summary.content and "✖️ Not accepted: 1" in summary.content
        assert "⏳ Not yet answered: 0" in summary.content and "Thailand: ✅ 1 · ✖️ 1" in summary.content

        # Publishing again with nothing new: nobody is told anything twice.
        await officer.send("/publish")
        await officer.wait_for("Nothing new")
        assert await env.queue_emptied()
        assert len([m for m in chair.messages() if m.photo is not None]) == 1
        assert len([m for m in chair.messages() if "the Secretariat has answered" in m.content]) == 1
        # SLOM's comment has no answer yet: its chair has had nothing.
        assert not [m for m in slom_chair.messages() if "answer" in m.content.lower()]

        await officer.send("/answer")
        await officer.press(await officer.wait_for("2 of 3 answered"), "Noted")
        await officer.press(await officer.wait_for("Now write the observation (optional)"), "Skip")
        await officer.wait_for("Every comment")
        await officer.send("/publish")
        await officer.wait_for("Answers to 1 comment(s)")
        theirs = await slom_chair.wait_for("the Secretariat has answered")
        assert "Philippines: 📝 1" in theirs.content
        await officer.send("/status")
        assert "All 3 comment(s) answered" in (await officer.wait_for("comment(s) so far")).content
