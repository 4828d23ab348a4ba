"""Every inline keyboard, as rows of (label, callback data); the data is typed in `bot.callbacks`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from bot import callbacks as cb
from bot.models import Clause

if TYPE_CHECKING:
    from bot.services.endorsements import Ballot

Rows = list[list[tuple[str, str]]]

CLAUSE_BUTTONS_PER_ROW = 4


def _rows(buttons: Sequence[tuple[str, str]], per_row: int) -> Rows:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def _ref_label(ref: str) -> str:
    return ref if len(ref) <= 12 else ref[:11] + "…"


def section_buttons(clauses: Sequence[Clause], section_id: int, *, with_no_comments: bool) -> Rows:
    rows = _rows([(f"💬 {_ref_label(c.ref)}", cb.CommentOn(c.id).pack()) for c in clauses], CLAUSE_BUTTONS_PER_ROW)
    if with_no_comments:
        rows.append([("✅ No comments on this section", cb.NoComments(section_id).pack())])
    return rows


def clause_buttons(clause_id: int, clause_ref: str, section_id: int, section_ref: str) -> Rows:
    return [
        [(f"💬 Comment on {_ref_label(clause_ref)}", cb.CommentOn(clause_id).pack())],
        [(f"📖 Whole section {_ref_label(section_ref)}", cb.ShowSection(section_id).pack())],
    ]


def sections_menu(sections: Sequence[tuple[int, str]]) -> Rows:
    return [[(label, cb.ShowSection(section_id).pack())] for section_id, label in sections]


def pick_clause(clauses: Sequence[tuple[int, str]]) -> Rows:
    rows = _rows([(_ref_label(ref), cb.PickClause(cid).pack()) for cid, ref in clauses], CLAUSE_BUTTONS_PER_ROW)
    rows.append([("Cancel", cb.CancelComment().pack())])
    return rows


def kinds() -> Rows:
    return [
        [
            ("General", cb.ChooseKind("ge").pack()),
            ("Technical", cb.ChooseKind("te").pack()),
            ("Editorial", cb.ChooseKind("ed").pack()),
        ],
        [("Cancel", cb.CancelComment().pack())],
    ]


def proposed(clause_text: str = "") -> Rows:
    """Skip and Cancel; and, for a clause short enough, a button that copies its text."""
    rows: Rows = []
    if cb.CopyText.fits(clause_text.strip()):
        rows.append([cb.CopyText("📋 Copy the clause", clause_text.strip())])
    rows += [[("Skip – no new wording", cb.SkipProposed().pack())], [("Cancel", cb.CancelComment().pack())]]
    return rows


def text_step() -> Rows:
    return [[("Cancel", cb.CancelComment().pack())]]


def preview(has_proposed: bool) -> Rows:
    return [
        [("✅ Send", cb.SendComment().pack())],
        [
            ("✏️ Text", cb.ChangePart("text").pack()),
            ("📝 Wording" if not has_proposed else "📝 Change wording", cb.ChangePart("prop").pack()),
            ("🏷 Type", cb.ChangePart("kind").pack()),
        ],
        [("Cancel", cb.CancelComment().pack())],
    ]


def my_comment(comment_id: int) -> Rows:
    return [[("✏️ Edit", cb.EditComment(comment_id).pack()), ("🗑 Withdraw", cb.AskWithdraw(comment_id).pack())]]


def confirm_withdraw(comment_id: int) -> Rows:
    return [[("Yes, withdraw", cb.Withdraw(comment_id).pack()), ("No, keep it", cb.KeepComment(comment_id).pack())]]


def undo_no_comments(section_id: int) -> Rows:
    return [[("↩️ Undo", cb.UndoNoComments(section_id).pack())]]


def upload_choices(
    upload_id: int, replaceable: Sequence[tuple[int, str]], versionable: Sequence[tuple[int, str]] = ()
) -> Rows:
    rows: Rows = []
    for consultation_id, name in versionable[:5]:
        label = f"🆕 New version of {name}"
        rows.append(
            [(label if len(label) <= 60 else label[:59] + "…", cb.UploadVersion(upload_id, consultation_id).pack())]
        )
    rows.append([("✅ Store as a new consultation", cb.UploadNew(upload_id).pack())])
    for consultation_id, name in replaceable[:5]:
        label = f"♻️ Replace draft of {name}"
        rows.append(
            [(label if len(label) <= 60 else label[:59] + "…", cb.UploadReplace(upload_id, consultation_id).pack())]
        )
    rows.append([("✖️ Cancel", cb.UploadCancel(upload_id).pack())])
    return rows


def matrix_choices(upload_id: int, consultation_id: int, answers: int) -> Rows:
    return [
        [(f"✅ Store {answers} answer(s)", cb.MatrixApply(upload_id, consultation_id).pack())],
        [("✖️ Cancel", cb.MatrixCancel(upload_id).pack())],
    ]


def reminder(sections: Sequence[tuple[int, str]], consultation_id: int) -> Rows:
    rows = [[(label, cb.ShowSection(section_id).pack())] for section_id, label in sections[:8]]
    rows.append([("🔕 Mute reminders for this round", cb.Mute(consultation_id).pack())])
    return rows


def unmute(consultation_id: int) -> Rows:
    return [[("🔔 Turn reminders back on", cb.Unmute(consultation_id).pack())]]


def nudge(consultation_id: int, body_id: int, waiting: int) -> Rows:
    return [[(f"📣 Nudge the {waiting} not yet responded", cb.Nudge(consultation_id, body_id).pack())]]


def answer_choices(comment_id: int, *, changing: bool = False) -> Rows:
    """The four answers; then Later and Stop in a walk-through, Cancel when changing one answer."""
    last: list[tuple[str, str]] = (
        [("✖️ Cancel – keep the answer as it is", cb.CancelChange(comment_id).pack())]
        if changing
        else [("⏭ Later", cb.AnswerLater(comment_id).pack()), ("⏹ Stop", cb.AnswerStop().pack())]
    )
    return [
        [
            ("✅ Accepted", cb.AnswerWith(comment_id, "accepted").pack()),
            ("◐ In part", cb.AnswerWith(comment_id, "partly").pack()),
        ],
        [
            ("📝 Noted", cb.AnswerWith(comment_id, "noted").pack()),
            ("✖️ Not accepted", cb.AnswerWith(comment_id, "rejected").pack()),
        ],
        last,
    ]


def answer_observation(comment_id: int, *, optional: bool, changing: bool = False, keep: bool = False) -> Rows:
    """While the observation is awaited: skip it (where it is optional), keep the one the
    answer has (when changing it), or pick another answer."""
    rows: Rows = [[("Skip – no observation", cb.AnswerNoObservation(comment_id).pack())]] if optional else []
    if keep:
        rows.append([("↩️ Keep the observation it has", cb.KeepObservation(comment_id).pack())])
    return rows + answer_choices(comment_id, changing=changing)


def change_answer(comment_id: int, seen: int, *, answered: bool) -> Rows:
    """On a comment's card (and under an answer just recorded): change its answer."""
    label = "✏️ Change the answer" if answered else "✏️ Answer it"
    return [[(label, cb.ChangeAnswer(comment_id, seen).pack())]]


