"""The cover and summary page at the start of the consolidated draft.

The cover is one block-level content control (``w:sdt``) registered as a Word cover
page (``docPartGallery`` "Cover Pages", tag :data:`COVER_TAG`): Word's "Remove Current
Cover Page" takes it out in one step, and since its paragraphs and tables are inside
the control they are not top-level body paragraphs, so the draft's paragraph indices
(``Document.paragraphs``, the clause anchors, :func:`documents.draft.parse_draft`) are
the same with or without it. It ends with a page break; the draft follows unchanged.

It names the draft by its title (at most 18 pt) and never by the consultation's internal
name; dates are given in the Secretariat's time zone, named ("Sun 31 Jan 2027, 23:59
(Asia/Jakarta, UTC+7)"). The responses count every body and Member State of the round:
those that responded, those that did not, and those with no contact enrolled (a cell that
holds most Member States names those it leaves out: "all except Viet Nam"). Every table is
kept whole with its heading when it fits on a page, so that the summary never leaves a
couple of rows on a page of their own.

The facts at the top end with the Secretariat's answers counted by disposition, on one
row: "2 accepted, 1 accepted in part, 0 noted, 1 not accepted; 26 not yet answered"
(zeros included). The disposition is the answer: a comment with an observation and no
disposition counts as not yet answered.

It is built from the draft's own styles: Title, Subtitle, Heading 2 (or 1) and Table
Grid when the draft defines them, direct formatting otherwise. Its headings are kept
out of the navigation pane and any table of contents (outline level "body text").
"""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ._entries import (
    DISPOSITION_NAMES,
    KIND_NAMES,
    CommentEntry,
    ConsolidationInfo,
    has_proposal,
    kind_code,
    local_time,
    plural,
    section_of,
)
from ._xmltext import attr, lines, lines_content, paragraph

COVER_TAG = "clausebot-cover"
COVER_ALIAS = "Consolidation summary"

HEADING_RESPONSES = "Responses"
HEADING_TYPES = "Comments by type"
HEADING_SECTIONS = "Comments by section"
ANSWERS_LABEL = "Answers"
NOT_ANSWERED = "not yet answered"
NOT_ENROLLED = "no contact enrolled"
# A cell of the responses table that holds most Member States names those it leaves out.
ALL_MEMBERS = "Member States"
ALL_EXCEPT = "all except"
NO_SECTION = "\u2013"
_KIND_ORDER = ("ge", "te", "ed")
# The cover's headings and short paragraphs are spaced less than the draft's (the
# summary fits on one page).
_HEADING_SPACING = '<w:spacing w:before="200" w:after="60"/>'
_SMALL_SPACING = '<w:spacing w:before="0" w:after="80"/>'
_LABEL_SEPARATOR = re.compile(r"^(.*?\S)\s+[\u2013\u2014-]\s+(\S.*)$", re.DOTALL)


@dataclass(frozen=True)
class CoverStyles:
    title: str | None
    subtitle: str | None
    heading: str | None
    table: str | None
    cell: str


@dataclass
class Summary:
    """What the cover reports, computed once from the comments."""

    total: int = 0
    late: int = 0
    kinds: list[str] = field(default_factory=list)  # in display order
    by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    late_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    proposals_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    # (ref, heading, counts by kind) for every section, in document order
    sections: list[tuple[str, str, collections.Counter[str]]] = field(default_factory=list)
    responded: list[str] = field(default_factory=list)
    not_responded: list[str] = field(default_factory=list)
    not_enrolled: list[str] = field(default_factory=list)
    consulted_known: bool = False
    proposals: int = 0  # comments with proposed wording
    proposal_clauses: int = 0  # clauses with at least one proposal
    contested: int = 0  # clauses with two or more proposals
    # comments by disposition (DISPOSITION_NAMES' keys); "" for those not yet answered
    by_disposition: collections.Counter[str] = field(default_factory=collections.Counter)


