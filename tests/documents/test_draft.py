"""Parsing uploaded drafts into sections and clauses."""

from __future__ import annotations

import io
import random
import zipfile

import docx
import pytest
from lxml import etree

from bot import texts
from documents.draft import (
    Clash,
    DraftError,
    DraftTooLarge,
    NoStructure,
    NotAWordDocument,
    Numbered,
    NumberingClash,
    normalise_ref,
    parse_draft,
)
from documents.sample import SAMPLE_TITLE

from .builders import DocBuilder, w

# --------------------------------------------------------------------------- sample

SAMPLE_OUTLINE = [
    ("1", "Vision, Goal, Objectives, Principles and Definition of Social Protection", 18),
    ("2", "The Regional Social Protection Framework", 15),
    ("3", "Policy and Programmes", 8),
    ("4", "Capacity Building", 6),
    ("5", "Monitoring and Evaluation", 4),
    ("6", "Institutionalisation and Sustainability", 7),
]

SAMPLE_REFS = [
    # section 1: preamble, typed numbers, typed letters and romans
    "1.p1",
    "1.p2",
    "1.1",
    "1.2",
    "1.3",
    "1.3.a",
    "1.3.b",
    "1.3.c",
    "1.3.d",
    "1.4",
    "1.4.a",
    "1.4.b",
    "1.4.b.i",
    "1.4.b.ii",
    "1.4.b.iii",
    "1.4.c",
    "1.4.d",
    "1.5",
    # section 2: typed, three-level numbers, "(a)" letters
    "2.1",
    "2.1.a",
    "2.1.b",
    "2.1.c",
    "2.1.d",
    "2.2",
    "2.3",
    "2.3.1",
    "2.3.2",
    "2.3.3",
    "2.4",
    "2.4.a",
    "2.4.b",
    "2.4.c",
    "2.4.d",
    # sections 3 to 5: Word automatic numbering
    "3.1",
    "3.2",
    "3.2.a",
    "3.2.b",
    "3.2.c",
    "3.3",
    "3.4",
    "3.5",
    "4.1",
    "4.2",
    "4.3",
    "4.3.a",
    "4.3.b",
    "4.3.c",
    "5.1",
    "5.2",
    "5.3",
    "5.4",
    # section 6: typed numbers and a bulleted list
    "6.1",
    "6.2",
    "6.2.b1",
    "6.2.b2",
    "6.2.b3",
    "6.3",
    "6.4",
]


def test_sample_outline(sample):
    assert sample.title == SAMPLE_TITLE
    assert sample.outline() == SAMPLE_OUTLINE
    assert sample.clause_count == 58
    assert [c.ref for c in sample.clauses] == SAMPLE_REFS
    assert all(s.level == 1 for s in sample.sections)


def test_sample_refs_are_canonical_and_unique(sample):
    refs = [c.ref for c in sample.clauses]
    assert len(set(refs)) == len(refs)
    assert all(normalise_ref(ref) == ref for ref in refs)


def test_sample_clause_details(sample, sample_bytes):
    paragraphs = docx.Document(io.BytesIO(sample_bytes)).paragraphs

    preamble = sample.clause("1.p1")
    assert preamble.label == ""
    assert preamble.text.startswith("This Framework and Plan of Action")

    clause = sample.clause("1.1")
    assert clause.label == "1.1"
    assert clause.level == 1
    assert clause.text.startswith("Vision. An ASEAN Community")
    assert paragraphs[clause.paragraphs[0]].text.startswith("1.1\tVision.")

    roman = sample.clause("1.4(b)(ii)")
    assert roman.ref == "1.4.b.ii"
    assert roman.label == "(ii)"
    assert roman.level == 3
    assert roman.text == "women, in particular women heads of household; and"

    assert sample.clause("2.3.2").level == 2
    assert sample.clause("2.1 (c)").label == "(c)"

    # Section 1.5 has a continuation paragraph.
    definition = sample.clause("1.5")
    assert len(definition.paragraphs) == 2
    assert definition.text.split("\n")[1].startswith("Social protection covers")

    # Automatic numbering: the displayed number is the label, the text has no number.
    auto = sample.clause("3.2")
    assert auto.label == "3.2"
    assert auto.text.startswith("Improve the coverage")
    assert sample.clause("3.2.a").label == "a)"

    # A table inside clause 5.3 does not interrupt it.
    milestones = sample.clause("5.3")
    assert len(milestones.paragraphs) == 2
    assert milestones.text.endswith("in the light of the progress made.")

    bullet = sample.clause("6.2.b2")
    assert bullet.label == "\u2022"
    assert bullet.level == 2
    assert bullet.text == "civil society organisations and academia; and"

    for c in sample.clauses:
        for index in c.paragraphs:
            assert paragraphs[index].text.strip()


