"""Reading the outputs back as plain zip and XML, for the documents tests."""

from __future__ import annotations

import io
import zipfile

from lxml import etree

from .builders import w

COVER_TAG = "clausebot-cover"


def part(data: bytes, name: str = "word/document.xml") -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read(name))


def text_of(element: etree._Element) -> str:
    """Visible text of a paragraph or cell: w:t, tabs and line breaks (not deleted text)."""
    parts = []
    for el in element.iter(w("t"), w("tab"), w("br")):
        if el.tag == w("t"):
            parts.append(el.text or "")
        elif el.tag == w("tab"):
            parts.append("\t")
        elif el.get(w("type")) in (None, "textWrapping"):
            parts.append("\n")
    return "".join(parts)


def cover(data: bytes) -> etree._Element:
    """The cover content control, which must be the first element of the body."""
    body = part(data).find(w("body"))
    sdt = body[0]
    assert sdt.tag == w("sdt")
    assert sdt.find(f"{w('sdtPr')}/{w('tag')}").get(w("val")) == COVER_TAG
    return sdt


def cover_content(data: bytes) -> etree._Element:
    return cover(data).find(w("sdtContent"))


def cover_paragraphs(data: bytes) -> list[tuple[str | None, str]]:
    """(style id, text) of the cover's own paragraphs (not those in its tables)."""
    out = []
    for p in cover_content(data).iterchildren(w("p")):
        style = p.find(f"{w('pPr')}/{w('pStyle')}")
        out.append((None if style is None else style.get(w("val")), text_of(p)))
    return out


def table_rows(table: etree._Element) -> list[list[str]]:
    return [[text_of(tc) for tc in tr.iterchildren(w("tc"))] for tr in table.iterchildren(w("tr"))]


def cover_table_after(data: bytes, heading: str) -> list[list[str]]:
    """The rows of the first cover table that follows the paragraph ``heading``."""
    seen = False
    for child in cover_content(data):
        if child.tag == w("p") and text_of(child) == heading:
            seen = True
        elif seen and child.tag == w("tbl"):
            return table_rows(child)
    raise AssertionError(f"no table after {heading!r}")


def resolved(data: bytes, *, accept: bool) -> bytes:
    """``data`` with every tracked change accepted (or rejected): text inserted kept (or
    dropped), text deleted dropped (or kept), and a paragraph whose mark goes joined with
    the paragraph after it, keeping its own properties (as LibreOffice does)."""
    import docx

    document = docx.Document(io.BytesIO(data))
    body = document.element.body
    gone, kept = (w("del"), w("ins")) if accept else (w("ins"), w("del"))
    for revision in list(body.iter(w("ins"), w("del"))):
        parent = revision.getparent()
        if parent.tag == w("rPr"):
            continue
        if revision.tag == kept:
            for text in revision.iter(w("delText")):
                text.tag = w("t")
            for child in list(revision):
                revision.addprevious(child)
        parent.remove(revision)
    for p in reversed(list(body.iter(w("p")))):
        mark_gone = p.find(f"{w('pPr')}/{w('rPr')}/{gone}")
        mark_kept = p.find(f"{w('pPr')}/{w('rPr')}/{kept}")
        if mark_kept is not None:
            mark_kept.getparent().remove(mark_kept)
        if mark_gone is None:
            continue
        mark_gone.getparent().remove(mark_gone)
        following = p.getnext()
        if following is None or following.tag != w("p"):
            continue
        for child in [c for c in following if c.tag != w("pPr")]:
            p.append(child)
        following.getparent().remove(following)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
