"""The outputs as a Secretariat forwards them, read back as LibreOffice prints them.

A round the size of the demo's (199 comments, eight bodies and ten Member States, most
pairs with nobody enrolled) and a draft with headers and footers of its own are
consolidated; LibreOffice converts all of it to PDF in one run and pdftotext gives each
page's text. Without soffice, pandoc or pdftotext on PATH the tests are skipped, unless
CLAUSEBOT_REQUIRE_OFFICE=1.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from documents.consolidate import ANNEX_HEADING, consolidate, draft_with_proposals

from .demo_round import SLUG, demo_round
from .test_consolidate import _info
from .test_office import TIMEOUT, _pandoc, _words

pytestmark = pytest.mark.office

# The draft's own header and footers, which the outputs keep.
THEIR_HEADER = "ASEAN Secretariat working document"
THEIR_FOOTER = "Zero draft, not for citation"
THEIR_FIRST_FOOTER = "Zero draft, title page"
# 23 landscape pages of annex for these 199 comments before the columns were sized to
# their content.
ANNEX_PAGES_BEFORE = 23


def _tools() -> tuple[str, str]:
    found = {name: shutil.which(name) for name in ("soffice", "pandoc", "pdftotext")}
    missing = ", ".join(name for name, path in found.items() if not path)
    if missing:
        if os.environ.get("CLAUSEBOT_REQUIRE_OFFICE") == "1":
            pytest.fail(f"CLAUSEBOT_REQUIRE_OFFICE=1 but {missing} is not on PATH")
        pytest.skip(f"{missing} not on PATH")
    return found["soffice"] or "", found["pdftotext"] or ""


def _own_footer_draft(builder) -> bytes:
    """A short draft with a header, a footer and a different first page of its own."""
    builder.title("Plan of Action on Social Protection")
    for n in range(1, 4):
        builder.heading(f"{n}. Part {n}")
        for k in range(1, 9):
            builder.para(f"{n}.{k}\tMember States will act on point {n}.{k}. " + "Further text of the clause. " * 12)
    section = builder.document.sections[0]
    section.different_first_page_header_footer = True
    section.header.paragraphs[0].text = THEIR_HEADER
    section.footer.paragraphs[0].text = THEIR_FOOTER
    section.first_page_footer.paragraphs[0].text = THEIR_FIRST_FOOTER
    return builder.bytes()


@dataclasses.dataclass
class Printed:
    pages: dict[str, list[str]]  # each output's pages, as pdftotext gives them
    files: dict[str, Path]

    def annex(self, name: str) -> list[str]:
        pages = self.pages[name]
        first = next(i for i, page in enumerate(pages) if ANNEX_HEADING in page)
        return pages[first:]


@pytest.fixture(scope="module")
def printed(tmp_path_factory, sample_bytes, sample) -> Printed:
    soffice, pdftotext = _tools()
    folder = tmp_path_factory.mktemp("publication")
    entries, info = demo_round(sample)
    from .builders import DocBuilder

    own = _own_footer_draft(DocBuilder())
    outputs = {
        "consolidated": consolidate(sample_bytes, entries, info),
        "proposals": draft_with_proposals(sample_bytes, entries, info),
        "own-footer": consolidate(own, [], _info()),
    }
    files = {}
    for name, data in outputs.items():
        files[name] = folder / f"{name}.docx"
        files[name].write_bytes(data)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *(str(path) for path in files.values()),
        ],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    pages = {}
    for name in outputs:
        pdf = folder / f"{name}.pdf"
        assert pdf.exists(), name
        text = subprocess.run(
            [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=TIMEOUT, check=True
        ).stdout
        pages[name] = text.split("\f")[:-1]  # every page ends with a form feed
    return Printed(pages, files)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("name", "what"),
    [("consolidated", "Consolidated draft"), ("proposals", "Consolidated draft with proposals")],
)
def test_every_page_ends_with_the_running_footer_and_its_number(printed, name, what):
    pages = printed.pages[name]
    assert len(pages) > 10
    for number, page in enumerate(pages, 1):
        last = page.strip().splitlines()[-1]
        assert _flat(last) == f"{what} \u2013 compiled 2 Feb 2027 \u2013 page {number} of {len(pages)}", number


def test_the_drafts_own_header_and_footers_are_kept_with_the_line_beneath(printed):
    pages = printed.pages["own-footer"]
    assert len(pages) >= 4  # cover, the draft's pages, the annex
    for number, page in enumerate(pages, 1):
        lines = [_flat(line) for line in page.strip().splitlines()]
        assert lines[-1] == f"Consolidated draft \u2013 compiled 2 Dec 2026 \u2013 page {number} of {len(pages)}"
        # The first page (the cover) shows the draft's first-page footer, the others its own.
        assert lines[-2] == (THEIR_FIRST_FOOTER if number == 1 else THEIR_FOOTER), number
        if number > 1:
            assert THEIR_HEADER in lines[:3], number


@pytest.mark.parametrize("name", ["consolidated", "proposals"])
def test_the_cover_is_one_page_and_names_the_draft_not_the_consultation(printed, sample, name):
    pages = printed.pages[name]
    cover, draft = _flat(pages[0]), _flat(pages[1])
    assert cover.startswith(_flat(sample.title))
    for heading in ("Responses", "Comments by type", "Comments by section"):
        assert heading in cover
    assert "Comments by section" not in draft and draft.startswith(_flat(sample.title))  # the draft itself
    assert "No contact enrolled (68)" in cover and "all 10 Member States" in cover
    assert "Sun 31 Jan 2027, 23:59 (Asia/Jakarta, UTC+7)" in cover
    assert not any(SLUG in page for page in pages)


@pytest.mark.parametrize("name", ["consolidated", "proposals"])
def test_no_row_of_the_matrix_is_split_across_pages(printed, name):
    """Each row's number is printed in its first line and at the end of its comment: both on
    one page."""
    where: dict[str, set[int]] = collections.defaultdict(set)
    annex = printed.annex(name)
    for index, page in enumerate(annex):
        for number in re.findall(r"\b[A-Z]{2}-\d{3}\b", page):
            where[number].add(index)
    assert len(where) == 199
    assert {number: pages for number, pages in where.items() if len(pages) > 1} == {}
    # Sized to their content, the columns take far fewer pages than they did.
    assert len(annex) <= ANNEX_PAGES_BEFORE * 3 // 4, len(annex)


def test_the_matrix_heading_block_takes_a_few_lines(printed):
    first = printed.annex("consolidated")[0].splitlines()
    heading = next(i for i, line in enumerate(first) if ANNEX_HEADING in line)
    header_row = next(i for i, line in enumerate(first) if line.split()[:2] == ["No.", "Body"])
    assert header_row - heading <= 5


def test_pandoc_reads_the_cover_and_every_row(printed):
    words: list[str] = []
    _words(_pandoc(printed.files["consolidated"])["blocks"], words)
    text = " ".join(words)
    assert SLUG not in text
    assert "no contact enrolled" in text.lower()
    assert len(set(re.findall(r"\b[A-Z]{2}-\d{3}\b", text))) == 199
