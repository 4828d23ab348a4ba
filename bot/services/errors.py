"""Refusals: what a service says when it will not do what it was asked, and why.

A refusal carries a `Reason` and the plain data its explanation needs (a name, a date, the
nearest clause references); it never carries text. The edge renders it for the person who
asked (`bot.texts.refusal`), in chat or at the command line. Nothing was changed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    ALREADY_ANSWERED = "already_answered"
    ALREADY_CLEARED = "already_cleared"
    ALREADY_OPEN = "already_open"
    ALREADY_RECORDED = "already_recorded"
    ALREADY_REGISTERED = "already_registered"
    ALREADY_RETURNED = "already_returned"
    ANSWER_CARD_OUT_OF_DATE = "answer_card_out_of_date"
    ANSWER_CHANGED_MEANWHILE = "answer_changed_meanwhile"
    ANSWER_NOT_IN_HAND = "answer_not_in_hand"
    BAD_ANSWER_FILTER = "bad_answer_filter"
    BAD_BODY_CODE = "bad_body_code"
    BAD_CLEARANCE = "bad_clearance"
    BAD_CORRECTION = "bad_correction"
    BAD_DAYS = "bad_days"
    BAD_DEADLINE = "bad_deadline"
    BAD_DISPOSITION = "bad_disposition"
    BAD_DURATION = "bad_duration"
    BAD_EMAIL = "bad_email"
    BAD_KIND = "bad_kind"
    BAD_ROLE = "bad_role"
    BAD_SCHEDULE = "bad_schedule"
    BAD_STATE = "bad_state"
    BAD_TIMEZONE = "bad_timezone"
    CANNOT_REPLACE_OPEN = "cannot_replace_open"
    CLAUSE_GONE = "clause_gone"
    CLAUSE_NOT_ROUTED = "clause_not_routed"
    COMMENTS_DURING_ENDORSEMENT = "comments_during_endorsement"
    COMMENT_GONE = "comment_gone"
    COMMENT_INCOMPLETE = "comment_incomplete"
    COMMENT_MERGED = "comment_merged"
    COMMENT_WITHDRAWN = "comment_withdrawn"
    CONSULTATION_EXISTS = "consultation_exists"
    CSV_EMPTY = "csv_empty"
    CSV_MISSING_COLUMNS = "csv_missing_columns"
    DEADLINE_IN_PAST = "deadline_in_past"
    EARLIER_VERSION = "earlier_version"
    EMPTY_TEXT = "empty_text"
    ENDORSEMENT_BY_FOCAL = "endorsement_by_focal"
    ENDORSEMENT_CLOSED = "endorsement_closed"
    ENDORSEMENT_GONE = "endorsement_gone"
    ENDORSEMENT_NOT_ROUTED = "endorsement_not_routed"
    ENDORSEMENT_TEXT_REQUIRED = "endorsement_text_required"
    ENDORSEMENT_TEXT_TOO_LONG = "endorsement_text_too_long"
    ENDORSEMENT_UNANSWERED = "endorsement_unanswered"
    FOCAL_HAS_NO_BODY = "focal_has_no_body"
    INVITE_EXPIRED = "invite_expired"
    INVITE_NEEDS_BODY_AND_STATE = "invite_needs_body_and_state"
    INVITE_UNKNOWN = "invite_unknown"
    INVITE_USED = "invite_used"
    LATE_USAGE = "late_usage"
    MATRIX_OF_ANOTHER = "matrix_of_another"
    MERGE_OTHER_CLAUSE = "merge_other_clause"
    MERGE_SAME = "merge_same"
    NOTHING_IN_FILE = "nothing_in_file"
    NOTHING_PICKED = "nothing_picked"
    NOTHING_TO_CIRCULATE = "nothing_to_circulate"
    NOTHING_TO_MERGE = "nothing_to_merge"
    NOT_AN_ENDORSER = "not_an_endorser"
    NOT_A_MATRIX = "not_a_matrix"
    NOT_FOR_ROLE = "not_for_role"
    NOT_OPEN = "not_open"
    NOT_REGISTERED = "not_registered"
    NOT_YOUR_STATE = "not_your_state"
    NO_COMMENT_IN_PROGRESS = "no_comment_in_progress"
    NO_COMPARISON = "no_comparison"
    NO_CONSULTATIONS = "no_consultations"
    NO_DRAFT = "no_draft"
    NO_ENDORSEMENT = "no_endorsement"
    NO_REVIEW_IN_PROGRESS = "no_review_in_progress"
    NO_ROUND_FOR_FILE = "no_round_for_file"
    NUDGE_NOT_YOURS = "nudge_not_yours"
    NUDGE_TOO_SOON = "nudge_too_soon"
    OBSERVATION_REQUIRED = "observation_required"
    ONLY_DELEGATES_COMMENT = "only_delegates_comment"
    REVIEW_NEEDS_BODIES = "review_needs_bodies"
    ROUND_CLOSED = "round_closed"
    ROUND_CLOSED_ALREADY = "round_closed_already"
    ROUND_NOT_OPEN = "round_not_open"
    ROUTE_NEEDS_BODIES = "route_needs_bodies"
    SECTION_GONE = "section_gone"
    STAGE_STILL_OPEN = "stage_still_open"
    TEXT_TOO_LONG = "text_too_long"
    UNKNOWN_BODY = "unknown_body"
    TOO_MANY_TO_PICK = "too_many_to_pick"
    UNKNOWN_CLAUSE = "unknown_clause"
    UNKNOWN_CONSULTATION = "unknown_consultation"
    UNKNOWN_NUMBER = "unknown_number"
    UNKNOWN_SECTIONS = "unknown_sections"
    UNKNOWN_STATE = "unknown_state"
    UPLOAD_GONE = "upload_gone"
    VERSION_IDENTICAL = "version_identical"
    VERSION_UNRELATED = "version_unrelated"
    WHICH_CONSULTATION = "which_consultation"
    WITHDRAWN_NOT_CLEARABLE = "withdrawn_not_clearable"
    WORD_FILE_REFUSED = "word_file_refused"


class ServiceError(Exception):
    """A refusal: a reason, and the data that explains it."""

    def __init__(self, reason: Reason, **data: Any) -> None:
        super().__init__(reason, data)
        self.reason = reason
        self.data = data

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value!r}" for key, value in self.data.items())
        return f"{self.reason.value}({details})"


class NotFound(ServiceError):
    """What was named does not exist (or is not visible to the one who asked)."""


class Refused(ServiceError):
    """It exists, but this person may not do this to it now."""


class RoundClosed(ServiceError):
    """The round is not taking comments."""


class InvalidInput(ServiceError):
    """What was typed cannot be read."""


class UnknownClause(NotFound):
    def __init__(self, reason: Reason = Reason.UNKNOWN_CLAUSE, **data: Any) -> None:
        super().__init__(reason, **data)
        self.suggestions: list[str] = list(data.get("suggestions", []))


class CsvRowErrors(ServiceError):
    """Rows of a contacts file that cannot be enrolled, by line number; nothing was enrolled."""

    def __init__(self, errors: list[tuple[int, ServiceError]]) -> None:
        super().__init__(Reason.CSV_EMPTY if not errors else errors[0][1].reason)
        self.errors = errors
