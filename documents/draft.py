"""Parse an uploaded draft (.docx) into sections and clauses.

A *section* starts at every heading paragraph (a "Heading N" style or a paragraph with
an outline level). A *clause* starts at every numbered paragraph or list item, whether
the number comes from Word's automatic numbering (numbering.xml) or is typed at the
start of the text ("2.3.1", "a)", "(iii)", "•"). Unnumbered paragraphs that follow a
clause are continuation text of that clause; unnumbered paragraphs between a heading
and the first clause of its section become clauses of their own ("3.p1", "3.p2"...).

Each clause gets a stable, hierarchical reference ("2.3.a.iii") that participants type
to comment on it; :func:`normalise_ref` turns what they type into that form.

The module is pure: bytes in, plain data out.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from lxml import etree

from ._ooxml import (
    W_PPR,
    W_VAL,
    iter_block_paragraphs,
    paragraph_text,
    w,
)

__all__ = [
    "DraftError",
    "NotAWordDocument",
    "DraftTooLarge",
    "NoStructure",
    "ParsedClause",
    "ParsedSection",
    "ParsedDraft",
    "parse_draft",
    "normalise_ref",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# A .docx is a zip archive; refuse archives that would expand to much more than any
# real draft (a "zip bomb" would otherwise exhaust memory while being parsed).
_EXPANSION_FACTOR = 20


# --------------------------------------------------------------------------- errors


class DraftError(ValueError):
    """The uploaded file cannot be used as a draft. ``str(error)`` is shown to the user."""


class NotAWordDocument(DraftError):
    """The file is not a readable Word (.docx) document."""


class DraftTooLarge(DraftError):
    """The file is larger than the configured limit."""


class NoStructure(DraftError):
    """The document has no headings and no numbered paragraphs to split it into clauses."""


# ---------------------------------------------------------------------- result types


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


# ------------------------------------------------------------------ ref normalising

_REF_PREFIX = re.compile(
    r"^(?:clauses?|cl\.|paragraphs?|paras?\.?|articles?|art\.|sections?|sec\.|§|no\.|#)\s*"
)
_REF_PARENS = re.compile(r"\(([^()]*)\)")
_REF_SEPARATORS = re.compile(r"[\s()\[\]/,;:]+")
_REF_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[a-z])")
_REF_DOTS = re.compile(r"\.{2,}")


def normalise_ref(text: str) -> str:
    """Canonical clause reference for what a user typed.

    ``"2.3(a)"``, ``"2.3 a"``, ``"2.3.A"``, ``" 2.3.a. "`` and ``"clause 2.3a"`` all
    become ``"2.3.a"``; ``"(iii)"`` becomes ``"iii"``.
    """
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = s.replace("\u2013", "-").replace("\u2014", "-").replace("\u2011", "-")
    s = _REF_PREFIX.sub("", s)
    s = _REF_PARENS.sub(r".\1.", s)
    s = _REF_SEPARATORS.sub(".", s)
    s = _REF_DIGIT_LETTER.sub(".", s)
    s = _REF_DOTS.sub(".", s)
    return s.strip(".")


# ------------------------------------------------------------- container checks


def _megabytes(n: float) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 10 or mb == int(mb) else f"{mb:.1f} MB"


_SAVE_AS_DOCX = "Please save it as a Word document (.docx) and upload that file."


def _check_container(data: bytes, max_bytes: int) -> None:
    if not data:
        raise NotAWordDocument("The file is empty. " + _SAVE_AS_DOCX)
    if len(data) > max_bytes:
        raise DraftTooLarge(
            f"The file is {_megabytes(len(data))}, which is over the limit of "
            f"{_megabytes(max_bytes)} for a draft. Please remove large images or "
            "attachments from the document and upload it again."
        )
    if data.startswith(b"%PDF"):
        raise NotAWordDocument(
            "This file is a PDF, not a Word document. Comments are collected on the "
            "editable draft: " + _SAVE_AS_DOCX
        )
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise NotAWordDocument(
            "This file is an older Word 97-2003 document (.doc) or a password-protected "
            "file. Please remove any password, save it as a Word document (.docx) and "
            "upload that file."
        )
    if data.startswith(b"{\\rtf"):
        raise NotAWordDocument("This file is in Rich Text Format (.rtf). " + _SAVE_AS_DOCX)
    if not data.startswith(b"PK"):
        raise NotAWordDocument("This file is not a Word document. " + _SAVE_AS_DOCX)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise NotAWordDocument(
            "This file looks like a Word document but it is damaged or incomplete "
            "(perhaps the upload was cut short). Please open it in Word, save it again "
            "as .docx and upload the new file."
        ) from exc
    names = {info.filename for info in infos}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        if "xl/workbook.xml" in names:
            kind = "an Excel workbook"
        elif "ppt/presentation.xml" in names:
            kind = "a PowerPoint presentation"
        elif "mimetype" in names and "content.xml" in names:
            kind = "an OpenDocument file (for example .odt)"
        else:
            kind = "a ZIP archive"
        raise NotAWordDocument(f"This file is {kind}, not a Word document. " + _SAVE_AS_DOCX)
    expanded = sum(info.file_size for info in infos)
    if expanded > _EXPANSION_FACTOR * max_bytes:
        raise DraftTooLarge(
            f"The document expands to {_megabytes(expanded)} when opened, which is more "
            f"than a draft of at most {_megabytes(max_bytes)} should. Please remove large "
            "embedded objects and upload it again."
        )


def _load(data: bytes) -> docx.document.Document:
    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises a variety of errors for bad packages
        message = str(exc)
        if "content type" in message and ("macroEnabled" in message or "template" in message):
            raise NotAWordDocument(
                "This file is a Word template or a macro-enabled document. " + _SAVE_AS_DOCX
            ) from exc
        raise NotAWordDocument(
            "This file could not be read as a Word document: it may be damaged or in a "
            "different format. Please open it in Word, save it again as .docx and upload "
            "the new file."
        ) from exc


# ------------------------------------------------------------------------ helpers


def _int(value: str | None, default: int | None = None) -> int | None:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        try:
            return int(float(value))
        except ValueError:
            return default


_ROMAN_VALUES = ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def _to_roman(n: int) -> str:
    if n <= 0 or n >= 4000:
        return str(n)
    out = []
    for value, numeral in (
        (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
        (50, "l"), (40, "xl"),
    ) + _ROMAN_VALUES:
        while n >= value:
            out.append(numeral)
            n -= value
    return "".join(out)


# Typed roman numerals are accepted up to 39 and only with the letters i, v and x:
# "c)", "d)", "l)" and "m)" are list letters in practice, not 100, 500, 50, 1000.
_ROMANS = {_to_roman(n): n for n in range(1, 40)}


def _to_letters(n: int) -> str:
    """Word's letter numbering: a..z, then aa..zz, aaa..."""
    if n <= 0:
        return str(n)
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _letters_value(token: str) -> int | None:
    low = token.lower()
    if not low.isascii() or not low.isalpha() or len(set(low)) != 1 or len(low) > 3:
        return None
    return (len(low) - 1) * 26 + ord(low[0]) - ord("a") + 1


