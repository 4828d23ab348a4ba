"""Saving a document whose largest parts are written as a stream of XML text.

Thousands of comments and matrix rows would cost far more as lxml elements (memory,
then serialization) than as the XML text they are generated as. They are therefore
never put in the tree: a processing instruction marks where they belong, python-docx
saves the rest of the package as usual, and the parts holding a marker are rewritten
with the generated text spliced in, chunk by chunk, straight into the compressed
output.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterable, Mapping

import docx
from lxml import etree

from ._ooxml import W_NS
from ._xmltext import parse_children

_TARGET = "clausebot-stream"


class Stream:
    """Generated XML text to splice into a part, where :meth:`marker` was placed."""

    def __init__(self, container: etree._Element, chunks: Iterable[str]):
        self.token = uuid.uuid4().hex
        self.chunks = chunks
        # Generated text uses the w: prefix; a part whose root does not declare it (a
        # producer may use another prefix) gets each element with its own declaration.
        root = container.getroottree().getroot()
        self.own_namespace = root.nsmap.get("w") != W_NS
        # Other prefixes the text may use (w14 on the paragraphs of comment threads),
        # as the part's root binds them.
        self.declarations = " ".join(
            f'xmlns:{prefix}="{uri}"' for prefix, uri in root.nsmap.items() if prefix and prefix != "w"
        )

    def marker(self) -> etree._Element:
        return etree.ProcessingInstruction(_TARGET, self.token)

    @property
    def marker_bytes(self) -> bytes:
        return f"<?{_TARGET} {self.token}?>".encode("ascii")

    def encoded(self) -> Iterable[bytes]:
        for chunk in self.chunks:
            if self.own_namespace and chunk:
                chunk = "".join(
                    etree.tostring(element, encoding="unicode")
                    for element in parse_children("body", chunk, self.declarations)
                )
            yield chunk.encode("utf-8")


def save(document: docx.document.Document, streams: Mapping[str, Stream]) -> bytes:
    """The .docx bytes of ``document`` with each ``streams[member]`` spliced into the
    zip member of that name (e.g. ``"word/document.xml"``) at its marker."""
    saved = io.BytesIO()
    document.save(saved)
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            stream = streams.get(info.filename)
            if stream is None:
                target.writestr(info, data)
                continue
            head, found, tail = data.partition(stream.marker_bytes)
            if not found:
                raise RuntimeError(f"stream marker missing from {info.filename}")
            del data
            member = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            with target.open(member, "w") as sink:
                sink.write(head)
                for chunk in stream.encoded():
                    sink.write(chunk)
                sink.write(tail)
    return out.getvalue()
