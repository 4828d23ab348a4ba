"""WordprocessingML written as text.

The consolidator writes most of what it adds (comments, matrix rows, the cover) as XML
text: building thousands of elements through the Python API costs far more than writing
the same markup as strings. Every piece of user text goes through :func:`lines` or
:func:`attr`, which remove the characters XML 1.0 forbids and escape the rest, so the
markup is well-formed whatever the comments contain.
"""

from __future__ import annotations

import re

from docx.oxml.parser import parse_xml
from lxml import etree

from ._ooxml import W_NS, sanitize_xml_text

W_DECL = f'xmlns:w="{W_NS}"'

_LINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029")


def escape(text: str) -> str:
    """``text`` escaped for element content (a few times faster than a translate table
    on text that, like most comments, needs no escaping)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def attr(s: str) -> str:
    """``s`` as an attribute value: cleaned, whitespace collapsed, escaped."""
    s = " ".join(sanitize_xml_text(s).split())
    return escape(s).replace('"', "&quot;") if '"' in s else escape(s)


def lines(s: str | None) -> list[str]:
    """The lines of ``s``, cleaned of XML-forbidden characters and stripped at both ends."""
    if not s:
        return []
    s = sanitize_xml_text(s).strip()
    if not s:
        return []
    if "\n" in s or "\r" in s or "\u2028" in s or "\u2029" in s:
        return _LINES.split(s)
    return [s]


def t(text: str) -> str:
    # xml:space="preserve" only where leading or trailing spaces would otherwise be lost
    # (one attribute less per element matters at tens of thousands of table cells).
    if text[:1].isspace() or text[-1:].isspace():
        return f'<w:t xml:space="preserve">{escape(text)}</w:t>'
    return f"<w:t>{escape(text)}</w:t>"


def run_content(line: str) -> str:
    """``w:t`` elements for one line of text, tabs as ``w:tab``."""
    if "\t" not in line:
        return t(line)
    return "<w:tab/>".join(t(part) if part else "" for part in line.split("\t"))


def lines_content(text_lines: list[str]) -> str:
    """Run content for several lines, separated by line breaks."""
    return "<w:br/>".join(run_content(line) for line in text_lines)


def field_runs(instruction: str, rpr: str) -> str:
    """A complex field (``PAGE``, ``NUMPAGES``) with "1" as its last known result, its runs
    in ``rpr`` (a ``w:rPr``'s XML, or "")."""
    return (
        f'<w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r>{rpr}<w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>'
        f'<w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r>'
        f"<w:r>{rpr}<w:t>1</w:t></w:r>"
        f'<w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r>'
    )


def paragraph(
    text: str,
    style: str | None = None,
    *,
    bold: bool = False,
    size: int = 0,
    ppr_extra: str = "",
) -> str:
    """A paragraph of one run. ``ppr_extra`` is paragraph properties written after the
    style (in schema order, e.g. ``<w:spacing/>`` before ``<w:jc/>``)."""
    style_el = f'<w:pStyle w:val="{attr(style)}"/>' if style else ""
    ppr = f"<w:pPr>{style_el}{ppr_extra}</w:pPr>" if (style_el or ppr_extra) else ""
    props = ("<w:b/>" if bold else "") + (f'<w:sz w:val="{size}"/>' if size else "")
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    content = lines_content(lines(text) or [""])
    return f"<w:p>{ppr}<w:r>{rpr}{content}</w:r></w:p>"


def parse_children(tag: str, xml: str, declarations: str = "") -> list[etree._Element]:
    """Parse ``xml`` (a sequence of w: elements) and return its top-level elements.
    ``declarations`` binds further prefixes the markup uses (``xmlns:w14="..."``)."""
    return list(parse_xml(f"<w:{tag} {W_DECL}{' ' + declarations if declarations else ''}>{xml}</w:{tag}>"))
