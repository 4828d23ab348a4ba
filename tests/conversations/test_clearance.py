"""National focal points clear their state's comments: the clearance setting of a consultation."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from tests.conversations.conftest import docx_comments
from tests.conversations.test_round import import_small_draft


async def comment(delegate, ref: str, text: str) -> None:
    """A comment by the command: editorial, no proposed wording, sent."""
    await delegate.send(f"/comment {ref} {text}")
    await delegate.press(await delegate.wait_for("What type of comment"), "Editorial")
    await delegate.press(await delegate.wait_for("propose new wording"), "Skip")
    await delegate.press(await delegate.wait_for("Please check"), "Send")
    return await delegate.wait_for("is recorded")


async def test_required_clearance_holds_comments_back_until_it_is_switched_off(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        await env.join(201, "delegate", "SLOM", "Philippines", "Maria")
        await env.join(300, "focal", None, "Thailand", "Malee")

        # Bad input changes nothing.
        await officer.send("/clearance maybe")
        assert "not a clearance setting" in (await officer.next_message()).content
        await officer.send("/clearance")
        assert "off (every comment reaches the Secretariat" in (await officer.next_message()).content
        await health.send("/clearance required")
        assert "Secretariat only" in (await health.next_message()).content

        await officer.send("/clearance required")
        set_required = await officer.wait_for("Clearance by the national focal points")
        assert "required (a comment reaches the Secretariat only once" in set_required.content
        assert "no focal point has joined for Philippines" in set_required.content
        assert "Thailand" not in set_required.content.split("joined for", 1)[1]
        await officer.send("/open 30")
        opened = await officer.wait_for("is open until")
        assert "no focal point has joined for Philippines" in opened.content

        recorded = await comment(health, "1.2", "Refer to the national strategies by name.")
        assert "focal point, who clears it before it reaches the Secretariat" in recorded.content
        await health.send("/review")
        assert "is for national focal points" in (await health.next_message()).content
        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "0 comment(s) so far" in report.content
        assert "🛂 Clearance: required" in report.content
        assert "no focal point has joined for Philippines" in report.content
        assert "⏳ Thailand:" in report.content and "1 waiting for clearance" in report.content

        # Switched off mid-round: the comment waiting counts at once, and the reply says so.
        await officer.send("/clearance off")
        switched = await officer.wait_for("Clearance by the national focal points")
        assert "1 comment not cleared (1 waiting for clearance) now count at once" in switched.content
        recorded = await comment(health, "2.2", "Every three years.")
        assert "focal point" not in recorded.content
        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "2 comment(s) so far" in report.content and "✅ Thailand: 2 comment(s)" in report.content
        assert "Clearance" not in report.content


def _comment_message(messages, ref: str, author: str):
    return next(m for m in messages if m.content.startswith(ref + " ") and author in m.content)


async def _review(focal, groups: int):
    """/review: the messages up to the last group's "clear them all"."""
    await focal.send("/review")
    await focal.wait_for("waiting for clearance, by section and body")
    shown = []
    for _ in range(groups):
        while True:
            message = await focal.next_message(timeout=20)
            shown.append(message)
            if "Clear them all at once?" in message.content:
                break
    return shown


