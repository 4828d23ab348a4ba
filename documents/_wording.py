"""Proposed wording compared with its clause, word by word, as Word's Compare shows it.

A delegate proposes the whole clause as they want it (the bot gives them its current
text to start from); :func:`compare` finds the words that change. The comparison is
Python's :class:`difflib.SequenceMatcher` over word tokens: words, runs of spaces, line
breaks and single punctuation marks, so that the changes fall on word boundaries and
the kept text, the deleted text and the inserted text put together give back exactly
the clause and exactly the proposal. difflib is part of the standard library and does
this well at the size of a clause (a few hundred tokens); Google's diff-match-patch
(``diff-match-patch`` on PyPI) works on characters and would need its words-as-lines
encoding and a semantic clean-up pass to end up with the same word-level changes.

Spaces cannot anchor a match on their own (they are difflib's "junk"), and a stretch of
spaces or punctuation left between two changes is folded into them, so that "the
quick brown fox" becoming "a slow red fox" reads as one change, not three.

:func:`merge` lays the change sets of several proposals on one clause over each other
so that each stays its own: accepting one proposer's changes (and the
``SEVERAL``-attributed deletions) and rejecting everyone else's gives that proposal,
rejecting them all gives the clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

__all__ = ["REPLACEMENT_BELOW", "SEVERAL", "Change", "Comparer", "Comparison", "Hunk", "compare", "merge", "tokens"]

_TOKEN = re.compile(r"\n|[^\S\n]+|\w+(?:['\u2019\-]\w+)*|[^\w\s]")
_WORD = re.compile(r"\w")

# Below this share of words in common a proposal is shown as replacing the clause.
REPLACEMENT_BELOW = 0.3
# The owner of a deletion that several proposals make: the writer gives it to the Secretariat.
SEVERAL = -1


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _is_word(token: str) -> bool:
    return _WORD.search(token) is not None


@dataclass(frozen=True)
class Hunk:
    """``base[start:end]`` becomes ``text`` (``start == end``: an insertion)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Comparison:
    hunks: tuple[Hunk, ...]
    shared: float  # the share of words the proposal and the clause have in common, 0 to 1

    @property
    def unchanged(self) -> bool:
        return not self.hunks

    @property
    def replacement(self) -> bool:
        """The proposal shares almost nothing with the clause."""
        return self.shared < REPLACEMENT_BELOW


