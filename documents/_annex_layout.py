"""How the annex comment matrix is laid out: column widths sized to their content, and
which rows are kept on one page.

Word and LibreOffice lay the table out with whatever fonts they have, so text widths are
estimated here, on the wide side: a proportional sans-serif at 0.6 em a character on
average (DejaVu Sans, which LibreOffice falls back on where Calibri and Carlito are
missing, is that wide; Calibri is narrower). A column sized this way is wide enough
wherever the document is opened.

* The short columns (No., Body, Member State, Clause, Paragraph, Type) are as wide as
  their longest value, or its longest word where the value is long ("Brunei
  Darussalam" wraps, "Darussalam" does not), and no narrower than the longest word of
  their heading.
* Comment, Proposed change and Secretariat observation share the rest: of a few ways to
  share it, the one whose rows take the fewest lines in all (a column with little or no
  text still gets room for its heading).
* A row is kept on one page (``w:cantSplit``) unless it is estimated to be taller than
  most of a page: Word cuts off a row that may not break and does not fit on a page,
  so such a row is left free to continue on the next one.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from ._entries import LATE_MARK, MATRIX_COLUMNS, NO_PARAGRAPH, CommentEntry, kind_code, paragraph_number
from ._xmltext import lines, run_content

# The matrix text and its heading row are 9 pt (sz 18); one em is 180 twips.
_EM = 180
_CELL_PADDING = 140 + 40  # the cells' left and right margins, and a little to spare
_NARROW = frozenset(" il.,;:'|!()[]/-1fjt")
_WIDE = frozenset("mwMW@%")
# Values up to this many characters stay on one line in the short columns.
_ONE_LINE = 12
_SHORT = range(6)  # No., Body, Member State, Clause, Paragraph, Type
_TEXT = (6, 7, 8)  # Comment, Proposed change, Secretariat observation
# Lines are counted up to this many characters: one very long comment does not decide
# the widths for every other row.
_LENGTH_CAP = 600
# Characters per line: a text of the usual mix of letters and spaces takes 0.55 em a
# character in a wide font, and some room is lost at the end of lines. The columns are
# shared by the typical width; whether a row fits on a page is judged by the widest.
_TYPICAL = 0.6
_WIDEST = 0.7
# A line of 9 pt text (single spacing in a font with a wide line gap) and a cell's
# spacing before and after, borders included.
_LINE = 225
_ROW_EXTRA = 60


def _shape(ch: str) -> str:
    """A character of the same estimated width as ``ch``."""
    if ch == " " or ch in _NARROW:
        return ch if ch == " " else "i"
    if ch in _WIDE:
        return "m"
    if ch.isupper():
        return "A"
    if ch.isdigit():
        return "0"
    return "a"


# Every printable ASCII character to a character of its width (spaces stay: they
# separate words).
_SHAPES = str.maketrans({chr(code): _shape(chr(code)) for code in range(32, 127)})


@functools.lru_cache(maxsize=4096)
def text_width(text: str, *, bold: bool = False) -> int:
    """Estimated width in twips of ``text`` on one line, in 9 pt."""
    ems = 0.0
    for ch in text:
        if ch in _NARROW:
            ems += 0.36
        elif ch in _WIDE:
            ems += 0.95
        elif ch.isupper():
            ems += 0.85
        elif ch.isdigit():
            ems += 0.7
        else:
            ems += 0.6
    return math.ceil(ems * _EM * (1.12 if bold else 1.0))


# Where the headings may break besides their spaces: "Paragraph" is hyphenated
# ("Para-graph") when its column is narrower than the word.
_SOFT_HYPHENS = {"Paragraph": "Para\u00adgraph"}


def heading_content(title: str) -> str:
    """The run content of a column heading, with its soft hyphens."""
    word = _SOFT_HYPHENS.get(title, title)
    return "<w:softHyphen/>".join(run_content(piece) for piece in word.split("\u00ad"))


def _heading_need(title: str) -> int:
    """The width of a heading's widest piece that cannot be broken."""
    word = _SOFT_HYPHENS.get(title, title)
    pieces = [
        piece + ("-" if n < len(hyphenated) - 1 else "")
        for part in word.split()
        for hyphenated in [part.split("\u00ad")]
        for n, piece in enumerate(hyphenated)
    ]
    return max(text_width(piece, bold=True) for piece in pieces)


def _longest_word(text: str, *, bold: bool = False) -> int:
    return max((text_width(word, bold=bold) for word in text.split()), default=0)


def _short_need(text: str) -> int:
    """The width a short column's value asks for: all of it on one line when it is
    short, its longest word otherwise."""
    best = 0
    for line in lines(text):
        best = max(best, text_width(line) if len(line) <= _ONE_LINE else _longest_word(line))
    return best


def short_values(entry: CommentEntry) -> tuple[str, str, str, str, str, str]:
    """The texts of the short columns of ``entry``'s row, as the matrix shows them."""
    number = paragraph_number(entry)
    kind = kind_code(entry)
    if entry.late:
        kind = f"{kind}\n{LATE_MARK}" if kind else LATE_MARK
    return (
        entry.number,
        entry.body,
        entry.state_cell,
        entry.clause_ref,
        str(number) if number is not None else NO_PARAGRAPH,
        kind,
    )


