"""The endorsement record: who endorsed a version of the draft, how, and the outcome.

The last stage of a consultation asks each sectoral body's contact in each Member State
to answer Endorse, Endorse with a reservation (with its text) or Cannot endorse (with
the reason); an answer can be changed until the deadline. Where the stage runs as a
silence procedure, a body and Member State that has not answered by the deadline is
recorded as endorsing by silence.

Input is plain values (:class:`EndorsementRecord`, one :class:`PairAnswer` per body and
Member State that answered); :func:`endorsement_outcome` computes the outcome,
:func:`endorsement_record_docx` writes the record a Secretariat forwards as it is, and
:func:`endorsement_record_json` gives the same record as a JSON-ready dict for the
consultation's export.

The outcome (:class:`Outcome`):

* a pair that answered Cannot endorse makes the draft not endorsed;
* so does a pair with no answer, unless the silence procedure filled it in;
* otherwise the draft is endorsed by all, or endorsed with reservations if any pair
  endorsed with one.

Silence is recorded only once the deadline has passed (at the closing of the stage, or
when the record is compiled if the stage is not closed yet), and only for a body and
Member State that has a contact enrolled: one that never received the draft cannot be
taken to have agreed by keeping silent. A stage closed before its deadline records no
one as endorsing by silence. While the deadline has not passed and the stage is open,
the outcome is provisional (:attr:`EndorsementResult.final` is false) and the document
says so.

A focal point's answer for the whole Member State is given on every pair it covers with
``for_state`` set; the document shows it "for Thailand, by its focal point". A pair with
no contact enrolled may still have such an answer.

The document names the consultation by its title, never by its internal name
(:attr:`EndorsementRecord.consultation`, which only the JSON carries); dates are given in
the named time zone of the stage. It is built with python-docx from its default template
(the template's one part that is not valid ECMA-376, the settings' zoom, is corrected),
A4 portrait, with "Endorsement record \u2013 compiled 2 Feb 2027 \u2013 page 1 of 3" (PAGE and
NUMPAGES fields) in the footer of every page.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.parser import parse_xml
from docx.shared import Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

from ._entries import iso, local_day, local_time, plural, utc, zone
from ._ooxml import sanitize_xml_text, w
from ._xmltext import W_DECL, escape, field_runs

__all__ = [
    "ANSWER_NAMES",
    "FOOTER_NAME",
    "HEADING_ANSWERS",
    "HEADING_CHANGES",
    "HEADING_RESERVATIONS",
    "NOT_ENROLLED",
    "AnswerKind",
    "Counts",
    "EarlierAnswer",
    "EndorsementRecord",
    "EndorsementResult",
    "Outcome",
    "PairAnswer",
    "PairResult",
    "StageWindow",
    "endorsement_outcome",
    "endorsement_record_docx",
    "endorsement_record_json",
]


class AnswerKind(enum.StrEnum):
    ENDORSE = "endorse"
    RESERVATION = "reservation"  # endorse with a reservation (its text)
    CANNOT = "cannot"  # cannot endorse (the reason)
    SILENCE = "silence"  # endorse by silence: no objection by the deadline
    NONE = "none"  # no answer


class Outcome(enum.StrEnum):
    ENDORSED_BY_ALL = "endorsed_by_all"
    ENDORSED_WITH_RESERVATIONS = "endorsed_with_reservations"
    NOT_ENDORSED = "not_endorsed"


_ENDORSING = frozenset({AnswerKind.ENDORSE, AnswerKind.RESERVATION, AnswerKind.SILENCE})
_WITH_TEXT = frozenset({AnswerKind.RESERVATION, AnswerKind.CANNOT})


# ------------------------------------------------------------------------------ input


@dataclass(frozen=True)
class EarlierAnswer:
    """An answer a pair gave and later changed."""

    kind: AnswerKind
    at: dt.datetime  # timezone-aware
    text: str = ""  # the reservation or the reason for not endorsing
    by: str = ""  # the name of who answered
    for_state: bool = False  # given by the Member State's focal point for the whole state


@dataclass(frozen=True)
class PairAnswer:
    """The answer of one sectoral body in one Member State, as it stands."""

    body: str  # "SOMHD"
    state: str  # "Thailand"
    kind: AnswerKind
    text: str = ""  # the reservation or the reason for not endorsing
    by: str = ""  # the name of who answered
    at: dt.datetime | None = None  # when (timezone-aware); None for silence or no answer
    for_state: bool = False  # given by the Member State's focal point for the whole state
    history: tuple[EarlierAnswer, ...] = ()  # the answers it replaced, oldest first


@dataclass(frozen=True)
class StageWindow:
    opened: dt.datetime
    deadline: dt.datetime
    closed: dt.datetime | None = None  # None while the stage is open
    timezone: str = "UTC"  # IANA name: the dates of the document are given in it, named


@dataclass(frozen=True)
class EndorsementRecord:
    title: str  # the consultation's title, as the documents show it
    # The consultation's internal name (its slug): in the JSON export, never on a page.
    consultation: str
    version: str  # the version put up for endorsement: "v2"
    window: StageWindow
    silence_procedure: bool
    bodies: tuple[str, ...]  # every body consulted, in the order to show them
    states: tuple[str, ...]  # every Member State consulted, in the order to show them
    compiled_at: dt.datetime
    # The pairs that answered (or were recorded as silent); a pair not listed has no answer.
    answers: tuple[PairAnswer, ...] = ()
    # (body, state) pairs with no contact enrolled.
    not_enrolled: tuple[tuple[str, str], ...] = ()


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Counts:
    """Pairs by the answer that counts (silence filled in where it applies)."""

    endorse: int = 0
    reservation: int = 0
    cannot: int = 0
    silence: int = 0
    none: int = 0
    not_enrolled: int = 0  # of ``none``: pairs with no answer and no contact enrolled

    def of(self, kind: AnswerKind) -> int:
        return int(getattr(self, kind.value))

    @property
    def total(self) -> int:
        return self.endorse + self.reservation + self.cannot + self.silence + self.none

    @property
    def endorsing(self) -> int:
        return self.endorse + self.reservation + self.silence


@dataclass(frozen=True)
class PairResult:
    body: str
    state: str
    kind: AnswerKind  # the answer that counts: silence filled in where it applies
    answer: PairAnswer | None  # as given; None where nothing was recorded
    enrolled: bool


@dataclass(frozen=True)
class EndorsementResult:
    outcome: Outcome
    counts: Counts
    final: bool  # the deadline has passed or the stage is closed: answers no longer change
    silence_applied: bool  # the silence procedure filled in the pairs that did not answer
    pairs: tuple[PairResult, ...]  # every body and Member State, bodies first, in the record's order


def endorsement_outcome(record: EndorsementRecord) -> EndorsementResult:
    """The outcome of the stage and the answer that counts for every body and Member State.

    Raises ``ValueError`` for a record that contradicts itself: no body or no Member
    State, one listed twice, an answer for a pair not consulted or two for one pair, or
    silence recorded where the stage is not a silence procedure.
    """
    _check(record)
    window = record.window
    as_of = utc(window.closed) if window.closed is not None else utc(record.compiled_at)
    deadline_passed = as_of >= utc(window.deadline)
    silence_applied = record.silence_procedure and deadline_passed
    final = window.closed is not None or deadline_passed

    given = {(a.body, a.state): a for a in record.answers}
    absent = set(record.not_enrolled)
    pairs: list[PairResult] = []
    counts: collections.Counter[AnswerKind] = collections.Counter()
    unreached = 0
    for body in record.bodies:
        for state in record.states:
            answer = given.get((body, state))
            enrolled = (body, state) not in absent
            kind = answer.kind if answer is not None else AnswerKind.NONE
            if kind is AnswerKind.NONE and silence_applied and enrolled:
                kind = AnswerKind.SILENCE
            if kind is AnswerKind.NONE and not enrolled:
                unreached += 1
            counts[kind] += 1
            pairs.append(PairResult(body, state, kind, answer, enrolled))

    if counts[AnswerKind.CANNOT] or counts[AnswerKind.NONE]:
        outcome = Outcome.NOT_ENDORSED
    elif counts[AnswerKind.RESERVATION]:
        outcome = Outcome.ENDORSED_WITH_RESERVATIONS
    else:
        outcome = Outcome.ENDORSED_BY_ALL
    totals = Counts(**{kind.value: counts[kind] for kind in AnswerKind}, not_enrolled=unreached)
    return EndorsementResult(outcome, totals, final, silence_applied, tuple(pairs))


def _check(record: EndorsementRecord) -> None:
    if not record.bodies or not record.states:
        raise ValueError("an endorsement record needs at least one body and one Member State")
    for what, names in (("body", record.bodies), ("Member State", record.states)):
        twice = [name for name, n in collections.Counter(names).items() if n > 1]
        if twice:
            raise ValueError(f"{what} listed more than once: {twice[0]!r}")
    bodies, states = set(record.bodies), set(record.states)
    seen: set[tuple[str, str]] = set()
    for answer in record.answers:
        pair = (answer.body, answer.state)
        if answer.body not in bodies or answer.state not in states:
            raise ValueError(f"answer for a body and Member State not consulted: {pair!r}")
        if pair in seen:
            raise ValueError(f"more than one answer for {pair!r}")
        seen.add(pair)
        kinds = [answer.kind, *(earlier.kind for earlier in answer.history)]
        if AnswerKind.SILENCE in kinds and not record.silence_procedure:
            raise ValueError(f"silence recorded for {pair!r} but the stage is not a silence procedure")


# ------------------------------------------------------------------------------ wording

# How the document names each answer.
ANSWER_NAMES = {
    AnswerKind.ENDORSE: "Endorse",
    AnswerKind.RESERVATION: "Endorse with a reservation",
    AnswerKind.CANNOT: "Cannot endorse",
    AnswerKind.SILENCE: "Endorse by silence",
    AnswerKind.NONE: "No answer",
}
HEADING_ANSWERS = "Answers by body and Member State"
HEADING_RESERVATIONS = "Reservations and objections"
HEADING_CHANGES = "Answers changed before the deadline"
NOT_ENROLLED = "no contact enrolled"
FOOTER_NAME = "Endorsement record"
ANSWERS_COLUMNS = ("Body", "Member State", "Answer", "Answered by", "When", "Reservation or objection")
# The longest reservation or objection shown in the table; the section after it has them in full.
_CELL_TEXT_LIMIT = 300
_DASH = "\u2013"


def _clean(text: str | None) -> str:
    if not text:
        return ""
    text = sanitize_xml_text(text).strip()
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")


def _one_line(text: str) -> str:
    return " ".join(_clean(text).split())


def _short_time(moment: dt.datetime, zone_name: str) -> str:
    """ "3 Feb 2027, 10:15" in the zone (the table's header names it)."""
    local = utc(moment).astimezone(zone(zone_name))
    return f"{local.day} {local:%b %Y, %H:%M}"


def _zone_label(zone_name: str) -> str:
    return "UTC" if zone(zone_name) is dt.UTC else _one_line(zone_name)


def _who(by: str, state: str, for_state: bool) -> str:
    """ "Somchai Prasert", or "for Thailand, by its focal point Somchai Prasert"."""
    name = _one_line(by)
    if not for_state:
        return name
    where = _one_line(state)
    return f"for {where}, by its focal point" + (f" {name}" if name else "")


def _pair_label(body: str, state: str) -> str:
    return f"{_one_line(body)} {_DASH} {_one_line(state)}"


def _of_consulted(n: int) -> str:
    return f"{n} {'body and Member State' if n == 1 else 'bodies and Member States'} consulted"


def _outcome_line(result: EndorsementResult) -> str:
    """The outcome stated plainly: "Endorsed by all 80 bodies and Member States consulted,
    64 by silence."."""
    counts = result.counts
    consulted = _of_consulted(counts.total)
    if result.outcome is Outcome.ENDORSED_BY_ALL:
        line = f"Endorsed by all {consulted}" if counts.total > 1 else f"Endorsed by the {consulted}"
        if counts.silence:
            line += ", all of them by silence" if counts.silence == counts.total else f", {counts.silence} by silence"
        line += "."
    elif result.outcome is Outcome.ENDORSED_WITH_RESERVATIONS:
        line = (
            f"Endorsed with reservations: all {consulted} endorse, "
            f"{plural(counts.reservation, 'with a reservation', 'with reservations')}"
        )
        if counts.silence:
            line += f" and {counts.silence} by silence"
        line += "."
    else:
        reasons = []
        if counts.cannot:
            reasons.append(f"{counts.cannot} cannot endorse")
        if counts.none:
            unanswered = f"{counts.none} did not answer" if result.final else f"{counts.none} have not answered yet"
            if counts.not_enrolled:
                unanswered += f" ({counts.not_enrolled} with {NOT_ENROLLED})"
            reasons.append(unanswered)
        line = f"Not endorsed: of the {consulted}, " + " and ".join(reasons) + "."
    return line


def _counts_line(counts: Counts, silence_procedure: bool) -> str:
    kinds = [AnswerKind.ENDORSE, AnswerKind.RESERVATION, AnswerKind.CANNOT]
    if silence_procedure:
        kinds.append(AnswerKind.SILENCE)
    kinds.append(AnswerKind.NONE)
    line = ", ".join(f"{counts.of(kind)} {ANSWER_NAMES[kind].lower()}" for kind in kinds)
    if counts.not_enrolled:
        line += f" ({counts.not_enrolled} with {NOT_ENROLLED})"
    return line


def _rule_lines(record: EndorsementRecord, result: EndorsementResult) -> tuple[str, str]:
    """The rule's name and what it means for this record."""
    window = record.window
    if not record.silence_procedure:
        return (
            "Explicit answers",
            "Each body in each Member State endorses only by answering; one that did not answer by "
            "the deadline has not endorsed the draft.",
        )
    text = (
        "Silence procedure: a body in a Member State that had not answered by the deadline is recorded "
        f"as endorsing by silence. Silence is not recorded where there is {NOT_ENROLLED}."
    )
    if window.closed is not None and utc(window.closed) < utc(window.deadline):
        text += " The stage was closed before its deadline: no one is recorded as endorsing by silence."
    elif not result.silence_applied:
        text += " The deadline has not passed: no one is recorded as endorsing by silence yet."
    return "Silence procedure", text


# ----------------------------------------------------------------------------- document


@dataclass(frozen=True)
class _Numbered:
    """A reservation or an objection, numbered for the table to refer to: "R1", "O2"."""

    ref: str
    pair: PairResult
    answer: PairAnswer


def _numbered(result: EndorsementResult) -> dict[tuple[str, str], _Numbered]:
    """The objections (O1, O2, ...) then the reservations (R1, ...), each in the table's order."""
    found: dict[tuple[str, str], _Numbered] = {}
    for kind, prefix in ((AnswerKind.CANNOT, "O"), (AnswerKind.RESERVATION, "R")):
        n = 0
        for pair in result.pairs:
            if pair.answer is not None and pair.kind is kind:
                n += 1
                found[(pair.body, pair.state)] = _Numbered(f"{prefix}{n}", pair, pair.answer)
    return found


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "\u2026"


def _row(pair: PairResult, numbered: _Numbered | None, zone_name: str) -> list[str]:
    answer = pair.answer
    name = ANSWER_NAMES[pair.kind]
    if numbered is not None:
        name += f" ({numbered.ref})"
    if answer is not None and answer.history:
        changes = len(answer.history)
        name += "\n(changed once)" if changes == 1 else f"\n(changed {changes} times)"
    if answer is None or answer.kind in (AnswerKind.NONE, AnswerKind.SILENCE):
        # Nothing stands that anyone said: no answer, or silence.
        who = NOT_ENROLLED if pair.kind is AnswerKind.NONE and not pair.enrolled else _DASH
        return [pair.body, pair.state, name, who, _DASH, ""]
    who = _who(answer.by, pair.state, answer.for_state) or _DASH
    when = _short_time(answer.at, zone_name) if answer.at is not None else _DASH
    text = ""
    if numbered is not None:
        full = _clean(answer.text)
        text = _shorten(full, _CELL_TEXT_LIMIT) if full else "(no text given)"
        if full and text != full:
            text += f" (in full under {numbered.ref})"
    return [pair.body, pair.state, name, who, when, text]


def _fix_template(document: docx.document.Document) -> None:
    """python-docx's template: the zoom ECMA-376 wants a percentage for, the preview
    picture Word would save, the template's own thumbnail."""
    settings = document.settings.element
    zoom = settings.find(w("zoom"))
    if zoom is not None:
        zoom.set(w("percent"), "100")
    for preview in settings.findall(w("savePreviewPicture")):
        settings.remove(preview)
    package = document.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype.endswith("/metadata/thumbnail"):
            package.rels.pop(rid)


def _set_cell(cell: _Cell, text: str, *, bold: bool = False, size: int = 9) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_before = Pt(1)
    paragraph.paragraph_format.space_after = Pt(1)
    run = paragraph.add_run(_clean(text))
    run.font.size = Pt(size)
    run.bold = bold or None


def _shade(cell: _Cell) -> None:
    cell._tc.get_or_add_tcPr().append(parse_xml(f'<w:shd {W_DECL} w:val="clear" w:color="auto" w:fill="D9E2F3"/>'))


def _row_properties(row: Any, *, header: bool) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    etree.SubElement(tr_pr, w("cantSplit"))
    if header:
        etree.SubElement(tr_pr, w("tblHeader"))


def _table(
    document: docx.document.Document,
    widths: Sequence[int],
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] | None = None,
    label_column: bool = False,
) -> None:
    """A fixed-layout grid table; ``widths`` in twips."""
    table = document.add_table(rows=0, cols=len(widths))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    # Narrower cell margins than the template's (1.9 mm): the columns keep more of their width.
    margins = parse_xml(
        f'<w:tblCellMar {W_DECL}><w:left w:w="70" w:type="dxa"/><w:right w:w="70" w:type="dxa"/></w:tblCellMar>'
    )
    tbl_pr = table._tbl.tblPr
    look = tbl_pr.find(w("tblLook"))
    if look is not None:
        look.addprevious(margins)  # the schema's order: tblLayout, tblCellMar, tblLook
    else:
        tbl_pr.append(margins)
    for column, width in zip(table.columns, widths):
        column.width = _twips(width)
    all_rows = ([list(header)] if header is not None else []) + [list(row) for row in rows]
    for r, values in enumerate(all_rows):
        is_header = header is not None and r == 0
        row = table.add_row()
        _row_properties(row, header=is_header)
        for c, (cell, value) in enumerate(zip(row.cells, values)):
            cell.width = _twips(widths[c])
            label = label_column and c == 0
            _set_cell(cell, value, bold=is_header or label)
            if is_header or label:
                _shade(cell)