def test_sample_sections_point_at_their_headings(sample, sample_bytes):
    paragraphs = docx.Document(io.BytesIO(sample_bytes)).paragraphs
    for section in sample.sections:
        assert paragraphs[section.paragraph].style.name == "Heading 1"
        assert paragraphs[section.paragraph].text.endswith(section.heading)


# --------------------------------------------------------------- automatic numbering


def _auto_numbered(builder: DocBuilder) -> bytes:
    builder.abstract_num(
        30,
        [
            (0, "decimal", "%1."),
            (1, "decimal", "%1.%2"),
            (2, "lowerLetter", "%3)"),
            (3, "lowerRoman", "(%4)"),
        ],
    )
    builder.num(31, 30)
    builder.num(32, 30, start_overrides={0: 7})  # a second list restarting at 7
    builder.abstract_num(40, [(0, "bullet", "\uf0b7")])
    builder.num(41, 40)
    builder.numbered_style("Clause Level 2", 31, 1)

    builder.title("Test framework")
    builder.heading("Scope", num=(31, 0))  # 1.
    builder.para("First clause", num=(31, 1))  # 1.1
    builder.para("Item a", num=(31, 2))  # a)
    for text in ("Point i", "Point ii", "Point iii", "Point iv"):
        builder.para(text, num=(31, 3))  # (i)..(iv)
    builder.para("Item b", num=(31, 2))  # b)
    builder.para("Second clause", num=(31, 1))  # 1.2
    builder.para("Continuation of the second clause")
    builder.para("A bullet", num=(41, 0))
    builder.para("Third clause", style="Clause Level 2")  # 1.3, numbering from the style
    builder.heading("Obligations", num=(31, 0))  # 2.
    builder.para("Obligation one", num=(31, 1))  # 2.1 (restarted)
    for letter in "abcdefghi":
        builder.para(f"Letter {letter}", num=(31, 2))  # a) .. i)
    builder.para("Obligation two", style="Clause Level 2")  # 2.2
    builder.heading("Procedures", num=(32, 0))  # 7. (startOverride)
    builder.para("Procedure one", num=(32, 1))  # 7.1
    builder.para("Procedure two", num=(32, 1))  # 7.2
    builder.heading("Final provisions", num=(31, 0))  # 3. (list 31 continues)
    builder.para("Entry into force", num=(31, 1))  # 3.1
    return builder.bytes()


def test_word_automatic_numbering(builder):
    draft = parse_draft(_auto_numbered(builder))
    assert draft.title == "Test framework"
    assert draft.outline() == [
        ("1", "Scope", 10),
        ("2", "Obligations", 11),
        ("7", "Procedures", 2),
        ("3", "Final provisions", 1),
    ]
    refs = [(c.ref, c.label, c.level) for c in draft.clauses]
    assert refs == [
        ("1.1", "1.1", 1),
        ("1.1.a", "a)", 2),
        ("1.1.a.i", "(i)", 3),
        ("1.1.a.ii", "(ii)", 3),
        ("1.1.a.iii", "(iii)", 3),
        ("1.1.a.iv", "(iv)", 3),
        ("1.1.b", "b)", 2),
        ("1.2", "1.2", 1),
        ("1.2.b1", "\u2022", 2),
        ("1.3", "1.3", 1),
        ("2.1", "2.1", 1),
        ("2.1.a", "a)", 2),
        ("2.1.b", "b)", 2),
        ("2.1.c", "c)", 2),
        ("2.1.d", "d)", 2),
        ("2.1.e", "e)", 2),
        ("2.1.f", "f)", 2),
        ("2.1.g", "g)", 2),
        ("2.1.h", "h)", 2),
        ("2.1.i", "i)", 2),  # the ninth letter, not roman one
        ("2.2", "2.2", 1),
        ("7.1", "7.1", 1),
        ("7.2", "7.2", 1),
        ("3.1", "3.1", 1),
    ]
    second = draft.clause("1.2")
    assert second.text == "Second clause\nContinuation of the second clause"
    assert len(second.paragraphs) == 2


