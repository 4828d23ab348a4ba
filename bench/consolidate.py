"""Benchmark of the consolidated draft: documents.consolidate against plain python-docx.

    python bench/consolidate.py [--comments N] [--repeat R] [--naive-cap C]

Builds N comments spread over the clauses of the sample draft and times

* the fast path, ``documents.consolidate.consolidate()`` (comments, anchors and the
  annex comment matrix), best of R runs;
* the naive path on the same document: python-docx ``Document.add_comment`` called once
  per comment, anchored on the runs of the clause's paragraphs, then saved (no annex,
  so it does strictly less work than the fast path).

It also times the draft with proposals, ``draft_with_proposals()``, on the same comments:
every other comment proposes wording, the whole clause with a word replaced or a phrase
added (``documents.sample.propose_edit``), so every clause is contested and each proposal
is compared word by word with its clause; and, for information, ``comment_matrix_xlsx()``.

Peak memory of the fast path is the peak resident set size (VmHWM) of a fresh child
process that builds the same comments and runs ``consolidate()`` once; it includes the
interpreter, the imported libraries and the input comments.

The last line printed is:
    comments=N seconds=S naive_seconds=S0 ratio=R peak_mb=M proposals_seconds=P
with ratio = S0 / S and P the best time of ``draft_with_proposals()``. The naive path is measured at N unless ``--naive-cap C`` is given
and N > C: then it is measured at C and scaled to N as a quadratic, and the output says
so explicitly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import docx  # noqa: E402

from documents.consolidate import (  # noqa: E402
    CommentEntry,
    ConsolidationInfo,
    comment_matrix_xlsx,
    consolidate,
    draft_with_proposals,
)
from documents.draft import parse_draft  # noqa: E402
from documents.sample import propose_edit, sample_bodies, sample_draft, sample_states  # noqa: E402

_PHRASES = (
    "The Member State proposes to align this clause with the national social protection "
    "strategy and to refer explicitly to persons with disabilities.",
    "Editorial: replace \u201cshall\u201d with \u201cshould\u201d to reflect the voluntary nature of the Framework.",
    "Please clarify the financing arrangements and the role of development partners.",
    "Support the clause as drafted.",
    "The indicators should be disaggregated by sex, age, disability and migration status, "
    "in line with the ASEAN Community Statistical System.\nSee also clause 5.2.",
)


def build_comments(n: int) -> tuple[bytes, list[CommentEntry], ConsolidationInfo]:
    draft = sample_draft()
    parsed = parse_draft(draft)
    clauses = parsed.clauses
    bodies = [code for code, _ in sample_bodies()]
    states = sample_states()
    start = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    section_of = {c.ref: s.ref for s in parsed.sections for c in s.clauses}
    comments = []
    for i in range(n):
        clause = clauses[(i * 7) % len(clauses)]
        state, code, _ = states[i % len(states)]
        comments.append(
            CommentEntry(
                number=f"{code}-{i + 1:05d}",
                clause_ref=clause.ref,
                paragraphs=clause.paragraphs,
                body=bodies[(i // len(states)) % len(bodies)],
                state=state,
                kind=("ge", "te", "ed")[i % 3],
                text=f"{_PHRASES[i % len(_PHRASES)]} (comment {i + 1})",
                proposed=propose_edit(clause.text, i // 2) if i % 2 else None,
                created_at=start + dt.timedelta(seconds=37 * i),
                late=i % 50 == 0,
                section_ref=section_of[clause.ref],
            )
        )
    consulted = [f"{body} \u2013 {state}" for body in bodies for state, _, _ in states]
    commented = {c.author for c in comments}
    info = ConsolidationInfo(
        title=parsed.title,
        consultation="Zero draft consultation (benchmark)",
        deadline=dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC),
        generated_at=dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC),
        responded=tuple(label for label in consulted if label in commented),
        not_responded=tuple(label for label in consulted if label not in commented),
        sections=tuple((s.ref, s.heading) for s in parsed.sections),
    )
    return draft, comments, info


def time_fast(draft: bytes, comments, info, repeat: int, build=consolidate) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        build(draft, comments, info)
        times.append(time.perf_counter() - started)
    return times


def time_others(draft: bytes, comments, info, repeat: int) -> tuple[float, float]:
    """Best times of draft_with_proposals() and comment_matrix_xlsx()."""
    proposals = min(time_fast(draft, comments, info, repeat, draft_with_proposals))
    matrix = min(time_fast(draft, comments, info, repeat, lambda _, c, i: comment_matrix_xlsx(c, i)))
    return proposals, matrix


def _comment_text(entry: CommentEntry) -> str:
    kind = {"ge": "General", "te": "Technical", "ed": "Editorial"}[entry.kind]
    text = kind + (" (late)" if entry.late else "") + ": " + entry.text
    if entry.proposed:
        text += "\nProposed wording: " + entry.proposed
    return text


def time_naive(draft: bytes, comments) -> float:
    started = time.perf_counter()
    document = docx.Document(io.BytesIO(draft))
    paragraphs = document.paragraphs
    for entry in comments:
        first = paragraphs[entry.paragraphs[0]].runs
        last = paragraphs[entry.paragraphs[-1]].runs
        document.add_comment(
            runs=(first[0], last[-1]),
            text=_comment_text(entry),
            author=entry.author,
            initials=entry.initials,
        )
    document.save(io.BytesIO())
    return time.perf_counter() - started


def _peak_rss_kb() -> int:
    """Peak resident set size of this process, in kB.

    VmHWM from /proc is the high-water mark of this process's own address space. The
    fallback, ru_maxrss, also counts the parent's size at the time this process was
    spawned, so it overstates the peak of a child started from a large parent.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_peak(n: int) -> None:
    """Run in a fresh process: one consolidate() call, then report the peak RSS."""
    draft, comments, info = build_comments(n)
    before = _peak_rss_kb()
    consolidate(draft, comments, info)
    print(json.dumps({"before_kb": before, "peak_kb": _peak_rss_kb()}))


