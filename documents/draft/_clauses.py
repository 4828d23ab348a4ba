"""Building the clauses of a section and their hierarchical references."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._errors import Clash, Numbered
from ._markers import _Marker
from ._numerals import _letters_value
from ._result import ParsedClause


@dataclass
class _Open:
    """A clause being built; ``marker`` is the number that opened it."""

    ref_parts: tuple[str, ...]
    level: int
    marker: _Marker
    texts: list[str] = field(default_factory=list)
    paragraphs: list[int] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return ".".join(self.ref_parts)

    def freeze(self) -> ParsedClause:
        return ParsedClause(
            ref=self.ref,
            label=self.marker.label,
            text="\n".join(self.texts),
            level=self.level,
            paragraphs=tuple(self.paragraphs),
        )


@dataclass
class _Para:
    index: int
    text: str
    marker: _Marker | None


_LETTER_BEFORE = {"i": "h", "v": "u", "x": "w"}


class References:
    """Every reference given so far, headings' and clauses', with what has it; a second
    owner of one is a clash (the draft is refused with the clashes named)."""

    def __init__(self) -> None:
        self.owners: dict[str, Numbered] = {}
        self.clashes: list[Clash] = []

    def claim(self, ref: str, owner: Numbered) -> None:
        first = self.owners.setdefault(ref, owner)
        if first is not owner:
            self.clashes.append(Clash(ref, first, owner))


# A numbered paragraph indented this much more than an open clause (in twips, 1/16 inch)
# hangs under it.
_DEEPER = 90


class _SectionBuilder:
    def __init__(self, section_parts: tuple[str, ...], refs: References):
        self.section = section_parts
        self.refs = refs
        self.clauses: list[_Open] = []
        self.stack: list[_Open] = []
        self.bullets: dict[str, int] = {}
        self.numbered_seen = False

    def _push(self, parts: tuple[str, ...], level: int, marker: _Marker) -> _Open:
        clause = _Open(parts, level, marker)
        self.refs.claim(
            clause.ref,
            Numbered("clause", marker.label, _start(marker.text), ".".join(self.section)),
        )
        self.clauses.append(clause)
        self.stack.append(clause)
        return clause

    def _indented_host(self, marker: _Marker) -> int | None:
        """The open clause a numbered paragraph of another list hangs under because it is
        indented further (Word's "List Number 2" under "List Number", an automatic "1."
        under a typed "4.1"): its place on the stack."""
        for i in range(len(self.stack) - 1, -1, -1):
            host = self.stack[i].marker
            if host.kind != "preamble" and host.indent + _DEEPER < marker.indent:
                return i
        return None

    def add(self, para: _Para, next_marker: _Marker | None) -> None:
        marker = para.marker
        text = para.text.strip()
        if marker is not None:
            self.numbered_seen = True
            clause = self._place(marker, next_marker)
            text = marker.text
        elif self.numbered_seen and self.clauses:
            clause = self.clauses[-1]  # continuation text of the last clause
        else:
            # An unnumbered paragraph before the first numbered one: a clause of its own.
            n = sum(1 for c in self.clauses if c.marker.kind == "preamble") + 1
            self.stack.clear()
            preamble = _Marker("preamble", "", ("",), n, "", False, text)
            clause = self._push(self.section + (f"p{n}",), 1, preamble)
        clause.texts.append(text)
        clause.paragraphs.append(para.index)

    def _find_sibling(self, key: tuple[object, ...]) -> int | None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].marker.key == key:
                return i
        return None

    def _pop_deeper_auto(self, auto: tuple[object, int]) -> None:
        while self.stack and self.stack[-1].marker.auto is not None:
            top = self.stack[-1].marker.auto
            if top[0] == auto[0] and top[1] > auto[1]:
                self.stack.pop()
            else:
                break

    def _auto_parent(self, auto: tuple[object, int]) -> _Open | None:
        if self.stack and self.stack[-1].marker.auto is not None:
            top = self.stack[-1].marker.auto
            if top[0] == auto[0] and top[1] < auto[1]:
                return self.stack[-1]
        return None

    def _resolve_ambiguous(self, marker: _Marker, next_marker: _Marker | None) -> _Marker:
        """A typed "(i)", "v)" or "x." is a letter when it follows an "(h)", "u)", "w."."""
        low = marker.parts[0]
        before = _LETTER_BEFORE[low]
        has_letter_sibling = any(
            c.marker.kind == "letter"
            and c.marker.parts[0] == before
            and c.marker.shape == marker.shape
            and c.marker.upper == marker.upper
            and c.marker.auto is None
            for c in self.stack
        )
        if not has_letter_sibling:
            return marker
        if (
            next_marker is not None
            and next_marker.auto is None
            and next_marker.kind == "roman"
            and next_marker.shape == marker.shape
            and next_marker.value == marker.value + 1
        ):
            return marker  # "(i)" followed by "(ii)": a roman list after all
        return _Marker(
            "letter",
            marker.label,
            (low,),
            _letters_value(low) or 0,
            marker.shape,
            marker.upper,
            marker.text,
        )

    def _place(self, marker: _Marker, next_marker: _Marker | None) -> _Open:
        if marker.kind == "roman" and marker.ambiguous and marker.auto is None:
            marker = self._resolve_ambiguous(marker, next_marker)
        section = self.section

        if marker.kind == "dotted":
            # "2.3.1" is a full number: it is its own reference (under the section's
            # number if it does not already start with it), its parent is the clause
            # whose reference is a prefix of it.
            parts = marker.parts
            if parts[: len(section)] != section:
                parts = section + parts
            while self.stack and not _is_proper_prefix(self.stack[-1].ref_parts, parts):
                self.stack.pop()
            return self._push(parts, max(1, len(parts) - len(section)), marker)

        if marker.kind == "number" and not marker.relative:
            # "1." is a clause of the section ("3.1" in section 3), unless it is a deeper
            # level of an automatic list whose parent item is open.
            parent = None
            if marker.auto is not None:
                sibling = self._find_sibling(marker.key)
                if sibling is not None:
                    del self.stack[sibling:]
                else:
                    self._pop_deeper_auto(marker.auto)
                parent = self._auto_parent(marker.auto)
            if parent is None and marker.auto is not None:
                host = self._indented_host(marker)
                if host is not None:
                    parent = self.stack[host]
                    del self.stack[host + 1 :]
            if parent is None:
                self.stack.clear()
                return self._push(section + marker.parts, 1, marker)
            return self._push(parent.ref_parts + marker.parts, parent.level + 1, marker)

        # Letters, romans, "(1)" and bullets hang under the nearest open clause of a
        # higher level; an open item of the same kind and shape is a sibling.
        sibling = self._find_sibling(marker.key)
        if sibling is not None:
            del self.stack[sibling:]
        elif marker.auto is not None:
            self._pop_deeper_auto(marker.auto)
        parent = self.stack[-1] if self.stack else None
        prefix = parent.ref_parts if parent is not None else section
        if marker.kind == "bullet":
            owner = ".".join(prefix)
            count = self.bullets.get(owner, 0) + 1
            self.bullets[owner] = count
            token = f"b{count}"
        else:
            token = marker.parts[0]
        level = parent.level + 1 if parent is not None else 1
        return self._push(prefix + (token,), level, marker)


def _start(text: str, size: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1].rstrip() + "\u2026"


def _is_proper_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return len(a) < len(b) and b[: len(a)] == a
