"""The whole record of a consultation as one zip file: `clausebot export NAME --out FILE.zip`.

What the zip holds (its `README.txt` says the same to whoever opens it):

* ``versions/v0-<file>.docx``, ``v1`` …: every version's draft as it was uploaded;
* ``comparisons/v0-to-v1.docx`` …: for each pair of consecutive versions, the new one with
  every change since the old one as tracked changes (:func:`documents.comparison.compare_versions`),
  each clause carrying a Word comment that names the comments on the clause it comes from
  and their answers ("TH-004 accepted");
* ``consolidated/v0-consolidated.docx`` …: for each version with comments, the consolidated
  draft, the draft with proposals and the comment matrix, built as `/consolidate` builds
  them (:mod:`bot.services.consolidation`): the version's comments, with who responded and
  the deadline of its last stage of comments (the current stage, for the current version);
* ``endorsement/endorsement-v1.docx``: the record of each endorsement stage (per body and
  Member State: who answered, when, reservations, objections, the outcome);
* ``record.json``: the consultation in machine-readable form: its versions, its stages,
  every comment (withdrawn and merged ones included) with its answer, and each endorsement
  stage's record (as :func:`documents.endorsement.endorsement_record_json` gives it); times
  in UTC, ISO 8601;
* ``README.txt``: what each file is.

Exporting gives comments not numbered yet their matrix numbers ("TH-004"), as
`/consolidate` does, and changes nothing else. The documents are built in worker threads.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Body,
    Clause,
    Comment,
    Consultation,
    MemberState,
    Role,
    Section,
    Stage,
    StageBody,
    Version,
)
from bot.services import clearance, consolidation, endorsements
from bot.services.errors import NotFound, Reason
from bot.services.registry import Actor, require
from documents import versions
from documents.comparison import compare_versions
from documents.versions import ClauseMapping, Correction, MappingError, map_clauses

README = "README.txt"
RECORD = "record.json"

# (comment number, disposition) pairs by clause reference, as compare_versions takes them.
Reasons = dict[str, list[tuple[str, str]]]


@dataclass(frozen=True)
class Export:
    """The zip (`data`), the name to give it, and the names of the files in it, in order."""

    filename: str
    data: bytes
    manifest: tuple[str, ...]


async def export_consultation(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    *,
    now: datetime,
    timezone: str = "UTC",
) -> Export:
    """The whole consultation as one zip (see the module docstring). Only the Secretariat may
    export. ``timezone`` (an IANA name) is the one the consolidated documents give their
    dates in, as for `/consolidate`; the record itself is in UTC."""
    require(actor, Role.SECRETARIAT)
    ordered = sorted(consultation.versions, key=lambda v: v.number)
    drafts: dict[int, bytes] = {
        version_id: data
        for version_id, data in await session.execute(
            select(Version.id, Version.draft_bytes).where(Version.consultation_id == consultation.id)
        )
        if data
    }
    for version in ordered:
        if version.id not in drafts:
            raise NotFound(Reason.NO_DRAFT, name=consultation.name)

    # First, as /consolidate, each version with its comments: it numbers the comments the
    # record and the comparisons name.
    consolidated: list[tuple[Version, int, consolidation.Outputs]] = []
    for version in ordered:
        gathered = await consolidation.gather(session, actor, consultation, now=now, timezone=timezone, version=version)
        if gathered.entries:
            outputs = await consolidation.compile_outputs(gathered)
            consolidated.append((version, len(gathered.entries), outputs))

    files: list[tuple[str, bytes]] = []
    described: list[tuple[str, str]] = []
    for version in ordered:
        name = version_entry(version.label, version.filename)
        files.append((name, drafts[version.id]))
        described.append((name, f"{version.label} as uploaded on {_day(version.created_at)}"))

    clauses = {version.id: await _clauses(session, version.id) for version in ordered}
    for old, new in pairwise(ordered):
        mapping = await asyncio.to_thread(_mapping_of, new.mapping, clauses[old.id], clauses[new.id])
        reasons, deleted_reasons = await _reasons(session, old.id, mapping)
        compared = await asyncio.to_thread(
            compare_versions,
            drafts[new.id],
            mapping,
            reasons=reasons,
            deleted_reasons=deleted_reasons,
            date=new.created_at,
        )
        name = f"comparisons/{old.label}-to-{new.label}.docx"
        files.append((name, compared))
        described.append(
            (name, f"{new.label} with every change since {old.label} as tracked changes, and the answers behind them")
        )

    for version, count, outputs in consolidated:
        label = version.label
        for suffix, content, what in (
            ("consolidated.docx", outputs.consolidated, "the consolidated draft: every comment on its clause"),
            ("with-proposals.docx", outputs.proposals, "the draft with the proposed wording as tracked changes"),
            ("comment-matrix.xlsx", outputs.matrix, "the comment matrix, with the answers"),
        ):
            name = f"consolidated/{label}-{suffix}"
            files.append((name, content))
            described.append((name, f"{label}, {what} ({count} comment(s))"))

    for made in await endorsements.stage_records(session, consultation, now=now, zone=timezone):
        name = f"endorsement/{made.filename.removeprefix(consultation.name + '-')}"
        files.append((name, made.data))
        outcome = made.tally.result.outcome.value.replace("_", " ")
        described.append((name, f"the endorsement record of {made.tally.version}: {outcome}"))

    record = await _record(session, consultation, ordered, now, timezone)
    readme = _readme(consultation, now, [(RECORD, _RECORD_TEXT), *described])
    manifest = (README, RECORD, *(name for name, _ in files))
    data = await asyncio.to_thread(_pack, readme, record, files, now)
    return Export(f"{consultation.name}-record.zip", data, manifest)


# --- the comparisons --------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    filename: str
    data: bytes
    old: str  # "v0"
    new: str  # "v1"


async def comparison(session: AsyncSession, actor: Actor, consultation: Consultation, number: int) -> Comparison:
    """Version `number` compared with the one before it, as the export holds it: its changes as
    tracked changes, each changed clause naming the answered comments behind it."""
    require(actor, Role.SECRETARIAT)
    ordered = sorted(consultation.versions, key=lambda v: v.number)
    new = next((v for v in ordered if v.number == number), None)
    old = next((v for v in ordered if v.number == number - 1), None)
    if new is None or old is None:
        raise NotFound(Reason.NO_COMPARISON, name=consultation.name, number=number)
    data = await session.scalar(select(Version.draft_bytes).where(Version.id == new.id))
    if not data:
        raise NotFound(Reason.NO_DRAFT, name=consultation.name)
    old_clauses, new_clauses = await _clauses(session, old.id), await _clauses(session, new.id)
    mapping = await asyncio.to_thread(_mapping_of, new.mapping, old_clauses, new_clauses)
    reasons, deleted_reasons = await _reasons(session, old.id, mapping)
    compared = await asyncio.to_thread(
        compare_versions, data, mapping, reasons=reasons, deleted_reasons=deleted_reasons, date=new.created_at
    )
    return Comparison(f"{consultation.name}-{old.label}-to-{new.label}.docx", compared, old.label, new.label)


async def _clauses(session: AsyncSession, version_id: int) -> list[versions.Clause]:
    """A version's clauses as documents.versions reads them, in document order."""
    rows = await session.execute(
        select(Clause.ref, Clause.text, Section.ref, Clause.label, Clause.level, Clause.paragraphs)
        .join(Section, Section.id == Clause.section_id)
        .where(Clause.version_id == version_id)
        .order_by(Clause.position)
    )
    return [versions.Clause(r, t, s, lab, lev, tuple(p or ())) for r, t, s, lab, lev, p in rows]


