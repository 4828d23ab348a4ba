"""The consolidated draft: native Word comments on their clauses and the comment matrix."""

from __future__ import annotations

import collections
import datetime as dt
import io
import re
import zipfile

import docx
import pytest
from lxml import etree

from documents._ooxml import paragraph_text
from documents.consolidate import (
    ANNEX_HEADING,
    MATRIX_COLUMNS,
    CommentEntry,
    ConsolidationInfo,
    consolidate,
    draft_with_proposals,
    sanitize_xml_text,
)
from documents.draft import parse_draft
from documents.sample import sample_bodies, sample_states

from .builders import w
from .reading import part

UTC = dt.UTC
BANGKOK = dt.timezone(dt.timedelta(hours=7))

LONG_TEXT = ("The Framework should recognise the role of local government. " * 400)[:20_000]
SPECIAL_TEXTS = [
    "Null\x00 and vertical tab\x0b characters are removed",
    "Welcome progress \U0001f389\U0001f30f on coverage",
    "\u064a\u062c\u0628 \u062a\u0639\u0632\u064a\u0632 \u0627\u0644\u062d\u0645\u0627\u064a\u0629 "
    "\u0627\u0644\u0627\u062c\u062a\u0645\u0627\u0639\u064a\u0629",  # Arabic
    "\u05d4\u05d2\u05e0\u05d4 \u05e1\u05d5\u05e6\u05d9\u05d0\u05dc\u05d9\u05ea",  # Hebrew
    "<b>html</b> & ampersands \"quoted\" 'single'",
    LONG_TEXT,
    "First line of the comment\nSecond line\n\nFourth line after a blank one",
    "Tab\tseparated\ttext",
]


# The Secretariat's answers: an observation alone, a disposition with an observation of
# two lines, a disposition alone; the other comments are not answered yet.
OBSERVATIONS = {2: "Accepted in principle.", 3: "Kept as drafted.\nSee clause 2.1."}
DISPOSITIONS = {3: "rejected", 7: "accepted"}


def _info() -> ConsolidationInfo:
    return ConsolidationInfo(
        title="ASEAN Framework and Plan of Action",
        consultation="asean-framework-and-plan-of",  # the internal name, never shown on a page
        deadline=dt.datetime(2026, 12, 1, 17, 0, tzinfo=BANGKOK),
        generated_at=dt.datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
        timezone="Asia/Jakarta",
    )


def _comments(sample) -> list[CommentEntry]:
    clauses = sample.clauses
    bodies = [code for code, _ in sample_bodies()]
    states = sample_states()
    # Spread over the draft, with several comments on one clause and multi-paragraph
    # clauses (1.5, 5.3) included.
    targets = [clauses[i * 2 % len(clauses)] for i in range(24)]
    targets += [
        sample.clause("1.5"),
        sample.clause("5.3"),
        sample.clause("5.3"),
        sample.clause("1.p1"),
        sample.clause("6.2.b3"),
        sample.clause("3.2.a"),
    ]
    entries = []
    for n, clause in enumerate(targets):
        state, code, _ = states[n % len(states)]
        text = SPECIAL_TEXTS[n] if n < len(SPECIAL_TEXTS) else f"Comment {n} on {clause.ref}."
        entries.append(
            CommentEntry(
                number=f"{code}-{n + 1:03d}",
                clause_ref=clause.ref,
                paragraphs=clause.paragraphs,
                body=bodies[n % len(bodies)],
                state=state,
                kind=("ge", "te", "ed")[n % 3],
                text=text,
                proposed="Replace with: \u201cshall progressively extend\u201d" if n % 4 == 1 else None,
                created_at=dt.datetime(2026, 11, 23, 17, 0, tzinfo=BANGKOK) + dt.timedelta(minutes=n),
                late=n == 5,
                observation=OBSERVATIONS.get(n),
                disposition=DISPOSITIONS.get(n),
                # A few as a consultation that asks its focal points for clearance has them.
                clearance={7: "cleared", 8: "not cleared", 9: "cleared"}.get(n, ""),
                cleared_late=n == 9,
            )
        )
    # Reverse so that the consolidator has to sort them.
    return entries[::-1]


def _expected_comment_text(entry: CommentEntry) -> str:
    first = {"ge": "General", "te": "Technical", "ed": "Editorial"}[entry.kind] + (" (late)" if entry.late else "")
    lines = sanitize_xml_text(entry.text).strip().split("\n")
    lines[0] = f"{first}: {lines[0]}".rstrip()
    if entry.proposed:
        lines.append("Proposed wording: " + entry.proposed)
    if entry.clearance:
        lines.append(entry.clearance_line[0].upper() + entry.clearance_line[1:] + ".")
    return "\n".join(lines)


