"""A whole round through the real application and real HTTP: import, join, circulate,
comment three ways, edit, withdraw, status, consolidate."""

from __future__ import annotations

import functools
import io
import operator
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from docx import Document
from sqlalchemy import func, select

from bot.models import Comment, Consultation, Outbox
from tests.conversations.conftest import docx_comments
from tests.documents.reading import cover_content, cover_table_after
from tests.factories import small_draft


def section_messages(user):
    return [
        m
        for m in user.messages()
        if any(d and d.startswith("cm:") for _, d in functools.reduce(operator.iadd, m.buttons(), []))
    ]


async def wait_sections(user, count: int, timeout: float = 15.0):
    import asyncio

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        done = [
            m
            for m in user.messages()
            if any(d and d.startswith("nc:") for _, d in functools.reduce(operator.iadd, m.buttons(), []))
        ]
        if len(done) >= count:
            return section_messages(user)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} sections expected, got {user.messages()}")


def with_clause(messages, ref):
    return next(m for m in messages if f"💬 {ref}" in m.button_texts())


async def import_small_draft(officer, title="Plan of Action on Social Protection"):
    await officer.send_document(small_draft(title), "plan.docx")
    outline = await officer.wait_for("Parsed outline")
    await officer.press(outline, "new consultation")
    stored = await officer.wait_for("Draft stored")
    return stored


