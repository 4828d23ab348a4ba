"""Compile the consolidated draft: the uploaded draft with every comment on its clause.

Two Word outputs are built from the uploaded document itself, so its styles, numbering,
tables and headings are kept:

* :func:`consolidate` -- a cover and summary page, then the draft with its clause text
  untouched, each comment a native Word comment anchored on its clause (the
  Secretariat's answer, once there is one, a reply in the comment's thread), and an
  annex listing all comments in a comment matrix (the columns of the ISO commenting
  template);
* :func:`draft_with_proposals` -- the same document where, in addition, every proposed
  wording is a tracked change on its clause that the Secretariat can accept or reject
  in Word.

:func:`comment_matrix_xlsx` (see :mod:`documents.matrix`) gives the matrix as a
spreadsheet with the same rows in the same order. In both, "Paragraph" is the clause's
first paragraph in the draft counted from 1 ("\u2013" when not known), and a comment
received after the deadline is marked "(late)" in the Type column.

Cover page. A block-level content control at the start of the body (see
:mod:`documents._cover`): the draft's title (never the consultation's internal name),
the deadline in the Secretariat's time zone, who responded, who did not and who has no
contact enrolled, and the comments by type and by section. Its paragraphs are not
top-level body paragraphs, so the paragraph indices that anchor the comments are those
of the uploaded draft.

Footer line. Every page ends with "Consolidated draft \u2013 compiled 2 Feb 2027 \u2013 page 3
of 22" (PAGE and NUMPAGES fields), in a content control tagged :data:`FOOTER_TAG`: added
beneath the draft's own footer where it has one (the default footer, and the first
page's and the even pages' where the draft shows them), in a footer of its own where it
has none; the draft's headers are left alone. A draft that is itself an output keeps one
line, not two.

Comments. Each begins with its type spelled out ("Technical: ...", "Editorial (late):
...").

Annex. The matrix's columns are sized to their content and its rows kept on one page
unless taller than a page (see :mod:`documents._annex_layout`); the annex's landscape
section has margins of 2 cm at most.

Answers. A comment with a disposition or an observation gets a reply by
:data:`SECRETARIAT_AUTHOR` ("SEC"), dated when the draft is compiled, reading as the
matrix does ("Accepted in part. Kept, every 18 months."), threaded under the comment as
Word 2013 and later show replies (:mod:`documents._threads`); the comment itself keeps
the delegate's text only. A comment not yet answered has no reply.

Tracked changes. python-docx cannot write revisions, so ``w:del``/``w:ins`` are written
with lxml (:mod:`documents._revisions`). The package ``docx-revisions`` (0.1.5) was
evaluated and not adopted: it gives every revision the current time (no way to date a
change by its comment), allocates each revision id by an XPath scan of the whole
document (quadratic in the number of proposals), rewrites the text around a change as
new runs without their run properties (so the kept text loses its formatting), only
sees top-level runs (not hyperlinks or fields), works on one paragraph at a time, and
registers its element classes in python-docx's global parser on import. Writing the
few elements needed directly is simpler, keeps the draft's formatting and stays linear.

A proposal is the whole clause as its author wants it, and only the words it changes
are marked: deleted and inserted by the proposal's author, dated when the comment was
made (:mod:`documents._wording` compares them word by word). A proposal that shares
almost nothing with its clause is shown as replacing the clause's text, and its Word
comment says so; older wording sent as a fragment, before whole clauses were asked for,
is not marked in the text and its comment says why. A clause with two or more
proposals shows each as its own change set, and a stretch that several of them change
is deleted by :data:`CONTESTED_AUTHOR` and followed by every proposal's version of it.
Such a clause is flagged as contested with a Word comment on the clause, by
:data:`CONTESTED_AUTHOR`, reading "Contested: N proposals (SOMHD \u2013 Thailand, SLOM
\u2013 Viet Nam)"; the clause text is not highlighted, since highlighting would be a
formatting change left behind after the revisions are accepted or rejected.

Performance: a consultation can collect thousands of comments. python-docx's
``add_comment`` allocates each id by scanning every existing comment, which makes n
comments cost O(n^2). Here ids come from a counter, the anchors are placed with one
lookup per clause paragraph, and the comments and the rows of the matrix are written
as XML text straight into the saved package (:mod:`documents._package`) instead of
being built as elements, so the work is linear in the number of comments and memory
stays close to the size of the compressed output.
"""

from __future__ import annotations

import copy
import functools
import io
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import XmlPart
from docx.oxml.parser import oxml_parser, parse_xml
from lxml import etree