def _expected_texts(comments: list[CommentEntry]) -> collections.Counter:
    """(author, text) of every Word comment: the delegates' and the Secretariat's replies."""
    expected = collections.Counter((c.author, _expected_comment_text(c)) for c in comments)
    expected.update(("Secretariat", c.answer) for c in comments if c.answer)
    return expected


@pytest.fixture(scope="module")
def consolidated(sample_bytes, sample):
    comments = _comments(sample)
    fractions: list[float] = []
    out = consolidate(sample_bytes, comments, _info(), progress=fractions.append)
    return comments, out, fractions


def _anchored_texts(document_root) -> dict[str, str]:
    """Text between each commentRangeStart and commentRangeEnd, paragraphs joined by \\n."""
    body = document_root.find(w("body"))
    open_ranges: dict[str, list[str]] = {}
    done: dict[str, str] = {}
    for p in body.iterchildren(w("p")):
        for chunks in open_ranges.values():
            chunks.append("\n")
        for el in p.iter():
            if el.tag == w("commentRangeStart"):
                open_ranges[el.get(w("id"))] = []
            elif el.tag == w("commentRangeEnd"):
                done[el.get(w("id"))] = "".join(open_ranges.pop(el.get(w("id")))).lstrip("\n")
            elif el.tag == w("t"):
                for chunks in open_ranges.values():
                    chunks.append(el.text or "")
            elif el.tag == w("tab"):
                for chunks in open_ranges.values():
                    chunks.append("\t")
    assert not open_ranges
    return done


def test_every_comment_is_a_native_comment(consolidated, sample):
    comments, out, _ = consolidated
    document = docx.Document(io.BytesIO(out))
    found = [c for c in document.comments if c.author != "Secretariat"]
    assert len(found) == len(comments)

    expected = collections.Counter((c.author, c.initials, _expected_comment_text(c)) for c in comments)
    actual = collections.Counter((c.author, c.initials, c.text) for c in found)
    assert actual == expected

    authors = {c.author for c in found}
    assert "SOMSWD \u2013 Brunei Darussalam" in authors
    assert {c.initials for c in found} >= {"SOMSWD-BN", "SLOM-KH"}
    for comment in found:
        assert comment.timestamp is not None
        assert comment.timestamp.tzinfo is not None


def test_comment_dates_are_utc(consolidated):
    _comments, out, _ = consolidated
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(out)).read("word/comments.xml"))
    dates = sorted(c.get(w("date")) for c in root.iterchildren(w("comment")))
    assert dates[0] == "2026-11-23T10:00:00Z"  # 17:00 in Bangkok
    assert all(d.endswith("Z") for d in dates)


def test_special_text_survives(consolidated):
    _comments, out, _ = consolidated
    texts = [c.text for c in docx.Document(io.BytesIO(out)).comments]
    joined = "\n".join(texts)
    assert "\x00" not in joined and "\x0b" not in joined
    assert "Null and vertical tab characters are removed" in joined
    assert "\U0001f389\U0001f30f" in joined
    assert SPECIAL_TEXTS[2] in joined and SPECIAL_TEXTS[3] in joined
    assert "<b>html</b> & ampersands \"quoted\" 'single'" in joined
    assert any(LONG_TEXT in t and len(t) >= 20_000 for t in texts)
    multi = next(c for c in docx.Document(io.BytesIO(out)).comments if "First line of the comment" in c.text)
    assert [p.text for p in multi.paragraphs] == [
        "General: First line of the comment",
        "Second line",
        "",
        "Fourth line after a blank one",
    ]
    assert "Tab\tseparated\ttext" in joined
    assert "Proposed wording: Replace with: \u201cshall progressively extend\u201d" in joined
    assert "Editorial (late): " in joined
    assert not re.search(r"\[(ge|te|ed)\]", joined)  # the type is spelled out, never a code


