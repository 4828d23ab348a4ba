"""Unpacking an uploaded .docx within fixed limits, before python-docx sees any of it.

A .docx is a zip archive, and a zip archive says in its headers how large each member
is once decompressed. Those headers can lie: a 1 MB upload can hold a member that
inflates to gigabytes while claiming a few kilobytes, and a reader that decompresses
a member in one call (as :meth:`zipfile.ZipFile.read` does) holds all of it in memory
before it notices. Here every member is inflated in chunks of :data:`READ_CHUNK`
bytes straight from its compressed data; the bytes actually produced are counted, and
the upload is refused the moment they pass a limit, whatever the headers said. A member
that produces a different number of bytes than its header claims, or whose checksum
does not match, is damaged and refused as well.

What python-docx then opens is a new package written from the checked bytes: the XML
parts (and the relationships and content types) as they were, every other member
(pictures, embedded objects, fonts) empty, since nothing in a draft's outline depends
on them. python-docx never reads a member that was not checked, and holds no picture in
memory. The upload itself is stored unchanged.

The limits, for the default upload limit of 10 MB:

* :data:`MAX_MEMBERS` members, counted in the central directory before zipfile lists
  them;
* all members together at most :data:`EXPANSION_FACTOR` times the upload limit, and
  never more than :data:`MAX_EXPANDED_BYTES`;
* the XML parts together at most :data:`MAX_XML_BYTES`, with at most
  :data:`MAX_XML_NODES` nodes (counted as one per ``<`` and two per ``=``, an upper
  bound). A node costs the XML tree 120 to 170 bytes however short it is written
  (``<a/>``), so the node count, not the size, bounds the memory of a parse: about 160
  MB at most, and a 10,000-clause draft as Word writes it (some 400 pages) stays below.

XML: Word never writes a document type declaration, so a part that declares one (the
only place entities, and with them "billion laughs" expansion and external entities,
can be defined) is refused. python-docx parses with ``resolve_entities=False`` and
lxml's defaults ``no_network=True`` and ``huge_tree=False``; libxml2 also caps entity
amplification and nesting depth (256) on its own. The only part parsed here,
``[Content_Types].xml``, is parsed with the same settings.
"""

from __future__ import annotations

import io
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from ._errors import DraftTooLarge, NotAWordDocument

MB = 1024 * 1024
# Members of one archive; a Word document has a few dozen, a few hundred with many pictures.
MAX_MEMBERS = 1000
# All members together, decompressed: this many times the upload limit, at most MAX_EXPANDED_BYTES.
EXPANSION_FACTOR = 20
MAX_EXPANDED_BYTES = 200 * MB
# The XML parts together (document, styles, numbering, headers, relationships...).
MAX_XML_BYTES = 24 * MB
# Nodes of the XML parts' trees, counted as one per "<" and two per "=" (an upper bound:
# an element or a text has at least one "<", an attribute one "=" and a value node).
MAX_XML_NODES = 900_000
# Bytes inflated, or read from a stored member, at a time.
READ_CHUNK = 64 * 1024

# One upload is unpacked and parsed at a time: two at once would need twice the memory.
PARSE_LOCK = threading.Lock()

_CONTENT_TYPES = "[Content_Types].xml"
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_END_SIGNATURE = b"PK\x05\x06"
_END_RECORD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_END_SIGNATURE = b"PK\x06\x06"
# Declarations Word never writes: a document type definition and the entities in one.
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
_OVERLAP = max(len(d) for d in _DECLARATIONS) - 1
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)

_SAVE_AGAIN = "Please open it in Word, save it again as .docx and upload the new file."
_SMALLER_PICTURES = (
    "If it is your draft, remove large pictures or embedded objects, save it again as .docx and upload the new file."
)
_SPLIT = "If it is your draft, please split it into smaller documents and upload those."
_TOO_MUCH_TEXT = "No draft has that much text and formatting. " + _SPLIT
DAMAGED = (
    "This file looks like a Word document but it is damaged or incomplete (perhaps the "
    "upload was cut short). " + _SAVE_AGAIN
)


def megabytes(n: float) -> str:
    mb = n / MB
    return f"{mb:.0f} MB" if mb >= 10 or mb == int(mb) else f"{mb:.1f} MB"


def expanded_limit(max_bytes: int) -> int:
    """How many bytes all members of an upload may decompress to."""
    return min(EXPANSION_FACTOR * max_bytes, MAX_EXPANDED_BYTES)


