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
from documents.sample import propose_edit

from .builders import W_NS, w
from .reading import part, table_rows, text_of
from .test_consolidate import _anchored_texts, _info

UTC = dt.UTC
START = dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _edit(ref: str, *changes: tuple[str, str]):
    """A proposal made as a delegate makes one: the clause's text with some words changed."""

    def make(sample) -> str:
        text = sample.clause(ref).text
        for old, new in changes:
            assert old in text, (ref, old)
            text = text.replace(old, new, 1)
        return text

    return make


# (clause, body, state, proposed wording: a literal, or made from the clause's text, or None
# for a comment without one). The first three contest 2.3.1.
PROPOSALS = [
    ("2.3.1", "SOMHD", "Thailand", _edit("2.3.1", ("shall", "should"))),
    (
        "2.3.1",
        "SLOM",
        "Viet Nam",
        _edit("2.3.1", ("shall", "must"), ("for all.", "for all, including migrant workers.")),
    ),
    ("2.3.1", "ACW", "Singapore", _edit("2.3.1", ("progressively", "gradually"))),
    # The continuation paragraph dropped and a word changed.
    ("1.5", "SOMSWD", "Malaysia", lambda sample: sample.clause("1.5").text.split("\n")[0].replace("refers", "means")),
    # A phrase added to a clause numbered automatically, with an emoji.
    ("3.1", "SOMHD", "Indonesia", _edit("3.1", ("procedures.", "procedures, at all levels \U0001f30f."))),
    (
        "6.2.b1",
        "ACDM",
        "Philippines",
        _edit("6.2.b1", ("private sector", "private sector \u0627\u0644\u0642\u0637\u0627\u0639")),
    ),
    ("1.3.a", "SOMDP", "Cambodia", _edit("1.3.a", ("to all", 'to all\x00 <now> & "soon"'))),
    # The sentence after the table dropped: only the continuation paragraph changes.
    ("5.3", "SLOM", "Lao PDR", lambda sample: sample.clause("5.3").text.split("\n")[0]),
    # Shares almost nothing with the clause: a replacement.
    ("6.3", "SOMAMAF", "Myanmar", "Members exchange staff.\tSee the annex."),
    ("1.1", "SOMHD", "Myanmar", None),
    ("2.3.1", "SOMRDPE", "Brunei Darussalam", None),
    ("6.4", "ACW", "Malaysia", "   "),  # blank: not a proposal
]
# Wording sent before whole clauses were asked for: a fragment, and one that restates its clause.
LEGACY = [
    ("2.2", "ACW", "Thailand", "including workers in the informal economy"),
    ("6.1", "SOMHD", "Singapore", _edit("6.1", ("adequate", "sufficient"))),
]


def _wording(sample, proposed) -> str | None:
    return proposed(sample) if callable(proposed) else proposed


