"""Small WordprocessingML helpers shared by the parser, the sample and the consolidator.

Everything here works on lxml elements of a document loaded by python-docx; nothing
touches the file system or the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
XML_NS = "http://www.w3.org/XML/1998/namespace"


def w(tag: str) -> str:
    """Clark name of a tag in the main WordprocessingML namespace: ``w("p")``."""
    return f"{{{W_NS}}}{tag}"


W_P = w("p")
W_R = w("r")
W_T = w("t")
W_TBL = w("tbl")
W_SDT = w("sdt")
W_PPR = w("pPr")
W_VAL = w("val")
W_ID = w("id")
XML_SPACE = f"{{{XML_NS}}}space"

# Children of a paragraph or run whose text never shows in the paragraph body:
# properties, deleted or moved-away text, text boxes and drawings (which hold their
# own paragraphs), field instructions and the fallback branch of alternate content.
_TEXT_SKIP = frozenset(
    {
        w("pPr"),
        w("rPr"),
        w("del"),
        w("moveFrom"),
        w("drawing"),
        w("pict"),
        w("object"),
        w("instrText"),
        w("delText"),
        w("delInstrText"),
        w("footnoteReference"),
        w("endnoteReference"),
        w("commentReference"),
        w("annotationRef"),
        w("txbxContent"),
        f"{{{MC_NS}}}AlternateContent",
    }
)
_TEXT_TAB = frozenset({w("tab"), w("ptab")})
_TEXT_BREAK = frozenset({w("br"), w("cr")})
_NO_BREAK_HYPHEN = w("noBreakHyphen")


def paragraph_text(p: etree._Element) -> str:
    """The visible text of a paragraph, including hyperlinks, inserted text and fields.

    Tabs become ``\\t`` and line breaks ``\\n`` (page and column breaks add nothing), as
    python-docx does for ``Paragraph.text``.
    """
    parts: list[str] = []
    _collect_text(p, parts)
    return "".join(parts)


def _collect_text(element: etree._Element, parts: list[str]) -> None:
    for child in element:
        tag = child.tag
        if tag == W_T:
            if child.text:
                parts.append(child.text)
        elif tag in _TEXT_SKIP or not isinstance(tag, str):
            continue
        elif tag in _TEXT_TAB:
            parts.append("\t")
        elif tag in _TEXT_BREAK:
            kind = child.get(w("type"))
            if kind is None or kind == "textWrapping":
                parts.append("\n")
        elif tag == _NO_BREAK_HYPHEN:
            parts.append("-")
        else:
            _collect_text(child, parts)


def body_paragraphs(body: etree._Element) -> list[etree._Element]:
    """The top-level ``w:p`` children of ``w:body``, in the order of ``Document.paragraphs``."""
    return [child for child in body if child.tag == W_P]


def iter_block_paragraphs(body: etree._Element) -> Iterator[tuple[etree._Element, bool]]:
    """Every paragraph of the body in reading order, as ``(p, is_top_level)``.

    Paragraphs nested in tables and content controls are included (they advance list
    counters just like top-level ones) but flagged as not top-level.
    """
    for child in body:
        tag = child.tag
        if tag == W_P:
            yield child, True
        elif tag in (W_TBL, W_SDT):
            for p in child.iter(W_P):
                yield p, False


_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _join_pair(match: re.Match[str]) -> str:
    pair = match.group(0)
    high, low = pair[0], pair[1]
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def sanitize_xml_text(s: str) -> str:
    """Remove the characters XML 1.0 does not allow, keeping everything else.

    C0 control characters other than tab, line feed and carriage return, U+FFFE, U+FFFF
    and unpaired surrogates are dropped. A high/low surrogate pair that arrived as two
    code points (e.g. from a UTF-16 source) is joined into the character it encodes, so
    emoji survive. Right-to-left text and all other characters pass through unchanged.
    """
    if not s:
        return s
    if _INVALID_XML_CHARS.search(s) is None:
        return s
    s = _SURROGATE_PAIR.sub(_join_pair, s)
    return _INVALID_XML_CHARS.sub("", s)


def style_names(styles_root: etree._Element) -> dict[str, str]:
    """Map of style id to style name (as written in styles.xml) for every style."""
    names: dict[str, str] = {}
    for style in styles_root.iterchildren(w("style")):
        sid = style.get(w("styleId"))
        if sid is None:
            continue
        name_el = style.find(w("name"))
        names[sid] = name_el.get(W_VAL, sid) if name_el is not None else sid
    return names