# ---------------------------------------------------------------------- numbering


@dataclass
class _Level:
    fmt: str
    text: str
    start: int
    restart: int | None
    is_lgl: bool
    pstyle: str | None


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
    )


@dataclass
class _AutoNumber:
    label: str
    fmt: str
    value: int
    instance: object
    ilvl: int


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

    def _definition(self, num_id: str):
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
                value = counters[i] if counters[i] is not None else start_of(i)
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


# ------------------------------------------------------------------------- styles


@dataclass
class _Style:
    name: str  # lower case
    based_on: str | None
    outline: int | None
    num_id: str | None
    ilvl: int | None


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
            )
            if style.get(w("default")) in ("1", "true", "on"):
                self.default = sid

    def num_ids(self) -> dict[str, str]:
        return {sid: s.num_id for sid, s in self._styles.items() if s.num_id}

    def chain(self, sid: str | None) -> Iterable[tuple[str, _Style]]:
        seen: set[str] = set()
        current = sid if sid in self._styles else self.default
        while current is not None and current not in seen and current in self._styles:
            seen.add(current)
            style = self._styles[current]
            yield current, style
            current = style.based_on


# ------------------------------------------------------------------------ markers

_BULLET_CHARS = "\u2022\u25e6\u25aa\u25ab\u2023\u2043\u2219\u00b7\u25cf\u25cb\u25a0\u25a1\u27a2\u2713\u2714\u2212*\\-\u2013\u2014"
_TYPED = re.compile(
    r"""
    (?:
        (?P<dotted>\d{1,3}(?:\.\d{1,3}){1,5})(?P<dot>\.)?
      | (?P<num>\d{1,3})(?P<nump>[.)])
      | \((?P<pnum>\d{1,3})\)
      | \((?P<palpha>[A-Za-z]{1,6})\)
      | (?P<alpha>[A-Za-z]{1,6})(?P<alphap>[.)])
      | (?P<bullet>["""
    + _BULLET_CHARS
    + r"""])
    )
    (?P<sep>\s+)
    (?P<rest>.*)
    """,
    re.X | re.S,
)
# The displayed text of an automatic number ("2.1.", "a)", "(iv)", "1.a").
_AUTO_LABEL = re.compile(
    r"""
    (?:
        (?P<dotted>\d{1,4}(?:\.(?:\d{1,4}|[A-Za-z]{1,6})){1,8})\.?
      | (?P<num>\d{1,4})[.)]?
      | \((?P<pnum>\d{1,4})\)
      | \((?P<palpha>[A-Za-z]{1,6})\)
      | (?P<alpha>[A-Za-z]{1,6})[.)]?
    )
    """,
    re.X,
)