async def test_a_whole_round(env):
    server = env.server
    async with env.running():
        officer = await env.join(100, "secretariat", name="Mega")
        assert any(c["command"] == "consolidate" for c in officer.visible_commands())

        # Bad uploads are refused with a clear message and store nothing.
        await officer.send_document(b"%PDF-1.7 minutes", "minutes.pdf")
        assert "not a Word document" in (await officer.wait_for("Word")).content
        await officer.send_document(b"PK\x03\x04 truncated", "broken.docx")
        refused = await officer.wait_for("Nothing was stored")
        assert "Word" in refused.content or "docx" in refused.content

        stored = await import_small_draft(officer)
        assert "3 sections, 7 clauses" in stored.content
        assert "2 Actions — 4 clauses" in stored.content

        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        labour = await env.join(201, "delegate", "SLOM", "Philippines", "Maria")
        assert not any(c["command"] == "consolidate" for c in health.visible_commands())

        await health.send("/open 30")
        assert "for the Secretariat only" in (await health.next_message()).content
        await officer.send("/open 30")
        opened = await officer.wait_for("is open until")
        assert "2 registered contact(s)" in opened.content

        intro = await health.wait_for("You are asked to comment")
        assert "3 sections" in intro.content and "UTC+7" in intro.content
        parts = await wait_sections(health, 3)
        assert [m.content.split("\n")[1] for m in parts] == ["1 Purpose", "2 Actions", "3 Review"]

        # 1. From a clause's button, with proposed wording.
        await health.press(with_clause(parts, "2.1"), "💬 2.1")
        ask = await health.wait_for("What type of comment")
        assert "extend coverage to informal workers" in ask.content
        await health.press(ask, "Technical")
        await health.wait_for("Write your technical comment")
        await health.send("Name platform workers explicitly <they> & their families.")
        # The bot gives the clause's text to start from, with a button that copies it.
        ask = await health.wait_for("propose new wording")
        assert "the whole clause" in ask.content
        assert ask.copy_texts() == ["Member States will extend coverage to informal workers."]
        await health.send(ask.copy_texts()[0].replace("informal workers", "informal and platform workers"))
        check = await health.wait_for("Please check your comment")
        assert "<they> & their families" in check.content
        await health.press(check, "Send")
        assert "is recorded" in (await health.wait_for("technical comment on")).content

        # 2. By replying to a section message that holds one clause.
        review = with_clause(parts, "3.1")
        await health.send("Mid-term review should hear civil society.", reply_to=review)
        ask = await health.wait_for("What type of comment")
        assert "3.1" in ask.content
        await health.press(ask, "General")
        await health.press(await health.wait_for("propose new wording"), "Skip")
        await health.press(await health.wait_for("Please check your comment"), "Send")
        await health.wait_for("is recorded")

        # A reply to a multi-clause message asks which clause, unless the text names it.
        await health.send("2.2 Reporting every two years is heavy.", reply_to=with_clause(parts, "2.2"))
        ask = await health.wait_for("What type of comment")
        assert "2.2" in ask.content
        await health.press(ask, "Editorial")
        await health.press(await health.wait_for("propose new wording"), "Skip")
        await health.press(await health.wait_for("Please check"), "Cancel")
        await health.wait_for("nothing was recorded")

        # 3. With the command.
        await health.send("/comment 1.2 Refer to the national strategies by name.")
        await health.press(await health.wait_for("What type of comment"), "Editorial")
        await health.press(await health.wait_for("propose new wording"), "Skip")
        await health.press(await health.wait_for("Please check"), "Send")
        await health.wait_for("is recorded")

        # A wrong reference gets the nearest ones.
        await health.send("/comment 2.3 something")
        wrong = await health.wait_for("There is no clause")
        assert "2.1" in wrong.content and "Did you mean" in wrong.content

        # Edit one comment and withdraw another from /mycomments.
        await health.send("/mycomments")
        await health.wait_for("You have 3 comments")
        listed = [await health.next_message() for _ in range(3)]
        assert [m.content.split(" ")[0] for m in listed] == ["1.2", "2.1", "3.1"]
        await health.press(listed[2], "Edit")
        editing = await health.wait_for("Editing your comment")
        await health.press(editing, "Text")
        await health.wait_for("Write your")
        await health.send("Mid-term review should hear civil society and trade unions.")
        await health.press(await health.wait_for("Editing your comment"), "Send")
        assert "is updated" in (await health.wait_for("updated")).content
        await health.press(listed[0], "Withdraw")
        await health.press(await health.wait_for("Withdraw your comment"), "Yes, withdraw")
        await health.wait_for("is withdrawn")

        # The other delegate has nothing to say on section 1.
        labour_intro = await labour.wait_for("You are asked to comment")
        labour_parts = await wait_sections(labour, 3)
        await labour.press(labour_parts[0], "No comments on this section")
        await labour.wait_for("no comments on section")

        # People without the right role are refused; strangers are told to get an invite.
        # A delegate's copy of the draft is read for their Word comments: this one has none.
        await labour.send_document(small_draft(), "mine.docx")
        assert "no Word comments and no tracked changes" in (await labour.wait_for("Nothing was recorded")).content
        stranger = server.user(999, "Stranger")
        await stranger.send("/status")
        assert "not registered" in (await stranger.next_message()).content

        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "2 comment(s) so far" in report.content
        assert "SOMHD — 1 of 2 Member States responded" in report.content
        assert "SLOM — 1 of 2 Member States responded" in report.content
        assert "✅ Thailand: 2 comment(s)" in report.content

        await officer.send("/consolidate")
        document = await officer.wait_for(lambda m: m.document is not None, timeout=60)
        assert document.document["file_name"].endswith("-consolidated.docx")
        proposals = await officer.wait_for(lambda m: m.document is not None, timeout=60)
        matrix = await officer.wait_for(lambda m: m.document is not None, timeout=60)
        assert proposals.document["file_name"].endswith("-with-proposals.docx")
        assert matrix.document["file_name"].endswith("-comment-matrix.xlsx")

    # The cover names the draft, never the consultation's internal name; gives the
    # deadline in the Secretariat's zone (Jakarta), the moment the delegate in Manila was
    # told in hers; and counts the body and Member State pairs with nobody enrolled.
    slug = stored.content.split("Consultation: ")[1].split("\n")[0].strip()
    cover_text = "".join(cover_content(document.file_bytes).itertext())
    assert "Plan of Action on Social Protection" in cover_text and slug not in cover_text
    facts = dict(cover_table_after(document.file_bytes, "Consolidated draft with comments"))
    told = re.search(r"due by (\w+ \d+ \w+ \d{4}, \d\d:\d\d) \(UTC\+8\)", labour_intro.content)
    on_cover = re.fullmatch(r"(\w+ \d+ \w+ \d{4}, \d\d:\d\d) \(Asia/Jakarta, UTC\+7\)", facts["Deadline for comments"])
    assert told and on_cover, (labour_intro.content, facts)
    moment = "%a %d %b %Y, %H:%M"
    assert datetime.strptime(told.group(1), moment).replace(tzinfo=ZoneInfo("Asia/Manila")) == datetime.strptime(
        on_cover.group(1), moment
    ).replace(tzinfo=ZoneInfo("Asia/Jakarta"))
    responses = cover_table_after(document.file_bytes, "Responses")
    assert responses[0] == ["Body", "Responded (2)", "Did not respond (0)", "No contact enrolled (2)"]
    assert ["SOMHD", "Thailand", "\u2013", "Philippines"] in responses

    found = docx_comments(document.file_bytes)
    assert sorted(c["author"] for c in found) == ["SOMHD – Thailand", "SOMHD – Thailand"]
    by_anchor = {c["anchored"]: c["text"] for c in found}
    coverage = next(k for k in by_anchor if "extend coverage to informal workers" in k)
    assert "platform workers" in by_anchor[coverage]
    assert "informal and platform workers" in by_anchor[coverage]  # the proposed wording
    review_anchor = next(k for k in by_anchor if "reviewed at mid-term" in k)
    assert "trade unions" in by_anchor[review_anchor]
    assert not any("national strategies by name" in t for t in by_anchor.values())
    # The file opens with python-docx and carries the comment matrix.
    parsed = Document(io.BytesIO(document.file_bytes))
    assert any("Comment matrix" in p.text for p in parsed.paragraphs)

    # The proposed wording is a tracked change by its author in the second file.
    import zipfile

    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(proposals.file_bytes)) as z:
        body = etree.fromstring(z.read("word/document.xml"))
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    # Only the words added are marked: an insertion, and nothing deleted.
    changes = [(r.tag, "".join(r.itertext()).strip()) for r in body.iter(f"{w}ins", f"{w}del") if r.get(f"{w}author")]
    assert changes == [(f"{w}ins", "and platform")]
    # The matrix has one row per comment, numbered per Member State.
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(matrix.file_bytes)).active
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]]
    assert numbers == ["TH-001", "TH-002"]

    async with env.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Comment)) == 3
        statuses = set(await session.scalars(select(Outbox.status)))
        assert statuses == {"sent"}
        consultation = await session.scalar(select(Consultation))
        assert consultation.status == "open"
