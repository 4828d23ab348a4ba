"""Paragraph styles (styles.xml): names, inheritance, outline levels and numbering."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from .._ooxml import W_PPR, W_VAL, w
from ._numbering import left_indent
from ._numerals import _int


@dataclass
class _Style:
    name: str  # lower case
    based_on: str | None
    outline: int | None
    num_id: str | None
    ilvl: int | None
    indent: int | None = None


def _num_pr(ppr: etree._Element | None) -> tuple[str | None, int | None]:
    if ppr is None:
        return None, None
    num_pr = ppr.find(w("numPr"))
    if num_pr is None:
        return None, None
    num_el = num_pr.find(w("numId"))
    ilvl_el = num_pr.find(w("ilvl"))
    num_id = None if num_el is None else num_el.get(W_VAL)
    ilvl = None if ilvl_el is None else _int(ilvl_el.get(W_VAL))
    return num_id, ilvl


def _outline(ppr: etree._Element | None) -> int | None:
    if ppr is None:
        return None
    el = ppr.find(w("outlineLvl"))
    return None if el is None else _int(el.get(W_VAL))


_HEADING_NAME = re.compile(r"heading\s*([1-9])$")


class _Styles:
    def __init__(self, root: etree._Element | None):
        self._styles: dict[str, _Style] = {}
        self.default: str | None = None
        if root is None:
            return
        for style in root.iterchildren(w("style")):
            if style.get(w("type"), "paragraph") != "paragraph":
                continue
            sid = style.get(w("styleId"))
            if sid is None:
                continue
            name_el = style.find(w("name"))
            based_el = style.find(w("basedOn"))
            ppr = style.find(W_PPR)
            num_id, ilvl = _num_pr(ppr)
            self._styles[sid] = _Style(
                name=(name_el.get(W_VAL, "") if name_el is not None else sid).strip().lower(),
                based_on=None if based_el is None else based_el.get(W_VAL),
                outline=_outline(ppr),
                num_id=num_id,
                ilvl=ilvl,
                indent=left_indent(ppr),
            )
            if style.get(w("default")) in ("1", "true", "on"):
                self.default = sid

    def num_ids(self) -> dict[str, str]:
        return {sid: s.num_id for sid, s in self._styles.items() if s.num_id}

    def indent(self, sid: str | None) -> int | None:
        """The left indent the style (or one it is based on) gives its paragraphs."""
        for _, style in self.chain(sid):
            if style.indent is not None:
                return style.indent
        return None

    def chain(self, sid: str | None) -> Iterable[tuple[str, _Style]]:
        seen: set[str] = set()
        current = sid if sid in self._styles else self.default
        while current is not None and current not in seen and current in self._styles:
            seen.add(current)
            style = self._styles[current]
            yield current, style
            current = style.based_on
