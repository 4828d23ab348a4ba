"""A delegate sends the draft back with Word comments and tracked changes, through the real
application and real HTTP: what the bot found, whose they are, sent as comments of one type."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import Comment
from bot.services import rounds
from tests.documents.builders import WordFile
from tests.documents.test_commented import TEXT, write
from tests.factories import small_draft


def commented_copy(*, macros: bool = False) -> bytes:
    """The circulated draft with Somchai's comment on 1.2, his tracked change in 2.3, and a
    colleague's comment on 3.1 left in the file (saved with macros: a .docm)."""
    doc = WordFile("word")
    if macros:
        doc.document_type = "application/vnd.ms-word.document.macroEnabled.main+xml"
        doc.extra_members["word/vbaProject.bin"] = b"\x00macro"
    floor = doc.comment("Somchai", "Which floor? Refer to the national definition.")
    colleague = doc.comment("Ana Reyes", "Two years is short for a baseline.")
    text_23 = TEXT["2.3"]
    first, rest = text_23.split(" ", 1)
    write(
        doc,
        {
            "1.2": lambda d: d.para(
                d.run("1.2 Coverage shall be extended progressively, beginning with a "),
                d.on(floor, d.run("nationally defined floor")),
                d.run(" of basic income security."),
            ),
            "2.3": lambda d: d.para(d.run(f"2.3 {first} "), d.ins("promptly ", "Somchai"), d.run(rest)),
            "3.1": lambda d: d.para(d.on(colleague, d.run(f"3.1 {TEXT['3.1']}"))),
        },
    )
    return doc.bytes()


async def _officer_with_the_draft(env):
    """The Secretariat, having stored the framework draft as a new consultation."""
    officer = await env.join(100, "secretariat")
    await officer.send_document(write(WordFile()).bytes(), "framework.docx")
    await officer.press(await officer.wait_for("Parsed outline"), "new consultation")
    await officer.wait_for("Draft stored")
    return officer


async def test_a_delegates_word_comments_and_tracked_changes_become_their_comments(env):
    async with env.running():
        officer = await _officer_with_the_draft(env)
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")

        # Before the round opens there is nothing to comment on.
        await health.send_document(commented_copy(), "framework-TH.docx")
        assert "No consultation is open" in (await health.wait_for("not read")).content

        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await health.drain(quiet=1.0)

        # Bad files get a clear answer and record nothing.
        await health.send_document(small_draft(), "other-plan.docx")
        assert "does not look like a commented copy" in (await health.wait_for("Nothing was recorded")).content
        await health.send_document(commented_copy(macros=True), "framework-TH.docm")
        assert "macros" in (await health.wait_for("Nothing was recorded")).content
        await health.send_document(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "framework-TH.docx")
        assert "Nothing was recorded" in (await health.wait_for("Nothing was recorded")).content

        # Two people wrote in this copy: the bot asks whose comments are the delegate's.
        await health.send_document(commented_copy(), "framework-TH.docx")
        whose = await health.wait_for("Whose are to be sent")
        assert "Somchai" in whose.content and "Ana Reyes" in whose.content
        await health.press(whose, "Somchai")
        found = await health.wait_for("Your Word file")
        assert "1 comment(s) on 1.2" in found.content and "1 proposed change(s) on 2.3" in found.content
        assert "3.1" not in found.content  # the colleague's comment is not read
        await health.press(found, "Send 2 as technical")
        sent = await health.wait_for("recorded on")
        assert "2 comment(s)" in sent.content and "1.2 and 2.3" in sent.content

        await health.send("/mycomments")
        mine = await health.wait_for("1.2")
        assert "Which floor?" in mine.content

        # The Secretariat forwards a delegate's copy from an e-mail: the bot tells it from a
        # draft, says how comments come in, and still lets a revised draft go on; nothing is
        # recorded as a comment.
        await officer.send_document(commented_copy(), "framework-from-email.docx")
        forwarded = await officer.wait_for("Parsed outline")
        assert "looks like a copy of" in forwarded.content and "send the file to the bot" in forwarded.content
        await officer.press(forwarded, "Cancel")
        await officer.wait_for("Upload discarded")
        # A draft of its own is not taken for one.
        await officer.send_document(small_draft(), "other-plan.docx")
        other = await officer.wait_for("Parsed outline")
        assert "looks like a copy" not in other.content
    async with env.db.session() as session:
        rows = (await session.execute(select(Comment.kind, Comment.text, Comment.proposed))).all()
        total = await session.scalar(select(func.count()).select_from(Comment))
    assert total == 2
    proposed = [p for _, _, p in rows if p]
    assert proposed == [f"{TEXT['2.3'].split(' ', 1)[0]} promptly {TEXT['2.3'].split(' ', 1)[1]}"]
    assert {k for k, _, _ in rows} == {"te"}