def test_bare_automatic_numbers_take_the_section_prefix(builder):
    builder.abstract_num(50, [(0, "decimal", "%1."), (1, "lowerLetter", "(%2)")])
    builder.num(51, 50)
    builder.num(52, 50, start_overrides={0: 1})
    builder.heading("3. Policy and Programmes")
    builder.para("Strengthen implementation", num=(51, 0))
    builder.para("at national level", num=(51, 1))
    builder.para("at local level", num=(51, 1))
    builder.para("Improve coverage", num=(51, 0))
    builder.heading("4. Capacity Building")
    builder.para("Train providers", num=(52, 0))  # restarts at 1
    draft = parse_draft(builder.bytes())
    assert [(c.ref, c.label) for c in draft.clauses] == [
        ("3.1", "1."),
        ("3.1.a", "(a)"),
        ("3.1.b", "(b)"),
        ("3.2", "2."),
        ("4.1", "1."),
    ]


# ----------------------------------------------------------------------- typed numbers


def test_typed_numbers_of_every_form(builder):
    builder.heading("1. Introduction")
    builder.para("This part introduces the framework.")
    builder.para("It is read together with the Declaration.")
    builder.para("1.1 First clause")
    builder.para("A continuation paragraph of 1.1.")
    builder.para("1.1.1. A three-level clause")
    builder.para("a) letter item")
    builder.para("(i) roman under the letter")
    builder.para("(ii) second roman")
    builder.para("b) second letter")
    builder.para("1.2\tSecond clause with a tab")
    for letter in "abcdefgh":
        builder.para(f"({letter}) paren letter {letter}")
    builder.para("(i) ninth letter, after (h)")
    builder.para("(j) tenth letter")
    builder.heading("Obligations")  # no typed number: counted as section 2
    builder.para("1. Bare number")
    builder.para("2. Another bare number")
    builder.para("a. letter with a dot")
    builder.para("iv. roman with a dot")
    builder.para("\u2022 typed bullet")
    builder.para("\u2022 second typed bullet")
    builder.para("3. Third bare number")
    builder.para("1990 was a year of change.")
    builder.para("2.5 million people are not covered.")
    builder.para("Mr. Smith agreed. e.g. this is prose.")
    builder.heading("2.9 Sub-section", level=2)
    builder.para("(a) first item")
    builder.para("(b) second item")
    builder.para("5. A bare number in a numbered sub-section")
    draft = parse_draft(builder.bytes())
    assert draft.outline() == [
        ("1", "Introduction", 19),
        ("2", "Obligations", 7),
        ("2.9", "Sub-section", 3),
    ]
    assert [c.ref for c in draft.clauses] == [
        "1.p1",
        "1.p2",
        "1.1",
        "1.1.1",
        "1.1.1.a",
        "1.1.1.a.i",
        "1.1.1.a.ii",
        "1.1.1.b",
        "1.2",
        "1.2.a",
        "1.2.b",
        "1.2.c",
        "1.2.d",
        "1.2.e",
        "1.2.f",
        "1.2.g",
        "1.2.h",
        "1.2.i",
        "1.2.j",
        "2.1",
        "2.2",
        "2.2.a",
        "2.2.a.iv",
        "2.2.a.iv.b1",
        "2.2.a.iv.b2",
        "2.3",
        "2.9.a",
        "2.9.b",
        "2.9.5",
    ]
    clauses = {c.ref: c for c in draft.clauses}
    assert clauses["1.p1"].text == "This part introduces the framework."
    assert clauses["1.p1"].label == ""
    assert clauses["1.1"].text == "First clause\nA continuation paragraph of 1.1."
    assert clauses["1.1"].level == 1
    assert clauses["1.1.1"].label == "1.1.1."
    assert clauses["1.1.1"].level == 2
    assert clauses["1.1.1.a"].level == 3
    assert clauses["1.1.1.a.i"].label == "(i)"
    assert clauses["1.1.1.a.i"].level == 4
    assert clauses["1.2"].text == "Second clause with a tab"
    assert clauses["1.2.i"].label == "(i)"
    assert clauses["1.2.i"].level == clauses["1.2.h"].level == 2

    assert clauses["2.1"].label == "1."
    assert clauses["2.2.a"].label == "a."
    assert clauses["2.2.a.iv"].label == "iv."
    assert clauses["2.2.a.iv.b1"].text == "typed bullet"
    assert clauses["2.2.a.iv.b2"].label == "\u2022"
    # Prose that merely starts with a number stays continuation text of 2.3.
    assert clauses["2.3"].text.split("\n") == [
        "Third bare number",
        "1990 was a year of change.",
        "2.5 million people are not covered.",
        "Mr. Smith agreed. e.g. this is prose.",
    ]
    assert draft.sections[2].level == 2
    assert clauses["2.9.a"].level == 1


