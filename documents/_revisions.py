"""Proposed wording written into the draft as tracked changes (revisions).

A proposal is the whole clause as its author wants it. Only the words that change are
marked, as Word's Compare would show them (:mod:`documents._wording`): each deleted
stretch is a ``w:del`` (its ``w:t`` become ``w:delText``) and each new one a ``w:ins``,
by the proposal's author at the time of the comment. The number typed at the start of
a clause ("2.3.1", "a)") and the spaces at either end of its paragraphs are never part
of the change; automatic numbers are not text and need no keeping. A proposal that
shares almost nothing with its clause is shown as a replacement (all of the clause's
text deleted, the proposal inserted); wording sent before the bot asked for the whole
clause (``CommentEntry.proposed_whole`` false) that does not restate the clause is a
fragment whose place in the clause is not known, and is left to the comment.

A clause's paragraphs are compared as its lines. A paragraph break the proposal drops
is the paragraph mark before it, marked deleted (a paragraph removed whole: its text
and the mark before it), so the mark that ends the clause is never touched: the next
clause (a numbered paragraph) keeps its number in LibreOffice's rendering, which shows
the number of a paragraph that a deletion reaches into as "[5.1]". A line the proposal
adds is a line break inside the insertion. Run properties, hyperlinks, fields and
earlier revisions are kept (only their runs are split and wrapped); tables inside a
clause are left alone.

Several proposals on one clause are laid over each other (:func:`documents._wording.merge`):
each proposer's changes are their own, and a stretch that two or more of them change
is deleted once by the Secretariat and followed by every proposal's version of it.

Work is proportional to the size of the clauses and of the proposals; nothing scans
the document per revision.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

from docx.oxml.parser import oxml_parser
from lxml import etree

from ._entries import CommentEntry, iso
from ._ooxml import (
    W_ID,
    W_P,
    W_PPR,
    W_R,
    W_SDT,
    W_T,
    XML_SPACE,
    paragraph_text,
    sanitize_xml_text,
    w,
)
from ._wording import SEVERAL, Change, Comparer, Hunk, merge
from ._xmltext import attr, lines, lines_content, parse_children
from .draft._markers import _TYPED, _typed_marker

W_DEL = w("del")
W_INS = w("ins")
W_RPR = w("rPr")
W_HYPERLINK = w("hyperlink")
_AUTHOR = w("author")
_DATE = w("date")

# Paragraph children whose runs are part of the paragraph's visible text.
_CONTAINERS = frozenset(
    w(tag) for tag in ("hyperlink", "ins", "moveTo", "smartTag", "customXml", "fldSimple", "dir", "bdo")
)
_SDT_CONTENT = w("sdtContent")
# Runs that only carry a comment's reference mark belong to the comment, not the text.
_REFERENCE_ONLY = frozenset(w(tag) for tag in ("rPr", "commentReference", "annotationRef"))
_RENAMED = {W_T: w("delText"), w("instrText"): w("delInstrText")}
_ONE_CHARACTER = frozenset(w(tag) for tag in ("tab", "ptab", "cr", "noBreakHyphen"))
_BR = w("br")
# Properties a copied run format must not carry into an insertion.
_NOT_COPIED = frozenset(w(tag) for tag in ("rPrChange", "ins", "del", "moveFrom", "moveTo"))


def _live_runs(p: etree._Element) -> list[etree._Element]:
    """The runs of ``p`` that show text, in reading order (not deleted or moved away,
    not inside text boxes, not comment reference marks)."""
    runs: list[etree._Element] = []

    def walk(parent: etree._Element) -> None:
        for child in parent:
            tag = child.tag
            if tag == W_R:
                if any(c.tag not in _REFERENCE_ONLY for c in child) or len(child) == 0:
                    runs.append(child)
            elif tag in _CONTAINERS:
                walk(child)
            elif tag == W_SDT:
                content = child.find(_SDT_CONTENT)
                if content is not None:
                    walk(content)

    walk(p)
    return runs


def _child_length(child: etree._Element) -> int:
    """Characters ``child`` of a run adds to :func:`paragraph_text`."""
    tag = child.tag
    if tag == W_T:
        return len(child.text or "")
    if tag in _ONE_CHARACTER:
        return 1
    if tag == _BR:
        return 1 if child.get(w("type")) in (None, "textWrapping") else 0
    return 0


def _run_length(run: etree._Element) -> int:
    return sum(_child_length(child) for child in run)


def _split_run(run: etree._Element, offset: int) -> etree._Element | None:
    """Split ``run`` after ``offset`` characters; returns the new second run, if any."""
    rpr = run.find(W_RPR)
    tail = oxml_parser.makeelement(W_R, attrib=dict(run.attrib))
    if rpr is not None:
        tail.append(copy.deepcopy(rpr))
    consumed = 0
    for child in list(run):
        if child.tag == W_RPR:
            continue
        if consumed >= offset:
            tail.append(child)
            continue
        length = _child_length(child)
        if consumed + length <= offset:
            consumed += length
            continue
        # Only a w:t holds more than one character: split its text.
        cut = offset - consumed
        text = child.text or ""
        second = oxml_parser.makeelement(W_T)
        second.text = text[cut:]
        second.set(XML_SPACE, "preserve")
        child.text = text[:cut]
        child.set(XML_SPACE, "preserve")
        tail.append(second)
        consumed = offset
    if len(tail) == (1 if rpr is not None else 0):
        return None
    run.addnext(tail)
    return tail


def _label_length(p: etree._Element) -> int:
    """Length of the number typed at the start of ``p`` ("2.3.1\\t", "a) "), or 0.

    Automatic numbers are not part of the text and need no keeping.
    """
    ppr = p.find(W_PPR)
    if ppr is not None and ppr.find(w("numPr")) is not None:
        return 0
    text = paragraph_text(p)
    stripped = text.lstrip()
    if not stripped or _typed_marker(stripped) is None:
        return 0
    match = _TYPED.match(stripped)
    return len(text) - len(stripped) + match.start("rest") if match else 0


# What became of a proposal in the draft (RevisionWriter.apply).
CHANGED = "changed"  # the words that change are marked
REPLACED = "replaced"  # it shares almost nothing with the clause: the clause's text is replaced
FRAGMENT = "fragment"  # a fragment sent before whole-clause proposals: left to the comment
UNCHANGED = "unchanged"  # the proposal is the clause as it stands
PLACED = frozenset({CHANGED, REPLACED})

_SDT_CONTENT_TAG = _SDT_CONTENT


def _run_text(run: etree._Element) -> str:
    """The characters ``run`` adds to :func:`paragraph_text` (as :func:`_child_length` counts them)."""
    parts: list[str] = []
    for child in run:
        tag = child.tag
        if tag == W_T:
            parts.append(child.text or "")
        elif tag in (w("tab"), w("ptab")):
            parts.append("\t")
        elif tag == w("cr"):
            parts.append("\n")
        elif tag == w("noBreakHyphen"):
            parts.append("-")
        elif tag == _BR and child.get(w("type")) in (None, "textWrapping"):
            parts.append("\n")
    return "".join(parts)


def proposal_text(proposed: str | None) -> str:
    """The proposal as it is compared and written: its lines, cleaned and trimmed."""
    return "\n".join(line.strip() for line in lines(proposed) if line.strip())


class _Window:
    """A paragraph of a clause and the stretch of its text that proposals may change:
    after the typed number and the spaces around the text."""

    def __init__(self, p: etree._Element, keep: int):
        self.p = p
        self.text = "".join(_run_text(run) for run in _live_runs(p))
        end = len(self.text.rstrip())
        start = min(max(keep, 0), end)
        while start < end and self.text[start].isspace():
            start += 1
        self.start, self.end = start, end
        self.base_start = 0

    @property
    def length(self) -> int:
        return self.end - self.start


def _has_run(element: etree._Element) -> bool:
    return element.tag == W_R or next(element.iter(W_R), None) is not None


def _after(p: etree._Element, run: etree._Element) -> etree._Element:
    """Where text that follows ``run`` goes: after it, or after the containers (a
    hyperlink, a field, an earlier revision, a deletion just made) it ends."""
    node = run
    while True:
        parent = node.getparent()
        if parent is None or parent is p or parent.tag == _SDT_CONTENT_TAG:
            return node
        if any(_has_run(sibling) for sibling in node.itersiblings()):
            return node
        node = parent


def _before(p: etree._Element, run: etree._Element) -> etree._Element:
    node = run
    while True:
        parent = node.getparent()
        if parent is None or parent is p or parent.tag == _SDT_CONTENT_TAG:
            return node
        if any(_has_run(sibling) for sibling in node.itersiblings(preceding=True)):
            return node
        node = parent


def _cut(p: etree._Element, cuts: set[int]) -> list[tuple[etree._Element, int, int]]:
    """The live runs of ``p`` split so that every offset in ``cuts`` falls between two
    runs; each with its start and end offsets."""
    result: list[tuple[etree._Element, int, int]] = []
    position = 0
    for run in _live_runs(p):
        length = _run_length(run)
        start, end = position, position + length
        inner = sorted(c for c in cuts if start < c < end)
        current, current_start = run, start
        for c in inner:
            tail = _split_run(current, c - current_start)
            if tail is None:
                break
            result.append((current, current_start, c))
            current, current_start = tail, c
        result.append((current, current_start, end))
        position = end
    return result


class RevisionWriter:
    """Writes the proposals of one clause after another; revision ids from a counter.

    ``several`` is the author and date of a deletion that two or more proposals make.
    """

    def __init__(self, first_id: int, several: tuple[str, str] = ("Secretariat", "")):
        self._ids = itertools.count(first_id)
        self._several = several
        self.insertions = 0
        self.deletions = 0

    def _attrs(self, who: tuple[str, str]) -> dict[str, str]:
        """Attributes of a new revision, as values (lxml escapes them when saving)."""
        return {
            W_ID: str(next(self._ids)),
            _AUTHOR: " ".join(sanitize_xml_text(who[0]).split()) or "Unknown",
            _DATE: who[1],
        }

    def apply(self, paragraphs: Sequence[etree._Element], proposals: Sequence[CommentEntry]) -> list[str]:
        """Mark on the clause made of ``paragraphs`` the changes each of ``proposals`` makes.

        ``proposals`` are in the order they are shown. Returns, for each, what became of
        it: :data:`CHANGED`, :data:`REPLACED`, :data:`FRAGMENT` or :data:`UNCHANGED`.
        """
        windows = [_Window(p, _label_length(p) if n == 0 else 0) for n, p in enumerate(paragraphs)]
        position = 0
        for window in windows:
            window.base_start = position
            position += window.length + 1
        base = "\n".join(window.text[window.start : window.end] for window in windows)
        outcomes: list[str] = []
        placed: list[CommentEntry] = []
        hunk_sets: list[tuple[Hunk, ...]] = []
        comparer = Comparer(base)
        for entry in proposals:
            text = proposal_text(entry.proposed)
            comparison = comparer.compare(text)
            if comparison.unchanged:
                outcomes.append(UNCHANGED)
                continue
            if comparison.replacement and base:
                if not entry.proposed_whole:
                    outcomes.append(FRAGMENT)
                    continue
                outcomes.append(REPLACED)
                hunk_sets.append((Hunk(0, len(base), text),))
            else:
                outcomes.append(CHANGED)
                hunk_sets.append(comparison.hunks)
            placed.append(entry)
        if placed:
            who = [(entry.author, iso(entry.created_at)) for entry in placed]
            self._write(windows, merge(base, hunk_sets), who)
        return outcomes

    # -- comparing two versions of a clause ---------------------------------------------

    def compare(
        self, paragraphs: Sequence[etree._Element], before: str, who: tuple[str, str], before_label: str = ""
    ) -> bool:
        """Mark on the clause made of ``paragraphs``, which holds the new text, the words
        changed since ``before`` (the old text of the clause, its lines its paragraphs):
        the new words inserted, the old ones written back as deleted, by ``who``, so that
        rejecting every change gives ``before`` and accepting every change the clause as
        it is. A typed number that changed from ``before_label`` is compared too.
        Returns whether anything was marked."""
        windows = [_Window(p, _label_length(p) if n == 0 else 0) for n, p in enumerate(paragraphs)]
        position = 0
        for window in windows:
            window.base_start = position
            position += window.length + 1
        base = "\n".join(window.text[window.start : window.end] for window in windows)
        marked = self._relabel(paragraphs[0], before_label, who) if paragraphs and before_label else False
        hunks = Comparer(base).compare(proposal_text(before)).hunks
        if hunks:
            self._write(windows, merge(base, [hunks]), [who], inverse=True)
        return marked or bool(hunks)

    def _relabel(self, p: etree._Element, before: str, who: tuple[str, str]) -> bool:
        length = _label_length(p)
        if not length:
            return False
        text = paragraph_text(p)
        label = text[:length].strip()
        if not label or label == before:
            return False
        lead = text.index(label)
        hunks = Comparer(label).compare(before).hunks
        deletions = [(lead + h.start, lead + h.end, who) for h in hunks if h.start < h.end]
        inserts = [(lead + h.start, who, h.text) for h in hunks if h.text]
        self._paragraph(p, lead, deletions, inserts, inverse=True)
        return bool(hunks)

    def insert_all(self, paragraphs: Sequence[etree._Element], who: tuple[str, str]) -> None:
        """Mark the text of the paragraphs of a clause that is new inserted (their marks:
        :meth:`mark_before`)."""
        for p in paragraphs:
            length = sum(_run_length(run) for run in _live_runs(p))
            if length:
                self._paragraph(p, 0, [(0, length, who)], [], inverse=True)

    def mark_before(self, p: etree._Element, who: tuple[str, str], kind: str) -> None:
        """Mark inserted (``kind`` w:ins) or deleted (w:del) the paragraph mark that goes
        with ``p``, a paragraph inserted or deleted whole: the mark before it, as Word
        writes a paragraph added after another, so that joining the two keeps the
        paragraph before it as it is (LibreOffice gives the joined paragraph the first
        one's properties, and shows a paragraph whose own number a change reaches into
        with its earlier number in brackets). The first paragraph of the body, or one
        after a table, takes its own mark."""
        previous = p.getprevious()
        while previous is not None and previous.tag != W_P and previous.tag != w("tbl"):
            previous = previous.getprevious()
        self._mark(previous if previous is not None and previous.tag == W_P else p, who, kind)

    def deleted_paragraph(
        self, template: etree._Element, text: str, who: tuple[str, str], *, numbered: bool
    ) -> etree._Element:
        """A paragraph holding ``text`` (its lines as line breaks) as deleted text, with
        the paragraph properties of ``template`` (its style, indents and, if ``numbered``,
        its automatic number; never its section break or revisions). Place it, then call
        :meth:`mark_before` on it."""
        p = oxml_parser.makeelement(W_P)
        ppr = template.find(W_PPR)
        if ppr is not None:
            ppr = copy.deepcopy(ppr)
            for tag in ("sectPr", "pPrChange", "rPr") + (() if numbered else ("numPr",)):
                for child in ppr.findall(w(tag)):
                    ppr.remove(child)
            p.append(ppr)
        p.append(self._deletion(who, text, None))
        return p

    def _write(
        self, windows: list[_Window], changes: list[Change], who: list[tuple[str, str]], *, inverse: bool = False
    ) -> None:
        """Mark ``changes`` on the clause's paragraphs. With ``inverse`` the clause holds
        the result and ``changes`` lead back to what it was: the stretches they cover are
        marked inserted, and the text they bring back is written as deleted, before the
        stretch (where Word's Compare shows it)."""
        deletions: list[list[tuple[int, int, tuple[str, str]]]] = [[] for _ in windows]
        inserts: list[list[tuple[int, tuple[str, str], str]]] = [[] for _ in windows]
        marks: list[tuple[str, str] | None] = [None] * len(windows)
        for change in changes:
            owner = self._several if change.by == SEVERAL else who[change.by]
            if change.start < change.end:
                for n, window in enumerate(windows):
                    low, high = window.base_start, window.base_start + window.length
                    if change.end <= low or change.start > high:
                        continue
                    start = max(change.start, low) - low + window.start
                    end = min(change.end, high) - low + window.start
                    if start < end:
                        deletions[n].append((start, end, owner))
                    if n + 1 < len(windows) and change.start <= high < change.end:
                        marks[n] = owner
            # What replaces a stretch over several paragraphs goes at the end of its first
            # paragraph's part, where the reader starts (accepted, it reads the same).
            at = change.start if inverse else change.end
            for window in windows:
                boundary = window.base_start + window.length
                if not inverse and change.start <= boundary < change.end:
                    at = boundary
                    break
            for k, text in change.inserts:
                n, offset = self._point(windows, at)
                inserts[n].append((offset, who[k], text))
        for n, window in enumerate(windows):
            if deletions[n] or inserts[n]:
                self._paragraph(window.p, window.start, deletions[n], inserts[n], inverse=inverse)
            mark = marks[n]
            if mark is not None:
                self._mark(window.p, mark, W_INS if inverse else W_DEL)

    @staticmethod
    def _point(windows: list[_Window], position: int) -> tuple[int, int]:
        for n, window in enumerate(windows):
            if window.base_start <= position <= window.base_start + window.length:
                return n, position - window.base_start + window.start
        last = windows[-1]
        return len(windows) - 1, last.end

    def _paragraph(
        self,
        p: etree._Element,
        window_start: int,
        deletions: list[tuple[int, int, tuple[str, str]]],
        inserts: list[tuple[int, tuple[str, str], str]],
        *,
        inverse: bool = False,
    ) -> None:
        """Mark ``deletions`` (stretches of the paragraph's text) deleted and write
        ``inserts`` as inserted text; with ``inverse`` the stretches are marked inserted
        and the texts written as deleted."""
        wrapper = W_INS if inverse else W_DEL
        cuts = {c for start, end, _ in deletions for c in (start, end)} | {offset for offset, _, _ in inserts}
        runs = _cut(p, cuts)
        formats = [(run.find(W_RPR), start, end, run.getparent().tag == W_HYPERLINK) for run, start, end in runs]
        for start, end, owner in deletions:
            current: etree._Element | None = None
            for run, run_start, run_end in runs:
                inside = start <= run_start and run_end <= end and run_start < run_end
                if not (inside or start < run_start == run_end < end):
                    continue
                if not inverse:
                    for child in run:
                        renamed = _RENAMED.get(child.tag)
                        if renamed is not None:
                            child.tag = renamed
                if current is None or run.getprevious() is not current:
                    current = oxml_parser.makeelement(wrapper, attrib=self._attrs(owner))
                    run.addprevious(current)
                    if inverse:
                        self.insertions += 1
                    else:
                        self.deletions += 1
                current.append(run)
        placed: dict[int, etree._Element] = {}
        for offset, owner, text in inserts:
            template = _template(formats, offset, at_start=offset == window_start)
            insertion = self._deletion(owner, text, template) if inverse else self._insertion(owner, text, template)
            previous = placed.get(offset)
            if previous is not None:
                previous.addnext(insertion)
            else:
                ending = [run for run, start, end in runs if end == offset and start < end]
                starting = [run for run, start, _ in runs if start == offset]
                if ending:
                    _after(p, ending[-1]).addnext(insertion)
                elif starting:
                    _before(p, starting[0]).addprevious(insertion)
                else:
                    ppr = p.find(W_PPR)
                    if ppr is not None:
                        ppr.addnext(insertion)
                    else:
                        p.insert(0, insertion)
            placed[offset] = insertion

    def _mark(self, p: etree._Element, owner: tuple[str, str], kind: str) -> None:
        """Mark the paragraph mark of ``p`` deleted (``kind`` w:del: accepting joins ``p``
        with the paragraph after it) or inserted (w:ins: rejecting does), where Word can
        do so (a paragraph follows; ``p`` does not end a section)."""
        following = p.getnext()
        if following is None or following.tag != W_P:
            return
        ppr = p.find(W_PPR)
        if ppr is None:
            ppr = oxml_parser.makeelement(W_PPR)
            p.insert(0, ppr)
        if ppr.find(w("sectPr")) is not None:
            return
        rpr = ppr.find(W_RPR)
        if rpr is None:
            rpr = oxml_parser.makeelement(W_RPR)
            later = next((c for c in ppr if c.tag in (w("sectPr"), w("pPrChange"))), None)
            if later is not None:
                later.addprevious(rpr)
            else:
                ppr.append(rpr)
        if rpr.find(kind) is not None:
            return
        mark = oxml_parser.makeelement(kind, attrib=self._attrs(owner))
        # Schema order of paragraph mark properties: w:ins, w:del, then formatting.
        rpr.insert(1 if kind == W_DEL and len(rpr) and rpr[0].tag == W_INS else 0, mark)

    def _deletion(self, owner: tuple[str, str], text: str, template: etree._Element | None) -> etree._Element:
        """``text`` as a deleted run (a text that is no longer there)."""
        element = self._insertion(owner, text, template)
        self.insertions -= 1
        self.deletions += 1
        element.tag = W_DEL
        for child in element.iter(W_T):
            child.tag = w("delText")
        return element

    def _insertion(self, owner: tuple[str, str], text: str, template: etree._Element | None) -> etree._Element:
        a = self._attrs(owner)
        content = lines_content(text.split("\n"))
        xml = f'<w:ins w:id="{a[W_ID]}" w:author="{attr(a[_AUTHOR])}" w:date="{a[_DATE]}"><w:r>{content}</w:r></w:ins>'
        insertion = parse_children("p", xml)[0]
        if template is not None:
            rpr = copy.deepcopy(template)
            for child in list(rpr):
                if child.tag in _NOT_COPIED:
                    rpr.remove(child)
            insertion[0].insert(0, rpr)
        self.insertions += 1
        return insertion


def _template(
    formats: list[tuple[etree._Element | None, int, int, bool]], offset: int, *, at_start: bool
) -> etree._Element | None:
    """The run format inserted text at ``offset`` takes: that of the text just before it
    (at the start of the clause's text, just after it, not the typed number's), outside
    hyperlinks where there is such text."""
    before = [f for f in formats if f[1] < f[2] and f[2] <= offset][::-1]
    after = [f for f in formats if f[1] < f[2] and f[1] >= offset]
    order = (after, before) if at_start else (before, after)
    for candidates in order:
        for rpr, _, _, linked in candidates:
            if not linked:
                return rpr
    for candidates in order:
        for rpr, _, _, _ in candidates:
            return rpr
    return None
