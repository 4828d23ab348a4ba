"""The Word outputs and the comment matrix are valid against the ECMA-376 transitional schemas."""

from __future__ import annotations

from documents.consolidate import consolidate, draft_with_proposals
from documents.matrix import comment_matrix_xlsx

from .ooxml_check import schema_folder, validated_parts, validation_errors
from .test_consolidate import _comments, _info
from .test_proposals import _entries


def test_the_checker_finds_an_invalid_part(sample_bytes):
    """python-docx's template writes ``w:zoom`` without the percentage that ECMA-376
    transitional requires, so the draft itself has one known error."""
    schema_folder()
    errors = validation_errors(sample_bytes)
    assert list(errors) == ["word/settings.xml"]
    assert "percent" in errors["word/settings.xml"][0]


def test_no_part_is_invalid_that_was_valid_in_the_draft(sample_bytes, sample):
    schema_folder()
    before = validation_errors(sample_bytes)
    comments = _comments(sample)
    for out in (
        consolidate(sample_bytes, comments, _info()),
        draft_with_proposals(sample_bytes, comments + _entries(sample), _info()),
    ):
        checked = validated_parts(out)
        assert {"word/document.xml", "word/comments.xml", "word/styles.xml", "[Content_Types].xml"} <= checked
        assert {"word/_rels/document.xml.rels", "word/commentsExtended.xml"} <= checked  # answers are replies
        assert "word/footer1.xml" in checked  # the footer line, in a footer of its own
        errors = validation_errors(out)
        assert {name: found for name, found in errors.items() if before.get(name) != found} == {}


def test_the_footers_added_to_a_draft_with_its_own_are_valid(builder):
    schema_folder()
    builder.title("Plan")
    builder.para("1.1\tThe scope of the plan.")
    section = builder.document.sections[0]
    section.different_first_page_header_footer = True
    section.header.paragraphs[0].text = "Working document"
    section.footer.paragraphs[0].text = "Not for citation"
    section.first_page_footer.paragraphs[0].text = "Title page"
    draft = builder.bytes()
    before = validation_errors(draft)
    for out in (consolidate(draft, [], _info()), draft_with_proposals(consolidate(draft, [], _info()), [], _info())):
        checked = validated_parts(out)
        assert {"word/footer1.xml", "word/footer2.xml", "word/header1.xml"} <= checked
        errors = validation_errors(out)
        assert {name: found for name, found in errors.items() if before.get(name) != found} == {}


def test_the_comment_matrix_is_valid(sample):
    schema_folder()
    matrix = comment_matrix_xlsx(_comments(sample) + _entries(sample), _info())
    checked = validated_parts(matrix)
    assert {"xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/styles.xml", "[Content_Types].xml"} <= checked
    assert validation_errors(matrix) == {}
