"""Hostile and large uploads: refused quickly, with a clear message, in bounded memory.

The files come from bench/upload.py, which also measures them; memory is measured there
too, in a child process (its resident set is not disturbed by the test run's own).
"""

from __future__ import annotations

import gc
import importlib.util
import io
import re
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from lxml import etree

from documents.draft import (
    DraftError,
    DraftTooLarge,
    NotAWordDocument,
    _unpack,
    parse_draft,
)
from documents.draft._parser import MAX_PARAGRAPHS, _Parser

from .builders import DocBuilder

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_upload", ROOT / "bench" / "upload.py")
assert _spec is not None and _spec.loader is not None
upload = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(upload)

NOT_NORMAL = "when unpacked; it is not a normal Word document"

HOSTILE = [
    ("bomb", DraftTooLarge, "The file expands to more than 24 MB " + NOT_NORMAL),
    ("bomb_media", DraftTooLarge, "The file expands to more than 200 MB " + NOT_NORMAL),
    ("bomb_honest", DraftTooLarge, "more than 900,000 XML elements and attributes when unpacked"),
    ("members", DraftTooLarge, "more than 1,000 parts"),
    ("members_hidden", DraftTooLarge, "more than 1,000 parts"),
    ("wide", DraftTooLarge, "The file expands to more than 200 MB " + NOT_NORMAL),
    ("nested", NotAWordDocument, "could not be read as a Word document"),
    ("laughs", NotAWordDocument, "document type definition"),
    ("external", NotAWordDocument, "document type definition"),
]

_files: dict[str, bytes] = {}


def hostile(name: str) -> bytes:
    if name not in _files:
        _files[name] = upload.CASES[name]()
    return _files[name]


def _message(data: bytes) -> tuple[type[DraftError], str]:
    with pytest.raises(DraftError) as info:
        parse_draft(data)
    return type(info.value), str(info.value)


# ------------------------------------------------------------------- hostile files


@pytest.mark.parametrize(("name", "kind", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_upload_is_refused_quickly(name, kind, message):
    data = hostile(name)
    assert len(data) <= 10 * 1024 * 1024
    start = time.perf_counter()
    refused, text = _message(data)
    assert time.perf_counter() - start < 5
    assert refused is kind
    assert message in text
    assert "upload" in text  # what to do about it


@pytest.mark.parametrize("name", ["bomb", "bomb_media", "bomb_honest", "members_hidden", "wide"])
def test_hostile_upload_costs_no_memory(name, tmp_path):
    path = tmp_path / f"{name}.docx"
    path.write_bytes(hostile(name))
    result = upload.run_case(str(path), repeat=1, timeout=120)
    assert result["outcome"] == "DraftTooLarge", result
    assert result["growth_mb"] < 30, result
    assert result["seconds"] < 5, result


@pytest.mark.parametrize("name", ["worst_accepted", "legit"])
def test_largest_accepted_uploads_stay_within_memory(name, tmp_path):
    """An idle bot takes about 110 MB; the costliest accepted uploads keep it under 300 MB."""
    path = tmp_path / f"{name}.docx"
    path.write_bytes(upload.CASES[name]())
    result = upload.run_case(str(path), repeat=1, timeout=120)
    assert result["outcome"].startswith("parsed"), result
    assert result["growth_mb"] < 180, result


def test_legit_large_draft_parses():
    draft = parse_draft(upload.legit())
    assert draft.clause_count == 10_000
    assert len(draft.sections) == 400
    assert draft.clauses[-1].ref == "400.25"


# ------------------------------------------------------------ parses identically


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _rich_draft() -> bytes:
    builder = DocBuilder()
    builder.abstract_num(7, [(0, "decimal", "%1."), (1, "lowerLetter", "(%2)")])
    builder.num(7, 7)
    builder.title("A draft with pictures, headers and tables")
    builder.heading("Scope", 1)
    builder.para("Member States shall act.", num=(7, 0))
    builder.para("within a year;", num=(7, 1))
    builder.document.add_picture(io.BytesIO(_png()))
    builder.table([["1.3 In a table", "x"]])
    builder.heading("Review", 1)
    builder.para("2.1 The Secretariat shall report.")
    section = builder.document.sections[0]
    section.header.paragraphs[0].text = "Zero draft"
    section.footer.paragraphs[0].text = "Page"
    return builder.bytes()


@pytest.mark.parametrize("which", ["sample", "rich", "legit"])
def test_checked_package_parses_as_the_upload_did(which, sample_bytes):
    data = {"sample": sample_bytes, "rich": _rich_draft(), "legit": upload.legit()}[which]
    unchecked = _Parser(docx.Document(io.BytesIO(data))).run()
    assert parse_draft(data) == unchecked


def test_pictures_are_checked_but_not_handed_on():
    data = _rich_draft()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        package = _unpack.repack(data, archive, 10 * 1024 * 1024)
    media = [name for name in names if not name.endswith((".xml", ".rels"))]
    assert "docProps/thumbnail.jpeg" in media
    assert any(name.startswith("word/media/") for name in media)
    with zipfile.ZipFile(io.BytesIO(package)) as checked, zipfile.ZipFile(io.BytesIO(data)) as original:
        assert checked.namelist() == original.namelist()
        for name in checked.namelist():
            expected = b"" if name in media else original.read(name)
            assert checked.read(name) == expected, name


def test_stored_members_are_read(sample_bytes, sample):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sample_bytes)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info), zipfile.ZIP_STORED)
    assert parse_draft(out.getvalue()) == sample