def test_numbers_that_would_give_two_things_one_reference_are_refused_with_the_clash_named(builder):
    builder.heading("2. Actions")
    builder.para("2.1 Member States shall extend coverage to informal workers.")
    builder.para("3. A clause numbered by hand")
    builder.para("3. The same number again")
    builder.heading("2.1 Sub-measures", level=2)
    builder.para("(a) first sub-measure")
    with pytest.raises(NumberingClash) as info:
        parse_draft(builder.bytes())
    assert isinstance(info.value, DraftError)
    assert info.value.clashes == (
        Clash(
            "2.3",
            Numbered("clause", "3.", "A clause numbered by hand", "2"),
            Numbered("clause", "3.", "The same number again", "2"),
        ),
        Clash(
            "2.1",
            Numbered("clause", "2.1", "Member States shall extend coverage to informal workers.", "2"),
            Numbered("heading", "2.1", "Sub-measures", ""),
        ),
    )
    # The Secretariat is told which, in words.
    told = texts.draft_problem(info.value)
    assert "2.1: clause 2.1 of section 2 (\u201cMember States shall extend" in told
    assert "and the heading 2.1 \u201cSub-measures\u201d" in told
    assert "2.3: clause 3. of section 2 (\u201cA clause numbered by hand\u201d) and clause 3." in told


def test_a_draft_without_a_title_style_takes_its_first_line_as_title(builder):
    builder.para("ASEAN Framework on Social Protection").runs[0].bold = True
    builder.para("1. First clause.")
    builder.para("2. Second clause.")
    draft = parse_draft(builder.bytes())
    assert draft.title == "ASEAN Framework on Social Protection"
    assert [(c.ref, c.text) for c in draft.clauses] == [("1", "First clause."), ("2", "Second clause.")]


def test_list_number_styles_give_the_numbers_word_shows(builder):
    builder.heading("1. Scope")
    builder.para("First", style="List Number")
    builder.para("Sub one", style="List Number 2")
    builder.para("Sub two", style="List Number 2")
    builder.para("Deeper", style="List Number 3")
    builder.para("Second", style="List Number")
    builder.para("Sub three", style="List Number 2")  # Word goes on counting: 3.
    builder.heading("2. Duties")
    builder.para("2.1 Member States shall:")
    builder.para("train staff", style="List Number 2")  # indented under the typed clause
    draft = parse_draft(builder.bytes())
    assert [(c.ref, c.label, c.level) for c in draft.clauses] == [
        ("1.1", "1.", 1),
        ("1.1.1", "1.", 2),
        ("1.1.2", "2.", 2),
        ("1.1.2.1", "1.", 3),
        ("1.2", "2.", 1),
        ("1.2.3", "3.", 2),
        ("2.1", "2.1", 1),
        ("2.1.4", "4.", 2),
    ]