class Comparer:
    """Compares proposals with one clause (its tokens are read once)."""

    def __init__(self, base: str):
        self.base = base
        self.tokens = tokens(base)
        self.offsets = [0]
        for token in self.tokens:
            self.offsets.append(self.offsets[-1] + len(token))
        self.words = [_is_word(t) for t in self.tokens]
        self._seen: dict[str, Comparison] = {}

    def compare(self, proposed: str) -> Comparison:
        """The changes that turn the clause into ``proposed``, on word boundaries."""
        found = self._seen.get(proposed)
        if found is None:
            found = self._seen[proposed] = self._compare(proposed)
        return found

    def _compare(self, proposed: str) -> Comparison:
        a, b = self.tokens, tokens(proposed)
        # Most proposals change a few words: what they share at both ends is kept as it
        # is, and only what lies between is handed to difflib.
        head = 0
        while head < len(a) and head < len(b) and a[head] == b[head]:
            head += 1
        tail = 0
        while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
            tail += 1
        opcodes: list[tuple[str, int, int, int, int]] = []
        if head:
            opcodes.append(("equal", 0, head, 0, head))
        matcher = SequenceMatcher(str.isspace, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            i1, i2, j1, j2 = i1 + head, i2 + head, j1 + head, j2 + head
            if tag != "equal" and opcodes:
                last = opcodes[-1]
                if last[0] != "equal":
                    opcodes[-1] = ("replace", last[1], i2, last[3], j2)
                    continue
                if len(opcodes) >= 2 and not any(self.words[last[1] : last[2]]):
                    # Only spaces or punctuation between two changes: one change.
                    opcodes.pop()
                    before = opcodes[-1]
                    opcodes[-1] = ("replace", before[1], i2, before[3], j2)
                    continue
            if tag == "equal" and opcodes and opcodes[-1][0] == "equal":
                last = opcodes[-1]
                opcodes[-1] = ("equal", last[1], i2, last[3], j2)
                continue
            opcodes.append((tag, i1, i2, j1, j2))
        if tail:
            if opcodes and opcodes[-1][0] == "equal":
                last = opcodes[-1]
                opcodes[-1] = ("equal", last[1], len(a), last[3], len(b))
            else:
                opcodes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
        hunks: list[Hunk] = []
        kept = 0
        for kind, i1, i2, j1, j2 in opcodes:
            if kind == "equal":
                kept += sum(self.words[i1:i2])
            else:
                hunks.append(Hunk(self.offsets[i1], self.offsets[i2], "".join(b[j1:j2])))
        words = max(sum(self.words), sum(1 for t in b if _is_word(t)))
        return Comparison(tuple(self._slid(hunks)), kept / words if words else 1.0)

    def _slid(self, hunks: list[Hunk]) -> list[Hunk]:
        """A deletion that could as well start at a line break is moved there: a paragraph
        dropped after "…old age." is its line break and text, not the first "." and all
        but the last (the same text either way)."""
        base = self.base
        for n, hunk in enumerate(hunks):
            if hunk.text or "\n" not in base[hunk.start : hunk.end] or base[hunk.start] == "\n":
                continue
            limit = hunks[n + 1].start if n + 1 < len(hunks) else len(base)
            start, end, best = hunk.start, hunk.end, 0
            k = 0
            while end + k < limit and base[start + k] == base[end + k]:
                k += 1
                if base[start + k] == "\n":
                    best = k
            if best:
                hunks[n] = Hunk(start + best, end + best, "")
        return hunks


def compare(base: str, proposed: str) -> Comparison:
    """The changes that turn ``base`` into ``proposed``, on word boundaries."""
    return Comparer(base).compare(proposed)


@dataclass
class Change:
    """``base[start:end]`` deleted by ``by`` (a proposal's index, or :data:`SEVERAL`),
    followed by ``inserts``: ``(proposal index, text)`` in the order shown."""

    start: int
    end: int
    by: int
    inserts: list[tuple[int, str]] = field(default_factory=list)


def merge(base: str, proposals: list[tuple[Hunk, ...]]) -> list[Change]:
    """The changes of every proposal on ``base``, in document order.

    A deletion made by one proposal only is its own. Where the deletions of two or more
    proposals overlap, the stretch they cover is deleted once, by :data:`SEVERAL`, and
    every proposal (those that leave it as it is too) inserts its own version of it, so
    that each proposal's changes still give exactly that proposal.
    """
    deletions = sorted(
        ((h.start, h.end, k, h) for k, hunks in enumerate(proposals) for h in hunks if h.start < h.end),
        key=lambda d: (d[0], d[1], d[2]),
    )
    groups: list[list[tuple[int, int, int, Hunk]]] = []
    for d in deletions:
        if groups and d[0] < max(g[1] for g in groups[-1]):
            groups[-1].append(d)
        else:
            groups.append([d])
    changes: list[Change] = []
    shared: list[tuple[int, int]] = []
    for group in groups:
        owners = {k for _, _, k, _ in group}
        if len(owners) == 1:
            start, end, k, hunk = group[0]
            changes.append(Change(start, end, k, [(k, hunk.text)] if hunk.text else []))
            continue
        start, end = group[0][0], max(g[1] for g in group)
        # Take in the space before the stretch, so that the versions read as words.
        while start > 0 and base[start - 1] == " " and not any(c.end > start - 1 for c in changes[-1:]):
            start -= 1
        shared.append((start, end))
        versions = []
        for k, hunks in enumerate(proposals):
            version, position = [], start
            for h in hunks:
                if start <= h.start and h.end <= end and (h.start < h.end or start < h.start < end):
                    version.append(base[position : h.start] + h.text)
                    position = h.end
            version.append(base[position:end])
            text = "".join(version)
            if text:
                versions.append((k, text))
        changes.append(Change(start, end, SEVERAL, versions))
    for k, hunks in enumerate(proposals):
        for h in hunks:
            if h.start == h.end and not any(s < h.start < e for s, e in shared):
                changes.append(Change(h.start, h.start, k, [(k, h.text)]))
    # At one place: what replaces a deleted stretch ending there, then insertions (in
    # proposal order), then a deletion starting there.
    changes.sort(key=lambda c: (c.end, c.start == c.end, c.inserts[0][0] if c.inserts else 0))
    return changes