from . import _package, _threads
from ._annex_layout import RowFit, column_widths, heading_content, short_values
from ._cover import COVER_TAG, CoverStyles, cover_xml, summarise
from ._entries import (
    KIND_TITLES,
    LATE_MARK,
    MATRIX_COLUMNS,
    CommentEntry,
    ConsolidationInfo,
    has_proposal,
    iso,
    kind_code,
    local_day,
    local_time,
    matrix_order,
    natural,
    plural,
    utc,
)
from ._ooxml import W_ID, W_P, W_SDT, W_VAL, body_paragraphs, sanitize_xml_text, w
from ._revisions import FRAGMENT, PLACED, REPLACED, RevisionWriter
from ._xmltext import W_DECL, attr, escape, field_runs, lines, parse_children, run_content
from ._xmltext import paragraph as _paragraph
from .matrix import comment_matrix_xlsx

__all__ = [
    "ANNEX_HEADING",
    "CONTESTED_AUTHOR",
    "MATRIX_COLUMNS",
    "SECRETARIAT_AUTHOR",
    "CommentEntry",
    "ConsolidationInfo",
    "comment_matrix_xlsx",
    "consolidate",
    "draft_with_proposals",
    "sanitize_xml_text",
]

ANNEX_HEADING = "Annex \u2013 Comment matrix"
# What the footer line of each page calls the document.
FOOTER_CONSOLIDATED = "Consolidated draft"
FOOTER_WITH_PROPOSALS = "Consolidated draft with proposals"
FOOTER_TAG = "clausebot-footer"
# The annex's page margins and the distance of its header and footer from the edge, at
# most (twips: 2 cm and 1 cm).
_ANNEX_MARGIN = 1134
_ANNEX_EDGE = 567
# Author of the replies that answer the comments and of the comment that flags a
# clause with more than one proposal.
SECRETARIAT_AUTHOR = "Secretariat"
SECRETARIAT_INITIALS = "SEC"
CONTESTED_AUTHOR = SECRETARIAT_AUTHOR
CONTESTED_INITIALS = SECRETARIAT_INITIALS


# ---------------------------------------------------------------------- the parts


@dataclass
class _StyleIds:
    comment_text: str
    comment_reference: str
    matrix: str
    heading: str | None
    cover: CoverStyles
    footer: str | None


def _ensure_styles(styles_root: etree._Element) -> _StyleIds:
    """Ids of the styles the comments, the cover and the annex use, adding any that the
    comments need and the draft lacks.

    Word adds "annotation text" and "annotation reference" to a document the first time
    a comment is inserted; a draft that never had comments lacks them.
    """
    by_name: dict[str, str] = {}
    ids: set[str] = set()
    default_paragraph = None
    for style in styles_root.iterchildren(w("style")):
        sid = style.get(w("styleId"))
        if sid is None:
            continue
        ids.add(sid)
        name_el = style.find(w("name"))
        if name_el is not None:
            kind = style.get(w("type"), "paragraph")
            name = (name_el.get(W_VAL) or "").strip().lower()
            by_name.setdefault(name, sid)
            by_name.setdefault(f"{kind}:{name}", sid)
        if style.get(w("type")) == "paragraph" and style.get(w("default")) in ("1", "true"):
            default_paragraph = sid

    based_on = f'<w:basedOn w:val="{attr(default_paragraph)}"/>' if default_paragraph else ""
    wanted = (
        (
            "annotation text",
            "CommentText",
            (
                f'<w:style {W_DECL} w:type="paragraph" w:styleId="CommentText">'
                f'<w:name w:val="annotation text"/>{based_on}<w:uiPriority w:val="99"/>'
                '<w:unhideWhenUsed/><w:pPr><w:spacing w:after="60" w:line="240" '
                'w:lineRule="auto"/></w:pPr><w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/>'
                "</w:rPr></w:style>"
            ),
        ),
        (
            "annotation reference",
            "CommentReference",
            (
                f'<w:style {W_DECL} w:type="character" w:styleId="CommentReference">'
                '<w:name w:val="annotation reference"/><w:uiPriority w:val="99"/><w:semiHidden/>'
                '<w:unhideWhenUsed/><w:rPr><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr>'
                "</w:style>"
            ),
        ),
        (
            "comment matrix text",
            "CommentMatrixText",
            (
                f'<w:style {W_DECL} w:type="paragraph" w:customStyle="1" '
                'w:styleId="CommentMatrixText"><w:name w:val="Comment Matrix Text"/>'
                f'{based_on}<w:qFormat/><w:pPr><w:spacing w:before="20" w:after="20" '
                'w:line="240" w:lineRule="auto"/></w:pPr><w:rPr><w:sz w:val="18"/>'
                '<w:szCs w:val="18"/></w:rPr></w:style>'
            ),
        ),
    )
    found: list[str] = []
    for name, sid, xml in wanted:
        existing = by_name.get(name)
        if existing is None:
            if sid not in ids:
                styles_root.append(parse_xml(xml))
                ids.add(sid)
            existing = sid
        found.append(existing)
    heading1 = by_name.get("paragraph:heading 1")
    cover = CoverStyles(
        title=by_name.get("paragraph:title"),
        subtitle=by_name.get("paragraph:subtitle"),
        heading=by_name.get("paragraph:heading 2") or heading1,
        table=by_name.get("table:table grid"),
        cell=found[2],
    )
    return _StyleIds(found[0], found[1], found[2], heading1, cover, by_name.get("paragraph:footer"))


