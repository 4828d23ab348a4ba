"""The whole record of a consultation as one zip: every version as uploaded, the comparison
of each version with the next, the consolidation, record.json and a README."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

from docx import Document
from sqlalchemy import select

from bot.models import Version
from bot.rendering import RENDERER
from bot.services import answers, consolidation, export, rounds
from bot.services.errors import Refused
from bot.services.export import stored_mapping
from bot.services.registry import CONSOLE
from documents.draft import parse_draft
from tests.documents.reading import part, resolved, text_of
from tests.factories import small_draft
from tests.refusals import refused
from tests.services.test_answers import NOW, _comment, _round


def revised_draft() -> bytes:
    """v1: clause 2.2 reworded, 1.2 deleted, a clause 3.2 added."""
    document = Document(io.BytesIO(small_draft()))
    for paragraph in document.paragraphs:
        if paragraph.text.startswith("2.2 "):
            paragraph.text = "2.2 Sectoral bodies will report progress every year, starting in 2027."
        elif paragraph.text.startswith("1.2 "):
            paragraph._p.getparent().remove(paragraph._p)
    document.add_paragraph("3.2 A final review will take place in 2030.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def _two_versions(session):
    """v0 commented on and answered, closed; v1 uploaded, its final comments open with one
    comment on its changed clause 2.2."""
    consultation, (thai, khmer, officer, _), saved = await _round(session)
    deleted = await _comment(session, khmer, consultation, "1.2", "Say which strategies.")
    # The Secretariat consolidates (the comments get their numbers), then answers.
    await consolidation.gather(session, officer, consultation, now=NOW)
    await answers.record(session, officer, saved[0].comment_id, "accepted", None, now=NOW)  # 2.2
    await answers.record(session, officer, saved[1].comment_id, "noted", None, now=NOW)  # 1.1
    await answers.record(session, officer, deleted.comment_id, "partly", "Merged into 1.1.", now=NOW)
    await rounds.close_round(session, officer, consultation, now=NOW + timedelta(days=31))
    await rounds.import_draft(session, revised_draft(), "plan-v1.docx", version_of=consultation)
    await rounds.open_round(
        session, officer, consultation, NOW + timedelta(days=60), render=RENDERER, now=NOW + timedelta(days=32)
    )
    await _comment(session, thai, consultation, "2.2", "Every year is too often.")
    return consultation, (thai, khmer, officer)


def _clauses(draft: bytes) -> list[tuple[str, str]]:
    return [(c.ref, c.text) for c in parse_draft(draft).clauses]


async def test_the_zip_holds_every_version_their_comparison_the_consolidation_and_the_record(session):
    consultation, (_thai, _khmer, officer) = await _two_versions(session)
    done = await export.export_consultation(session, officer, consultation, now=NOW + timedelta(days=33))

    assert done.filename == "plan-of-action-on-social-record.zip"
    archive = zipfile.ZipFile(io.BytesIO(done.data))
    assert archive.testzip() is None
    assert tuple(archive.namelist()) == done.manifest
    assert done.manifest == (
        "README.txt",
        "record.json",
        "versions/v0-plan.docx",
        "versions/v1-plan-v1.docx",
        "comparisons/v0-to-v1.docx",
        "consolidated/v0-consolidated.docx",
        "consolidated/v0-with-proposals.docx",
        "consolidated/v0-comment-matrix.xlsx",
        "consolidated/v1-consolidated.docx",
        "consolidated/v1-with-proposals.docx",
        "consolidated/v1-comment-matrix.xlsx",
    )
    # The drafts as uploaded, byte for byte.
    uploaded = [data for (data,) in await session.execute(select(Version.draft_bytes).order_by(Version.number))]
    assert [archive.read("versions/v0-plan.docx"), archive.read("versions/v1-plan-v1.docx")] == uploaded
    assert _clauses(uploaded[1]) == _clauses(revised_draft())

    # The comparison: accepting every change gives v1, rejecting them all gives v0.
    compared = archive.read("comparisons/v0-to-v1.docx")
    assert _clauses(resolved(compared, accept=True)) == _clauses(revised_draft())
    assert _clauses(resolved(compared, accept=False)) == _clauses(small_draft())
    # Each clause carries the answers to the comments on the clause it comes from.
    notes = [text_of(c) for c in part(compared, "word/comments.xml")]
    assert "TH-001 accepted" in notes  # on 2.2, reworded
    assert "KH-001 noted" in notes  # on 1.1, unchanged
    assert "KH-002 accepted in part" in notes  # on 1.2, deleted
    assert not any("TH-002" in n for n in notes)  # 3.1: not answered

    # The consolidation of each version, as /consolidate made it then and makes it now: its
    # own draft, its own comments, its own stage's deadline.
    def notes_of(name: str) -> str:
        return "".join(text_of(c) for c in part(archive.read(name), "word/comments.xml"))

    assert "Every year is too often." in notes_of("consolidated/v1-consolidated.docx")
    assert "Every year is too often." not in notes_of("consolidated/v0-consolidated.docx")
    first_notes = notes_of("consolidated/v0-consolidated.docx")
    assert "Every two years is too rare." in first_notes and "Say which strategies." in first_notes
    original = _clauses(small_draft())  # v0, then the annex of comments
    assert _clauses(resolved(archive.read("consolidated/v0-with-proposals.docx"), accept=False))[: len(original)] == (
        original
    )

    def deadline_of(name: str) -> str:
        xml = zipfile.ZipFile(io.BytesIO(archive.read(name))).read("word/document.xml").decode()
        text = re.sub(r"<[^>]+>", " ", xml)
        return re.search(r"Deadline for comments\s+(.{0,40}?\d{4})", text).group(1)

    assert deadline_of("consolidated/v0-consolidated.docx") == "Wed 23 Dec 2026"  # the first round's
    assert deadline_of("consolidated/v1-consolidated.docx") == "Fri 22 Jan 2027"  # the final comments'
    assert archive.read("consolidated/v1-comment-matrix.xlsx")[:2] == b"PK"

    record = json.loads(archive.read("record.json").decode("utf-8"))
    assert (record["name"], record["title"]) == ("plan-of-action-on-social", "Plan of Action on Social Protection")
    assert [(v["label"], v["filename"]) for v in record["versions"]] == [("v0", "plan.docx"), ("v1", "plan-v1.docx")]
    assert [(s["position"], s["kind"], s["version"], s["status"]) for s in record["stages"]] == [
        (1, "comments", "v0", "closed"),
        (2, "final", "v1", "open"),
    ]
    assert record["stages"][0]["closed"] == "2026-12-24T08:00:00Z"
    by_number = {c["number"]: c for c in record["comments"]}
    assert {n: (c["stage"], c["version"], c["clause"], c["body"], c["state"]) for n, c in by_number.items()} == {
        "KH-001": (1, "v0", "1.1", "SLOM", "Cambodia"),
        "KH-002": (1, "v0", "1.2", "SLOM", "Cambodia"),
        "TH-001": (1, "v0", "2.2", "SOMHD", "Thailand"),
        "TH-002": (1, "v0", "3.1", "SOMHD", "Thailand"),
        "TH-003": (2, "v1", "2.2", "SOMHD", "Thailand"),
    }
    assert by_number["TH-001"]["text"] == "Every two years is too rare."
    assert by_number["TH-001"]["answer"] == {
        "disposition": "accepted",
        "observation": None,
        "answered": "2026-11-23T08:00:00Z",
    }
    assert by_number["KH-002"]["answer"]["observation"] == "Merged into 1.1."
    assert by_number["TH-002"]["answer"] is None
    assert (by_number["TH-003"]["type"], by_number["TH-003"]["status"]) == ("te", "active")
    assert record["endorsements"] == []

    readme = archive.read("README.txt").decode("utf-8")
    for name in done.manifest:
        assert name in readme


async def test_a_consultation_of_one_version_has_no_comparison(session):
    consultation, (_thai, _khmer, officer, _), _saved = await _round(session)
    done = await export.export_consultation(session, officer, consultation, now=NOW)
    assert done.manifest == (
        "README.txt",
        "record.json",
        "versions/v0-plan.docx",
        "consolidated/v0-consolidated.docx",
        "consolidated/v0-with-proposals.docx",
        "consolidated/v0-comment-matrix.xlsx",
    )
    record = json.loads(zipfile.ZipFile(io.BytesIO(done.data)).read("record.json"))
    # Exporting numbers the comments, as consolidating does.
    assert sorted(c["number"] for c in record["comments"]) == ["KH-001", "TH-001", "TH-002"]


async def test_only_the_secretariat_may_export(session):
    consultation, (thai, khmer, _officer, _), _saved = await _round(session)
    for someone in (thai, khmer):
        with refused(Refused, "Only the Secretariat"):
            await export.export_consultation(session, someone, consultation, now=NOW)


async def test_the_stored_mapping_is_the_one_compared_and_without_it_the_versions_are_mapped_again(session):
    consultation, _people = await _two_versions(session)
    v0, v1 = consultation.versions
    clauses = {v.id: await export._clauses(session, v.id) for v in (v0, v1)}
    rebuilt = stored_mapping(v1.mapping, clauses[v0.id], clauses[v1.id])
    assert rebuilt is not None
    assert sorted(rounds.mapping_record(rebuilt), key=repr) == sorted(
        ({**row, "confidence": 1.0, "basis": "corrected"} for row in v1.mapping), key=repr
    )
    # A mapping that does not name these clauses is not used.
    assert stored_mapping(v1.mapping[1:], clauses[v0.id], clauses[v1.id]) is None
    assert stored_mapping([{"new": "9.9", "old": None}], clauses[v0.id], clauses[v1.id]) is None
    # Nor one stored for other texts (2.2 unchanged, where these versions' 2.2 was reworded).
    stale = [{**row, "kind": "unchanged", "edited": False} if row["new"] == "2.2" else row for row in v1.mapping]
    assert stored_mapping(stale, clauses[v0.id], clauses[v1.id]) is None

    # A version kept without its mapping is compared all the same.
    (await session.scalar(select(Version).where(Version.id == v1.id))).mapping = None
    await session.flush()
    done = await export.export_consultation(session, CONSOLE, consultation, now=NOW + timedelta(days=33))
    compared = zipfile.ZipFile(io.BytesIO(done.data)).read("comparisons/v0-to-v1.docx")
    assert _clauses(resolved(compared, accept=True)) == _clauses(revised_draft())
    assert _clauses(resolved(compared, accept=False)) == _clauses(small_draft())


def test_a_draft_keeps_a_safe_name_in_the_zip():
    assert export.version_entry("v0", "plan.docx") == "versions/v0-plan.docx"
    assert export.version_entry("v1", "../../etc/Plan: v1?.DOCX") == "versions/v1-Plan_ v1_.docx"
    assert export.version_entry("v2", "C:\\drafts\\revised") == "versions/v2-revised.docx"
    assert export.version_entry("v3", "..docx") == "versions/v3-draft.docx"
