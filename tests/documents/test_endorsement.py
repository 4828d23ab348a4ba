"""The endorsement record: the outcome of the stage, the Word record and its JSON form."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import subprocess
import zipfile

import docx
import pytest

from documents.endorsement import (
    ANSWERS_COLUMNS,
    HEADING_ANSWERS,
    HEADING_CHANGES,
    HEADING_RESERVATIONS,
    AnswerKind,
    EarlierAnswer,
    EndorsementRecord,
    Outcome,
    PairAnswer,
    StageWindow,
    endorsement_outcome,
    endorsement_record_docx,
    endorsement_record_json,
)
from documents.sample import sample_bodies, sample_states

from .builders import w
from .ooxml_check import schema_folder, validated_parts, validation_errors
from .reading import part, text_of
from .test_office import TIMEOUT, _pdf_pages, _require_tools

JAKARTA = dt.timezone(dt.timedelta(hours=7))
OPENED = dt.datetime(2027, 2, 1, 9, 0, tzinfo=JAKARTA)
DEADLINE = dt.datetime(2027, 3, 31, 23, 59, tzinfo=JAKARTA)
CLOSED = dt.datetime(2027, 4, 1, 9, 0, tzinfo=JAKARTA)
COMPILED = dt.datetime(2027, 4, 1, 9, 30, tzinfo=JAKARTA)
BEFORE_DEADLINE = dt.datetime(2027, 3, 15, 12, 0, tzinfo=JAKARTA)

TITLE = "ASEAN Framework and Plan of Action on Social Protection"
SLUG = "asean-framework-social-protection"  # the internal name, never on a page

BODIES = ("SOMHD", "SLOM", "ACW")
STATES = ("Thailand", "Viet Nam", "Philippines")
PAIRS = [(body, state) for body in BODIES for state in STATES]


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2027, 3, day, hour, 0, tzinfo=JAKARTA)


def _endorse(body: str, state: str, n: int = 0) -> PairAnswer:
    return PairAnswer(body, state, AnswerKind.ENDORSE, by=f"Delegate {body} {state}", at=_at(1 + n % 27))


def _record(
    answers: list[PairAnswer],
    *,
    silence: bool = False,
    closed: dt.datetime | None = CLOSED,
    compiled: dt.datetime = COMPILED,
    not_enrolled: tuple[tuple[str, str], ...] = (),
    bodies: tuple[str, ...] = BODIES,
    states: tuple[str, ...] = STATES,
) -> EndorsementRecord:
    return EndorsementRecord(
        title=TITLE,
        consultation=SLUG,
        version="v2",
        window=StageWindow(OPENED, DEADLINE, closed, "Asia/Jakarta"),
        silence_procedure=silence,
        bodies=bodies,
        states=states,
        compiled_at=compiled,
        answers=tuple(answers),
        not_enrolled=not_enrolled,
    )


def _all_endorse(*, but: dict[tuple[str, str], PairAnswer | None] | None = None) -> list[PairAnswer]:
    """Every pair endorses, except those in ``but`` (replaced, or left out when None)."""
    but = but or {}
    answers = []
    for n, pair in enumerate(PAIRS):
        if pair in but:
            if but[pair] is not None:
                answers.append(but[pair])
        else:
            answers.append(_endorse(*pair, n))
    return answers


RESERVATION = PairAnswer(
    "SOMHD",
    "Thailand",
    AnswerKind.RESERVATION,
    text="Thailand endorses subject to the approval of its Cabinet on clause 2.3.",
    by="Somchai Prasert",
    at=_at(2),
)
OBJECTION = PairAnswer(
    "SLOM",
    "Viet Nam",
    AnswerKind.CANNOT,
    text="Clause 3.1 conflicts with the Labour Code of Viet Nam.",
    by="Nguyen Thi Lan",
    at=_at(3),
)


# ---------------------------------------------------------------------------- outcome


def test_every_pair_endorsing_is_endorsed_by_all():
    result = endorsement_outcome(_record(_all_endorse()))
    assert result.outcome is Outcome.ENDORSED_BY_ALL
    assert (result.counts.endorse, result.counts.total, result.counts.none) == (9, 9, 0)
    assert result.final and not result.silence_applied
    assert [(p.body, p.state) for p in result.pairs] == PAIRS
    assert all(p.kind is AnswerKind.ENDORSE for p in result.pairs)


def test_one_reservation_is_endorsed_with_reservations():
    result = endorsement_outcome(_record(_all_endorse(but={("SOMHD", "Thailand"): RESERVATION})))
    assert result.outcome is Outcome.ENDORSED_WITH_RESERVATIONS
    assert (result.counts.endorse, result.counts.reservation, result.counts.endorsing) == (8, 1, 9)


def test_one_objection_is_not_endorsed_even_with_silence():
    answers = _all_endorse(but={("SOMHD", "Thailand"): RESERVATION, ("SLOM", "Viet Nam"): OBJECTION, PAIRS[-1]: None})
    result = endorsement_outcome(_record(answers, silence=True))
    assert result.outcome is Outcome.NOT_ENDORSED
    counts = result.counts
    assert (counts.endorse, counts.reservation, counts.cannot, counts.silence, counts.none) == (6, 1, 1, 1, 0)
    assert {kind: result.counts.of(kind) for kind in AnswerKind} == {
        AnswerKind.ENDORSE: 6,
        AnswerKind.RESERVATION: 1,
        AnswerKind.CANNOT: 1,
        AnswerKind.SILENCE: 1,
        AnswerKind.NONE: 0,
    }


def test_silence_fills_the_pairs_that_did_not_answer_once_the_deadline_has_passed():
    answers = [_endorse("SOMHD", "Thailand"), _endorse("ACW", "Philippines")]
    result = endorsement_outcome(_record(answers, silence=True))
    assert result.outcome is Outcome.ENDORSED_BY_ALL
    assert (result.counts.endorse, result.counts.silence, result.counts.none) == (2, 7, 0)
    assert result.silence_applied
    silent = {(p.body, p.state) for p in result.pairs if p.kind is AnswerKind.SILENCE}
    assert silent == set(PAIRS) - {("SOMHD", "Thailand"), ("ACW", "Philippines")}
    assert all(p.answer is None for p in result.pairs if p.kind is AnswerKind.SILENCE)
    # With a reservation among them, endorsed with reservations.
    with_reservation = endorsement_outcome(_record([RESERVATION, answers[1]], silence=True))
    assert with_reservation.outcome is Outcome.ENDORSED_WITH_RESERVATIONS
    assert (with_reservation.counts.reservation, with_reservation.counts.silence) == (1, 7)
    # Not closed, but the deadline is past when the record is compiled: silence too.
    unclosed = endorsement_outcome(_record(answers, silence=True, closed=None))
    assert unclosed.outcome is Outcome.ENDORSED_BY_ALL and unclosed.final


def test_without_silence_a_pair_that_did_not_answer_means_not_endorsed():
    result = endorsement_outcome(_record(_all_endorse(but={("ACW", "Viet Nam"): None})))
    assert result.outcome is Outcome.NOT_ENDORSED
    assert (result.counts.endorse, result.counts.none, result.counts.silence) == (8, 1, 0)
    assert next(p for p in result.pairs if (p.body, p.state) == ("ACW", "Viet Nam")).kind is AnswerKind.NONE


def test_no_silence_before_the_deadline_nor_when_closed_before_it():
    answers = _all_endorse(but={("ACW", "Viet Nam"): None})
    open_stage = endorsement_outcome(_record(answers, silence=True, closed=None, compiled=BEFORE_DEADLINE))
    assert open_stage.outcome is Outcome.NOT_ENDORSED
    assert not open_stage.final and not open_stage.silence_applied
    assert (open_stage.counts.silence, open_stage.counts.none) == (0, 1)
    closed_early = endorsement_outcome(_record(answers, silence=True, closed=BEFORE_DEADLINE))
    assert closed_early.final and not closed_early.silence_applied
    assert closed_early.outcome is Outcome.NOT_ENDORSED


def test_silence_is_not_recorded_where_no_contact_is_enrolled_but_a_focal_point_answer_counts():
    answers = [_endorse("SOMHD", "Thailand")]
    result = endorsement_outcome(_record(answers, silence=True, not_enrolled=(("ACW", "Philippines"),)))
    assert result.outcome is Outcome.NOT_ENDORSED
    assert (result.counts.silence, result.counts.none, result.counts.not_enrolled) == (7, 1, 1)
    unreached = next(p for p in result.pairs if (p.body, p.state) == ("ACW", "Philippines"))
    assert unreached.kind is AnswerKind.NONE and not unreached.enrolled

    focal = PairAnswer("ACW", "Philippines", AnswerKind.ENDORSE, by="Maria Santos", at=_at(5), for_state=True)
    covered = endorsement_outcome(_record([*answers, focal], silence=True, not_enrolled=(("ACW", "Philippines"),)))
    assert covered.outcome is Outcome.ENDORSED_BY_ALL
    assert (covered.counts.endorse, covered.counts.silence, covered.counts.not_enrolled) == (2, 7, 0)


def test_the_answer_that_stands_counts_not_the_ones_it_replaced():
    changed = dataclasses.replace(
        _endorse("SLOM", "Viet Nam"),
        history=(EarlierAnswer(AnswerKind.CANNOT, _at(1), "Not before the Ministry has seen it.", "Nguyen Thi Lan"),),
    )
    assert endorsement_outcome(_record(_all_endorse(but={("SLOM", "Viet Nam"): changed}))).outcome is (
        Outcome.ENDORSED_BY_ALL
    )
    withdrawn = PairAnswer(
        "SLOM", "Viet Nam", AnswerKind.NONE, history=(EarlierAnswer(AnswerKind.ENDORSE, _at(1), by="Nguyen Thi Lan"),)
    )
    assert endorsement_outcome(_record(_all_endorse(but={("SLOM", "Viet Nam"): withdrawn}))).outcome is (
        Outcome.NOT_ENDORSED
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answers": (_endorse("SOMDP", "Thailand"),)}, "not consulted"),
        ({"answers": (_endorse("SOMHD", "Thailand"), _endorse("SOMHD", "Thailand", 3))}, "more than one answer"),
        ({"answers": (PairAnswer("SOMHD", "Thailand", AnswerKind.SILENCE),)}, "not a silence procedure"),
        ({"bodies": ("SOMHD", "SOMHD")}, "more than once"),
        ({"states": ()}, "at least one"),
    ],
)
def test_a_record_that_contradicts_itself_is_refused(change, message):
    record = dataclasses.replace(_record([]), **change)
    with pytest.raises(ValueError, match=message):
        endorsement_outcome(record)


# --------------------------------------------------------------------------- document

LONG_RESERVATION = (
    "Thailand endorses the Framework with a reservation on clause 2.3.1: the national social "
    "protection floor is set by the Cabinet, and the Ministry cannot commit to a regional target "
    "before the Cabinet has decided on it.\nThe reservation will be withdrawn once the Cabinet has "
    "approved the floor, which is expected in the second half of 2027; the Ministry will inform "
    "the ASEAN Secretariat in writing. Until then Thailand reads clause 2.3.1 as an aspiration "
    "and not as a commitment of its Government, and asks that this reading be recorded."
)
ASEAN_BODIES = tuple(code for code, _ in sample_bodies())
ASEAN_STATES = tuple(state for state, _, _ in sample_states())


def _asean_record(*, silence: bool = True, **change: object) -> EndorsementRecord:
    """The founding case: eight bodies in ten Member States, most silent."""
    answers = [
        PairAnswer(
            "SOMHD",
            "Thailand",
            AnswerKind.RESERVATION,
            LONG_RESERVATION,
            "Somchai Prasert",
            _at(12, 14),
            history=(
                EarlierAnswer(AnswerKind.CANNOT, _at(2, 9), "Not before the Cabinet has decided.", "Somchai Prasert"),
                EarlierAnswer(AnswerKind.ENDORSE, _at(5, 11), by="Somchai Prasert"),
            ),
        ),
        PairAnswer("SLOM", "Viet Nam", AnswerKind.CANNOT, OBJECTION.text, "Nguyen Thi Lan", _at(20, 16)),
        PairAnswer("ACW", "Philippines", AnswerKind.ENDORSE, "", "Maria Santos", _at(7, 8), for_state=True),
        PairAnswer("SOMSWD", "Indonesia", AnswerKind.ENDORSE, "", "Dewi Lestari", _at(3, 10)),
    ]
    record = _record(
        answers,
        silence=silence,
        bodies=ASEAN_BODIES,
        states=ASEAN_STATES,
        not_enrolled=(("ACDM", "Myanmar"),),
    )
    return dataclasses.replace(record, **change) if change else record


@pytest.fixture(scope="module")
def asean() -> tuple[EndorsementRecord, bytes]:
    record = _asean_record()
    return record, endorsement_record_docx(record)


def _answers_table(document: docx.document.Document) -> list[list[str]]:
    table = next(t for t in document.tables if t.rows[0].cells[0].text == ANSWERS_COLUMNS[0])
    return [[cell.text for cell in row.cells] for row in table.rows]


def _paragraphs(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def _after(paragraphs: list[str], heading: str) -> list[str]:
    start = paragraphs.index(heading) + 1
    headings = {HEADING_ANSWERS, HEADING_RESERVATIONS, HEADING_CHANGES}
    end = next((i for i in range(start, len(paragraphs)) if paragraphs[i] in headings), len(paragraphs))
    return paragraphs[start:end]


def test_the_record_opens_with_the_title_and_the_outcome_never_the_slug(asean):
    _, data = asean
    paragraphs = [p for p in _paragraphs(data) if p]
    assert paragraphs[0] == TITLE
    assert paragraphs[1] == "Endorsement record of version v2"
    assert paragraphs[2] == (
        "Not endorsed: of the 80 bodies and Member States consulted, 1 cannot endorse and 1 did not answer "
        "(1 with no contact enrolled)."
    )
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            assert SLUG.encode() not in package.read(name), name
    assert docx.Document(io.BytesIO(data)).core_properties.title == TITLE


@pytest.mark.parametrize(
    ("answers", "silence", "expected"),
    [
        (_all_endorse(), False, "Endorsed by all 9 bodies and Member States consulted."),
        ([_endorse("SOMHD", "Thailand")], True, "Endorsed by all 9 bodies and Member States consulted, 8 by silence."),
        (
            _all_endorse(but={("SOMHD", "Thailand"): RESERVATION}),
            False,
            "Endorsed with reservations: all 9 bodies and Member States consulted endorse, 1 with a reservation.",
        ),
        (
            _all_endorse(but={("SLOM", "Viet Nam"): OBJECTION, ("ACW", "Thailand"): None}),
            False,
            "Not endorsed: of the 9 bodies and Member States consulted, 1 cannot endorse and 1 did not answer.",
        ),
    ],
)
def test_the_outcome_is_stated_plainly_at_the_top(answers, silence, expected):
    paragraphs = [p for p in _paragraphs(endorsement_record_docx(_record(answers, silence=silence))) if p]
    assert paragraphs[2] == expected


def test_an_open_stage_gives_a_provisional_outcome():
    record = _record([_endorse("SOMHD", "Thailand")], silence=True, closed=None, compiled=BEFORE_DEADLINE)
    outcome = [p for p in _paragraphs(endorsement_record_docx(record)) if p][2]
    assert outcome.startswith(
        "Provisional, as of Mon 15 Mar 2027, 12:00 (Asia/Jakarta, UTC+7): the stage is open until "
        "Wed 31 Mar 2027, 23:59 (Asia/Jakarta, UTC+7) and answers may still change."
    )
    assert outcome.endswith("8 have not answered yet.")


def test_the_facts_give_the_window_in_the_named_zone_and_the_rule(asean):
    _, data = asean
    facts = {row.cells[0].text: row.cells[1].text for row in docx.Document(io.BytesIO(data)).tables[0].rows}
    assert facts == {
        "Version": "v2",
        "Stage opened": "Mon 1 Feb 2027, 09:00 (Asia/Jakarta, UTC+7)",
        "Deadline": "Wed 31 Mar 2027, 23:59 (Asia/Jakarta, UTC+7)",
        "Closed": "Thu 1 Apr 2027, 09:00 (Asia/Jakarta, UTC+7)",
        "Rule applied": "Silence procedure",
        "Answers": (
            "2 endorse, 1 endorse with a reservation, 1 cannot endorse, 75 endorse by silence, 1 no answer "
            "(1 with no contact enrolled)"
        ),
        "Compiled on": "Thu 1 Apr 2027, 09:30 (Asia/Jakarta, UTC+7)",
    }
    paragraphs = _paragraphs(data)
    assert any(p.startswith("Silence procedure: a body in a Member State that had not answered") for p in paragraphs)
    explicit = endorsement_record_docx(_asean_record(silence=False))
    rule = {r.cells[0].text: r.cells[1].text for r in docx.Document(io.BytesIO(explicit)).tables[0].rows}
    assert rule["Rule applied"] == "Explicit answers"
    assert "Silence procedure" not in " ".join(_paragraphs(explicit))


def test_the_table_has_a_row_per_pair_with_the_answer_and_the_person(asean):
    _, data = asean
    rows = _answers_table(docx.Document(io.BytesIO(data)))
    assert rows[0] == ["Body", "Member State", "Answer", "Answered by", "When\n(Asia/Jakarta)", ANSWERS_COLUMNS[-1]]
    body = rows[1:]
    assert [(r[0], r[1]) for r in body] == [(b, s) for b in ASEAN_BODIES for s in ASEAN_STATES]
    by_pair = {(r[0], r[1]): r[2:] for r in body}
    assert by_pair[("SOMHD", "Thailand")][:3] == [
        "Endorse with a reservation (R1)\n(changed 2 times)",
        "Somchai Prasert",
        "12 Mar 2027, 14:00",
    ]
    assert by_pair[("SLOM", "Viet Nam")] == [
        "Cannot endorse (O1)",
        "Nguyen Thi Lan",
        "20 Mar 2027, 16:00",
        OBJECTION.text,
    ]
    assert by_pair[("ACW", "Philippines")] == [
        "Endorse",
        "for Philippines, by its focal point Maria Santos",
        "7 Mar 2027, 08:00",
        "",
    ]
    assert by_pair[("SOMSWD", "Indonesia")] == ["Endorse", "Dewi Lestari", "3 Mar 2027, 10:00", ""]
    assert by_pair[("ACDM", "Myanmar")] == ["No answer", "no contact enrolled", "\u2013", ""]
    silent = [pair for pair, cells in by_pair.items() if cells == ["Endorse by silence", "\u2013", "\u2013", ""]]
    assert len(silent) == 75
    # A long reservation is shortened in the table and points to its text in full.
    cell = by_pair[("SOMHD", "Thailand")][3]
    assert cell.endswith("\u2026 (in full under R1)") and len(cell) < len(LONG_RESERVATION)
    assert LONG_RESERVATION.startswith(cell.removesuffix("\u2026 (in full under R1)"))


def test_reservations_and_objections_are_given_in_full(asean):
    _, data = asean
    section = [p for p in _after(_paragraphs(data), HEADING_RESERVATIONS) if p]
    assert section == [
        "O1. SLOM \u2013 Viet Nam: Cannot endorse, by Nguyen Thi Lan, on Sat 20 Mar 2027, 16:00 (Asia/Jakarta, UTC+7)",
        OBJECTION.text,
        "R1. SOMHD \u2013 Thailand: Endorse with a reservation, by Somchai Prasert, on Fri 12 Mar 2027, 14:00 "
        "(Asia/Jakarta, UTC+7)",
        *LONG_RESERVATION.split("\n"),
    ]
    none = endorsement_record_docx(_record(_all_endorse()))
    assert [p for p in _after(_paragraphs(none), HEADING_RESERVATIONS) if p] == [
        "None: no body in any Member State endorsed with a reservation or could not endorse."
    ]
    assert HEADING_CHANGES not in _paragraphs(none)


def test_the_changes_of_answer_are_listed_oldest_first(asean):
    _, data = asean
    section = [p for p in _after(_paragraphs(data), HEADING_CHANGES) if p]
    assert section[1:] == [
        "SOMHD \u2013 Thailand",
        "2 Mar 2027, 09:00: Cannot endorse, by Somchai Prasert: \u201cNot before the Cabinet has decided.\u201d",
        "5 Mar 2027, 11:00: Endorse, by Somchai Prasert",
        "12 Mar 2027, 14:00: Endorse with a reservation (R1), by Somchai Prasert (stands)",
    ]


def test_the_footer_numbers_the_pages(asean):
    _, data = asean
    footer = part(data, "word/footer1.xml")
    instructions = [" ".join((t.text or "").split()) for t in footer.iter(w("instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert text_of(footer).startswith("Endorsement record \u2013 compiled 1 Apr 2027 \u2013 page ")
    assert [c.get(w("fldCharType")) for c in footer.iter(w("fldChar"))] == ["begin", "separate", "end"] * 2


def test_text_is_cleaned_not_dropped():
    answer = PairAnswer(
        "SOMHD",
        "Thailand",
        AnswerKind.RESERVATION,
        "Null\x00 and <b>tags</b> & \U0001f30f kept",
        "Som\x0bchai",
        _at(2),
    )
    record = dataclasses.replace(_record([answer], silence=True), title="Plan\x01 of Action & <more>")
    data = endorsement_record_docx(record)
    paragraphs = _paragraphs(data)
    assert paragraphs[0] == "Plan of Action & <more>"
    assert "Null and <b>tags</b> & \U0001f30f kept" in paragraphs
    assert _answers_table(docx.Document(io.BytesIO(data)))[1][3] == "Somchai"


def test_the_record_is_valid_against_the_schemas(asean):
    schema_folder()
    _, data = asean
    checked = validated_parts(data)
    expected = {"word/document.xml", "word/styles.xml", "word/settings.xml", "word/footer1.xml", "[Content_Types].xml"}
    assert expected <= checked
    assert validation_errors(data) == {}
    assert validation_errors(endorsement_record_docx(_record(_all_endorse()))) == {}


def test_the_record_carries_nothing_of_the_template_it_is_built_from(asean):
    _, data = asean
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
    assert not [name for name in names if "thumbnail" in name]  # the template's picture of another page
    assert part(data, "word/settings.xml").find(w("savePreviewPicture")) is None
    properties = docx.Document(io.BytesIO(data)).core_properties
    assert (properties.author, properties.comments) == ("Clausebot", "")
    assert properties.created == COMPILED  # read back in UTC


# ------------------------------------------------------------------------------- JSON


def test_the_json_form_carries_the_whole_record(asean):
    record, _ = asean
    found = json.loads(json.dumps(endorsement_record_json(record)))
    assert found["consultation"] == SLUG and found["title"] == TITLE and found["version"] == "v2"
    assert found["window"] == {
        "opened": "2027-02-01T02:00:00Z",
        "deadline": "2027-03-31T16:59:00Z",
        "closed": "2027-04-01T02:00:00Z",
        "timezone": "Asia/Jakarta",
    }
    assert (found["outcome"], found["final"], found["silence_applied"]) == ("not_endorsed", True, True)
    assert found["counts"] == {
        "endorse": 2,
        "reservation": 1,
        "cannot": 1,
        "silence": 75,
        "none": 1,
        "not_enrolled": 1,
    }
    assert len(found["pairs"]) == 80 and found["bodies"] == list(ASEAN_BODIES)
    pairs = {(p["body"], p["state"]): p for p in found["pairs"]}
    thailand = pairs[("SOMHD", "Thailand")]
    assert thailand["answer"] == thailand["recorded"] == "reservation"
    assert thailand["text"] == LONG_RESERVATION and thailand["at"] == "2027-03-12T07:00:00Z"
    assert [h["answer"] for h in thailand["history"]] == ["cannot", "endorse"]
    assert thailand["history"][0]["text"] == "Not before the Cabinet has decided."
    assert pairs[("ACW", "Philippines")]["for_state"] is True
    assert pairs[("ACDM", "Myanmar")] | {"history": []} == {
        "body": "ACDM",
        "state": "Myanmar",
        "answer": "none",
        "recorded": "none",
        "enrolled": False,
        "text": "",
        "by": "",
        "for_state": False,
        "at": None,
        "history": [],
    }
    assert pairs[("SOMDP", "Lao PDR")]["answer"] == "silence" and pairs[("SOMDP", "Lao PDR")]["recorded"] == "none"


# ------------------------------------------------------------------------ office tools


@pytest.fixture(scope="module")
def converted(asean, tmp_path_factory):
    """The ASEAN record as LibreOffice prints it to PDF."""
    soffice, _ = _require_tools()
    folder = tmp_path_factory.mktemp("endorsement")
    source = folder / "endorsement.docx"
    source.write_bytes(asean[1])
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(source),
        ],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    pdf = folder / "endorsement.pdf"
    assert pdf.exists(), result.stderr.decode(errors="replace")
    return source, pdf


@pytest.mark.office
def test_libreoffice_prints_the_record_with_its_pages_numbered(converted):
    from pypdf import PdfReader

    _, pdf = converted
    pages = _pdf_pages(pdf.read_bytes())
    assert 2 <= pages <= 12
    texts = [" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages]
    assert texts[0].startswith(TITLE)
    assert "Not endorsed: of the 80 bodies and Member States consulted" in texts[0]
    for n, text in enumerate(texts, 1):
        assert f"page {n} of {pages}" in text
    whole = " ".join(texts)
    assert "for Philippines, by its focal point Maria Santos" in whole
    assert " ".join(LONG_RESERVATION.split()) in whole


@pytest.mark.office
def test_pandoc_reads_the_record_as_text(converted):
    _, pandoc = _require_tools()
    source, _ = converted
    result = subprocess.run(
        [pandoc, "--standalone", "-t", "plain", "--wrap=none", str(source)],
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
    )
    text = " ".join(result.stdout.decode().split())
    assert text.startswith(TITLE)
    for expected in (
        "Not endorsed: of the 80 bodies and Member States consulted, 1 cannot endorse",
        HEADING_ANSWERS,
        HEADING_RESERVATIONS,
        " ".join(LONG_RESERVATION.split()),
        OBJECTION.text,
        "no contact enrolled",
    ):
        assert expected in text
    assert len(re.findall(r"Endorse by silence", text)) == 75
    assert SLUG not in text