def _comments_root(document: docx.document.Document) -> etree._Element:
    _ = document.comments  # creates word/comments.xml and its relationship when missing
    return cast(XmlPart, document.part.part_related_by(RT.COMMENTS)).element


def _next_comment_id(comments_root: etree._Element) -> int:
    highest = -1
    for comment in comments_root.iterchildren(w("comment")):
        try:
            highest = max(highest, int(comment.get(W_ID, "-1")))
        except ValueError:
            continue
    return highest + 1


def _comment_paragraphs(first: list[str], extra: list[str], styles: _StyleIds, para_id: str | None = None) -> str:
    """The paragraphs of a comment's text; ``para_id`` (for a comment in a thread) goes
    on the last one, where Word looks for it."""
    ppr = f'<w:pPr><w:pStyle w:val="{styles.comment_text}"/></w:pPr>'
    first = first or [""]
    paragraphs = [
        (
            f'<w:p>{ppr}<w:r><w:rPr><w:rStyle w:val="{styles.comment_reference}"/></w:rPr>'
            f"<w:annotationRef/></w:r><w:r>{run_content(first[0].rstrip())}</w:r></w:p>"
        )
    ]
    for line in first[1:] + extra:
        paragraphs.append(f"<w:p>{ppr}<w:r>{run_content(line)}</w:r></w:p>")
    if para_id is not None:
        paragraphs[-1] = f'<w:p w14:paraId="{para_id}">' + paragraphs[-1][len("<w:p>") :]
    return "".join(paragraphs)


@functools.lru_cache(maxsize=1024)
def _who(author: str, initials: str) -> str:
    """The author attributes of a comment (a round has a few dozen distinct authors)."""
    initials = attr(initials)
    return f'w:author="{attr(author)}"' + (f' w:initials="{initials}"' if initials else "")


def _comment_element(cid: int, author: str, initials: str, date: str, content: str) -> str:
    return f'<w:comment w:id="{cid}" {_who(author, initials)} w:date="{date}">{content}</w:comment>'


def _comment_xml(
    cid: int, entry: CommentEntry, styles: _StyleIds, para_id: str | None = None, note: str | None = None
) -> str:
    """The delegate's comment: type, text and proposed wording, and ``note`` after it (the
    Secretariat's answer is a reply of its own, see :func:`_reply_xml`)."""
    kind = kind_code(entry)
    label = " ".join(part for part in (KIND_TITLES.get(kind, kind), LATE_MARK if entry.late else "") if part)
    text = lines(entry.text) or [""]
    if label:
        text[0] = f"{label}: {text[0]}"
    extra: list[str] = []
    proposed = lines(entry.proposed)
    if proposed:
        proposed[0] = "Proposed wording: " + proposed[0]
        extra += proposed
    if entry.clearance_line:
        line = entry.clearance_line
        extra.append(line[0].upper() + line[1:] + ".")
    if note:
        extra.append(f"({note})")
    return _comment_element(
        cid,
        entry.author,
        entry.initials,
        iso(entry.created_at),
        _comment_paragraphs(text, extra, styles, para_id),
    )


def _reply_xml(cid: int, entry: CommentEntry, date: str, styles: _StyleIds, para_id: str) -> str:
    """The Secretariat's answer to ``entry`` ("Accepted in part. Kept, every 18 months."),
    a reply in the comment's thread."""
    return _comment_element(
        cid,
        SECRETARIAT_AUTHOR,
        SECRETARIAT_INITIALS,
        date,
        _comment_paragraphs(lines(entry.answer), [], styles, para_id),
    )


# -------------------------------------------------------------------------- anchors

# Paragraph children that carry no content: a comment range starts before the first
# child that is not one of these and ends after the last one.
_NOT_CONTENT = frozenset(
    w(tag)
    for tag in (
        "pPr",
        "bookmarkStart",
        "bookmarkEnd",
        "commentRangeStart",
        "commentRangeEnd",
        "permStart",
        "permEnd",
        "proofErr",
        "moveFromRangeStart",
        "moveFromRangeEnd",
        "moveToRangeStart",
        "moveToRangeEnd",
    )
)


def _content_bounds(p: etree._Element) -> tuple[etree._Element | None, etree._Element | None]:
    first = last = None
    for child in p:
        if not isinstance(child.tag, str) or child.tag in _NOT_CONTENT:
            continue
        if first is None:
            first = child
        last = child
    return first, last


def _insert_starts(p: etree._Element, first: etree._Element | None, ids: list[int]) -> None:
    """A range start for each of ``ids`` before the clause's first content."""
    starts = parse_children("markers", "".join(f'<w:commentRangeStart w:id="{cid}"/>' for cid in ids))
    if first is not None:
        for start in starts:
            first.addprevious(start)
        return
    position = 1 if len(p) and p[0].tag == w("pPr") else 0
    p[position:position] = starts