def _expands_beyond(limit: int, advice: str = _SMALLER_PICTURES) -> DraftTooLarge:
    return DraftTooLarge(
        f"The file expands to more than {megabytes(limit)} when unpacked; it is not a normal Word document. " + advice
    )


def check_member_count(data: bytes) -> None:
    """Refuse an archive of more than MAX_MEMBERS members before zipfile lists them.

    The central directory is walked record by record, as zipfile would, but only as far
    as MAX_MEMBERS + 1 records: a directory of 100,000 members would otherwise cost
    zipfile seconds and tens of megabytes before its length could be checked. An archive
    whose directory cannot be found this way is left to zipfile to judge.
    """
    start = _central_directory(data)
    if start is None:
        return
    at, count = start, 0
    while data.startswith(_CENTRAL_SIGNATURE, at):
        count += 1
        if count > MAX_MEMBERS:
            raise _too_many_members()
        name, extra, comment = struct.unpack_from("<3H", data, at + 28)
        at += 46 + name + extra + comment


def _central_directory(data: bytes) -> int | None:
    """Where the central directory starts, from the end record (``None``: not found)."""
    end = data.rfind(_END_SIGNATURE, max(0, len(data) - _END_RECORD.size - 0xFFFF))
    if end < 0 or end + _END_RECORD.size > len(data):
        return None
    size = _END_RECORD.unpack_from(data, end)[5]
    directory_end = end
    locator = end - _ZIP64_LOCATOR_SIZE
    if locator >= 0 and data.startswith(_ZIP64_LOCATOR_SIGNATURE, locator):
        zip64_end = data.rfind(_ZIP64_END_SIGNATURE, 0, locator)
        if zip64_end < 0 or zip64_end + 48 > len(data):
            return None
        (size,) = struct.unpack_from("<Q", data, zip64_end + 40)
        directory_end = zip64_end
    start = directory_end - size
    return start if 0 <= start < len(data) else None


def _too_many_members() -> DraftTooLarge:
    return DraftTooLarge(
        f"The file holds more than {MAX_MEMBERS:,} parts, where a Word document has a few "
        "dozen; it is not a normal Word document. " + _SAVE_AGAIN
    )


@dataclass
class _Budget:
    """What the members read so far have produced, against the limits."""

    limit: int
    total: int = 0
    xml: int = 0
    nodes: int = 0

    def add(self, chunk: bytes, is_xml: bool) -> None:
        self.total += len(chunk)
        if self.total > self.limit:
            raise _expands_beyond(self.limit)
        if is_xml:
            self.xml += len(chunk)
            if self.xml > MAX_XML_BYTES:
                raise _expands_beyond(MAX_XML_BYTES, _TOO_MUCH_TEXT)
            self.nodes += chunk.count(b"<") + 2 * chunk.count(b"=")
            if self.nodes > MAX_XML_NODES:
                raise DraftTooLarge(
                    f"The document's text and formatting hold more than {MAX_XML_NODES:,} "
                    "XML elements and attributes when unpacked, far more than a draft of "
                    "several hundred pages; it is not a normal Word document. " + _SPLIT
                )


