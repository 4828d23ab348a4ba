import struct
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from documents.chart import Cell, answers_chart, chart_title, response_chart
from documents.ics import deadline_event

TITLE = (
    "ASEAN Framework and Plan of Action for the Implementation of the ASEAN Declaration on "
    "Strengthening Social Protection"
)
AT = datetime(2027, 2, 2, 3, 15, tzinfo=UTC)


def _size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def test_the_response_chart_is_a_png_of_the_grid():
    cells = {("SOMHD", "Thailand"): Cell(True, 4, 1), ("SOMHD", "Viet Nam"): Cell(False, 0, 1)}
    png = response_chart("A title", ["SOMHD", "SLOM"], ["Thailand", "Viet Nam", "Brunei Darussalam"], cells)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = _size(png)
    assert width > height > 100


def test_a_chart_title_is_the_whole_title_wrapped_between_words_then_the_date():
    lines = chart_title(TITLE + " Supercalifragilisticexpialidociousness", "Responses as of now", 3.0)
    assert lines[-1] == "Responses as of now"
    wrapped = lines[:-1]
    assert len(wrapped) > 2
    # Every word whole and in order: the lines joined give the title back.
    assert " ".join(wrapped) == TITLE + " Supercalifragilisticexpialidociousness"
    assert wrapped[-1] == "Supercalifragilisticexpialidociousness"  # too long for a line: a line of its own
    assert all(len(line) <= 40 for line in wrapped[:-1])


def test_charts_grow_with_the_lines_of_their_title():
    cells = {("SOMHD", "Thailand"): Cell(True, 4, 1)}
    short = response_chart("Plan", ["SOMHD"], ["Thailand"], cells, at=AT, timezone="Asia/Jakarta")
    long = response_chart(TITLE * 2, ["SOMHD"], ["Thailand"], cells, at=AT, timezone="Asia/Jakarta")
    assert _size(long)[0] == _size(short)[0] and _size(long)[1] > _size(short)[1] + 40
    counts = {"Thailand": [1, 0, 0, 0, 2]}
    legend = ["Accepted", "Accepted in part", "Noted", "Not accepted", "Not yet answered"]
    short = answers_chart("Plan", ["Thailand"], counts, legend, at=AT)
    long = answers_chart(TITLE * 2, ["Thailand"], counts, legend, at=AT)
    assert _size(long)[1] > _size(short)[1] + 40


def test_the_deadline_calendar_file():
    deadline = datetime(2027, 1, 22, 23, 59, tzinfo=ZoneInfo("Asia/Jakarta"))
    data = deadline_event(
        "uid-1@clausebot", "ASEAN Framework, Plan; of Action", deadline, now=datetime(2026, 11, 23, tzinfo=UTC)
    )
    text = data.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "DTEND:20270122T165900Z" in text
    assert "SUMMARY:Comments due: ASEAN Framework\\, Plan\\; of Action" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def _has_colour(png: bytes, colour: str) -> bool:
    import io

    from PIL import Image

    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return any(pixel[1] == wanted for pixel in image.getcolors(maxcolors=1 << 20) or [])


def test_where_clearance_is_asked_the_chart_tells_drafted_returned_and_cleared_apart():
    from documents.chart import RETURNED_COLOUR, WAITING_COLOUR

    cells = {
        ("SOMHD", "Thailand"): Cell(True, 2, 1),  # cleared
        ("SOMHD", "Viet Nam"): Cell(False, 0, 1, waiting=3),  # drafted, waiting for the focal point
        ("SLOM", "Thailand"): Cell(False, 0, 1, returned=1),  # returned to the delegate
    }
    states = ["Thailand", "Viet Nam"]
    with_clearance = response_chart("A title", ["SOMHD", "SLOM"], states, cells, clearance=True)
    assert _has_colour(with_clearance, WAITING_COLOUR) and _has_colour(with_clearance, RETURNED_COLOUR)
    # Without clearance those comments are not told apart (nor shown: they do not count yet).
    without = response_chart("A title", ["SOMHD", "SLOM"], states, cells)
    assert not _has_colour(without, WAITING_COLOUR) and not _has_colour(without, RETURNED_COLOUR)
