"""The comment matrix as .xlsx, read back with openpyxl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import openpyxl
import pytest

from documents._entries import DISPOSITION_NAMES
from documents.consolidate import (
    CommentEntry,
    comment_matrix_xlsx,
    consolidate,
    sanitize_xml_text,
)
from documents.matrix import CELL_LIMIT, CONTINUED, DISPOSITION_CHOICES, SHEET_TITLE, XLSX_COLUMNS

from .builders import w
from .reading import part, table_rows
from .test_consolidate import _comments, _info

UTC = dt.UTC


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    text = sanitize_xml_text(text).strip().replace("\r\n", "\n").replace("\r", "\n")
    return text or None


def _extra(sample) -> list[CommentEntry]:
    clause = sample.clause("2.2")
    base = CommentEntry(
        "MY-900", "2.2", clause.paragraphs, "ACW", "Malaysia", "ge", "x", None, dt.datetime(2026, 11, 24, tzinfo=UTC)
    )
    return [
        dataclasses.replace(
            base,
            number="MY-901",
            text="=SUM(A1:A9) is not a formula",
            proposed="+44 (0)20 and -1 stay text",
            observation="@mention",
        ),
        dataclasses.replace(base, number="MY-902", text="Windows\r\nline\rendings"),
        dataclasses.replace(base, number="MY-903", text="", kind=" TE ", late=True),
    ]


@pytest.fixture(scope="module")
def matrix(sample):
    comments = _comments(sample) + _extra(sample)
    data = comment_matrix_xlsx(comments, _info())
    return comments, openpyxl.load_workbook(io.BytesIO(data))


def _expected_order(comments, sample):
    position = {c.ref: i for i, c in enumerate(sample.clauses)}
    return sorted(comments, key=lambda c: (position[c.clause_ref], c.number))


def test_sheet_layout(matrix):
    comments, workbook = matrix
    assert workbook.sheetnames == [SHEET_TITLE]
    sheet = workbook[SHEET_TITLE]
    assert [c.value for c in sheet[1]] == list(XLSX_COLUMNS)
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.print_title_rows.replace("$", "") == "1:1"
    assert sheet.auto_filter.ref == f"A1:J{len(comments) + 1}"
    assert sheet.max_row == len(comments) + 1
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEFGHIJ"]
    assert all(width >= 9 for width in widths)
    assert widths[6] == max(widths)  # the comment itself
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    for row in sheet.iter_rows(min_row=1, max_row=sheet.max_row):
        for cell in row:
            assert cell.alignment.wrap_text and cell.alignment.vertical == "top"
    assert workbook.properties.title.startswith(_info().title)


def test_rows_are_the_comments_in_matrix_order(matrix, sample):
    comments, workbook = matrix
    rows = list(workbook[SHEET_TITLE].iter_rows(min_row=2, values_only=True))
    expected = _expected_order(comments, sample)
    assert len(rows) == len(expected)
    for row, entry in zip(rows, expected):
        kind = " ".join(entry.kind.split()).lower()
        assert row == (
            entry.number,
            entry.body,
            entry.state_cell,
            entry.clause_ref,
            min(entry.paragraphs) + 1,
            f"{kind} (late)" if entry.late else kind,
            _clean(entry.text),
            _clean(entry.proposed),
            DISPOSITION_NAMES.get(entry.disposition or ""),
            _clean(entry.observation),
        ), entry.number
    # Numbered per Member State, as in the annex.
    assert {r[0].split("-")[0] for r in rows} >= {"BN", "KH", "TH", "VN", "MY"}


def test_rows_equal_the_annex_of_the_consolidated_draft(matrix, sample, sample_bytes):
    comments, workbook = matrix
    annex = table_rows(list(part(consolidate(sample_bytes, comments, _info())).iter(w("tbl")))[-1])
    rows = list(workbook[SHEET_TITLE].iter_rows(values_only=True))
    assert len(rows) == len(annex)
    for row, annex_row in zip(rows[1:], annex[1:]):
        assert [str(v) if v is not None else "" for v in row[:5]] == annex_row[:5]
        assert (row[5] or "").replace(" (late)", "\n(late)") == annex_row[5]
        assert [v or "" for v in row[6:8]] == annex_row[6:8]
        # The annex states the answer in one column, the sheet in two.
        answer = ". ".join(str(v) for v in row[8:] if v)
        assert answer == annex_row[8]


def test_late_and_text_that_looks_like_a_formula(matrix):
    _, workbook = matrix
    sheet = workbook[SHEET_TITLE]
    by_number = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    formula = by_number["MY-901"]
    assert formula[6].value == "=SUM(A1:A9) is not a formula"
    assert formula[6].data_type == "s"
    assert formula[7].value == "+44 (0)20 and -1 stay text"
    assert by_number["MY-902"][6].value == "Windows\nline\nendings"
    late = by_number["MY-903"]
    assert late[5].value == "te (late)"
    assert late[5].font.i and late[5].font.color.rgb.endswith("C00000")
    assert late[6].value is None
    marked = [row[0].value for row in sheet.iter_rows(min_row=2) if (row[5].value or "").endswith("(late)")]
    assert len(marked) == 2  # the sample's late comment and MY-903


def test_special_text_is_cleaned_not_dropped(matrix):
    _, workbook = matrix
    texts = [r[6] for r in workbook[SHEET_TITLE].iter_rows(min_row=2, values_only=True)]
    assert "Null and vertical tab characters are removed" in texts
    assert "Welcome progress \U0001f389\U0001f30f on coverage" in texts
    assert any(t and t.startswith("\u064a\u062c\u0628") for t in texts)  # Arabic
    assert "<b>html</b> & ampersands \"quoted\" 'single'" in texts
    assert "Tab\tseparated\ttext" in texts
    assert any(t and len(t) >= 19_000 for t in texts)  # the long comment, whole


def test_text_longer_than_a_cell_continues_on_the_next_rows(sample):
    clause = sample.clause("1.1")
    long_text = ("Progressive realisation \U0001f30f of coverage. " * 2500).strip()
    assert len(long_text.encode("utf-16-le")) // 2 > 2 * CELL_LIMIT
    entry = CommentEntry(
        "TH-001",
        "1.1",
        clause.paragraphs,
        "SOMHD",
        "Thailand",
        "te",
        long_text,
        "Short proposal.",
        dt.datetime(2026, 11, 23, tzinfo=UTC),
    )
    other = dataclasses.replace(entry, number="TH-002", text="Next.", proposed=None)
    workbook = openpyxl.load_workbook(io.BytesIO(comment_matrix_xlsx([other, entry], _info())))
    rows = list(workbook[SHEET_TITLE].iter_rows(min_row=2, values_only=True))
    pieces = len(rows) - 1
    assert pieces >= 3
    assert [r[0] for r in rows] == (["TH-001"] + [f"TH-001 {CONTINUED}"] * (pieces - 1) + ["TH-002"])
    texts = [rows[0][6]] + [r[6].removeprefix(f"{CONTINUED} ") for r in rows[1:pieces]]
    assert "".join(texts) == long_text
    assert all(len(t.encode("utf-16-le")) // 2 <= CELL_LIMIT for t in texts)
    assert rows[0][7] == "Short proposal." and rows[1][7] is None
    assert all(r[1:6] == rows[0][1:6] for r in rows[1:pieces])


def test_no_comments():
    workbook = openpyxl.load_workbook(io.BytesIO(comment_matrix_xlsx([], _info())))
    sheet = workbook[SHEET_TITLE]
    assert sheet.max_row == 1
    assert [c.value for c in sheet[1]] == list(XLSX_COLUMNS)
    assert not sheet.data_validations.dataValidation


def test_the_answer_goes_in_two_columns_and_the_disposition_is_one_of_the_list(sample):
    clause = sample.clause("1.1")
    entry = CommentEntry(
        "TH-001", "1.1", clause.paragraphs, "SOMHD", "Thailand", "te", "Narrow it.", None,
        dt.datetime(2026, 11, 23, tzinfo=UTC), observation="Kept, every 18 months.", disposition="partly",
    )  # fmt: skip
    others = [
        dataclasses.replace(entry, number=f"TH-00{n}", disposition=d, observation=None)
        for n, d in ((2, "accepted"), (3, "noted"), (4, None))
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(comment_matrix_xlsx([entry, *others], _info())))[SHEET_TITLE]
    rows = {r[0]: r[8:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows == {
        "TH-001": ("Accepted in part", "Kept, every 18 months."),
        "TH-002": ("Accepted", None),
        "TH-003": ("Noted", None),
        "TH-004": (None, None),
    }
    assert {d for d, _ in rows.values() if d} <= set(DISPOSITION_CHOICES)


def test_the_printed_sheet_names_the_draft_and_dates_it_in_the_secretariats_zone(matrix):
    _, workbook = matrix
    sheet = workbook[SHEET_TITLE]
    info = _info()
    assert sheet.oddHeader.center.text == info.title
    assert sheet.oddFooter.left.text == "Compiled Wed 2 Dec 2026, 16:30 (Asia/Jakarta, UTC+7)"
    printed = [sheet.oddHeader.left.text, sheet.oddHeader.right.text, sheet.oddFooter.right.text]
    assert not any(info.consultation in (text or "") for text in printed)
    # The internal name stays where a matrix sent back is recognised by: the subject.
    assert workbook.properties.subject == info.consultation