def _compressed(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The compressed bytes of a member, located through its local header."""
    at = info.header_offset
    if at < 0 or at + _LOCAL_HEADER.size > len(data):
        raise NotAWordDocument(DAMAGED)
    fields = _LOCAL_HEADER.unpack_from(data, at)
    if fields[0] != _LOCAL_SIGNATURE:
        raise NotAWordDocument(DAMAGED)
    start = at + _LOCAL_HEADER.size + fields[10] + fields[11]  # name, extra field
    end = start + info.compress_size
    if end > len(data):
        raise NotAWordDocument(DAMAGED)
    return memoryview(data)[start:end]


def _inflate(raw: memoryview, method: int) -> Iterator[bytes]:
    """The decompressed bytes of a member, at most READ_CHUNK at a time."""
    if method == zipfile.ZIP_STORED:
        for start in range(0, len(raw), READ_CHUNK):
            yield bytes(raw[start : start + READ_CHUNK])
        return
    if method != zipfile.ZIP_DEFLATED:
        # Word writes stored and deflated members only (as the Open Packaging
        # Conventions require).
        raise NotAWordDocument(DAMAGED)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for start in range(0, len(raw), READ_CHUNK):
            pending: bytes | memoryview = raw[start : start + READ_CHUNK]
            while pending and not inflater.eof:
                out = inflater.decompress(pending, READ_CHUNK)
                if out:
                    yield out
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        while not inflater.eof:  # output held back by the chunk size
            out = inflater.decompress(b"", READ_CHUNK)
            if not out:
                break
            yield out
    except zlib.error as exc:
        raise NotAWordDocument(DAMAGED) from exc
    if not inflater.eof:
        raise NotAWordDocument(DAMAGED)


class _ContentTypes:
    """Which members are XML, from ``[Content_Types].xml``."""

    _NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"

    def __init__(self, xml: bytes):
        try:
            root = etree.fromstring(xml, _SAFE_XML)
        except etree.XMLSyntaxError as exc:
            raise NotAWordDocument(DAMAGED) from exc
        self.defaults = {
            (el.get("Extension") or "").lower(): el.get("ContentType") or "" for el in root.iter(self._NS + "Default")
        }
        self.overrides = {
            (el.get("PartName") or "").lower(): el.get("ContentType") or "" for el in root.iter(self._NS + "Override")
        }

    def is_xml(self, name: str) -> bool:
        low = name.lower()
        if low == _CONTENT_TYPES.lower() or low.endswith(".rels"):
            return True
        content_type = self.overrides.get("/" + low)
        if content_type is None:
            content_type = self.defaults.get(low.rsplit(".", 1)[-1] if "." in low else "")
        if content_type is None:
            return low.endswith(".xml")
        return content_type.endswith(("+xml", "/xml"))


def _checked(data: bytes, info: zipfile.ZipInfo, budget: _Budget, is_xml: bool) -> Iterator[bytes]:
    """The bytes of one member, counted against ``budget`` as they are produced."""
    if info.flag_bits & 0x1:
        raise NotAWordDocument(
            "This file is an encrypted ZIP archive, not a Word document. "
            "Please save the draft as a Word document (.docx) and upload that file."
        )
    produced = 0
    crc = 0
    scan = _DeclarationScan() if is_xml else None
    for chunk in _inflate(_compressed(data, info), info.compress_type):
        budget.add(chunk, is_xml)
        if scan is not None:
            scan.feed(chunk)
        produced += len(chunk)
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if produced != info.file_size or crc != info.CRC:
        raise NotAWordDocument(DAMAGED)


class _DeclarationScan:
    """Refuses an XML part that declares a document type or entities, chunk by chunk."""

    def __init__(self) -> None:
        self.utf16: bool | None = None
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        if self.utf16 is None:
            self.utf16 = chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(chunk) > 1 and b"\x00" in chunk[:2])
        if self.utf16:
            chunk = chunk.replace(b"\x00", b"")  # the declarations' words are ASCII
        window = self.tail + chunk
        if any(declaration in window for declaration in _DECLARATIONS):
            raise NotAWordDocument(
                "This file contains XML declarations (a document type definition) that "
                "Word never writes; it is not a normal Word document. " + _SAVE_AGAIN
            )
        self.tail = window[-_OVERLAP:]


def repack(data: bytes, archive: zipfile.ZipFile, max_bytes: int) -> bytes:
    """A package python-docx can open: every member of ``archive`` (the zip of ``data``)
    checked against the limits, its XML parts copied, its other members left empty.

    Raises :class:`DraftTooLarge` or :class:`NotAWordDocument`.
    """
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _too_many_members()
    declared = sum(info.file_size for info in infos)
    limit = expanded_limit(max_bytes)
    if declared > limit:
        raise _expands_beyond(limit)
    budget = _Budget(limit)
    types_info = archive.getinfo(_CONTENT_TYPES)
    content_types = b"".join(_checked(data, types_info, budget, True))
    types = _ContentTypes(content_types)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in infos:
            member = zipfile.ZipInfo(info.filename)
            member.compress_type = zipfile.ZIP_DEFLATED
            if info is types_info:
                target.writestr(member, content_types)
                continue
            is_xml = not info.is_dir() and types.is_xml(info.filename)
            chunks = _checked(data, info, budget, is_xml)
            if not is_xml:
                for _ in chunks:
                    pass
                target.writestr(member, b"")
                continue
            with target.open(member, "w") as sink:
                for chunk in chunks:
                    sink.write(chunk)
    return out.getvalue()
