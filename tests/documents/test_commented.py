"""A delegate's own Word file with comments and tracked changes: documents.commented.

Every file is a copy of one small draft (three sections, ten clauses with typed numbers)
written as Word, LibreOffice or Google Docs write theirs (tests/documents/builders.py,
``WordFile``). The current draft's clauses are what ``parse_draft`` reads from the file
with every change rejected, so each test also checks that its file is a true copy; the
text a proposal must give is what ``parse_draft`` reads once every change is accepted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from documents.commented import (
    MAX_COMMENTS,
    MIN_SHARE,
    ChangeKind,
    CommentedCopy,
    CommentedFileError,
    Refusal,
    Unplaced,
    UploadKind,
    kind_of_upload,
    read_commented,
)
from documents.draft import parse_draft
from documents.versions import Clause, clauses_of

from .builders import WordFile, accept_all, reject_all

SECTIONS = {
    "1": "Vision, goal and principles",
    "2": "Regional framework",
    "3": "Monitoring and evaluation",
}
TEXT = {
    "1.1": "The Framework envisions an ASEAN Community in which every person enjoys adequate social protection throughout the life cycle.",
    "1.2": "Coverage shall be extended progressively, beginning with a nationally defined floor of basic income security.",
    "1.3": "Member States shall identify the groups not yet covered by any scheme, including workers in the informal economy.",
    "2.1": "Where contributory schemes cannot yet reach certain groups, non-contributory programmes shall be used to close the gap.",
    "2.2": "Member States shall allocate adequate financial resources for social protection in their national budgets.",
    "2.3": "Implementation shall involve the participation of other sectors, including the private sector and civil society.",
    "2.4": "The Secretariat shall support the sectoral bodies in sharing good practices on the design of schemes.",
    "3.1": "Establish a regional baseline on social protection coverage, expenditure and outcomes within two years of adoption.",
    "3.2": "Compile global and national indicators relevant to social protection, including those of the Sustainable Development Goals.",
    "3.3": "Undertake a mid-term review and a final evaluation of the Framework and report the findings to the Senior Officials.",
}
# 3.2 goes on in a second paragraph.
MORE_3_2 = "Indicators shall be disaggregated by sex, age, disability and place of residence."

Writer = Callable[[WordFile], None]


def write(doc: WordFile, custom: dict[str, Writer] | None = None) -> WordFile:
    """The draft into ``doc``; ``custom[ref]`` writes that clause's paragraphs instead,
    ``custom["h2"]`` the heading of section 2."""
    custom = custom or {}
    doc.title("ASEAN Framework on Social Protection")
    for number, heading in SECTIONS.items():
        if f"h{number}" in custom:
            custom[f"h{number}"](doc)
        else:
            doc.heading(heading)
        for ref, text in TEXT.items():
            if ref.split(".")[0] != number:
                continue
            if ref in custom:
                custom[ref](doc)
            else:
                doc.para(doc.run(f"{ref} {text}"))
                if ref == "3.2":
                    doc.para(doc.run(MORE_3_2))
    return doc


DRAFT: list[Clause] = clauses_of(parse_draft(write(WordFile()).bytes()))


def test_the_draft_of_these_tests():
    assert [c.ref for c in DRAFT] == list(TEXT)
    assert DRAFT[8].text == TEXT["3.2"] + "\n" + MORE_3_2
    assert [c.section for c in DRAFT][:4] == ["1", "1", "1", "2"]


def read(doc: WordFile, *, faithful: bool = True, **options) -> CommentedCopy:
    """The file read against DRAFT; ``faithful``: the file, its changes rejected, is the draft."""
    data = doc.bytes()
    if faithful:
        assert [(c.ref, c.text) for c in clauses_of(parse_draft(reject_all(data)))] == [(c.ref, c.text) for c in DRAFT]
    return read_commented(data, DRAFT, **options)


def accepted(doc: WordFile) -> dict[str, str]:
    """Each clause's text once every change is accepted (Word's "Accept All Changes")."""
    return {c.ref: c.text for c in clauses_of(parse_draft(accept_all(doc.bytes())))}


def plain(ref: str) -> Writer:
    return lambda d: d.para(d.run(f"{ref} {TEXT[ref]}"))


def by_text(result: CommentedCopy) -> dict[str, str | None]:
    return {c.text: c.ref for c in result.comments}


# ------------------------------------------------------------------------ comments


def test_word_comments_land_on_the_clauses_they_are_anchored_on():
    doc = WordFile("word")
    floor = doc.comment("Ana Reyes", "Which floor? Please refer to the national definition.", initials="AR")
    whole = doc.comment("Ana Reyes", "Civil society should be named first.")
    baseline = doc.comment("Ana Reyes", "Two years is too short for a baseline.\nWe suggest three.")
    write(
        doc,
        {
            "1.2": lambda d: d.para(
                d.run("1.2 Coverage shall be extended progressively, beginning with a "),
                d.on(floor, d.run("nationally defined floor")),
                d.run(" of basic income security."),
            ),
            "2.3": lambda d: d.para(d.run("2.3 "), d.on(whole, d.run(TEXT["2.3"]))),
            "3.1": lambda d: d.para(
                d.run("3.1 Establish a regional baseline on social protection coverage, expenditure and outcomes "),
                d.on(baseline, d.run("within two years")),
                d.run(" of adoption."),
            ),
        },
    )
    result = read(doc)
    assert [(c.ref, c.quote) for c in result.comments] == [
        ("1.2", "nationally defined floor"),
        ("2.3", TEXT["2.3"]),
        ("3.1", "within two years"),
    ]
    first = result.comments[0]
    assert (first.author, first.initials, first.text) == (
        "Ana Reyes",
        "AR",
        "Which floor? Please refer to the national definition.",
    )
    assert first.date is not None and first.date.year == 2026
    assert result.comments[2].text == "Two years is too short for a baseline.\nWe suggest three."
    assert result.comments[1].section == "2"
    assert result.summary().comment_refs == ("1.2", "2.3", "3.1")


def test_a_comment_on_a_point_is_on_the_paragraph_holding_its_reference():
    doc = WordFile("libreoffice")
    point = doc.comment("Budi", "Add: and sub-national budgets")
    write(
        doc,
        {
            "2.2": lambda d: d.para(
                d.run("2.2 Member States shall allocate adequate financial resources for social protection in their"),
                d.ref(point),
                d.run(" national budgets."),
            )
        },
    )
    (comment,) = read(doc).comments
    assert (comment.ref, comment.quote, comment.text) == ("2.2", "", "Add: and sub-national budgets")


def test_a_range_from_one_paragraph_into_another_covers_both_clauses():
    doc = WordFile("libreoffice")
    both = doc.comment("Budi", "These two clauses should be merged.")
    write(
        doc,
        {
            "2.1": lambda d: d.para(
                d.run("2.1 Where contributory schemes cannot yet reach certain groups, "),
                d.start(both),
                d.run("non-contributory programmes shall be used to close the gap."),
            ),
            "2.2": lambda d: d.para(
                d.run("2.2 Member States shall allocate adequate financial resources"),
                d.end(both),
                d.ref(both),
                d.run(" for social protection in their national budgets."),
            ),
        },
    )
    (comment,) = read(doc).comments
    assert comment.ref == "2.1"
    assert comment.refs == ("2.1", "2.2")
    assert comment.quote == (
        "non-contributory programmes shall be used to close the gap.\n2.2 Member States shall allocate adequate financial resources"
    )


def test_a_range_that_starts_after_the_end_of_a_paragraph_is_on_the_next_one():
    doc = WordFile("libreoffice")
    tail = doc.comment("Budi", "Which floor?")
    write(
        doc,
        {
            "1.1": lambda d: d.para(d.run(f"1.1 {TEXT['1.1']}"), d.start(tail)),
            "1.2": lambda d: d.para(
                d.run("1.2 Coverage shall be extended progressively, beginning with a nationally defined floor"),
                d.end(tail),
                d.ref(tail),
                d.run(" of basic income security."),
            ),
        },
    )
    (comment,) = read(doc).comments
    assert (comment.ref, comment.refs) == ("1.2", ("1.2",))
    assert comment.quote == "1.2 Coverage shall be extended progressively, beginning with a nationally defined floor"


def test_google_docs_ranges_that_end_after_the_paragraph_stay_on_their_clause():
    doc = WordFile("google")
    vision = doc.comment("Siti Rahman", "We welcome the vision.")
    groups = doc.comment("Siti Rahman", "Name migrant workers too.")
    write(
        doc,
        {
            # Google Docs closes a range that runs to the end of a paragraph at the start of the next one.
            "1.1": lambda d: d.para(d.start(vision), d.run(f"1.1 {TEXT['1.1']}")),
            "1.2": lambda d: d.para(d.end(vision), d.ref(vision), d.run(f"1.2 {TEXT['1.2']}")),
            "1.3": lambda d: d.para(
                d.run("1.3 Member States shall identify the groups "),
                d.dele("not yet ", "Siti Rahman"),
                d.ins("still not ", "Siti Rahman"),
                d.run("covered by any scheme, including "),
                d.start(groups),
                d.run("workers in the informal economy."),
            ),
            "2.1": lambda d: d.para(d.end(groups), d.ref(groups), d.run(f"2.1 {TEXT['2.1']}")),
        },
    )
    result = read(doc)
    assert [(c.ref, c.refs) for c in result.comments] == [("1.1", ("1.1",)), ("1.3", ("1.3",))]
    assert result.comments[0].quote == "1.1 " + TEXT["1.1"]
    (proposal,) = result.proposals
    assert proposal.ref == "1.3"
    assert proposal.proposed == accepted(doc)["1.3"]
    assert "still not covered" in proposal.proposed
    assert [(c.kind, c.author, c.text) for c in proposal.changes] == [
        (ChangeKind.DELETED, "Siti Rahman", "not yet "),
        (ChangeKind.INSERTED, "Siti Rahman", "still not "),
    ]


def test_a_comment_on_a_heading_is_not_put_on_a_clause_but_names_its_section():
    doc = WordFile("word")
    on_heading = doc.comment("Ana Reyes", "Rename this section 'Regional cooperation'.")
    write(doc, {"h2": lambda d: d.para(d.on(on_heading, d.run("Regional framework")), style="Heading1")})
    (comment,) = read(doc).comments
    assert (comment.ref, comment.unplaced, comment.section) == (None, Unplaced.ON_HEADING, "2")
    assert comment.quote == "Regional framework"


def test_comments_on_text_that_is_not_in_the_draft_are_not_placed_and_say_why():
    doc = WordFile("word")
    ours = doc.comment("Ana Reyes", "A clause on disaster response is needed.")
    old = doc.comment("Ana Reyes", "This clause should stay.")
    cell = doc.comment("Ana Reyes", "Wrong figure in the table.")
    lost = doc.comment("Ana Reyes", "A comment whose markers were lost.")
    deleted = doc.comment("Ana Reyes", "Why remove this?")
    table_cell = f"<w:p>{doc.on(cell, doc.run('Coverage rate, 2025: 45 %'))}</w:p>"

    def section_2_end(d: WordFile) -> None:
        plain("2.4")(d)
        # Typed by the delegate without tracking, and a clause of an older version.
        d.para(d.on(ours, d.run("Our ministry proposes adding measures for disaster-affected households.")))
        d.para(d.on(old, d.run("2.5 The Council shall be informed of progress each year through the Secretariat.")))
        d.table(table_cell)

    write(
        doc,
        {
            "2.4": section_2_end,
            "1.3": lambda d: d.para(
                d.run("1.3 Member States shall identify the groups "),
                d.on(deleted, d.dele("not yet covered by any scheme", "Ana Reyes")),
                d.run(", including workers in the informal economy."),
            ),
        },
    )
    assert lost  # in comments.xml only
    result = read(doc, faithful=False)
    found = {c.text: (c.ref, c.unplaced) for c in result.comments}
    assert found == {
        "A clause on disaster response is needed.": (None, Unplaced.NOT_IN_DRAFT),
        "This clause should stay.": (None, Unplaced.NOT_IN_DRAFT),
        "Wrong figure in the table.": (None, Unplaced.IN_TABLE),
        "A comment whose markers were lost.": (None, Unplaced.NO_ANCHOR),
        # Text the delegate deleted with tracking was in the draft: the comment is on its clause.
        "Why remove this?": ("1.3", None),
    }
    assert next(c for c in result.comments if c.text == "Why remove this?").quote == "not yet covered by any scheme"
    assert result.comments[-1].unplaced is Unplaced.NO_ANCHOR
    summary = result.summary()
    assert (summary.comments, summary.unplaced_comments) == (1, 4)
    assert dict(summary.unplaced_reasons) == {Unplaced.NOT_IN_DRAFT: 2, Unplaced.IN_TABLE: 1, Unplaced.NO_ANCHOR: 1}


def test_replies_and_resolved_comments():
    doc = WordFile("word")
    question = doc.comment("Ana Reyes", "Is 'adequate' defined?")
    answer = doc.comment("Budi", "Yes, in the Declaration.", reply_to=question)
    done = doc.comment("Ana Reyes", "Typo fixed.", done=True)
    write(
        doc,
        {
            "2.2": lambda d: d.para(
                d.run("2.2 Member States shall allocate "),
                d.start(question),
                d.start(answer),
                d.run("adequate"),
                d.end(answer),
                d.end(question),
                d.ref(question),
                d.ref(answer),
                d.run(" financial resources for social protection in their national budgets."),
            ),
            "3.3": lambda d: d.para(d.run("3.3 "), d.on(done, d.run(TEXT["3.3"]))),
        },
    )
    comments = {c.id: c for c in read(doc).comments}
    assert (comments[answer].ref, comments[answer].reply_to) == ("2.2", question)
    assert comments[question].reply_to is None
    assert (comments[done].ref, comments[done].resolved, comments[question].resolved) == ("3.3", True, False)


# ------------------------------------------------------------------------ tracked changes


def test_tracked_changes_give_each_clause_whole_as_all_changes_accepted_make_it():
    doc = WordFile("word")
    write(
        doc,
        {
            "1.2": lambda d: d.para(
                d.run("1.2 Coverage shall be extended "),
                d.dele("progressively", "Ana Reyes"),
                d.ins("gradually", "Ana Reyes"),
                d.run(", beginning with a nationally defined floor of basic income security."),
            ),
            "2.2": lambda d: d.para(
                d.run("2.2 Member States shall allocate adequate"),
                d.ins(", gender-responsive", "Ana Reyes"),
                d.run(" financial resources for social protection in their national budgets."),
            ),
            # Changes in both paragraphs of one clause.
            "3.2": lambda d: (
                d.para(
                    d.run("3.2 Compile "),
                    d.dele("global and ", "Ana Reyes"),
                    d.run(
                        "national indicators relevant to social protection, including those of the Sustainable Development Goals."
                    ),
                ),
                d.para(
                    d.run("Indicators shall be disaggregated by sex, age, disability"),
                    d.ins(", migration status", "Ana Reyes"),
                    d.run(" and place of residence."),
                ),
            ),
        },
    )
    result = read(doc)
    truth = accepted(doc)
    assert [p.ref for p in result.proposals] == ["1.2", "2.2", "3.2"]
    for proposal in result.proposals:
        assert proposal.proposed == truth[proposal.ref]
        assert proposal.original == proposal.current == TEXT_OF[proposal.ref]
        assert proposal.authors == ("Ana Reyes",)
    assert result.proposals[0].proposed.startswith("Coverage shall be extended gradually, beginning")
    assert result.proposals[2].proposed == (
        "Compile national indicators relevant to social protection, including those of the Sustainable Development Goals.\n"
        "Indicators shall be disaggregated by sex, age, disability, migration status and place of residence."
    )
    assert [(c.kind, c.text) for c in result.proposals[2].changes] == [
        (ChangeKind.DELETED, "global and "),
        (ChangeKind.INSERTED, ", migration status"),
    ]
    assert result.stray_changes == ()
    assert result.comments == ()


TEXT_OF = {c.ref: c.text for c in DRAFT}


def test_an_insertion_deleted_later_adds_nothing_and_each_author_can_be_read_alone():
    doc = WordFile("word")
    write(
        doc,
        {
            "2.1": lambda d: d.para(
                d.run("2.1 Where contributory schemes cannot yet reach certain groups"),
                d.ins_deleted(" such as own-account workers", "Ana Reyes", "Budi"),
                d.run(", non-contributory programmes shall be used to close the "),
                d.ins("coverage ", "Ana Reyes"),
                d.run("gap."),
            )
        },
    )
    (everyone,) = read(doc).proposals
    assert everyone.proposed == accepted(doc)["2.1"]
    assert "own-account" not in everyone.proposed
    assert everyone.proposed.endswith("close the coverage gap.")
    assert everyone.authors == ("Ana Reyes", "Budi")
    # Ana's changes alone: her insertion stands, Budi's deletion of it is rejected.
    (ana,) = read(doc, authors={"Ana Reyes"}).proposals
    assert ana.proposed == (
        "Where contributory schemes cannot yet reach certain groups such as own-account workers, "
        "non-contributory programmes shall be used to close the coverage gap."
    )
    assert ana.authors == ("Ana Reyes",)
    # Budi's alone: he deleted only what Ana's rejected insertion held, so nothing changes.
    assert read(doc, authors={"Budi"}).proposals == ()


def test_moved_text_is_taken_from_one_clause_and_given_to_another():
    doc = WordFile("word")
    phrase = ", including the private sector and civil society"
    write(
        doc,
        {
            "2.3": lambda d: d.para(
                d.run("2.3 Implementation shall involve the participation of other sectors"),
                d.move_from(phrase, "Ana Reyes"),
                d.run("."),
            ),
            "2.4": lambda d: d.para(
                d.run(
                    "2.4 The Secretariat shall support the sectoral bodies in sharing good practices on the design of schemes"
                ),
                d.move_to(phrase, "Ana Reyes"),
                d.run("."),
            ),
        },
    )
    result = read(doc)
    truth = accepted(doc)
    assert [(p.ref, p.proposed) for p in result.proposals] == [("2.3", truth["2.3"]), ("2.4", truth["2.4"])]
    assert result.proposals[0].proposed == "Implementation shall involve the participation of other sectors."
    assert [c.kind for c in result.proposals[0].changes] == [ChangeKind.MOVED_FROM]
    assert [c.kind for c in result.proposals[1].changes] == [ChangeKind.MOVED_TO]
    assert result.proposals[1].changes[0].text == phrase


def test_a_paragraph_moved_whole_leaves_its_clause_and_joins_the_one_it_was_moved_after():
    doc = WordFile("word")
    moved = f"1.3 {TEXT['1.3']}"

    def after_2_1(d: WordFile) -> None:
        d.para(d.run(f"2.1 {TEXT['2.1']}"), mark=d.mark_ins("Ana Reyes"))
        d.para(d.move_to(moved, "Ana Reyes", "m1"))

    write(
        doc,
        {
            "1.3": lambda d: d.para(d.move_from(moved, "Ana Reyes", "m1"), mark=d.mark_del("Ana Reyes")),
            "2.1": after_2_1,
        },
    )
    result = read(doc)
    proposals = {p.ref: p for p in result.proposals}
    assert proposals["1.3"].deletes
    assert proposals["2.1"].proposed == TEXT["2.1"] + "\n" + moved
    assert {c.kind for c in proposals["2.1"].changes} == {ChangeKind.INSERTED, ChangeKind.MOVED_TO}


def test_a_deletion_across_two_clauses_gives_each_its_part():
    doc = WordFile("word")
    write(
        doc,
        {
            "2.1": lambda d: d.para(
                d.run("2.1 Where contributory schemes cannot yet reach certain groups"),
                d.dele(", non-contributory programmes shall be used to close the gap.", "Ana Reyes"),
                mark=d.mark_del("Ana Reyes"),
            ),
            "2.2": lambda d: d.para(
                d.dele("2.2 Member States shall allocate", "Ana Reyes"),
                d.run(" adequate financial resources for social protection in their national budgets."),
            ),
        },
    )
    result = read(doc)
    assert [(p.ref, p.proposed, p.across) for p in result.proposals] == [
        ("2.1", "Where contributory schemes cannot yet reach certain groups", ("2.2",)),
        ("2.2", "adequate financial resources for social protection in their national budgets.", ("2.1",)),
    ]


def test_a_clause_deleted_whole_is_a_proposal_to_delete_it():
    doc = WordFile("google")
    write(doc, {"3.3": lambda d: d.para(d.dele(f"3.3 {TEXT['3.3']}", "Siti Rahman"), mark=d.mark_del("Siti Rahman"))})
    (proposal,) = read(doc).proposals
    assert (proposal.ref, proposal.deletes, proposal.proposed, proposal.across) == ("3.3", True, "", ())
    assert "3.3" not in accepted(doc)


def test_a_new_paragraph_and_a_comment_on_it_belong_to_the_clause_before_it():
    doc = WordFile("word")
    why = doc.comment("Ana Reyes", "Publication makes the practices useful to all.")

    def clause_2_4(d: WordFile) -> None:
        d.para(d.run(f"2.4 {TEXT['2.4']}"), mark=d.mark_ins("Ana Reyes"))
        d.para(d.on(why, d.ins("Good practices shall be published on the ASEAN website.", "Ana Reyes")))

    write(doc, {"2.4": clause_2_4})
    result = read(doc)
    (proposal,) = result.proposals
    assert proposal.ref == "2.4"
    assert proposal.proposed == accepted(doc)["2.4"]
    assert proposal.proposed == TEXT["2.4"] + "\nGood practices shall be published on the ASEAN website."
    assert [(c.ref, c.quote) for c in result.comments] == [
        ("2.4", "Good practices shall be published on the ASEAN website.")
    ]


def test_a_clause_split_in_two_paragraphs_and_one_made_a_single_paragraph():
    doc = WordFile("word")
    write(
        doc,
        {
            # A tracked paragraph break in the middle of 2.3.
            "2.3": lambda d: (
                d.para(
                    d.run("2.3 Implementation shall involve the participation of other sectors,"),
                    mark=d.mark_ins("Ana Reyes"),
                ),
                d.para(d.run(" including the private sector and civil society.")),
            ),
            # The break between the two paragraphs of 3.2 deleted.
            "3.2": lambda d: (
                d.para(d.run(f"3.2 {TEXT['3.2']}"), d.ins(" ", "Ana Reyes"), mark=d.mark_del("Ana Reyes")),
                d.para(d.run(MORE_3_2)),
            ),
        },
    )
    result = read(doc)
    truth = accepted(doc)
    assert [(p.ref, p.proposed) for p in result.proposals] == [("2.3", truth["2.3"]), ("3.2", truth["3.2"])]
    assert result.proposals[0].proposed == (
        "Implementation shall involve the participation of other sectors,\nincluding the private sector and civil society."
    )
    assert result.proposals[0].original == TEXT["2.3"]
    assert result.proposals[1].proposed == TEXT["3.2"] + " " + MORE_3_2
    assert result.proposals[1].original == TEXT["3.2"] + "\n" + MORE_3_2
    assert result.edited_by_hand == ()


def test_a_changed_heading_is_a_stray_change_on_its_section():
    doc = WordFile("word")
    write(
        doc,
        {"h3": lambda d: d.heading("Monitoring", d.ins(", reporting", "Ana Reyes"), d.run(" and evaluation"))},
    )
    result = read(doc)
    assert result.proposals == ()
    (stray,) = result.stray_changes
    assert (stray.reason, stray.section, stray.change.text, stray.change.kind) == (
        Unplaced.ON_HEADING,
        "3",
        ", reporting",
        ChangeKind.INSERTED,
    )


# ------------------------------------------------------------------------ a copy edited by hand


def test_a_renumbered_copy_is_read_by_its_text_not_its_numbers():
    """The delegate typed a clause of their own as 2.2 and renumbered those after it by hand."""
    doc = WordFile("word")
    on_2_3 = doc.comment("Ana Reyes", "Also academia.")
    on_2_4 = doc.comment("Ana Reyes", "Which good practices?")
    on_new = doc.comment("Ana Reyes", "Our new clause.")
    on_edited = doc.comment("Ana Reyes", "Five years is better.")

    def section_2(d: WordFile) -> None:
        plain("2.1")(d)
        d.para(d.on(on_new, d.run("2.2 Member States shall promote portability of benefits for migrant workers.")))
        d.para(
            d.run("2.3 Member States shall allocate adequate financial resources for social protection in their "),
            d.dele("national", "Ana Reyes"),
            d.ins("national and local", "Ana Reyes"),
            d.run(" budgets."),
        )
        d.para(d.run("2.4 "), d.on(on_2_3, d.run(TEXT["2.3"])))
        d.para(
            d.run("2.5 The Secretariat shall support the sectoral bodies in "),
            d.on(on_2_4, d.run("sharing good practices")),
            d.run(" on the design of schemes."),
        )

    write(
        doc,
        {
            "2.1": section_2,
            "2.2": lambda d: None,
            "2.3": lambda d: None,
            "2.4": lambda d: None,
            # Edited without tracking: a word changed.
            "3.3": lambda d: d.para(
                d.run("3.3 Undertake a mid-term review and a final evaluation of the Framework and "),
                d.on(on_edited, d.run("submit the findings to the Senior Officials.")),
            ),
        },
    )
    result = read(doc, faithful=False)
    assert by_text(result) == {
        "Our new clause.": None,
        "Also academia.": "2.3",
        "Which good practices?": "2.4",
        "Five years is better.": "3.3",
    }
    assert next(c for c in result.comments if c.ref is None).unplaced is Unplaced.NOT_IN_DRAFT
    (proposal,) = result.proposals
    assert proposal.ref == "2.2"
    assert proposal.proposed == (
        "Member States shall allocate adequate financial resources for social protection in their national and local budgets."
    )
    assert result.edited_by_hand == ("3.3",)


def test_clauses_moved_or_rewritten_by_hand_are_found_by_their_text():
    """2.1 cut and pasted at the end, 2.3 moved into section 1 and edited, 1.2 rewritten in
    place (three quarters alike), all without tracking."""
    doc = WordFile("word")
    on = {ref: doc.comment("Ana Reyes", f"On {ref}") for ref in ("1.2", "2.1", "2.3")}
    rewritten = (
        "Coverage is to be widened step by step, starting from a nationally defined floor of basic income security."
    )
    edited = TEXT["2.3"].replace("private sector and", "private sector, academia and")

    def section_1_end(d: WordFile) -> None:
        plain("1.3")(d)
        d.para(d.run("1.4 "), d.on(on["2.3"], d.run(edited)))

    def section_3_end(d: WordFile) -> None:
        plain("3.3")(d)
        d.para(d.run("3.4 "), d.on(on["2.1"], d.run(TEXT["2.1"])))

    write(
        doc,
        {
            "1.2": lambda d: d.para(d.run("1.2 "), d.on(on["1.2"], d.run(rewritten))),
            "1.3": section_1_end,
            "2.1": lambda d: None,
            "2.3": lambda d: None,
            "3.3": section_3_end,
        },
    )
    result = read(doc, faithful=False)
    assert by_text(result) == {"On 1.2": "1.2", "On 2.1": "2.1", "On 2.3": "2.3"}
    assert [c.section for c in result.comments] == ["1", "2", "2"]
    assert result.edited_by_hand == ("1.2", "2.3")


def test_text_moved_unchanged_is_found_even_when_leftovers_are_too_many_to_compare(monkeypatch):
    import documents.commented

    monkeypatch.setattr(documents.commented, "_MAX_FAR_PAIRS", 0)
    doc = WordFile("word")
    moved = doc.comment("Ana Reyes", "Moved here on purpose.")

    def section_3_end(d: WordFile) -> None:
        plain("3.3")(d)
        d.para(d.run("3.4 "), d.on(moved, d.run(TEXT["2.1"])))

    write(doc, {"2.1": lambda d: None, "3.3": section_3_end})
    (comment,) = read(doc, faithful=False).comments
    assert (comment.ref, comment.section) == ("2.1", "2")


# ------------------------------------------------------------------------ authors and summary


def test_two_authors_each_item_carries_its_author():
    doc = WordFile("word")
    ana_1 = doc.comment("Ana Reyes", "Define 'floor'.")
    ana_2 = doc.comment("Ana Reyes", "Good.")
    budi = doc.comment("Budi", "Ministry of Labour agrees.")
    write(
        doc,
        {
            "1.2": lambda d: d.para(d.run("1.2 "), d.on(ana_1, d.run(TEXT["1.2"]))),
            "1.3": lambda d: d.para(d.run("1.3 "), d.on(ana_2, d.on(budi, d.run(TEXT["1.3"])))),
            "3.1": lambda d: d.para(
                d.run(
                    "3.1 Establish a regional baseline on social protection coverage, expenditure and outcomes within "
                ),
                d.dele("two", "Budi"),
                d.ins("three", "Budi"),
                d.run(" years of adoption."),
            ),
        },
    )
    result = read(doc)
    # The busiest first: Budi wrote a comment and two changes.
    assert [(a.name, a.comments, a.changes) for a in result.authors] == [("Budi", 1, 2), ("Ana Reyes", 2, 0)]
    assert [(c.author, c.ref) for c in result.comments] == [("Ana Reyes", "1.2"), ("Ana Reyes", "1.3"), ("Budi", "1.3")]
    (proposal,) = result.proposals
    assert {c.author for c in proposal.changes} == {"Budi"}
    ana = read(doc, authors={"Ana Reyes"})
    assert [c.author for c in ana.comments] == ["Ana Reyes", "Ana Reyes"]
    assert ana.proposals == ()
    assert [a.name for a in ana.authors] == ["Budi", "Ana Reyes"]  # everyone in the file, to ask whose


def test_the_summary_counts_and_names_the_clauses():
    doc = WordFile("word")
    c1 = doc.comment("Ana Reyes", "One.")
    c2 = doc.comment("Ana Reyes", "Two.")
    c3 = doc.comment("Ana Reyes", "Three.")
    c4 = doc.comment("Ana Reyes", "On the heading.")
    write(
        doc,
        {
            "h1": lambda d: d.para(d.on(c4, d.run(SECTIONS["1"])), style="Heading1"),
            "2.1": lambda d: d.para(d.run("2.1 "), d.on(c1, d.run(TEXT["2.1"]))),
            "2.3": lambda d: d.para(
                d.run("2.3 "),
                d.on(c2, d.run("Implementation shall involve the participation of other sectors")),
                d.ins(", including academia", "Ana Reyes"),
                d.run(", including the private sector and civil society."),
            ),
            "3.3": lambda d: d.para(
                d.run(
                    "3.3 Undertake a mid-term review and a final evaluation of the Framework and report the findings to the "
                ),
                d.on(c3, d.dele("Senior Officials", "Ana Reyes")),
                d.ins("Council", "Ana Reyes"),
                d.run("."),
            ),
        },
    )
    summary = read(doc).summary()
    assert summary.comments == 3
    assert summary.comment_refs == ("2.1", "2.3", "3.3")
    assert (summary.proposals, summary.proposal_refs) == (2, ("2.3", "3.3"))
    assert (summary.unplaced_comments, summary.unplaced_changes) == (1, 0)
    assert summary.unplaced_reasons == ((Unplaced.ON_HEADING, 1),)
    assert summary.authors == ("Ana Reyes",)


# ------------------------------------------------------------------------ many comments, a large draft

_PIECES = (
    "social protection",
    "Member States shall",
    "the sectoral bodies",
    "in consultation with the Secretariat",
    "subject to national circumstances",
    "for workers in the informal economy",
    "with particular attention to persons with disabilities",
    "through regional cooperation",
    "within the life cycle",
    "including older persons and children",
    "by strengthening national systems",
    "as agreed by the Senior Officials",
)


def _large_draft(n: int, seed: int) -> tuple[WordFile, list[tuple[str, str]]]:
    """A draft of ``n`` clauses (20 sections) whose texts share phrases, as a real draft's do."""
    rng = random.Random(seed)
    texts: list[str] = []
    seen: set[str] = set()
    while len(texts) < n:
        words = rng.sample(_PIECES, 4)
        text = f"{words[0].capitalize()} {words[1]} {words[2]} {words[3]} ({len(texts) % 97} {rng.randrange(10**6)})."
        if text not in seen:
            seen.add(text)
            texts.append(text)
    per = n // 20
    clauses = [(f"{s + 1}.{k + 1}", texts[s * per + k]) for s in range(20) for k in range(per)]
    return WordFile("word"), clauses


