from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from documents.chart import Cell, response_chart
from documents.ics import deadline_event


def test_the_response_chart_is_a_png_of_the_grid():
    cells = {("SOMHD", "Thailand"): Cell(True, 4, 1), ("SOMHD", "Viet Nam"): Cell(False, 0, 1)}
    png = response_chart("A title", ["SOMHD", "SLOM"], ["Thailand", "Viet Nam", "Brunei Darussalam"], cells)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    import struct

    width, height = struct.unpack(">II", png[16:24])
    assert width > height > 100


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
