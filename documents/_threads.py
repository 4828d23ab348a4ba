"""Comment threads: the Secretariat's answer as a reply under a delegate's comment.

ECMA-376 has no replies; Word 2013 added them outside it, and Word and the tools that
follow it (LibreOffice among them) read them as follows:

* every comment that takes part in a thread carries a paragraph id on the last
  paragraph of its text (``w14:paraId``, 8 hex digits, above 0 and below 0x80000000,
  unique among all paragraphs of the package);
* ``word/commentsExtended.xml`` (``w15:commentsEx``, related to the main document part)
  has one ``w15:commentEx`` per such comment, and a reply's names its parent's
  paragraph id in ``w15:paraIdParent``;
* the reply is anchored in the body on the same range as its parent, its range nested
  in the parent's, as Word writes it.

``word/commentsIds.xml`` (``w16cid``, Word 2016) gives comments durable ids; Word reads
threads without it and assigns the ids itself, so it is not written. w14 is declared
ignorable (``mc:Ignorable``) on the comments part, so that a reader of plain ECMA-376
drops the paragraph ids and sees valid markup; a reader that knows no thread shows
the reply as one more comment on the same text, after its parent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from docx.opc.packuri import PackURI
from docx.opc.part import Part, XmlPart
from docx.oxml.parser import oxml_parser
from docx.parts.document import DocumentPart
from lxml import etree

from ._ooxml import MC_NS

W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
W15_NS = "http://schemas.microsoft.com/office/word/2012/wordml"
PARA_ID = f"{{{W14_NS}}}paraId"
_IGNORABLE = f"{{{MC_NS}}}Ignorable"

RT_COMMENTS_EXTENDED = "http://schemas.microsoft.com/office/2011/relationships/commentsExtended"
CT_COMMENTS_EXTENDED = "application/vnd.openxmlformats-officedocument.wordprocessingml.commentsExtended+xml"
_PARTNAME = "/word/commentsExtended.xml"

_PARA_IDS = etree.XPath("//@w14:paraId", namespaces={"w14": W14_NS})
_HEX_PARA_ID = re.compile(rb'paraId="([0-9A-Fa-f]{1,8})"')
_LIMIT = 0x80000000


def used_para_ids(document_part: DocumentPart) -> set[int]:
    """Every paragraph id already in the package (Word gives one to each paragraph)."""
    used: set[int] = set()
    for part in document_part.package.iter_parts():
        if isinstance(part, XmlPart):
            values: Iterable[str | bytes] = _PARA_IDS(part.element)
        elif str(part.partname).endswith(".xml"):
            values = _HEX_PARA_ID.findall(part.blob or b"")
        else:
            continue
        for value in values:
            try:
                used.add(int(value, 16))
            except ValueError:
                continue
    return used


def para_ids(used: set[int]) -> Iterator[str]:
    """Fresh paragraph ids, in increasing order, none of them in ``used``."""
    for value in range(1, _LIMIT):
        if value not in used:
            yield f"{value:08X}"
    raise RuntimeError("no paragraph id left")


def declare_w14(part: XmlPart) -> etree._Element:
    """The root of ``part``, declaring the w14 prefix and listing it in ``mc:Ignorable``.

    The paragraph ids are written as text with the ``w14:`` prefix, so the root must bind
    it. A root that lacks the declarations is replaced by a copy that has them.
    """
    root = part.element
    if root.nsmap.get("w14") != W14_NS or root.nsmap.get("mc") != MC_NS:
        nsmap = {prefix: uri for prefix, uri in root.nsmap.items() if prefix not in ("w14", "mc")}
        nsmap.update({"w14": W14_NS, "mc": MC_NS})
        replacement = oxml_parser.makeelement(root.tag, attrib=dict(root.attrib), nsmap=nsmap)
        replacement.extend(list(root))
        part._element = replacement
        if hasattr(part, "_comments"):  # python-docx's CommentsPart keeps its own reference
            part._comments = replacement
        root = replacement
    ignorable = (root.get(_IGNORABLE) or "").split()
    if "w14" not in ignorable:
        root.set(_IGNORABLE, " ".join([*ignorable, "w14"]))
    return root


def _entries_xml(threads: Iterable[tuple[str, str]]) -> str:
    return "".join(
        f'<w15:commentEx w15:paraId="{parent}" w15:done="0"/>'
        f'<w15:commentEx w15:paraId="{reply}" w15:paraIdParent="{parent}" w15:done="0"/>'
        for parent, reply in threads
    )


def add_threads(document_part: DocumentPart, threads: list[tuple[str, str]]) -> None:
    """Record each ``(parent, reply)`` pair of paragraph ids as a thread in
    ``word/commentsExtended.xml``, creating the part (with its relationship and content
    type) or adding to the one the draft already has."""
    if not threads:
        return
    entries = _entries_xml(threads)
    existing = next(
        (
            rel.target_part
            for rel in document_part.rels.values()
            if rel.reltype == RT_COMMENTS_EXTENDED and not rel.is_external
        ),
        None,
    )
    if existing is None:
        xml = (
            "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
            f'<w15:commentsEx xmlns:w15="{W15_NS}">'
            f"{entries}</w15:commentsEx>"
        )
        partname = PackURI(_PARTNAME)
        if any(part.partname == partname for part in document_part.package.iter_parts()):
            partname = document_part.package.next_partname("/word/commentsExtended%d.xml")
        part = Part(partname, CT_COMMENTS_EXTENDED, xml.encode("utf-8"), document_part.package)
        document_part.relate_to(part, RT_COMMENTS_EXTENDED)
        return
    wrapper = etree.fromstring(f'<w15:commentsEx xmlns:w15="{W15_NS}">{entries}</w15:commentsEx>')
    if isinstance(existing, XmlPart):
        existing.element.extend(list(wrapper))
        return
    root = etree.fromstring(existing.blob)
    root.extend(list(wrapper))
    existing._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
