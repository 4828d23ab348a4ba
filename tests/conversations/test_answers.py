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


async def _round_with_comments(env, user_id: int, made: list[tuple[str, str]]) -> dict[str, int]:
    """The small draft's round opened and these comments made by the delegate, through the
    services (what is tested here comes after), then numbered as the first /consolidate
    numbers them; the comment ids by clause."""
    from datetime import UTC, datetime, timedelta

    from bot.rendering import RENDERER
    from bot.services import comments, consolidation, registry, rounds
    from bot.services.registry import CONSOLE
    from tests.factories import small_draft

    now = datetime.now(UTC)
    async with env.db.session() as session:
        outline = await rounds.import_draft(session, small_draft(), "plan.docx")
        consultation = await rounds.resolve_consultation(session, outline.consultation)
        await rounds.open_round(session, CONSOLE, consultation, now + timedelta(days=30), render=RENDERER, now=now)
        delegate = await registry.actor_for_user(session, user_id)
        for ref, text in made:
            clause = await comments.find_clause(session, consultation, delegate, ref)
            await comments.start_comment(session, delegate, clause.id, now=now)
            await comments.set_kind(session, delegate, "te")
            await comments.set_text(session, delegate, text, limit=8000)
            await comments.set_proposed(session, delegate, None, limit=8000)
            await comments.submit(session, delegate, now=now)
        await consolidation.gather(session, CONSOLE, consultation)
        return {c.clause.ref: c.id for c in await session.scalars(select(Comment))}


async def _changes(env) -> list[tuple]:
    async with env.db.session() as session:
        rows = await session.scalars(select(AnswerChange).order_by(AnswerChange.id))
        return [(c.disposition_before, c.observation_before, c.disposition_after, c.observation_after) for c in rows]


async def test_an_answer_is_changed_from_its_card_and_a_published_one_goes_again_as_an_update(env):
    from bot.callbacks import ChangeAnswer

    async with env.running():
        officer = await env.join(100, "secretariat", name="Mega")
        thai = await env.join(200, "delegate", "SOMHD", "Thailand")
        chair = await env.join(300, "chair", "SOMHD")
        ids = await _round_with_comments(env, 200, [("2.2", "Every two years is too rare.")])

        # A slip corrected at once, from the answer just recorded.
        await officer.send("/answer")
        await officer.press(await officer.wait_for("0 of 1 answered"), "Accepted")
        await officer.press(await officer.wait_for("Now write the observation (optional)"), "Skip")
        recorded = await officer.wait_for("recorded: Accepted")
        await officer.wait_for("Every comment")
        await officer.press(recorded, "Change the answer")
        changing = await officer.wait_for("changing its answer")
        assert "Answer now: <b>Accepted</b> (not yet published)" in changing.html
        assert "Later" not in " ".join(changing.button_texts())
        await officer.press(changing, "Noted")
        asked = await officer.wait_for("Now write the observation (optional)")
        assert not any("Keep" in label for label in asked.button_texts())  # there is none to keep
        await officer.press(asked, "Skip")
        card = await officer.wait_for("changed to Noted")
        assert "Accepted → Noted" in card.content and "not yet published" in card.content

        await officer.send("/publish")
        await officer.wait_for("Answers to 1 comment(s)")
        assert "Noted" in (await thai.wait_for("the Secretariat has answered")).content

        # Published, the answer can still be changed; the delegate hears of it at the next /publish.
        await officer.send("/history TH-001")
        card = await officer.wait_for("History:")
        assert "made known" in card.content
        await officer.press(card, "Change the answer")
        changing = await officer.wait_for("changing its answer")
        assert "short update at the next /publish" in changing.content
        await officer.press(changing, "In part")
        asked = await officer.wait_for("Now write the observation (required)")
        assert not any("Skip" in label for label in asked.button_texts())
        await officer.send("Kept, but every 18 months.")
        after = await officer.wait_for("changed to Accepted in part")
        assert "Noted → Accepted in part: “Kept, but every 18 months.”" in after.content
        assert after.content.count("Mega") == 3 and "Changed since it was made known" in after.content

        # The card shown before that change is out of date: nothing is changed, the fresh one follows.
        await officer.press(card, "Change the answer")
        fresh = await officer.wait_for("changed since that card was shown")
        assert "Answer now: Accepted in part" in fresh.content and fresh.button_texts() == ["✏️ Change the answer"]
        # Forged presses, and presses by anyone but the Secretariat.
        forge_press(officer, after, ChangeAnswer(ids["2.2"] + 1000, 0).pack())
        await officer.wait_for("no longer exists")
        query = forge_press(officer, after, "anc:1:x")
        assert "out of date" in (await officer.wait_callback_answer(query))["text"]
        for other in (thai, chair):
            query = forge_press(other, other.messages()[-1], ChangeAnswer(ids["2.2"], 3).pack())
            assert (await other.wait_callback_answer(query))["text"] == "⛔ This button is not for your role."
        assert len(await _changes(env)) == 3

        await officer.send("/publish")
        assert "Answers to 1 comment(s)" in (await officer.wait_for("Answers to")).content
        update = await thai.wait_for("changed its answer to 1 of your comment(s)")
        assert "Accepted in part" in update.content and "every 18 months" in update.content
        await officer.send("/publish")
        await officer.wait_for("Nothing new to tell")
    assert await _changes(env) == [
        (None, None, "accepted", None),
        ("accepted", None, "noted", None),
        ("noted", None, "partly", "Kept, but every 18 months."),
    ]


