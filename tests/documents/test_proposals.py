"""Proposed wording as tracked changes: draft_with_proposals()."""

from __future__ import annotations

import collections
import copy
import datetime as dt
import io
import re

import docx
import pytest
from docx.oxml.parser import parse_xml
from lxml import etree

from documents._ooxml import paragraph_text, sanitize_xml_text
from documents.consolidate import (
    ANNEX_HEADING,
    CONTESTED_AUTHOR,
    CommentEntry,
    consolidate,
    draft_with_proposals,
)

from .builders import W_NS, w
from .reading import part, table_rows, text_of
from .test_consolidate import _anchored_texts, _info

UTC = dt.UTC
START = dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

# (clause, body, state, proposed wording); None for a comment without a proposal.
PROPOSALS = [
    ("2.3.1", "SOMHD", "Thailand", "Coverage shall be extended progressively to all."),
    ("2.3.1", "SLOM", "Viet Nam", "Coverage should be extended progressively."),
    ("2.3.1", "ACW", "Singapore", "Coverage shall be extended, with priority to women."),
    ("1.5", "SOMSWD", "Malaysia", "Definition. Social protection means protection.\nSecond line"),
    ("3.1", "SOMHD", "Indonesia", "Strengthen implementation at all levels \U0001f30f."),
    (
        "6.2.b1",
        "ACDM",
        "Philippines",
        "the private sector \u0627\u0644\u0642\u0637\u0627\u0639 \u0627\u0644\u062e\u0627\u0635;",
    ),
    ("1.3.a", "SOMDP", "Cambodia", 'extend coverage\x00 to all <now> & "soon";'),
    ("5.3", "SLOM", "Lao PDR", "Develop indicators.\tSee the table."),
    ("1.1", "SOMHD", "Myanmar", None),
    ("2.3.1", "SOMRDPE", "Brunei Darussalam", None),
    ("6.4", "ACW", "Malaysia", "   "),  # blank: not a proposal
]


def _entries(sample) -> list[CommentEntry]:
    entries = []
    for n, (ref, body, state, proposed) in enumerate(PROPOSALS):
        clause = sample.clause(ref)
        entries.append(
            CommentEntry(
                number=f"X-{n + 1:03d}",
                clause_ref=ref,
                paragraphs=clause.paragraphs,
                body=body,
                state=state,
                kind="te",
                text=f"Comment {n + 1} on {ref}.",
                proposed=proposed,
                created_at=START + dt.timedelta(hours=n),
                late=n == 2,
            )
        )
    entries.append(
        CommentEntry(
            number="X-999",
            clause_ref="9.9",
            paragraphs=(10_000,),
            body="SOMHD",
            state="Timor-Leste",
            kind="ed",
            text="On a clause that is gone.",
            proposed="Orphan wording",
            created_at=START,
        )
    )
    return entries[::-1]


@pytest.fixture(scope="module")
def proposals(sample_bytes, sample):
    entries = _entries(sample)
    fractions: list[float] = []
    out = draft_with_proposals(sample_bytes, entries, _info(), progress=fractions.append)
    return entries, out, fractions


