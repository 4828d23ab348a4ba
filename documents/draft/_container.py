"""The .docx container: is the file a Word document, and opening it safely.

:func:`open_draft` tells the uploader what the file is when it is not a Word document,
then opens it through :func:`._unpack.repack`, so that python-docx only ever reads
members that were decompressed within the limits.
"""

from __future__ import annotations

import io
import zipfile

import docx

from ._errors import DraftTooLarge, NotAWordDocument
from ._unpack import DAMAGED, check_member_count, repack
from ._unpack import megabytes as _megabytes

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


_SAVE_AS_DOCX = "Please save it as a Word document (.docx) and upload that file."


def open_draft(data: bytes, max_bytes: int) -> docx.document.Document:
    """The uploaded .docx, opened by python-docx from its checked members.

    Raises :class:`NotAWordDocument` or :class:`DraftTooLarge`.
    """
    with zipfile.ZipFile(io.BytesIO(_check_container(data, max_bytes))) as archive:
        package = repack(data, archive, max_bytes)
    return _load(package)


def _check_container(data: bytes, max_bytes: int) -> bytes:
    """``data``, once it is known to be a zip archive holding a Word document."""
    if not data:
        raise NotAWordDocument("The file is empty. " + _SAVE_AS_DOCX)
    if len(data) > max_bytes:
        raise DraftTooLarge(
            f"The file is {_megabytes(len(data))}, which is over the limit of "
            f"{_megabytes(max_bytes)} for a draft. Please remove large images or "
            "attachments from the document and upload it again."
        )
    if data.startswith(b"%PDF"):
        raise NotAWordDocument(
            "This file is a PDF, not a Word document. Comments are collected on the editable draft: " + _SAVE_AS_DOCX
        )
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise NotAWordDocument(
            "This file is an older Word 97-2003 document (.doc) or a password-protected "
            "file. Please remove any password, save it as a Word document (.docx) and "
            "upload that file."
        )
    if data.startswith(b"{\\rtf"):
        raise NotAWordDocument("This file is in Rich Text Format (.rtf). " + _SAVE_AS_DOCX)
    if not data.startswith(b"PK"):
        raise NotAWordDocument("This file is not a Word document. " + _SAVE_AS_DOCX)
    check_member_count(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise NotAWordDocument(DAMAGED) from exc
    names = {info.filename for info in infos}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        if "xl/workbook.xml" in names:
            kind = "an Excel workbook"
        elif "ppt/presentation.xml" in names:
            kind = "a PowerPoint presentation"
        elif "mimetype" in names and "content.xml" in names:
            kind = "an OpenDocument file (for example .odt)"
        else:
            kind = "a ZIP archive"
        raise NotAWordDocument(f"This file is {kind}, not a Word document. " + _SAVE_AS_DOCX)
    if len(names) != len(infos):
        raise NotAWordDocument(DAMAGED)  # two members of one name: which one is the part?
    return data


def _load(data: bytes) -> docx.document.Document:
    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises a variety of errors for bad packages
        message = str(exc)
        if "content type" in message and ("macroEnabled" in message or "template" in message):
            raise NotAWordDocument(
                "This file is a Word template or a macro-enabled document. " + _SAVE_AS_DOCX
            ) from exc
        raise NotAWordDocument(
            "This file could not be read as a Word document: it may be damaged or in a "
            "different format. Please open it in Word, save it again as .docx and upload "
            "the new file."
        ) from exc
