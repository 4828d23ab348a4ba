"""The pass over the document body: title, headings, numbered paragraphs, sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import XmlPart
from lxml import etree

from .._ooxml import W_PPR, W_VAL, iter_block_paragraphs, paragraph_text, w
from ._clauses import References, _Para, _SectionBuilder
from ._errors import DraftTooLarge, NoStructure, Numbered, NumberingClash
from ._markers import _auto_marker, _heading_number, _Marker, _typed_marker
from ._numbering import _AutoNumber, _Numbering, left_indent
from ._result import ParsedClause, ParsedDraft, ParsedSection
from ._styles import _HEADING_NAME, _num_pr, _outline, _Styles


@dataclass
class _Heading:
    index: int
    level: int
    number: tuple[str, ...] | None
    text: str
    paras: list[_Para] = field(default_factory=list)


_ROLE_SKIP_NAMES = ("subtitle", "toc heading")

# Paragraphs with text, headings included: each becomes (part of) a clause, and a clause
# costs about 1.5 KB while the draft is parsed. A draft of 400 pages has some 10,000.
MAX_PARAGRAPHS = 20_000
_TOO_MANY_PARAGRAPHS = (
    f"The document has more than {MAX_PARAGRAPHS:,} paragraphs, far more than a draft "
    "for consultation; it is not a normal draft. If it is your draft, please split it "
    "into smaller documents and upload those."
)


class _Parser:
    def __init__(self, document: docx.document.Document):
        self.document = document
        part = document.part
        styles_root = None
        try:
            styles_root = document.styles.element
        except Exception:
            styles_root = None
        self.styles = _Styles(styles_root)
        numbering_root = None
        try:
            numbering_root = cast(XmlPart, part.part_related_by(RT.NUMBERING)).element
        except (KeyError, AttributeError):
            numbering_root = None
        self.numbering = _Numbering(numbering_root, self.styles.num_ids())
        self._role_cache: dict[str | None, tuple[str, int]] = {}

    # -- paragraph classification --------------------------------------------------

    def _style_role(self, sid: str | None) -> tuple[str, int]:
        """("title" | "skip" | "heading" | "body", heading level) from the style alone."""
        cached = self._role_cache.get(sid)
        if cached is not None:
            return cached
        role: tuple[str, int] = ("body", 0)
        for _, style in self.styles.chain(sid):
            if style.name == "title":
                role = ("title", 0)
                break
            if style.name in _ROLE_SKIP_NAMES or style.name.startswith("toc "):
                role = ("skip", 0)
                break
            m = _HEADING_NAME.match(style.name)
            if m:
                role = ("heading", int(m.group(1)))
                break
            if style.outline is not None:
                role = ("heading", style.outline + 1) if 0 <= style.outline < 9 else ("body", 0)
                break
        self._role_cache[sid] = role
        return role

    def _role(self, ppr: etree._Element | None, sid: str | None) -> tuple[str, int]:
        role = self._style_role(sid)
        if role[0] in ("title", "skip"):
            return role
        outline = _outline(ppr)
        if outline is not None:
            return ("heading", outline + 1) if 0 <= outline < 9 else ("body", 0)
        return role

    def _auto_number(self, ppr: etree._Element | None, sid: str | None) -> _AutoNumber | None:
        num_id, ilvl = _num_pr(ppr)
        style_id = None
        if num_id is None:
            for chained_id, style in self.styles.chain(sid):
                if style.num_id is not None:
                    num_id, style_id = style.num_id, chained_id
                    if ilvl is None:
                        ilvl = style.ilvl
                    break
        elif ilvl is None:
            for _, style in self.styles.chain(sid):
                if style.ilvl is not None:
                    ilvl = style.ilvl
                    break
        if num_id is None or num_id == "0":
            return None
        if ilvl is None and style_id is not None:
            ilvl = self.numbering.ilvl_for_style(num_id, style_id)
        return self.numbering.advance(num_id, ilvl or 0)

    def _indent(self, ppr: etree._Element | None, sid: str | None, auto: _AutoNumber | None) -> int:
        """A paragraph's left indent in twips: its own, else its number's, else its style's."""
        for indent in (left_indent(ppr), auto.indent if auto is not None else None, self.styles.indent(sid)):
            if indent is not None:
                return indent
        return 0

    # -- main pass --------------------------------------------------------------------

    def run(self) -> ParsedDraft:
        body = self.document.element.body
        title_parts: list[str] = []
        front: list[_Para] = []
        headings: list[_Heading] = []
        any_marker = False
        index = -1
        paragraphs = 0
        marker: _Marker | None
        for p, top_level in iter_block_paragraphs(body):
            if top_level:
                index += 1
            ppr = p.find(W_PPR)
            sid = None
            if ppr is not None:
                style_el = ppr.find(w("pStyle"))
                if style_el is not None:
                    sid = style_el.get(W_VAL)
            role, level = self._role(ppr, sid)
            auto = self._auto_number(ppr, sid)
            if not top_level:
                continue
            text = paragraph_text(p)
            stripped = text.strip()
            if not stripped or role == "skip":
                continue
            paragraphs += 1
            if paragraphs > MAX_PARAGRAPHS:
                raise DraftTooLarge(_TOO_MANY_PARAGRAPHS)
            if role == "title":
                if not headings:
                    title_parts.append(" ".join(stripped.split()))
                continue
            if role == "heading":
                number = None
                heading_text = stripped
                if auto is not None and auto.label:
                    marker = _auto_marker(auto, stripped)
                    if marker.kind in ("dotted", "number") and all(part.isdigit() for part in marker.parts):
                        number = marker.parts
                else:
                    number, heading_text = _heading_number(stripped)
                headings.append(_Heading(index, level, number, " ".join(heading_text.split())))
                continue
            if auto is not None and auto.label:
                marker = _auto_marker(auto, stripped)
            else:
                marker = _typed_marker(stripped)
            if marker is None and not title_parts and not headings and not front and _looks_like_title(stripped):
                # A draft without a Title style: its first line, when it reads as a title.
                title_parts.append(" ".join(stripped.split()))
                continue
            if marker is not None:
                marker.indent = self._indent(ppr, sid, auto)
            any_marker = any_marker or marker is not None
            para = _Para(index, text, marker)
            (headings[-1].paras if headings else front).append(para)

        if not headings and not any_marker:
            raise NoStructure(_NO_STRUCTURE)

        refs = References()
        sections: list[ParsedSection] = []
        if front and (not headings or any(p.marker is not None for p in front)):
            clauses = _build_clauses((), front, refs)
            sections.append(ParsedSection("", "", 0, clauses[0].paragraphs[0], clauses))

        section_refs = _section_refs(headings)
        for heading, ref in zip(headings, section_refs):
            shown = ".".join(heading.number) if heading.number else ""
            refs.claim(ref, Numbered("heading", shown, heading.text, ""))
            parts = tuple(ref.split("."))
            clauses = _build_clauses(parts, heading.paras, refs)
            sections.append(ParsedSection(ref, heading.text, heading.level, heading.index, clauses))

        if not any(section.clauses for section in sections):
            raise NoStructure(_NO_STRUCTURE)
        if refs.clashes:
            raise NumberingClash(tuple(refs.clashes))

        title = " ".join(title_parts)
        if not title:
            try:
                title = (self.document.core_properties.title or "").strip()
            except Exception:
                title = ""
        if not title and headings:
            title = headings[0].text
        return ParsedDraft(title=title or "Untitled draft", sections=tuple(sections))


