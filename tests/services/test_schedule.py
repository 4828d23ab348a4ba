from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.schedule import (
    is_quiet,
    next_daytime,
    parse_duration,
    parse_offsets,
    parse_quiet_hours,
    reminder_due,
)
from tests.factories import at

BANGKOK = ZoneInfo("Asia/Bangkok")
YANGON = ZoneInfo("Asia/Yangon")


def test_offsets_and_units():
    assert [label for label, _ in parse_offsets("0d,30d,7d,14d,1d,3d")] == ["30d", "14d", "7d", "3d", "1d", "0d"]
    assert parse_offsets("90s, 5m,1h")[0] == ("1h", timedelta(hours=1))
    assert parse_duration("2w") == timedelta(days=14)
    with pytest.raises(ValueError, match="not a duration"):
        parse_offsets("30 days")


def test_quiet_hours_over_midnight_in_local_time():
    quiet = parse_quiet_hours("21-08")
    assert quiet == (21, 8)
    assert parse_quiet_hours("") is None
    with pytest.raises(ValueError):
        parse_quiet_hours("8")
    late_evening = at("2026-12-01T15:30:00")  # 22:30 in Bangkok, 22:00 in Yangon
    assert is_quiet(late_evening, BANGKOK, quiet)
    morning = next_daytime(late_evening, BANGKOK, quiet)
    assert morning.astimezone(BANGKOK).strftime("%d %H:%M") == "02 08:00"
    assert next_daytime(late_evening, YANGON, quiet).astimezone(YANGON).strftime("%d %H:%M") == "02 08:00"
    noon = at("2026-12-01T05:00:00")
    assert next_daytime(noon, BANGKOK, quiet) == noon
    assert next_daytime(late_evening, BANGKOK, None) == late_evening


def test_on_the_day_reminder_falls_before_the_deadline():
    opened, deadline = at("2026-11-01T00:00:00"), at("2026-12-31T16:59:00")
    assert reminder_due(deadline, opened, timedelta(days=7)) == deadline - timedelta(days=7)
    assert reminder_due(deadline, opened, timedelta(0)) == deadline - timedelta(hours=12)
    short_open, short_deadline = at("2026-11-01T00:00:00"), at("2026-11-01T00:04:00")
    assert reminder_due(short_deadline, short_open, timedelta(0)) == short_deadline - timedelta(minutes=1)