# --- a national focal point's review -------------------------------------------------------------------


def review_item(comment_id: int, mergeable: bool) -> Rows:
    rows: Rows = [
        [
            ("✅ Clear", cb.ClearComment(comment_id).pack()),
            ("↩️ Return", cb.ReturnComment(comment_id).pack()),
            ("✏️ Edit", cb.EditForState(comment_id).pack()),
        ]
    ]
    if mergeable:
        rows.append([("🔗 Merge with another on this clause", cb.MergePick(comment_id).pack())])
    return rows


def merge_with(comment_id: int, others: Sequence[tuple[int, str]]) -> Rows:
    rows: Rows = [[(label[:60], cb.MergeWith(comment_id, other).pack())] for other, label in others[:8]]
    rows.append([("Cancel", cb.CancelReview().pack())])
    return rows


def review_group(section_id: int, body_id: int, last_id: int, count: int) -> Rows:
    return [[(f"✅ Clear all {count} above", cb.ClearGroup(section_id, body_id, last_id).pack())]]


def review_step() -> Rows:
    return [[("Cancel", cb.CancelReview().pack())]]


def file_authors(upload_id: int, authors: Sequence[str]) -> Rows:
    rows: Rows = [[(f"👤 {name[:40]}", cb.FileAuthor(upload_id, i + 1).pack())] for i, name in enumerate(authors[:6])]
    rows.append([("👥 All of them", cb.FileAuthor(upload_id, 0).pack())])
    rows.append([("✖️ Cancel", cb.FileCancel(upload_id).pack())])
    return rows