def summarise(entries: Sequence[CommentEntry], info: ConsolidationInfo) -> Summary:
    summary = Summary(total=len(entries))
    known = {ref for ref, _ in info.sections}
    sections_of: dict[tuple[str, str], str] = {}
    by_section: dict[str, collections.Counter[str]] = {}
    proposals_per_clause: collections.Counter[tuple[str, int]] = collections.Counter()
    for entry in entries:
        kind = kind_code(entry)
        summary.by_kind[kind] += 1
        disposition = entry.disposition or ""
        summary.by_disposition[disposition if disposition in DISPOSITION_NAMES else ""] += 1
        if entry.late:
            summary.late += 1
            summary.late_by_kind[kind] += 1
        if has_proposal(entry):
            summary.proposals += 1
            summary.proposals_by_kind[kind] += 1
            proposals_per_clause[(entry.clause_ref, min(entry.paragraphs, default=-1))] += 1
        where = (entry.section_ref, entry.clause_ref)
        section = sections_of.get(where)
        if section is None:
            section = sections_of[where] = section_of(entry, known)
        counts = by_section.get(section)
        if counts is None:
            counts = by_section[section] = collections.Counter()
        counts[kind] += 1
    summary.kinds = list(_KIND_ORDER) + sorted(k for k in summary.by_kind if k not in _KIND_ORDER)
    summary.proposal_clauses = len(proposals_per_clause)
    summary.contested = sum(1 for n in proposals_per_clause.values() if n > 1)

    seen: set[str] = set()
    for ref, heading in info.sections:
        if ref in seen:
            continue
        seen.add(ref)
        summary.sections.append((ref, heading, by_section.get(ref, collections.Counter())))
    for ref, counts in by_section.items():
        if ref not in seen:
            summary.sections.append((ref, "", counts))

    summary.consulted_known = bool(info.responded or info.not_responded or info.not_enrolled)
    if summary.consulted_known:
        summary.responded = list(info.responded)
        summary.not_responded = list(info.not_responded)
        summary.not_enrolled = list(info.not_enrolled)
    else:
        authors = dict.fromkeys(e.author for e in entries if e.author)
        summary.responded = sorted(authors, key=str.casefold)
    return summary


# ----------------------------------------------------------------------------- XML


def _cell(
    text: str,
    width: int,
    style: str,
    *,
    bold: bool = False,
    right: bool = False,
    shade: bool = False,
    keep_next: bool = False,
) -> str:
    tcpr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if shade:
        tcpr += '<w:shd w:val="clear" w:color="auto" w:fill="D9E2F3"/>'
    keep = "<w:keepNext/>" if keep_next else ""
    jc = '<w:jc w:val="right"/>' if right else ""
    rpr = "<w:rPr><w:b/></w:rPr>" if bold else ""
    content = lines_content(lines(text) or [""])
    return (
        f'<w:tc><w:tcPr>{tcpr}</w:tcPr><w:p><w:pPr><w:pStyle w:val="{style}"/>{keep}{jc}</w:pPr>'
        f"<w:r>{rpr}{content}</w:r></w:p></w:tc>"
    )


