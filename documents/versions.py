"""Mapping the clauses of one version of a draft to those of the next.

When the Secretariat uploads the revised draft (v1, v2, ...), every clause of the new
version is put beside the clause of the last version it comes from, and each pair (or
clause left alone) is classified:

========== ==============================================================================
unchanged  same reference, same text, in the same order
changed    same reference, in the same order, text edited
renumbered another reference, in the same order (text possibly edited too: ``edited``)
moved      taken out of the order of the clauses around it (into another place in its
           section or into another section; possibly renumbered and edited too)
new        in the new version only
deleted    in the old version only
========== ==============================================================================

"In the same order" is decided over the whole draft: the longest run of matched clauses
whose order both versions share stays in place, and every other matched clause moved.
When two sections swap places, the smaller one is the one shown as moved; of two
readings as long, the clauses that left their section are the ones that moved.

How clauses are matched, in turn:

1. **The same text** (spaces aside) found once in each version: a sure match, whatever
   the references say.
2. **Similar text**: the remaining clauses are compared with rapidfuzz (its normalised
   Indel similarity, ``fuzz.ratio``, over the texts lower-cased and stripped of
   punctuation, all against all in C with ``process.cdist``). A pair is a candidate from
   80 % similarity, or from 60 % where the reference is the same or the old clause lies
   where the new one's matched neighbours say it should (between the old clauses of the
   nearest matched clauses before and after it); those two facts also raise the score.
   (Unrelated clauses of one draft share 40 to 50 % by this measure; a clause both moved
   and largely rewritten is left to the Secretariat as deleted and new.) A clause left
   under its reference where its neighbours say it should be, whose old text is found
   nearly word for word in the new one (or the new in the old: a short list item that
   gained or lost a phrase as long as itself), is a candidate too, below the others. Candidates are
   taken best first, each clause once.
   Text found several times on either side (a short list item such as "capacity
   building;") is matched after that, each copy to the old copy its matched neighbours
   place it by, the same reference breaking ties (sure), else to the same reference or
   the first copy left (doubtful: which copy is which is a guess); a copy that was edited
   meanwhile is compared again with what is left.
3. **Splits and merges**: a new clause left over whose text is part of the old clause its
   neighbour was matched to is new, ``part_of`` that old clause (a clause split in two);
   an old clause left over whose text is part of a new clause is deleted, ``part_of``
   that new clause (two clauses merged). Both are doubtful by design: the Secretariat
   decides where the comments of the old clause belong.
4. Whatever is left is new (in the new version) or deleted (in the old one).

Every match carries a ``confidence`` from 0 to 1. Identical unique text gives 1; a
similar text gives its similarity, lowered when another candidate came close (the
margin between the best and the runner-up, who is named in ``runner_up``); a clause
left new or deleted is less sure the closer its best candidate came to being matched.
Below :data:`DOUBTFUL_BELOW` a match is ``doubtful``, and :meth:`ClauseMapping.for_review`
lists the doubtful ones first, least sure first, then all others in document order.

Corrections. Before the mapping is stored the Secretariat may overrule it:
:class:`Correction` ``(new_ref, old_ref)`` says that new clause comes from that old one,
``(new_ref, None)`` that it is new, ``(None, old_ref)`` that the old clause was deleted.
:meth:`ClauseMapping.corrected` returns the mapping with them applied (confidence 1,
``basis`` :attr:`Basis.CORRECTED`); a clause whose match a correction took away is left
new or deleted with ``basis`` :attr:`Basis.DISPLACED` and doubtful, so that it is looked
at again. Unknown references raise :class:`MappingError`.

The API, all plain data (no database, no Telegram):

* :class:`Clause` -- a clause of one version (:func:`clauses_of` turns a
  :class:`~documents.draft.ParsedDraft` into them);
* :func:`map_clauses` ``(old, new)`` -- the :class:`ClauseMapping`;
* :class:`ClauseMapping` -- ``matches`` in document order (new clauses in the new
  version's order, each deleted clause after the clause it followed),
  :meth:`~ClauseMapping.for_review`, :meth:`~ClauseMapping.doubtful`,
  :meth:`~ClauseMapping.new_of` and :meth:`~ClauseMapping.old_of` (where the comments of a
  clause go), :meth:`~ClauseMapping.counts`, :attr:`~ClauseMapping.shared` (0: no clause
  in common, perhaps not a new version at all), :attr:`~ClauseMapping.identical` and
  :meth:`~ClauseMapping.corrected`.

Work: a dictionary pass for the identical texts, then one rapidfuzz matrix of the
clauses left over, read with numpy (0.15 s for a 2,000-clause draft with a tenth of it
touched; about 3 s on 2 cores when every one of its 2,000 clauses was edited).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from rapidfuzz import fuzz, process, utils

from .draft import ParsedDraft, normalise_ref

__all__ = [
    "DOUBTFUL_BELOW",
    "Basis",
    "Clause",
    "ClauseMapping",
    "Correction",
    "Kind",
    "MappingError",
    "Match",
    "clauses_of",
    "map_clauses",
]

# Below this confidence a match is shown to the Secretariat first.
DOUBTFUL_BELOW = 0.8

# Similarity (0-100) from which two texts are candidates on their own, and from which
# they are where the reference or the position agrees.
_ACCEPT = 80.0
_ACCEPT_NEAR = 60.0
# Below this nothing is even looked at (it also bounds what counts as a near miss).
_FLOOR = 35.0
_REF_BONUS = 8.0
_GAP_BONUS = 8.0
# A leftover clause whose text is this much part of a neighbour's counterpart: a split or a merge.
_PART_OF = 90.0
_PART_CONFIDENCE = 0.6
_REPEATED_SAME_REF = 0.95
_REPEATED_IN_ORDER = 0.7
_DISPLACED_CONFIDENCE = 0.5


class Kind(StrEnum):
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    RENUMBERED = "renumbered"
    MOVED = "moved"
    NEW = "new"
    DELETED = "deleted"


class Basis(StrEnum):
    """How a match was found (or why a clause was left unmatched)."""

    SAME_TEXT = "same text"
    REPEATED_TEXT = "repeated text"  # the text is in the draft more than once
    SIMILAR_TEXT = "similar text"
    SPLIT = "split"  # a new clause that is part of an old clause matched elsewhere
    MERGED = "merged"  # a deleted clause that is part of a new clause matched elsewhere
    NO_MATCH = "no match"
    CORRECTED = "corrected"  # the Secretariat's choice
    DISPLACED = "displaced"  # its match was taken by a correction


@dataclass(frozen=True)
class Clause:
    """A clause of one version. ``section`` is the reference of its section, ``label``
    the number as typed or shown ("2.3.1", "a)"), ``paragraphs`` its paragraph indices
    in that version's .docx (:attr:`documents.draft.ParsedClause.paragraphs`)."""

    ref: str
    text: str
    section: str = ""
    label: str = ""
    level: int = 1
    paragraphs: tuple[int, ...] = ()


