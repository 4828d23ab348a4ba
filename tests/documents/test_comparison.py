"""The comparison of two versions as tracked changes: documents.comparison."""

from __future__ import annotations

import copy
import datetime as dt
import io

import docx
import pytest
from docx.text.paragraph import Paragraph

from documents._ooxml import paragraph_text
from documents.comparison import COMPARISON_AUTHOR, compare_versions, reasons_text
from documents.draft import parse_draft
from documents.versions import Kind, clauses_of, map_clauses

from .builders import w
from .ooxml_check import schema_folder, validation_errors
from .reading import part, resolved, text_of

DATE = dt.datetime(2026, 12, 20, 9, 0, tzinfo=dt.UTC)
REASONS = {"2.3.1": [("TH-004", "accepted"), ("PH-011", "partly")], "3.1": [("VN-002", "accepted")]}


def _set(p: Paragraph, text: str) -> None:
    for run in p.runs[1:]:
        run._r.getparent().remove(run._r)
    p.runs[0].text = text


def next_version(draft: bytes) -> bytes:
    """The sample draft revised as a Secretariat revises it after a round of comments."""
    document = docx.Document(io.BytesIO(draft))
    ps = document.paragraphs
    by_start = {p.text.split("\t")[0]: p for p in ps if "\t" in p.text}
    # 2.3.1: a word replaced by two; 2.3.2 deleted, so 2.3.3 is typed anew as 2.3.2.
    _set(by_start["2.3.1"], by_start["2.3.1"].text.replace("progressively", "gradually and steadily"))
    by_start["2.3.2"]._p.getparent().remove(by_start["2.3.2"]._p)
    _set(by_start["2.3.3"], by_start["2.3.3"].text.replace("2.3.3", "2.3.2", 1))
    # 3.1 (numbered automatically): a phrase added.
    auto = next(p for p in ps if p.text.startswith("Strengthen the implementation"))
    _set(auto, auto.text.replace("procedures.", "procedures, at all levels."))
    # 1.5 loses its second paragraph; 5.1 (numbered automatically) gains one.
    one_five = ps.index(by_start["1.5"])
    ps[one_five + 1]._p.getparent().remove(ps[one_five + 1]._p)
    baseline = next(p for p in ps if p.text.startswith("Establish a regional baseline"))
    added = copy.deepcopy(baseline._p)
    added.find(f"{w('pPr')}/{w('numPr')}").getparent().remove(added.find(f"{w('pPr')}/{w('numPr')}"))
    baseline._p.addnext(added)
    _set(Paragraph(added, baseline._parent), "The baseline is updated every two years.")
    # 6.4 moved up to follow 6.1, the clauses after it renumbered.
    by_start["6.1"]._p.addnext(by_start["6.4"]._p)
    for old, new in (("6.4", "6.2"), ("6.2", "6.3"), ("6.3", "6.4")):
        _set(by_start[old], by_start[old].text.replace(old, new, 1))
    # A new 4.4 after 4.3's list.
    last_of_four = next(p for p in ps if p.text.startswith("communities affected by disasters"))
    mobilise = next(p for p in ps if p.text.startswith("Mobilise technical assistance"))
    new = copy.deepcopy(mobilise._p)
    last_of_four._p.addnext(new)
    _set(Paragraph(new, last_of_four._parent), "Exchange staff between the secretariats of the sectoral bodies.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def comparison(draft: bytes):
    """The versions, their mapping and the comparison of the sample and its next version."""
    new_bytes = next_version(draft)
    old, new = parse_draft(draft), parse_draft(new_bytes)
    mapping = map_clauses(clauses_of(old), clauses_of(new))
    out = compare_versions(
        new_bytes, mapping, reasons=REASONS, deleted_reasons={"2.3.2": [("MY-001", "accepted")]}, date=DATE
    )
    return old, new, mapping, out


@pytest.fixture(scope="module")
def versions(sample_bytes):
    return comparison(sample_bytes)


def _clauses(draft: bytes) -> list[tuple[str, str]]:
    return [(c.ref, c.text) for c in parse_draft(draft).clauses]


def test_the_mapping_of_the_revised_sample(versions):
    _, _, mapping, _ = versions
    kinds = [(m.ref, m.kind) for m in mapping.matches if m.kind is not Kind.UNCHANGED]
    assert kinds == [
        ("1.5", Kind.CHANGED),
        ("2.3.1", Kind.CHANGED),
        ("2.3.2", Kind.DELETED),
        ("2.3.2", Kind.RENUMBERED),  # the old 2.3.3
        ("3.1", Kind.CHANGED),
        ("4.4", Kind.NEW),
        ("5.1", Kind.CHANGED),
        ("6.2", Kind.MOVED),
        ("6.3", Kind.RENUMBERED),
        ("6.3.b1", Kind.RENUMBERED),
        ("6.3.b2", Kind.RENUMBERED),
        ("6.3.b3", Kind.RENUMBERED),
        ("6.4", Kind.RENUMBERED),
    ]
    assert mapping.doubtful() == []


def test_accepting_every_change_gives_the_new_version_and_rejecting_them_the_old(versions, sample_bytes):
    old, new, _, out = versions
    assert _clauses(resolved(out, accept=True)) == [(c.ref, c.text) for c in new.clauses]
    assert _clauses(resolved(out, accept=False)) == [(c.ref, c.text) for c in old.clauses]


def _deleted_text(revision) -> str:
    marks = {w("tab"): "\t", w("br"): "\n"}
    return "".join(marks.get(t.tag) or t.text or "" for t in revision.iter(w("delText"), w("tab"), w("br")))


def _revisions(root, clause_start: str) -> list[tuple[str, str]]:
    """(kind, text) of the revisions in the paragraph starting with ``clause_start``."""
    for p in root.iter(w("p")):
        pieces = [t for t in p.iter(w("t"), w("delText"), w("tab")) if t.getparent().tag == w("r")]
        shown = [t for t in pieces if t.getparent().getparent().tag != w("del")]
        whole = "".join("\t" if t.tag == w("tab") else t.text or "" for t in shown or pieces)
        if whole.startswith(clause_start):
            found = []
            for revision in p.iter(w("ins"), w("del")):
                if revision.getparent().tag == w("rPr"):
                    found.append((revision.tag.split("}")[1], "\u00b6"))
                    continue
                text = text_of(revision) if revision.tag == w("ins") else _deleted_text(revision)
                found.append((revision.tag.split("}")[1], text))
            return found
    raise AssertionError(clause_start)


def test_only_the_words_that_changed_are_marked(versions, sample_bytes):
    _, new, _, out = versions
    new_bytes = next_version(sample_bytes)
    root = part(out)
    # (The mark of 2.3.1 goes with the deleted 2.3.2 written back after it.)
    assert _revisions(root, "2.3.1\tCoverage") == [
        ("del", "\u00b6"),
        ("del", "progressively"),
        ("ins", "gradually and steadily"),
    ]
    # The typed number changed: only its last digit.
    assert _revisions(root, "2.3.2\tWhere") == [("del", "3"), ("ins", "2")]
    assert _revisions(root, "Strengthen the implementation") == [("ins", ", at all levels")]
    # 1.5's lost paragraph is deleted text after a line break; 5.1's new one is inserted
    # with the mark before it (a paragraph added goes with the mark before it, as Word
    # writes one typed after another).
    lost = _revisions(root, "1.5\t")
    assert [kind for kind, _ in lost] == ["del"] and lost[0][1].startswith("\n")
    assert _revisions(root, "Establish a regional baseline") == [("ins", "\u00b6")]
    assert _revisions(root, "The baseline is updated") == [("ins", "The baseline is updated every two years.")]
    # A new clause inserted whole; a deleted one written back whole where it stood.
    assert _revisions(root, "Exchange staff") == [
        ("ins", "Exchange staff between the secretariats of the sectoral bodies.")
    ]
    assert _revisions(root, "communities affected by disasters") == [("ins", "\u00b6")]
    assert _revisions(root, "6.3\tImplementation") == [("del", "2"), ("ins", "3")]
    assert [kind for kind, _ in _revisions(root, "2.3.2\tMember States")] == ["del"]
    # Every other clause is untouched.
    # (4.3.c and 6.1 carry the marks of the clauses inserted after them.)
    touched = {"1.5", "2.3.1", "2.3.2", "3.1", "4.3.c", "4.4", "5.1", "6.1", "6.2", "6.3", "6.4"}
    marked = {paragraph_text(p) for p in root.iter(w("p")) if next(p.iter(w("ins"), w("del")), None) is not None}
    source = docx.Document(io.BytesIO(new_bytes)).paragraphs
    untouched = [c for c in new.clauses if c.ref not in touched]
    assert len(untouched) > 40
    for clause in untouched:
        for index in clause.paragraphs:
            assert source[index].text not in marked, clause.ref
    authors = {r.get(w("author")) for r in root.iter(w("ins"), w("del"))}
    dates = {r.get(w("date")) for r in root.iter(w("ins"), w("del"))}
    assert authors == {COMPARISON_AUTHOR} and dates == {"2026-12-20T09:00:00Z"}
    ids = [r.get(w("id")) for r in root.iter(w("ins"), w("del"))]
    comment_ids = {c.get(w("id")) for c in root.iter(w("commentRangeStart"))}
    assert len(ids) == len(set(ids)) and not set(ids) & comment_ids


def test_comments_name_the_comments_and_answers_behind_each_change(versions):
    _, _, _, out = versions
    comments = {c.get(w("id")): "".join(c.itertext()) for c in part(out, "word/comments.xml")}
    root = part(out)
    anchored: dict[str, str] = {}
    current: list[str] = []
    for element in root.iter(w("commentRangeStart"), w("t"), w("delText"), w("tab"), w("commentRangeEnd")):
        if element.tag == w("commentRangeStart"):
            current.append(element.get(w("id")))
            anchored[element.get(w("id"))] = ""
        elif element.tag == w("commentRangeEnd"):
            current.remove(element.get(w("id")))
        elif element.getparent().tag == w("r"):
            for cid in current:
                anchored[cid] += "\t" if element.tag == w("tab") else element.text or ""
    by_text = {comments[cid]: anchored[cid] for cid in comments}
    assert by_text["TH-004 accepted, PH-011 accepted in part"].startswith("2.3.1\tCoverage")
    assert by_text["VN-002 accepted"].startswith("Strengthen the implementation")
    assert by_text["Moved here from 6.4."].startswith("6.2\tThis Framework shall be reviewed")
    assert by_text["Moved to 6.2."].startswith("6.4\tThis Framework shall be reviewed")
    assert by_text["MY-001 accepted"].startswith("2.3.2\tMember States")
    assert reasons_text([("TH-004", "rejected"), ("LA-001", "noted")]) == "TH-004 not accepted, LA-001 noted"


def test_the_comparison_is_as_valid_as_the_draft(versions, sample_bytes):
    schema_folder()
    _, _, _, out = versions
    before = validation_errors(sample_bytes)
    errors = validation_errors(out)
    assert {name: found for name, found in errors.items() if before.get(name) != found} == {}


def test_a_mapping_of_another_file_is_refused(versions, sample_bytes):
    _, _, mapping, _ = versions
    small = docx.Document()
    small.add_paragraph("1.1\tOnly clause.")
    out = io.BytesIO()
    small.save(out)
    with pytest.raises(ValueError, match="not in the new draft"):
        compare_versions(out.getvalue(), mapping, date=DATE)