def _table(
    styles: CoverStyles,
    widths: list[int],
    rows: list[list[str]],
    *,
    header: list[str] | None = None,
    numeric: frozenset[int] = frozenset(),
    label_column: bool = False,
    total_row: bool = False,
) -> str:
    border = '"single" w:sz="4" w:space="0" w:color="auto"'
    style = f'<w:tblStyle w:val="{attr(styles.table)}"/>' if styles.table else ""
    parts = [
        f'<w:tbl><w:tblPr>{style}<w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:tblBorders>'
        + "".join(f"<w:{side} w:val={border}/>" for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
        + '</w:tblBorders><w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="70" w:type="dxa"/><w:right w:w="70" w:type="dxa"/>'
        "</w:tblCellMar>"
        '<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" '
        'w:lastColumn="0" w:noHBand="1" w:noVBand="1"/></w:tblPr><w:tblGrid>'
        + "".join(f'<w:gridCol w:w="{width}"/>' for width in widths)
        + "</w:tblGrid>"
    ]
    if header is not None:
        parts.append(
            "<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"
            + "".join(
                _cell(text, width, styles.cell, bold=True, right=i in numeric, shade=True, keep_next=bool(rows))
                for i, (text, width) in enumerate(zip(header, widths))
            )
            + "</w:tr>"
        )
    for r, row in enumerate(rows):
        last = total_row and r == len(rows) - 1
        parts.append(
            "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
            + "".join(
                _cell(
                    text,
                    width,
                    styles.cell,
                    bold=last or (label_column and i == 0),
                    right=i in numeric,
                    shade=label_column and i == 0,
                    # Every row but the last kept with the next: a table that fits on a
                    # page is not split, it goes to the next page whole with its heading.
                    keep_next=r < len(rows) - 1,
                )
                for i, (text, width) in enumerate(zip(row, widths))
            )
            + "</w:tr>"
        )
    parts.append("</w:tbl>")
    return "".join(parts)


def _widths(text_width: int, weights: Sequence[int]) -> list[int]:
    total = sum(weights)
    widths = [text_width * weight // total for weight in weights]
    widths[-1] += text_width - sum(widths)
    return widths


def _heading(text: str, styles: CoverStyles) -> str:
    if styles.heading:
        # Outline level 9 is "body text": kept out of the navigation pane and the TOC.
        return paragraph(text, styles.heading, ppr_extra=f'<w:keepNext/>{_HEADING_SPACING}<w:outlineLvl w:val="9"/>')
    return paragraph(text, bold=True, size=26, ppr_extra=f"<w:keepNext/>{_HEADING_SPACING}")


def split_label(label: str) -> tuple[str, str]:
    """ "SOMHD \u2013 Thailand" -> ("SOMHD", "Thailand"); a label without a dash is a group
    of its own with no member."""
    label = " ".join(label.split())
    match = _LABEL_SEPARATOR.match(label)
    if match is None:
        return label, ""
    return match.group(1), match.group(2)


def _responses(summary: Summary, styles: CoverStyles, text_width: int) -> str:
    responded, missing, absent = summary.responded, summary.not_responded, summary.not_enrolled
    parts = [_heading(HEADING_RESPONSES, styles)]
    if summary.consulted_known:
        consulted = len(responded) + len(missing) + len(absent)
        sentence = (
            f"Of {consulted} bodies and Member States consulted, {len(responded)} responded and {len(missing)} did not"
        )
        sentence += f"; {len(absent)} have {NOT_ENROLLED}." if absent else "."
        parts.append(paragraph(sentence, styles.cell, ppr_extra=_SMALL_SPACING))
    else:
        parts.append(
            paragraph(
                "The list of those consulted was not provided: the table shows the bodies and "
                f"Member States that sent comments ({len(responded)}).",
                styles.cell,
                ppr_extra=_SMALL_SPACING,
            )
        )
    if not responded and not missing and not absent:
        parts.append(paragraph("No responses were received.", styles.cell, ppr_extra=_SMALL_SPACING))
        return "".join(parts)

    columns = (responded, missing, absent) if absent else (responded, missing)
    groups: dict[str, list[list[str]]] = {}
    every_member: dict[str, None] = {}  # in the order first met
    for column, labels in enumerate(columns):
        for label in labels:
            group, member = split_label(label)
            groups.setdefault(group, [[] for _ in columns])[column].append(member or "yes")
            if member:
                every_member.setdefault(member)

    def listed(members: list[str], column: int) -> str:
        """The members of one cell; most of them named by those left out."""
        if not members:
            return "\u2013"
        named = set(members)
        if len(every_member) >= 4 and named <= every_member.keys():
            if len(named) == len(every_member):
                return f"all {len(every_member)} {ALL_MEMBERS}"
            if len(named) > len(every_member) / 2 + 1:
                return f"{ALL_EXCEPT} " + ", ".join(m for m in every_member if m not in named)
        return ", ".join(members)

    rows = [[group] + [listed(members, n) for n, members in enumerate(lists)] for group, lists in groups.items()]
    header = ["Body", f"Responded ({len(responded)})"]
    if summary.consulted_known:
        header.append(f"Did not respond ({len(missing)})")
        if absent:
            header.append(f"{NOT_ENROLLED.capitalize()} ({len(absent)})")
        # The lists share the width by how much each holds (a round usually has far
        # more of one than of the others), so that the rows wrap as little as possible.
        sizes = [sum(len(row[column]) for row in rows) for column in range(1, len(header))]
        widths = _widths(text_width, (16, *_shares(84, sizes, floor=16)))
    else:
        rows = [row[:2] for row in rows]
        widths = _widths(text_width, (25, 75))
    parts.append(_table(styles, widths, rows, header=header, label_column=True))
    return "".join(parts)


def _shares(total: int, sizes: Sequence[int], *, floor: int) -> list[int]:
    """``total`` split in proportion to ``sizes``, none below ``floor``."""
    weight = max(1, sum(sizes))
    shares = [max(floor, round(total * size / weight)) for size in sizes]
    while sum(shares) > total and max(shares) > floor:
        shares[shares.index(max(shares))] -= 1
    shares[shares.index(max(shares))] += total - sum(shares)
    return shares


def _kind_label(kind: str) -> str:
    if not kind:
        return "\u2013 (no type)"
    name = KIND_NAMES.get(kind)
    return f"{kind} \u2013 {name}" if name else kind


def _types(summary: Summary, styles: CoverStyles, text_width: int) -> str:
    rows = [
        [
            _kind_label(kind),
            str(summary.by_kind[kind]),
            str(summary.late_by_kind[kind]),
            str(summary.proposals_by_kind[kind]),
        ]
        for kind in summary.kinds
    ]
    rows.append(["Total", str(summary.total), str(summary.late), str(summary.proposals)])
    header = ["Type", "Comments", "Received late", "With proposed wording"]
    widths = _widths(text_width, (28, 20, 22, 30))
    return _heading(HEADING_TYPES, styles) + _table(
        styles, widths, rows, header=header, numeric=frozenset({1, 2, 3}), total_row=True
    )


def _sections(summary: Summary, styles: CoverStyles, text_width: int) -> str:
    kinds = summary.kinds
    rows = []
    for ref, heading, counts in summary.sections:
        rows.append([ref or NO_SECTION, heading] + [str(counts[kind]) for kind in kinds] + [str(sum(counts.values()))])
    rows.append(["Total", ""] + [str(summary.by_kind[k]) for k in kinds] + [str(summary.total)])
    header = ["Section", "Heading"] + [k or "\u2013" for k in kinds] + ["Total"]
    weights = [12, 100 - 12 - 9 * (len(kinds) + 1)] + [9] * (len(kinds) + 1)
    if weights[1] < 20:  # many unusual types: give the heading a fair share anyway
        weights = [12, 30] + [max(4, 58 // (len(kinds) + 1))] * (len(kinds) + 1)
    widths = _widths(text_width, weights)
    numeric = frozenset(range(2, len(header)))
    return _heading(HEADING_SECTIONS, styles) + _table(
        styles, widths, rows, header=header, numeric=numeric, total_row=True
    )


def answers_line(summary: Summary) -> str:
    """The comments by disposition: "2 accepted, 1 accepted in part, 0 noted, 1 not
    accepted; 26 not yet answered"."""
    given = ", ".join(f"{summary.by_disposition[key]} {name.lower()}" for key, name in DISPOSITION_NAMES.items())
    return f"{given}; {summary.by_disposition['']} {NOT_ANSWERED}"


def cover_subtitle(*, tracked: bool) -> str:
    """What the document is, under the title on the cover."""
    return (
        "Consolidated draft with proposed wording as tracked changes" if tracked else "Consolidated draft with comments"
    )


def cover_xml(
    summary: Summary,
    info: ConsolidationInfo,
    styles: CoverStyles,
    text_width: int,
    *,
    tracked: bool,
) -> str:
    """The cover as one ``w:sdt`` element (XML text with the ``w:`` prefix)."""
    parts: list[str] = []
    title = info.title.strip() or "Untitled draft"
    # At most 18 pt: a long title takes a few lines, not a third of the page.
    if styles.title:
        parts.append(paragraph(title, styles.title, size=36))
    else:
        parts.append(paragraph(title, bold=True, size=36))
    what = cover_subtitle(tracked=tracked)
    if styles.subtitle:
        parts.append(paragraph(what, styles.subtitle))
    else:
        parts.append(paragraph(what, bold=True, size=28))

    zone_name = info.timezone
    deadline = local_time(info.deadline, zone_name) if info.deadline is not None else "No deadline was set"
    comments = plural(summary.total, "comment")
    if summary.late:
        comments += f", {summary.late} received after the deadline"
    if summary.proposals:
        proposals = f"{plural(summary.proposals, 'comment')} on {plural(summary.proposal_clauses, 'clause')}" + (
            f"; {plural(summary.contested, 'clause')} with more than one proposal (contested)"
            if summary.contested
            else ""
        )
    else:
        proposals = "None"
    facts = [
        ["Deadline for comments", deadline],
        ["Compiled on", local_time(info.generated_at, zone_name)],
        ["Comments received", comments],
        ["Proposed wording", proposals],
        [ANSWERS_LABEL, answers_line(summary)],
    ]
    if tracked:
        note = (
            "After this summary: the draft, with proposed wording as tracked changes by its "
            "author (review them with Review \u203a Accept or Reject; a clause with more than "
            "one proposal shows them all, and a comment marks it as contested) and every "
            "comment as a Word comment on its clause; then the comment matrix in the annex."
        )
    else:
        note = (
            "After this summary: the draft, unchanged, with every comment as a Word comment "
            "on its clause; then the comment matrix in the annex."
        )
    parts.append(paragraph(note, styles.cell, ppr_extra=_SMALL_SPACING))
    parts.append(_table(styles, _widths(text_width, (30, 70)), facts, label_column=True))
    parts.append(_responses(summary, styles, text_width))
    parts.append(_types(summary, styles, text_width))
    parts.append(_sections(summary, styles, text_width))
    # The page break in a paragraph of its own, made as small as possible.
    parts.append(
        '<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/>'
        '<w:rPr><w:sz w:val="2"/><w:szCs w:val="2"/></w:rPr></w:pPr>'
        '<w:r><w:rPr><w:sz w:val="2"/><w:szCs w:val="2"/></w:rPr><w:br w:type="page"/>'
        "</w:r></w:p>"
    )
    return (
        f'<w:sdt><w:sdtPr><w:alias w:val="{COVER_ALIAS}"/><w:tag w:val="{COVER_TAG}"/>'
        '<w:docPartObj><w:docPartGallery w:val="Cover Pages"/><w:docPartUnique/>'
        "</w:docPartObj></w:sdtPr><w:sdtContent>" + "".join(parts) + "</w:sdtContent></w:sdt>"
    )