def _insert_ends(p: etree._Element, last: etree._Element | None, ids: list[int], rstyle: str) -> None:
    """After the clause's last content: each range end followed by its reference run.

    The markers of one clause are parsed together, and only while they are placed:
    holding elements for every comment at once would cost far more memory and time.
    """
    ends = parse_children(
        "markers",
        "".join(
            f'<w:commentRangeEnd w:id="{cid}"/><w:r><w:rPr><w:rStyle w:val="{rstyle}"/>'
            f'</w:rPr><w:commentReference w:id="{cid}"/></w:r>'
            for cid in ids
        ),
    )
    if last is None:
        p.extend(ends)
        return
    for element in ends:
        last.addnext(element)
        last = element


# ------------------------------------------------------------------------ proposals

Span = tuple[int, int]


def _max_id(root: etree._Element) -> int:
    highest = -1
    for element in root.iter():
        value = element.get(W_ID) if isinstance(element.tag, str) else None
        if value is not None and value.isdigit():
            highest = max(highest, int(value))
    return highest


def _apply_proposals(
    root: etree._Element,
    paragraphs: list[etree._Element],
    entries: list[CommentEntry],
    spans: list[Span | None],
    first_free_id: int,
    generated_at: str,
) -> tuple[list[tuple[Span, list[CommentEntry]]], dict[int, str]]:
    """Write every proposal as tracked changes on its clause.

    Returns the contested clauses (two or more proposals marked in the text) with those
    proposals in the order shown, and what became of each proposal that is not simply
    marked (by index into ``entries``: replaced, a fragment left to the comment).
    Proposals whose clause is not in the draft stay in the comments only.
    """
    groups: dict[Span, list[int]] = {}
    for n, (entry, span) in enumerate(zip(entries, spans)):
        if span is not None and has_proposal(entry):
            groups.setdefault(span, []).append(n)
    if not groups:
        return [], {}
    writer = RevisionWriter(max(_max_id(root), first_free_id + len(groups)) + 1, (CONTESTED_AUTHOR, generated_at))
    contested = []
    notes: dict[int, str] = {}
    for span, members in groups.items():
        members.sort(key=lambda n: (utc(entries[n].created_at), natural(entries[n].number)))
        proposals = [entries[n] for n in members]
        indices = sorted(set(proposals[0].paragraphs))
        outcomes = writer.apply([paragraphs[i] for i in indices], proposals)
        for n, outcome in zip(members, outcomes):
            if outcome in (REPLACED, FRAGMENT):
                notes[n] = outcome
        shown = [entry for entry, outcome in zip(proposals, outcomes) if outcome in PLACED]
        if len(shown) > 1:
            contested.append((span, shown))
    return contested, notes


# What the comment of a proposal says when the proposal is not simply marked in the text.
PROPOSAL_NOTES = {
    REPLACED: "Shown as replacing the whole clause: the proposed wording shares almost nothing with it.",
    FRAGMENT: (
        "Not marked in the text: this wording was sent before whole clauses were asked for and "
        "does not restate the clause, so where it belongs is left to the Secretariat."
    ),
}


def _contested_xml(cid: int, proposals: list[CommentEntry], date: str, styles: _StyleIds) -> str:
    authors = ", ".join(dict.fromkeys(p.author for p in proposals if p.author))
    text = [f"Contested: {len(proposals)} proposals ({authors})"]
    extra = [
        (
            "Each proposal is shown as the changes its author makes; words that more than one "
            "proposal changes are deleted by the Secretariat and followed by each proposal\u2019s "
            "version. To adopt one proposal, accept its author\u2019s changes and the "
            "Secretariat\u2019s and reject the others; reject them all to keep the text as drafted."
        )
    ]
    return _comment_element(cid, CONTESTED_AUTHOR, CONTESTED_INITIALS, date, _comment_paragraphs(text, extra, styles))


# ------------------------------------------------------------------- running footer


def _footer_line_xml(text: str, style: str | None) -> str:
    """Our footer line: "Consolidated draft \u2013 compiled 2 Dec 2026 \u2013 page 3 of 30",
    in a content control tagged :data:`FOOTER_TAG`."""
    rpr = '<w:rPr><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr>'
    style_el = f'<w:pStyle w:val="{attr(style)}"/>' if style else ""
    return (
        f'<w:sdt><w:sdtPr><w:tag w:val="{FOOTER_TAG}"/></w:sdtPr><w:sdtContent>'
        f'<w:p><w:pPr>{style_el}<w:spacing w:before="60" w:after="0"/><w:jc w:val="center"/></w:pPr>'
        f'<w:r>{rpr}<w:t xml:space="preserve">{escape(text)} \u2013 page </w:t></w:r>'
        + field_runs("PAGE", rpr)
        + f'<w:r>{rpr}<w:t xml:space="preserve"> of </w:t></w:r>'
        + field_runs("NUMPAGES", rpr)
        + "</w:p></w:sdtContent></w:sdt>"
    )


