"""Every kind of button press the bot understands, as typed callback data.

Each class has a short prefix and typed fields; ``pack`` writes ``prefix:field:field``,
``unpack`` reads it back (refusing anything malformed), and ``pattern`` is the regular
expression a ``CallbackQueryHandler`` matches it with. Telegram carries at most 64 bytes of
callback data; ``pack`` checks it here, once, for every button.

What a button names (a clause, a section, a comment…) is only a claim: the services check
again, at the press, that the person may act on it in its current state.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar, Literal, NamedTuple, Self, get_args, get_origin, get_type_hints

MAX_BYTES = 64
# Ids are database integers: anything longer than this is not one of ours.
MAX_ID = 2**31 - 1
_INT = r"\d{1,10}"


class BadCallback(ValueError):
    """Data that no button of ours carries (forged, truncated or from an older version)."""


@dataclasses.dataclass(frozen=True)
class CallbackData:
    prefix: ClassVar[str] = ""
    _fields: ClassVar[tuple[tuple[str, tuple[str, ...] | None], ...]] = ()
    _pattern: ClassVar[re.Pattern[str]]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix or prefix.endswith(":"):
            raise TypeError(f"bad callback prefix {prefix!r}")
        cls.prefix = prefix

    @classmethod
    def _layout(cls) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
        """(field name, allowed words or None for an id), in order; read once from the class."""
        if "_pattern" not in cls.__dict__:
            hints = get_type_hints(cls)
            fields: list[tuple[str, tuple[str, ...] | None]] = []
            for field in dataclasses.fields(cls):
                hint = hints[field.name]
                if hint is int:
                    fields.append((field.name, None))
                elif get_origin(hint) is Literal:
                    fields.append((field.name, tuple(str(a) for a in get_args(hint))))
                else:
                    raise TypeError(f"{cls.__name__}.{field.name}: callback fields are ids or Literal words")
            cls._fields = tuple(fields)
            parts = [re.escape(cls.prefix)]
            for _, words in cls._fields:
                parts.append(_INT if words is None else "(?:" + "|".join(re.escape(w) for w in words) + ")")
            cls._pattern = re.compile("^" + ":".join(parts) + "$")
        return cls._fields

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        cls._layout()
        return cls._pattern

    def pack(self) -> str:
        values = []
        for name, words in self._layout():
            value = getattr(self, name)
            if words is None:
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
                    raise ValueError(f"{type(self).__name__}.{name}: {value!r} is not an id")
            elif value not in words:
                raise ValueError(f"{type(self).__name__}.{name}: {value!r} is not one of {words}")
            values.append(str(value))
        data = ":".join([self.prefix, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data {data!r} is longer than {MAX_BYTES} bytes")
        return data

    @classmethod
    def unpack(cls, data: str | None) -> Self:
        if not data or not cls.pattern().match(data):
            raise BadCallback(data)
        raw = data[len(cls.prefix) + 1 :].split(":") if cls._fields else []
        values: dict[str, Any] = {}
        for (name, words), text in zip(cls._layout(), raw, strict=True):
            if words is None:
                number = int(text)
                if number > MAX_ID:
                    raise BadCallback(data)
                values[name] = number
            else:
                values[name] = text
        return cls(**values)


# --- reading ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ShowSection(CallbackData, prefix="sec"):
    section_id: int


# --- writing a comment --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CommentOn(CallbackData, prefix="cm"):
    clause_id: int


@dataclasses.dataclass(frozen=True)
class PickClause(CallbackData, prefix="pk"):
    clause_id: int


@dataclasses.dataclass(frozen=True)
class ChooseKind(CallbackData, prefix="k"):
    kind: Literal["ge", "te", "ed"]


@dataclasses.dataclass(frozen=True)
class SkipProposed(CallbackData, prefix="skip"):
    pass


@dataclasses.dataclass(frozen=True)
class ChangePart(CallbackData, prefix="pv"):
    part: Literal["text", "prop", "kind"]


@dataclasses.dataclass(frozen=True)
class SendComment(CallbackData, prefix="ok"):
    pass


@dataclasses.dataclass(frozen=True)
class CancelComment(CallbackData, prefix="x"):
    pass


# --- one's own comments and answers -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EditComment(CallbackData, prefix="me"):
    comment_id: int


@dataclasses.dataclass(frozen=True)
class AskWithdraw(CallbackData, prefix="mw"):
    comment_id: int


@dataclasses.dataclass(frozen=True)
class Withdraw(CallbackData, prefix="mwy"):
    comment_id: int


@dataclasses.dataclass(frozen=True)
class KeepComment(CallbackData, prefix="mwn"):
    comment_id: int


@dataclasses.dataclass(frozen=True)
class NoComments(CallbackData, prefix="nc"):
    section_id: int


@dataclasses.dataclass(frozen=True)
class UndoNoComments(CallbackData, prefix="ncu"):
    section_id: int


# --- reminders -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mute(CallbackData, prefix="mute"):
    consultation_id: int


@dataclasses.dataclass(frozen=True)
class Unmute(CallbackData, prefix="unmute"):
    consultation_id: int


# --- chairs ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Nudge(CallbackData, prefix="nudge"):
    consultation_id: int
    body_id: int


# --- the Secretariat ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AnswerWith(CallbackData, prefix="an"):
    comment_id: int
    disposition: Literal["accepted", "partly", "noted", "rejected"]


@dataclasses.dataclass(frozen=True)
class AnswerNoObservation(CallbackData, prefix="ano"):
    comment_id: int


@dataclasses.dataclass(frozen=True)
class AnswerLater(CallbackData, prefix="anl"):
    comment_id: int


@dataclasses.dataclass(frozen=True)
class AnswerStop(CallbackData, prefix="ans"):
    pass


@dataclasses.dataclass(frozen=True)
class ChangeAnswer(CallbackData, prefix="anc"):
    """Change one comment's answer (or give its first) from its card; `seen` is the last
    change of the answer the card showed (0: none), so an old card is known for one."""

    comment_id: int
    seen: int


@dataclasses.dataclass(frozen=True)
class KeepObservation(CallbackData, prefix="ank"):
    """Changing an answer: keep the observation it has now."""

    comment_id: int


@dataclasses.dataclass(frozen=True)
class CancelChange(CallbackData, prefix="anx"):
    comment_id: int


@dataclasses.dataclass(frozen=True)
class MatrixApply(CallbackData, prefix="mx:a"):
    """Store the answers of a comment matrix sent back (previewed first)."""

    upload_id: int
    consultation_id: int


@dataclasses.dataclass(frozen=True)
class MatrixCancel(CallbackData, prefix="mx:x"):
    upload_id: int


@dataclasses.dataclass(frozen=True)
class UploadNew(CallbackData, prefix="up:n"):
    upload_id: int


@dataclasses.dataclass(frozen=True)
class UploadReplace(CallbackData, prefix="up:r"):
    upload_id: int
    consultation_id: int


@dataclasses.dataclass(frozen=True)
class UploadVersion(CallbackData, prefix="up:v"):
    upload_id: int
    consultation_id: int


# A delegate's Word file: whose comments to read (author: 1 + its index in the file, 0 all),
# send them all as one type, or drop the file.
@dataclasses.dataclass(frozen=True)
class FileAuthor(CallbackData, prefix="wf:a"):
    upload_id: int
    author: int


@dataclasses.dataclass(frozen=True)
class FileSend(CallbackData, prefix="wf:s"):
    upload_id: int
    kind: Literal["ge", "te", "ed", "pk"]  # pk: those picked, each with its own type
    author: int


# Pick the file's comments one by one: the list, and one item's type cycled.
@dataclasses.dataclass(frozen=True)
class FilePick(CallbackData, prefix="wf:p"):
    upload_id: int
    author: int


@dataclasses.dataclass(frozen=True)
class FileToggle(CallbackData, prefix="wf:t"):
    upload_id: int
    author: int
    index: int


@dataclasses.dataclass(frozen=True)
class FileCancel(CallbackData, prefix="wf:x"):
    upload_id: int


# A new version checked, corrected if need be: store it.
@dataclasses.dataclass(frozen=True)
class VersionStore(CallbackData, prefix="up:s"):
    upload_id: int


@dataclasses.dataclass(frozen=True)
class UploadCancel(CallbackData, prefix="up:x"):
    upload_id: int


# --- the endorsement stage ----------------------------------------------------------------------------


# Endorse ("e") at once; endorse with a reservation ("r") or cannot endorse ("c"): its text next.
@dataclasses.dataclass(frozen=True)
class Endorse(CallbackData, prefix="en"):
    stage_id: int
    kind: Literal["e", "r", "c"]


@dataclasses.dataclass(frozen=True)
class EndorseCancel(CallbackData, prefix="enx"):
    stage_id: int


@dataclasses.dataclass(frozen=True)
class EndorsementRecordFile(CallbackData, prefix="enr"):
    stage_id: int


@dataclasses.dataclass(frozen=True)
class DraftOf(CallbackData, prefix="df"):
    consultation_id: int


# Open endorsement although comments have no answer yet: the deadline (minutes since the
# epoch, UTC) and whether it runs as a silence procedure, as they were asked for.
@dataclasses.dataclass(frozen=True)
class OpenEndorsement(CallbackData, prefix="oe"):
    consultation_id: int
    deadline: int
    silence: Literal["0", "1"]


@dataclasses.dataclass(frozen=True)
class OpenEndorsementNot(CallbackData, prefix="oex"):
    consultation_id: int


# --- the record -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExportRecord(CallbackData, prefix="xp"):
    consultation_id: int


# Version `number` compared with the one before it.
@dataclasses.dataclass(frozen=True)
class CompareVersions(CallbackData, prefix="cmpv"):
    consultation_id: int
    number: int


# --- buttons that call nothing back ------------------------------------------------------------------

# Telegram copies at most this many characters with a copy-text button.
COPY_TEXT_LIMIT = 256


class CopyText(NamedTuple):
    """A button that copies ``text`` to the person's clipboard (Telegram's CopyTextButton):
    it takes the place of ``(label, callback data)`` in a keyboard's rows. Only for messages
    sent straight away, not through the recorded outgoing queue."""

    label: str
    text: str

    @staticmethod
    def fits(text: str) -> bool:
        return 0 < len(text.encode("utf-16-le", "surrogatepass")) // 2 <= COPY_TEXT_LIMIT


# --- a national focal point's review ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClearComment(CallbackData, prefix="fcl"):
    comment_id: int


@dataclasses.dataclass(frozen=True)
class ReturnComment(CallbackData, prefix="fre"):
    """Return the comment to its delegate: the focal point's next message is the note."""

    comment_id: int


@dataclasses.dataclass(frozen=True)
class EditForState(CallbackData, prefix="fed"):
    """Edit the comment's text for the state: the focal point's next message is the text."""

    comment_id: int


@dataclasses.dataclass(frozen=True)
class MergePick(CallbackData, prefix="fmp"):
    """Merge this comment with another of the state on its clause: which one?"""

    comment_id: int


@dataclasses.dataclass(frozen=True)
class MergeWith(CallbackData, prefix="fmw"):
    comment_id: int
    other_id: int


@dataclasses.dataclass(frozen=True)
class ClearGroup(CallbackData, prefix="fcg"):
    """Clear a section's comments from one body, up to the newest shown (`last_id`)."""

    section_id: int
    body_id: int
    last_id: int


@dataclasses.dataclass(frozen=True)
class CancelReview(CallbackData, prefix="fcx"):
    """Drop the note or text being typed."""
