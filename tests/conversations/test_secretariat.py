"""The Secretariat's chat commands: invites, routing, several consultations side by side."""

from __future__ import annotations

import re

from tests.conversations.test_round import import_small_draft


async def test_invites_issued_in_chat_work_once(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await officer.send("/invite delegate SOMHD Thailand Somchai Jaidee")
        issued = await officer.wait_for("Invite for")
        assert "Somchai Jaidee" in issued.content and "SOMHD – Thailand" in issued.content
        token = re.search(r"\?start=([A-Za-z0-9_-]+)", issued.content).group(1)
        assert "https://t.me/clausebot_local_bot?start=" in issued.content

        await officer.send("/invite delegate SOMHD Narnia")
        assert "no Member State" in (await officer.next_message()).content
        await officer.send("/invite")
        assert "Usage" in (await officer.next_message()).content

        somchai = env.server.user(300, "Somchai")
        await somchai.send(f"/start {token}")
        joined = await somchai.next_message()
        assert "registered as delegate" in joined.content
        assert "SOMHD – Thailand" in joined.content
        intruder = env.server.user(301, "Someone")
        await intruder.send(f"/start {token}")
        assert "already been used" in (await intruder.next_message()).content
        await intruder.send("/start not-a-real-token-at-all")
        assert "not valid" in (await intruder.next_message()).content
        await somchai.send("/invite delegate SLOM Thailand")
        assert "Secretariat only" in (await somchai.next_message()).content


async def test_routing_and_two_consultations_side_by_side(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer, "Plan of Action")
        await import_small_draft(officer, "Framework")
        await officer.send("/open")
        assert "several consultations" in (await officer.next_message()).content

        # The Framework goes only to SLOM, its section 3 to SOMHD as well.
        await officer.send("/route framework all SLOM")
        await officer.wait_for("Routing of framework")
        await officer.send("/route framework 3 SLOM SOMHD")
        table = await officer.wait_for("Routing of framework")
        assert "• 1: SLOM" in table.content and "• 3: SLOM, SOMHD" in table.content
        await officer.send("/route framework 9 SLOM")
        assert "No section 9" in (await officer.next_message()).content

        health = await env.join(200, "delegate", "SOMHD", "Thailand")
        labour = await env.join(201, "delegate", "SLOM", "Thailand")
        await officer.send("/open framework 20")
        await officer.wait_for("is open until")
        await officer.send("/open plan-of-action 40")
        await officer.wait_for("is open until")

        await labour.drain(quiet=1.0)
        await health.drain(quiet=1.0)
        labour_intros = [m for m in labour.messages() if "You are asked to comment" in m.content]
        health_intros = [m for m in health.messages() if "You are asked to comment" in m.content]
        assert sorted(m.content.split("\n")[0] for m in labour_intros) == ["📨 Framework", "📨 Plan of Action"]
        assert sorted(m.content.split("\n")[0] for m in health_intros) == ["📨 Framework", "📨 Plan of Action"]
        framework_for_health = next(m for m in health_intros if "Framework" in m.content)
        assert "comment on 1 section" in framework_for_health.content

        await health.send("/deadline")
        deadlines = await health.wait_for("Deadlines")
        assert "Framework" in deadlines.content and "Plan of Action" in deadlines.content

        # A clause outside the sections routed to the body is not offered.
        await health.send("/status")
        assert "for chairs and the Secretariat" in (await health.next_message()).content
        await officer.send("/status framework")
        report = await officer.wait_for("so far")
        assert "SLOM — 0 of 2" in report.content and "SOMHD — 0 of 2" in report.content


async def test_a_focal_point_is_invited_in_chat_and_gets_the_role_s_help_and_menu(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await officer.send("/invite focal")
        assert "needs their Member State" in (await officer.next_message()).content
        await officer.send("/invite focal SOMHD Thailand")
        assert "no Member State" in (await officer.next_message()).content
        await officer.send("/invite focal Thailand Malee Srisuk")
        issued = await officer.wait_for("Invite for")
        assert "Malee Srisuk, national focal point (Thailand)" in issued.content
        token = re.search(r"\?start=([A-Za-z0-9_-]+)", issued.content).group(1)

        malee = env.server.user(310, "Malee")
        await malee.send(f"/start {token}")
        joined = await malee.next_message()
        assert "registered as national focal point for Thailand" in joined.content
        await malee.send("/help")
        assert "National focal point" in (await malee.next_message()).content
        menu = [c["command"] for c in malee.visible_commands()]
        assert {"help", "sections", "review", "comment", "mycomments"} <= set(menu) and "consolidate" not in menu
        await malee.send("/consolidate")
        assert "Secretariat only" in (await malee.next_message()).content
