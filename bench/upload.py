"""Benchmark of hostile and large uploads: memory and event-loop stalls while a draft is parsed.

    python bench/upload.py [--case NAME ...] [--on-loop] [--limit-mb 300]

Builds the files below, then parses each in a fresh child process that has imported the
bot's application (so its resident set starts where an idle bot's imports put it). In
the child, ``parse_draft`` runs in a thread (``asyncio.to_thread``, as the bot runs it)
next to a ticker task that sleeps 1 ms at a time; the longest gap between two ticks,
less the 1 ms, is the event-loop stall. Each file is parsed ``--repeat`` times (3); the
time and the stall reported are the least of the runs, the peak is over all of them. ``--on-loop`` parses on the event loop instead,
as the bot did before parsing moved to a thread.

Cases (all within the 10 MB upload limit):

* ``bomb``: the sample draft whose ``word/document.xml`` is followed, inside its deflate
  stream, by 1 GiB of zeros; the zip headers claim the real document's size and checksum;
* ``bomb_media``: a picture whose headers claim 8 KB and which inflates to 2 GiB;
* ``bomb_honest``: ``word/document.xml`` of 190 MB of paragraphs, declared honestly;
* ``members``: 100,000 empty members;
* ``members_hidden``: 100,000 members behind an end record that declares 17;
* ``wide``: millions of tiny elements (``<w:p/>``) in ``word/document.xml``;
* ``nested``: elements nested 100,000 deep;
* ``laughs``: "billion laughs" entity expansion in ``word/document.xml``;
* ``external``: an external entity (``file:///etc/passwd``);
* ``worst_accepted``: the costliest XML nodes (empty elements, each of its own name) up
  to just under the node limit: about the most memory an accepted upload can take;
* ``worst_text``: clauses of 20,000 characters up to just under the XML size limit;
* ``clauses``: short numbered clauses, one fewer than the paragraph limit;
* ``legit``: a 10 MB draft of 10,000 clauses in 400 sections written as Word writes
  them (revision ids, run properties), with pictures making up the rest of the 10 MB.

For every case a line gives the outcome, the time, the child's resident set before the
parse (``base``), its peak (VmHWM) during the parse, the growth and the stall. The last
line printed is:
    bomb_peak_mb=B legit_peak_mb=L worst_peak_mb=W max_growth_mb=G max_stall_ms=S limit_mb=300
with W and G taken over all cases that ran (B or L is 0 when that case did not run).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
W_DECL = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


# ----------------------------------------------------------------------- zip writing


def _deflate(chunks) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = [compressor.compress(chunk) for chunk in chunks]
    out.append(compressor.flush())
    return b"".join(out)


def _deflate_repeated(head: bytes, block: bytes, count: int, tail: bytes = b""):
    """``head + block * count + tail`` deflated without deflating ``count`` blocks: a full
    flush after each block makes its compressed form the same every time.

    Returns the compressed payload, the CRC-32 and the size of the whole.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    payload = b"".join([first, *([repeated] * count), last])
    return payload, crc, len(head) + len(block) * count + len(tail)


def raw_zip(entries, declared_count: int | None = None) -> bytes:
    """A zip archive written field by field, so that its headers can say anything.

    ``entries`` are ``(name, compressed payload, crc, claimed size)``, all deflated.
    """
    out = io.BytesIO()
    central = []
    for name, payload, crc, size in entries:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(payload), size, len(encoded), 0))
        out.write(encoded)
        out.write(payload)
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(payload),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = out.tell()
    for record in central:
        out.write(record)
    count = len(central) if declared_count is None else declared_count
    out.write(
        struct.pack(
            "<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF), out.tell() - start, start, 0
        )
    )
    return out.getvalue()