def _line_lengths(text: str | None, cap: int | None = None) -> tuple[int, ...]:
    """The lengths of a text's lines (none for an empty cell), each at most ``cap``."""
    if cap is None:
        return tuple(len(line) for line in lines(text))
    return tuple(min(len(line), cap) for line in lines(text))


def _line_count(lengths: Sequence[int], room: int, em_per_char: float) -> int:
    """Estimated lines a cell takes whose lines have these lengths, in ``room`` twips."""
    per_line = max(1.0, room / (em_per_char * _EM))
    return max(1, sum(max(1, math.ceil(n / per_line)) for n in lengths))


# The text columns' widths are chosen among these shares of their room for Comment
# (Proposed change takes the rest), from a sample of at most this many rows.
_COMMENT_SHARES = tuple(n / 20 for n in range(6, 17))
_OBSERVATION_SHARES = (0.0, 0.15, 0.25, 0.35)
_SAMPLE = 200


def column_widths(entries: Sequence[CommentEntry], width: int) -> list[int]:
    """The widths in twips of the nine columns, filling ``width``.

    The short columns get what their values need; the three text columns share the rest
    in the way that makes the matrix shortest: of a few ways to share it, the one whose
    rows take the fewest lines in all, on a sample of the rows.
    """
    needs = [_heading_need(title) for title in MATRIX_COLUMNS]
    # Each distinct value once: a round has a few dozen bodies, states and clauses, and
    # the numbers and paragraphs are short.
    distinct = [
        {e.number for e in entries},
        {e.body for e in entries},
        {e.state for e in entries},
        {e.clause_ref for e in entries},
        {short_values(e)[4] for e in {min(e.paragraphs, default=-1): e for e in entries}.values()},
        {short_values(e)[5] for e in {(e.kind, e.late): e for e in entries}.values()},
    ]
    for column, values in zip(_SHORT, distinct, strict=True):
        # Values whose characters are alike ("TH-001", "VN-207") are as wide: each
        # shape is measured once, not each of ten thousand numbers.
        for shape in {value.translate(_SHAPES) for value in values}:
            needs[column] = max(needs[column], _short_need(shape))
    short = [min(need + _CELL_PADDING, width // 8) for need in needs[:6]]
    floors = [needs[column] + _CELL_PADDING for column in _TEXT]
    rest = width - sum(short)
    step = max(1, len(entries) // _SAMPLE)
    sample = [
        tuple(_line_lengths(text, _LENGTH_CAP) for text in (e.text, e.proposed, e.answer)) for e in entries[::step]
    ]
    answered = any(row[2] for row in sample)
    best: tuple[int, list[int]] | None = None
    for observation_share in _OBSERVATION_SHARES if answered else (0.0,):
        observation = max(floors[2], int(rest * observation_share))
        room = rest - observation
        for share in _COMMENT_SHARES:
            comment = max(floors[0], int(room * share))
            proposed = room - comment
            if proposed < floors[1]:
                continue
            wide = [comment, proposed, observation]
            rooms = [max(1, w - _CELL_PADDING) for w in wide]
            total = sum(max(_line_count(cells[n], rooms[n], _TYPICAL) for n in range(3)) for cells in sample)
            # The first of equal ones: the narrowest Comment column that does as well.
            if best is None or total < best[0]:
                best = (total, wide)
    if best is None:  # a page too narrow for the floors: share in proportion to them
        wide = [rest * f // sum(floors) for f in floors]
        wide[0] += rest - sum(wide)
    else:
        wide = best[1]
    return short + wide


class RowFit:
    """Whether a row fits on one page, from its text and the columns' widths."""

    def __init__(self, widths: Sequence[int], page_height: int):
        self.room = [max(1, width - _CELL_PADDING) for width in widths]
        # A row may be kept whole when it takes no more than four fifths of a page (the
        # heading row repeated at the top of each page takes some of it).
        self.max_lines = max(1, int((page_height * 4 // 5 - _ROW_EXTRA) // _LINE))

        self.per_line = [max(1.0, room / (_WIDEST * _EM)) for room in self.room]
        # A text of one line no longer than this surely fits (the Secretariat's answer
        # begins with its disposition, up to 20 characters more than the observation).
        self.surely = [int((self.max_lines - 1) * per_line) - 20 for per_line in self.per_line]

    def fits(self, entry: CommentEntry) -> bool:
        """Whether ``entry``'s row is kept on one page."""
        # The short columns hold a word or two each; only the texts make a row tall.
        for text, column in ((entry.text, 6), (entry.proposed, 7), (entry.observation, 8)):
            if not text or (len(text) <= self.surely[column] and "\n" not in text):
                continue
            if column == 8:
                text = entry.answer
            if _line_count(_line_lengths(text), self.room[column], _WIDEST) > self.max_lines:
                return False
        return True
