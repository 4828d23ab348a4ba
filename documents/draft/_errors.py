"""Errors of an uploaded draft; their text is shown to the uploader."""

from __future__ import annotations


class DraftError(ValueError):
    """The uploaded file cannot be used as a draft. ``str(error)`` is shown to the user."""


class NotAWordDocument(DraftError):
    """The file is not a readable Word (.docx) document."""


class DraftTooLarge(DraftError):
    """The file is larger than the configured limit."""


class NoStructure(DraftError):
    """The document has no headings and no numbered paragraphs to split it into clauses."""
