"""What parsing a draft yields: sections and clauses, plain data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ._refs import normalise_ref


@dataclass(frozen=True)
class ParsedClause:
    """One clause of the draft.

    ``ref`` is unique in the draft and canonical (``normalise_ref(ref) == ref``);
    ``label`` is the number as the reader sees it ("" for an unnumbered preamble
    paragraph); ``paragraphs`` are indices into ``docx.Document(data).paragraphs``.
    """

    ref: str
    label: str
    text: str
    level: int
    paragraphs: tuple[int, ...]


@dataclass(frozen=True)
class ParsedSection:
    """A heading and the clauses under it (up to the next heading of any level).

    Numbered paragraphs that come before the first heading of a document (or a
    document without headings at all) are gathered in a section with ``ref == ""``,
    ``heading == ""`` and ``level == 0``; its ``paragraph`` is then the first paragraph
    of its first clause.
    """

    ref: str
    heading: str
    level: int
    paragraph: int
    clauses: tuple[ParsedClause, ...]


@dataclass(frozen=True)
class ParsedDraft:
    title: str
    sections: tuple[ParsedSection, ...]

    @property
    def clause_count(self) -> int:
        return sum(len(section.clauses) for section in self.sections)

    def outline(self) -> list[tuple[str, str, int]]:
        """``(section ref, heading, number of clauses)`` for every section, in order."""
        return [(s.ref, s.heading, len(s.clauses)) for s in self.sections]

    @property
    def clauses(self) -> tuple[ParsedClause, ...]:
        """All clauses in document order."""
        return tuple(c for s in self.sections for c in s.clauses)

    @cached_property
    def _by_ref(self) -> dict[str, ParsedClause]:
        return {c.ref: c for s in self.sections for c in s.clauses}

    def clause(self, ref: str) -> ParsedClause | None:
        """The clause a user means by ``ref`` (any spelling :func:`normalise_ref` accepts)."""
        return self._by_ref.get(normalise_ref(ref))
