"""Proposed wording written into the draft as tracked changes (revisions).

For a clause with proposals, the clause's text is marked deleted (``w:del``, its
``w:t`` become ``w:delText``) by the author of the first proposal and each proposal is
inserted (``w:ins``) after it by its own author, the second and later ones each on a
new line (a ``w:br`` inside the insertion, so rejecting one removes its line too). The
number typed at the start of a clause ("2.3.1", "a)") is kept, as are the clause's
run properties, hyperlinks and fields (only their runs are wrapped). Continuation
paragraphs of the clause are deleted with their paragraph marks, so accepting a
proposal leaves one paragraph; tables inside a clause are left alone.

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


def _top(p: etree._Element, element: etree._Element) -> etree._Element:
    """The child of ``p`` that contains ``element``."""
    parent = element.getparent()
    while parent is not None and parent is not p:
        element, parent = parent, parent.getparent()
    return element


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


class RevisionWriter:
    """Writes the proposals of one clause after another; revision ids from a counter."""

    def __init__(self, first_id: int):
        self._ids = itertools.count(first_id)
        self.insertions = 0
        self.deletions = 0

    def _attrs(self, entry: CommentEntry) -> dict[str, str]:
        """Attributes of a new revision, as values (lxml escapes them when saving)."""
        return {
            W_ID: str(next(self._ids)),
            _AUTHOR: " ".join(sanitize_xml_text(entry.author).split()) or "Unknown",
            _DATE: iso(entry.created_at),
        }

    def apply(self, paragraphs: Sequence[etree._Element], proposals: Sequence[CommentEntry]) -> None:
        """Replace the text of the clause made of ``paragraphs`` by ``proposals``.

        ``proposals`` are in the order they are shown; the first one's author deletes
        the clause text.
        """
        first = proposals[0]
        head = paragraphs[0]
        anchor, template = self._delete_text(head, _label_length(head), first)
        for p in paragraphs[1:]:
            _, later_template = self._delete_text(p, 0, first)
            if template is None:
                template = later_template
            self._delete_mark(p, first)
        for n, proposal in enumerate(proposals):
            insertion = self._insertion(proposal, template, new_line=n > 0)
            if anchor is not None:
                anchor.addnext(insertion)
            else:
                ppr = head.find(W_PPR)
                if ppr is not None:
                    ppr.addnext(insertion)
                else:
                    head.insert(0, insertion)
            anchor = insertion

    def _delete_text(
        self, p: etree._Element, keep: int, entry: CommentEntry
    ) -> tuple[etree._Element | None, etree._Element | None]:
        """Mark the text of ``p`` after its first ``keep`` characters deleted.

        Returns the last child of ``p`` holding kept or deleted text (the place for the
        insertion) and the run properties of the first deleted text, as a template.
        """
        runs = _live_runs(p)
        last: etree._Element | None = None
        if keep > 0:
            position = 0
            for i, run in enumerate(runs):
                length = _run_length(run)
                if position + length <= keep:
                    position += length
                    last = _top(p, run)
                    continue
                if position == keep:
                    runs = runs[i:]
                    break
                tail = _split_run(run, keep - position)
                last = _top(p, run)
                runs = ([tail] if tail is not None else []) + runs[i + 1 :]
                break
            else:
                runs = []
        template = None
        chosen = False  # the first deleted text outside a hyperlink gives the format
        current: etree._Element | None = None
        for run in runs:
            if not chosen and run.find(W_T) is not None and run.getparent().tag != W_HYPERLINK:
                template, chosen = run.find(W_RPR), True
            for child in run:
                renamed = _RENAMED.get(child.tag)
                if renamed is not None:
                    child.tag = renamed
            if current is None or run.getprevious() is not current:
                current = oxml_parser.makeelement(W_DEL, attrib=self._attrs(entry))
                run.addprevious(current)
                self.deletions += 1
            current.append(run)
            last = _top(p, current)
        return last, template

    def _delete_mark(self, p: etree._Element, entry: CommentEntry) -> None:
        """Mark the paragraph mark of ``p`` deleted, so that accepting the deletion
        removes the paragraph, where Word can do so (a paragraph follows; ``p`` does
        not end a section)."""
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
        if rpr.find(W_DEL) is not None:
            return
        mark = oxml_parser.makeelement(W_DEL, attrib=self._attrs(entry))
        # Schema order of paragraph mark properties: w:ins, w:del, then formatting.
        rpr.insert(1 if len(rpr) and rpr[0].tag == W_INS else 0, mark)

    def _insertion(self, entry: CommentEntry, template: etree._Element | None, *, new_line: bool) -> etree._Element:
        a = self._attrs(entry)
        content = lines_content(lines(entry.proposed))
        xml = (
            f'<w:ins w:id="{a[W_ID]}" w:author="{attr(a[_AUTHOR])}" w:date="{a[_DATE]}"><w:r>'
            + ("<w:br/>" if new_line else "")
            + content
            + "</w:r></w:ins>"
        )
        insertion = parse_children("p", xml)[0]
        if template is not None:
            rpr = copy.deepcopy(template)
            for child in list(rpr):
                if child.tag in _NOT_COPIED:
                    rpr.remove(child)
            insertion[0].insert(0, rpr)
        self.insertions += 1
        return insertion
