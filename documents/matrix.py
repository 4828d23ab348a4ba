"""The comment matrix as an Excel workbook (.xlsx).

One sheet with the columns of the ISO commenting template (:data:`MATRIX_COLUMNS`), the
Secretariat's answer split in two (:data:`XLSX_COLUMNS`: a Disposition column with a
drop-down list of the four dispositions, then the observation), one row per comment in the order of the consolidated draft's annex (clauses in document
order, then the matrix number). The header row is frozen, filtered and repeated on
every printed page; the page is landscape and fitted to the width.

Text is cleaned like the Word outputs (characters XML forbids are removed, everything
else is kept) and always stored as text, so a comment that starts with "=" is not taken
for a formula. A cell holds at most 32,767 characters in Excel; a longer comment goes
on as many continuation rows as it needs (same number, marked "(continued)"), so
nothing is cut. The sheet is written in openpyxl's write-only mode, row by row.

The Secretariat fills in Disposition and Secretariat observation and sends the file back;
:mod:`documents.matrix_read` reads it. The workbook's subject names the consultation, so a
matrix sent back is known to be this consultation's.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

from ._entries import (
    DISPOSITION_NAMES,
    LATE_MARK,
    MATRIX_COLUMNS,
    NO_PARAGRAPH,
    CommentEntry,
    ConsolidationInfo,
    kind_code,
    local_time,
    matrix_order,
    paragraph_number,
    utc,
)
from ._ooxml import sanitize_xml_text

__all__ = [
    "CELL_LIMIT",
    "CONTINUED",
    "DISPOSITION_CHOICES",
    "DISPOSITION_HEADER",
    "OBSERVATION_HEADER",
    "SHEET_TITLE",
    "XLSX_COLUMNS",
    "comment_matrix_xlsx",
]

SHEET_TITLE = "Comment matrix"
CONTINUED = "(continued)"
# Excel's limit on the length of a cell, in UTF-16 code units.
CELL_LIMIT = 32_767
_CHUNK_LIMIT = CELL_LIMIT - 100  # room for the continuation mark

DISPOSITION_HEADER = "Disposition"
OBSERVATION_HEADER = MATRIX_COLUMNS[-1]  # "Secretariat observation"
XLSX_COLUMNS = (*MATRIX_COLUMNS[:-1], DISPOSITION_HEADER, OBSERVATION_HEADER)
# The drop-down list of the Disposition column, as the matrix and the Word comments name them.
DISPOSITION_CHOICES = tuple(DISPOSITION_NAMES.values())

# Column widths in characters.
_WIDTHS = (11, 11, 16, 10, 10, 10, 60, 45, 17, 35)
_TEXT_COLUMNS = (6, 7, 9)
_DISPOSITION = 8
_STYLE_TEXT = "Comment matrix"
_STYLE_HEADER = "Comment matrix header"
_STYLE_LATE = "Comment matrix late"  # Comment, Proposed change, Secretariat observation
_MAX_COLUMN_TEXT = (CELL_LIMIT + 1) // 2  # below this no text can exceed the limit


def _clean(value: str | None) -> str:
    if not value:
        return ""
    text = sanitize_xml_text(value).strip()
    # Excel's own line break is a line feed; carriage returns show as boxes.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _pieces(text: str) -> list[str]:
    """``text`` cut into pieces that each fit in a cell (at a line or word break where
    one is near)."""
    if len(text) < _MAX_COLUMN_TEXT or _utf16_length(text) <= CELL_LIMIT:
        return [text]
    pieces = []
    while text:
        end, units = 0, 0
        while end < len(text) and units + (2 if ord(text[end]) > 0xFFFF else 1) <= _CHUNK_LIMIT:
            units += 2 if ord(text[end]) > 0xFFFF else 1
            end += 1
        if end < len(text):
            cut = max(text.rfind("\n", end - 2000, end), text.rfind(" ", end - 2000, end))
            if cut > 0:
                end = cut + 1
        pieces.append(text[:end])
        text = text[end:]
    return pieces


def _header_text(text: str) -> str:
    # "&" starts a code in Excel headers and footers; the whole header is limited to
    # 255 characters.
    text = " ".join(sanitize_xml_text(text).split()).replace("&", "&&")
    return text if len(text) <= 120 else text[:119] + "\u2026"


def _rows(entries: Sequence[CommentEntry]) -> Iterator[list[str | int]]:
    for e in entries:
        kind = kind_code(e)
        if e.late:
            kind = f"{kind} {LATE_MARK}".strip()
        number = paragraph_number(e)
        row: list[str | int] = [
            _clean(e.number),
            _clean(e.body),
            _clean(e.state_cell),
            _clean(e.clause_ref),
            number if number is not None else NO_PARAGRAPH,
            kind,
            _clean(e.text),
            _clean(e.proposed),
            DISPOSITION_NAMES.get(e.disposition or "", ""),
            _clean(e.observation),
        ]
        split = [_pieces(row[i]) for i in _TEXT_COLUMNS]  # type: ignore[arg-type]
        if all(len(p) == 1 for p in split):
            yield row
            continue
        for n in range(max(len(p) for p in split)):
            part = list(row)
            for column, pieces in zip(_TEXT_COLUMNS, split):
                piece = pieces[n] if n < len(pieces) else ""
                part[column] = f"{CONTINUED} {piece}" if n and piece else piece
            if n:
                part[0] = f"{row[0]} {CONTINUED}"
                part[_DISPOSITION] = ""
            yield part


def comment_matrix_xlsx(comments: Sequence[CommentEntry], info: ConsolidationInfo) -> bytes:
    """The comment matrix as .xlsx bytes: a header row, then one row per comment."""
    # openpyxl is imported here, not with the package: the bot loads documents at start
    # and most processes never write a spreadsheet.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    entries = matrix_order(comments)
    workbook = Workbook(write_only=True)
    properties = workbook.properties
    properties.title = _clean(f"{info.title} \u2013 comment matrix")[:250]
    properties.subject = _clean(info.consultation)[:250]
    properties.creator = "Clausebot"
    generated = utc(info.generated_at).replace(tzinfo=None)
    properties.created = properties.modified = generated

    sheet = workbook.create_sheet(SHEET_TITLE)
    for column, width in enumerate(_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = 9  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddHeader.center.text = _header_text(info.title or SHEET_TITLE)
    sheet.oddHeader.right.text = SHEET_TITLE
    sheet.oddFooter.left.text = _header_text(f"Compiled {local_time(info.generated_at, info.timezone)}")
    sheet.oddFooter.right.text = "Page &P of &N"

    # Named styles: assigning one to a cell is a lookup, where assigning a font or an
    # alignment hashes the style objects for every cell (most of the time at 10,000
    # rows). They also show in Excel's style gallery.
    thin = Side(style="thin", color="A6A6A6")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    for name, font, fill in (
        (_STYLE_TEXT, Font(), None),
        (_STYLE_HEADER, Font(bold=True), PatternFill("solid", fgColor="D9E2F3")),
        (_STYLE_LATE, Font(italic=True, color="C00000"), None),
    ):
        style = NamedStyle(name=name, font=font, alignment=wrap, border=border)
        if fill is not None:
            style.fill = fill
        workbook.add_named_style(style)

    def cell(value: str | int, style: str = _STYLE_TEXT) -> WriteOnlyCell:
        c = WriteOnlyCell(sheet, value)
        if isinstance(value, str):
            c.data_type = "s"  # never a formula, whatever the text starts with
        c.style = style
        return c

    header = [cell(title, _STYLE_HEADER) for title in XLSX_COLUMNS]

    sheet.append(header)
    written = 1
    for row in _rows(entries):
        late = isinstance(row[5], str) and row[5].endswith(LATE_MARK)
        sheet.append([cell(value, _STYLE_LATE if late and i == 5 else _STYLE_TEXT) for i, value in enumerate(row)])
        written += 1
    # The filter and the drop-down are written after the rows, so their range can be set now.
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(XLSX_COLUMNS))}{written}"
    if written > 1:
        letter = get_column_letter(_DISPOSITION + 1)
        choices = DataValidation(
            type="list",
            formula1='"' + ",".join(DISPOSITION_CHOICES) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Disposition",
            error="Choose one of: " + ", ".join(DISPOSITION_CHOICES) + ".",
            showInputMessage=True,
            promptTitle="Disposition",
            prompt="Choose from the list. Accepted in part and Not accepted need an observation.",
        )
        choices.add(f"{letter}2:{letter}{written}")
        sheet.data_validations.append(choices)

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
