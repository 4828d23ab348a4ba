"""A consultation past its first round, through the real application and real HTTP: the
revised draft stored as v1 (its clauses mapped to v0's), final comments on the changed
clauses only, a review routed to one body, and the stage history."""

from __future__ import annotations

import io
import zipfile

from docx import Document
from sqlalchemy import select

from bot.models import Version
from bot.services import registry
from tests.conversations.test_clearance import comment
from tests.conversations.test_round import import_small_draft, wait_sections, with_clause
from tests.factories import small_draft


def revised_draft() -> bytes:
    """v1: clause 2.2 reworded, a clause 3.2 added; the rest as in v0."""
    document = Document(io.BytesIO(small_draft()))
    for paragraph in document.paragraphs:
        if paragraph.text.startswith("2.2 "):
            paragraph.text = "2.2 Sectoral bodies will report progress every year, starting in 2027."
    document.add_paragraph("3.2 A final review will take place in 2030.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def test_v1_goes_out_for_final_comments_on_its_changed_clauses_then_to_one_body_for_review(env):
    async with env.db.session() as session:
        await registry.add_body(session, "SOMSWD", "Social Welfare and Development")
        await session.commit()
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        labour = await env.join(201, "delegate", "SLOM", "Philippines", "Maria")
        cross = await env.join(202, "delegate", "SOMSWD", "Thailand", "Anong")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        v0_parts = await wait_sections(health, 3)
        await labour.drain(quiet=1.0)
        await cross.drain(quiet=1.0)
        await comment(health, "2.2", "Every two years is too rare.")

        # A new version is refused while the round is open, and nothing is stored.
        await officer.send_document(revised_draft(), "plan-v1.docx")
        outline = await officer.wait_for("Parsed outline")
        assert "New version of" not in " ".join(outline.button_texts())
        await officer.press(outline, "Cancel")
        await officer.wait_for("nothing was stored")

        await officer.send("/close")
        await officer.wait_for("closed")
        # Without a kind, /open says what can come next.
        await officer.send("/open 14")
        refused = await officer.wait_for("is closed")
        assert "new version" in refused.content and "final" in refused.content

        # The same draft again is not a new version.
        await officer.send_document(small_draft(), "plan-again.docx")
        outline = await officer.wait_for("Parsed outline")
        await officer.press(outline, "New version of")
        same = await officer.wait_for("nothing was stored")
        assert "the same, clause for clause" in same.content

        # The revised draft is stored as v1, its clauses mapped to v0's.
        await officer.send_document(revised_draft(), "plan-v1.docx")
        outline = await officer.wait_for("Parsed outline")
        await officer.press(outline, "New version of")
        stored = await officer.wait_for("Stored as")
        assert "v1" in stored.content and "1 changed" in stored.content and "1 new" in stored.content

        await officer.send("/open final 14")
        opened = await officer.wait_for("is open until")
        assert "final comments stage (stage 2, v1)" in opened.content
        assert "Only the 2 clause(s) changed" in opened.content

        # Delegates get the changed clauses only, each with what it said before.
        intro = await health.wait_for("Final comments")
        assert "2 clauses changed since the last version" in intro.content
        parts = await wait_sections(health, 2 + 3)  # v0's three sections, then v1's two
        new_parts = parts[3:]
        assert [m.content.split("\n")[1] for m in new_parts] == ["2 Actions", "3 Review"]
        actions = new_parts[0].content
        assert "every year, starting in 2027" in actions and "it said:" in actions and "every two years" in actions
        assert "2.1" not in actions  # unchanged: not circulated again
        assert "new" in new_parts[1].content and "3.2" in new_parts[1].content

        # /draft sends the version circulated now, to read offline.
        await health.send("/draft")
        sent = await health.wait_for("as circulated")
        assert sent.document["file_name"].endswith("-v1.docx")
        texts_of_v1 = [p.text for p in Document(io.BytesIO(sent.file_bytes)).paragraphs]
        assert "2.2 Sectoral bodies will report progress every year, starting in 2027." in texts_of_v1

        # A button of v0's message now belongs to a closed stage.
        await health.press(with_clause(v0_parts, "2.1"), "💬 2.1")
        assert "earlier version" in (await health.wait_for("no longer accepted")).content
        # v1's clause takes a comment.
        await health.press(with_clause(new_parts, "2.2"), "💬 2.2")
        await health.press(await health.wait_for("What type of comment"), "Editorial")
        await health.wait_for("Write your editorial comment on 2.2")
        await health.send("Say from which year.")
        await health.press(await health.wait_for("propose new wording"), "Skip")
        await health.press(await health.wait_for("Please check"), "Send")
        await health.wait_for("is recorded")

        await officer.send("/close")
        await officer.wait_for("closed")
        # A review goes to the bodies named, and only to them.
        await officer.send("/open review 7")
        assert "name them" in (await officer.wait_for("review goes to")).content
        await labour.drain(quiet=0.5)
        await officer.send("/open review SOMSWD 7")
        opened = await officer.wait_for("is open until")
        assert "review stage (stage 3, v1)" in opened.content
        review = await cross.wait_for("asked to review v1")
        assert "3 sections" in review.content  # every section of v1, not only the changed ones
        await labour.drain(quiet=1.5)
        assert not [m for m in labour.messages() if "asked to review" in m.content]

        await officer.send("/stage")
        history = (await officer.wait_for("Stages")).content
        assert "v0: plan.docx" in history and "v1: plan-v1.docx" in history
        assert "1. Comments on v0" in history and "1 comment(s)" in history
        assert "2. Final comments on v1, changed clauses only" in history
        assert "3. Review on v1 to SOMSWD: 🟢 open until" in history

        # Endorsement while comments have no answer: a warning first, nothing opens yet.
        await officer.send("/close")
        await officer.wait_for("closed")
        await officer.send("/open endorsement 30")
        warning = await officer.wait_for("have no answer yet")
        assert "2 comments" in warning.content and "Open endorsement anyway" in warning.button_texts()
        await officer.send("/stage")
        history = await officer.wait_for("Stages")
        assert "4. Endorsement" not in history.content

        # The comparison of v0 and v1, and the whole record, from /stage.
        await officer.press(history, "Compare v0 → v1")
        compared = await officer.wait_for(lambda m: m.document is not None and "-v0-to-v1" in m.document["file_name"])
        assert "only the words that changed" in compared.content.lower()
        body = Document(io.BytesIO(compared.file_bytes)).element.body
        w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        inserted = "".join(t.text or "" for t in body.iter(f"{w}ins") for t in t.iter(f"{w}t"))
        assert "year, starting in 2027" in inserted and "A final review" in inserted  # words, not the clause
        await officer.press(history, "Export the whole record")
        exported = await officer.wait_for(lambda m: m.document is not None and m.document["file_name"].endswith(".zip"))
        names = zipfile.ZipFile(io.BytesIO(exported.file_bytes)).namelist()
        assert "comparisons/v0-to-v1.docx" in names and "record.json" in names
        # Chairs see the history, not the Secretariat's buttons.
        chair = await env.join(150, "chair", "SOMHD")
        await chair.send("/stage")
        assert (await chair.wait_for("Stages")).button_texts() == []


def draft_with_a_doubtful_match() -> bytes:
    """v1: 2.2 cut short, and its reporting period moved into a new clause 3.2, whose match
    the mapper is not sure of."""
    document = Document(io.BytesIO(small_draft()))
    for paragraph in document.paragraphs:
        if paragraph.text.startswith("2.2 "):
            paragraph.text = "2.2 Sectoral bodies will report on progress."
    document.add_paragraph("3.2 Reports are due every two years.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def test_a_doubtful_match_is_corrected_in_chat_before_the_version_is_stored(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await officer.send("/close")
        await officer.wait_for("closed")

        await officer.send_document(draft_with_a_doubtful_match(), "plan-v1.docx")
        await officer.press(await officer.wait_for("Parsed outline"), "New version of")
        preview = await officer.wait_for("not stored yet")
        assert "3.2 new" in preview.content and "% sure" in preview.content
        assert preview.button_texts() == ["✅ Store as v1", "✖️ Cancel"]

        # A clause that is not there changes nothing.
        await officer.send("9.9 = 2.2")
        assert "no clause “9.9”" in (await officer.wait_for("Nothing was changed")).content
        await officer.send("3.2 is what 2.2 said")
        assert "not a correction I can read" in (await officer.wait_for("Nothing was changed")).content
        # The Secretariat confirms 3.2 as new: nothing is left to check.
        await officer.send("3.2 new")
        corrected = await officer.wait_for("Your corrections")
        assert "3.2 new" in corrected.content and "No match left to check" in corrected.content
        await officer.press(corrected, "Store as v1")
        stored = await officer.wait_for("Stored as")
        assert "v1" in stored.content and "to check" not in stored.content

    async with env.db.session() as session:
        mapping = (await session.scalar(select(Version.mapping).where(Version.number == 1))) or []
    row = next(r for r in mapping if r["new"] == "3.2")
    assert (row["old"], row["kind"], row["basis"]) == (None, "new", "corrected")
