"""Word's automatic numbering (numbering.xml), simulated paragraph by paragraph."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .._ooxml import W_VAL, w
from ._numerals import _int, _to_letters, _to_roman


@dataclass
class _Level:
    fmt: str
    text: str
    start: int
    restart: int | None
    is_lgl: bool
    pstyle: str | None
    indent: int | None  # left indent of the level's paragraphs, in twips


def _read_level(lvl: etree._Element) -> tuple[int, _Level]:
    def val(tag: str) -> str | None:
        el = lvl.find(w(tag))
        return None if el is None else el.get(W_VAL)

    ilvl = _int(lvl.get(w("ilvl")), 0) or 0
    fmt = val("numFmt") or "decimal"
    text_el = lvl.find(w("lvlText"))
    text = "" if text_el is None else (text_el.get(W_VAL) or "")
    is_lgl_el = lvl.find(w("isLgl"))
    is_lgl = is_lgl_el is not None and is_lgl_el.get(W_VAL, "1") not in ("0", "false", "off")
    return ilvl, _Level(
        fmt=fmt,
        text=text,
        start=_int(val("start"), 1) or 0,
        restart=_int(val("lvlRestart")),
        is_lgl=is_lgl,
        pstyle=val("pStyle"),
        indent=left_indent(lvl.find(w("pPr"))),
    )


def left_indent(ppr: etree._Element | None) -> int | None:
    """The left (start) indent of paragraph properties, in twips, if they set one."""
    if ppr is None:
        return None
    ind = ppr.find(w("ind"))
    if ind is None:
        return None
    return _int(ind.get(w("left")) or ind.get(w("start")))


@dataclass
class _AutoNumber:
    label: str
    fmt: str
    value: int
    instance: object
    ilvl: int
    indent: int | None = None


class _Numbering:
    """Simulates Word's list counters over numbering.xml, paragraph by paragraph."""

    def __init__(self, root: etree._Element | None, style_num_ids: dict[str, str]):
        self._abstracts: dict[str, dict[int, _Level]] = {}
        self._style_links: dict[str, str] = {}
        self._nums: dict[str, tuple[str, dict[int, int], dict[int, _Level]]] = {}
        self._style_num_ids = style_num_ids
        self._counters: dict[object, list[int | None]] = {}
        if root is None:
            return
        for abstract in root.iterchildren(w("abstractNum")):
            aid = abstract.get(w("abstractNumId"))
            if aid is None:
                continue
            levels = dict(_read_level(lvl) for lvl in abstract.iterchildren(w("lvl")))
            self._abstracts[aid] = levels
            link = abstract.find(w("numStyleLink"))
            if link is not None and link.get(W_VAL):
                self._style_links[aid] = link.get(W_VAL)
        for num in root.iterchildren(w("num")):
            num_id = num.get(w("numId"))
            abstract_ref = num.find(w("abstractNumId"))
            if num_id is None or abstract_ref is None:
                continue
            starts: dict[int, int] = {}
            replaced: dict[int, _Level] = {}
            for override in num.iterchildren(w("lvlOverride")):
                ilvl = _int(override.get(w("ilvl")), 0) or 0
                start = override.find(w("startOverride"))
                if start is not None:
                    value = _int(start.get(W_VAL))
                    if value is not None:
                        starts[ilvl] = value
                lvl = override.find(w("lvl"))
                if lvl is not None:
                    replaced[ilvl] = _read_level(lvl)[1]
            self._nums[num_id] = (abstract_ref.get(W_VAL) or "", starts, replaced)

    def _resolve_abstract(self, aid: str) -> str:
        """Follow ``numStyleLink`` to the abstract definition that holds the levels."""
        for _ in range(5):
            style = self._style_links.get(aid)
            if style is None:
                return aid
            num_id = self._style_num_ids.get(style)
            num = self._nums.get(num_id) if num_id else None
            if num is None or num[0] == aid:
                return aid
            aid = num[0]
        return aid

    def _definition(self, num_id: str) -> tuple[str, dict[int, _Level], dict[int, int], object] | None:
        num = self._nums.get(num_id)
        if num is None:
            return None
        aid = self._resolve_abstract(num[0])
        levels = dict(self._abstracts.get(aid, {}))
        starts, replaced = num[1], num[2]
        levels.update(replaced)
        instance: object = ("num", num_id) if (starts or replaced) else ("abstract", aid)
        return aid, levels, starts, instance

    def ilvl_for_style(self, num_id: str, style_id: str) -> int | None:
        definition = self._definition(num_id)
        if definition is None:
            return None
        for ilvl, level in definition[1].items():
            if level.pstyle == style_id:
                return ilvl
        return None

    def advance(self, num_id: str, ilvl: int) -> _AutoNumber | None:
        """Count one paragraph of list ``num_id`` at level ``ilvl``; its displayed number."""
        definition = self._definition(num_id)
        if definition is None:
            return None
        _, levels, starts, instance = definition
        level = levels.get(ilvl)
        if level is None:
            return None
        counters = self._counters.get(instance)
        if counters is None:
            counters = self._counters[instance] = [None] * 9

        def start_of(i: int) -> int:
            if i in starts:
                return starts[i]
            lv = levels.get(i)
            return lv.start if lv is not None else 1

        if not 0 <= ilvl < 9:
            return None
        current = counters[ilvl]
        counters[ilvl] = start_of(ilvl) if current is None else current + 1
        for deeper in range(ilvl + 1, 9):
            lv = levels.get(deeper)
            restart = lv.restart if lv is not None else None
            if restart is None or (restart != 0 and ilvl < restart):
                counters[deeper] = None

        if level.fmt == "bullet":
            label = "\u2022"
        elif level.fmt == "none":
            label = ""  # counted, but nothing is displayed: the paragraph reads as unnumbered
        else:

            def render(match: re.Match[str]) -> str:
                i = int(match.group(1)) - 1
                counted = counters[i]
                value = counted if counted is not None else start_of(i)
                lv = levels.get(i)
                fmt = "decimal" if (level.is_lgl and i < ilvl) or lv is None else lv.fmt
                return _format_number(value, fmt)

            label = _PLACEHOLDER.sub(render, level.text)
        return _AutoNumber(
            label=label.strip(),
            fmt=level.fmt,
            value=counters[ilvl] or 0,
            instance=instance,
            ilvl=ilvl,
            indent=level.indent,
        )


_PLACEHOLDER = re.compile(r"%([1-9])")


def _format_number(value: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return _to_letters(value)
    if fmt == "upperLetter":
        return _to_letters(value).upper()
    if fmt == "lowerRoman":
        return _to_roman(value)
    if fmt == "upperRoman":
        return _to_roman(value).upper()
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt in ("bullet", "none"):
        return ""
    return str(value)
