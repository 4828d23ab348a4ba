"""Benchmark of answering in bulk: a filled-in comment matrix of N comments imported.

    python bench/answers.py [--rows N] [--database-url URL]

Sets up a consultation on the sample draft with N comments from delegates of every
body and Member State (on a new SQLite file unless a database URL is given; the tables
of that database are emptied first), compiles the comment matrix as the Secretariat gets
it from /consolidate, and fills in every row as they would in Excel: a disposition from
the drop-down list, an observation on most (openpyxl, not timed).

Then, in a fresh process, it times what the Secretariat waits for once the file is sent
back: every row read and checked, the answers and their history stored, committed
(``bot.services.answer_import.apply``). The peak resident set size (VmHWM) of that
process is reported as peak_mb; it includes the interpreter and the imported libraries.

The last line printed is:
    rows=N seconds=S peak_mb=M
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_OBSERVATIONS = (
    "Taken into the revised text of the clause.",
    "The Working Group will consider this at its next meeting.",
    "Kept as drafted: the wording follows the Declaration agreed by the Leaders.",
)
_CHOICES = ("Accepted", "Accepted in part", "Noted", "Not accepted")


def _peak_rss_kb() -> int:
    import resource

    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _prepare(url: str, rows: int, matrix_path: Path) -> None:
    import sqlalchemy as sa
    from openpyxl import load_workbook

    from bot.db import Database, upgrade
    from bot.models import Base, Clause, Comment, Contact
    from bot.services import consolidation, registry, rounds
    from bot.services.registry import CONSOLE
    from documents.matrix import DISPOSITION_HEADER, OBSERVATION_HEADER
    from documents.sample import sample_bodies, sample_draft, sample_states

    upgrade(url)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
        async with db.session() as session:
            for code, *_ in sample_bodies():
                await registry.add_body(session, code)
            for name, code, tz in sample_states():
                await registry.add_state(session, name, code, tz)
        async with db.session() as session:
            outline = await rounds.import_draft(session, sample_draft(), "plan.docx")
            consultation = await rounds.resolve_consultation(session, outline.consultation)
            bodies = (await session.execute(sa.text("SELECT id FROM bodies ORDER BY id"))).scalars().all()
            states = (await session.execute(sa.text("SELECT id FROM member_states ORDER BY id"))).scalars().all()
            now = datetime.now(UTC)
            contacts = []
            for body in bodies:
                for state in states:
                    contact = Contact(name="Delegate", role="delegate", body_id=body, state_id=state, email="")
                    session.add(contact)
                    contacts.append(contact)
            await session.flush()
            clauses = (
                await session.scalars(sa.select(Clause.id).where(Clause.consultation_id == consultation.id))
            ).all()
            await session.execute(
                sa.insert(Comment),
                [
                    {
                        "consultation_id": consultation.id,
                        "stage_id": consultation.stage_id,
                        "clause_id": clauses[i % len(clauses)],
                        "contact_id": contacts[i % len(contacts)].id,
                        "body_id": contacts[i % len(contacts)].body_id,
                        "state_id": contacts[i % len(contacts)].state_id,
                        "kind": ("ge", "te", "ed")[i % 3],
                        "text": f"Comment {i}: the clause should name the groups it covers and the year it starts.",
                        "proposed": None if i % 2 else f"Revised wording {i} of the clause.",
                        "status": "active",
                        "late": False,
                        "created_at": now + timedelta(seconds=i),
                        "updated_at": now + timedelta(seconds=i),
                    }
                    for i in range(rows)
                ],
            )
        async with db.session() as session:
            consultation = await rounds.resolve_consultation(session, outline.consultation)
            data = await consolidation.gather(session, CONSOLE, consultation)
    finally:
        await db.dispose()
    from documents.matrix import comment_matrix_xlsx

    workbook = load_workbook(io.BytesIO(comment_matrix_xlsx(data.entries, data.info)))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    d, o = header.index(DISPOSITION_HEADER), header.index(OBSERVATION_HEADER)
    for n, row in enumerate(sheet.iter_rows(min_row=2)):
        choice = _CHOICES[n % 4]
        row[d].value = choice
        row[o].value = _OBSERVATIONS[n % 3] if choice != "Accepted" else None
    workbook.save(matrix_path)


async def _import(url: str, data: bytes) -> dict[str, float]:
    from bot.db import Database
    from bot.services import answer_import
    from bot.services.registry import CONSOLE

    db = Database(url)
    try:
        started = time.perf_counter()
        async with db.session() as session:
            result = await answer_import.apply(session, CONSOLE, data)
        seconds = time.perf_counter() - started
    finally:
        await db.dispose()
    if result.refused or not result.applied:
        raise SystemExit(f"the import was refused: {result.refused[:3]}")
    return {"seconds": seconds, "stored": result.changes, "peak_kb": _peak_rss_kb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_import(args.child[0], Path(args.child[1]).read_bytes()))))
        return
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        matrix = Path(folder) / "answers.xlsx"
        started = time.perf_counter()
        asyncio.run(_prepare(url, args.rows, matrix))
        print(f"prepared {args.rows} comments and their filled-in matrix in {time.perf_counter() - started:.1f} s")
        child = subprocess.run(
            [sys.executable, __file__, "--child", url, str(matrix)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            raise SystemExit(child.stderr.strip().splitlines()[-1] if child.stderr.strip() else "the import failed")
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    if figures["stored"] != args.rows:
        raise SystemExit(f"{figures['stored']} answers stored, {args.rows} expected")
    print(f"rows={args.rows} seconds={figures['seconds']:.2f} peak_mb={figures['peak_kb'] / 1024:.0f}")


if __name__ == "__main__":
    main()
