"""Answering in bulk: the .xlsx matrix filled in and sent back; matrix numbers that stay."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
from sqlalchemy import func, select

from bot.models import AnswerChange, Comment
from bot.services import answer_import, answers, comments, consolidation
from bot.services.answer_import import RowProblem
from bot.services.errors import InvalidInput, NotFound, Refused
from documents.matrix import DISPOSITION_HEADER, OBSERVATION_HEADER, XLSX_COLUMNS
from tests.refusals import refused
from tests.services.test_answers import NOW, _comment, _round


async def _matrix(session, officer, consultation) -> bytes:
    data = await consolidation.gather(session, officer, consultation, now=NOW)
    return (await consolidation.compile_outputs(data)).matrix


def _edit(matrix: bytes, changes: dict[str, dict[str, object]], *, extra_rows=()) -> bytes:
    """The matrix with cells changed by comment number, as someone would in Excel."""
    workbook = openpyxl.load_workbook(io.BytesIO(matrix))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        values = changes.get(row[0].value)
        for column, value in (values or {}).items():
            row[header.index(column)].value = value
    for extra in extra_rows:
        sheet.append(extra)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _answers_in(matrix: bytes) -> dict[str, tuple[object, object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(matrix)).active
    header = [c.value for c in sheet[1]]
    d, o = header.index(DISPOSITION_HEADER), header.index(OBSERVATION_HEADER)
    return {row[0]: (row[d], row[o]) for row in sheet.iter_rows(min_row=2, values_only=True)}


async def test_numbers_stay_from_one_consolidation_to_the_next(session):
    consultation, (thai, _khmer, officer, _), saved = await _round(session)
    first = _answers_in(await _matrix(session, officer, consultation))
    assert sorted(first) == ["KH-001", "TH-001", "TH-002"]
    numbers = dict((await session.execute(select(Comment.id, Comment.number))).all())
    # The first Thai comment is withdrawn and a new one comes in on an earlier clause.
    await comments.withdraw_comment(session, thai, saved[0].comment_id, now=NOW)
    late = await _comment(session, thai, consultation, "1.1", "Add a baseline year.")
    second = _answers_in(await _matrix(session, officer, consultation))
    assert sorted(second) == ["KH-001", "TH-002", "TH-003"]
    after = dict((await session.execute(select(Comment.id, Comment.number))).all())
    assert all(after[i] == n for i, n in numbers.items())  # the withdrawn one keeps its number
    assert after[late.comment_id] == "TH-003"


async def test_a_filled_in_matrix_is_previewed_then_stored_and_comes_back_the_same(session):
    consultation, (_t, _k, officer, _), saved = await _round(session)
    matrix = await _matrix(session, officer, consultation)
    # One answer already given in chat, to be changed by the file.
    await answers.record(session, officer, saved[1].comment_id, "noted", None, now=NOW)
    edited = _edit(
        matrix,
        {
            "TH-001": {DISPOSITION_HEADER: "Accepted in part", OBSERVATION_HEADER: "Every 18 months."},
            "KH-001": {DISPOSITION_HEADER: "accepted"},
            "TH-002": {DISPOSITION_HEADER: " Not accepted ", OBSERVATION_HEADER: "The Board reviews it."},
        },
    )
    preview = await answer_import.preview(session, officer, edited)
    assert (preview.new, preview.changed, preview.refused, preview.applied) == (2, 1, [], False)
    assert preview.consultation == consultation.name
    assert await session.scalar(select(func.count()).select_from(Comment).where(Comment.disposition == "partly")) == 0

    stored = await answer_import.apply(session, officer, edited, now=NOW + timedelta(hours=1))
    assert stored.applied and stored.changes == 3
    by_number = {c.number: c for c in await session.scalars(select(Comment))}
    assert (by_number["TH-001"].disposition, by_number["TH-001"].observation) == ("partly", "Every 18 months.")
    assert by_number["KH-001"].disposition == "accepted" and by_number["KH-001"].answered_by == officer.contact_id
    history = await answers.history(session, officer, by_number["KH-001"].id)
    assert [(h.before[0], h.after[0], h.by) for h in history] == [
        (None, "noted", "Mega"),
        ("noted", "accepted", "Mega"),
    ]

    again = await _matrix(session, officer, consultation)
    assert _answers_in(again) == {
        "TH-001": ("Accepted in part", "Every 18 months."),
        "KH-001": ("Accepted", None),
        "TH-002": ("Not accepted", "The Board reviews it."),
    }
    # The matrix as exported, sent back untouched, changes nothing.
    unchanged = await answer_import.preview(session, officer, again)
    assert (unchanged.changes, unchanged.unchanged, unchanged.refused) == (0, 3, [])


async def test_a_file_with_any_refused_row_changes_nothing_and_names_every_row(session):
    consultation, (thai, _k, officer, _), saved = await _round(session)
    matrix = await _matrix(session, officer, consultation)
    await comments.withdraw_comment(session, thai, saved[2].comment_id, now=NOW)
    edited = _edit(
        matrix,
        {
            "TH-001": {DISPOSITION_HEADER: "maybe"},
            "KH-001": {DISPOSITION_HEADER: "Not accepted"},  # no observation
            "TH-002": {DISPOSITION_HEADER: "Accepted"},  # withdrawn meanwhile
        },
        extra_rows=[
            ["TH-999", "SOMHD", "Thailand", "1.1", 1, "te", "x", None, "Accepted", None],
            ["KH-001", "SLOM", "Cambodia", "1.1", 1, "te", "x", None, "Noted", None],
            ["TH-001", "SOMHD", "Thailand", "1.1", 1, "te", "x", None, '=IF(1,"Accepted")', None],
        ],
    )
    changes_before = await session.scalar(select(func.count()).select_from(AnswerChange))
    result = await answer_import.apply(session, officer, edited)
    assert not result.applied
    problems = {(r.row, r.problem) for r in result.refused}
    assert problems == {
        (_row_of(edited, "TH-001"), RowProblem.BAD_DISPOSITION),
        (_row_of(edited, "KH-001"), RowProblem.NEEDS_OBSERVATION),
        (_row_of(edited, "TH-002"), RowProblem.WITHDRAWN),
        (5, RowProblem.UNKNOWN_NUMBER),
        (6, RowProblem.DUPLICATE),
        (7, RowProblem.FORMULA),
    }
    assert await session.scalar(select(func.count()).select_from(AnswerChange)) == changes_before
    assert await session.scalar(select(func.count()).select_from(Comment).where(Comment.disposition.is_not(None))) == 0


def _row_of(matrix: bytes, number: str) -> int:
    sheet = openpyxl.load_workbook(io.BytesIO(matrix)).active
    return next(row[0].row for row in sheet.iter_rows(min_row=2) if row[0].value == number)


async def test_an_edited_comment_text_is_named_and_the_stored_text_kept(session):
    consultation, (_t, _k, officer, _), saved = await _round(session)
    matrix = await _matrix(session, officer, consultation)
    edited = _edit(matrix, {"KH-001": {"Comment": "Start in 2030.", DISPOSITION_HEADER: "Noted"}})
    result = await answer_import.apply(session, officer, edited)
    assert result.applied and result.new == 1
    assert result.text_changed == [(_row_of(edited, "KH-001"), "KH-001")]
    comment = await session.get(Comment, saved[1].comment_id)
    assert comment.text == "Start in 2027." and comment.disposition == "noted"


async def test_files_that_are_not_this_consultations_matrix(session):
    consultation, (_t, _k, officer, _), _saved = await _round(session)
    matrix = await _matrix(session, officer, consultation)
    with refused(InvalidInput, "not an Excel workbook"):
        await answer_import.preview(session, officer, b"PK\x03\x04 not really a zip")
    # Another spreadsheet altogether.
    workbook = openpyxl.Workbook()
    workbook.active.append(["Name", "Amount"])
    out = io.BytesIO()
    workbook.save(out)
    with refused(InvalidInput, "not a comment matrix"):
        await answer_import.preview(session, officer, out.getvalue())
    # This consultation's matrix, asked for another one by name.
    with refused(Refused, "belongs to"):
        await answer_import.preview(session, officer, matrix, consultation="another-one")
    # A macro-enabled workbook renamed .xlsx.
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(matrix))
    macro = io.BytesIO()
    with zipfile.ZipFile(macro, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b"\x00" * 64)
    with refused(InvalidInput, "macros"):
        await answer_import.preview(session, officer, macro.getvalue())


async def test_only_the_secretariat_imports(session):
    consultation, (thai, _k, officer, _), _saved = await _round(session)
    matrix = await _matrix(session, officer, consultation)
    with refused(Refused, "Secretariat"):
        await answer_import.preview(session, thai, matrix)


async def test_the_sheet_offers_the_four_dispositions_in_a_drop_down(session):
    consultation, (_t, _k, officer, _), _saved = await _round(session)
    sheet = openpyxl.load_workbook(io.BytesIO(await _matrix(session, officer, consultation))).active
    assert [c.value for c in sheet[1]] == list(XLSX_COLUMNS)
    (choices,) = sheet.data_validations.dataValidation
    column = "ABCDEFGHIJ"[XLSX_COLUMNS.index(DISPOSITION_HEADER)]
    assert choices.type == "list" and str(choices.sqref) == f"{column}2:{column}4"
    assert choices.formula1 == '"Accepted,Accepted in part,Noted,Not accepted"'


def test_the_benchmark_runs_and_reports_in_the_agreed_format():
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "bench" / "answers.py"), "--rows", "300"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=root,
    )
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"rows=300 seconds=(\S+) peak_mb=(\S+)", last)
    assert match, last
    assert all(float(value) > 0 for value in match.groups())


async def test_the_history_of_an_answer_by_its_number(session):
    consultation, (thai, _k, officer, second), saved = await _round(session)
    await _matrix(session, officer, consultation)
    await answers.record(session, officer, saved[0].comment_id, "noted", None, now=NOW)
    await answers.record(
        session, second, saved[0].comment_id, "partly", "Every 18 months.", now=NOW + timedelta(hours=2)
    )
    found = await answers.history_of_number(session, officer, consultation, "th-001")
    assert (found.number, found.clause_ref, found.disposition, found.published_at) == ("TH-001", "2.2", "partly", None)
    assert [(c.by, c.before[0], c.after[0]) for c in found.changes] == [
        ("Mega", None, "noted"),
        ("Arif", "noted", "partly"),
    ]
    with refused(NotFound, "no comment numbered"):
        await answers.history_of_number(session, officer, consultation, "TH-999")
    with refused(Refused, "Secretariat"):
        await answers.history_of_number(session, thai, consultation, "TH-001")
