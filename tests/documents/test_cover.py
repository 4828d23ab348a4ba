"""The cover and summary page at the start of the consolidated draft."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import io

import docx
import pytest
from lxml import etree

from documents._entries import section_of
from documents.consolidate import CommentEntry, ConsolidationInfo, consolidate
from documents.draft import parse_draft
from documents.sample import sample_bodies, sample_states

from .builders import w
from .reading import (
    COVER_TAG,
    cover,
    cover_content,
    cover_paragraphs,
    cover_table_after,
    part,
    text_of,
)
from .test_consolidate import _comments, _info

UTC = dt.UTC
CONSULTED = [f"{code} \u2013 {state}" for code, _ in sample_bodies() for state, _, _ in sample_states()]
NOBODY = "ACDM"  # the body with no contact enrolled in any Member State


def _round(sample) -> tuple[list[CommentEntry], ConsolidationInfo]:
    """Comments on sections 1 and 2 only (3 to 6 get none), half of them with their
    section given, half left to the fallback; one body has nobody enrolled anywhere, and
    every third pair that sent nothing has nobody enrolled either."""
    section_of_clause = {c.ref: s.ref for s in sample.sections for c in s.clauses}
    comments = []
    for n, c in enumerate(_comments(sample)):
        if section_of_clause[c.clause_ref] not in ("1", "2") or c.body == NOBODY:
            continue
        if n % 2:
            c = dataclasses.replace(c, section_ref=section_of_clause[c.clause_ref])
        comments.append(c)
    authors = {c.author for c in comments}
    silent = [label for label in CONSULTED if label not in authors]
    absent = [label for n, label in enumerate(silent) if label.startswith(f"{NOBODY} \u2013") or n % 3 == 0]
    info = dataclasses.replace(
        _info(),
        responded=tuple(label for label in CONSULTED if label in authors),
        not_responded=tuple(label for label in silent if label not in absent),
        not_enrolled=tuple(absent),
        sections=tuple((s.ref, s.heading) for s in sample.sections),
    )
    return comments, info


@pytest.fixture(scope="module")
def with_cover(sample_bytes, sample):
    comments, info = _round(sample)
    return comments, info, consolidate(sample_bytes, comments, info)


def test_cover_comes_first_then_a_page_break_then_the_draft(with_cover, sample_bytes):
    _, _, out = with_cover
    sdt = cover(out)
    gallery = sdt.find(f"{w('sdtPr')}/{w('docPartObj')}/{w('docPartGallery')}")
    assert gallery.get(w("val")) == "Cover Pages"
    last = cover_content(out)[-1]
    assert last.tag == w("p")
    assert [br.get(w("type")) for br in last.iter(w("br"))] == ["page"]

    # Right after the cover, the draft's first element exactly as uploaded.
    body = part(out).find(w("body"))
    original = part(sample_bytes).find(w("body"))
    assert etree.tostring(body[1]) == etree.tostring(original[0])
    # The cover's paragraphs and tables are not top-level: the paragraph indices of the
    # draft (and so the clause anchors) are unchanged.
    before = docx.Document(io.BytesIO(sample_bytes))
    after = docx.Document(io.BytesIO(out))
    assert [p.text for p in after.paragraphs[: len(before.paragraphs)]] == [p.text for p in before.paragraphs]
    assert len(after.tables) == len(before.tables) + 1  # the annex matrix


def test_cover_states_the_round(with_cover):
    _, info, out = with_cover
    paragraphs = cover_paragraphs(out)
    assert paragraphs[0] == ("Title", info.title)
    assert paragraphs[1] == ("Subtitle", "Consolidated draft with comments")
    facts = dict(cover_table_after(out, "Consolidated draft with comments"))
    # The deadline as the Secretariat was told it, in its zone, named: 17:00 in Bangkok
    # is 17:00 in Jakarta.
    assert facts["Deadline for comments"] == "Tue 1 Dec 2026, 17:00 (Asia/Jakarta, UTC+7)"
    assert facts["Compiled on"] == "Wed 2 Dec 2026, 16:30 (Asia/Jakarta, UTC+7)"
    # The consultation's internal name is nowhere on the cover.
    assert info.consultation not in "".join(cover_content(out).itertext())
    assert "Consultation" not in facts


def test_cover_lists_who_responded_who_did_not_and_who_has_no_contact(with_cover):
    _, info, out = with_cover
    rows = cover_table_after(out, "Responses")
    header, rows = rows[0], rows[1:]
    assert header == [
        "Body",
        f"Responded ({len(info.responded)})",
        f"Did not respond ({len(info.not_responded)})",
        f"No contact enrolled ({len(info.not_enrolled)})",
    ]
    assert [r[0] for r in rows] == [code for code, _ in sample_bodies()]

    states = [state for state, _, _ in sample_states()]

    def listed(column: int) -> set[str]:
        found = set()
        for row in rows:
            cell = row[column]
            if cell == f"all {len(states)} Member States":
                named = states
            elif cell.startswith("all except "):
                named = [s for s in states if s not in cell.removeprefix("all except ").split(", ")]
            else:
                named = cell.split(", ") if cell != "\u2013" else []
            found |= {f"{row[0]} \u2013 {state}" for state in named}
        return found

    assert listed(1) == set(info.responded)
    assert listed(2) == set(info.not_responded)
    assert listed(3) == set(info.not_enrolled)
    assert next(r for r in rows if r[0] == NOBODY)[1:] == ["\u2013", "\u2013", "all 10 Member States"]
    texts = [t for _, t in cover_paragraphs(out)]
    assert (
        f"Of {len(CONSULTED)} bodies and Member States consulted, {len(info.responded)} responded and "
        f"{len(info.not_responded)} did not; {len(info.not_enrolled)} have no contact enrolled."
    ) in texts


def test_the_longer_lists_of_responses_get_the_wider_columns(with_cover):
    _, _, out = with_cover
    sdt = cover_content(out)
    heading = next(p for p in sdt.iterchildren(w("p")) if text_of(p) == "Responses")
    table = next(el for el in heading.itersiblings() if el.tag == w("tbl"))
    widths = [int(g.get(w("w"))) for g in table.find(w("tblGrid"))]
    rows = cover_table_after(out, "Responses")[1:]
    lengths = [sum(len(row[column]) for row in rows) for column in (1, 2, 3)]
    assert len(set(lengths)) == 3
    assert sorted((1, 2, 3), key=lambda c: widths[c]) == sorted((1, 2, 3), key=lambda c: lengths[c - 1])
    assert min(widths[1:]) > widths[0] / 2


def test_cover_counts_comments_by_type(with_cover):
    comments, _, out = with_cover
    rows = cover_table_after(out, "Comments by type")
    assert rows[0] == ["Type", "Comments", "Received late", "With proposed wording"]
    kinds = collections.Counter(c.kind for c in comments)
    late = collections.Counter(c.kind for c in comments if c.late)
    proposals = collections.Counter(c.kind for c in comments if c.proposed)
    assert rows[1:4] == [
        [f"{k} \u2013 {name}", str(kinds[k]), str(late[k]), str(proposals[k])]
        for k, name in (("ge", "general"), ("te", "technical"), ("ed", "editorial"))
    ]
    assert rows[-1] == ["Total", str(len(comments)), str(sum(late.values())), str(sum(proposals.values()))]


def test_cover_counts_answers_by_disposition_zeros_included(sample_bytes, sample):
    dispositions = ["accepted", "partly", "partly", "rejected", None, "rejected", "partly"]
    comments = [
        dataclasses.replace(c, disposition=dispositions[n % len(dispositions)], observation=None)
        for n, c in enumerate(_comments(sample))
    ]
    counts = collections.Counter(c.disposition for c in comments)
    assert counts["noted"] == 0 and all(counts[d] for d in ("accepted", "partly", "rejected", None))
    facts = dict(cover_table_after(consolidate(sample_bytes, comments, _info()), "Consolidated draft with comments"))
    assert facts["Answers"] == (
        f"{counts['accepted']} accepted, {counts['partly']} accepted in part, 0 noted, "
        f"{counts['rejected']} not accepted; {counts[None]} not yet answered"
    )


def test_an_observation_without_a_disposition_is_not_yet_an_answer(sample_bytes, sample):
    comments = [dataclasses.replace(c, disposition=None, observation=None) for c in _comments(sample)]
    comments[0] = dataclasses.replace(comments[0], disposition="noted", observation="Thank you.")
    comments[1] = dataclasses.replace(comments[1], observation="To be discussed.")
    facts = dict(cover_table_after(consolidate(sample_bytes, comments, _info()), "Consolidated draft with comments"))
    assert facts["Answers"] == (
        f"0 accepted, 0 accepted in part, 1 noted, 0 not accepted; {len(comments) - 1} not yet answered"
    )


def test_cover_counts_comments_by_section_zeros_included(with_cover, sample):
    comments, info, out = with_cover
    rows = cover_table_after(out, "Comments by section")
    assert rows[0] == ["Section", "Heading", "ge", "te", "ed", "Total"]
    counts = collections.defaultdict(collections.Counter)
    for c in comments:
        counts[c.clause_ref.split(".")[0]][c.kind] += 1
    expected = [
        [ref, heading] + [str(counts[ref][k]) for k in ("ge", "te", "ed")] + [str(sum(counts[ref].values()))]
        for ref, heading in info.sections
    ]
    assert rows[1:-1] == expected
    assert [r[-1] for r in rows[3:-1]] == ["0", "0", "0", "0"]  # sections 3 to 6
    assert rows[-1][0] == "Total" and rows[-1][-1] == str(len(comments))


def test_cover_uses_the_drafts_styles(with_cover):
    _, _, out = with_cover
    content = cover_content(out)
    styles = {
        p.find(f"{w('pPr')}/{w('pStyle')}").get(w("val"))
        for p in content.iterchildren(w("p"))
        if p.find(f"{w('pPr')}/{w('pStyle')}") is not None
    }
    assert {"Title", "Subtitle", "Heading2"} <= styles
    tables = list(content.iterchildren(w("tbl")))
    assert len(tables) == 4
    assert {t.find(f"{w('tblPr')}/{w('tblStyle')}").get(w("val")) for t in tables} == {"TableGrid"}
    # Cover headings stay out of the navigation pane and any table of contents.
    for p in content.iterchildren(w("p")):
        style = p.find(f"{w('pPr')}/{w('pStyle')}")
        if style is not None and style.get(w("val")) == "Heading2":
            assert p.find(f"{w('pPr')}/{w('outlineLvl')}").get(w("val")) == "9"


def test_cover_does_not_change_how_the_draft_parses(with_cover, sample_bytes):
    _, _, out = with_cover
    before, after = parse_draft(sample_bytes), parse_draft(out)
    assert after.title == before.title
    assert after.outline()[: len(before.sections)] == before.outline()
    assert [c.paragraphs for c in after.clauses[: before.clause_count]] == [c.paragraphs for c in before.clauses]


def test_without_the_consulted_list_the_cover_names_those_who_commented(sample_bytes, sample):
    comments = _comments(sample)
    out = consolidate(sample_bytes, comments, _info())
    texts = [t for _, t in cover_paragraphs(out)]
    assert any("list of those consulted was not provided" in t for t in texts)
    rows = cover_table_after(out, "Responses")
    assert rows[0] == ["Body", f"Responded ({len({c.author for c in comments})})"]
    listed = {f"{r[0]} \u2013 {s}" for r in rows[1:] for s in r[1].split(", ")}
    assert listed == {c.author for c in comments}
    # Without the list of sections, the sections that have comments are counted.
    sections = cover_table_after(out, "Comments by section")
    assert [r[0] for r in sections[1:-1]] == ["1", "2", "3", "4", "5", "6"]


def test_consolidating_a_consolidated_draft_keeps_one_cover(sample_bytes, sample):
    comments = _comments(sample)[:3]
    once = consolidate(sample_bytes, comments, _info())
    twice = consolidate(once, comments, _info())
    body = part(twice).find(w("body"))
    covers = [
        sdt for sdt in body.iterchildren(w("sdt")) if sdt.find(f"{w('sdtPr')}/{w('tag')}").get(w("val")) == COVER_TAG
    ]
    assert len(covers) == 1 and body[0] is covers[0]


def test_cover_text_is_cleaned_not_dropped(sample_bytes):
    info = ConsolidationInfo(
        title="Plan \x00of\x0b Action \U0001f30f & <more>",
        consultation="\u0645\u0634\u0627\u0648\u0631\u0629 \u2013 round 2",
        deadline=None,
        generated_at=dt.datetime(2026, 12, 2, tzinfo=UTC),
        responded=("ACW \u2013 Viet\x01 Nam \U0001f1fb\U0001f1f3",),
        not_responded=("Observer delegation",),
        sections=(("1", "Scope & <purpose>"),),
    )
    out = consolidate(sample_bytes, [], info)
    paragraphs = cover_paragraphs(out)
    assert paragraphs[0][1] == "Plan of Action \U0001f30f & <more>"
    assert info.consultation not in "".join(cover_content(out).itertext())
    facts = dict(cover_table_after(out, "Consolidated draft with comments"))
    assert facts["Deadline for comments"] == "No deadline was set"
    assert facts["Comments received"] == "0 comments"
    assert facts["Answers"] == "0 accepted, 0 accepted in part, 0 noted, 0 not accepted; 0 not yet answered"
    rows = cover_table_after(out, "Responses")
    assert rows[1] == ["ACW", "Viet Nam \U0001f1fb\U0001f1f3", "\u2013"]
    assert rows[2] == ["Observer delegation", "\u2013", "yes"]
    sections = cover_table_after(out, "Comments by section")
    assert sections[1] == ["1", "Scope & <purpose>", "0", "0", "0", "0"]


def test_cover_without_the_usual_styles(builder):
    builder.heading("1. Scope")
    builder.para("1.1\tThe scope of the plan.")
    document = builder.document
    styles = document.styles.element
    for style in list(styles.iterchildren(w("style"))):
        name = style.find(w("name")).get(w("val"))
        if name in ("Title", "Subtitle", "heading 1", "heading 2", "Table Grid"):
            styles.remove(style)
    data = builder.bytes()
    entry = CommentEntry(
        "TH-001", "1.1", (1,), "SOMHD", "Thailand", "te", "Narrow it.", None, dt.datetime(2026, 11, 23, tzinfo=UTC)
    )
    out = consolidate(data, [entry], _info())
    content = cover_content(out)
    first = content[0]
    assert first.find(f"{w('pPr')}/{w('pStyle')}") is None
    assert first.find(f"{w('r')}/{w('rPr')}/{w('b')}") is not None  # bold by direct format
    assert text_of(first) == _info().title
    for table in content.iterchildren(w("tbl")):
        assert table.find(f"{w('tblPr')}/{w('tblStyle')}") is None
        assert table.find(f"{w('tblPr')}/{w('tblBorders')}") is not None


@pytest.mark.parametrize(
    ("section_ref", "clause_ref", "known", "expected"),
    [
        ("", "2.3.1", set(), "2"),
        ("", "2.3.1", {"2", "2.3"}, "2.3"),
        ("", "2.3.1", {"2"}, "2"),
        ("", "1.p1", {"1"}, "1"),
        ("5", "2.3.1", {"2"}, "5"),
        ("", "", set(), ""),
    ],
)
def test_section_of(section_ref, clause_ref, known, expected):
    entry = CommentEntry(
        "TH-001",
        clause_ref,
        (1,),
        "SOMHD",
        "Thailand",
        "te",
        "x",
        None,
        dt.datetime(2026, 11, 23, tzinfo=UTC),
        section_ref=section_ref,
    )
    assert section_of(entry, known) == expected