def clauses_of(draft: ParsedDraft) -> list[Clause]:
    """The clauses of a parsed draft, in document order."""
    return [Clause(c.ref, c.text, s.ref, c.label, c.level, c.paragraphs) for s in draft.sections for c in s.clauses]


@dataclass(frozen=True)
class Match:
    """One line of the mapping: an old clause and the new clause it became (either may
    be ``None``: a new or a deleted clause)."""

    old: Clause | None
    new: Clause | None
    kind: Kind
    confidence: float
    similarity: float  # of the two texts, 0 to 1 (0 when one side is missing)
    basis: Basis
    edited: bool = False
    renumbered: bool = False
    moved: bool = False
    part_of: Clause | None = None  # a split's old clause or a merge's new clause
    runner_up: Clause | None = None  # the best other candidate, when there was one

    @property
    def doubtful(self) -> bool:
        return self.confidence < DOUBTFUL_BELOW

    @property
    def ref(self) -> str:
        """The clause's reference in the new version, or in the old one if deleted."""
        clause = self.new or self.old
        assert clause is not None
        return clause.ref


@dataclass(frozen=True)
class Correction:
    """The Secretariat's choice for one clause: ``new_ref`` comes from ``old_ref``;
    ``old_ref`` None: it is new; ``new_ref`` None: the old clause was deleted."""

    new_ref: str | None
    old_ref: str | None


class MappingError(ValueError):
    """A correction that cannot be applied: ``ref`` of ``side`` ("old" or "new") is not
    a clause of that version, or is corrected twice; or the correction names nothing."""

    def __init__(self, reason: str, side: str = "", ref: str = ""):
        super().__init__(f"{reason}: {side} {ref}".strip(": "))
        self.reason, self.side, self.ref = reason, side, ref