def _write_large(doc: WordFile, clauses: list[tuple[str, str]], comments: dict[str, list[str]]) -> None:
    doc.title("A long draft")
    section = ""
    for ref, text in clauses:
        if ref.split(".")[0] != section:
            section = ref.split(".")[0]
            doc.heading(f"Section {section}")
        ids = comments.get(ref, [])
        content = doc.run(f"{ref} ")
        inner = doc.run(text)
        for cid in ids:
            inner = doc.on(cid, inner)
        doc.para(content, inner)


@pytest.mark.parametrize(("clauses", "comments"), [(300, 480), (2000, MAX_COMMENTS)], ids=["300x480", "2000x500"])
def test_hundreds_of_comments_each_land_on_its_clause(clauses, comments):
    doc, draft_clauses = _large_draft(clauses, seed=7)
    rng = random.Random(3)
    expected: dict[str, str] = {}
    on: dict[str, list[str]] = {}
    for k in range(comments):
        ref = rng.choice(draft_clauses)[0]
        cid = doc.comment(f"Delegate {k % 3}", f"Comment {k} on {ref}")
        expected[f"Comment {k} on {ref}"] = ref
        on.setdefault(ref, []).append(cid)
    _write_large(doc, draft_clauses, on)
    data = doc.bytes()
    draft = clauses_of(parse_draft(reject_all(data)))
    assert len(draft) == clauses
    start = time.perf_counter()
    result = read_commented(data, draft)
    seconds = time.perf_counter() - start
    assert {c.text: c.ref for c in result.comments} == expected
    assert result.summary().comments == comments
    assert [a.comments for a in result.authors] == [comments // 3 + (comments % 3 > k) for k in range(3)]
    assert seconds < 10  # about 0.3 s for 500 comments on 2,000 clauses; generous for a busy machine


def test_a_copy_edited_throughout_by_hand_is_still_read():
    """Every clause of a large draft has a word changed without tracking: found by similarity
    (one gap as long as the draft, compared in bands)."""
    doc, draft_clauses = _large_draft(1000, seed=11)
    base = WordFile("word")
    _write_large(base, draft_clauses, {})
    draft = clauses_of(parse_draft(base.bytes()))
    edited = [(ref, text.replace(" shall ", " should ", 1).replace("(", "[", 1)) for ref, text in draft_clauses]
    cid = doc.comment("Ana Reyes", "On clause 7.3")
    _write_large(doc, edited, {"7.3": [cid]})
    result = read_commented(doc.bytes(), draft)
    assert result.comments[0].ref == "7.3"
    assert result.share == 1.0
    assert len(result.edited_by_hand) == 1000


# ------------------------------------------------------------------------ refusals


def _refusal(data: bytes, **options) -> CommentedFileError:
    with pytest.raises(CommentedFileError) as info:
        read_commented(data, DRAFT, **options)
    return info.value


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 ...", "pdf"),
        (b"{\\rtf1 hello}", "rtf"),
        (b"Dear Secretariat, our comments follow.", "unknown"),
        (_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}), "xlsx"),
        (_zip({"notes.txt": b"comments"}), "zip"),
        (_zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}), "odt"),
    ],
    ids=["empty", "pdf", "rtf", "text", "xlsx", "zip", "odt"],
)
def test_a_file_that_is_not_a_docx_is_refused(data, kind):
    error = _refusal(data)
    assert (error.reason, error.data) == (Refusal.NOT_A_DOCX, {"format": kind})


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def test_a_password_protected_file_is_refused_and_an_old_doc_is_told_apart():
    protected = OLE + "EncryptionInfo".encode("utf-16-le") + bytes(64) + "EncryptedPackage".encode("utf-16-le")
    assert _refusal(protected).reason is Refusal.PASSWORD_PROTECTED
    assert _refusal(OLE + "WordDocument".encode("utf-16-le")).reason is Refusal.OLD_WORD_FORMAT