_NO_STRUCTURE = (
    "No clauses were found in this document: it has no headings and no numbered "
    "paragraphs. The draft is split into sections at Word headings (the Heading 1, "
    "Heading 2... styles) and into clauses at numbered paragraphs, either Word's automatic "
    "numbering or numbers typed at the start of a paragraph such as \u201c1.1\u201d, "
    "\u201ca)\u201d or \u201c(iii)\u201d. Please apply heading styles or number the clauses, "
    "then upload the document again."
)


def _build_clauses(section: tuple[str, ...], paras: list[_Para], refs: References) -> tuple[ParsedClause, ...]:
    builder = _SectionBuilder(section, refs)
    markers = [p.marker for p in paras]
    next_marker: list[_Marker | None] = [None] * len(paras)
    upcoming: _Marker | None = None
    for i in range(len(paras) - 1, -1, -1):
        next_marker[i] = upcoming
        if markers[i] is not None:
            upcoming = markers[i]
    for para, nxt in zip(paras, next_marker):
        builder.add(para, nxt)
    return tuple(c.freeze() for c in builder.clauses)


def _section_refs(headings: list[_Heading]) -> list[str]:
    if not headings:
        return []
    top = min(h.level for h in headings)
    counters: dict[int, int] = {}
    refs: list[str] = []
    for h in headings:
        if h.number is not None:
            numbers = [int(n) for n in h.number]
            span = list(range(top, h.level + 1))
            if len(numbers) == len(span):
                for lv, n in zip(span, numbers):
                    counters[lv] = n
            else:
                counters[h.level] = numbers[-1]
            ref = ".".join(str(n) for n in numbers)
        else:
            counters[h.level] = counters.get(h.level, 0) + 1
            ref = ".".join(str(counters.get(lv, 0)) for lv in range(top, h.level + 1))
        for lv in [lv for lv in counters if lv > h.level]:
            del counters[lv]
        refs.append(ref)
    return refs


# A first line that reads as a title: short, and not a sentence or the start of a list.
_TITLE_MAX_CHARACTERS = 250
_TITLE_MAX_WORDS = 35


def _looks_like_title(text: str) -> bool:
    return (
        len(text) <= _TITLE_MAX_CHARACTERS
        and len(text.split()) <= _TITLE_MAX_WORDS
        and text[-1:] not in ".;:,!?"
        and "\n" not in text
    )