# ------------------------------------------------------------------------ internal


@dataclass(frozen=True)
class _Link:
    """A computed fact about one clause or pair, before kinds are worked out."""

    old: int | None
    new: int | None
    basis: Basis
    confidence: float
    similarity: float
    part_of: int | None = None  # index on the other side
    runner_up: int | None = None  # index on the other side


def _norm(text: str) -> str:
    return " ".join(text.split())


def _in_order(sequence: list[int], weights: list[int]) -> set[int]:
    """Positions of ``sequence`` (distinct values) in the increasing subsequence of the
    greatest total weight: a Fenwick tree of the best chain ending at each value."""
    values = sorted(sequence)
    rank = {v: r + 1 for r, v in enumerate(values)}
    size = len(values)
    tree: list[tuple[int, int]] = [(0, -1)] * (size + 1)  # (weight, position)
    best: list[int] = [0] * len(sequence)
    previous = [-1] * len(sequence)
    for position, value in enumerate(sequence):
        r = rank[value] - 1
        found = (0, -1)
        while r > 0:
            found = max(found, tree[r])
            r -= r & -r
        best[position] = found[0] + weights[position]
        previous[position] = found[1]
        r = rank[value]
        entry = (best[position], position)
        while r <= size:
            tree[r] = max(tree[r], entry)
            r += r & -r
    kept: set[int] = set()
    position = max(range(len(sequence)), key=lambda k: (best[k], -k), default=-1)
    while position >= 0:
        kept.add(position)
        position = previous[position]
    return kept