def test_a_macro_enabled_file_is_refused():
    with_project = write(WordFile())
    with_project.extra_members["word/vbaProject.bin"] = b"\x00macro"
    assert _refusal(with_project.bytes()).reason is Refusal.MACRO_ENABLED
    docm = write(WordFile())
    docm.document_type = "application/vnd.ms-word.document.macroEnabled.main+xml"
    assert _refusal(docm.bytes()).reason is Refusal.MACRO_ENABLED


def test_a_file_over_the_limit_is_refused():
    data = write(WordFile()).bytes()
    error = _refusal(data, max_bytes=len(data) - 1)
    assert (error.reason, error.data) == (Refusal.TOO_LARGE, {"size": len(data), "limit": len(data) - 1})
    assert read_commented(data, DRAFT, max_bytes=len(data)).share == 1.0


def test_a_file_of_too_many_comments_is_refused():
    doc = WordFile("word")
    ids = [doc.comment("Ana Reyes", f"Comment {k}") for k in range(MAX_COMMENTS + 1)]
    write(doc, {"2.2": lambda d: d.para(d.run("2.2 "), *(d.ref(cid) for cid in ids), d.run(TEXT["2.2"]))})
    error = _refusal(doc.bytes())
    assert (error.reason, error.data) == (Refusal.TOO_MANY_COMMENTS, {"found": MAX_COMMENTS + 1, "limit": MAX_COMMENTS})


