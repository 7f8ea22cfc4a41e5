"""`cron_trigger`: a crontab line as an APScheduler 3.x trigger, weekdays numbered as in cron.

APScheduler 3.x numbers weekdays from Monday (0) while cron numbers them from Sunday (0 or 7),
and `CronTrigger.from_crontab` passes the numbers through as they are (its own warning; fixed
only in 4.x), so `0 3 * * 1-5` would run Tuesday to Saturday. The day-of-week field is
therefore rewritten into weekday names, which both read alike, before it is handed over.
A line that restricts both the day of month and the day of week is refused: cron runs when
either matches, APScheduler only when both do.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(line: str, timezone: str) -> CronTrigger:
    """The trigger for a 5-field crontab `line` in `timezone`; ValueError when it is invalid."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab line has 5 fields, {line!r} has {len(fields)}")
    if fields[2] != "*" and fields[4] != "*":
        raise ValueError("restrict the day of month or the day of week, not both")
    fields[4] = cron_weekdays(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(timezone))


def cron_weekdays(field: str) -> str:
    """A cron day-of-week field with its numbers (0 or 7 = Sunday) turned into names."""
    if not any(char.isdigit() for char in field):
        return field  # `*`, or names such as mon-fri: APScheduler reads them as cron does
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            low, high = span.split("-", 1)
            first, last = _day(low), _day(high)
        else:
            first = _day(span)
            last = 6 if step else first
        if first > last:
            raise ValueError(f"day-of-week range {span!r} runs backwards")
        days |= {day % 7 for day in range(first, last + 1, int(step) if step else 1)}
    return ",".join(DAYS[day] for day in sorted(days))


def _day(text: str) -> int:
    """A weekday number 0-7 or name, as cron's number."""
    if text.lower() in DAYS:
        return DAYS.index(text.lower())
    if not text.isdigit() or int(text) > 7:
        raise ValueError(f"{text!r} is not a day of the week (0-7 or sun-sat)")
    return int(text)