class _Matcher:
    def __init__(self, old: Sequence[Clause], new: Sequence[Clause]):
        self.old, self.new = list(old), list(new)
        self.pairs: dict[int, _Link] = {}  # by new index
        self.old_taken: dict[int, int] = {}  # old index -> new index
        self.single_new: dict[int, _Link] = {}
        self.single_old: dict[int, _Link] = {}
        # The best similarity each clause left over had with one on the other side, and with whom.
        self.near_new: dict[int, tuple[float, int]] = {}
        self.near_old: dict[int, tuple[float, int]] = {}

    def pair(self, link: _Link) -> None:
        assert link.old is not None and link.new is not None
        self.pairs[link.new] = link
        self.old_taken[link.old] = link.new

    def run(self) -> None:
        repeated = self._same_text()
        self._similar_text(repeated)
        self._repeated(repeated)
        # A copy of a repeated text may have been edited: what is left is compared again.
        self._similar_text([])
        self._leave()
        self._parts()

    def _same_text(self) -> list[tuple[list[int], list[int]]]:
        """Pairs the texts found once on each side; returns the groups of repeated ones."""
        old_by: dict[str, list[int]] = {}
        for i, clause in enumerate(self.old):
            old_by.setdefault(_norm(clause.text), []).append(i)
        new_by: dict[str, list[int]] = {}
        for j, clause in enumerate(self.new):
            new_by.setdefault(_norm(clause.text), []).append(j)
        repeated: list[tuple[list[int], list[int]]] = []
        for text, news in new_by.items():
            olds = old_by.get(text)
            if not olds:
                continue
            if len(news) == 1 and len(olds) == 1:
                self.pair(_Link(olds[0], news[0], Basis.SAME_TEXT, 1.0, 1.0))
            else:
                repeated.append((olds, news))
        return repeated

    def _repeated(self, repeated: list[tuple[list[int], list[int]]]) -> None:
        """A text found more than once, matched once the other clauses are: each copy
        goes to the old copy that lies where its matched neighbours say it should (the
        same reference breaking ties), else to the same reference, else to the first copy
        left; only a copy placed by its neighbours is sure."""
        for olds, news in repeated:
            free = list(olds)
            for j in news:
                if not free:
                    break
                low, high = self._gaps([j])[j]
                inside = [i for i in free if low < i < high]
                same_ref = [i for i in (inside or free) if self.old[i].ref == self.new[j].ref]
                if len(inside) == 1 or (inside and same_ref):
                    i, confidence = (same_ref or inside)[0], _REPEATED_SAME_REF
                else:
                    i, confidence = (same_ref or inside or free)[0], _REPEATED_IN_ORDER
                free.remove(i)
                self.pair(_Link(i, j, Basis.REPEATED_TEXT, confidence, 1.0))

    def _gaps(self, leftover_new: list[int]) -> dict[int, tuple[int, int]]:
        """For each leftover new clause, the old indices its matched neighbours bound."""
        gaps: dict[int, tuple[int, int]] = {}
        matched = sorted(self.pairs)
        olds = [self.pairs[j].old for j in matched]
        for j in leftover_new:
            k = bisect.bisect_left(matched, j)
            low = olds[k - 1] if k else -1
            high = olds[k] if k < len(matched) else len(self.old)
            assert low is not None and high is not None
            gaps[j] = (low, high)
        return gaps

    def _similar_text(self, repeated: list[tuple[list[int], list[int]]]) -> None:
        held = {k for olds, news in repeated for k in news}
        held_old = {k for olds, news in repeated for k in olds}
        leftover_new = [j for j in range(len(self.new)) if j not in self.pairs and j not in held]
        leftover_old = [i for i in range(len(self.old)) if i not in self.old_taken and i not in held_old]
        if not leftover_new or not leftover_old:
            return
        gaps = self._gaps(leftover_new)
        scores = process.cdist(
            [self.new[j].text for j in leftover_new],
            [self.old[i].text for i in leftover_old],
            scorer=fuzz.ratio,
            processor=utils.default_process,
            score_cutoff=_FLOOR,
            workers=-1,
        )
        candidates: list[tuple[float, float, int, int]] = []  # score, similarity, new, old
        near_new, near_old = self.near_new, self.near_old
        # The near misses: each clause's best candidate (numpy over the whole matrix).
        for a, b in enumerate(scores.argmax(axis=1).tolist()):
            j, i, similarity = leftover_new[a], leftover_old[b], float(scores[a, b])
            if similarity > near_new.get(j, (0.0, -1))[0]:
                near_new[j] = (similarity, i)
        for b, a in enumerate(scores.argmax(axis=0).tolist()):
            j, i, similarity = leftover_new[a], leftover_old[b], float(scores[a, b])
            if similarity > near_old.get(i, (0.0, -1))[0]:
                near_old[i] = (similarity, j)
        # Only the pairs that can be candidates are looked at one by one.
        rows, columns = (scores >= _ACCEPT_NEAR).nonzero()
        for a, b in zip(rows.tolist(), columns.tolist()):
            similarity = float(scores[a, b])
            j, i = leftover_new[a], leftover_old[b]
            low, high = gaps[j]
            bonus = _REF_BONUS * (self.new[j].ref == self.old[i].ref) + _GAP_BONUS * (low < i < high)
            if similarity >= _ACCEPT or bonus:
                candidates.append((similarity + bonus, similarity, j, i))
        # A clause left where it was, under its reference, that kept its words and gained (or
        # lost) a phrase as long as itself: too unlike by the ratio, yet plainly the same clause.
        column_of = {i: b for b, i in enumerate(leftover_old)}
        old_by_ref = {self.old[i].ref: i for i in leftover_old}
        for a, j in enumerate(leftover_new):
            i = old_by_ref.get(self.new[j].ref, -1)
            low, high = gaps[j]
            if i < 0 or not low < i < high:
                continue
            similarity = float(scores[a, column_of[i]])
            if similarity < _ACCEPT_NEAR and _kept_within(self.old[i].text, self.new[j].text):
                candidates.append((_ACCEPT_NEAR + _REF_BONUS + _GAP_BONUS, similarity, j, i))
        candidates.sort(key=lambda c: (-c[0], c[2], c[3]))
        # The runner-up of each clause: its second-best candidate's score.
        best_of_new: dict[int, list[tuple[float, int]]] = {}
        best_of_old: dict[int, list[tuple[float, int]]] = {}
        for score, _, j, i in candidates:
            if len(best_of_new.setdefault(j, [])) < 2:
                best_of_new[j].append((score, i))
            if len(best_of_old.setdefault(i, [])) < 2:
                best_of_old[i].append((score, j))
        for score, similarity, j, i in candidates:
            if j in self.pairs or i in self.old_taken:
                continue
            rival, runner_up = 0.0, None
            for s, other in best_of_new[j]:
                if other != i and s > rival:
                    rival, runner_up = s, other
            for s, other_new in best_of_old[i]:
                if other_new != j and s > rival:
                    rival, runner_up = s, None
            margin = max(0.0, score - rival)
            confidence = min(0.99, score / 100.0) * min(1.0, 0.6 + margin / 25.0)
            self.pair(_Link(i, j, Basis.SIMILAR_TEXT, confidence, similarity / 100.0, runner_up=runner_up))

    def _leave(self) -> None:
        near_new, near_old = self.near_new, self.near_old
        for j in (j for j in range(len(self.new)) if j not in self.pairs):
            similarity, i = near_new.get(j, (0.0, -1))
            self.single_new[j] = _Link(None, j, Basis.NO_MATCH, _unmatched_confidence(similarity), 0.0, None, _idx(i))
        for i in (i for i in range(len(self.old)) if i not in self.old_taken):
            similarity, j = near_old.get(i, (0.0, -1))
            self.single_old[i] = _Link(i, None, Basis.NO_MATCH, _unmatched_confidence(similarity), 0.0, None, _idx(j))

    def _parts(self) -> None:
        """Leftover clauses that are part of a neighbour's counterpart: splits and merges."""
        for j, link in list(self.single_new.items()):
            for neighbour in (j - 1, j + 1):
                pair = self.pairs.get(neighbour)
                if pair is None or pair.old is None:
                    continue
                whole = self.old[pair.old].text
                if len(self.new[j].text) < len(whole) and _contained(self.new[j].text, whole):
                    self.single_new[j] = replace(link, basis=Basis.SPLIT, confidence=_PART_CONFIDENCE, part_of=pair.old)
                    break
        new_of = self.old_taken
        for i, link in list(self.single_old.items()):
            for neighbour in (i - 1, i + 1):
                partner = new_of.get(neighbour)
                if partner is None:
                    continue
                whole = self.new[partner].text
                if len(self.old[i].text) < len(whole) and _contained(self.old[i].text, whole):
                    self.single_old[i] = replace(link, basis=Basis.MERGED, confidence=_PART_CONFIDENCE, part_of=partner)
                    break