def _members(docx_bytes: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _honest(members: dict[str, bytes]):
    return [(name, _deflate([data]), zlib.crc32(data), len(data)) for name, data in members.items()]


def _sample() -> dict[str, bytes]:
    from documents.sample import sample_draft

    return _members(sample_draft())


def _with_document(body: str, prolog: str = "") -> bytes:
    members = _sample()
    members["word/document.xml"] = (
        f"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>{prolog}"
        f"<w:document {W_DECL}><w:body>{body}</w:body></w:document>"
    ).encode()
    return raw_zip(_honest(members))


# ----------------------------------------------------------------------- hostile files


def bomb() -> bytes:
    """document.xml followed in its deflate stream by 1 GiB of zeros; headers claim the document."""
    entries = []
    for name, data in _sample().items():
        if name == "word/document.xml":
            payload = _deflate_repeated(data, bytes(MB), 1024)[0]
            entries.append((name, payload, zlib.crc32(data), len(data)))
        else:
            entries.append((name, _deflate([data]), zlib.crc32(data), len(data)))
    return raw_zip(entries)


def bomb_media() -> bytes:
    """A picture claiming 8 KB that inflates to 2 GiB."""
    members = _sample()
    entries = _honest(members)
    head = bytes(8192)
    payload = _deflate_repeated(b"", bytes(MB), 2048)[0]
    entries.append(("word/media/image1.png", payload, zlib.crc32(head), len(head)))
    return raw_zip(entries)


def bomb_honest() -> bytes:
    """A 190 MB document.xml whose headers say so (under the old 200 MB check)."""
    para = (
        b'<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:t>1.1 Member States shall '
        b"extend coverage.</w:t></w:r></w:p>"
    )
    head = f"<?xml version='1.0' encoding='UTF-8'?><w:document {W_DECL}><w:body>".encode()
    return _with_repeated_document(head, para * (MB // len(para)), 190, b"</w:body></w:document>")


def _with_repeated_document(head: bytes, block: bytes, count: int, tail: bytes) -> bytes:
    members = _sample()
    del members["word/document.xml"]
    entries = _honest(members)
    entries.append(("word/document.xml", *_deflate_repeated(head, block, count, tail)))
    return raw_zip(entries)


def many_members(count: int = 100_000, declared: int | None = None) -> bytes:
    entries = _honest(_sample())
    empty = _deflate([b""])
    entries += [(f"x/{i:x}", empty, 0, 0) for i in range(count)]
    return raw_zip(entries, declared)


def members_hidden() -> bytes:
    return many_members(100_000, declared=17)


def wide() -> bytes:
    head = f"<w:document {W_DECL}><w:body>".encode()
    # 400 MB, 70 million elements
    return _with_repeated_document(head, b"<w:p/>" * (MB // 6), 400, b"</w:body></w:document>")


def nested() -> bytes:
    depth = 100_000
    return _with_document("<w:p>" + "<w:r>" * depth + "</w:r>" * depth + "</w:p>")


def laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return _with_document(
        "<w:p><w:r><w:t>1.1 &lol9;</w:t></w:r></w:p>",
        prolog=f"<!DOCTYPE w:document [{''.join(entities)}]>",
    )


def external() -> bytes:
    return _with_document(
        "<w:p><w:r><w:t>1.1 &x;</w:t></w:r></w:p>",
        prolog='<!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    )


def _node_budget(members: dict[str, bytes], body: str) -> int:
    """Nodes left under the limit once the other XML parts and ``body`` are counted."""
    from documents.draft._unpack import MAX_XML_NODES

    used = sum(
        data.count(b"<") + 2 * data.count(b"=")
        for name, data in members.items()
        if name.endswith((".xml", ".rels")) and name != "word/document.xml"
    )
    return MAX_XML_NODES - used - body.count("<") - 2 * body.count("=") - 200


def worst_accepted() -> bytes:
    """The costliest nodes (empty elements of distinct names) up to just under the limit."""
    clauses = "".join(f"<w:p><w:r><w:t>1.{i} Clause {i}.</w:t></w:r></w:p>" for i in range(1, 50))
    count = _node_budget(_sample(), clauses)
    return _with_document(clauses + "".join(f"<t{i:x}/>" for i in range(count)))


def worst_text() -> bytes:
    """Clauses of long text up to just under the XML size limit."""
    from documents.draft._unpack import MAX_XML_BYTES

    members = _sample()
    room = (
        MAX_XML_BYTES
        - sum(
            len(data)
            for name, data in members.items()
            if name.endswith((".xml", ".rels")) and name != "word/document.xml"
        )
        - 4096
    )
    words = " ".join(_WORDS) + " "
    text = (words * (20_000 // len(words) + 1))[:20_000]
    clause = "<w:p><w:r><w:t>{n} " + text + "</w:t></w:r></w:p>"
    count = room // (len(clause) + 8)
    return _with_document("".join(clause.format(n=f"1.{i}") for i in range(1, count + 1)))


def clauses() -> bytes:
    """Short numbered clauses, just under the paragraph limit: what clauses cost."""
    from documents.draft._parser import MAX_PARAGRAPHS

    return _with_document(
        "".join(
            f"<w:p><w:r><w:t>{i // 999 + 1}.{i % 999 + 1} Member States shall report.</w:t></w:r></w:p>"
            for i in range(1, MAX_PARAGRAPHS)
        )
    )


_LEGIT_PARA = (
    '<w:p w:rsidR="00A1B2C3" w:rsidRDefault="00A1B2C3" w:rsidP="00D4E5F6"><w:pPr>'
    '<w:spacing w:after="120" w:line="276" w:lineRule="auto"/><w:ind w:left="567" '
    'w:hanging="567"/><w:jc w:val="both"/></w:pPr><w:r w:rsidRPr="00B7C8D9"><w:rPr>'
    '<w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:cs="Arial"/><w:sz w:val="22"/>'
    '<w:szCs w:val="22"/></w:rPr><w:t>{n}</w:t></w:r><w:r w:rsidRPr="00B7C8D9"><w:rPr>'
    '<w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:cs="Arial"/><w:sz w:val="22"/>'
    '<w:szCs w:val="22"/></w:rPr><w:tab/><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'
)
_WORDS = [
    "Member",
    "States",
    "shall",
    "endeavour",
    "to",
    "extend",
    "social",
    "protection",
    "coverage",
    "to",
    "all",
    "workers",
    "in",
    "the",
    "informal",
    "economy",
    "and",
    "to",
    "their",
    "families",
    "taking",
    "into",
    "account",
    "national",
    "circumstances",
    "and",
    "the",
    "principles",
    "of",
    "the",
    "ASEAN",
    "Declaration",
    "on",
    "Strengthening",
    "Social",
    "Protection",
    "including",
    "persons",
    "with",
    "disabilities",
    "older",
    "persons",
    "migrant",
    "workers",
    "and",
    "children",
    "with",
    "particular",
    "attention",
    "to",
    "women",
    "and",
    "girls",
]


def legit(sections: int = 400, per_section: int = 25, size: int = 10 * MB - 64 * 1024) -> bytes:
    """A draft as Word writes it, many clauses, filled up to ``size`` with pictures."""
    rng = random.Random(7)
    members = _sample()
    parts = []
    for s in range(1, sections + 1):
        parts.append(
            f'<w:p w:rsidR="00A1B2C3" w:rsidRDefault="00A1B2C3"><w:pPr><w:pStyle w:val="Heading1"/>'
            f"</w:pPr><w:r><w:t>{s}.</w:t><w:tab/><w:t>Section {s} of the Framework</w:t></w:r></w:p>"
        )
        for c in range(1, per_section + 1):
            text = " ".join(rng.choice(_WORDS) for _ in range(40)).capitalize() + "."
            parts.append(_LEGIT_PARA.format(n=f"{s}.{c}", text=text))
    members["word/document.xml"] = (
        f"<?xml version='1.0' encoding='UTF-8' standalone='yes'?><w:document {W_DECL}>"
        f"<w:body>{''.join(parts)}</w:body></w:document>"
    ).encode()
    rels = members["word/_rels/document.xml.rels"].decode()
    types = members["[Content_Types].xml"].decode()
    if 'Extension="png"' not in types:
        types = types.replace("<Default ", '<Default Extension="png" ContentType="image/png"/><Default ', 1)
    members["[Content_Types].xml"] = types.encode()
    base = len(raw_zip(_honest(members)))
    pictures = max(1, (size - base) // (512 * 1024))
    extra = []
    for i in range(1, pictures + 1):
        name = f"word/media/image{i}.png"
        rels = rels.replace(
            "</Relationships>",
            f'<Relationship Id="rIdImg{i}" Type="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships/image" Target="media/image{i}.png"/></Relationships>',
        )
        extra.append(name)
    members["word/_rels/document.xml.rels"] = rels.encode()
    base = len(raw_zip(_honest(members)))
    each = (size - base) // pictures - 100
    for name in extra:
        members[name] = b"\x89PNG\r\n\x1a\n" + rng.randbytes(each - 8)
    return raw_zip(_honest(members))


CASES = {
    "bomb": bomb,
    "bomb_media": bomb_media,
    "bomb_honest": bomb_honest,
    "members": many_members,
    "members_hidden": members_hidden,
    "wide": wide,
    "nested": nested,
    "laughs": laughs,
    "external": external,
    "worst_accepted": worst_accepted,
    "worst_text": worst_text,
    "clauses": clauses,
    "legit": legit,
}


# ----------------------------------------------------------------------- measuring


def _status(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(path: str, on_loop: bool = False, repeat: int = 3) -> dict:
    """Parse the file at ``path`` in this process as the bot does; what it cost.

    The parse runs ``repeat`` times; the time and the stall are the least of the runs
    (other processes on the machine only ever add to them), the peak is that of all runs.
    """
    import asyncio
    import time

    import bot.app  # noqa: F401  - the bot's imports, for a realistic resident set
    from documents.draft import DraftError, parse_draft

    data = Path(path).read_bytes()
    base = _status("VmRSS")
    try:  # reset the peak to the current resident set (Linux 4.0+)
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        peak_from = "reset"
    except OSError:
        peak_from = "start"

    async def once() -> dict:
        done = asyncio.Event()
        stall = 0.0

        async def ticker() -> None:
            nonlocal stall
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.001)
                stall = max(stall, time.perf_counter() - before - 0.001)

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        start = time.perf_counter()
        try:
            if on_loop:
                draft = parse_draft(data)
            else:
                draft = await asyncio.to_thread(parse_draft, data)
            outcome = f"parsed {draft.clause_count} clauses"
            refused = ""
            del draft
        except DraftError as exc:
            outcome = type(exc).__name__
            refused = str(exc)
        seconds = time.perf_counter() - start
        done.set()
        await tick
        return {"outcome": outcome, "message": refused, "seconds": seconds, "stall_ms": stall * 1000}

    async def runs() -> dict:
        results = [await once() for _ in range(max(1, repeat))]
        first = results[0]
        first["seconds"] = min(r["seconds"] for r in results)
        first["stall_ms"] = min(r["stall_ms"] for r in results)
        return first

    result = asyncio.run(runs())
    peak = _status("VmHWM")
    result.update(size_mb=len(data) / MB, base_mb=base, peak_mb=peak, growth_mb=peak - base, peak_from=peak_from)
    return result


def run_case(path: str, on_loop: bool = False, timeout: float = 300, repeat: int = 3) -> dict:
    """:func:`measure` in a fresh child process."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import upload; "
        f"print(json.dumps(upload.measure({path!r}, {on_loop!r}, {repeat!r})))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    failed = {
        "seconds": 0.0,
        "stall_ms": 0.0,
        "size_mb": os.path.getsize(path) / MB,
        "base_mb": 0.0,
        "peak_mb": 0.0,
        "growth_mb": 0.0,
        "message": "",
    }
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {**failed, "outcome": f"timed out ({timeout:.0f} s)", "seconds": timeout}
    if result.returncode != 0:
        return {
            **failed,
            "outcome": f"child failed ({result.returncode})",
            "message": result.stderr.strip().splitlines()[-1][:200] if result.stderr else "",
        }
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--case", action="append", choices=sorted(CASES), help="run only this case (repeatable); default: all"
    )
    parser.add_argument("--on-loop", action="store_true", help="parse on the event loop instead of in a thread")
    parser.add_argument("--limit-mb", type=float, default=300)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per case")
    parser.add_argument("--repeat", type=int, default=3, help="parses per case; time and stall are the least of them")
    args = parser.parse_args(argv)
    names = args.case or list(CASES)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = os.path.join(tmp, name + ".docx")
            Path(path).write_bytes(CASES[name]())
            result = results[name] = run_case(path, args.on_loop, args.timeout, args.repeat)
            os.remove(path)
            print(
                f"{name:15} {result['size_mb']:5.1f} MB  {result['outcome']:22} "
                f"{result['seconds']:6.2f} s  base {result['base_mb']:5.0f} MB  peak "
                f"{result['peak_mb']:5.0f} MB  growth {result['growth_mb']:5.0f} MB  stall "
                f"{result['stall_ms']:6.1f} ms  {result['message'][:90]}",
                flush=True,
            )

    def peak(name: str) -> float:
        return results[name]["peak_mb"] if name in results else 0.0

    print(
        f"bomb_peak_mb={peak('bomb'):.0f} legit_peak_mb={peak('legit'):.0f} "
        f"worst_peak_mb={max(r['peak_mb'] for r in results.values()):.0f} "
        f"max_growth_mb={max(r['growth_mb'] for r in results.values()):.0f} "
        f"max_stall_ms={max(r['stall_ms'] for r in results.values()):.1f} "
        f"limit_mb={args.limit_mb:.0f}"
    )


if __name__ == "__main__":
    try:
        main()
    except BaseException:  # --help, argument errors, failures: the figures line still ends
        sys.stdout.flush()
        print("bomb_peak_mb=0 legit_peak_mb=0 worst_peak_mb=0 max_growth_mb=0 max_stall_ms=0 limit_mb=300", flush=True)
        raise