async def test_a_focal_point_returns_merges_and_clears_and_a_restart_loses_nothing(env):
    from tests.conversations.test_access import forge_press

    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        labour = await env.join(201, "delegate", "SLOM", "Thailand", "Kanya")
        malee = await env.join(300, "focal", None, "Thailand", "Malee")
        niran = await env.join(301, "focal", None, "Thailand", "Niran")
        manila = await env.join(302, "focal", None, "Philippines", "Jose")
        await officer.send("/clearance required")
        await officer.wait_for("Clearance by the national focal points")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        await health.drain(quiet=1.0)
        await labour.drain(quiet=1.0)

        # The first comment brings each Thai focal point the day's digest; the later ones wait a day.
        # (A digest still queued when more comments come gives way to one counting them all,
        # so the next comments are made once it has gone out.)
        await comment(health, "1.2", "Refer to the national strategies by name.")
        digest = await malee.wait_for("of your state to clear")
        assert "1 new comment" in digest.content and "• 1 Purpose · SOMHD: 1" in digest.content
        await comment(health, "2.1", "Name platform workers.")
        await comment(labour, "2.1", "Include domestic workers.")
        await comment(labour, "2.2", "Every three years is enough.")

        await manila.send("/review")
        assert "Nothing is waiting for your clearance" in (await manila.next_message()).content
        shown = await _review(malee, 3)
        headers = [m.content for m in shown if m.content.startswith("📂")]
        assert [h.split(" · ", 1)[1] for h in headers] == [
            "section 1 Purpose · SOMHD",
            "section 2 Actions · SLOM",
            "section 2 Actions · SOMHD",
        ]
        strategies = _comment_message(shown, "1.2", "Somchai")
        domestic = _comment_message(shown, "2.1", "Kanya")
        platform = _comment_message(shown, "2.1", "Somchai")
        three_years = _comment_message(shown, "2.2", "Kanya")
        assert "🔗 Merge with another on this clause" in domestic.button_texts()
        assert "🔗 Merge with another on this clause" not in strategies.button_texts()

        # Bad input: another state's focal point with a forged button, a delegate pressing
        # a focal point's button; both change nothing.
        clear_data = next(data for text, data in strategies.buttons()[0] if text == "✅ Clear")
        forge_press(manila, manila.messages()[-1], clear_data)
        assert "not of your Member State" in (await manila.wait_for("Member State")).content
        query = forge_press(health, health.messages()[-1], clear_data)
        assert "not for your role" in (await health.wait_callback_answer(query))["text"]

        # Return with a note: the delegate is told, sees it in /mycomments, revises and resubmits.
        await malee.press(strategies, "↩️ Return")
        await malee.wait_for("Write the note they will get")
        await malee.send("Cite the 2025 national strategy.")
        assert "is returned. Its delegate is told" in (await malee.wait_for("is returned")).content
        told = await health.wait_for("returned your comment on")
        assert "the Thailand focal point returned your comment on 1.2" in told.content
        assert "Cite the 2025 national strategy." in told.content
        await health.send("/mycomments")
        await health.wait_for("You have 2 comments")
        mine = [await health.next_message() for _ in range(2)]
        assert "Returned by your focal point" in mine[0].content and "Cite the 2025" in mine[0].content
        assert "Waiting for clearance by your focal point" in mine[1].content
        await health.press(mine[0], "Edit")
        editing = await health.wait_for("Editing your comment")
        await health.press(editing, "Text")
        await health.wait_for("Write your")
        await health.send("Refer to the 2025 National Social Protection Strategy by name.")
        await health.press(await health.wait_for("Editing your comment"), "Send")
        await health.wait_for("is updated")

        # Two focal points of one state press Clear on one comment at once: one clears it,
        # the other is told who did.
        await niran.drain()
        shown_niran = await _review(niran, 3)
        three_years_niran = _comment_message(shown_niran, "2.2", "Kanya")
        await malee.press(three_years, "✅ Clear")
        await niran.press(three_years_niran, "✅ Clear")
        first = await malee.wait_for(
            lambda m: "2.2" in m.content and ("Cleared" in m.content or "already" in m.content)
        )
        second = await niran.wait_for(
            lambda m: "2.2" in m.content and ("Cleared" in m.content or "already" in m.content)
        )
        outcomes = sorted([first.content, second.content])
        assert outcomes[0].startswith("The comment on 2.2 was already cleared by ")
        assert outcomes[1].startswith("✅ Cleared: the comment on 2.2")

        # Merge two comments of the state on one clause; the merged one then clears.
        await malee.press(domestic, "🔗 Merge with another on this clause")
        choose = await malee.wait_for("Merge the comment on")
        await malee.press(choose, choose.button_texts()[0])
        merged = await malee.wait_for("Merged: one comment on")
        assert "Include domestic workers." in merged.content and "Name platform workers." in merged.content
        await malee.press(platform, "✅ Clear")
        assert "merged into another meanwhile" in (await malee.wait_for("merged into another")).content
        await malee.press(merged, "✅ Clear")
        await malee.wait_for("✅ Cleared: the comment on 2.1")

        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "2 comment(s) so far" in report.content
        assert "✅ Thailand: 2 comment(s)" in report.content  # SLOM: the merged 2.1 and 2.2
        assert "1 waiting for clearance" in report.content  # SOMHD: the resubmitted 1.2

    # A restart while a comment waits for clearance: it is still there, and clears.
    async with env.running():
        shown = await _review(niran, 1)
        assert "2025 National Social Protection Strategy" in _comment_message(shown, "1.2", "Somchai").content
        await niran.press(shown[-1], "✅ Clear all 1 above")
        await niran.wait_for("Cleared 1 comment")
        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "3 comment(s) so far" in report.content and "waiting for clearance" not in report.content


