"""The .docx container: is the file a Word document, and can it be opened safely."""

from __future__ import annotations

import io
import zipfile

import docx

from ._errors import DraftTooLarge, NotAWordDocument

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# A .docx is a zip archive; refuse archives that would expand to much more than any
# real draft (a "zip bomb" would otherwise exhaust memory while being parsed).
_EXPANSION_FACTOR = 20


def _megabytes(n: float) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 10 or mb == int(mb) else f"{mb:.1f} MB"


_SAVE_AS_DOCX = "Please save it as a Word document (.docx) and upload that file."


def _check_container(data: bytes, max_bytes: int) -> None:
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
            "This file is a PDF, not a Word document. Comments are collected on the "
            "editable draft: " + _SAVE_AS_DOCX
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
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise NotAWordDocument(
            "This file looks like a Word document but it is damaged or incomplete "
            "(perhaps the upload was cut short). Please open it in Word, save it again "
            "as .docx and upload the new file."
        ) from exc
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
    expanded = sum(info.file_size for info in infos)
    if expanded > _EXPANSION_FACTOR * max_bytes:
        raise DraftTooLarge(
            f"The document expands to {_megabytes(expanded)} when opened, which is more "
            f"than a draft of at most {_megabytes(max_bytes)} should. Please remove large "
            "embedded objects and upload it again."
        )


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