# ------------------------------------------------------------------ damaged archives


def _entries(data: bytes):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(i.filename, archive.read(i)) for i in archive.infolist()]


def _raw(entries, **changes):
    """The members as a raw zip; ``changes[name] = (payload, crc, size)`` overrides one."""
    out = []
    for name, data in entries:
        compressed = upload._deflate([data])
        out.append((name, *changes.get(name, (compressed, zlib.crc32(data), len(data)))))
    return upload.raw_zip(out)


def test_member_larger_than_its_header_says_is_damaged(sample_bytes):
    entries = _entries(sample_bytes)
    document = dict(entries)["word/document.xml"]
    lying = (upload._deflate([document + b" " * 5000]), zlib.crc32(document), len(document))
    kind, message = _message(_raw(entries, **{"word/document.xml": lying}))
    assert kind is NotAWordDocument and "damaged" in message


def test_member_with_a_wrong_checksum_is_damaged(sample_bytes):
    entries = _entries(sample_bytes)
    styles = dict(entries)["word/styles.xml"]
    wrong = (upload._deflate([styles]), zlib.crc32(styles) ^ 1, len(styles))
    kind, message = _message(_raw(entries, **{"word/styles.xml": wrong}))
    assert kind is NotAWordDocument and "damaged" in message


def test_truncated_deflate_stream_is_damaged(sample_bytes):
    entries = _entries(sample_bytes)
    document = dict(entries)["word/document.xml"]
    cut = (upload._deflate([document])[:-40], zlib.crc32(document), len(document))
    kind, message = _message(_raw(entries, **{"word/document.xml": cut}))
    assert kind is NotAWordDocument and "damaged" in message


def test_two_members_of_one_name_are_damaged(sample_bytes):
    entries = _entries(sample_bytes)
    entries.append(("word/document.xml", b"<w:document/>"))
    kind, message = _message(_raw(entries))
    assert kind is NotAWordDocument and "damaged" in message


def test_other_compression_methods_are_refused(sample_bytes):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sample_bytes)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info), zipfile.ZIP_BZIP2)
    kind, message = _message(out.getvalue())
    assert kind is NotAWordDocument and "damaged" in message


def test_encrypted_members_are_refused(sample_bytes):
    data = bytearray(_raw(_entries(sample_bytes)))
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        data[at + 8] |= 0x1  # general purpose flags: encrypted
        at = data.find(b"PK\x01\x02", at + 4)
    kind, message = _message(bytes(data))
    assert kind is NotAWordDocument and "encrypted" in message


def test_zip64_directory_is_walked(sample_bytes, sample, monkeypatch):
    entries = _entries(sample_bytes)

    def zip64(extra: int) -> bytes:
        out = io.BytesIO()
        monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # forces zip64 end records
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
            for i in range(extra):
                archive.writestr(f"x/{i}", b"")
        monkeypatch.undo()
        return out.getvalue()

    small = zip64(0)
    assert b"PK\x06\x06" in small
    assert parse_draft(small) == sample
    kind, message = _message(zip64(_unpack.MAX_MEMBERS))
    assert kind is DraftTooLarge and "more than 1,000 parts" in message