def _idx(value: int) -> int | None:
    return value if value >= 0 else None


def _contained(part: str, whole: str) -> bool:
    return fuzz.partial_ratio(part, whole, processor=utils.default_process) >= _PART_OF


def _kept_within(old: str, new: str) -> bool:
    """The shorter text is found, nearly word for word, in the longer one."""
    part, whole = (old, new) if len(old) <= len(new) else (new, old)
    return _contained(part.rstrip(" ;,.:"), whole)


def _unmatched_confidence(near: float) -> float:
    """A clause left unmatched whose best candidate had ``near`` similarity: sure when
    nothing came close, doubtful as the candidate nears the threshold of a match."""
    if near <= _FLOOR:
        return 1.0
    return max(0.3, 1.0 - (near - _FLOOR) / (_ACCEPT - _FLOOR) * 0.5)


def _similarity(a: str, b: str) -> float:
    return fuzz.ratio(a, b, processor=utils.default_process) / 100.0


class ClauseMapping:
    """The clauses of two versions side by side (see the module docstring)."""

    def __init__(
        self,
        old: Sequence[Clause],
        new: Sequence[Clause],
        pairs: Iterable[_Link],
        singles: Iterable[_Link],
    ):
        self.old: tuple[Clause, ...] = tuple(old)
        self.new: tuple[Clause, ...] = tuple(new)
        self._links = sorted([*pairs, *singles], key=lambda x: (x.new if x.new is not None else -1, x.old or 0))
        self.matches: tuple[Match, ...] = self._build()
        self._new_of = {m.old.ref: m.new for m in self.matches if m.old is not None}
        self._old_of = {m.new.ref: m.old for m in self.matches if m.new is not None}

    def _build(self) -> tuple[Match, ...]:
        pairs = sorted((link for link in self._links if link.old is not None and link.new is not None), key=_new_index)
        # The clauses that keep their place: the longest chain in the order of both versions,
        # a clause that stays in its section weighing a little more (of two chains as
        # long, the one whose clauses left their sections is the one that moved).
        olds: list[int] = []
        weights: list[int] = []
        for p in pairs:
            assert p.old is not None and p.new is not None
            olds.append(p.old)
            weights.append(1000 + (self.old[p.old].section == self.new[p.new].section))
        kept = _in_order(olds, weights)
        in_place = {p.old for k, p in enumerate(pairs) if k in kept}
        new_at: dict[int, int] = {}  # old index -> new index of pairs
        for p in pairs:
            assert p.old is not None and p.new is not None
            new_at[p.old] = p.new
        placed: list[tuple[tuple[int, int, int], Match]] = []
        for link in self._links:
            old = self.old[link.old] if link.old is not None else None
            new = self.new[link.new] if link.new is not None else None
            part = None
            runner = None
            if link.part_of is not None:
                part = self.new[link.part_of] if new is None else self.old[link.part_of]
            if link.runner_up is not None:
                runner = self.new[link.runner_up] if new is None else self.old[link.runner_up]
            if old is not None and new is not None:
                renumbered = old.ref != new.ref
                edited = old.text != new.text
                if link.old not in in_place:
                    kind = Kind.MOVED
                elif renumbered:
                    kind = Kind.RENUMBERED
                elif edited:
                    kind = Kind.CHANGED
                else:
                    kind = Kind.UNCHANGED
                moved = link.old not in in_place
                match = Match(
                    old,
                    new,
                    kind,
                    link.confidence,
                    link.similarity,
                    link.basis,
                    edited,
                    renumbered,
                    moved,
                    part,
                    runner,
                )
                assert link.new is not None
                placed.append(((link.new, 0, 0), match))
            elif new is not None:
                assert link.new is not None
                match = Match(None, new, Kind.NEW, link.confidence, 0.0, link.basis, part_of=part, runner_up=runner)
                placed.append(((link.new, 0, 0), match))
            else:
                assert old is not None and link.old is not None
                match = Match(old, None, Kind.DELETED, link.confidence, 0.0, link.basis, part_of=part, runner_up=runner)
                placed.append((self._deleted_position(link.old, new_at, in_place), match))
        placed.sort(key=lambda item: item[0])
        matches = tuple(match for _, match in placed)
        old_index = {id(clause): i for i, clause in enumerate(self.old)}
        places: list[tuple[int, Match, str, Clause | None]] = []
        for match in matches:
            if match.old is not None and (match.new is None or match.moved):
                i = old_index[id(match.old)]
                where, j = self._old_place(i, new_at, in_place)
                places.append((i, match, where, self.new[j] if j is not None else None))
        places.sort(key=lambda place: place[0])
        self._places = [(match, where, clause) for _, match, where, clause in places]
        return matches

    def _old_place(self, i: int, new_at: dict[int, int], in_place: set[int | None]) -> tuple[str, int | None]:
        """Where the old clause ``i`` stood, told by the new clauses around it: after the
        new clause of the nearest earlier old clause of its section that kept its place,
        else before that of the nearest later one, else after the nearest earlier one in
        the draft; ``("after", None)``: before everything."""
        section = self.old[i].section
        for earlier in range(i - 1, -1, -1):
            if self.old[earlier].section != section:
                break
            if earlier in in_place:
                return ("after", new_at[earlier])
        for later in range(i + 1, len(self.old)):
            if self.old[later].section != section:
                break
            if later in in_place:
                return ("before", new_at[later])
        for earlier in range(i - 1, -1, -1):
            if earlier in in_place:
                return ("after", new_at[earlier])
        return ("after", None)

    def _deleted_position(self, i: int, new_at: dict[int, int], in_place: set[int | None]) -> tuple[int, int, int]:
        """The sort key of a deleted clause among the new ones (see :meth:`_old_place`)."""
        where, j = self._old_place(i, new_at, in_place)
        if j is None:
            return (-1, 1, i)
        return (j, 1 if where == "after" else -1, i)

    # -- reading ------------------------------------------------------------------------

    def for_review(self) -> list[Match]:
        """Every match, the doubtful ones first (least sure first), then the others in
        document order."""
        doubtful = sorted(
            (k for k, m in enumerate(self.matches) if m.doubtful), key=lambda k: (self.matches[k].confidence, k)
        )
        rest = [m for m in self.matches if not m.doubtful]
        return [self.matches[k] for k in doubtful] + rest

    def old_places(self) -> list[tuple[Match, str, Clause | None]]:
        """Where each clause that left its place (deleted, or moved) stood in the old
        version, in the old version's order, told by the new version's clauses:
        ``(match, "after", clause)``, ``(match, "before", clause)``, or ``(match, "after",
        None)`` for the start of the draft. The comparison shows them there."""
        return list(self._places)

    def doubtful(self) -> list[Match]:
        return [m for m in self.for_review() if m.doubtful]

    def new_of(self, old_ref: str) -> Clause | None:
        """The new clause the old clause ``old_ref`` became (``None``: deleted)."""
        return self._new_of.get(normalise_ref(old_ref))

    def old_of(self, new_ref: str) -> Clause | None:
        """The old clause the new clause ``new_ref`` comes from (``None``: new)."""
        return self._old_of.get(normalise_ref(new_ref))

    def counts(self) -> dict[Kind, int]:
        found = dict.fromkeys(Kind, 0)
        for match in self.matches:
            found[match.kind] += 1
        return found

    @property
    def shared(self) -> int:
        """How many clauses the two versions have in common (matched)."""
        return sum(1 for m in self.matches if m.old is not None and m.new is not None)

    @property
    def identical(self) -> bool:
        """Every clause unchanged: the new version is the old one."""
        return all(m.kind is Kind.UNCHANGED for m in self.matches)

    # -- corrections --------------------------------------------------------------------

    def corrected(self, corrections: Iterable[Correction]) -> ClauseMapping:
        """This mapping with the Secretariat's choices applied (see the module docstring)."""
        old_at = {c.ref: i for i, c in enumerate(self.old)}
        new_at = {c.ref: j for j, c in enumerate(self.new)}
        pairs: dict[int, _Link] = {}  # by new index
        singles_new: dict[int, _Link] = {}
        singles_old: dict[int, _Link] = {}
        for link in self._links:
            if link.old is not None and link.new is not None:
                pairs[link.new] = link
            elif link.new is not None:
                singles_new[link.new] = link
            elif link.old is not None:
                singles_old[link.old] = link
        seen: set[tuple[str, int]] = set()
        for correction in corrections:
            j = _lookup(new_at, correction.new_ref, "new", seen)
            i = _lookup(old_at, correction.old_ref, "old", seen)
            if i is None and j is None:
                raise MappingError("a correction names no clause")
            for key, gone in [(k, p) for k, p in pairs.items() if k == j or (i is not None and p.old == i)]:
                del pairs[key]
                if key != j:
                    singles_new[key] = _Link(None, key, Basis.DISPLACED, _DISPLACED_CONFIDENCE, 0.0)
                if gone.old is not None and gone.old != i:
                    singles_old[gone.old] = _Link(gone.old, None, Basis.DISPLACED, _DISPLACED_CONFIDENCE, 0.0)
            if j is not None:
                singles_new.pop(j, None)
            if i is not None:
                singles_old.pop(i, None)
            if i is not None and j is not None:
                similarity = _similarity(self.old[i].text, self.new[j].text)
                pairs[j] = _Link(i, j, Basis.CORRECTED, 1.0, similarity)
            elif j is not None:
                singles_new[j] = _Link(None, j, Basis.CORRECTED, 1.0, 0.0)
            elif i is not None:
                singles_old[i] = _Link(i, None, Basis.CORRECTED, 1.0, 0.0)
        return ClauseMapping(self.old, self.new, pairs.values(), [*singles_new.values(), *singles_old.values()])


def _new_index(link: _Link) -> int:
    assert link.new is not None
    return link.new


def _lookup(index: dict[str, int], ref: str | None, side: str, seen: set[tuple[str, int]]) -> int | None:
    if ref is None:
        return None
    found = index.get(ref)
    if found is None:
        found = index.get(normalise_ref(ref))
    if found is None:
        raise MappingError("no such clause", side, ref)
    if (side, found) in seen:
        raise MappingError("corrected twice", side, ref)
    seen.add((side, found))
    return found


def map_clauses(old: Sequence[Clause], new: Sequence[Clause]) -> ClauseMapping:
    """Map the clauses of the old version to those of the new (see the module docstring)."""
    matcher = _Matcher(old, new)
    matcher.run()
    return ClauseMapping(
        matcher.old, matcher.new, matcher.pairs.values(), [*matcher.single_new.values(), *matcher.single_old.values()]
    )