def test_roman_or_letter_disambiguation(builder):
    builder.heading("1. Scope")
    builder.para("1.1 Clause")
    builder.para("(h) an eighth item")
    builder.para("(i) letter, continuing the list")
    builder.para("(j) and another")
    builder.para("1.2 Clause")
    builder.para("(h) an eighth item")
    builder.para("(i) roman, because")
    builder.para("(ii) follows it")
    builder.para("1.3 Clause")
    builder.para("(i) a roman list")
    builder.para("(v) fifth")
    builder.para("v) another shape, roman")
    draft = parse_draft(builder.bytes())
    assert [(c.ref, c.level) for c in draft.clauses] == [
        ("1.1", 1),
        ("1.1.h", 2),
        ("1.1.i", 2),
        ("1.1.j", 2),
        ("1.2", 1),
        ("1.2.h", 2),
        ("1.2.h.i", 3),
        ("1.2.h.ii", 3),
        ("1.3", 1),
        ("1.3.i", 2),
        ("1.3.v", 2),
        ("1.3.v.v", 3),
    ]


def test_parenthesised_numbers_hang_under_the_clause(builder):
    builder.heading("4. Capacity Building")
    builder.para("4.1 Member States shall:")
    builder.para("(1) train service providers;")
    builder.para("(2) share good practice;")
    builder.para("a) through study visits;")
    builder.para("1) sub-item with a closing parenthesis")
    builder.para("(3) report on progress.")
    draft = parse_draft(builder.bytes())
    assert [(c.ref, c.label, c.level) for c in draft.clauses] == [
        ("4.1", "4.1", 1),
        ("4.1.1", "(1)", 2),
        ("4.1.2", "(2)", 2),
        ("4.1.2.a", "a)", 3),
        ("4.1.2.a.1", "1)", 4),
        ("4.1.3", "(3)", 2),
    ]


def test_preambles_continuations_and_tables(builder):
    builder.title("A draft")
    builder.para("Front matter that is not part of any section.")
    builder.heading("Background")
    builder.para("The first preamble paragraph.")
    builder.para("")  # empty paragraphs are ignored
    builder.para("The second preamble paragraph.")
    builder.table([["1. Not a clause", "a) nor this"], ["2026", "milestone"]])
    builder.para("1. The first numbered clause.")
    builder.para("More text of the first clause.")
    builder.table([["x", "y"]])
    builder.para("Still the first clause, after a table.")
    builder.heading("Empty section")
    builder.heading("Closing")
    builder.para("Only prose here.")
    draft = parse_draft(builder.bytes())
    assert draft.title == "A draft"
    assert draft.outline() == [("1", "Background", 3), ("2", "Empty section", 0), ("3", "Closing", 1)]
    first = draft.clause("1.1")
    assert first.text == (
        "The first numbered clause.\nMore text of the first clause.\nStill the first clause, after a table."
    )
    assert len(first.paragraphs) == 3
    assert draft.clause("1.p2").text == "The second preamble paragraph."
    assert draft.clause("3.p1").text == "Only prose here."


def test_document_without_headings(builder):
    builder.para("Introductory text.")
    builder.para("1. First")
    builder.para("a) sub")
    builder.para("2. Second")
    builder.para("2.1 Nested")
    draft = parse_draft(builder.bytes())
    assert draft.outline() == [("", "", 5)]
    assert [c.ref for c in draft.clauses] == ["p1", "1", "1.a", "2", "2.1"]
    assert draft.sections[0].level == 0
    assert draft.title == "Untitled draft"


