"""A small .docx builder for the documents tests, with Word automatic numbering."""

from __future__ import annotations

import io
import zipfile
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


# ---------------------------------------------------------------------------------------
# Word files written as markup, with comments and tracked changes as Word, LibreOffice
# and Google Docs write them (tests/documents/test_commented.py).

W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
W15_NS = "http://schemas.microsoft.com/office/word/2012/wordml"
_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="{W_NS}">
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="CommentText"><w:name w:val="annotation text"/><w:basedOn w:val="Normal"/></w:style>
<w:style w:type="character" w:styleId="CommentReference"><w:name w:val="annotation reference"/></w:style>
</w:styles>"""


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class WordFile:
    """A .docx written as markup: paragraphs of runs, comments, tracked changes.

    ``flavour`` is the program whose conventions are followed: ``"word"`` (rsids on
    paragraphs and runs, a comment's text opening with its ``w:annotationRef`` run, the
    reference run styled CommentReference), ``"libreoffice"`` (comment text without
    annotationRef) or ``"google"`` (no rsids, no annotationRef, plain reference runs).
    Inline helpers return markup to pass to :meth:`para`.
    """

    DATE = "2026-12-01T09:30:00Z"

    def __init__(self, flavour: str = "word") -> None:
        self.flavour = flavour
        self.body: list[str] = []
        self.comments: list[str] = []
        self.threads: list[str] = []
        self._id = 0
        self._para_id = 0x100
        self.extra_members: dict[str, bytes] = {}
        self.document_type = f"{_CT}.document.main+xml"

    def _next(self) -> int:
        self._id += 1
        return self._id

    def _rsid(self, kind: str) -> str:
        return f' w:{kind}="00A1B2C3"' if self.flavour == "word" else ""

    # -- blocks ---------------------------------------------------------------------

    def title(self, text: str) -> None:
        self.para(self.run(text), style="Title")

    def heading(self, text: str, *content: str, level: int = 1) -> None:
        self.para(self.run(text), *content, style=f"Heading{level}")

    def para(self, *content: str, style: str | None = None, mark: str = "") -> None:
        """A paragraph of ``content`` (runs, changes, comment markers); ``mark`` is a
        revision on its paragraph mark (:meth:`mark_ins`, :meth:`mark_del`...)."""
        ppr = ""
        if style or mark:
            ppr = "<w:pPr>" + (f'<w:pStyle w:val="{style}"/>' if style else "")
            ppr += f"<w:rPr>{mark}</w:rPr>" if mark else ""
            ppr += "</w:pPr>"
        self.body.append(f"<w:p{self._rsid('rsidR')}>{ppr}{''.join(content)}</w:p>")

    def text(self, *lines: str) -> None:
        """Plain paragraphs, one per line."""
        for line in lines:
            self.para(self.run(line))

    def table(self, *cells: str) -> None:
        """A table of one row; each cell is markup of paragraphs (``<w:p>...``)."""
        row = "".join(f"<w:tc>{cell}</w:tc>" for cell in cells)
        self.body.append(f"<w:tbl><w:tblPr/><w:tblGrid/><w:tr>{row}</w:tr></w:tbl>")

    def raw(self, markup: str) -> None:
        self.body.append(markup)

    # -- inline ---------------------------------------------------------------------

    def run(self, text: str, tag: str = "t") -> str:
        return f'<w:r{self._rsid("rsidR")}><w:{tag} xml:space="preserve">{_x(text)}</w:{tag}></w:r>'

    def _revision(self, tag: str, author: str, date: str | None) -> str:
        return f'w:id="{self._next()}" w:author="{_x(author)}" w:date="{date or self.DATE}"'

    def ins(self, text: str, author: str, date: str | None = None) -> str:
        return f"<w:ins {self._revision('ins', author, date)}>{self.run(text)}</w:ins>"

    def dele(self, text: str, author: str, date: str | None = None) -> str:
        return f"<w:del {self._revision('del', author, date)}>{self.run(text, 'delText')}</w:del>"

    def ins_deleted(self, text: str, inserted_by: str, deleted_by: str) -> str:
        """Text inserted by one author and deleted by another, as Word nests it."""
        inner = f"<w:del {self._revision('del', deleted_by, None)}>{self.run(text, 'delText')}</w:del>"
        return f"<w:ins {self._revision('ins', inserted_by, None)}>{inner}</w:ins>"

    def move_from(self, text: str, author: str, name: str = "move1") -> str:
        rid = self._next()
        attrs = self._revision("moveFrom", author, None)
        return (
            f'<w:moveFromRangeStart w:id="{rid}" w:author="{_x(author)}" w:date="{self.DATE}" w:name="{name}"/>'
            f"<w:moveFrom {attrs}>{self.run(text)}</w:moveFrom>"
            f'<w:moveFromRangeEnd w:id="{rid}"/>'
        )

    def move_to(self, text: str, author: str, name: str = "move1") -> str:
        rid = self._next()
        attrs = self._revision("moveTo", author, None)
        return (
            f'<w:moveToRangeStart w:id="{rid}" w:author="{_x(author)}" w:date="{self.DATE}" w:name="{name}"/>'
            f"<w:moveTo {attrs}>{self.run(text)}</w:moveTo>"
            f'<w:moveToRangeEnd w:id="{rid}"/>'
        )

    def mark_ins(self, author: str) -> str:
        return f"<w:ins {self._revision('ins', author, None)}/>"

    def mark_del(self, author: str) -> str:
        return f"<w:del {self._revision('del', author, None)}/>"

    # -- comments -------------------------------------------------------------------

    def comment(
        self, author: str, text: str, *, initials: str = "", reply_to: str | None = None, done: bool = False
    ) -> str:
        """Adds a comment to comments.xml; returns its id for :meth:`start`, :meth:`end`, :meth:`ref`."""
        cid = str(len(self.comments))
        self._para_id += 1
        para_id = f"{self._para_id:08X}"
        paragraphs = []
        for k, line in enumerate(text.split("\n")):
            annotation = ""
            if self.flavour == "word" and k == 0:
                annotation = '<w:r><w:rPr><w:rStyle w:val="CommentReference"/></w:rPr><w:annotationRef/></w:r>'
            pid = f' w14:paraId="{para_id}"' if k == len(text.split("\n")) - 1 and self.flavour == "word" else ""
            style = '<w:pPr><w:pStyle w:val="CommentText"/></w:pPr>' if self.flavour != "google" else ""
            paragraphs.append(
                f'<w:p{pid}>{style}{annotation}<w:r><w:t xml:space="preserve">{_x(line)}</w:t></w:r></w:p>'
            )
        initials_attr = f' w:initials="{_x(initials)}"' if initials or self.flavour != "google" else ""
        self.comments.append(
            f'<w:comment w:id="{cid}" w:author="{_x(author)}" w:date="{self.DATE}"{initials_attr}>'
            + "".join(paragraphs)
            + "</w:comment>"
        )
        if self.flavour == "word" and (reply_to is not None or done or self.threads):
            parent = ""
            if reply_to is not None:
                parent = f' w15:paraIdParent="{0x100 + int(reply_to) + 1:08X}"'
            self.threads.append(f'<w15:commentEx w15:paraId="{para_id}"{parent} w15:done="{int(done)}"/>')
        return cid

    @staticmethod
    def start(cid: str) -> str:
        return f'<w:commentRangeStart w:id="{cid}"/>'

    @staticmethod
    def end(cid: str) -> str:
        return f'<w:commentRangeEnd w:id="{cid}"/>'

    def ref(self, cid: str) -> str:
        style = '<w:rPr><w:rStyle w:val="CommentReference"/></w:rPr>' if self.flavour == "word" else ""
        return f'<w:r>{style}<w:commentReference w:id="{cid}"/></w:r>'

    def on(self, cid: str, *content: str) -> str:
        """``content`` anchored to comment ``cid`` (range and reference run)."""
        return self.start(cid) + "".join(content) + self.end(cid) + self.ref(cid)

    # -- the package ----------------------------------------------------------------

    def document_xml(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<w:document xmlns:w="{W_NS}" xmlns:w14="{W14_NS}"><w:body>{"".join(self.body)}'
            "<w:sectPr/></w:body></w:document>"
        )

    def bytes(self) -> bytes:
        overrides = [
            ("/word/document.xml", self.document_type),
            ("/word/styles.xml", f"{_CT}.styles+xml"),
        ]
        rels = [("styles", "styles.xml")]
        members: dict[str, str | bytes] = {
            "word/document.xml": self.document_xml(),
            "word/styles.xml": _STYLES,
        }
        if self.comments:
            overrides.append(("/word/comments.xml", f"{_CT}.comments+xml"))
            rels.append(("comments", "comments.xml"))
            members["word/comments.xml"] = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<w:comments xmlns:w="{W_NS}" xmlns:w14="{W14_NS}">{"".join(self.comments)}</w:comments>'
            )
        if self.threads:
            overrides.append(("/word/commentsExtended.xml", f"{_CT}.commentsExtended+xml"))
            members["word/commentsExtended.xml"] = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<w15:commentsEx xmlns:w15="{W15_NS}">{"".join(self.threads)}</w15:commentsEx>'
            )
        members["[Content_Types].xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides)
            + "</Types>"
        )
        members["_rels/.rels"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_RT}/officeDocument" Target="word/document.xml"/></Relationships>'
        )
        extended = (
            '<Relationship Id="rIdX" Type="http://schemas.microsoft.com/office/2011/relationships/commentsExtended" '
            'Target="commentsExtended.xml"/>'
            if self.threads
            else ""
        )
        members["word/_rels/document.xml.rels"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{k}" Type="{_RT}/{kind}" Target="{target}"/>'
                for k, (kind, target) in enumerate(rels, start=1)
            )
            + extended
            + "</Relationships>"
        )
        members.update(self.extra_members)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in members.items():
                archive.writestr(name, content)
        return out.getvalue()


def _resolve(data: bytes, accept: bool) -> bytes:
    """``data`` with every tracked change accepted (``accept``) or rejected, and its
    comments' markers removed: what Word's "Accept All Changes" or "Reject All Changes"
    leaves, for the tests to compare with."""
    source = zipfile.ZipFile(io.BytesIO(data))
    root = etree.fromstring(source.read("word/document.xml"))
    removed, unwrapped = (("del", "moveFrom"), ("ins", "moveTo"))
    gone, kept = (removed, unwrapped) if accept else (unwrapped, removed)
    for marker in ("commentRangeStart", "commentRangeEnd", "moveFromRangeStart", "moveFromRangeEnd"):
        for el in list(root.iter(w(marker))):
            el.getparent().remove(el)
    for marker in ("moveToRangeStart", "moveToRangeEnd"):
        for el in list(root.iter(w(marker))):
            el.getparent().remove(el)
    for el in list(root.iter(w("commentReference"))):
        run = el.getparent()
        run.getparent().remove(run)
    # Paragraph marks first: a paragraph whose mark goes is joined with the next one.
    for p in list(root.iter(w("p"))):
        rpr = p.find(f"{w('pPr')}/{w('rPr')}")
        if rpr is None:
            continue
        marks = {child.tag for child in rpr}
        for child in list(rpr):
            if child.tag in {w(t) for t in ("ins", "del", "moveFrom", "moveTo")}:
                rpr.remove(child)
        if marks & {w(gone[0]), w(gone[1])}:
            following = p.getnext()
            if following is not None and following.tag == w("p"):
                for child in list(following):
                    if child.tag != w("pPr"):
                        p.append(child)
                following.getparent().remove(following)
    # Outer changes first (a deletion inside an insertion goes with it).
    for tag in (*gone, *kept):
        for el in list(root.iter(w(tag))):
            parent = el.getparent()
            if parent is None or not isinstance(parent.tag, str):
                continue
            if tag in gone:
                parent.remove(el)
            else:
                index = parent.index(el)
                for child in reversed(list(el)):
                    parent.insert(index, child)
                parent.remove(el)
    for el in list(root.iter(w("delText"))):
        el.tag = w("t")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == "word/document.xml":
                target.writestr(info.filename, etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
            else:
                target.writestr(info.filename, source.read(info.filename))
    return out.getvalue()


def accept_all(data: bytes) -> bytes:
    return _resolve(data, accept=True)


def reject_all(data: bytes) -> bytes:
    return _resolve(data, accept=False)
