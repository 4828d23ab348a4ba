"""The outputs open in real office software.

LibreOffice (Writer) must convert both Word outputs to PDF with a plausible number of
pages and show the Secretariat's replies next to the comments they answer, and pandoc
must find every comment and reply, every tracked insertion and the deletions in them. Without ``soffice`` and ``pandoc`` on PATH the tests are
skipped, unless CLAUSEBOT_REQUIRE_OFFICE=1, in which case they fail (CI sets this where
the tools are installed).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from lxml import etree

from documents.consolidate import CONTESTED_AUTHOR, CommentEntry, consolidate, draft_with_proposals

from .builders import w
from .reading import part
from .test_comparison import comparison
from .test_consolidate import _comments, _info
from .test_proposals import START, _entries

pytestmark = pytest.mark.office

TIMEOUT = 180


def _require_tools() -> tuple[str, str]:
    soffice, pandoc = shutil.which("soffice"), shutil.which("pandoc")
    if soffice and pandoc:
        return soffice, pandoc
    missing = ", ".join(name for name, path in (("soffice", soffice), ("pandoc", pandoc)) if not path)
    if os.environ.get("CLAUSEBOT_REQUIRE_OFFICE") == "1":
        pytest.fail(f"CLAUSEBOT_REQUIRE_OFFICE=1 but {missing} is not on PATH")
    pytest.skip(f"{missing} not on PATH")


def _spans(node, found: collections.Counter, authors: dict[str, set]) -> None:
    """Count pandoc spans by class; collect the authors of insertions and deletions."""
    if isinstance(node, list):
        for item in node:
            _spans(item, found, authors)
        return
    if not isinstance(node, dict):
        return
    if node.get("t") == "Span":
        _, classes, attributes = node["c"][0]
        for name in classes:
            found[name] += 1
            if name in ("insertion", "deletion"):
                authors.setdefault(name, set()).add(dict(attributes).get("author"))
    for value in node.values():
        _spans(value, found, authors)


def _words(node, out: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _words(item, out)
    elif isinstance(node, dict):
        if node.get("t") == "Str":
            out.append(node["c"])
        for value in node.values():
            _words(value, out)


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def _pandoc(path: Path) -> dict:
    _, pandoc = _require_tools()
    result = subprocess.run(
        [pandoc, "--track-changes=all", "-t", "json", str(path)],
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
    )
    return json.loads(result.stdout)


def _word_replaced(sample, ref: str, old: str, new: str) -> list[CommentEntry]:
    clause = sample.clause(ref)
    return [
        CommentEntry(
            number="R-001",
            clause_ref=ref,
            paragraphs=clause.paragraphs,
            body="SLOM",
            state="Thailand",
            kind="ed",
            text="A plainer verb.",
            proposed=clause.text.replace(old, new, 1),
            created_at=START,
            proposed_whole=True,
        )
    ]


def _changes_hidden(data: bytes) -> bytes:
    """``data`` set to open with its tracked changes hidden (w:revisionView), as in
    LibreOffice's Edit ▸ Track Changes ▸ Show turned off: the text as if accepted."""
    document = docx.Document(io.BytesIO(data))
    settings = document.settings.element
    view = settings.makeelement(w("revisionView"), {w("insDel"): "0", w("formatting"): "0"})
    settings.insert(0, view)  # a copy to look at, not an output: its place is not checked
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@dataclasses.dataclass
class Outputs:
    paths: dict[str, Path]
    comments: dict[str, int]  # Word comments in each output: the delegates' and the replies
    answers: list[str]  # the answers given, each a reply in both outputs

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]


@pytest.fixture(scope="module")
def files(tmp_path_factory, sample_bytes, sample) -> Outputs:
    folder = tmp_path_factory.mktemp("office")
    comments = _comments(sample)
    replaced = draft_with_proposals(sample_bytes, _word_replaced(sample, "3.3", "Explore", "Study"), _info())
    with_proposals = comments + _entries(sample)
    outputs = {
        "draft.docx": sample_bytes,
        "consolidated.docx": consolidate(sample_bytes, comments, _info()),
        "proposals.docx": draft_with_proposals(sample_bytes, with_proposals, _info()),
        # Proposals only, as delegates make them (see test_proposals.PROPOSALS).
        "numbering.docx": draft_with_proposals(sample_bytes, _entries(sample), _info()),
        # The sample's next version compared with it (see test_comparison.next_version).
        "comparison.docx": comparison(sample_bytes)[3],
        # One word replaced in a clause numbered automatically, as it opens and as it
        # opens with the changes hidden (see the numbering test).
        "replaced.docx": replaced,
        "replaced-hidden.docx": _changes_hidden(replaced),
    }
    paths = {}
    for name, data in outputs.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    answers = [c.answer for c in comments if c.answer]
    assert answers
    counts = {"consolidated": len(comments) + len(answers), "proposals": len(with_proposals) + len(answers)}
    return Outputs(paths, counts, answers)