@dataclass
class _Marker:
    kind: str  # "dotted" | "number" | "letter" | "roman" | "bullet"
    label: str
    parts: tuple[str, ...]  # dotted: components; otherwise the single ref token
    value: int
    shape: str  # ".", ")", "()" or a bullet character
    upper: bool
    text: str  # paragraph text after the number
    auto: tuple[object, int] | None = None  # (list instance, ilvl) for automatic numbers
    ambiguous: bool = False  # typed single i / v / x that may be a letter
    relative: bool = False  # a bare number that hangs under the preceding clause

    @property
    def key(self) -> tuple:
        if self.auto is not None:
            return ("auto", self.auto[0], self.auto[1])
        if self.kind == "bullet":
            return ("bullet", self.shape)
        return (self.kind, self.shape, self.upper)


def _alpha_marker(token: str, shape: str, label: str, text: str) -> _Marker | None:
    if token != token.lower() and token != token.upper():
        return None
    low = token.lower()
    roman = _ROMANS.get(low)
    if roman is not None:
        return _Marker(
            "roman", label, (low,), roman, shape, token.isupper(), text, ambiguous=len(low) == 1
        )
    letters = _letters_value(low)
    if letters is not None and len(low) <= 2:
        return _Marker("letter", label, (low,), letters, shape, token.isupper(), text)
    return None


def _typed_marker(text: str) -> _Marker | None:
    """The number typed at the start of ``text`` (already left-stripped), if any."""
    m = _TYPED.match(text)
    if m is None:
        return None
    rest = m.group("rest").strip()
    label = text[: m.start("sep")]
    if m.group("dotted"):
        # "2.5 million people..." is prose, "2.5 Member States shall..." is a clause.
        if not m.group("dot") and "\t" not in m.group("sep") and rest[:1].islower():
            return None
        parts = tuple(str(int(p)) for p in m.group("dotted").split("."))
        return _Marker("dotted", label, parts, int(parts[-1]), ".", False, rest)
    if m.group("num"):
        value = int(m.group("num"))
        shape = m.group("nump")
        return _Marker(
            "number", label, (str(value),), value, shape, False, rest, relative=shape == ")"
        )
    if m.group("pnum"):
        value = int(m.group("pnum"))
        return _Marker("number", label, (str(value),), value, "()", False, rest, relative=True)
    if m.group("palpha"):
        return _alpha_marker(m.group("palpha"), "()", label, rest)
    if m.group("alpha"):
        return _alpha_marker(m.group("alpha"), m.group("alphap"), label, rest)
    return _Marker("bullet", label, ("",), 0, m.group("bullet"), False, rest)


def _auto_marker(auto: _AutoNumber, text: str) -> _Marker:
    where = (auto.instance, auto.ilvl)
    if auto.fmt == "bullet":
        return _Marker("bullet", "\u2022", ("",), 0, "\u2022", False, text, auto=where)
    label = auto.label
    m = _AUTO_LABEL.fullmatch(label)
    if m is not None:
        if m.group("dotted"):
            parts = tuple(
                str(int(p)) if p.isdigit() else p.lower() for p in m.group("dotted").split(".")
            )
            return _Marker("dotted", label, parts, auto.value, ".", False, text, auto=where)
        number = m.group("num") or m.group("pnum")
        if number:
            return _Marker(
                "number", label, (str(int(number)),), auto.value, ".", False, text, auto=where
            )
        token = m.group("palpha") or m.group("alpha")
        low = token.lower()
        if auto.fmt in ("lowerRoman", "upperRoman") or (
            auto.fmt not in ("lowerLetter", "upperLetter") and low in _ROMANS
        ):
            kind = "roman"
        else:
            kind = "letter"
        return _Marker(kind, label, (low,), auto.value, "", token.isupper(), text, auto=where)
    # A label with words around the number ("Article 3", "Step 2:"): use the level's own
    # counter as the reference token.
    if auto.fmt in ("lowerLetter", "upperLetter"):
        kind, token = "letter", _to_letters(auto.value)
    elif auto.fmt in ("lowerRoman", "upperRoman"):
        kind, token = "roman", _to_roman(auto.value)
    else:
        kind, token = "number", str(auto.value)
    return _Marker(kind, label, (token,), auto.value, "", False, text, auto=where)


_HEADING_NUMBER = re.compile(r"(\d{1,3}(?:\.\d{1,3}){0,5})(\.|\))?(\s+)(.*)", re.S)


