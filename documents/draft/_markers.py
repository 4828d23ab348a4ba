"""Clause numbers: typed at the start of a paragraph or displayed by Word's numbering."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._numbering import _AutoNumber
from ._numerals import _ROMANS, _letters_value, _to_letters, _to_roman

_BULLET_CHARS = (
    "\u2022\u25e6\u25aa\u25ab\u2023\u2043\u2219\u00b7\u25cf\u25cb\u25a0\u25a1\u27a2\u2713\u2714\u2212*\\-\u2013\u2014"
)
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
    re.VERBOSE | re.DOTALL,
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
    re.VERBOSE,
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
    indent: int = 0  # the paragraph's left indent, in twips

    @property
    def key(self) -> tuple[object, ...]:
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
        return _Marker("roman", label, (low,), roman, shape, token.isupper(), text, ambiguous=len(low) == 1)
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
        return _Marker("number", label, (str(value),), value, shape, False, rest, relative=shape == ")")
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
            parts = tuple(str(int(p)) if p.isdigit() else p.lower() for p in m.group("dotted").split("."))
            return _Marker("dotted", label, parts, auto.value, ".", False, text, auto=where)
        number = m.group("num") or m.group("pnum")
        if number:
            return _Marker("number", label, (str(int(number)),), auto.value, ".", False, text, auto=where)
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


_HEADING_NUMBER = re.compile(r"(\d{1,3}(?:\.\d{1,3}){0,5})(\.|\))?(\s+)(.*)", re.DOTALL)


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