def test_comments_are_anchored_on_their_clauses(consolidated, sample_bytes, sample):
    comments, out, _ = consolidated
    package = zipfile.ZipFile(io.BytesIO(out))
    document_root = etree.fromstring(package.read("word/document.xml"))
    comments_root = etree.fromstring(package.read("word/comments.xml"))

    ids = [c.get(w("id")) for c in comments_root.iterchildren(w("comment"))]
    answered = sum(1 for c in comments if c.answer)
    assert answered == 3
    assert len(ids) == len(set(ids)) == len(comments) + answered
    starts = [e.get(w("id")) for e in document_root.iter(w("commentRangeStart"))]
    ends = [e.get(w("id")) for e in document_root.iter(w("commentRangeEnd"))]
    references = [e.get(w("id")) for e in document_root.iter(w("commentReference"))]
    assert sorted(starts) == sorted(ends) == sorted(references) == sorted(ids)
    for ref in document_root.iter(w("commentReference")):
        run = ref.getparent()
        assert run.tag == w("r")
        assert run.getprevious().tag in (w("commentRangeEnd"), w("r"))
        assert run.find(w("rPr")).find(w("rStyle")).get(w("val")) == "CommentReference"

    # The anchored text of every comment is exactly its clause's text.
    source_paragraphs = docx.Document(io.BytesIO(sample_bytes)).paragraphs
    anchored = _anchored_texts(document_root)
    by_id = {}
    for c in comments_root.iterchildren(w("comment")):
        text = "\n".join(paragraph_text(p) for p in c.iterchildren(w("p")))
        by_id[c.get(w("id"))] = (c.get(w("author")), text)
    expected = collections.Counter(
        (
            c.author,
            _expected_comment_text(c),
            "\n".join(source_paragraphs[i].text for i in c.paragraphs),
        )
        for c in comments
    )
    # A reply is anchored on its comment's clause.
    expected.update(
        ("Secretariat", c.answer, "\n".join(source_paragraphs[i].text for i in c.paragraphs))
        for c in comments
        if c.answer
    )
    actual = collections.Counter((*by_id[cid], anchored[cid]) for cid in ids)
    assert actual == expected


def test_draft_is_unchanged(consolidated, sample_bytes):
    _, out, _ = consolidated
    before = docx.Document(io.BytesIO(sample_bytes))
    after = docx.Document(io.BytesIO(out))
    assert len(after.paragraphs) > len(before.paragraphs)
    for old, new in zip(before.paragraphs, after.paragraphs):
        assert new.text == old.text
        assert new.style.name == old.style.name

        def runs(p, skip_references=False):
            return [
                etree.tostring(r)
                for r in p._p.iter(w("r"))
                if not (skip_references and r.find(w("commentReference")) is not None)
            ]

        def properties(p):
            return None if p._p.pPr is None else etree.tostring(p._p.pPr)

        assert runs(new, skip_references=True) == runs(old)
        assert properties(new) == properties(old)

    # The draft's table is still there, untouched.
    assert len(after.tables) == 2
    assert [[c.text for c in row.cells] for row in after.tables[0].rows] == [
        [c.text for c in row.cells] for row in before.tables[0].rows
    ]
    # Numbering and the draft's styles are preserved.
    assert parse_draft(out).outline()[:6] == parse_draft(sample_bytes).outline()


def test_comment_matrix(consolidated, sample, sample_bytes):
    comments, out, _ = consolidated
    document = docx.Document(io.BytesIO(out))
    headings = [p for p in document.paragraphs if p.text == ANNEX_HEADING]
    assert len(headings) == 1 and headings[0].style.name == "Heading 1"

    table = document.tables[-1]
    header = table.rows[0]
    assert [c.text for c in header.cells] == list(MATRIX_COLUMNS)
    assert header._tr.trPr.find(w("tblHeader")) is not None
    assert table._tbl.tblPr.find(w("tblLayout")).get(w("type")) == "fixed"
    widths = [int(g.get(w("w"))) for g in table._tbl.tblGrid.iterchildren(w("gridCol"))]
    assert len(widths) == 9 and widths[6] > widths[0]

    rows = table.rows[1:]
    assert len(rows) == len(comments)
    position = {c.ref: i for i, c in enumerate(sample.clauses)}
    expected_order = sorted(comments, key=lambda c: (position[c.clause_ref], c.number))
    got = [(r.cells[0].text, r.cells[3].text) for r in rows]
    assert got == [(c.number, c.clause_ref) for c in expected_order]
    for row, entry in zip(rows, expected_order):
        cells = [c.text for c in row.cells]
        assert cells[1] == entry.body
        assert cells[2] == entry.state_cell
        assert cells[4] == str(min(entry.paragraphs) + 1)
        kind, *late = cells[5].split("\n")
        assert kind == entry.kind
        assert late == (["(late)"] if entry.late else [])
        assert cells[6] == sanitize_xml_text(entry.text).strip()
        assert cells[7] == (entry.proposed or "")
        assert cells[8] == (entry.answer or "")
    # The paragraph number is the clause's first paragraph in the draft, from 1.
    source = docx.Document(io.BytesIO(sample_bytes)).paragraphs
    for row, entry in zip(rows, expected_order):
        clause = sample.clause(entry.clause_ref)
        index = int(row.cells[4].text) - 1
        assert index == clause.paragraphs[0]
        assert clause.text.split()[0] in source[index].text
    late_note = [p.text for p in document.paragraphs if "marked \u201c(late)\u201d" in p.text]
    assert late_note and "Type column" in late_note[0]

    # The annex is a landscape section of its own; the draft keeps its portrait page.
    sections = document.sections
    assert len(sections) == 2
    assert sections[0].page_width < sections[0].page_height
    assert sections[1].page_width > sections[1].page_height