async def test_a_delegate_picks_which_of_the_files_comments_to_send_and_each_ones_type(env):
    async with env.running():
        officer = await _officer_with_the_draft(env)
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await health.drain(quiet=1.0)

        await health.send_document(commented_copy(), "framework-TH.docx")
        await health.press(await health.wait_for("Whose are to be sent"), "All of them")
        found = await health.wait_for("Your Word file")
        await health.press(found, "Choose which")
        listed = await health.wait_for("The comments of your Word file")
        assert [b.split(" · ")[0] for b in listed.button_texts()[:3]] == ["1. 1.2", "2. 3.1", "3. 2.3"]
        assert "(a proposed change alone)" in listed.content
        # 1.2 as editorial; the colleague's 3.1 left out; 2.3 stays technical.
        await health.press(listed, "1. 1.2")
        await health.wait_for(lambda m: "1. 1.2 · Editorial" in m.button_texts())
        for label in ("2. 3.1 · Technical", "2. 3.1 · Editorial"):
            await health.press(listed, label)
            await health.wait_for(lambda m, after=label: after not in m.button_texts())
        shown = health.message(listed.message_id)
        assert "2. 3.1 · ✖ not sent" in shown.button_texts() and "✅ Send the 2 chosen" in shown.button_texts()
        await health.press(shown, "Send the 2 chosen")
        sent = await health.wait_for("recorded on")
        assert "2 comment(s)" in sent.content
    async with env.db.session() as session:
        rows = dict((await session.execute(select(Comment.text, Comment.kind))).all())
    assert len(rows) == 2 and "Two years is short for a baseline." not in rows
    assert rows["Which floor? Refer to the national definition."] == "ed"
    assert set(rows.values()) == {"ed", "te"}


def _file_with_strays() -> bytes:
    """Niran's copy: a comment on 1.2, one on the heading of section 2, one on 3.1."""
    doc = WordFile("word")
    on_12 = doc.comment("Niran", "Name the floor.")
    on_heading = doc.comment("Niran", "Rename this section.")
    on_31 = doc.comment("Niran", "Two years is short.")
    write(
        doc,
        {
            "1.2": lambda d: d.para(d.on(on_12, d.run(f"1.2 {TEXT['1.2']}"))),
            "h2": lambda d: d.para(d.on(on_heading, d.run("Regional framework")), style="Heading1"),
            "3.1": lambda d: d.para(d.on(on_31, d.run(f"3.1 {TEXT['3.1']}"))),
        },
    )
    return doc.bytes()


async def test_what_a_file_holds_that_cannot_be_sent_is_named_and_cancel_records_nothing(env):
    async with env.running():
        officer = await _officer_with_the_draft(env)
        labour = await env.join(201, "delegate", "SLOM", "Thailand", "Niran")
        await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        async with env.db.session() as session:
            (name,) = [c.name for c in await rounds.all_consultations(session)]
        # Section 3 goes to the health body only; sections 1 and 2 to both.
        await officer.send(f"/route {name} 3 SOMHD")
        await officer.wait_for("SOMHD")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await labour.drain(quiet=1.0)

        await labour.send_document(_file_with_strays(), "framework-SLOM.docx")
        found = await labour.wait_for("Your Word file")
        # Read against the whole draft: 3.1 is found, and left out as not asked of the body.
        assert "2 comment(s) on 1.2 and 3.1" in found.content and "become 1 comment(s)" in found.content
        assert "1 it could not place on a clause (1 on a heading" in found.content
        assert "on 3.1, which your body is not asked about: left out" in found.content
        await labour.press(found, "Cancel")
        await labour.wait_for("nothing was recorded")
    async with env.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Comment)) == 0
