"""National focal points clear their state's comments: the clearance setting of a consultation."""

from __future__ import annotations

from tests.conversations.test_round import import_small_draft


async def comment(delegate, ref: str, text: str) -> None:
    """A comment by the command: editorial, no proposed wording, sent."""
    await delegate.send(f"/comment {ref} {text}")
    await delegate.press(await delegate.wait_for("What type of comment"), "Editorial")
    await delegate.press(await delegate.wait_for("propose new wording"), "Skip")
    await delegate.press(await delegate.wait_for("Please check"), "Send")
    await delegate.wait_for("is recorded")


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

        await comment(health, "1.2", "Refer to the national strategies by name.")
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
        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "1 comment(s) so far" in report.content and "✅ Thailand: 1 comment(s)" in report.content
        assert "Clearance" not in report.content
