"""Durations, reminder offsets and quiet hours: pure time arithmetic."""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_SECONDS = 3650 * 86400  # nothing in a consultation's timetable is further off than ten years
_DURATION = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,6})?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"“{text}” is not a duration: use a number and a unit s, m, h or d, like 7d or 90m")
    seconds = float(match.group(1)) * _UNIT[match.group(2).lower()]
    if seconds > MAX_SECONDS:
        raise ValueError(f"“{text}” is longer than ten years")
    return timedelta(seconds=seconds)


def parse_offsets(text: str) -> list[tuple[str, timedelta]]:
    """ "30d,14d,7d,3d,1d,0d" → labelled offsets before a deadline, largest first."""
    items = [part.strip() for part in (text or "").split(",") if part.strip()]
    offsets = [(item.lower(), parse_duration(item)) for item in items]
    unique = dict(offsets)
    return sorted(unique.items(), key=lambda pair: pair[1], reverse=True)


def describe_offsets(offsets: list[tuple[str, timedelta]]) -> str:
    return ",".join(label for label, _ in offsets)


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """ "21-08" → (21, 8): local hours from which, and until which, nothing is delivered."""
    text = (text or "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2})(?::00)?\s*-\s*(\d{1,2})(?::00)?", text)
    if not match:
        raise ValueError(f"“{text}” is not a range of hours like 21-08")
    start, end = int(match.group(1)), int(match.group(2))
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        raise ValueError(f"“{text}” is not a range of hours like 21-08")
    return start, end


def is_quiet(moment: datetime, tz: ZoneInfo, quiet: tuple[int, int] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    hour = moment.astimezone(tz).hour
    if start > end:  # over midnight, e.g. 21-08
        return hour >= start or hour < end
    return start <= hour < end


def next_daytime(moment: datetime, tz: ZoneInfo, quiet: tuple[int, int] | None) -> datetime:
    """The moment itself, or the end of the quiet hours it falls in (local time)."""
    if quiet is None or not is_quiet(moment, tz, quiet):
        return moment
    _start, end = quiet
    local = moment.astimezone(tz)
    wake = datetime.combine(local.date(), time(end), tzinfo=tz)
    if wake <= local:
        wake = datetime.combine(local.date() + timedelta(days=1), time(end), tzinfo=tz)
    return wake.astimezone(moment.tzinfo)


def reminder_due(deadline: datetime, opened: datetime, offset: timedelta) -> datetime:
    """When a reminder `offset` before the deadline falls. "0d" means on the deadline day:
    twelve hours before (or a quarter of a short window)."""
    if offset > timedelta(0):
        return deadline - offset
    window = deadline - opened
    return deadline - min(timedelta(hours=12), window / 4)


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def known_zone(name: str | None) -> str | None:
    """The tz database's own spelling of a time zone name ("asia/yangon" → "Asia/Yangon"), or
    None when there is no such zone (a region like "Asia" is not a zone)."""
    if not name or len(name) > 64:
        return None
    return _zone_names().get(name.strip().lower())
