"""A small .docx builder for the documents tests, with Word automatic numbering."""

from __future__ import annotations

import io
from collections.abc import Iterable

import docx
from docx.enum.style import WD_STYLE_TYPE
from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def w(tag: str) -> str:
    return f"{{{W_NS}}}{tag}"


class DocBuilder:
    """Builds small test drafts, with Word automatic numbering when asked."""

    def __init__(self) -> None:
        self.document = docx.Document()
        self._numbering = self.document.part.numbering_part.element

    # -- numbering definitions -------------------------------------------------------

    def abstract_num(self, abstract_id: int, levels: Iterable[tuple[int, str, str]]) -> None:
        """Add an abstractNum; ``levels`` are ``(ilvl, numFmt, lvlText)``."""
        abstract = etree.Element(w("abstractNum"), {w("abstractNumId"): str(abstract_id)})
        etree.SubElement(abstract, w("multiLevelType"), {w("val"): "multilevel"})
        for ilvl, fmt, text in levels:
            lvl = etree.SubElement(abstract, w("lvl"), {w("ilvl"): str(ilvl)})
            etree.SubElement(lvl, w("start"), {w("val"): "1"})
            etree.SubElement(lvl, w("numFmt"), {w("val"): fmt})
            etree.SubElement(lvl, w("lvlText"), {w("val"): text})
        first_num = self._numbering.find(w("num"))
        if first_num is not None:
            first_num.addprevious(abstract)
        else:
            self._numbering.append(abstract)

    def num(self, num_id: int, abstract_id: int, start_overrides: dict[int, int] | None = None):
        num = etree.SubElement(self._numbering, w("num"), {w("numId"): str(num_id)})
        etree.SubElement(num, w("abstractNumId"), {w("val"): str(abstract_id)})
        for ilvl, start in (start_overrides or {}).items():
            override = etree.SubElement(num, w("lvlOverride"), {w("ilvl"): str(ilvl)})
            etree.SubElement(override, w("startOverride"), {w("val"): str(start)})

    def numbered_style(self, name: str, num_id: int, ilvl: int) -> None:
        style = self.document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        num_pr = style.element.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = ilvl
        num_pr.get_or_add_numId().val = num_id

    # -- content ---------------------------------------------------------------------

    def title(self, text: str) -> None:
        self.document.add_heading(text, level=0)

    def heading(self, text: str, level: int = 1, num: tuple[int, int] | None = None) -> None:
        paragraph = self.document.add_heading(text, level=level)
        if num is not None:
            self._number(paragraph, *num)

    def para(self, text: str, num: tuple[int, int] | None = None, style: str | None = None):
        paragraph = self.document.add_paragraph(text, style=style)
        if num is not None:
            self._number(paragraph, *num)
        return paragraph

    def table(self, rows: list[list[str]]) -> None:
        table = self.document.add_table(rows=len(rows), cols=len(rows[0]))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                table.cell(r, c).text = value

    @staticmethod
    def _number(paragraph, num_id: int, ilvl: int) -> None:
        num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = ilvl
        num_pr.get_or_add_numId().val = num_id

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.document.save(out)
        return out.getvalue()
