"""The comments to consolidate and what every output derives from them.

:class:`CommentEntry` and :class:`ConsolidationInfo` are the input of the consolidated
draft, the draft with proposals and the .xlsx comment matrix; the helpers here give all
three outputs the same order, the same numbers and the same wording.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from ._ooxml import sanitize_xml_text
from .sample import sample_states

# The columns of the comment matrix, as in the ISO commenting template.
MATRIX_COLUMNS = (
    "No.",
    "Body",
    "Member State",
    "Clause",
    "Paragraph",
    "Type (ge/te/ed)",
    "Comment",
    "Proposed change",
    "Secretariat observation",
)

KIND_NAMES = {"ge": "general", "te": "technical", "ed": "editorial"}
# Where a comment's type stands alone (a Word comment), it is spelled out.
KIND_TITLES = {kind: name.capitalize() for kind, name in KIND_NAMES.items()}
LATE_MARK = "(late)"
NO_PARAGRAPH = "\u2013"

_STATE_CODES = {name.casefold(): code for name, code, _ in sample_states()}
_STATE_CODES.update(
    {
        "brunei": "BN",
        "lao people's democratic republic": "LA",
        "laos": "LA",
        "vietnam": "VN",
        "timor-leste": "TL",
    }
)


def _state_code(state: str) -> str:
    state = state.strip()
    if not state:
        return ""
    code = _STATE_CODES.get(state.casefold())
    if code:
        return code
    if len(state) <= 3 and state.isalpha():
        return state.upper()
    words = [word for word in re.split(r"[\s\-]+", state) if word]
    return "".join(word[0] for word in words).upper()[:3]


# How the matrix and the Word comments name the Secretariat's answers.
DISPOSITION_NAMES = {
    "accepted": "Accepted",
    "partly": "Accepted in part",
    "noted": "Noted",
    "rejected": "Not accepted",
}


@dataclass(frozen=True)
class CommentEntry:
    """One comment to place in the consolidated draft."""

    number: str  # matrix number, e.g. "TH-001"
    clause_ref: str
    paragraphs: tuple[int, ...]  # the clause's paragraph indices (ParsedClause.paragraphs)
    body: str  # "SOMHD"
    state: str  # "Thailand"
    kind: str  # "ge" | "te" | "ed"
    text: str
    proposed: str | None
    created_at: dt.datetime  # timezone-aware
    late: bool = False
    observation: str | None = None  # Secretariat observation
    section_ref: str = ""  # the clause's section (ParsedSection.ref); "" if not known
    disposition: str | None = None  # the Secretariat's answer: accepted, partly, noted, rejected
    # ``proposed`` is the whole clause as the delegate wants it (what the bot asks for). False
    # for wording sent before it asked, which may be a fragment of the clause.
    proposed_whole: bool = True
    # Where the consultation asks its focal points for clearance: "cleared" or "not cleared"
    # ("" where it does not), and whether it was cleared after the deadline.
    clearance: str = ""
    cleared_late: bool = False

    @property
    def clearance_line(self) -> str:
        """What the matrix and the Word comment say of its clearance: "cleared by the
        Thailand focal point" ("" where clearance is not asked for)."""
        if not self.clearance:
            return ""
        who = f"the {self.state.strip()} focal point" if self.state.strip() else "the focal point"
        if self.clearance != "cleared":
            return f"not cleared by {who}"
        return f"cleared by {who}" + (" after the deadline" if self.cleared_late else "")

    @property
    def state_cell(self) -> str:
        """The Member State column of the matrix, with the clearance under the state's name."""
        line = self.clearance_line
        return f"{self.state}\n({line})" if line else self.state

    @property
    def answer(self) -> str | None:
        """The Secretariat's answer as the matrix states it: "Accepted in part. Kept, every 18
        months." (the observation alone where there is no disposition)."""
        name = DISPOSITION_NAMES.get(self.disposition or "")
        if name and self.observation:
            return f"{name}. {self.observation}"
        return name or self.observation

    @property
    def author(self) -> str:
        """The author shown by Word: body and Member State, e.g. "SOMHD \u2013 Thailand"."""
        parts = [p.strip() for p in (self.body, self.state) if p and p.strip()]
        return " \u2013 ".join(parts)

    @property
    def initials(self) -> str:
        """Short initials: the body's code and the Member State's code, e.g. "SOMHD-TH"."""
        parts = [p for p in (self.body.strip(), _state_code(self.state)) if p]
        return "-".join(parts)


