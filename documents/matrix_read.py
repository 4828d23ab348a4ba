"""Reading back a comment matrix the Secretariat has filled in (.xlsx).

The Secretariat writes dispositions and observations into the matrix that
:func:`documents.matrix.comment_matrix_xlsx` compiled, in Excel or LibreOffice Calc, and
sends it back. :func:`read_matrix` takes the file's bytes and gives its rows as plain
values: the spreadsheet row, the comment number, the comment's text (continuation rows
joined), the disposition and observation as typed, and the name of any column that holds a
formula. Whether a number, a disposition or a text is right for the consultation is for the
caller to judge (it knows the comments); what is wrong with the file as a whole raises
:class:`MatrixError` with a message for the uploader.

Columns are found by their heading, so a sheet whose columns were moved or that gained a
column of notes still reads. The file is refused before openpyxl sees it when it is not an
.xlsx package, carries macros (a macro-enabled workbook renamed .xlsx) or links to other
workbooks, has more members or expands further than any matrix does, or declares a
document type in a part (the only place XML entities can be defined). openpyxl reads in
read-only mode, streaming the sheet, and stops at :data:`MAX_ROWS`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._ooxml import sanitize_xml_text
from .matrix import CONTINUED, DISPOSITION_HEADER, OBSERVATION_HEADER, SHEET_TITLE

__all__ = ["MAX_ROWS", "MatrixError", "MatrixRow", "MatrixSheet", "read_matrix"]

# More rows than any consultation has comments (a big one has a few thousand).
MAX_ROWS = 20_000
_MAX_MEMBERS = 500
_MAX_EXPANDED = 400 * 1024 * 1024
_NUMBER, _COMMENT = "No.", "Comment"
_NEEDED = (_NUMBER, _COMMENT, DISPOSITION_HEADER, OBSERVATION_HEADER)
_MACRO_TYPES = ("macroEnabled", "vbaProject", "ms-excel.sheet.binary")


class MatrixError(ValueError):
    """The file cannot be read as a comment matrix. ``str(error)`` is shown to the user."""


@dataclass(frozen=True)
class MatrixRow:
    row: int  # the spreadsheet's row number, as Excel shows it
    number: str  # "TH-004"
    comment: str
    disposition: str
    observation: str
    formula: str | None = None  # the heading of a column holding a formula


@dataclass(frozen=True)
class MatrixSheet:
    consultation: str  # the name the workbook's subject gives, "" if none
    rows: list[MatrixRow]


def _text(value: object) -> str:
    if value is None:
        return ""
    text = sanitize_xml_text(str(value)).strip()
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_package(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise MatrixError(
            "This file is not an Excel workbook (.xlsx). Send back the comment matrix the bot compiled, saved as .xlsx."
        ) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > _MAX_MEMBERS or sum(i.file_size for i in infos) > _MAX_EXPANDED:
            raise MatrixError("This workbook is far larger than a comment matrix; it was not read.")
        names = {i.filename for i in infos}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise MatrixError(
                "This file is not an Excel workbook (.xlsx). Send back the comment matrix the bot compiled, "
                "saved as .xlsx."
            )
        try:
            types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise MatrixError("This workbook is damaged (perhaps the upload was cut short). Save it again.") from exc
        if any(name.endswith("vbaProject.bin") for name in names) or any(t in types for t in _MACRO_TYPES):
            raise MatrixError(
                "This workbook contains macros (or is a binary workbook); such files are not read. "
                "Save it as an ordinary Excel workbook (.xlsx) and send it again."
            )
        if any(name.startswith("xl/externalLinks/") for name in names):
            raise MatrixError(
                "This workbook links to other workbooks. Remove the links (Data > Edit Links > Break Link) "
                "and send it again."
            )
        for info in infos:
            if info.filename.endswith((".xml", ".rels")):
                try:
                    with archive.open(info) as member:
                        head = member.read(4096)
                except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                    raise MatrixError(
                        "This workbook is damaged (perhaps the upload was cut short). Save it again."
                    ) from exc
                if b"<!DOCTYPE" in head or b"<!doctype" in head:
                    raise MatrixError("This workbook has parts no spreadsheet program writes; it was not read.")


def _header_positions(header: tuple[object, ...]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, value in enumerate(header):
        name = " ".join(_text(value).split()).casefold()
        for wanted in _NEEDED:
            if name == wanted.casefold() and wanted not in found:
                found[wanted] = index
    return found if all(w in found for w in _NEEDED) else None


def read_matrix(data: bytes, *, max_rows: int = MAX_ROWS) -> MatrixSheet:
    """The rows of a filled-in comment matrix. Raises :class:`MatrixError`."""
    _check_package(data)
    # Imported here: most processes never read a spreadsheet.
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise MatrixError(
            "This workbook could not be read; open it, save it again as .xlsx and send it again."
        ) from exc
    try:
        subject = _text(workbook.properties.subject)
        names = workbook.sheetnames
        ordered = [SHEET_TITLE] if SHEET_TITLE in names else []
        ordered += [n for n in names if n != SHEET_TITLE]
        for name in ordered:
            sheet = workbook[name]
            rows = sheet.iter_rows()
            header = next(rows, None)
            positions = _header_positions(tuple(c.value for c in header)) if header else None
            if positions is None:
                continue
            return MatrixSheet(subject, _read_rows(rows, positions, max_rows))
    except (KeyError, ValueError, TypeError, AttributeError, zipfile.BadZipFile) as exc:
        raise MatrixError(
            "This workbook could not be read; open it, save it again as .xlsx and send it again."
        ) from exc
    finally:
        workbook.close()
    raise MatrixError(
        "This is not a comment matrix: no sheet has the columns "
        + ", ".join(f"“{n}”" for n in _NEEDED)
        + " in its first row. Send back the matrix the bot compiled (/consolidate), with those columns kept."
    )


def _read_rows(rows: Iterator[tuple[Any, ...]], positions: dict[str, int], max_rows: int) -> list[MatrixRow]:
    number_at, comment_at = positions[_NUMBER], positions[_COMMENT]
    disposition_at, observation_at = positions[DISPOSITION_HEADER], positions[OBSERVATION_HEADER]
    headings = {index: heading for heading, index in positions.items()}
    read: list[MatrixRow] = []
    count = 0
    # Read-only sheets give every row from the second on, empty ones included.
    for row_number, cells in enumerate(rows, start=2):

        def value(index: int, cells: tuple[Any, ...] = cells) -> str:
            return _text(cells[index].value) if index < len(cells) else ""

        if not any(getattr(c, "value", None) not in (None, "") for c in cells):
            continue  # an empty row
        number = value(number_at)
        count += 1
        if count > max_rows:
            raise MatrixError(
                f"This sheet has more than {max_rows:,} rows; no consultation has that many comments. "
                "Send back the matrix the bot compiled."
            )
        formula = next(
            (
                headings.get(i, f"column {i + 1}")
                for i, c in enumerate(cells)
                if getattr(c, "data_type", None) == "f" and i in headings
            ),
            None,
        )
        if number.endswith(CONTINUED) and read and number.removesuffix(CONTINUED).strip() == read[-1].number:
            last = read[-1]
            piece = value(comment_at).removeprefix(CONTINUED).lstrip()
            observation = value(observation_at).removeprefix(CONTINUED).lstrip()
            read[-1] = MatrixRow(
                last.row,
                last.number,
                last.comment + piece,
                last.disposition,
                last.observation + observation,
                last.formula or formula,
            )
            continue
        read.append(
            MatrixRow(
                row_number,
                number,
                value(comment_at),
                value(disposition_at),
                value(observation_at),
                formula,
            )
        )
    return read