@pytest.fixture(scope="module")
def pdfs(files, tmp_path_factory) -> dict[str, Path]:
    """The draft and the outputs converted to PDF by one LibreOffice run."""
    soffice, _ = _require_tools()
    folder = tmp_path_factory.mktemp("pdf")
    names = [
        "draft.docx",
        "consolidated.docx",
        "proposals.docx",
        "numbering.docx",
        "comparison.docx",
        "replaced.docx",
        "replaced-hidden.docx",
    ]
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *(str(files[name]) for name in names),
        ],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    found = {}
    for name in names:
        pdf = folder / (Path(name).stem + ".pdf")
        assert pdf.exists(), (name, result.stderr.decode(errors="replace"))
        found[name] = pdf
    return found


@pytest.fixture(scope="module")
def pdf_pages(pdfs) -> dict[str, int]:
    return {name: _pdf_pages(path.read_bytes()) for name, path in pdfs.items()}


def test_libreoffice_converts_every_output_to_pdf(pdf_pages):
    draft = pdf_pages["draft.docx"]
    assert draft >= 3
    for name in ("consolidated.docx", "proposals.docx"):
        # The draft, at least a page of cover and a page of annex; not absurdly more
        # (the annex of these 30 comments is long: one of them is 20,000 characters).
        assert draft + 2 <= pdf_pages[name] <= draft + 40, (name, pdf_pages)


# A list number LibreOffice shows with another in brackets ("[5.4]", "5.3[5.4]", "[b)]"): in
# its Show Changes view it adds the number the paragraph had before the tracked changes
# when it takes the paragraph to be deleted, which it does for a numbered paragraph that a
# deletion reaches into from the paragraph before (LibreOffice 7.4 also for any deletion
# inside it: there, words replaced in an automatically numbered clause still show so).
BRACKETED = re.compile(r"^\S*\[[^\]\s]{1,12}\]", re.MULTILINE)


def test_libreoffice_shows_the_clause_numbers_of_the_draft_with_proposals_as_they_are(pdfs):
    lines = _pdf_lines(pdfs["numbering.docx"])
    assert [line for line in lines if BRACKETED.match(line)] == []
    # 5.3 drops the paragraph after its table (the next clause, 5.4, is numbered
    # automatically), 3.1 gains a phrase, 1.5 drops its second paragraph.
    for number, start in (("5.3", "Develop ASEAN"), ("5.4", "Undertake a mid-term"), ("3.1", "Strengthen")):
        assert any(line.startswith(f"{number} {start}") for line in lines), number


def _pdf_lines(path: Path) -> list[str]:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return [line.strip() for line in text.splitlines()]