def test_many_members_are_refused_before_they_are_listed(sample_bytes, monkeypatch):
    data = hostile("members")  # made before the spy: writing it reads a zip too
    listed = []
    original = zipfile.ZipFile._RealGetContents

    def spy(self):
        listed.append(True)
        return original(self)

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", spy)
    kind, _ = _message(data)
    assert kind is DraftTooLarge
    assert not listed


# ------------------------------------------------------------------------------ XML


def _document(xml: bytes, *, stored: bool = False) -> bytes:
    entries = upload._sample()
    entries["word/document.xml"] = xml
    out = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


BODY = f"<w:document {upload.W_DECL}><w:body><w:p><w:r><w:t>1.1 A clause.</w:t></w:r></w:p></w:body></w:document>"


def test_a_plain_document_is_accepted():
    assert parse_draft(_document(BODY.encode())).clause_count == 1


def test_utf16_document_type_declaration_is_refused():
    xml = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE w:document [<!ENTITY a "b">]>' + BODY).encode("utf-16")
    kind, message = _message(_document(xml))
    assert kind is NotAWordDocument and "document type definition" in message


def test_declaration_across_a_chunk_boundary_is_refused():
    prolog = "<?xml version='1.0'?>"
    comment = "<!--" + "x" * (_unpack.READ_CHUNK - len(prolog) - 4 - 7 - 3) + "-->"
    xml = (prolog + comment + "<!DOCTYPE w:document>" + BODY).encode()
    assert xml.index(b"<!DOCTYPE") < _unpack.READ_CHUNK < xml.index(b"<!DOCTYPE") + 9
    kind, message = _message(_document(xml, stored=True))
    assert kind is NotAWordDocument and "document type definition" in message


def test_python_docx_parser_does_not_expand_entities():
    """What python-docx does on its own, should a declaration get past the check."""
    from docx.oxml.parser import parse_xml

    internal = parse_xml(b'<!DOCTYPE w:t [<!ENTITY a "expanded">]><w:t ' + upload.W_DECL.encode() + b">&a;</w:t>")
    # resolve_entities=False: the reference stays a node of its own, its text unread.
    assert internal.text is None
    assert [type(child).__name__ for child in internal] == ["_Entity"]
    laughs = upload.laughs()
    xml = dict(_entries(laughs))["word/document.xml"]
    with pytest.raises(Exception, match="amplification"):
        parse_xml(xml)
    external = parse_xml(dict(_entries(upload.external()))["word/document.xml"])
    assert "root:" not in etree.tostring(external, encoding="unicode")  # no_network, no DTD loading
    assert "root:" not in external.xpath("string()")


def test_too_many_paragraphs_are_refused():
    paragraphs = "".join(
        f"<w:p><w:r><w:t>{i // 999 + 1}.{i % 999 + 1} Clause.</w:t></w:r></w:p>" for i in range(MAX_PARAGRAPHS + 1)
    )
    xml = f"<w:document {upload.W_DECL}><w:body>{paragraphs}</w:body></w:document>"
    kind, message = _message(_document(xml.encode()))
    assert kind is DraftTooLarge and "more than 20,000 paragraphs" in message
    assert parse_draft(upload.clauses()).clause_count == MAX_PARAGRAPHS - 1


# ----------------------------------------------------------------------- the parse


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_state_is_restored(enabled, sample_bytes):
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        parse_draft(sample_bytes)
        assert gc.isenabled() is enabled
        with pytest.raises(DraftError):
            parse_draft(hostile("laughs"))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_parses_from_threads_one_at_a_time(sample_bytes, sample):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: parse_draft(sample_bytes), range(4)))
    assert all(result == sample for result in results)


# --------------------------------------------------------------------------- bench


def test_bench_reports_its_figures_last():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "upload.py"), "--case", "bomb", "--case", "laughs", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
        cwd=ROOT,
    )
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"bomb_peak_mb=(\d+) legit_peak_mb=0 worst_peak_mb=(\d+) max_growth_mb=(-?\d+) "
        r"max_stall_ms=(\S+) limit_mb=300",
        last,
    )
    assert match, last
    assert 0 < float(match.group(1)) < 300
    help_text = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "upload.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert help_text.stdout.strip().splitlines()[-1].startswith("bomb_peak_mb=0 ")