def _twips(value: int) -> int:
    return value * 635  # EMU in a twip


def _widths(text_width: int, weights: Sequence[int]) -> list[int]:
    total = sum(weights)
    widths = [text_width * weight // total for weight in weights]
    widths[-1] += text_width - sum(widths)
    return widths


def _footer(document: docx.document.Document, text: str) -> None:
    footer = document.sections[0].footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    rpr = '<w:rPr><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr>'
    runs = (
        f'<w:r>{rpr}<w:t xml:space="preserve">{escape(text)} {_DASH} page </w:t></w:r>'
        + field_runs("PAGE", rpr)
        + f'<w:r>{rpr}<w:t xml:space="preserve"> of </w:t></w:r>'
        + field_runs("NUMPAGES", rpr)
    )
    holder = parse_xml(f"<w:p {W_DECL}>{runs}</w:p>")
    for run in list(holder):
        paragraph._p.append(run)


def _paragraph(
    document: docx.document.Document,
    text: str,
    *,
    style: str | None = None,
    bold: bool = False,
    size: float | None = None,
    after: float = 4,
    keep_next: bool = False,
) -> Paragraph:
    paragraph = document.add_paragraph(style=style)
    if text:
        run = paragraph.add_run(_clean(text))
        run.bold = bold or None
        if size:
            run.font.size = Pt(size)
    paragraph.paragraph_format.space_after = Pt(after)
    if keep_next:
        paragraph.paragraph_format.keep_with_next = True
    return paragraph


def _labelled(
    document: docx.document.Document,
    label: str,
    text: str,
    *,
    bold: bool = True,
    keep_next: bool = False,
    indent: bool = False,
) -> Paragraph:
    paragraph = document.add_paragraph()
    paragraph.add_run(_clean(label)).bold = bold or None
    if text:
        paragraph.add_run(" " + _clean(text))
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(2)
    if keep_next:
        fmt.keep_with_next = True
    if indent:
        fmt.left_indent = Mm(6)
    return paragraph


def _by(by: str, state: str, for_state: bool) -> str:
    """ "by Somchai Prasert", "for Thailand, by its focal point Malee S." ("" for no one)."""
    who = _who(by, state, for_state)
    return who if for_state or not who else f"by {who}"


def _answer_heading(item: _Numbered, zone_name: str) -> str:
    """ "R1. SOMHD – Thailand: Endorse with a reservation, by Somchai Prasert, on Tue 2 Mar
    2027, 10:00 (Asia/Jakarta, UTC+7)"."""
    answer = item.answer
    parts = [f"{item.ref}. {_pair_label(item.pair.body, item.pair.state)}: {ANSWER_NAMES[item.pair.kind]}"]
    who = _by(answer.by, item.pair.state, answer.for_state)
    if who:
        parts.append(who)
    if answer.at is not None:
        parts.append(f"on {local_time(answer.at, zone_name)}")
    return ", ".join(parts)


def _history_lines(pair: PairResult, numbered: _Numbered | None, zone_name: str) -> Iterator[str]:
    """A line for each answer of a pair that changed its answer, oldest first: "20 Feb
    2027, 09:00: Cannot endorse, by Somchai Prasert: “Not yet.”", the last one
    marked "(stands)"."""
    answer = pair.answer
    assert answer is not None
    for earlier in answer.history:
        who = _by(earlier.by, pair.state, earlier.for_state)
        line = f"{_short_time(earlier.at, zone_name)}: {ANSWER_NAMES[earlier.kind]}" + (f", {who}" if who else "")
        text = _clean(earlier.text) if earlier.kind in _WITH_TEXT else ""
        yield line + (f": \u201c{text}\u201d" if text else "")
    who = _by(answer.by, pair.state, answer.for_state)
    when = _short_time(answer.at, zone_name) if answer.at is not None else _DASH
    name = ANSWER_NAMES[pair.kind]
    if numbered is not None:
        name += f" ({numbered.ref})"
    yield f"{when}: {name}" + (f", {who}" if who else "") + " (stands)"


def endorsement_record_docx(record: EndorsementRecord) -> bytes:
    """The endorsement record as .docx bytes."""
    result = endorsement_outcome(record)
    window, zone_name = record.window, record.window.timezone
    title = _one_line(record.title) or "Untitled draft"
    version = _one_line(record.version)

    document = docx.Document()
    _fix_template(document)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    section.footer_distance = Mm(10)
    document.styles["Normal"].font.size = Pt(10)
    text_width = (210 - 40) * 1440 * 10 // 254  # twips

    props = document.core_properties
    props.title = title[:250]
    props.subject = f"{FOOTER_NAME} {_DASH} {version}" if version else FOOTER_NAME
    props.author = props.last_modified_by = "Clausebot"
    props.comments = props.keywords = props.category = ""
    props.revision = 1
    props.created = props.modified = utc(record.compiled_at).replace(tzinfo=None)

    # At most 18 pt: a long title takes a line or two, not a third of the page.
    for run in document.add_heading(title, level=0).runs:
        run.font.size = Pt(18)
    subtitle = "Endorsement record" + (f" of version {version}" if version else "")
    document.add_paragraph(subtitle, style="Subtitle")

    outcome = _outcome_line(result)
    if not result.final:
        outcome = (
            f"Provisional, as of {local_time(record.compiled_at, zone_name)}: the stage is open until "
            f"{local_time(window.deadline, zone_name)} and answers may still change. {outcome}"
        )
    _paragraph(document, outcome, bold=True, size=13, after=8)

    rule_name, rule_text = _rule_lines(record, result)
    facts = [
        ["Version", version or _DASH],
        ["Stage opened", local_time(window.opened, zone_name)],
        ["Deadline", local_time(window.deadline, zone_name)],
        ["Closed", local_time(window.closed, zone_name) if window.closed is not None else "Still open"],
        ["Rule applied", rule_name],
        ["Answers", _counts_line(result.counts, record.silence_procedure)],
        ["Compiled on", local_time(record.compiled_at, zone_name)],
    ]
    _table(document, _widths(text_width, (25, 75)), facts, label_column=True)
    _paragraph(document, "", after=0)
    _paragraph(document, rule_text, after=6)

    numbered = _numbered(result)
    document.add_heading(HEADING_ANSWERS, level=1)
    header = list(ANSWERS_COLUMNS)
    header[4] = f"When\n({_zone_label(zone_name)})"
    rows = [_row(pair, numbered.get((pair.body, pair.state)), zone_name) for pair in result.pairs]
    _table(document, _widths(text_width, (12, 14, 17, 18, 16, 23)), rows, header=header)

    document.add_heading(HEADING_RESERVATIONS, level=1)
    if not numbered:
        _paragraph(document, "None: no body in any Member State endorsed with a reservation or could not endorse.")
    for item in numbered.values():
        _labelled(document, _answer_heading(item, zone_name), "", keep_next=True)
        full = _clean(item.answer.text)
        for line in full.split("\n") if full else ["(no text given)"]:
            _paragraph(document, line, after=2).paragraph_format.left_indent = Mm(6)
        _paragraph(document, "", after=2)

    changed = [pair for pair in result.pairs if pair.answer is not None and pair.answer.history]
    if changed:
        document.add_heading(HEADING_CHANGES, level=1)
        _paragraph(
            document,
            f"Each answer that was changed, with the answers it replaced (times in {_zone_label(zone_name)}).",
        )
        for pair in changed:
            _labelled(document, _pair_label(pair.body, pair.state), "", keep_next=True)
            for line in _history_lines(pair, numbered.get((pair.body, pair.state)), zone_name):
                _labelled(document, line, "", bold=False, indent=True)

    _footer(document, f"{FOOTER_NAME} {_DASH} compiled {local_day(record.compiled_at, zone_name)}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------------- JSON


def _moment(moment: dt.datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def endorsement_record_json(record: EndorsementRecord) -> dict[str, Any]:
    """The record as a JSON-ready dict (times in UTC, ISO 8601), for the consultation's export."""
    result = endorsement_outcome(record)
    window = record.window
    pairs = []
    for pair in result.pairs:
        answer = pair.answer
        pairs.append(
            {
                "body": pair.body,
                "state": pair.state,
                "answer": pair.kind.value,
                "recorded": answer.kind.value if answer is not None else AnswerKind.NONE.value,
                "enrolled": pair.enrolled,
                "text": answer.text if answer is not None and answer.kind in _WITH_TEXT else "",
                "by": answer.by if answer is not None else "",
                "for_state": answer.for_state if answer is not None else False,
                "at": _moment(answer.at) if answer is not None else None,
                "history": [
                    {
                        "answer": earlier.kind.value,
                        "text": earlier.text if earlier.kind in _WITH_TEXT else "",
                        "by": earlier.by,
                        "for_state": earlier.for_state,
                        "at": _moment(earlier.at),
                    }
                    for earlier in (answer.history if answer is not None else ())
                ],
            }
        )
    counts = result.counts
    return {
        "consultation": record.consultation,
        "title": record.title,
        "version": record.version,
        "window": {
            "opened": _moment(window.opened),
            "deadline": _moment(window.deadline),
            "closed": _moment(window.closed),
            "timezone": window.timezone,
        },
        "silence_procedure": record.silence_procedure,
        "compiled_at": _moment(record.compiled_at),
        "outcome": result.outcome.value,
        "final": result.final,
        "silence_applied": result.silence_applied,
        "counts": {**{kind.value: counts.of(kind) for kind in AnswerKind}, "not_enrolled": counts.not_enrolled},
        "bodies": list(record.bodies),
        "states": list(record.states),
        "pairs": pairs,
    }
