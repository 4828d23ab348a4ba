"""Every inline keyboard, as rows of (label, callback data).

Callback data is a short prefixed id well under Telegram's 64-byte limit:

    cm:<clause>      comment on a clause          pk:<clause>   pick the clause of a reply
    nc:<section>     no comments on a section     ncu:<section> undo that
    sec:<section>    show a section               k:<ge|te|ed>  comment type
    skip             no proposed wording          ok / x        send / cancel the comment
    pv:<text|prop|kind>  change part of the comment being written
    me:<comment> / mw:<comment> / mwy:<comment> / mwn:<comment>   edit / withdraw / confirm / keep
    up:n:<upload> / up:r:<upload>:<consultation> / up:x:<upload>    confirm an uploaded draft
"""

from __future__ import annotations

from collections.abc import Sequence

Rows = list[list[tuple[str, str]]]

CLAUSE_BUTTONS_PER_ROW = 4


def _rows(buttons: Sequence[tuple[str, str]], per_row: int) -> Rows:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def _ref_label(ref: str) -> str:
    return ref if len(ref) <= 12 else ref[:11] + "…"


def section_buttons(clauses, section_id: int, *, with_no_comments: bool) -> Rows:
    rows = _rows([(f"💬 {_ref_label(c.ref)}", f"cm:{c.id}") for c in clauses], CLAUSE_BUTTONS_PER_ROW)
    if with_no_comments:
        rows.append([("✅ No comments on this section", f"nc:{section_id}")])
    return rows


def clause_buttons(clause_id: int, clause_ref: str, section_id: int, section_ref: str) -> Rows:
    return [
        [(f"💬 Comment on {_ref_label(clause_ref)}", f"cm:{clause_id}")],
        [(f"📖 Whole section {_ref_label(section_ref)}", f"sec:{section_id}")],
    ]


def sections_menu(sections: Sequence[tuple[int, str]]) -> Rows:
    return [[(label, f"sec:{section_id}")] for section_id, label in sections]


def pick_clause(clauses: Sequence[tuple[int, str]]) -> Rows:
    rows = _rows([(_ref_label(ref), f"pk:{cid}") for cid, ref in clauses], CLAUSE_BUTTONS_PER_ROW)
    rows.append([("Cancel", "x")])
    return rows


def kinds() -> Rows:
    return [[("General", "k:ge"), ("Technical", "k:te"), ("Editorial", "k:ed")], [("Cancel", "x")]]


def proposed() -> Rows:
    return [[("Skip – no new wording", "skip")], [("Cancel", "x")]]


def text_step() -> Rows:
    return [[("Cancel", "x")]]


def preview(has_proposed: bool) -> Rows:
    return [
        [("✅ Send", "ok")],
        [("✏️ Text", "pv:text"), ("📝 Wording" if not has_proposed else "📝 Change wording", "pv:prop"), ("🏷 Type", "pv:kind")],
        [("Cancel", "x")],
    ]


def my_comment(comment_id: int) -> Rows:
    return [[("✏️ Edit", f"me:{comment_id}"), ("🗑 Withdraw", f"mw:{comment_id}")]]


def confirm_withdraw(comment_id: int) -> Rows:
    return [[("Yes, withdraw", f"mwy:{comment_id}"), ("No, keep it", f"mwn:{comment_id}")]]


def undo_no_comments(section_id: int) -> Rows:
    return [[("↩️ Undo", f"ncu:{section_id}")]]


def upload_choices(upload_id: int, replaceable: Sequence[tuple[int, str]]) -> Rows:
    rows: Rows = [[("✅ Store as a new consultation", f"up:n:{upload_id}")]]
    for consultation_id, name in replaceable[:5]:
        label = f"♻️ Replace draft of {name}"
        rows.append([(label if len(label) <= 60 else label[:59] + "…", f"up:r:{upload_id}:{consultation_id}")])
    rows.append([("✖️ Cancel", f"up:x:{upload_id}")])
    return rows


def reminder(sections: Sequence[tuple[int, str]], consultation_id: int) -> Rows:
    rows = [[(label, f"sec:{section_id}")] for section_id, label in sections[:8]]
    rows.append([("🔕 Mute reminders for this round", f"mute:{consultation_id}")])
    return rows


def unmute(consultation_id: int) -> Rows:
    return [[("🔔 Turn reminders back on", f"unmute:{consultation_id}")]]


def nudge(consultation_id: int, body_id: int, waiting: int) -> Rows:
    return [[(f"📣 Nudge the {waiting} not yet responded", f"nudge:{consultation_id}:{body_id}")]]