def test_outline_level_and_core_title(builder):
    builder.document.core_properties.title = "Core title"
    p = builder.para("Chapter on scope")
    p._p.get_or_add_pPr()
    etree.SubElement(p._p.pPr, w("outlineLvl"), {w("val"): "0"})
    builder.para("1. Clause")
    draft = parse_draft(builder.bytes())
    assert draft.title == "Core title"
    assert draft.outline() == [("1", "Chapter on scope", 1)]


# ------------------------------------------------------------------------------ errors


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", id="pdf"),
        pytest.param(random.Random(7).randbytes(4096), id="random-bytes"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), id="word-97"),
        pytest.param(_zip({"hello.txt": b"hello"}), id="zip-not-docx"),
        pytest.param(_zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>"}), id="xlsx"),
        pytest.param(b"", id="empty"),
        pytest.param(b"{\\rtf1\\ansi hello}", id="rtf"),
    ],
)
def test_not_a_word_document(data):
    with pytest.raises(NotAWordDocument) as info:
        parse_draft(data)
    message = str(info.value)
    assert ".docx" in message
    assert isinstance(info.value, DraftError)


def test_truncated_docx(sample_bytes):
    with pytest.raises(NotAWordDocument, match="damaged or incomplete"):
        parse_draft(sample_bytes[: len(sample_bytes) // 2])


def test_corrupt_document_xml(sample_bytes):
    source = zipfile.ZipFile(io.BytesIO(sample_bytes))
    files = {name: source.read(name) for name in source.namelist()}
    files["word/document.xml"] = b"<w:document><unclosed>"
    with pytest.raises(NotAWordDocument):
        parse_draft(_zip(files))


def test_too_large(sample_bytes):
    with pytest.raises(DraftTooLarge) as info:
        parse_draft(sample_bytes, max_bytes=10_000)
    message = str(info.value)
    assert "MB" in message and "limit" in message
    with pytest.raises(DraftTooLarge, match=r"10 MB"):
        parse_draft(b"PK" + bytes(10 * 1024 * 1024))


def test_zip_bomb_is_refused(sample_bytes):
    source = zipfile.ZipFile(io.BytesIO(sample_bytes))
    files = {name: source.read(name) for name in source.namelist()}
    files["word/media/padding.bin"] = bytes(30 * 1024 * 1024)
    data = _zip(files)
    assert len(data) < 1024 * 1024
    with pytest.raises(DraftTooLarge, match="expands"):
        parse_draft(data, max_bytes=1024 * 1024)


def test_prose_without_structure(builder):
    builder.para("A letter of invitation to the consultation.")
    builder.para("1990 was the year this process began, and it continues today.")
    builder.para("We look forward to your comments.")
    with pytest.raises(NoStructure) as info:
        parse_draft(builder.bytes())
    assert "heading" in str(info.value).lower()
    assert "numbered" in str(info.value).lower()


def test_headings_without_text_have_no_clauses(builder):
    builder.heading("Only a heading")
    with pytest.raises(NoStructure):
        parse_draft(builder.bytes())


def test_unknown_numbering_is_ignored(builder):
    builder.heading("1. Scope")
    builder.para("Clause text", num=(999, 0))  # numId that numbering.xml does not define
    draft = parse_draft(builder.bytes())
    assert [c.ref for c in draft.clauses] == ["1.p1"]


# -------------------------------------------------------------------------- normalise


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2.3(a)", "2.3.a"),
        ("2.3 a", "2.3.a"),
        ("2.3.A", "2.3.a"),
        (" 2.3.a. ", "2.3.a"),
        ("2.3a", "2.3.a"),
        ("(iii)", "iii"),
        ("2.3(a)(iii)", "2.3.a.iii"),
        ("2.3 (a) (iii)", "2.3.a.iii"),
        ("Clause 2.3.1", "2.3.1"),
        ("para. 3.p1", "3.p1"),
        ("6.2.B1", "6.2.b1"),
        ("2.3.a-2", "2.3.a-2"),
        ("\uff12.\uff13", "2.3"),  # full-width digits
        ("§ 4.1", "4.1"),
        ("", ""),
    ],
)
def test_normalise_ref(typed, expected):
    assert normalise_ref(typed) == expected