def test_the_matrix_columns_are_sized_to_their_content(consolidated):
    _, out, _ = consolidated
    document = docx.Document(io.BytesIO(out))
    table = document.tables[-1]
    widths = [int(g.get(w("w"))) for g in table._tbl.tblGrid.iterchildren(w("gridCol"))]
    section = document.sections[-1]
    assert sum(widths) == section.page_width.twips - section.left_margin.twips - section.right_margin.twips
    number, _, _, clause, paragraph, kind, comment, proposed, observation = widths
    # The short columns hold a code or a number: narrow. Comment and Proposed change
    # take most of the width.
    assert max(number, clause, paragraph, kind) < 1300
    assert comment > proposed > observation and comment > 3 * max(number, paragraph, kind)
    assert comment + proposed > sum(widths) * 0.45
    # "Paragraph" may break as "Para-graph": a soft hyphen, not part of the text.
    header = table.rows[0].cells[4]._tc
    assert header.find(f".//{w('softHyphen')}") is not None and table.rows[0].cells[4].text == "Paragraph"


def test_rows_are_kept_on_one_page_unless_taller_than_a_page(consolidated):
    comments, out, _ = consolidated
    table = docx.Document(io.BytesIO(out)).tables[-1]
    whole = {
        row.cells[0].text: row._tr.trPr is not None and row._tr.trPr.find(w("cantSplit")) is not None
        for row in table.rows[1:]
    }
    long = next(c.number for c in comments if c.text == LONG_TEXT)  # some 150 lines in its column
    assert whole.pop(long) is False
    assert all(whole.values())


def _footer_lines(data: bytes) -> list[list[str]]:
    """The text of each footer part's paragraphs, in the order of the package."""
    package = zipfile.ZipFile(io.BytesIO(data))
    return [
        [paragraph_text(p) for p in etree.fromstring(package.read(name)).iter(w("p"))]
        for name in sorted(package.namelist())
        if re.fullmatch(r"word/footer\d*\.xml", name)
    ]


def test_every_section_shows_the_footer_line_with_the_page_and_the_page_count(consolidated):
    _, out, _ = consolidated
    document = docx.Document(io.BytesIO(out))
    assert len(document.sections) == 2  # the draft (with the cover) and the annex
    first, annex = document.sections
    assert not first.footer.is_linked_to_previous and annex.footer.is_linked_to_previous  # one footer for both
    footer = first.footer._element
    assert [paragraph_text(p) for p in footer.iter(w("p"))] == [
        "Consolidated draft \u2013 compiled 2 Dec 2026 \u2013 page 1 of 1"  # the fields' last results
    ]
    fields = [" ".join(t.text.split()) for t in footer.iter(w("instrText"))]
    assert fields == ["PAGE", "NUMPAGES"]
    # Compiled again, the output keeps one line, not two.
    again = consolidate(out, [], _info())
    assert _footer_lines(again) == [["Consolidated draft \u2013 compiled 2 Dec 2026 \u2013 page 1 of 1"]]
    with_proposals = draft_with_proposals(out, [], _info())
    assert _footer_lines(with_proposals) == [
        ["Consolidated draft with proposals \u2013 compiled 2 Dec 2026 \u2013 page 1 of 1"]
    ]


def test_the_drafts_own_footers_come_first_and_its_headers_stay(builder):
    builder.title("Plan")
    builder.para("1.1\tThe scope of the plan.")
    section = builder.document.sections[0]
    section.different_first_page_header_footer = True
    section.header.paragraphs[0].text = "Working document"
    section.footer.paragraphs[0].text = "Not for citation"
    section.first_page_footer.paragraphs[0].text = "Title page"
    draft = builder.bytes()
    out = consolidate(draft, [], _info())
    line = "Consolidated draft \u2013 compiled 2 Dec 2026 \u2013 page 1 of 1"
    assert sorted(_footer_lines(out)) == [["Not for citation", line], ["Title page", line]]
    headers = [
        name for name in zipfile.ZipFile(io.BytesIO(out)).namelist() if re.fullmatch(r"word/header\d*\.xml", name)
    ]
    assert headers and all(part(out, name) is not None for name in headers)
    assert [etree.tostring(part(out, name)) for name in headers] == [
        etree.tostring(part(draft, name)) for name in headers
    ]