def file_send(upload_id: int, author: int, count: int, *, can_pick: bool = True) -> Rows:
    return [
        [
            (f"Send {count} as general", cb.FileSend(upload_id, "ge", author).pack()),
        ],
        [
            (f"Send {count} as technical", cb.FileSend(upload_id, "te", author).pack()),
        ],
        [
            (f"Send {count} as editorial", cb.FileSend(upload_id, "ed", author).pack()),
        ],
        *([[("🗂 Choose which, and each one's type", cb.FilePick(upload_id, author).pack())]] if can_pick else []),
        [("✖️ Cancel", cb.FileCancel(upload_id).pack())],
    ]


KIND_MARKS = {"ge": "General", "te": "Technical", "ed": "Editorial", "skip": "✖ not sent"}


def file_pick(upload_id: int, author: int, refs: Sequence[str], choices: Sequence[str]) -> Rows:
    """One row per comment of the file: its clause and type; a tap changes the type."""
    rows: Rows = [
        [(f"{i + 1}. {ref[:20]} · {KIND_MARKS.get(choice, choice)}", cb.FileToggle(upload_id, author, i).pack())]
        for i, (ref, choice) in enumerate(zip(refs, choices, strict=True))
    ]
    chosen = sum(1 for c in choices if c != "skip")
    rows.append([(f"✅ Send the {chosen} chosen", cb.FileSend(upload_id, "pk", author).pack())])
    rows.append([("✖️ Cancel", cb.FileCancel(upload_id).pack())])
    return rows


# --- the endorsement stage ------------------------------------------------------------------------------


def ballot(b: Ballot) -> Rows:
    """The answers a contact can give (or change to), and the draft to read."""
    rows: Rows = []
    if b.is_open and not (b.body is not None and b.standing is not None and b.standing.for_state):
        current = b.standing.kind if b.standing is not None else None
        choices: list[tuple[str, str, Literal["e", "r", "c"]]] = [
            ("endorse", "✅ Endorse", "e"),
            ("reservation", "☑️ Endorse with a reservation", "r"),
            ("cannot", "⛔ Cannot endorse", "c"),
        ]
        for kind, label, code in choices:
            if kind == current and kind == "endorse":
                continue  # endorsed already: nothing to press again
            if kind == current:
                label = label.replace("Endorse with a reservation", "Change the reservation").replace(
                    "Cannot endorse", "Change the reason"
                )
            rows.append([(label, cb.Endorse(b.stage_id, code).pack())])
    rows.append([("📄 The draft (.docx)", cb.DraftOf(b.consultation_id).pack())])
    return rows


def endorsement_text_step(stage_id: int) -> Rows:
    return [[("✖️ Cancel", cb.EndorseCancel(stage_id).pack())]]


def endorsement_record(stage_id: int) -> Rows:
    return [[("📄 Endorsement record (.docx)", cb.EndorsementRecordFile(stage_id).pack())]]


def open_endorsement_anyway(consultation_id: int, deadline_minutes: int, silence: bool) -> Rows:
    return [
        [
            (
                "Open endorsement anyway",
                cb.OpenEndorsement(consultation_id, deadline_minutes, "1" if silence else "0").pack(),
            )
        ],
        [("Not now", cb.OpenEndorsementNot(consultation_id).pack())],
    ]


def stage_buttons(consultation_id: int, version_numbers: Sequence[int]) -> Rows:
    """Under /stage, for the Secretariat: each version compared with the one before, the record."""
    rows: Rows = [
        [(f"🔀 Compare v{n - 1} → v{n}", cb.CompareVersions(consultation_id, n).pack())]
        for n in version_numbers
        if n > 0
    ][-4:]
    rows.append([("📦 Export the whole record (.zip)", cb.ExportRecord(consultation_id).pack())])
    return rows


def version_preview(upload_id: int, label: str) -> Rows:
    return [
        [(f"✅ Store as {label}", cb.VersionStore(upload_id).pack())],
        [("✖️ Cancel", cb.UploadCancel(upload_id).pack())],
    ]