def _is_footer_line(element: etree._Element) -> bool:
    if element.tag != W_SDT:
        return False
    tag = element.find(f"{w('sdtPr')}/{w('tag')}")
    return tag is not None and tag.get(W_VAL) == FOOTER_TAG


def _add_running_footer(document: docx.document.Document, text: str, style: str | None) -> None:
    """Our footer line on every page of every section, beneath the draft's own footer
    where it has one.

    Each footer a page can show (the default one; the first page's where a section has a
    different first page; the even pages' where the document has different odd and even
    pages) gets the line once, whichever sections share it. A section without a footer
    of its own shows the previous section's, which has the line; the first section, when
    it has none, is given one holding only the line. The draft's headers are left as they
    are.
    """
    even = bool(document.settings.odd_and_even_pages_header_footer)
    existing = {id(rel.target_part) for rel in document.part.rels.values() if rel.reltype == RT.FOOTER}
    done: set[int] = set()
    for section in document.sections:
        footers = [section.footer]
        if section.different_first_page_header_footer:
            footers.append(section.first_page_footer)
        if even:
            footers.append(section.even_page_footer)
        for footer in footers:
            # The section's own footer, or the one it shows from a section before it; a
            # new, empty one when no section before it has one.
            part = footer.part
            if id(part) in done:
                continue
            done.add(id(part))
            root = part.element
            for child in list(root):
                # The line of an earlier consolidation (the draft is such an output), and
                # the empty paragraph of a new footer.
                if _is_footer_line(child) or id(part) not in existing:
                    root.remove(child)
            for element in parse_children("ftr", _footer_line_xml(text, style)):
                root.append(element)


# ----------------------------------------------------------------------------- annex


def _page_layout(sect_pr: etree._Element | None, *, landscape: bool) -> int:
    """Text width in twips of the section of ``sect_pr``; with ``landscape`` the
    section is turned to landscape first."""
    width, height, left, right, gutter = 11906, 16838, 1440, 1440, 0
    if landscape:
        width, height = height, width
    if sect_pr is None:
        return width - left - right
    pg_sz = sect_pr.find(w("pgSz"))
    if pg_sz is not None:
        try:
            width = int(pg_sz.get(w("w"), width))
            height = int(pg_sz.get(w("h"), height))
        except ValueError:
            pass
        if landscape and width < height:
            width, height = height, width
            pg_sz.set(w("w"), str(width))
            pg_sz.set(w("h"), str(height))
            pg_sz.set(w("orient"), "landscape")
    pg_mar = sect_pr.find(w("pgMar"))
    if pg_mar is not None:
        try:
            left = int(pg_mar.get(w("left"), left))
            right = int(pg_mar.get(w("right"), right))
            gutter = int(pg_mar.get(w("gutter"), gutter))
        except ValueError:
            pass
    return max(width - left - right - gutter, 5000 if landscape else 3000)


def _text_height(sect_pr: etree._Element | None, *, landscape: bool) -> int:
    """Height in twips of the text area of the section of ``sect_pr`` (A4 with margins
    of an inch where the section does not say)."""
    height, top, bottom = 16838, 1440, 1440
    if landscape:
        height = 11906
    if sect_pr is not None:
        pg_sz, pg_mar = sect_pr.find(w("pgSz")), sect_pr.find(w("pgMar"))
        try:
            if pg_sz is not None:
                height = int(pg_sz.get(w("h"), height))
            if pg_mar is not None:
                top = abs(int(pg_mar.get(w("top"), top)))
                bottom = abs(int(pg_mar.get(w("bottom"), bottom)))
        except ValueError:
            pass
    return max(height - top - bottom, 3000)


def _prepare_annex_section(sect_pr: etree._Element) -> None:
    """Turn the document's final section properties into those of the annex section."""
    type_el = sect_pr.find(w("type"))
    if type_el is None:
        type_el = etree.Element(w("type"))
        later = ("pgSz", "pgMar", "paperSrc", "pgBorders", "lnNumType", "pgNumType", "cols")
        anchor = next((el for tag in later if (el := sect_pr.find(w(tag))) is not None), None)
        if anchor is not None:
            anchor.addprevious(type_el)
        else:
            sect_pr.insert(0, type_el)
    type_el.set(W_VAL, "nextPage")
    for tag in ("titlePg",):
        for el in sect_pr.findall(w(tag)):
            sect_pr.remove(el)
    pg_num = sect_pr.find(w("pgNumType"))
    if pg_num is not None and pg_num.get(w("start")) is not None:
        del pg_num.attrib[w("start")]
    # Margins of 2 cm at most, and the header and footer 1 cm from the edge at most: the
    # matrix gets the width and height of the page.
    pg_mar = sect_pr.find(w("pgMar"))
    if pg_mar is not None:
        for side, most in (
            ("top", _ANNEX_MARGIN),
            ("bottom", _ANNEX_MARGIN),
            ("left", _ANNEX_MARGIN),
            ("right", _ANNEX_MARGIN),
            ("header", _ANNEX_EDGE),
            ("footer", _ANNEX_EDGE),
        ):
            try:
                value = int(pg_mar.get(w(side), "0"))
            except ValueError:
                continue
            if abs(value) > most:  # a negative top or bottom margin is one the header cannot push
                pg_mar.set(w(side), str(most if value > 0 else -most))
    cols = sect_pr.find(w("cols"))
    if cols is not None:
        for col in cols.findall(w("col")):
            cols.remove(col)
        for name in (w("num"), w("equalWidth"), w("sep")):
            if name in cols.attrib:
                del cols.attrib[name]