def test_progress_is_reported(consolidated):
    _, _, fractions = consolidated
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert len(fractions) < 60


def test_no_comments(sample_bytes):
    out = consolidate(sample_bytes, [], _info())
    document = docx.Document(io.BytesIO(out))
    assert len(document.comments) == 0
    assert len(document.tables[-1].rows) == 1
    assert any(p.text == "No comments were received." for p in document.paragraphs)


def test_comments_on_a_draft_that_already_has_comments(sample_bytes, sample):
    comments = _comments(sample)[:5]
    once = consolidate(sample_bytes, comments, _info())
    twice = consolidate(once, comments, _info())
    found = list(docx.Document(io.BytesIO(twice)).comments)
    assert len(found) == 10
    assert len({c.comment_id for c in found}) == 10


def test_unknown_paragraphs_are_anchored_on_the_annex(sample_bytes):
    entry = CommentEntry(
        number="SG-001",
        clause_ref="9.9",
        paragraphs=(10_000,),
        body="ACW",
        state="Singapore",
        kind="ge",
        text="A comment on a clause that no longer exists.",
        proposed=None,
        created_at=dt.datetime(2026, 11, 23, tzinfo=UTC),
    )
    out = consolidate(sample_bytes, [entry], _info())
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(out)).read("word/document.xml"))
    anchored = _anchored_texts(root)
    assert list(anchored.values()) == [ANNEX_HEADING]


def test_author_and_initials():
    entry = CommentEntry(
        "TH-001", "1.1", (1,), "SOMHD", "Thailand", "te", "x", None, dt.datetime(2026, 11, 23, tzinfo=UTC)
    )
    assert entry.author == "SOMHD \u2013 Thailand"
    assert entry.initials == "SOMHD-TH"
    other = CommentEntry(
        "TL-001", "1.1", (1,), "", "Timor-Leste", "te", "x", None, dt.datetime(2026, 11, 23, tzinfo=UTC)
    )
    assert other.author == "Timor-Leste"
    assert other.initials == "TL"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        ("a\x00b\x01c\x08d\x0be\x0cf\x0eg\x1fh", "abcdefgh"),
        ("keep\ttab\nnewline\rreturn", "keep\ttab\nnewline\rreturn"),
        ("bad \ufffe\uffff end", "bad  end"),
        ("lone \ud800 surrogate \udfff", "lone  surrogate "),
        ("paired \ud83d\ude00 surrogates", "paired \U0001f600 surrogates"),
        ("emoji \U0001f389 and \u05e2\u05d1\u05e8\u05d9\u05ea", "emoji \U0001f389 and \u05e2\u05d1\u05e8\u05d9\u05ea"),
        ("\x7f\x85\u00a0\u200f", "\x7f\x85\u00a0\u200f"),
        ("", ""),
    ],
)
def test_sanitize_xml_text(raw, clean):
    assert sanitize_xml_text(raw) == clean


def _with_prefix(data: bytes, members: tuple[str, ...], prefix: str) -> bytes:
    """``data`` with the WordprocessingML namespace spelt ``prefix:`` in ``members``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename in members:
                text = content.decode("utf-8")
                text = re.sub(r"(?<=[<\s/])w:", f"{prefix}:", text)
                text = text.replace("xmlns:w=", f"xmlns:{prefix}=")
                content = text.encode("utf-8")
            target.writestr(info, content)
    return out.getvalue()


def test_parts_that_spell_the_namespace_differently(sample_bytes, sample):
    """Generated comments and rows are written with the w: prefix; a draft whose parts use
    another prefix (as some producers write them) still gets well-formed parts."""
    comments = _comments(sample)
    once = consolidate(sample_bytes, comments[:2], _info())
    draft = _with_prefix(once, ("word/document.xml", "word/comments.xml"), "ns0")
    assert b"<ns0:body>" in zipfile.ZipFile(io.BytesIO(draft)).read("word/document.xml")
    out = consolidate(draft, comments[2:], _info())
    document = docx.Document(io.BytesIO(out))
    assert len(document.tables[-1].rows) == len(comments) - 2 + 1
    texts = collections.Counter((c.author, c.text) for c in document.comments)
    assert texts == _expected_texts(comments)