def stored_mapping(
    rows: Sequence[dict[str, Any]] | None, old: Sequence[versions.Clause], new: Sequence[versions.Clause]
) -> ClauseMapping | None:
    """The mapping kept with a version when it was uploaded (`Version.mapping`, the
    Secretariat's corrections applied), rebuilt over the two versions' clauses; None when the
    rows do not name every clause of both versions exactly once, or were stored for other texts.

    The rows keep which old clause each new one comes from, not how documents.versions found
    it; every row is given back to it as a correction, and from those pairs it works out again
    what moved, what was renumbered and what was edited, as it did at the upload. Confidences
    and bases (sure, doubtful, why) are not needed for the comparison, and are not rebuilt."""
    if not rows:
        return None
    named_new = [str(row["new"]) for row in rows if row.get("new") is not None]
    named_old = [str(row["old"]) for row in rows if row.get("old") is not None]
    if sorted(named_new) != sorted(c.ref for c in new) or sorted(named_old) != sorted(c.ref for c in old):
        return None
    try:
        mapping = ClauseMapping(old, new, (), ()).corrected(Correction(row.get("new"), row.get("old")) for row in rows)
    except MappingError:
        return None
    # The same pairs give the same kinds: a row whose kind or edit is not found again was
    # stored for other texts (a prepared version whose draft was replaced keeps its mapping).
    found = {
        (m.new.ref if m.new else None, m.old.ref if m.old else None): (m.kind.value, m.edited) for m in mapping.matches
    }
    for row in rows:
        kind, edited = found.get((row.get("new"), row.get("old")), (None, None))
        if kind != row.get("kind", kind) or edited != row.get("edited", edited):
            return None
    return mapping


