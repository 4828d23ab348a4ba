"""The Secretariat answers comments in chat and the delegates are told, through the real
application over HTTP."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import AnswerChange, Comment
from tests.conversations.test_access import forge_press
from tests.conversations.test_round import import_small_draft, wait_sections


async def _comment(delegate, ref: str, text: str) -> None:
    await delegate.send(f"/comment {ref} {text}")
    await delegate.press(await delegate.wait_for("What type of comment"), "Technical")
    await delegate.press(await delegate.wait_for("propose new wording"), "Skip")
    await delegate.press(await delegate.wait_for("Please check"), "Send")
    await delegate.wait_for("is recorded")


async def test_answering_in_chat_then_publishing(env):
    async with env.running():
        officer = await env.join(100, "secretariat", name="Mega")
        await import_small_draft(officer)
        thai = await env.join(200, "delegate", "SOMHD", "Thailand")
        filipino = await env.join(201, "delegate", "SLOM", "Philippines")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await wait_sections(thai, 3)
        await wait_sections(filipino, 3)
        await _comment(thai, "2.2", "Every two years is too rare.")
        await _comment(filipino, "1.1", "Start in 2027.")

        # Delegates may not answer.
        await thai.send("/answer")
        assert "Secretariat only" in (await thai.next_message()).content

        await officer.send("/answer")
        card = await officer.wait_for("0 of 2 answered")
        assert "1.1" in card.content and "SLOM – Philippines" in card.content
        await officer.press(card, "Not accepted")
        asked = await officer.wait_for("Now write the observation (required)")
        assert "Skip" not in " ".join(asked.button_texts())
        await officer.send("The period is set by the Declaration.")
        await officer.wait_for("recorded: Not accepted")
        card = await officer.wait_for("1 of 2 answered")
        assert "2.2" in card.content
        await officer.press(card, "Accepted")
        asked = await officer.wait_for("Now write the observation (optional)")
        await officer.press(asked, "Skip")
        done = await officer.wait_for("Every comment")
        assert "2 of 2 answered" in done.content

        await officer.send("/publish")
        assert "go to 2 delegate(s)" in (await officer.wait_for("Answers to 2 comment(s)")).content
        told = await filipino.wait_for("the Secretariat has answered")
        assert "Not accepted" in told.content and "set by the Declaration" in told.content
        assert "Accepted" in (await thai.wait_for("the Secretariat has answered")).content
        await filipino.send("/mycomments")
        mine = await filipino.wait_for("Start in 2027")
        assert "Not accepted" in mine.content

        await officer.send("/publish")
        assert "Nothing new to tell" in (await officer.wait_for("Nothing new")).content
    async with env.db.session() as session:
        assert (
            await session.scalar(select(func.count()).select_from(Comment).where(Comment.disposition.is_not(None))) == 2
        )
        assert await session.scalar(select(func.count()).select_from(AnswerChange)) == 2


async def test_an_officer_resumes_after_a_restart_where_they_were(env):
    async with env.running():
        officer = await env.join(100, "secretariat", name="Mega")
        await import_small_draft(officer)
        thai = await env.join(200, "delegate", "SOMHD", "Thailand")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await wait_sections(thai, 3)
        await _comment(thai, "2.2", "Every two years is too rare.")
        await officer.send("/answer")
        await officer.press(await officer.wait_for("0 of 1 answered"), "In part")
        await officer.wait_for("Now write the observation (required)")
    async with env.running():
        await officer.send("/answer")
        card = await officer.wait_for("0 of 1 answered")
        assert "Accepted in part" in card.content  # where they were: the observation is awaited
        await officer.send("Kept, but every 18 months.")
        await officer.wait_for("recorded: Accepted in part")
    async with env.db.session() as session:
        comment = await session.scalar(select(Comment))
        assert (comment.disposition, comment.observation) == ("partly", "Kept, but every 18 months.")


def _filled_in(matrix: bytes, answers: dict[str, tuple[str, str | None]]) -> bytes:
    import io

    from openpyxl import load_workbook

    from documents.matrix import DISPOSITION_HEADER, OBSERVATION_HEADER

    workbook = load_workbook(io.BytesIO(matrix))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value in answers:
            disposition, observation = answers[row[0].value]
            row[header.index(DISPOSITION_HEADER)].value = disposition
            row[header.index(OBSERVATION_HEADER)].value = observation
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def test_the_matrix_filled_in_and_sent_back_in_chat(env):
    async with env.running():
        officer = await env.join(100, "secretariat", name="Mega")
        await import_small_draft(officer)
        thai = await env.join(200, "delegate", "SOMHD", "Thailand")
        chair = await env.join(300, "chair", "SOMHD")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await wait_sections(thai, 3)
        await _comment(thai, "2.2", "Every two years is too rare.")
        await _comment(thai, "1.1", "Start in 2027.")

        await officer.send("/consolidate")
        matrix = None
        for _ in range(3):
            sent = await officer.wait_for(lambda m: m.document is not None, timeout=60)
            if sent.document["file_name"].endswith(".xlsx"):
                matrix = sent
        assert matrix is not None

        # Neither a delegate nor a chair may send one.
        for other in (thai, chair):
            await other.send_document(matrix.file_bytes, "matrix.xlsx")
            assert "comment matrices" in (await other.wait_for("Only the Secretariat")).content

        # A row refused: nothing is offered to store.
        bad = _filled_in(matrix.file_bytes, {"TH-001": ("Maybe", None), "TH-002": ("Accepted", None)})
        await officer.send_document(bad, "answers.xlsx")
        refused = await officer.wait_for("row(s) refused")
        assert "disposition ‘Maybe’" in refused.content and "Nothing was changed" in refused.content
        assert not refused.button_texts()
        await officer.send_document(matrix.file_bytes[:-40], "cut.xlsx")
        assert "not an Excel workbook" in (await officer.wait_for("Excel")).content
        await officer.send_document(matrix.file_bytes, "answers.xlsm")
        assert "macros" in (await officer.wait_for("macros")).content

        good = _filled_in(
            matrix.file_bytes, {"TH-001": ("Accepted", None), "TH-002": ("Not accepted", "Set by the Declaration.")}
        )
        await officer.send_document(good, "answers.xlsx")
        preview = await officer.wait_for("Store these 2 answer(s)?")
        assert "2 new answer(s), 0 changed" in preview.content
        async with env.db.session() as session:
            assert await session.scalar(select(func.count()).where(Comment.disposition.is_not(None))) == 0
        store = officer._records[preview.message_id].data["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await officer.press(preview, "Store 2 answer(s)")
        assert "Stored: 2 answer(s)" in (await officer.wait_for("Stored")).content
        # A second tap on the same preview (a slow phone's) stores nothing twice.
        forge_press(officer, preview, store)
        await officer.wait_for("no longer waiting")
        async with env.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(AnswerChange)) == 2
            rejected = await session.scalar(select(Comment).where(Comment.disposition == "rejected"))
            assert rejected.observation == "Set by the Declaration."
        await officer.send(f"/history {rejected.number}")
        shown = await officer.wait_for("History:")
        assert "Not accepted" in shown.content and "Mega" in shown.content and "not yet published" in shown.content
        await thai.send("/history TH-001")
        assert "Secretariat only" in (await thai.wait_for("Secretariat only")).content

        # Cancelled, nothing is stored.
        changed = _filled_in(matrix.file_bytes, {"TH-001": ("Noted", None), "TH-002": ("Not accepted", "Other.")})
        await officer.send_document(changed, "answers.xlsx")
        preview = await officer.wait_for("0 new answer(s), 2 changed")
        await officer.press(preview, "Cancel")
        await officer.wait_for("no answer from that file was stored")
        async with env.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(AnswerChange)) == 2

        await officer.send("/publish")
        told = await thai.wait_for("the Secretariat has answered")
        assert "Set by the Declaration." in told.content
