"""Compile the consolidated draft: the uploaded draft with every comment on its clause.

The output is built from the uploaded document itself, so its styles, numbering,
tables and headings are kept and the clause text is not touched. Each comment becomes a
native Word comment anchored on its clause, and an annex at the end lists all comments
in a comment matrix (the columns of the ISO commenting template).

Performance: a consultation can collect thousands of comments. python-docx's
``add_comment`` allocates each id by scanning every existing comment, which makes n
comments cost O(n^2). Here ids come from a counter, the comments and the rows of the
matrix are written as XML text and parsed a thousand at a time, and the anchors are
placed with one lookup per clause paragraph, so the work is linear in the number of
comments and memory stays proportional to the output.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.parser import oxml_parser, parse_xml
from lxml import etree

from ._ooxml import W_ID, W_NS, W_P, W_TBL, W_VAL, body_paragraphs, sanitize_xml_text, w
from .sample import sample_states

__all__ = ["CommentEntry", "ConsolidationInfo", "consolidate", "sanitize_xml_text"]

ANNEX_HEADING = "Annex \u2013 Comment matrix"
MATRIX_COLUMNS = (
    "No.",
    "Body",
    "Member State",
    "Clause",
    "Type (ge/te/ed)",
    "Comment",
    "Proposed change",
    "Secretariat observation",
)
# Relative column widths of the comment matrix (they are scaled to the text width).
_COLUMN_WEIGHTS = (9, 10, 10, 7, 7, 22, 20, 15)

_STATE_CODES = {name.casefold(): code for name, code, _ in sample_states()}
_STATE_CODES.update(
    {
        "brunei": "BN",
        "lao people's democratic republic": "LA",
        "laos": "LA",
        "vietnam": "VN",
        "timor-leste": "TL",
    }
)


def _state_code(state: str) -> str:
    state = state.strip()
    if not state:
        return ""
    code = _STATE_CODES.get(state.casefold())
    if code:
        return code
    if len(state) <= 3 and state.isalpha():
        return state.upper()
    words = [word for word in re.split(r"[\s\-]+", state) if word]
    return "".join(word[0] for word in words).upper()[:3]


@dataclass(frozen=True)
class CommentEntry:
    """One comment to place in the consolidated draft."""

    number: str  # matrix number, e.g. "TH-001"
    clause_ref: str
    paragraphs: tuple[int, ...]  # the clause's paragraph indices (ParsedClause.paragraphs)
    body: str  # "SOMHD"
    state: str  # "Thailand"
    kind: str  # "ge" | "te" | "ed"
    text: str
    proposed: str | None
    created_at: dt.datetime  # timezone-aware
    late: bool = False
    observation: str | None = None  # Secretariat observation

    @property
    def author(self) -> str:
        """The author shown by Word: body and Member State, e.g. "SOMHD \u2013 Thailand"."""
        parts = [p.strip() for p in (self.body, self.state) if p and p.strip()]
        return " \u2013 ".join(parts)

    @property
    def initials(self) -> str:
        """Short initials: the body's code and the Member State's code, e.g. "SOMHD-TH"."""
        parts = [p for p in (self.body.strip(), _state_code(self.state)) if p]
        return "-".join(parts)


@dataclass(frozen=True)
class ConsolidationInfo:
    title: str
    consultation: str
    deadline: dt.datetime | None
    generated_at: dt.datetime


# ----------------------------------------------------------------------- XML text

_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_LINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
_W_DECL = f'xmlns:w="{W_NS}"'


def _attr(s: str) -> str:
    s = sanitize_xml_text(s)
    return " ".join(s.split()).translate(_ESCAPE)


def _lines(s: str | None) -> list[str]:
    if not s:
        return []
    s = sanitize_xml_text(s).strip()
    return _LINES.split(s) if s else []


def _t(text: str) -> str:
    # xml:space="preserve" only where leading or trailing spaces would otherwise be lost
    # (one attribute less per element matters at tens of thousands of table cells).
    if text[:1].isspace() or text[-1:].isspace():
        return f'<w:t xml:space="preserve">{text.translate(_ESCAPE)}</w:t>'
    return f"<w:t>{text.translate(_ESCAPE)}</w:t>"


def _run_content(line: str) -> str:
    """``w:t`` elements for one line of text, tabs as ``w:tab``."""
    if "\t" not in line:
        return _t(line)
    return "<w:tab/>".join(_t(part) if part else "" for part in line.split("\t"))


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _iso(moment: dt.datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _human_date(moment: dt.datetime) -> str:
    moment = _utc(moment)
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


_NATURAL = re.compile(r"(\d+)")


def _natural(s: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p.casefold() for p in _NATURAL.split(s))


# ---------------------------------------------------------------------- the parts


@dataclass
class _StyleIds:
    comment_text: str
    comment_reference: str
    matrix: str
    heading: str | None


def _ensure_styles(styles_root: etree._Element) -> _StyleIds:
    """Ids of the styles the comments and the annex use, adding any that are missing.

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
            by_name.setdefault((name_el.get(W_VAL) or "").strip().lower(), sid)
        if style.get(w("type")) == "paragraph" and style.get(w("default")) in ("1", "true"):
            default_paragraph = sid

    based_on = f'<w:basedOn w:val="{_attr(default_paragraph)}"/>' if default_paragraph else ""
    wanted = (
        (
            "annotation text",
            "CommentText",
            f'<w:style {_W_DECL} w:type="paragraph" w:styleId="CommentText">'
            f'<w:name w:val="annotation text"/>{based_on}<w:uiPriority w:val="99"/>'
            "<w:unhideWhenUsed/><w:pPr><w:spacing w:after=\"60\" w:line=\"240\" "
            'w:lineRule="auto"/></w:pPr><w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/>'
            "</w:rPr></w:style>",
        ),
        (
            "annotation reference",
            "CommentReference",
            f'<w:style {_W_DECL} w:type="character" w:styleId="CommentReference">'
            '<w:name w:val="annotation reference"/><w:uiPriority w:val="99"/><w:semiHidden/>'
            '<w:unhideWhenUsed/><w:rPr><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr>'
            "</w:style>",
        ),
        (
            "comment matrix text",
            "CommentMatrixText",
            f'<w:style {_W_DECL} w:type="paragraph" w:customStyle="1" '
            'w:styleId="CommentMatrixText"><w:name w:val="Comment Matrix Text"/>'
            f'{based_on}<w:qFormat/><w:pPr><w:spacing w:before="20" w:after="20" '
            'w:line="240" w:lineRule="auto"/></w:pPr><w:rPr><w:sz w:val="18"/>'
            '<w:szCs w:val="18"/></w:rPr></w:style>',
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
    return _StyleIds(found[0], found[1], found[2], by_name.get("heading 1"))


def _comments_root(document: docx.document.Document) -> etree._Element:
    document.comments  # creates word/comments.xml and its relationship when missing
    return document.part.part_related_by(RT.COMMENTS).element


def _next_comment_id(comments_root: etree._Element) -> int:
    highest = -1
    for comment in comments_root.iterchildren(w("comment")):
        try:
            highest = max(highest, int(comment.get(W_ID, "-1")))
        except ValueError:
            continue
    return highest + 1


def _comment_xml(cid: int, entry: CommentEntry, styles: _StyleIds) -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{styles.comment_text}"/></w:pPr>'
    kind = sanitize_xml_text(entry.kind).strip()
    prefix = f"[{kind}] " if kind else ""
    if entry.late:
        prefix += "(late) "
    lines = _lines(entry.text) or [""]
    lines[0] = prefix + lines[0]
    paragraphs = [
        f'<w:p>{ppr}<w:r><w:rPr><w:rStyle w:val="{styles.comment_reference}"/></w:rPr>'
        f"<w:annotationRef/></w:r><w:r>{_run_content(lines[0].rstrip())}</w:r></w:p>"
    ]
    extra = lines[1:]
    proposed = _lines(entry.proposed)
    if proposed:
        proposed[0] = "Proposed wording: " + proposed[0]
        extra += proposed
    observation = _lines(entry.observation)
    if observation:
        observation[0] = "Secretariat observation: " + observation[0]
        extra += observation
    for line in extra:
        paragraphs.append(f"<w:p>{ppr}<w:r>{_run_content(line)}</w:r></w:p>")
    initials = _attr(entry.initials)
    return (
        f'<w:comment w:id="{cid}" w:author="{_attr(entry.author)}" '
        f'w:date="{_iso(entry.created_at)}"'
        + (f' w:initials="{initials}"' if initials else "")
        + ">"
        + "".join(paragraphs)
        + "</w:comment>"
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


class _Markers:
    """The range start, range end and reference run of every new comment.

    They are written as one XML string and parsed once, which is much cheaper than
    creating several elements per comment through the Python API.
    """

    def __init__(self, first_id: int, count: int, rstyle: str):
        self.first_id = first_id
        xml = "".join(
            f'<w:commentRangeStart w:id="{cid}"/><w:commentRangeEnd w:id="{cid}"/>'
            f'<w:r><w:rPr><w:rStyle w:val="{rstyle}"/></w:rPr>'
            f'<w:commentReference w:id="{cid}"/></w:r>'
            for cid in range(first_id, first_id + count)
        )
        self._root = parse_xml(f"<w:markers {_W_DECL}>{xml}</w:markers>")
        self._elements = list(self._root)

    def start(self, cid: int) -> etree._Element:
        return self._elements[3 * (cid - self.first_id)]

    def end(self, cid: int) -> etree._Element:
        return self._elements[3 * (cid - self.first_id) + 1]

    def reference(self, cid: int) -> etree._Element:
        return self._elements[3 * (cid - self.first_id) + 2]


def _insert_starts(
    p: etree._Element, first: etree._Element | None, ids: list[int], markers: _Markers
) -> None:
    if first is not None:
        for cid in ids:
            first.addprevious(markers.start(cid))
        return
    position = 1 if len(p) and p[0].tag == w("pPr") else 0
    for offset, cid in enumerate(ids):
        p.insert(position + offset, markers.start(cid))


def _insert_ends(
    p: etree._Element, last: etree._Element | None, ids: list[int], markers: _Markers
) -> None:
    """After the clause's last run: each range end followed by its reference run."""
    for cid in ids:
        end = markers.end(cid)
        run = markers.reference(cid)
        if last is None:
            p.append(end)
        else:
            last.addnext(end)
        end.addnext(run)
        last = run


# ----------------------------------------------------------------------------- annex


def _page_layout(sect_pr: etree._Element | None) -> int:
    """Text width in twips of the annex section (made landscape); adjusts ``sect_pr``."""
    width, height, left, right, gutter = 16838, 11906, 1440, 1440, 0
    if sect_pr is None:
        return width - left - right
    pg_sz = sect_pr.find(w("pgSz"))
    if pg_sz is not None:
        try:
            width = int(pg_sz.get(w("w"), width))
            height = int(pg_sz.get(w("h"), height))
        except ValueError:
            pass
        if width < height:
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
    return max(width - left - right - gutter, 5000)


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
    cols = sect_pr.find(w("cols"))
    if cols is not None:
        for col in cols.findall(w("col")):
            cols.remove(col)
        for attr in (w("num"), w("equalWidth"), w("sep")):
            if attr in cols.attrib:
                del cols.attrib[attr]


def _header_cell(title: str, width: int, style: str) -> str:
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>'
        '<w:shd w:val="clear" w:color="auto" w:fill="D9E2F3"/></w:tcPr>'
        f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>'
        f"<w:r><w:rPr><w:b/></w:rPr>{_run_content(title)}</w:r></w:p></w:tc>"
    )


def _cell(text_lines: list[str], paragraph_start: str) -> str:
    """A data cell. Its width comes from the fixed table grid, so no w:tcW is written:
    at thousands of rows that saves a quarter of the table's XML."""
    if not text_lines:
        return f"<w:tc>{paragraph_start}</w:p></w:tc>"
    if len(text_lines) == 1:
        content = _run_content(text_lines[0])
    else:
        content = "<w:br/>".join(_run_content(line) for line in text_lines)
    return f"<w:tc>{paragraph_start}<w:r>{content}</w:r></w:p></w:tc>"


def _paragraph(text: str, style: str | None = None, bold: bool = False, size: int = 0) -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{_attr(style)}"/></w:pPr>' if style else ""
    props = ("<w:b/>" if bold else "") + (f'<w:sz w:val="{size}"/>' if size else "")
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    return f"<w:p>{ppr}<w:r>{rpr}{_run_content(sanitize_xml_text(text))}</w:r></w:p>"


def _annex_head_xml(
    entries: list[CommentEntry], info: ConsolidationInfo, styles: _StyleIds, widths: list[int]
) -> str:
    """The annex heading, its introductory paragraphs and the matrix with its header row."""
    parts: list[str] = []
    if styles.heading:
        parts.append(_paragraph(ANNEX_HEADING, styles.heading))
    else:
        parts.append(_paragraph(ANNEX_HEADING, bold=True, size=32))
    bodies = {e.body for e in entries}
    states = {e.state for e in entries}
    parts.append(_paragraph(f"Draft: {info.title}"))
    parts.append(_paragraph(f"Consultation: {info.consultation}"))
    if info.deadline is not None:
        parts.append(_paragraph(f"Deadline for comments: {_human_date(info.deadline)}"))
    late = sum(1 for e in entries if e.late)
    summary = (
        f"Compiled on {_human_date(info.generated_at)}: {len(entries)} "
        f"comment{'s' if len(entries) != 1 else ''} from {len(bodies)} "
        f"bod{'ies' if len(bodies) != 1 else 'y'} and {len(states)} Member "
        f"State{'s' if len(states) != 1 else ''}"
        + (f", of which {late} received after the deadline" if late else "")
        + ". Types: ge = general, te = technical, ed = editorial."
    )
    parts.append(_paragraph(summary if entries else "No comments were received."))

    border = '"single" w:sz="4" w:space="0" w:color="auto"'
    parts.append(
        "<w:tbl><w:tblPr>"
        f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
        "<w:tblBorders>"
        + "".join(
            f"<w:{side} w:val={border}/>"
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        )
        + "</w:tblBorders>"
        '<w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="70" w:type="dxa"/><w:right w:w="70" w:type="dxa"/>'
        "</w:tblCellMar>"
        '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" '
        'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
        "</w:tblPr><w:tblGrid>"
        + "".join(f'<w:gridCol w:w="{width}"/>' for width in widths)
        + "</w:tblGrid>"
        "<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"
        + "".join(
            _header_cell(title, width, styles.matrix)
            for title, width in zip(MATRIX_COLUMNS, widths)
        )
        + "</w:tr></w:tbl>"
    )
    return "".join(parts)


def _row_xml(e: CommentEntry, paragraph_start: str) -> str:
    number = _lines(e.number)
    if e.late:
        number.append("(late)")
    cells = (
        number,
        _lines(e.body),
        _lines(e.state),
        _lines(e.clause_ref),
        _lines(e.kind),
        _lines(e.text),
        _lines(e.proposed),
        _lines(e.observation),
    )
    return "<w:tr>" + "".join(_cell(c, paragraph_start) for c in cells) + "</w:tr>"


# --------------------------------------------------------------------------- driver

# Comments and matrix rows are turned into XML and parsed this many at a time, which
# bounds the memory taken by the intermediate text whatever the number of comments.
_CHUNK = 1000


def _parse_children(tag: str, xml: str) -> list[etree._Element]:
    """Parse ``xml`` (a sequence of w: elements) and return its top-level elements."""
    return list(parse_xml(f"<w:{tag} {_W_DECL}>{xml}</w:{tag}>"))


class _Progress:
    def __init__(self, callback: Callable[[float], None] | None):
        self.callback = callback

    def at(self, fraction: float) -> None:
        if self.callback is not None:
            self.callback(min(1.0, max(0.0, fraction)))


def consolidate(
    draft: bytes,
    comments: Sequence[CommentEntry],
    info: ConsolidationInfo,
    *,
    progress: Callable[[float], None] | None = None,
) -> bytes:
    """The consolidated draft (.docx bytes) with ``comments`` on their clauses and an annex.

    ``progress`` (if given) is called with a fraction between 0 and 1 now and then (about
    every thousand comments per stage, never once per comment). Comments whose paragraph
    indices do not exist in ``draft`` are anchored on the annex heading, not dropped.
    """
    tracker = _Progress(progress)
    tracker.at(0.0)
    document = docx.Document(io.BytesIO(draft))
    body = document.element.body
    paragraphs = body_paragraphs(body)
    count = len(paragraphs)
    styles = _ensure_styles(document.styles.element)
    comments_root = _comments_root(document)
    first_id = _next_comment_id(comments_root)
    tracker.at(0.05)

    def span(entry: CommentEntry) -> tuple[int, int] | None:
        if not entry.paragraphs:
            return None
        lo, hi = min(entry.paragraphs), max(entry.paragraphs)
        if lo < 0 or hi >= count:
            return None
        return lo, hi

    # Matrix order, which is also the order of the comment ids: clauses in document
    # order, then the matrix number.
    spans = [span(entry) for entry in comments]
    order = sorted(
        range(len(comments)),
        key=lambda i: (
            spans[i][0] if spans[i] is not None else count,
            _natural(comments[i].clause_ref),
            _natural(comments[i].number),
        ),
    )
    entries = [comments[i] for i in order]
    total = len(entries)

    # -- comments part --------------------------------------------------------------
    anchors: dict[tuple[int, int] | None, list[int]] = {}
    for n, i in enumerate(order):
        anchors.setdefault(spans[i], []).append(first_id + n)
    for start in range(0, total, _CHUNK):
        xml = "".join(
            _comment_xml(first_id + n, entries[n], styles)
            for n in range(start, min(start + _CHUNK, total))
        )
        comments_root.extend(_parse_children("comments", xml))
        tracker.at(0.05 + 0.4 * min(start + _CHUNK, total) / total)

    # -- anchors on the clauses -----------------------------------------------------
    # Bounds are taken before any paragraph is touched: the reference runs added below
    # are runs too and must not become the "last run" of a later range.
    bounds = {
        index: _content_bounds(paragraphs[index])
        for key in anchors
        if key is not None
        for index in key
    }
    markers = _Markers(first_id, total, styles.comment_reference)
    for key, ids in anchors.items():
        if key is not None:
            first, last = key
            _insert_starts(paragraphs[first], bounds[first][0], ids, markers)
            _insert_ends(paragraphs[last], bounds[last][1], ids, markers)
    tracker.at(0.5)

    # -- annex ----------------------------------------------------------------------
    sect_pr = body.find(w("sectPr"))
    closing = oxml_parser.makeelement(W_P)
    if sect_pr is not None:
        # End the draft's last section here, keeping its page setup, and give the
        # annex a landscape section of its own.
        etree.SubElement(closing, w("pPr")).append(copy.deepcopy(sect_pr))
        _prepare_annex_section(sect_pr)
    else:
        etree.SubElement(etree.SubElement(closing, w("r")), w("br"), {w("type"): "page"})
    text_width = _page_layout(sect_pr)
    weights = sum(_COLUMN_WEIGHTS)
    widths = [text_width * weight // weights for weight in _COLUMN_WEIGHTS]
    widths[-1] += text_width - sum(widths)

    def place(element: etree._Element) -> etree._Element:
        """Insert ``element`` at the end of the body content; returns it as placed."""
        if sect_pr is not None:
            sect_pr.addprevious(element)
            return sect_pr.getprevious()
        body.append(element)
        return body[-1]

    place(closing)
    annex: list[etree._Element] = []
    for element in _parse_children("body", _annex_head_xml(entries, info, styles, widths)):
        if element.tag == W_TBL:
            # lxml moves a subtree between documents in time that grows faster than
            # its size: the table is placed empty and filled row by row.
            table = place(oxml_parser.makeelement(W_TBL))
            table.extend(list(element))
            annex.append(table)
        else:
            annex.append(place(element))
    table = annex[-1]
    paragraph_start = f'<w:p><w:pPr><w:pStyle w:val="{styles.matrix}"/></w:pPr>'
    for start in range(0, total, _CHUNK):
        xml = "".join(_row_xml(e, paragraph_start) for e in entries[start : start + _CHUNK])
        table.extend(_parse_children("tbl", xml))
        tracker.at(0.5 + 0.4 * min(start + _CHUNK, total) / total)

    unanchored = anchors.get(None)
    if unanchored:
        heading = annex[0]
        first, last = _content_bounds(heading)
        _insert_starts(heading, first, unanchored, markers)
        _insert_ends(heading, last, unanchored, markers)
    tracker.at(0.9)

    out = io.BytesIO()
    document.save(out)
    tracker.at(1.0)
    return out.getvalue()