# LibreOffice's own file: a numbered list of four, one word of the second deleted with the
# changes tracked.
OWN_LIST = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles><text:list-style style:name="L1">
<text:list-level-style-number text:level="1" style:num-suffix="." style:num-format="1"/>
</text:list-style></office:automatic-styles>
<office:body><office:text>
<text:tracked-changes><text:changed-region text:id="c1"><text:deletion><office:change-info>
<dc:creator>A</dc:creator><dc:date>2026-01-01T00:00:00</dc:date></office:change-info>
<text:p>beta </text:p></text:deletion></text:changed-region></text:tracked-changes>
<text:list text:style-name="L1">
<text:list-item><text:p>First item.</text:p></text:list-item>
<text:list-item><text:p>Alpha <text:change text:change-id="c1"/>gamma.</text:p></text:list-item>
<text:list-item><text:p>Third item.</text:p></text:list-item>
<text:list-item><text:p>Fourth item.</text:p></text:list-item>
</text:list>
</office:text></office:body></office:document>
"""


def test_libreoffice_brackets_a_numbered_paragraph_with_a_deletion_in_a_file_of_its_own(files, tmp_path):
    """What the README says of LibreOffice's numbering, shown on a file LibreOffice wrote the
    way it writes them: the brackets are its display, not something of the bot's files. When
    this fails, LibreOffice shows such numbers as they are: tighten the test below to no
    brackets at all."""
    files.paths["own-list.fodt"] = tmp_path / "own-list.fodt"
    files.paths["own-list.fodt"].write_text(OWN_LIST, encoding="utf-8")
    lines = _pdf_lines(_convert(files, "own-list.fodt", "pdf", tmp_path))
    assert any(line.startswith("[2.]") for line in lines), lines


def test_a_word_replaced_in_a_clause_numbered_automatically(pdfs):
    """LibreOffice 7.4 shows an automatically numbered paragraph holding a tracked deletion
    as if the paragraph were deleted, "[3.3]", and the numbers after it as "3.3[3.4]"; it
    does the same with a file of its own (a one-word deletion in a list of an .odt), and
    shows the numbers right with the changes hidden, as Word shows them either way. This
    pins down that nothing else of the file is the cause: hidden, every number is the
    draft's and none is bracketed; shown, only the clauses of that list from the changed
    one on are."""
    hidden = _pdf_lines(pdfs["replaced-hidden.docx"])
    assert [line for line in hidden if BRACKETED.match(line)] == []
    for number, start in (("3.2", "Improve the coverage"), ("3.3", "Study arrangements"), ("3.4", "Develop minimum")):
        assert any(line.startswith(f"{number} {start}") for line in hidden), (number, hidden[:80])
    shown = [line for line in _pdf_lines(pdfs["replaced.docx"]) if BRACKETED.match(line)]
    allowed = re.compile(r"^(3\.\d)?\[3\.([3-9])\]")
    assert all(allowed.match(line) for line in shown), shown


def _convert(files: Outputs, name: str, target: str, folder: Path) -> Path:
    soffice, _ = _require_tools()
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(folder),
            str(files[name]),
        ],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    converted = folder / f"{Path(name).stem}.{target}"
    assert converted.exists(), result.stderr.decode(errors="replace")
    return converted


def _cover_only(data: bytes) -> bytes:
    """``data`` reduced to its cover, in the page setup of the draft's first section,
    without the page break that ends it."""
    document = docx.Document(io.BytesIO(data))
    body = document.element.body
    first_section = next(
        p.find(f"{w('pPr')}/{w('sectPr')}")
        for p in body.iter(w("p"))
        if p.find(f"{w('pPr')}/{w('sectPr')}") is not None
    )
    section = copy.deepcopy(first_section)
    for child in list(body)[1:]:
        body.remove(child)
    content = body[0].find(w("sdtContent"))
    content.remove(content[-1])
    body.append(section)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_the_cover_with_the_answers_fits_on_one_page(files, tmp_path):
    data = files["consolidated.docx"].read_bytes()
    facts = [p for p in part(data).iter(w("tc")) if "not yet answered" in "".join(p.itertext())]
    assert facts  # the answers are counted on the cover
    files.paths["cover.docx"] = tmp_path / "cover.docx"
    files.paths["cover.docx"].write_bytes(_cover_only(data))
    pdf = _convert(files, "cover.docx", "pdf", tmp_path)
    assert _pdf_pages(pdf.read_bytes()) == 1


ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
ODF_DC = "http://purl.org/dc/elements/1.1/"


def test_libreoffice_shows_each_reply_beside_the_comment_it_answers(files, tmp_path):
    """LibreOffice reads the replies as comments by the Secretariat on the same text as
    the delegate's comment, next to it (LibreOffice 7 keeps no thread of its own)."""
    odt = _convert(files, "consolidated.docx", "odt", tmp_path)
    content = etree.fromstring(zipfile.ZipFile(odt).read("content.xml"))
    annotation = f"{{{ODF_OFFICE}}}annotation"
    found = []
    for note in content.iter(annotation):
        author = note.findtext(f"{{{ODF_DC}}}creator")
        if author != CONTESTED_AUTHOR:
            continue
        text = "\n".join("".join(p.itertext()) for p in note if etree.QName(p).localname == "p")
        neighbours = [n for n in (note.getprevious(), note.getnext()) if n is not None and n.tag == annotation]
        assert any(n.findtext(f"{{{ODF_DC}}}creator") != CONTESTED_AUTHOR for n in neighbours), text
        found.append(text)
    assert collections.Counter(found) == collections.Counter(files.answers)


