"""What services need from the edge to word the messages they queue.

Services decide who is sent what and when; they never hold text or buttons of their own. The
edge (the application, the command line, a benchmark) hands them a `Renderer`, which words a
message in the recipient's language of choice and builds its buttons (`bot.rendering`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.models import Clause, Section
    from bot.services.answers import AnswerLine
    from bot.services.endorsements import Ballot, Tally
    from bot.services.review import DigestLine
    from bot.services.status import AnswerCounts, BodyStatus, StatusReport

# Inline buttons as rows of (label, callback data).
Rows = list[list[tuple[str, str]]]


class Renderer(Protocol):
    # circulation
    def circulation_intro(
        self,
        title: str,
        deadline: datetime | None,
        tz: ZoneInfo,
        sections: int,
        *,
        kind: str = ...,
        version: str = ...,
        changed: int | None = ...,
    ) -> str: ...

    def section_parts(
        self,
        title: str,
        section: Section,
        clauses: Sequence[Clause],
        *,
        changes: Mapping[str, tuple[str, str | None]] | None = ...,
    ) -> list[tuple[str, list[int]]]: ...

    def section_buttons(self, clauses: Sequence[Clause], section_id: int, *, with_no_comments: bool) -> Rows: ...

    # reminders and nudges
    def reminder(
        self,
        title: str,
        deadline: datetime,
        tz: ZoneInfo,
        at: datetime,
        sections: Sequence[tuple[str, str]],
        *,
        national: datetime | None = None,
    ) -> str: ...

    def nudge_message(
        self,
        title: str,
        deadline: datetime,
        tz: ZoneInfo,
        at: datetime,
        sections: Sequence[tuple[str, str]],
        *,
        national: datetime | None = None,
    ) -> str: ...

    def focal_digest(self, title: str, lines: Sequence[DigestLine]) -> str: ...

    def focal_reminder(
        self, title: str, deadline: datetime, national: datetime | None, tz: ZoneInfo, at: datetime, waiting: int
    ) -> str: ...

    def reminder_buttons(self, sections: Sequence[Section], consultation_id: int) -> Rows: ...

    # summaries
    def summary_label(self, kind: str, label: str) -> str: ...

    def chair_summary(
        self, report: StatusReport, body: BodyStatus, per_section: Any, tz: ZoneInfo, now: datetime, label: str = ""
    ) -> str: ...

    def secretariat_summary(
        self, report: StatusReport, per_section: Any, tz: ZoneInfo, now: datetime, label: str = ""
    ) -> str: ...

    def chart_caption(self, report: StatusReport, body_code: str | None) -> str: ...

    def nudge_buttons(self, consultation_id: int, body_id: int, waiting: int) -> Rows: ...

    # the round's course
    def deadline_moved(self, title: str, old: datetime | None, new: datetime, tz: ZoneInfo) -> str: ...

    def round_closed_notice(self, title: str) -> str: ...

    # answers
    def answers_message(self, title: str, lines: Sequence[AnswerLine]) -> list[str]: ...

    def answer_summary(self, title: str, body: str, counts: AnswerCounts) -> str: ...

    def answer_chart_caption(self, title: str, body: str) -> str: ...

    def disposition_label(self, disposition: str | None) -> str: ...

    # clearance
    def comment_returned(self, title: str, ref: str, state: str, note: str) -> str: ...

    # the endorsement stage
    def ballot(self, b: Ballot, tz: ZoneInfo) -> str: ...

    def ballot_buttons(self, b: Ballot) -> Rows: ...

    def endorsement_reminder(self, b: Ballot, tz: ZoneInfo) -> str: ...

    def silence_broken(self, b: Ballot, tz: ZoneInfo) -> str: ...

    def endorsement_record_buttons(self, stage_id: int) -> Rows: ...

    def endorsement_record_caption(self, t: Tally, tz: ZoneInfo) -> str: ...

    def endorsement_closed(self, t: Tally, kind: str, who: str) -> str: ...
