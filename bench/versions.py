"""Benchmark of a new version: the clauses of two versions mapped, and the comparison written.

    python bench/versions.py [--clauses N] [--seed S]

Writes a draft of N clauses (20 sections; clause texts put together from phrases of the
sample draft, so that unrelated clauses share words and phrasing as the clauses of a
real draft do, and a few short list items that repeat word for word), then its next
version with 10 % of the clauses touched, the truth of each kept aside:

* 4 % edited: a word replaced, a phrase added or a phrase dropped;
* 2 % moved elsewhere in the draft (a third of them also edited);
* 2 % deleted, and as many new clauses inserted;
* 1 % split in two and 1 % merged into the clause after them (counted as edits of the
  clause that keeps the reference, the other half new or deleted).

Clauses are numbered by position ("4.12"), so everything after an insertion or a
deletion in a section is renumbered. Both drafts are written as .docx and read with
``documents.draft.parse_draft`` (not timed: that is the upload). Timed, best of three:
``documents.versions.map_clauses`` on the clauses of both versions, and
``documents.comparison.compare_versions`` writing the comparison of the two (tracked
changes and a comment on each changed clause naming two answered comments).

``correct`` is the share of clauses (those of the new version and those deleted) whose
counterpart in the other version is the true one (none for a new or deleted clause).

The last line printed is:
    clauses=N seconds=S correct=C
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import docx  # noqa: E402

from documents.comparison import compare_versions  # noqa: E402
from documents.draft import parse_draft  # noqa: E402
from documents.sample import sample_draft  # noqa: E402
from documents.versions import Clause, ClauseMapping, clauses_of, map_clauses  # noqa: E402

_SECTIONS = 20
_REPEATED = ("capacity building;", "monitoring and evaluation; and", "[Reserved]")
_WORDS = ("regional", "national", "effective", "inclusive", "sustainable", "gradual", "adequate", "relevant")
_PHRASES = (
    ", in consultation with the sectoral bodies concerned",
    ", subject to the availability of resources",
    " and report on progress every two years",
)


def _fragments() -> list[str]:
    parsed = parse_draft(sample_draft())
    pieces: list[str] = []
    for clause in parsed.clauses:
        for piece in re.split(r"(?<=[,;:])\s+", clause.text.replace("\n", " ")):
            piece = piece.strip().rstrip(",;:.")
            if len(piece.split()) >= 3:
                pieces.append(piece)
    return pieces


def _text(rng: random.Random, pieces: list[str]) -> str:
    if rng.random() < 0.03:
        return rng.choice(_REPEATED)
    parts = rng.sample(pieces, rng.randint(2, 4))
    return (", ".join(parts) + ".")[:1].upper() + (", ".join(parts) + ".")[1:]


def _edit(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    choice = rng.randrange(3)
    if choice == 0 and len(words) > 4:
        k = rng.randrange(1, len(words) - 1)
        words[k] = rng.choice(_WORDS)
        return " ".join(words)
    if choice == 1 or len(words) <= 8:
        return text.rstrip(".") + rng.choice(_PHRASES) + "."
    k = rng.randrange(1, len(words) - 4)
    return " ".join(words[:k] + words[k + 3 :])


class Truth:
    """What each clause truly became: for every clause of the new version (by position)
    the old clauses it may be mapped to (None: it may be new), and the old clauses that
    may be left deleted. A split or a merge allows either reading: the text that stays
    with the reference or the other part."""

    def __init__(self) -> None:
        self.new: list[set[int | None]] = []
        self.deletable: set[int] = set()


def make_versions(n: int, seed: int) -> tuple[list[list[str]], list[list[str]], Truth]:
    """The old and new versions as sections of clause texts, and the truth."""
    rng = random.Random(seed)
    pieces = _fragments()
    per = max(1, n // _SECTIONS)
    old = [[_text(rng, pieces) for _ in range(per)] for _ in range(_SECTIONS)]
    flat = [(s, k) for s in range(_SECTIONS) for k in range(per)]
    plain = [p for p, (s, k) in enumerate(flat) if old[s][k] not in _REPEATED and 0 < k < per - 2]
    touched = rng.sample(plain, max(10, len(flat) // 10))
    quota = len(touched) // 10
    edits = set(touched[: 4 * quota])
    moves = set(touched[4 * quota : 6 * quota])
    deletes = set(touched[6 * quota : 8 * quota])
    splits = set(touched[8 * quota : 9 * quota])
    # A clause merged into the next: that next one is left alone otherwise.
    merges = {p for p in touched[9 * quota :] if p + 1 not in set(touched)}
    inserts = 2 * quota
    # The new version as (allowed old positions, text) per section.
    new: list[list[tuple[set[int | None], str]]] = [[] for _ in range(_SECTIONS)]
    truth = Truth()
    moved_out: list[tuple[int, str]] = []
    carry: tuple[int, str] | None = None
    for position, (s, k) in enumerate(flat):
        text = old[s][k]
        if position in deletes:
            truth.deletable.add(position)
            continue
        if position in edits:
            text = _edit(rng, text)
        if position in moves:
            moved_out.append((position, _edit(rng, text) if position % 3 == 0 else text))
            continue
        if position in merges:
            carry = (position, text)
            continue
        if carry is not None:
            first, head = carry
            new[s].append(({first, position}, head.rstrip(".") + "; " + text[:1].lower() + text[1:]))
            truth.deletable.update((first, position))
            carry = None
            continue
        if position in splits and text.count(", ") >= 2:
            cut = text.find(", ", len(text) // 3)
            cut = cut if cut >= 0 else text.index(", ")
            second = text[cut + 2 :]
            new[s].append(({position, None}, text[:cut] + "."))
            new[s].append(({position, None}, second[:1].upper() + second[1:]))
            continue
        new[s].append(({position}, text))
    for position, text in moved_out:
        s = rng.randrange(_SECTIONS)
        new[s].insert(rng.randrange(len(new[s]) + 1), ({position}, text))
    for _ in range(inserts):
        s = rng.randrange(_SECTIONS)
        text = _text(rng, pieces)
        while text in _REPEATED:
            text = _text(rng, pieces)
        new[s].insert(rng.randrange(len(new[s]) + 1), ({None}, text))
    sections: list[list[str]] = []
    for section in new:
        sections.append([text for _, text in section])
        truth.new.extend(allowed for allowed, _ in section)
    return old, sections, truth


def write_docx(sections: list[list[str]], title: str) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=0)
    for s, clauses in enumerate(sections, start=1):
        document.add_heading(f"{s}\tSection {s}", level=1)
        for k, text in enumerate(clauses, start=1):
            document.add_paragraph(f"{s}.{k}\t{text}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _score(old: list[Clause], new: list[Clause], mapping: ClauseMapping, truth: Truth) -> float:
    old_at = {c.ref: i for i, c in enumerate(old)}
    new_at = {c.ref: j for j, c in enumerate(new)}
    right = 0
    for match in mapping.matches:
        if match.new is None:
            assert match.old is not None
            right += old_at[match.old.ref] in truth.deletable
            continue
        allowed = truth.new[new_at[match.new.ref]]
        got = old_at[match.old.ref] if match.old is not None else None
        # Copies of one text are as good as each other.
        same = match.old is not None and any(a is not None and old[a].text == match.old.text for a in allowed)
        right += got in allowed or same
    return right / len(mapping.matches)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clauses", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    old_sections, new_sections, truth = make_versions(args.clauses, args.seed)
    old_bytes = write_docx(old_sections, "Draft v0")
    new_bytes = write_docx(new_sections, "Draft v1")
    old = clauses_of(parse_draft(old_bytes))
    new = clauses_of(parse_draft(new_bytes))
    print(f"old: {len(old)} clauses, new: {len(new)} clauses ({len(new_bytes):,} bytes)", flush=True)
    date = dt.datetime(2026, 12, 20, 9, 0, tzinfo=dt.UTC)
    times: list[tuple[float, float]] = []
    mapping: ClauseMapping | None = None
    out = b""
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        mapping = map_clauses(old, new)
        mapped = time.perf_counter()
        # Two answered comments behind every clause that changed.
        reasons = {
            m.new.ref: [(f"TH-{k:03d}", "accepted"), (f"PH-{k:03d}", "partly")]
            for k, m in enumerate(mapping.matches)
            if m.new is not None and m.edited
        }
        out = compare_versions(new_bytes, mapping, reasons=reasons, date=date)
        times.append((mapped - started, time.perf_counter() - mapped))
    assert mapping is not None
    counts = ", ".join(f"{kind}={count}" for kind, count in mapping.counts().items())
    print(f"mapping: {counts}; doubtful={len(mapping.doubtful())}", flush=True)
    best = min(times, key=sum)
    print(
        f"mapping {best[0]:.3f}s, comparison {best[1]:.3f}s ({len(out):,} bytes); "
        + ", ".join(f"{sum(t):.3f}s" for t in times),
        flush=True,
    )
    correct = _score(old, new, mapping, truth)
    print(f"clauses={len(old)} seconds={sum(best):.3f} correct={correct:.4f}")


if __name__ == "__main__":
    main()