def _entries(sample) -> list[CommentEntry]:
    entries = []
    rows = [(row, True) for row in PROPOSALS] + [(row, False) for row in LEGACY]
    for n, ((ref, body, state, proposed), whole) in enumerate(rows):
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
                proposed=_wording(sample, proposed),
                created_at=START + dt.timedelta(hours=n),
                late=n == 2,
                proposed_whole=whole,
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
    """clause -> [(author, date, wording)] of the proposals marked in it, in the order they show."""
    by_clause = collections.defaultdict(list)
    for n, (ref, body, state, proposed) in enumerate(PROPOSALS + LEGACY[1:]):
        wording = _wording(sample, proposed)
        if wording and wording.strip():
            hours = n if n < len(PROPOSALS) else n + 1
            date = (START + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
            text = "\n".join(line.strip() for line in sanitize_xml_text(wording).strip().splitlines())
            by_clause[ref].append((f"{body} \u2013 {state}", date, text))
    return by_clause


def _resolved(paragraphs: list[etree._Element], accept: set[str]) -> str:
    """The text of a clause's paragraphs once the revisions by ``accept`` are accepted
    and all others rejected; paragraphs whose mark is deleted and accepted join the next
    one, empty paragraphs are left out."""
    texts, joined = [], False
    for p in paragraphs:
        p = copy.deepcopy(p)
        mark = p.find(f"{w('pPr')}/{w('rPr')}/{w('del')}")
        for revision in list(p.iter(w("ins"), w("del"))):
            if revision.getparent().tag == w("rPr"):
                continue
            accepted = revision.get(w("author")) in accept
            if (revision.tag == w("ins")) == accepted:
                for text in revision.iter(w("delText")):
                    text.tag = w("t")
                for child in list(revision):
                    revision.addprevious(child)
            revision.getparent().remove(revision)
        text = paragraph_text(p)
        if joined:
            texts[-1] += text
        else:
            texts.append(text)
        joined = mark is not None and mark.get(w("author")) in accept
    return "\n".join(t for t in texts if t)


def _rejected(p: etree._Element, keep: tuple[str, ...] = ("Earlier",)) -> str:
    """Paragraph text with the tracked changes rejected, except those by ``keep``."""
    return _resolved([p], set(keep))


def _accepted(p: etree._Element) -> str:
    """Paragraph text with every tracked change accepted (deletions dropped)."""
    return paragraph_text(p)  # paragraph_text skips w:del and reads w:ins


def _clause(document, clause) -> list[etree._Element]:
    return [document.paragraphs[i]._p for i in clause.paragraphs]


def _label(source, clause) -> str:
    head = source[clause.paragraphs[0]].text
    return clause.label + "\t" if clause.label and head.startswith(clause.label + "\t") else ""


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


def test_each_proposal_accepted_gives_its_text_and_rejecting_all_gives_the_clause(proposals, sample, sample_bytes):
    _, out, _ = proposals
    source = docx.Document(io.BytesIO(sample_bytes)).paragraphs
    document = docx.Document(io.BytesIO(out))
    for ref, expected in _proposed(sample).items():
        clause = sample.clause(ref)
        paragraphs = _clause(document, clause)
        original = "\n".join(source[i].text for i in clause.paragraphs)
        assert _resolved(paragraphs, set()) == original, ref
        # The Secretariat's deletions (several proposals changing the same words) are part
        # of adopting any one of them.
        for author, _, text in expected:
            assert _resolved(paragraphs, {author, CONTESTED_AUTHOR}) == _label(source, clause) + text, (ref, author)
        if len(expected) == 1:  # accepting everything gives the one proposal
            everyone = {a.get(w("author")) for p in paragraphs for a in p.iter(w("ins"), w("del"))}
            assert _resolved(paragraphs, everyone) == _label(source, clause) + text
        # Every revision is by a proposer of this clause (or the Secretariat), at its date.
        dates = {author: date for author, date, _ in expected} | {CONTESTED_AUTHOR: "2026-12-02T09:30:00Z"}
        for p in paragraphs:
            for revision in p.iter(w("ins"), w("del")):
                assert dates[revision.get(w("author"))] == revision.get(w("date")), ref


def _deleted(paragraphs: list[etree._Element], author: str) -> list[str]:
    return [
        "".join(t.text or "" for t in d.iter(w("delText")))
        for p in paragraphs
        for d in p.iter(w("del"))
        if d.get(w("author")) == author and d.getparent().tag != w("rPr")
    ]


def _inserted(paragraphs: list[etree._Element], author: str) -> list[str]:
    return [text_of(i) for p in paragraphs for i in p.iter(w("ins")) if i.get(w("author")) == author]


def test_only_the_words_that_change_are_marked(proposals, sample):
    _, out, _ = proposals
    document = docx.Document(io.BytesIO(out))
    indonesia, cambodia = "SOMHD \u2013 Indonesia", "SOMDP \u2013 Cambodia"
    added = _clause(document, sample.clause("3.1"))
    assert _deleted(added, indonesia) == []
    assert _inserted(added, indonesia) == [", at all levels \U0001f30f"]
    assert _deleted(_clause(document, sample.clause("1.3.a")), cambodia) == []
    assert _inserted(_clause(document, sample.clause("1.3.a")), cambodia) == [' <now> & "soon"']
    # Contested: each proposer's own words, and the word two of them change set aside by
    # the Secretariat and followed by each one's version of it.
    contested = _clause(document, sample.clause("2.3.1"))
    assert _deleted(contested, "ACW \u2013 Singapore") == ["progressively"]
    assert _inserted(contested, "ACW \u2013 Singapore") == [" shall", "gradually"]
    assert _deleted(contested, CONTESTED_AUTHOR) == [" shall"]
    assert _inserted(contested, "SOMHD \u2013 Thailand") == [" should"]
    assert _inserted(contested, "SLOM \u2013 Viet Nam") == [" must", ", including migrant workers"]


def test_typed_numbers_are_kept_and_automatic_ones_need_no_keeping(proposals, sample):
    _, out, _ = proposals
    paragraphs = docx.Document(io.BytesIO(out)).paragraphs
    for ref in ("1.3.a", "1.5", "6.3"):
        head = paragraphs[sample.clause(ref).paragraphs[0]]._p
        assert _accepted(head).startswith(sample.clause(ref).label + "\t"), ref
    # 3.1 is numbered automatically: its numbering is kept.
    assert paragraphs[sample.clause("3.1").paragraphs[0]]._p.find(f"{w('pPr')}/{w('numPr')}") is not None


def test_a_dropped_paragraph_takes_the_mark_before_it_never_the_clause_s_last(proposals, sample):
    _, out, _ = proposals
    paragraphs = docx.Document(io.BytesIO(out)).paragraphs
    # 1.5 loses its second paragraph: the first one's mark is deleted, so accepting joins
    # them, and the mark that ends the clause (before section 2) is untouched.
    head, continuation = (paragraphs[i]._p for i in sample.clause("1.5").paragraphs)
    mark = head.find(f"{w('pPr')}/{w('rPr')}/{w('del')}")
    assert mark is not None and mark.get(w("author")) == "SOMSWD \u2013 Malaysia"
    assert _accepted(continuation) == ""
    for ref in _proposed(sample):
        last = paragraphs[sample.clause(ref).paragraphs[-1]]._p
        assert last.find(f"{w('pPr')}/{w('rPr')}/{w('del')}") is None, ref
    # In 5.3 a table stands between the paragraphs: the dropped one is emptied, and the
    # head and the table are left as they are.
    head, after_table = (paragraphs[i]._p for i in sample.clause("5.3").paragraphs)
    assert list(head.iter(w("ins"), w("del"))) == []
    assert _accepted(after_table) == ""
    assert len(docx.Document(io.BytesIO(out)).tables) == 2


def test_a_replacement_and_a_fragment_are_said_so_in_their_comments(proposals, sample, sample_bytes):
    _, out, _ = proposals
    document = docx.Document(io.BytesIO(out))
    by_author = {c.author: c.text for c in document.comments}
    # All of 6.3's text is deleted (its typed number kept) and the proposal inserted.
    replaced = _clause(document, sample.clause("6.3"))
    assert _deleted(replaced, "SOMAMAF \u2013 Myanmar") == [sample.clause("6.3").text]
    assert "Shown as replacing the whole clause" in by_author["SOMAMAF \u2013 Myanmar"]
    # The fragment is not in the text; the comment carries it and says why.
    assert list(_clause(document, sample.clause("2.2"))[0].iter(w("ins"), w("del"))) == []
    fragment = by_author["ACW \u2013 Thailand"]
    assert "Proposed wording: including workers in the informal economy" in fragment
    assert "Not marked in the text" in fragment
    # Older wording that restates its clause is marked like any other.
    assert _deleted(_clause(document, sample.clause("6.1")), "SOMHD \u2013 Singapore") == ["adequate"]
    assert "Not marked" not in by_author["SOMHD \u2013 Singapore"]
    assert "Shown as replacing" not in by_author["SLOM \u2013 Viet Nam"]


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
    # 12 proposals: 11 on 9 clauses (3 on 2.3.1) and one on a missing clause.
    assert facts["Proposed wording"] == ("12 comments on 10 clauses; 1 clause with more than one proposal (contested)")


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

    entry = CommentEntry("TH-001", "1.1", (1,), "SOMHD", "Thailand", "te", "Reword.", "The Plan applies now.", START)
    out = draft_with_proposals(data, [entry], _info())
    p = docx.Document(io.BytesIO(out)).paragraphs[1]._p
    assert _rejected(p) == "1.1\tThe Framework applies3 now."
    assert _rejected(p, keep=()) == "1.1\tThe Framework applies3 (old)"
    assert _accepted(p) == "1.1\tThe Plan applies now."
    # "Framework applies3" is one change (only a space between the words that change): its
    # runs are wrapped where they are, in the hyperlink and in the field, which stay; the
    # typed number, "The ", the earlier revisions and the bookmark are untouched.
    assert p.find(w("hyperlink"))[0].tag == w("del")
    assert p.find(w("fldSimple"))[0].tag == w("del")
    assert text_of(p.find(w("r"))) == "1.1\tThe "
    earlier = [r for r in p.iterchildren(w("ins"), w("del")) if r.get(w("author")) == "Earlier"]
    assert [r.tag for r in earlier] == [w("del"), w("ins")] and text_of(earlier[1]) == " now."
    assert [b.get(w("name")) for b in p.iter(w("bookmarkStart"))] == ["scope"]
    # The insertion follows what it replaces, outside the hyperlink and the field.
    insertions = [i for i in p.iterchildren(w("ins")) if i.get(w("author")) != "Earlier"]
    assert [text_of(i) for i in insertions] == ["Plan applies"]
    assert insertions[0].getprevious().tag == w("fldSimple")
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


def test_the_demos_delegates_propose_edits_of_the_clause_not_new_clauses(sample):
    """What `clausebot demo` sends as proposed wording: the clause with a word replaced or a
    phrase added, so the draft with proposals reads as real delegates' edits would."""
    import difflib

    for clause in sample.clauses:
        for choice in range(4):
            proposed = propose_edit(clause.text, choice)
            old, new = clause.text.split(), proposed.split()
            assert proposed != clause.text, clause.ref
            changed = [op for op in difflib.SequenceMatcher(a=old, b=new).get_opcodes() if op[0] != "equal"]
            # A word or two of the clause replaced, a phrase of at most a dozen words added.
            assert sum(i2 - i1 for _, i1, i2, _, _ in changed) <= 2, (clause.ref, proposed)
            assert 1 <= sum(j2 - j1 for _, _, _, j1, j2 in changed) <= 14, (clause.ref, proposed)
            assert proposed.split("\n")[1:] == clause.text.split("\n")[1:]  # later paragraphs kept