def measure_peak(n: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--comments", str(n), "--child-peak"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=10_000)
    # Best of five: on a shared machine single runs vary by a third, and the best run is
    # the one that reflects the code rather than its neighbours.
    parser.add_argument("--repeat", type=int, default=5, help="fast-path runs (best is kept)")
    parser.add_argument(
        "--naive-cap",
        type=int,
        default=None,
        help="measure the naive path at this many comments and scale it to N (quadratic)",
    )
    parser.add_argument("--child-peak", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n = args.comments

    if args.child_peak:
        child_peak(n)
        return

    draft, comments, info = build_comments(n)
    print(f"sample draft: {len(draft):,} bytes, {n:,} comments", flush=True)

    peak = measure_peak(n)
    peak_mb = peak["peak_kb"] / 1024
    print(
        f"fast path peak RSS: {peak_mb:.1f} MB (the same process before the call: {peak['before_kb'] / 1024:.1f} MB)",
        flush=True,
    )

    fast = time_fast(draft, comments, info, max(1, args.repeat))
    seconds = min(fast)
    print(
        "fast path (documents.consolidate): "
        + ", ".join(f"{t:.3f}s" for t in fast)
        + f"  best {seconds:.3f}s  median {statistics.median(fast):.3f}s",
        flush=True,
    )

    others = max(1, min(args.repeat, 3))  # for information only: fewer runs suffice
    proposals_seconds, xlsx_seconds = time_others(draft, comments, info, others)
    print(
        f"other outputs at {n:,} comments: draft_with_proposals {proposals_seconds:.3f}s, "
        f"comment_matrix_xlsx {xlsx_seconds:.3f}s (best of {others})",
        flush=True,
    )

    if args.naive_cap is not None and n > args.naive_cap:
        measured_n = args.naive_cap
        measured = time_naive(draft, comments[:measured_n])
        naive_seconds = measured * (n / measured_n) ** 2
        print(
            f"naive path (python-docx add_comment): {measured:.3f}s measured at "
            f"{measured_n:,} comments; EXTRAPOLATED to {n:,} comments as a quadratic: "
            f"{naive_seconds:.3f}s",
            flush=True,
        )
    else:
        naive_seconds = time_naive(draft, comments)
        print(f"naive path (python-docx add_comment): {naive_seconds:.3f}s measured", flush=True)

    ratio = naive_seconds / seconds
    print(
        f"comments={n} seconds={seconds:.3f} naive_seconds={naive_seconds:.3f} ratio={ratio:.1f} "
        f"peak_mb={peak_mb:.1f} proposals_seconds={proposals_seconds:.3f}"
    )


if __name__ == "__main__":
    main()