def _proposed(sample) -> dict[str, list[tuple[str, str, str]]]:
    """clause -> [(author, date, wording)] in the order they should show."""
    by_clause = collections.defaultdict(list)
    for n, (ref, body, state, proposed) in enumerate(PROPOSALS):
        if proposed and proposed.strip():
            date = (START + dt.timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            by_clause[ref].append((f"{body} \u2013 {state}", date, sanitize_xml_text(proposed)))
    return by_clause


def _rejected(p: etree._Element, keep: tuple[str, ...] = ("Earlier",)) -> str:
    """Paragraph text with the tracked changes rejected, except those by ``keep``."""
    p = copy.deepcopy(p)
    for ins in list(p.iter(w("ins"))):
        if ins.getparent().tag != w("rPr") and ins.get(w("author")) not in keep:
            ins.getparent().remove(ins)
    for deleted in list(p.iter(w("del"))):
        if deleted.getparent().tag == w("rPr") or deleted.get(w("author")) in keep:
            continue
        for text in deleted.iter(w("delText")):
            text.tag = w("t")
        for child in list(deleted):
            deleted.addprevious(child)
        deleted.getparent().remove(deleted)
    return paragraph_text(p)


def _accepted(p: etree._Element) -> str:
    """Paragraph text with every tracked change accepted (deletions dropped)."""
    return paragraph_text(p)  # paragraph_text skips w:del and reads w:ins


def test_every_revision_has_author_date_and_unique_id(proposals):
    _, out, _ = proposals
    root = part(out)
    revisions = list(root.iter(w("ins"), w("del")))
    assert revisions
    for revision in revisions:
        assert revision.get(w("author"))
        assert ISO.fullmatch(revision.get(w("date")))
    ids = [int(r.get(w("id"))) for r in revisions]
    comment_ids = {int(c.get(w("id"))) for c in root.iter(w("commentRangeStart"))}
    assert len(ids) == len(set(ids)) and not set(ids) & comment_ids


def test_each_proposal_replaces_its_clause(proposals, sample, sample_bytes):
    _, out, _ = proposals
    source = docx.Document(io.BytesIO(sample_bytes)).paragraphs
    paragraphs = docx.Document(io.BytesIO(out)).paragraphs
    for ref, expected in _proposed(sample).items():
        clause = sample.clause(ref)
        head = paragraphs[clause.paragraphs[0]]._p
        insertions = list(head.iterchildren(w("ins")))
        assert [(i.get(w("author")), i.get(w("date"))) for i in insertions] == [
            (author, date) for author, date, _ in expected
        ], ref
        assert [text_of(i).lstrip("\n") for i in insertions] == [
            "\n".join(line.strip() for line in text.strip().splitlines()) for _, _, text in expected
        ], ref
        # The deletion is by the first proposal's author, at its date.
        deletions = [d for d in head.iter(w("del")) if d.getparent().tag != w("rPr")]
        assert deletions and {(d.get(w("author")), d.get(w("date"))) for d in deletions} == {expected[0][:2]}
        for index in clause.paragraphs:
            # Rejecting everything gives back the draft's text, character for character.
            assert _rejected(paragraphs[index]._p) == source[index].text, ref
        # Accepting everything leaves the typed number followed by the proposals.
        label = (
            clause.label + "\t"
            if source[clause.paragraphs[0]].text.startswith(clause.label + "\t") and clause.label
            else ""
        )
        assert _accepted(head) == label + "\n".join(
            "\n".join(line.strip() for line in t.strip().splitlines()) for _, _, t in expected
        ), ref


def test_typed_numbers_are_kept_and_automatic_ones_need_no_keeping(proposals, sample):
    _, out, _ = proposals
    paragraphs = docx.Document(io.BytesIO(out)).paragraphs
    assert _accepted(paragraphs[sample.clause("2.3.1").paragraphs[0]]._p).startswith("2.3.1\t")
    assert _accepted(paragraphs[sample.clause("1.3.a").paragraphs[0]]._p).startswith("a)\t")
    # 3.1 is numbered automatically: all of its text is replaced, its numbering kept.
    auto = paragraphs[sample.clause("3.1").paragraphs[0]]._p
    assert _accepted(auto) == "Strengthen implementation at all levels \U0001f30f."
    assert auto.find(f"{w('pPr')}/{w('numPr')}") is not None


def test_continuation_paragraphs_are_deleted_with_their_marks(proposals, sample):
    _, out, _ = proposals
    paragraphs = docx.Document(io.BytesIO(out)).paragraphs
    for ref in ("1.5", "5.3"):
        clause = sample.clause(ref)
        assert len(clause.paragraphs) == 2
        head, continuation = (paragraphs[i]._p for i in clause.paragraphs)
        assert head.find(f"{w('pPr')}/{w('rPr')}/{w('del')}") is None
        mark = continuation.find(f"{w('pPr')}/{w('rPr')}/{w('del')}")
        assert mark is not None and mark.get(w("author")) == _proposed(sample)[ref][0][0]
        assert _accepted(continuation) == ""
    # The table inside clause 5.3 is left as it is.
    assert len(docx.Document(io.BytesIO(out)).tables) == 2


def test_contested_clause_shows_every_proposal_and_is_flagged(proposals, sample):
    entries, out, _ = proposals
    document = docx.Document(io.BytesIO(out))
    flags = [c for c in document.comments if c.author == CONTESTED_AUTHOR]
    assert len(flags) == 1
    assert flags[0].paragraphs[0].text == (
        "Contested: 3 proposals (SOMHD \u2013 Thailand, SLOM \u2013 Viet Nam, ACW \u2013 Singapore)"
    )
    # The flag is anchored on clause 2.3.1, first of the clause's comments.
    clause = sample.clause("2.3.1")
    head = document.paragraphs[clause.paragraphs[0]]._p
    starts = [s.get(w("id")) for s in head.iter(w("commentRangeStart"))]
    assert starts[0] == str(flags[0].comment_id)
    assert len(starts) == 1 + sum(1 for e in entries if e.clause_ref == "2.3.1")
    assert len(list(head.iter(w("ins")))) == 3


def test_clauses_without_proposals_are_unchanged(proposals, sample, sample_bytes):
    _, out, _ = proposals
    changed = {i for ref in _proposed(sample) for i in sample.clause(ref).paragraphs}
    before = docx.Document(io.BytesIO(sample_bytes)).paragraphs
    after = docx.Document(io.BytesIO(out)).paragraphs

    def runs(p):
        return [etree.tostring(r) for r in p._p.iter(w("r")) if r.find(w("commentReference")) is None]

    for index, (old, new) in enumerate(zip(before, after)):
        if index in changed:
            continue
        assert runs(new) == runs(old), index
        assert list(new._p.iter(w("ins"), w("del"))) == []


def test_ordinary_comments_are_carried_as_in_consolidate(proposals, sample, sample_bytes):
    entries, out, fractions = proposals
    document = docx.Document(io.BytesIO(out))
    comments = [c for c in document.comments if c.author != CONTESTED_AUTHOR]
    assert len(comments) == len(entries)
    assert sorted(c.author for c in comments) == sorted(e.author for e in entries)
    # Every comment still spans its clause (in the proposals view, the clause's text is
    # its deleted text followed by the proposals).
    root = part(out)
    anchored = _anchored_texts(root)
    by_id = {str(c.comment_id): c for c in comments}
    heading_ids = {cid for cid, text in anchored.items() if text == ANNEX_HEADING}
    assert [by_id[cid].text for cid in heading_ids if cid in by_id] == [
        "Editorial: On a clause that is gone.\nProposed wording: Orphan wording"
    ]
    # The annex matrix is the same as the consolidated draft's.
    plain = consolidate(sample_bytes, entries, _info())
    assert table_rows(list(part(out).iter(w("tbl")))[-1]) == table_rows(list(part(plain).iter(w("tbl")))[-1])
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_orphan_proposal_stays_in_the_comments_only(proposals):
    _, out, _ = proposals
    authors = {r.get(w("author")) for r in part(out).iter(w("ins"), w("del"))}
    assert "SOMHD \u2013 Timor-Leste" not in authors
    assert "ACW \u2013 Malaysia" not in authors  # a blank proposal is no proposal


def test_cover_reports_the_proposals(proposals):
    _, out, _ = proposals
    from .reading import cover_table_after

    facts = dict(cover_table_after(out, "Consolidated draft with proposed wording as tracked changes"))
    # 9 proposals: 8 placed on 6 clauses (3 on 2.3.1) and one on a missing clause.
    assert facts["Proposed wording"] == ("9 comments on 7 clauses; 1 clause with more than one proposal (contested)")


def test_no_proposals_is_the_consolidated_draft(sample_bytes, sample):
    entry = CommentEntry(
        "TH-001", "1.1", sample.clause("1.1").paragraphs, "SOMHD", "Thailand", "ge", "Fine.", None, START
    )
    out = draft_with_proposals(sample_bytes, [entry], _info())
    assert list(part(out).iter(w("ins"), w("del"))) == []
    assert len(docx.Document(io.BytesIO(out)).comments) == 1


# ----------------------------------------------------------------- rich clause markup

_RICH = (
    f'<w:p xmlns:w="{W_NS}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<w:r><w:t>1.1</w:t><w:tab/><w:t xml:space="preserve">The </w:t></w:r>'
    "<w:r><w:rPr><w:b/></w:rPr><w:t>Framework</w:t></w:r>"
    '<w:bookmarkStart w:id="7" w:name="scope"/>'
    '<w:hyperlink r:id="rIdX"><w:r><w:rPr><w:rStyle w:val="Hyperlink"/></w:rPr>'
    '<w:t xml:space="preserve"> applies</w:t></w:r></w:hyperlink>'
    '<w:bookmarkEnd w:id="7"/>'
    '<w:fldSimple w:instr=" PAGE "><w:r><w:t>3</w:t></w:r></w:fldSimple>'
    '<w:del w:id="1" w:author="Earlier" w:date="2026-01-01T00:00:00Z"><w:r>'
    "<w:delText> (old)</w:delText></w:r></w:del>"
    '<w:ins w:id="2" w:author="Earlier" w:date="2026-01-01T00:00:00Z"><w:r>'
    "<w:t> now.</w:t></w:r></w:ins>"
    "</w:p>"
)


def test_rich_clause_markup(builder):
    builder.heading("1. Scope")
    builder.para("placeholder")
    builder.para("1.2\tNext clause.")
    placeholder = builder.document.paragraphs[-2]._p
    placeholder.addprevious(parse_xml(_RICH))
    placeholder.getparent().remove(placeholder)
    data = builder.bytes()
    before = docx.Document(io.BytesIO(data)).paragraphs[1]._p
    assert paragraph_text(before) == "1.1\tThe Framework applies3 now."

    entry = CommentEntry("TH-001", "1.1", (1,), "SOMHD", "Thailand", "te", "Reword.", "The Plan applies.", START)
    out = draft_with_proposals(data, [entry], _info())
    p = docx.Document(io.BytesIO(out)).paragraphs[1]._p
    assert _rejected(p) == "1.1\tThe Framework applies3 now."
    assert _rejected(p, keep=()) == "1.1\tThe Framework applies3 (old)"
    assert _accepted(p) == "1.1\tThe Plan applies."
    # The hyperlink, the field and the earlier revisions are still there, wrapping their
    # now deleted runs; the bookmark is untouched.
    hyperlink = p.find(w("hyperlink"))
    assert hyperlink is not None and hyperlink[0].tag == w("del")
    assert p.find(w("fldSimple"))[0].tag == w("del")
    earlier = p.find(w("ins"))
    assert earlier.get(w("author")) == "Earlier" and earlier[0].tag == w("del")
    assert [b.get(w("name")) for b in p.iter(w("bookmarkStart"))] == ["scope"]
    # The insertion takes the run format of the first deleted text ("The ", plain) and
    # comes after the whole clause, outside the hyperlink and the field.
    insertion = [i for i in p.iterchildren(w("ins")) if i.get(w("author")) != "Earlier"]
    assert len(insertion) == 1 and insertion[0].getparent() is p
    assert insertion[0].find(f"{w('r')}/{w('rPr')}") is None
    # The next clause is untouched.
    assert paragraph_text(docx.Document(io.BytesIO(out)).paragraphs[2]._p) == "1.2\tNext clause."


def test_authors_with_markup_characters(sample_bytes, sample):
    clause = sample.clause("1.5")
    entry = CommentEntry(
        "TH-001",
        "1.5",
        clause.paragraphs,
        "R&D <Unit>",
        "Thailand\x07",
        "ed",
        "Tidy.",
        'Definition. "Social protection" & more.',
        START,
    )
    out = draft_with_proposals(sample_bytes, [entry], _info())
    authors = {r.get(w("author")) for r in part(out).iter(w("ins"), w("del"))}
    assert authors == {"R&D <Unit> \u2013 Thailand"}
    head = docx.Document(io.BytesIO(out)).paragraphs[clause.paragraphs[0]]._p
    assert _accepted(head) == '1.5\tDefinition. "Social protection" & more.'