def _mapping_of(
    rows: Sequence[dict[str, Any]] | None, old: list[versions.Clause], new: list[versions.Clause]
) -> ClauseMapping:
    """The mapping of a version's clauses to the last version's, as stored with it. A version
    stored without a usable one (none kept, or not of these clauses) is mapped again with
    documents.versions.map_clauses, which gives what it gave at the upload, less the
    Secretariat's corrections."""
    stored = stored_mapping(rows, old, new)
    return stored if stored is not None else map_clauses(old, new)


async def _reasons(session: AsyncSession, old_version_id: int, mapping: ClauseMapping) -> tuple[Reasons, Reasons]:
    """For each clause of the new version, the answered comments on the old clause it comes
    from, with their answers (by the new reference); the same for the deleted clauses (by the
    old one). Comments without a matrix number (never consolidated) cannot be named, and are
    left out."""
    answered: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for ref, number, disposition in await session.execute(
        select(Clause.ref, Comment.number, Comment.disposition)
        .join(Clause, Clause.id == Comment.clause_id)
        .where(
            Clause.version_id == old_version_id,
            clearance.counted(),
            Comment.disposition.is_not(None),
            Comment.number.is_not(None),
        )
        .order_by(Clause.position, Comment.created_at, Comment.id)
    ):
        answered[ref].append((str(number), str(disposition)))
    reasons: Reasons = {}
    deleted: Reasons = {}
    for match in mapping.matches:
        if match.old is None or match.old.ref not in answered:
            continue
        if match.new is not None:
            reasons[match.new.ref] = answered[match.old.ref]
        else:
            deleted[match.old.ref] = answered[match.old.ref]
    return reasons, deleted


# --- record.json ----------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC: "2026-11-23T08:00:00Z"."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def _record(
    session: AsyncSession, consultation: Consultation, ordered: list[Version], now: datetime, timezone: str
) -> dict[str, Any]:
    labels = {v.id: v.label for v in ordered}
    bodies: dict[int, list[str]] = defaultdict(list)
    for stage_id, code in await session.execute(
        select(StageBody.stage_id, Body.code)
        .join(Body, Body.id == StageBody.body_id)
        .join(Stage, Stage.id == StageBody.stage_id)
        .where(Stage.consultation_id == consultation.id)
        .order_by(Stage.position, Body.code)
    ):
        bodies[stage_id].append(code)
    stages = sorted(consultation.stages, key=lambda s: s.position)
    return {
        "name": consultation.name,
        "title": consultation.title,
        "exported": _iso(now),
        "versions": [
            {"label": v.label, "filename": v.filename, "title": v.title, "uploaded": _iso(v.created_at)}
            for v in ordered
        ],
        "stages": [
            {
                "position": s.position,
                "kind": s.kind,
                "version": labels.get(s.version_id),
                "status": s.status,
                "opened": _iso(s.opened_at),
                "deadline": _iso(s.deadline),
                "closed": _iso(s.closed_at),
                # Empty: every body its version's sections are routed to.
                "bodies": bodies.get(s.id, []),
            }
            for s in stages
        ],
        "comments": await _comments_json(session, consultation),
        # Each endorsement stage's record: per body and Member State, the answer and its history.
        "endorsements": await endorsements.record_json(session, consultation, now=now, zone=timezone),
    }


