"""The consolidated draft opens in real office software.

LibreOffice must convert it to PDF and pandoc must find every comment in it. Without
``soffice`` and ``pandoc`` on PATH the test is skipped, unless CLAUSEBOT_REQUIRE_OFFICE=1,
in which case it fails (CI sets this where the tools are installed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from documents.consolidate import consolidate

from .test_consolidate import _comments, _info

pytestmark = pytest.mark.office

TIMEOUT = 120


def _require_tools() -> tuple[str, str]:
    soffice, pandoc = shutil.which("soffice"), shutil.which("pandoc")
    if soffice and pandoc:
        return soffice, pandoc
    missing = ", ".join(name for name, path in (("soffice", soffice), ("pandoc", pandoc))
                        if not path)
    if os.environ.get("CLAUSEBOT_REQUIRE_OFFICE") == "1":
        pytest.fail(f"CLAUSEBOT_REQUIRE_OFFICE=1 but {missing} is not on PATH")
    pytest.skip(f"{missing} not on PATH")


def _count_comment_starts(node) -> int:
    if isinstance(node, list):
        return sum(_count_comment_starts(item) for item in node)
    if not isinstance(node, dict):
        return 0
    count = 0
    if node.get("t") == "Span":
        attributes = node["c"][0]
        if "comment-start" in attributes[1]:
            count += 1
    return count + sum(_count_comment_starts(value) for value in node.values())


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.fixture(scope="module")
def consolidated_file(tmp_path_factory, sample_bytes, sample) -> tuple[Path, int]:
    comments = _comments(sample)
    path = tmp_path_factory.mktemp("office") / "consolidated.docx"
    path.write_bytes(consolidate(sample_bytes, comments, _info()))
    return path, len(comments)


def test_libreoffice_converts_to_pdf(consolidated_file, tmp_path):
    soffice, _ = _require_tools()
    path, _ = consolidated_file
    out_dir = tmp_path / "pdf"
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            str(path),
        ],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    pdf = out_dir / "consolidated.pdf"
    assert pdf.exists(), result.stderr.decode(errors="replace")
    assert _pdf_pages(pdf.read_bytes()) >= 1


def test_pandoc_finds_every_comment(consolidated_file):
    _, pandoc = _require_tools()
    path, count = consolidated_file
    result = subprocess.run(
        [pandoc, "--track-changes=all", "-t", "json", str(path)],
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
    )
    ast = json.loads(result.stdout)
    assert _count_comment_starts(ast["blocks"]) == count
