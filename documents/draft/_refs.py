"""Clause references as participants type them, and their canonical form."""

from __future__ import annotations

import re
import unicodedata

_REF_PREFIX = re.compile(r"^(?:clauses?|cl\.|paragraphs?|paras?\.?|articles?|art\.|sections?|sec\.|§|no\.|#)\s*")
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