def test_pandoc_finds_every_comment_and_the_cover(files):
    ast = _pandoc(files["consolidated.docx"])
    found: collections.Counter = collections.Counter()
    _spans(ast["blocks"], found, {})
    assert found["comment-start"] == files.comments["consolidated"]
    assert found["insertion"] == found["deletion"] == 0
    words: list[str] = []
    _words(ast["blocks"], words)
    text = " ".join(words)
    for heading in ("Responses", "Comments by type", "Comments by section", "Annex"):
        assert heading in text


def test_pandoc_shows_the_replies_by_the_secretariat(files):
    ast = _pandoc(files["consolidated.docx"])
    replies = []

    def collect(node) -> None:
        if isinstance(node, list):
            for item in node:
                collect(item)
        elif isinstance(node, dict):
            if node.get("t") == "Span":
                _, classes, attributes = node["c"][0]
                if "comment-start" in classes and dict(attributes).get("author") == CONTESTED_AUTHOR:
                    words: list[str] = []
                    _words(node["c"][1], words)
                    replies.append(" ".join(word for word in words if word != "\u00b6"))  # pandoc's ¶
            for value in node.values():
                collect(value)

    collect(ast["blocks"])
    assert sorted(replies) == sorted(" ".join(answer.split()) for answer in files.answers)


def test_pandoc_sees_the_proposals_as_tracked_changes(files):
    path = files["proposals.docx"]
    ast = _pandoc(path)
    found: collections.Counter = collections.Counter()
    authors: dict[str, set] = {}
    _spans(ast["blocks"], found, authors)

    data = path.read_bytes()
    flags = sum(
        1
        for c in docx.Document(io.BytesIO(data)).comments
        if c.author == CONTESTED_AUTHOR and c.text.startswith("Contested:")
    )
    assert flags >= 1
    assert found["comment-start"] == files.comments["proposals"] + flags
    root = part(data)
    insertions = [i for i in root.iter(w("ins")) if i.getparent().tag != w("rPr")]
    assert found["insertion"] == len(insertions)
    assert found["deletion"] >= 1
    assert authors["insertion"] == {i.get(w("author")) for i in insertions}
    # Deletions are the proposers' own, or the Secretariat's where several change the same words.
    assert authors["deletion"] <= authors["insertion"] | {CONTESTED_AUTHOR}


def test_libreoffice_and_pandoc_read_the_comparison_of_two_versions(files, pdfs):
    from pypdf import PdfReader

    # LibreOffice lays out the changes: the old word struck beside the new ones, every
    # clause number as it is.
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdfs["comparison.docx"]).pages).split())
    assert re.search(r"extended progressively ?gradually and steadily, beginning", text)
    assert "Exchange staff between the secretariats" in text
    lines = [
        line.strip() for page in PdfReader(pdfs["comparison.docx"]).pages for line in page.extract_text().splitlines()
    ]
    assert [line for line in lines if BRACKETED.match(line)] == []
    # pandoc finds every comment and change, and reads the text accepted and rejected.
    data = files["comparison.docx"].read_bytes()
    found: collections.Counter = collections.Counter()
    authors: dict[str, set] = {}
    _spans(_pandoc(files["comparison.docx"])["blocks"], found, authors)
    assert found["comment-start"] == len(docx.Document(io.BytesIO(data)).comments) >= 5
    root = part(data)
    assert found["insertion"] >= len([i for i in root.iter(w("ins")) if i.getparent().tag != w("rPr")])
    assert found["deletion"] >= 1 and authors["deletion"] == authors["insertion"] == {"Secretariat"}
    _, pandoc = _require_tools()
    read = {}
    for mode in ("accept", "reject"):
        result = subprocess.run(
            [pandoc, f"--track-changes={mode}", "-t", "plain", "--wrap=none", str(files["comparison.docx"])],
            capture_output=True,
            timeout=TIMEOUT,
            check=True,
        )
        read[mode] = " ".join(result.stdout.decode().split())
    assert "gradually and steadily" in read["accept"] and "extended progressively" not in read["accept"]
    assert "extended progressively" in read["reject"] and "gradually and steadily" not in read["reject"]
    assert "Exchange staff" in read["accept"] and "Exchange staff" not in read["reject"]