def _heading_number(text: str) -> tuple[tuple[str, ...] | None, str]:
    """Split "2.1 Coverage" into (("2", "1"), "Coverage")."""
    m = _HEADING_NUMBER.match(text)
    if m is None:
        return None, text
    number, punct, sep, rest = m.groups()
    if "." not in number and not punct and "\t" not in sep:
        return None, text  # "100 Days of Action" is a title, not a number
    if not rest.strip():
        return None, text
    return tuple(str(int(p)) for p in number.split(".")), rest.strip()


# ------------------------------------------------------------------ clause building


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


class _SectionBuilder:
    def __init__(self, section_parts: tuple[str, ...], used_refs: set[str]):
        self.section = section_parts
        self.used = used_refs
        self.clauses: list[_Open] = []
        self.stack: list[_Open] = []
        self.bullets: dict[str, int] = {}
        self.numbered_seen = False

    def _unique(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        ref = ".".join(parts)
        if ref not in self.used:
            self.used.add(ref)
            return parts
        n = 2
        while f"{ref}-{n}" in self.used:
            n += 1
        self.used.add(f"{ref}-{n}")
        return parts[:-1] + (f"{parts[-1]}-{n}",)

    def _push(self, parts: tuple[str, ...], level: int, marker: _Marker) -> _Open:
        clause = _Open(self._unique(parts), level, marker)
        self.clauses.append(clause)
        self.stack.append(clause)
        return clause

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

    def _find_sibling(self, key: tuple) -> int | None:
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
            "letter", marker.label, (low,), _letters_value(low) or 0, marker.shape,
            marker.upper, marker.text,
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


def _is_proper_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return len(a) < len(b) and b[: len(a)] == a


# -------------------------------------------------------------------------- parser


@dataclass
class _Heading:
    index: int
    level: int
    number: tuple[str, ...] | None
    text: str
    paras: list[_Para] = field(default_factory=list)


_ROLE_SKIP_NAMES = ("subtitle", "toc heading")


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
            numbering_root = part.part_related_by(RT.NUMBERING).element
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
            for style_id, style in self.styles.chain(sid):
                if style.num_id is not None:
                    num_id = style.num_id
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

    # -- main pass --------------------------------------------------------------------

    def run(self) -> ParsedDraft:
        body = self.document.element.body
        title_parts: list[str] = []
        front: list[_Para] = []
        headings: list[_Heading] = []
        any_marker = False
        index = -1
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
            if role == "title":
                if not headings:
                    title_parts.append(" ".join(stripped.split()))
                continue
            if role == "heading":
                number = None
                heading_text = stripped
                if auto is not None and auto.label:
                    marker = _auto_marker(auto, stripped)
                    if marker.kind in ("dotted", "number") and all(
                        part.isdigit() for part in marker.parts
                    ):
                        number = marker.parts
                else:
                    number, heading_text = _heading_number(stripped)
                headings.append(_Heading(index, level, number, " ".join(heading_text.split())))
                continue
            if auto is not None and auto.label:
                marker = _auto_marker(auto, stripped)
            else:
                marker = _typed_marker(stripped)
            any_marker = any_marker or marker is not None
            para = _Para(index, text, marker)
            (headings[-1].paras if headings else front).append(para)

        if not headings and not any_marker:
            raise NoStructure(_NO_STRUCTURE)

        used: set[str] = set()
        sections: list[ParsedSection] = []
        if front and (not headings or any(p.marker is not None for p in front)):
            clauses = _build_clauses((), front, used)
            sections.append(ParsedSection("", "", 0, clauses[0].paragraphs[0], clauses))

        section_refs = _section_refs(headings)
        for heading, ref in zip(headings, section_refs):
            parts = tuple(ref.split("."))
            clauses = _build_clauses(parts, heading.paras, used)
            sections.append(ParsedSection(ref, heading.text, heading.level, heading.index, clauses))

        if not any(section.clauses for section in sections):
            raise NoStructure(_NO_STRUCTURE)

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


def _build_clauses(
    section: tuple[str, ...], paras: list[_Para], used: set[str]
) -> tuple[ParsedClause, ...]:
    builder = _SectionBuilder(section, used)
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
    used: set[str] = set()
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
        if ref in used:
            n = 2
            while f"{ref}-{n}" in used:
                n += 1
            ref = f"{ref}-{n}"
        used.add(ref)
        refs.append(ref)
    return refs


# -------------------------------------------------------------------------- entry


def parse_draft(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDraft:
    """Parse the bytes of an uploaded .docx into its sections and clauses.

    Raises :class:`NotAWordDocument`, :class:`DraftTooLarge` or :class:`NoStructure`
    (all :class:`DraftError`) with a message meant for the uploader.
    """
    _check_container(data, max_bytes)
    document = _load(data)
    return _Parser(document).run()