@dataclass(frozen=True)
class ConsolidationInfo:
    title: str  # the draft's title, as the documents show it
    # The consultation's internal name (its slug): it names the files and the .xlsx
    # matrix's subject (so a matrix sent back is known to be this consultation's), but
    # is never shown on a page.
    consultation: str
    deadline: dt.datetime | None
    generated_at: dt.datetime
    # Who was consulted, as "BODY \u2013 Member State" labels, for the cover page. When
    # all three are empty the cover lists those who sent comments.
    responded: tuple[str, ...] = ()
    not_responded: tuple[str, ...] = ()
    # Every section of the draft as (ref, heading), in document order, so that the
    # cover counts comments for each section, zeros included.
    sections: tuple[tuple[str, str], ...] = ()
    # Bodies and Member States of the round with nobody enrolled: counted and shown as
    # "no contact enrolled" on the cover.
    not_enrolled: tuple[str, ...] = ()
    # The Secretariat's time zone (IANA name): the dates of every page are given in it,
    # with the zone named.
    timezone: str = "UTC"


# ------------------------------------------------------------------------- derived


def kind_code(entry: CommentEntry) -> str:
    """The comment type as written in the matrix: "ge", "te", "ed" or what was given."""
    return _kind_code(entry.kind or "")


@functools.lru_cache(maxsize=256)
def _kind_code(kind: str) -> str:
    return " ".join(sanitize_xml_text(kind).split()).lower()


def has_proposal(entry: CommentEntry) -> bool:
    return bool(entry.proposed and sanitize_xml_text(entry.proposed).strip())


def paragraph_number(entry: CommentEntry) -> int | None:
    """The clause's first paragraph in the draft, counted from 1 (None if not known)."""
    if not entry.paragraphs:
        return None
    first = min(entry.paragraphs)
    return first + 1 if first >= 0 else None


def section_of(entry: CommentEntry, known: frozenset[str] | set[str] = frozenset()) -> str:
    """The section a comment counts under on the cover.

    ``entry.section_ref`` when given. Otherwise the longest section of ``known`` whose
    reference is a dotted prefix of the clause's ("2.1" for clause "2.1.3"), and failing
    that the clause reference up to its first dot ("2" for "2.1.3").
    """
    if entry.section_ref.strip():
        return entry.section_ref.strip()
    ref = entry.clause_ref.strip()
    if known:
        parts = ref.split(".")
        for n in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:n])
            if prefix in known:
                return prefix
    return ref.split(".", 1)[0]


_NATURAL = re.compile(r"(\d+)")


def natural(s: str) -> tuple[int | str, ...]:
    """Sort key that orders "2.10" after "2.9" and "TH-010" after "TH-009"."""
    # re.split with a group alternates text and digits, so items compare like with like.
    return tuple(int(p) if p.isdigit() else p.casefold() for p in _NATURAL.split(s))


def matrix_order(comments: Sequence[CommentEntry]) -> list[CommentEntry]:
    """``comments`` in matrix order: clauses in document order (their first paragraph),
    then the clause reference and the matrix number. Comments without a known paragraph
    come last."""
    refs: dict[str, tuple[int | str, ...]] = {}  # a draft has far fewer clauses than comments

    def key(entry: CommentEntry) -> tuple[int, tuple[int | str, ...], tuple[int | str, ...]]:
        ref = refs.get(entry.clause_ref)
        if ref is None:
            ref = refs[entry.clause_ref] = natural(entry.clause_ref)
        first = paragraph_number(entry)
        return (first if first is not None else sys.maxsize, ref, natural(entry.number))

    return sorted(comments, key=key)


def utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=64)
def zone(name: str) -> dt.tzinfo:
    """The time zone of an IANA name; UTC for an unknown one."""
    try:
        return zoneinfo.ZoneInfo(name) if name and name.upper() != "UTC" else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def local_time(moment: dt.datetime, zone_name: str) -> str:
    """``moment`` in the zone, named: "Sun 31 Jan 2027, 23:59 (Asia/Jakarta, UTC+7)", or
    "Wed 2 Dec 2026, 09:30 (UTC)". The date, time and offset read as the bot tells people
    dates in chat."""
    tz = zone(zone_name)
    local = utc(moment).astimezone(tz)
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    hours, mins = divmod(abs(minutes), 60)
    utc_offset = (
        "UTC" if minutes == 0 else f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{mins:02d}" if mins else "")
    )
    named = utc_offset if tz is dt.UTC else f"{zone_name}, {utc_offset}"
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({named})"


def local_day(moment: dt.datetime, zone_name: str) -> str:
    """The day of ``moment`` in the zone: "2 Dec 2026"."""
    local = utc(moment).astimezone(zone(zone_name))
    return f"{local.day} {local:%b %Y}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
