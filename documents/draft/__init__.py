"""Parse an uploaded draft (.docx) into sections and clauses.

A *section* starts at every heading paragraph (a "Heading N" style or a paragraph with
an outline level). A *clause* starts at every numbered paragraph or list item, whether
the number comes from Word's automatic numbering (numbering.xml) or is typed at the
start of the text ("2.3.1", "a)", "(iii)", "•"). Unnumbered paragraphs that follow a
clause are continuation text of that clause; unnumbered paragraphs between a heading
and the first clause of its section become clauses of their own ("3.p1", "3.p2"...).

Each clause gets a stable, hierarchical reference ("2.3.a.iii") that participants type
to comment on it; :func:`normalise_ref` turns what they type into that form. References
are the numbers a reader sees in Word: a numbered paragraph of another list indented
under an open clause (Word's "List Number 2" under "List Number", an automatic "1."
under a typed "4.1") hangs under it with the number Word shows. Headings and clauses
share one set of references; a draft in which two of them would have the same one (a
heading "2.1" and a clause "2.1", two clauses "3." in one section) is refused with
:class:`NumberingClash`, which names them. A draft without a Title style takes its
first line as its title when it reads as one (short, not ending like a sentence).

The package is pure: bytes in, plain data out. Its modules follow the stages of a parse:

* ``_container``: is the upload a Word document, and opening it safely;
* ``_styles`` and ``_numbering``: paragraph styles and Word's list counters;
* ``_numerals`` and ``_markers``: the number a paragraph starts with, typed or automatic;
* ``_clauses``: the clauses of one section and their references;
* ``_parser``: the pass over the document body;
* ``_refs``, ``_result`` and ``_errors``: what callers see.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from ._container import DEFAULT_MAX_BYTES, open_draft
from ._errors import Clash, DraftError, DraftTooLarge, NoStructure, NotAWordDocument, Numbered, NumberingClash
from ._parser import _Parser
from ._refs import normalise_ref
from ._result import ParsedClause, ParsedDraft, ParsedSection
from ._unpack import PARSE_LOCK

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Clash",
    "DraftError",
    "DraftTooLarge",
    "NoStructure",
    "NotAWordDocument",
    "Numbered",
    "NumberingClash",
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

    Safe to call from a thread (the bot does, with ``asyncio.to_thread``); one parse
    runs at a time, and the memory of one is given back before the next begins.
    """
    with PARSE_LOCK:
        error: DraftError | None = None
        with _collector_paused():
            try:
                parsed = _parse(data, max_bytes)
            except DraftError as exc:
                error = _without_frames(exc)
            # python-docx's package is a web of reference cycles holding the XML trees.
            # Made while the collector was off, it is all in the youngest generation:
            # collecting that, before the collector is back on (which would otherwise
            # start with a collection of its own choosing, possibly a full one), frees
            # the document now.
            gc.collect(0)
        if error is not None:
            raise error
        return parsed


def _parse(data: bytes, max_bytes: int) -> ParsedDraft:
    document = open_draft(data, max_bytes)
    return _Parser(document).run()


def _without_frames(error: DraftError) -> DraftError:
    """``error`` without the tracebacks whose frames still hold the document."""
    error.__traceback__ = None
    cause = error.__cause__ or error.__context__
    if cause is not None:
        cause.__traceback__ = None
    return error


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a draft is parsed.

    A parse creates tens of thousands of objects that live until it ends, and they would
    set off full collections, each holding the interpreter lock (and so stalling an event
    loop in another thread) for as long as it walks every object of the process: 100 ms
    and more for a draft of 20,000 clauses. :func:`parse_draft` collects the youngest
    generation, where everything the parse made is, before the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