def _other_draft(doc: WordFile) -> WordFile:
    comment = doc.comment("Ana Reyes", "We support this.")
    doc.title("ASEAN Declaration on Disaster Management")
    doc.heading("Preparedness")
    doc.para(doc.run("1.1 Member States shall maintain early warning systems for floods and storms."))
    doc.para(doc.run("1.2 "), doc.on(comment, doc.run("Stockpiles of relief items shall be kept in each sub-region.")))
    doc.heading("Response")
    doc.para(doc.run("2.1 The AHA Centre shall coordinate the deployment of emergency response teams."))
    doc.para(doc.run("2.2 Member States shall facilitate the entry of relief personnel and goods."))
    return doc


def test_another_consultations_draft_is_refused_with_the_share_found():
    error = _refusal(_other_draft(WordFile("word")).bytes())
    assert error.reason is Refusal.NOT_THIS_DRAFT
    assert error.data["share"] < 0.1
    assert error.data["limit"] == MIN_SHARE


def test_a_damaged_file_is_refused():
    data = write(WordFile()).bytes()
    assert _refusal(data[: len(data) // 2]).reason is Refusal.DAMAGED
    doc = write(WordFile())
    doc.raw("<w:p><w:r><w:t>unclosed</w:r></w:p>")
    assert _refusal(doc.bytes()).reason is Refusal.DAMAGED


# ------------------------------------------------------------------------ kind of upload


def test_kind_of_upload_tells_a_commented_copy_from_a_new_draft():
    commented = WordFile("word")
    note = commented.comment("Ana Reyes", "Fine.")
    write(commented, {"1.1": lambda d: d.para(d.run("1.1 "), d.on(note, d.run(TEXT["1.1"])))})
    assert kind_of_upload(commented.bytes(), DRAFT) is UploadKind.COMMENTED
    changes_only = write(
        WordFile("google"), {"2.2": lambda d: d.para(d.run("2.2 "), d.dele(TEXT["2.2"], "Siti Rahman"))}
    )
    assert kind_of_upload(changes_only.bytes(), DRAFT) is UploadKind.COMMENTED
    # The Secretariat's next version: no comments, no tracked changes, some text new.
    new_version = write(WordFile(), {"2.2": lambda d: d.para(d.run("2.2 Member States shall budget for it."))})
    assert kind_of_upload(new_version.bytes(), DRAFT) is UploadKind.DRAFT
    assert kind_of_upload(write(WordFile()).bytes(), DRAFT) == "draft"
    # Comments on another draft: not a copy of this one.
    assert kind_of_upload(_other_draft(WordFile("word")).bytes(), DRAFT) is UploadKind.DRAFT
    # Nothing to be a copy of yet.
    assert kind_of_upload(commented.bytes(), []) is UploadKind.DRAFT
    with pytest.raises(CommentedFileError) as info:
        kind_of_upload(b"%PDF-1.4", DRAFT)
    assert info.value.reason is Refusal.NOT_A_DOCX


def test_a_parsed_draft_can_be_given_in_place_of_its_clauses():
    doc = WordFile("word")
    note = doc.comment("Ana Reyes", "Fine.")
    write(doc, {"3.2": lambda d: (d.para(d.run("3.2 " + TEXT["3.2"])), d.para(d.on(note, d.run(MORE_3_2))))})
    parsed = parse_draft(write(WordFile()).bytes())
    assert read_commented(doc.bytes(), parsed).comments[0].ref == "3.2"
    assert kind_of_upload(doc.bytes(), parsed) is UploadKind.COMMENTED


# ------------------------------------------------------------------------ the bot's own Word file


def test_the_bots_draft_with_proposals_reads_back_onto_its_clauses(sample_bytes, sample):
    """The draft with proposals the consolidation writes (a cover, Word comments by "body –
    state", proposals as tracked changes, the matrix in an annex) is a commented copy: every
    comment comes back on its clause and every proposal as the whole clause proposed."""
    import datetime as dt

    from documents.consolidate import CommentEntry, ConsolidationInfo, draft_with_proposals

    refs = ["1.1", "1.5", "2.1", "3.2.a", "5.3", "6.2.b3"]
    proposed = {ref: sample.clause(ref).text.replace(" ", " regional ", 1) for ref in ("2.1", "5.3")}
    entries = [
        CommentEntry(
            number=f"TH-{n + 1:03d}",
            clause_ref=ref,
            paragraphs=sample.clause(ref).paragraphs,
            body="SOMHD",
            state="Thailand",
            kind="te",
            text=f"Comment {n} on {ref}.",
            proposed=proposed.get(ref),
            created_at=dt.datetime(2026, 11, 23, 10, n, tzinfo=dt.UTC),
        )
        for n, ref in enumerate(refs)
    ]
    info = ConsolidationInfo(
        title="ASEAN Framework",
        consultation="asean-framework",
        deadline=dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC),
        generated_at=dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC),
        timezone="Asia/Jakarta",
    )
    data = draft_with_proposals(sample_bytes, entries, info)
    assert kind_of_upload(data, sample) is UploadKind.COMMENTED
    result = read_commented(data, sample)
    placed = {c.text.split("\n")[0]: (c.author, c.ref) for c in result.comments if c.ref}
    for n, ref in enumerate(refs):
        assert placed[f"Technical: Comment {n} on {ref}."] == ("SOMHD – Thailand", ref)
    assert [(p.ref, p.proposed) for p in result.proposals] == sorted(proposed.items())
    assert {p.authors for p in result.proposals} == {("SOMHD – Thailand",)}
    assert result.share > 0.9