async def test_a_change_never_overwrites_an_answer_given_meanwhile_nor_answers_a_withdrawn_comment(env):
    async with env.running():
        mega = await env.join(100, "secretariat", name="Mega")
        arif = await env.join(101, "secretariat", name="Arif")
        thai = await env.join(200, "delegate", "SOMHD", "Thailand")
        await _round_with_comments(env, 200, [("1.1", "Start in 2027."), ("2.2", "Every two years is too rare.")])
        await arif.send("/answer")
        await arif.press(await arif.wait_for("0 of 2 answered"), "Not accepted")
        await arif.wait_for("observation (required)")
        await arif.send("Set by the Declaration.")
        await arif.wait_for("recorded: Not accepted")
        await arif.press(await arif.wait_for("1 of 2 answered"), "Stop")
        await arif.wait_for("Stopped")

        # Mega begins to change TH-001; Arif changes it first.
        await mega.send("/history TH-001")
        await mega.press(await mega.wait_for("History:"), "Change the answer")
        await mega.press(await mega.wait_for("changing its answer"), "Noted")
        asked = await mega.wait_for("Now write the observation (optional)")
        assert "Keep" in " ".join(asked.button_texts())
        await arif.send("/history TH-001")
        await arif.press(await arif.wait_for("History:"), "Change the answer")
        await arif.press(await arif.wait_for("changing its answer"), "Accepted")
        await arif.press(await arif.wait_for("observation (optional)"), "Skip")
        await arif.wait_for("changed to Accepted")
        await mega.press(asked, "Keep the observation")
        card = await mega.wait_for("yours was not stored")
        assert "Arif changed its answer meanwhile (Accepted)" in card.content
        assert "Answer now: Accepted" in card.content
        # From the fresh card it goes through; then the observation is kept as it is.
        await mega.press(card, "Change the answer")
        await mega.press(await mega.wait_for("changing its answer"), "Not accepted")
        await mega.wait_for("observation (required)")
        await mega.send("Set by the Declaration.")
        await mega.press(await mega.wait_for("changed to Not accepted"), "Change the answer")
        await mega.press(await mega.wait_for("changing its answer"), "Noted")
        await mega.press(await mega.wait_for("observation (optional)"), "Keep the observation")
        await mega.wait_for("changed to Noted")

        # A change left half-way is where it was after a restart; Cancel leaves the answer as it is.
        await arif.send("/history TH-001")
        await arif.press(await arif.wait_for("History:"), "Change the answer")
        await arif.press(await arif.wait_for("changing its answer"), "Accepted")
        await arif.wait_for("observation (optional)")
    async with env.running():
        await arif.send("/answer")
        resumed = await arif.wait_for("changing its answer")
        assert "Your answer: <b>Accepted</b>" in resumed.html
        await arif.press(resumed, "Cancel")
        assert "Answer now: Noted — Set by the Declaration." in (await arif.wait_for("History:")).content

        # The comment is withdrawn while its first answer is being written: nothing is stored.
        await mega.send("/history TH-002")
        unanswered = await mega.wait_for("No answer has been given yet")
        assert "Answer now: not answered (not yet published)" in unanswered.content
        await mega.press(unanswered, "Answer it")
        await mega.press(await mega.wait_for("changing its answer"), "Noted")
        await mega.wait_for("observation (optional)")
        await thai.send("/mycomments")
        listing = await thai.wait_for(lambda m: "2.2" in m.content and "Withdraw" in " ".join(m.button_texts()))
        await thai.press(listing, "Withdraw")
        await thai.press(await thai.wait_for("Withdraw your comment"), "Yes, withdraw")
        await thai.wait_for("is withdrawn")
        await mega.send("Noted with thanks.")
        card = await mega.wait_for("was withdrawn by its author; it needs no answer")
        assert "Withdrawn by its author: it takes no answer." in card.content and not card.button_texts()
    assert await _changes(env) == [
        (None, None, "rejected", "Set by the Declaration."),
        ("rejected", "Set by the Declaration.", "accepted", None),
        ("accepted", None, "rejected", "Set by the Declaration."),
        ("rejected", "Set by the Declaration.", "noted", "Set by the Declaration."),
    ]