async def _comments_json(session: AsyncSession, consultation: Consultation) -> list[dict[str, Any]]:
    """Every comment of the consultation, withdrawn and merged ones included, in the order
    of its stages, then of the draft, then as they came."""
    rows = await session.execute(
        select(
            Comment.number,
            Stage.position,
            Version.number,
            Clause.ref,
            Body.code,
            MemberState.name,
            Comment.kind,
            Comment.text,
            Comment.proposed,
            Comment.status,
            Comment.late,
            Comment.clearance,
            Comment.created_at,
            Comment.disposition,
            Comment.observation,
            Comment.answered_at,
        )
        .join(Stage, Stage.id == Comment.stage_id)
        .join(Clause, Clause.id == Comment.clause_id)
        .join(Version, Version.id == Clause.version_id)
        .outerjoin(Body, Body.id == Comment.body_id)  # none: the Member State's own comment
        .join(MemberState, MemberState.id == Comment.state_id)
        .where(Comment.consultation_id == consultation.id)
        .order_by(Stage.position, Clause.position, Comment.created_at, Comment.id)
    )
    return [
        {
            "number": number,
            "stage": stage,
            "version": f"v{version}",
            "clause": ref,
            "body": body,
            "state": state,
            "type": kind,
            "text": text,
            "proposed": proposed,
            "status": status,
            "late": bool(late),
            "clearance": cleared,
            "created": _iso(created),
            "answer": None
            if disposition is None
            else {"disposition": disposition, "observation": observation, "answered": _iso(answered)},
        }
        for (
            number,
            stage,
            version,
            ref,
            body,
            state,
            kind,
            text,
            proposed,
            status,
            late,
            cleared,
            created,
            disposition,
            observation,
            answered,
        ) in rows
    ]


# --- the zip ----------------------------------------------------------------------------------

_RECORD_TEXT = (
    "the consultation in machine-readable form (JSON, UTF-8): versions, stages, every comment "
    "with its answer, endorsements; times in UTC (ISO 8601)"
)

# Characters a file name in the zip may not hold on some systems (and the path separators).
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def version_entry(label: str, filename: str) -> str:
    """Where a version's draft goes in the zip: ``versions/v0-plan.docx`` for ``plan.docx``
    (a name as uploaded, cut to its last part, with no character a file system refuses)."""
    base = re.split(r"[\\/]", filename)[-1]
    base = _UNSAFE.sub("_", base).strip()
    stem = base[: -len(".docx")] if base.lower().endswith(".docx") else base
    return f"versions/{label}-{stem.strip(' .') or 'draft'}.docx"


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _readme(consultation: Consultation, now: datetime, described: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in described)
    lines = [
        f"The record of the consultation {consultation.name}: {consultation.title}",
        f"Exported on {_day(now)}.",
        "",
        f"{README.ljust(width)}  this file",
        *(f"{name.ljust(width)}  {what}" for name, what in described),
        "",
        "In a comparison, accepting every change gives the newer version and rejecting them all the older one;",
        "the Word comments on its clauses name the comments and answers that led to each change.",
        "",
    ]
    return "\n".join(lines)


def _pack(readme: str, record: dict[str, Any], files: list[tuple[str, bytes]], now: datetime) -> bytes:
    moment = now.astimezone(UTC)
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    entries = [
        (README, readme.encode("utf-8")),
        (RECORD, (json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")),
        *files,
    ]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return out.getvalue()