def _header_cell(title: str, width: int, style: str) -> str:
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>'
        '<w:shd w:val="clear" w:color="auto" w:fill="D9E2F3"/></w:tcPr>'
        f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>'
        f"<w:r><w:rPr><w:b/></w:rPr>{heading_content(title)}</w:r></w:p></w:tc>"
    )


def _cell(text_lines: list[str], paragraph_start: str) -> str:
    """A data cell. Its width comes from the fixed table grid, so no w:tcW is written:
    at thousands of rows that saves a quarter of the table's XML."""
    if not text_lines:
        return f"<w:tc>{paragraph_start}</w:p></w:tc>"
    if len(text_lines) == 1:
        content = run_content(text_lines[0])
    else:
        content = "<w:br/>".join(run_content(line) for line in text_lines)
    return f"<w:tc>{paragraph_start}<w:r>{content}</w:r></w:p></w:tc>"


def _annex_head_xml(entries: list[CommentEntry], info: ConsolidationInfo, styles: _StyleIds, widths: list[int]) -> str:
    """The annex heading, one paragraph on how to read the matrix, and the matrix with
    its header row."""
    parts: list[str] = []
    if styles.heading:
        parts.append(_paragraph(ANNEX_HEADING, styles.heading))
    else:
        parts.append(_paragraph(ANNEX_HEADING, bold=True, size=32))
    bodies = {e.body for e in entries}
    states = {e.state for e in entries}
    late = sum(1 for e in entries if e.late)
    if entries:
        counts = (
            f"{plural(len(entries), 'comment')} from {plural(len(bodies), 'body', 'bodies')} and "
            f"{plural(len(states), 'Member State')}"
            + (
                f", {late} received after the deadline (marked \u201c{LATE_MARK}\u201d in the Type column)"
                if late
                else ""
            )
            + f"; compiled {local_time(info.generated_at, info.timezone)}. "
        )
        legend = (
            "Type: ge general, te technical, ed editorial. Paragraph: the clause's first paragraph "
            "in the draft, counted from the start."
        )
        parts.append(_paragraph(counts + legend, styles.matrix, ppr_extra='<w:spacing w:after="120"/>'))
    else:
        parts.append(_paragraph("No comments were received.", styles.matrix))

    border = '"single" w:sz="4" w:space="0" w:color="auto"'
    parts.append(
        "<w:tbl><w:tblPr>"
        f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
        "<w:tblBorders>"
        + "".join(f"<w:{side} w:val={border}/>" for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
        + "</w:tblBorders>"
        '<w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="70" w:type="dxa"/><w:right w:w="70" w:type="dxa"/>'
        "</w:tblCellMar>"
        '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" '
        'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
        "</w:tblPr><w:tblGrid>" + "".join(f'<w:gridCol w:w="{width}"/>' for width in widths) + "</w:tblGrid>"
        "<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"
        + "".join(_header_cell(title, width, styles.matrix) for title, width in zip(MATRIX_COLUMNS, widths))
        + "</w:tr></w:tbl>"
    )
    return "".join(parts)


@functools.lru_cache(maxsize=4096)
def _repeated_cell(text: str, paragraph_start: str) -> str:
    """A cell whose text repeats from row to row (body, Member State, clause, type)."""
    return _cell(lines(text), paragraph_start)


# A row kept on one page, and one free to break (taller than a page).
_ROW_WHOLE = "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
_ROW_FREE = "<w:tr>"


def _row_xml(e: CommentEntry, paragraph_start: str, whole: bool) -> str:
    number, body, state, clause, paragraph, kind = short_values(e)
    return (
        (_ROW_WHOLE if whole else _ROW_FREE)
        + _cell(lines(number), paragraph_start)
        + _repeated_cell(body, paragraph_start)
        + _repeated_cell(state, paragraph_start)
        + _repeated_cell(clause, paragraph_start)
        + _repeated_cell(paragraph, paragraph_start)
        + _repeated_cell(kind, paragraph_start)
        + _cell(lines(e.text), paragraph_start)
        + _cell(lines(e.proposed), paragraph_start)
        + _cell(lines(e.answer), paragraph_start)
        + "</w:tr>"
    )


# --------------------------------------------------------------------------- driver

# Comments and matrix rows are generated this many at a time, which bounds the memory
# taken by the intermediate text whatever the number of comments.
_CHUNK = 1000


class _Progress:
    def __init__(self, callback: Callable[[float], None] | None):
        self.callback = callback
        self.done = 0
        self.steps = 1
        self.start = self.end = 0.0

    def at(self, fraction: float) -> None:
        if self.callback is not None:
            self.callback(min(1.0, max(0.0, fraction)))

    def span(self, start: float, end: float, steps: int) -> None:
        """Report ``advance`` calls as a share of ``[start, end]``."""
        self.start, self.end, self.steps, self.done = start, end, max(1, steps), 0

    def advance(self, n: int) -> None:
        self.done += n
        self.at(self.start + (self.end - self.start) * self.done / self.steps)


def _span(entry: CommentEntry, count: int) -> Span | None:
    if not entry.paragraphs:
        return None
    lo, hi = min(entry.paragraphs), max(entry.paragraphs)
    if lo < 0 or hi >= count:
        return None
    return lo, hi


def _remove_cover(body: etree._Element) -> None:
    """Remove the cover of an earlier consolidation, if the draft is such an output."""
    for sdt in list(body.iterchildren(W_SDT)):
        tag = sdt.find(f"{w('sdtPr')}/{w('tag')}")
        if tag is not None and tag.get(W_VAL) == COVER_TAG:
            body.remove(sdt)


def _first_section(body: etree._Element) -> etree._Element | None:
    for p in body.iterchildren(W_P):
        ppr = p.find(w("pPr"))
        if ppr is not None:
            sect_pr = ppr.find(w("sectPr"))
            if sect_pr is not None:
                return sect_pr
    return body.find(w("sectPr"))


def _compile(
    draft: bytes,
    comments: Sequence[CommentEntry],
    info: ConsolidationInfo,
    progress: Callable[[float], None] | None,
    *,
    tracked: bool,
) -> bytes:
    tracker = _Progress(progress)
    tracker.at(0.0)
    document = docx.Document(io.BytesIO(draft))
    body = document.element.body
    _remove_cover(body)
    paragraphs = body_paragraphs(body)
    count = len(paragraphs)
    styles = _ensure_styles(document.styles.element)
    comments_root = _comments_root(document)
    first_id = _next_comment_id(comments_root)

    # Matrix order, which is also the order of the comment ids: clauses in document
    # order, then the matrix number.
    entries = matrix_order(comments)
    total = len(entries)
    spans = [_span(entry, count) for entry in entries]
    summary = summarise(entries, info)

    # An answered comment gets the answer as a reply in its thread (see
    # documents._threads): the replies take the ids after the comments', and each
    # comment and its reply a paragraph id.
    answered = [n for n, entry in enumerate(entries) if entry.answer]
    replies = len(answered)
    reply_ids = {n: first_id + total + k for k, n in enumerate(answered)}
    threads: dict[int, tuple[str, str]] = {}
    if answered:
        fresh = _threads.para_ids(_threads.used_para_ids(document.part))
        threads = {n: (next(fresh), next(fresh)) for n in answered}
        comments_root = _threads.declare_w14(cast(XmlPart, document.part.part_related_by(RT.COMMENTS)))
    tracker.at(0.05)

    contested: list[tuple[Span, list[CommentEntry]]] = []
    notes: dict[int, str] = {}
    if tracked:
        contested, notes = _apply_proposals(
            document.element, paragraphs, entries, spans, first_id + total + replies, iso(info.generated_at)
        )
    tracker.at(0.1)

    # -- anchors on the clauses -----------------------------------------------------
    # A reply's range is nested in its comment's: both start before the clause, the
    # comment's ends first (the order Word writes).
    anchors: dict[Span | None, list[int]] = {}
    for n, span in enumerate(spans):
        ids = anchors.setdefault(span, [])
        ids.append(first_id + n)
        if n in reply_ids:
            ids.append(reply_ids[n])
    for k, (span, _) in enumerate(contested):
        anchors[span].insert(0, first_id + total + replies + k)  # the flag first on its clause
    # Bounds are taken before any paragraph is touched: the reference runs added below
    # are runs too and must not become the "last run" of a later range.
    bounds = {index: _content_bounds(paragraphs[index]) for key in anchors if key is not None for index in key}
    for key, ids in anchors.items():
        if key is not None:
            first, last = key
            _insert_starts(paragraphs[first], bounds[first][0], ids)
            _insert_ends(paragraphs[last], bounds[last][1], ids, styles.comment_reference)
    tracker.at(0.15)

    # -- annex ----------------------------------------------------------------------
    cover_width = _page_layout(_first_section(body), landscape=False)
    sect_pr = body.find(w("sectPr"))
    closing = oxml_parser.makeelement(W_P)
    if sect_pr is not None:
        # End the draft's last section here, keeping its page setup, and give the
        # annex a landscape section of its own.
        etree.SubElement(closing, w("pPr")).append(copy.deepcopy(sect_pr))
        _prepare_annex_section(sect_pr)
    else:
        etree.SubElement(etree.SubElement(closing, w("r")), w("br"), {w("type"): "page"})
    text_width = _page_layout(sect_pr, landscape=True)
    widths = column_widths(entries, text_width)
    fit = RowFit(widths, _text_height(sect_pr, landscape=True))

    def place(element: etree._Element) -> etree._Element:
        """Insert ``element`` at the end of the body content; returns it as placed."""
        if sect_pr is not None:
            sect_pr.addprevious(element)
            return sect_pr.getprevious()
        body.append(element)
        return body[-1]

    place(closing)
    annex = [place(e) for e in parse_children("body", _annex_head_xml(entries, info, styles, widths))]
    table = annex[-1]

    unanchored = anchors.get(None)
    if unanchored:
        heading = annex[0]
        first_content, last_content = _content_bounds(heading)
        _insert_starts(heading, first_content, unanchored)
        _insert_ends(heading, last_content, unanchored, styles.comment_reference)

    # -- cover ----------------------------------------------------------------------
    cover = cover_xml(summary, info, styles.cover, cover_width, tracked=tracked)
    body.insert(0, parse_children("body", cover)[0])
    what = FOOTER_WITH_PROPOSALS if tracked else FOOTER_CONSOLIDATED
    _add_running_footer(
        document, f"{what} \u2013 compiled {local_day(info.generated_at, info.timezone)}", styles.footer
    )

    # -- comments and matrix rows, written while saving -----------------------------
    tracker.span(0.15, 0.98, 2 * total + len(contested))
    date = iso(info.generated_at)

    def comment_xml(n: int) -> str:
        thread = threads.get(n)
        note = PROPOSAL_NOTES.get(notes.get(n, ""))
        if thread is None:
            return _comment_xml(first_id + n, entries[n], styles, note=note)
        return _comment_xml(first_id + n, entries[n], styles, thread[0], note) + _reply_xml(
            reply_ids[n], entries[n], date, styles, thread[1]
        )

    def comment_chunks() -> Iterator[str]:
        for start in range(0, total, _CHUNK):
            stop = min(start + _CHUNK, total)
            yield "".join(comment_xml(n) for n in range(start, stop))
            tracker.advance(stop - start)
        ids = itertools.count(first_id + total + replies)
        for start in range(0, len(contested), _CHUNK):
            batch = contested[start : start + _CHUNK]
            yield "".join(_contested_xml(next(ids), proposals, date, styles) for _, proposals in batch)
            tracker.advance(len(batch))

    paragraph_start = f'<w:p><w:pPr><w:pStyle w:val="{styles.matrix}"/></w:pPr>'

    def row_chunks() -> Iterator[str]:
        for start in range(0, total, _CHUNK):
            batch = entries[start : start + _CHUNK]
            yield "".join(_row_xml(e, paragraph_start, fit.fits(e)) for e in batch)
            tracker.advance(len(batch))

    comments_stream = _package.Stream(comments_root, comment_chunks())
    comments_root.append(comments_stream.marker())
    rows_stream = _package.Stream(table, row_chunks())
    table.append(rows_stream.marker())
    comments_part = document.part.part_related_by(RT.COMMENTS)
    _threads.add_threads(document.part, [threads[n] for n in answered])
    out = _package.save(
        document,
        {
            document.part.partname.membername: rows_stream,
            comments_part.partname.membername: comments_stream,
        },
    )
    tracker.at(1.0)
    return out


def consolidate(
    draft: bytes,
    comments: Sequence[CommentEntry],
    info: ConsolidationInfo,
    *,
    progress: Callable[[float], None] | None = None,
) -> bytes:
    """The consolidated draft (.docx bytes): a cover and summary page, the draft with
    ``comments`` on their clauses, and the comment matrix in an annex.

    ``progress`` (if given) is called with a fraction between 0 and 1 now and then (about
    every thousand comments per stage, never once per comment). Comments whose paragraph
    indices do not exist in ``draft`` are anchored on the annex heading, not dropped.
    """
    return _compile(draft, comments, info, progress, tracked=False)


def draft_with_proposals(
    draft: bytes,
    comments: Sequence[CommentEntry],
    info: ConsolidationInfo,
    *,
    progress: Callable[[float], None] | None = None,
) -> bytes:
    """The consolidated draft with every proposed wording as a tracked change.

    Everything :func:`consolidate` gives (cover, comments, annex), and in addition the
    words each comment's ``proposed`` wording changes in its clause, as tracked deletions
    and insertions by the comment's author, dated when the comment was made, for the
    Secretariat to accept or reject in Word. A clause with several proposals shows each
    as its own change set and a "Contested" comment (see the module docstring). Clauses without
    proposals are unchanged; proposals on clauses that are not in ``draft`` stay in the
    comments and the matrix only.
    """
    return _compile(draft, comments, info, progress, tracked=True)