async def test_advisory_clearance_counts_every_comment_and_a_focal_point_edits_for_the_state(env):
    env.settings.national_lead_days = 7
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        health = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        malee = await env.join(300, "focal", None, "Thailand", "Malee")
        await officer.send("/clearance advisory")
        assert "advisory (every comment counts" in (await officer.wait_for("Clearance by")).content
        await officer.send("/open 30")
        opened = await officer.wait_for("is open until")
        assert "no focal point" not in opened.content
        await health.drain(quiet=1.0)
        await health.send("/deadline")
        deadlines = (await health.wait_for("Deadlines")).content
        assert "national deadline (to your focal point):" in deadlines
        # 30 days, or 31 once the day has turned in the Secretariat's zone; a week less for the nation.
        left = [int(n) for n in re.findall(r"— (\d+) days left", deadlines)]
        assert len(left) == 2 and left[0] in (30, 31) and left[0] - left[1] == 7, deadlines
        await comment(health, "1.2", "Refer to the national strategies by name.")
        await comment(health, "3.1", "Hear civil society.")

        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "2 comment(s) so far" in report.content and "🛂 Clearance: advisory" in report.content
        assert "✅ Thailand: 2 comment(s)" in report.content and "0 cleared, 2 waiting for clearance" in report.content

        shown = await _review(malee, 2)
        strategies = _comment_message(shown, "1.2", "Somchai")
        review = _comment_message(shown, "3.1", "Somchai")
        await malee.press(strategies, "✏️ Edit")
        await malee.wait_for("Send its new text")
        await malee.send("Thailand asks that national strategies be named.")
        await malee.wait_for("now reads as you wrote it")
        await malee.press(strategies, "✅ Clear")
        await malee.wait_for("✅ Cleared: the comment on 1.2")

        # The delegate withdraws a comment the focal point has on screen: clearing it changes nothing.
        await health.send("/mycomments")
        await health.wait_for("You have 2 comments")
        mine = [await health.next_message() for _ in range(2)]
        assert "Cleared by your focal point" in mine[0].content
        assert "Thailand asks that national strategies be named." in mine[0].content
        await health.press(mine[1], "Withdraw")
        await health.press(await health.wait_for("Withdraw your comment"), "Yes, withdraw")
        await health.wait_for("is withdrawn")
        await malee.press(review, "✅ Clear")
        assert "withdrawn by its delegate" in (await malee.wait_for("withdrawn")).content

        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "1 comment(s) so far" in report.content and "1 cleared" in report.content
        assert "waiting for clearance" not in report.content

        # The focal point adds the state's own comment: it needs no clearance.
        own = await comment(malee, "2.1", "Thailand supports this clause.")
        assert "as your state's own comment" in own.content
        await malee.send("/review")
        assert "Nothing is waiting for your clearance" in (await malee.next_message()).content
        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "2 comment(s) so far" in report.content
        assert "own comments (by their focal points): Thailand 1" in report.content

        # The documents say which comments the state's focal point cleared.
        await comment(health, "2.2", "Every three years.")
        await officer.send("/consolidate")
        document = await officer.wait_for(lambda m: m.document is not None, timeout=60)
        await officer.wait_for(lambda m: m.document is not None, timeout=60)
        matrix = await officer.wait_for(lambda m: m.document is not None, timeout=60)
        await officer.send("/history TH-001")
        card = await officer.wait_for("TH-001")
    # Each Word comment opens with its type spelled out ("Technical: …").
    found = {c["text"].split(":", 1)[1].split(".", 1)[0].strip(): c["text"] for c in docx_comments(document.file_bytes)}
    assert "Cleared by the Thailand focal point." in found["Thailand asks that national strategies be named"]
    assert "Not cleared by the Thailand focal point." in found["Every three years"]
    authors = {c["author"] for c in docx_comments(document.file_bytes)}
    assert authors == {"SOMHD – Thailand", "Thailand"}  # the state's own comment: no body
    sheet = load_workbook(io.BytesIO(matrix.file_bytes)).active
    rows = [(row[1], row[2]) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows == [
        ("SOMHD", "Thailand\n(cleared by the Thailand focal point)"),
        (None, "Thailand\n(cleared by the Thailand focal point)"),
        ("SOMHD", "Thailand\n(not cleared by the Thailand focal point)"),
    ]
    assert "Clearance by the focal point:" in card.content
    assert "Malee: edited (the text before: “Refer to the national strategies by name.”)" in card.content
    assert "Malee: cleared" in card.content
