"""Errors of an uploaded draft; their text is shown to the uploader."""

from __future__ import annotations

from dataclasses import dataclass


class DraftError(ValueError):
    """The uploaded file cannot be used as a draft. ``str(error)`` is shown to the user."""


class NotAWordDocument(DraftError):
    """The file is not a readable Word (.docx) document."""


class DraftTooLarge(DraftError):
    """The file is larger than the configured limit."""


class NoStructure(DraftError):
    """The document has no headings and no numbered paragraphs to split it into clauses."""


@dataclass(frozen=True)
class Numbered:
    """A heading or a clause as a reader sees it in Word."""

    kind: str  # "heading" or "clause"
    number: str  # as displayed: "2.1", "1.", "(a)"; "" when it shows none
    text: str  # the start of its text
    section: str  # the reference of its section ("" for a heading, or before any heading)


@dataclass(frozen=True)
class Clash:
    """Two parts of the draft that would have one reference."""

    ref: str
    first: Numbered
    second: Numbered


class NumberingClash(DraftError):
    """Two headings or clauses would have the same reference: readers could not tell which
    one a comment is on. ``clashes`` names them (the bot words the message)."""

    def __init__(self, clashes: tuple[Clash, ...]):
        self.clashes = clashes
        refs = ", ".join(dict.fromkeys(c.ref for c in clashes))
        super().__init__(f"The draft numbers more than one heading or clause {refs}.")
