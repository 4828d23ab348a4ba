"""Parse an uploaded draft (.docx) into sections and clauses.

A *section* starts at every heading paragraph (a "Heading N" style or a paragraph with
an outline level). A *clause* starts at every numbered paragraph or list item, whether
the number comes from Word's automatic numbering (numbering.xml) or is typed at the
start of the text ("2.3.1", "a)", "(iii)", "•"). Unnumbered paragraphs that follow a
clause are continuation text of that clause; unnumbered paragraphs between a heading
and the first clause of its section become clauses of their own ("3.p1", "3.p2"...).

Each clause gets a stable, hierarchical reference ("2.3.a.iii") that participants type
to comment on it; :func:`normalise_ref` turns what they type into that form.

The package is pure: bytes in, plain data out. Its modules follow the stages of a parse:

* ``_container``: is the upload a Word document, and opening it safely;
* ``_styles`` and ``_numbering``: paragraph styles and Word's list counters;
* ``_numerals`` and ``_markers``: the number a paragraph starts with, typed or automatic;
* ``_clauses``: the clauses of one section and their references;
* ``_parser``: the pass over the document body;
* ``_refs``, ``_result`` and ``_errors``: what callers see.
"""

from __future__ import annotations

from ._container import DEFAULT_MAX_BYTES, open_draft
from ._errors import DraftError, DraftTooLarge, NoStructure, NotAWordDocument
from ._parser import _Parser
from ._refs import normalise_ref
from ._result import ParsedClause, ParsedDraft, ParsedSection
from ._unpack import PARSE_LOCK

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DraftError",
    "DraftTooLarge",
    "NoStructure",
    "NotAWordDocument",
    "ParsedClause",
    "ParsedDraft",
    "ParsedSection",
    "normalise_ref",
    "parse_draft",
]


def parse_draft(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDraft:
    """Parse the bytes of an uploaded .docx into its sections and clauses.

    Raises :class:`NotAWordDocument`, :class:`DraftTooLarge` or :class:`NoStructure`
    (all :class:`DraftError`) with a message meant for the uploader.
    """
    with PARSE_LOCK:
        document = open_draft(data, max_bytes)
        return _Parser(document).run()
