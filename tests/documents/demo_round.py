"""A round the size of `clausebot demo --comments 200`, for the publication tests.

The comments are written as the demo's simulated delegates write them (the same openings
and points; the proposals are the short ones the demo used to send, the corpus on which
the annex's page count before its columns were sized was measured), by the delegates of
eight body and Member State pairs out of twelve enrolled, in a round of eight bodies and ten Member States; each ends with
its own matrix number, so that a test can find where the end of a row is printed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

from bot.demo import OPENINGS, POINTS
from documents.consolidate import CommentEntry, ConsolidationInfo
from documents.draft import ParsedDraft
from documents.sample import sample_bodies, sample_states

PROPOSALS = [
    "including workers in the informal economy and their dependants",
    "progressively, in accordance with national circumstances and capacities",
    "in consultation with the relevant ASEAN sectoral bodies",
    None,
    None,
]
SLUG = "asean-framework-and-plan-of"
DEADLINE = dt.datetime(2027, 1, 31, 16, 59, tzinfo=dt.UTC)  # 23:59 in Jakarta
COMPILED = dt.datetime(2027, 2, 2, 3, 15, tzinfo=dt.UTC)  # 10:15 in Jakarta


def demo_round(sample: ParsedDraft, comments: int = 199) -> tuple[list[CommentEntry], ConsolidationInfo]:
    rng = random.Random(2014)
    bodies = [code for code, _ in sample_bodies()]
    states = {name: code for name, code, _ in sample_states()}
    pairs = list(itertools.product(bodies, states))
    rng.shuffle(pairs)
    enrolled, active = pairs[:12], pairs[:8]
    section_of = {c.ref: s.ref for s in sample.sections for c in s.clauses}
    numbers: dict[str, int] = {}
    entries = []
    for n in range(comments):
        body, state = active[n % len(active)]
        clause = rng.choice(sample.clauses)
        code = states[state]
        numbers[code] = numbers.get(code, 0) + 1
        number = f"{code}-{numbers[code]:03d}"
        entries.append(
            CommentEntry(
                number=number,
                clause_ref=clause.ref,
                paragraphs=clause.paragraphs,
                body=body,
                state=state,
                kind=rng.choice(["ge", "te", "ed"]),
                text=f"{rng.choice(OPENINGS)} {rng.choice(POINTS)} [{number}].",
                proposed=rng.choice(PROPOSALS),
                created_at=DEADLINE - dt.timedelta(days=30, minutes=-n),
                section_ref=section_of[clause.ref],
            )
        )

    def label(pair: tuple[str, str]) -> str:
        return f"{pair[0]} \u2013 {pair[1]}"

    info = ConsolidationInfo(
        title=sample.title,
        consultation=SLUG,
        deadline=DEADLINE,
        generated_at=COMPILED,
        responded=tuple(label(p) for p in active),
        not_responded=tuple(label(p) for p in enrolled[len(active) :]),
        not_enrolled=tuple(label(p) for p in pairs[len(enrolled) :]),
        sections=tuple((s.ref, s.heading) for s in sample.sections),
        timezone="Asia/Jakarta",
    )
    return entries, info
