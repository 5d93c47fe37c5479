"""Business hours with time zones and holidays.

A schedule interprets the distributor's ``now`` as Unix time (seconds since
1970-01-01 UTC) and answers "open or closed?" in a named IANA time zone, so
daylight-saving changes are handled by the zone database. Opening ranges are
local wall-clock times per weekday; a range whose end is before its start
runs past midnight into the next day (22:00-06:00). Holidays are local dates
on which the schedule is closed all day (a range that started the evening
before still runs into a holiday morning).

Any finite ``now`` may be asked about: an instant outside the calendar that
``datetime`` can represent (years 1 to 9999 in the schedule's zone) is closed,
and :meth:`Schedule.next_open` looks no further than the calendar's end.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from .errors import ConfigError, InvalidValue
from .skills import freeze_sequence
from .values import show, show_keys

__all__ = ["Schedule", "schedule_from_dict"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_time(value: object, where: str) -> dt.time:
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise ConfigError(f"{where}: time {show(value)} must be a local time (no tzinfo)")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: time {show(value)} must be 'HH:MM'")
    if value == "24:00":
        return dt.time.max
    try:
        hh, mm = value.split(":")
        return dt.time(int(hh), int(mm))
    except (ValueError, OverflowError):
        raise ConfigError(f"{where}: time {show(value)} must be 'HH:MM'") from None


Range = tuple[dt.time, dt.time]


def _hours(value: Mapping[str, Iterable[Any]]) -> Mapping[str, tuple[Range, ...]]:
    out: dict[str, tuple[Range, ...]] = {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"Schedule.hours must map weekday names to ranges, got {show(value)}")
    for day, ranges in value.items():
        if not isinstance(day, str) or day not in _DAYS:
            raise ConfigError(
                f"Schedule.hours: unknown weekday {show(day)} (use {', '.join(_DAYS)})"
            )
        parsed: list[Range] = []
        for i, r in enumerate(freeze_sequence(ranges, f"Schedule.hours.{day}", ConfigError)):
            where = f"Schedule.hours.{day}[{i}]"
            if isinstance(r, str) and "-" in r:
                r = r.split("-")
            if not isinstance(r, (list, tuple)) or len(r) != 2:
                raise ConfigError(
                    f"{where}: a range is 'HH:MM-HH:MM' or [open, close], got {show(r)}"
                )
            start, end = _parse_time(r[0], where), _parse_time(r[1], where)
            if start == end:
                raise ConfigError(f"{where}: empty range {show(r)}")
            parsed.append((start, end))
        parsed.sort()
        out[day] = tuple(parsed)
    return out


def _dates(value: Iterable[Any]) -> frozenset[dt.date]:
    out = set()
    for d in freeze_sequence(value, "Schedule.holidays", ConfigError, ordered=False):
        if isinstance(d, dt.datetime):
            raise ConfigError(f"Schedule.holidays: {show(d)} must be a date, not a datetime")
        if isinstance(d, dt.date):
            out.add(d)
        elif isinstance(d, str):
            try:
                out.add(dt.date.fromisoformat(d))
            except ValueError:
                raise ConfigError(f"Schedule.holidays: {show(d)} is not YYYY-MM-DD") from None
        else:
            raise ConfigError(f"Schedule.holidays: {show(d)} is not a date")
    return frozenset(out)


@attrs.frozen
class Schedule:
    """Opening hours in a time zone. ``hours`` maps ``"mon"``..``"sun"`` to
    ranges (``"09:00-17:00"`` or ``("09:00", "17:00")``); days not listed are
    closed. ``holidays`` are local dates closed all day.

    ``is_open`` costs O(r) for r ranges on two days.
    """

    timezone: str
    hours: Mapping[str, tuple[Range, ...]] = attrs.field(converter=_hours)
    holidays: frozenset[dt.date] = attrs.field(factory=frozenset, converter=_dates)
    _zone: ZoneInfo = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.timezone, str) or not self.timezone:
            raise ConfigError(
                f"Schedule.timezone must be an IANA zone name, got {show(self.timezone)}"
            )
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ConfigError(f"Schedule: unknown time zone {show(self.timezone)}") from None
        object.__setattr__(self, "_zone", zone)
        for day, ranges in self.hours.items():
            # Same-day ranges must not overlap (overnight ones are checked loosely).
            plain = [r for r in ranges if r[0] < r[1]]
            for a, b in itertools.pairwise(plain):
                if b[0] < a[1]:
                    raise ConfigError(f"Schedule.hours.{day}: ranges {a} and {b} overlap")

    def local(self, now: float) -> dt.datetime:
        """``now`` (Unix seconds) as a local, zone-aware datetime. Raises
        :class:`~acdcore.errors.InvalidValue` for an instant outside the
        calendar (years 1 to 9999)."""
        t = self._local(now)
        if t is None:
            raise InvalidValue(f"Schedule: instant {show(now)} is outside years 1 to 9999")
        return t

    def _local(self, now: float) -> dt.datetime | None:
        try:
            return dt.datetime.fromtimestamp(now, tz=self._zone)
        except (OverflowError, ValueError, OSError):
            return None

    def is_open(self, now: float) -> bool:
        """True when ``now`` (Unix seconds) falls in an opening range (False
        outside the calendar, see the module's docstring)."""
        t = self._local(now)
        if t is None:
            return False
        today, clock = t.date(), t.time().replace(tzinfo=None)
        if today not in self.holidays:
            for start, end in self.hours.get(_DAYS[t.weekday()], ()):
                if start < end and start <= clock < end:
                    return True
                if end < start and clock >= start:
                    return True
        if today == dt.date.min:
            return False
        yesterday = today - dt.timedelta(days=1)
        if yesterday not in self.holidays:
            for start, end in self.hours.get(_DAYS[yesterday.weekday()], ()):
                if end < start and clock < end:
                    return True
        return False

    def next_open(self, now: float, horizon_days: int = 31) -> float | None:
        """The next instant at or after ``now`` at which the schedule is open,
        as Unix seconds; ``None`` if it never opens within ``horizon_days``."""
        if self.is_open(now):
            return now
        t = self._local(now)
        if t is None:
            return None
        for k in range(horizon_days + 1):
            try:
                day = t.date() + dt.timedelta(days=k)
            except OverflowError:  # past the end of the calendar
                return None
            if day in self.holidays:
                continue
            for start, _end in self.hours.get(_DAYS[day.weekday()], ()):
                try:
                    at = dt.datetime.combine(day, start, tzinfo=self._zone).timestamp()
                except (OverflowError, ValueError, OSError):
                    continue
                if at >= now and self.is_open(at):
                    return at
        return None


def schedule_from_dict(spec: object, where: str = "schedule") -> Schedule:
    """Build a :class:`Schedule` from ``{"timezone": ..., "hours": {...},
    "holidays": [...]}``; errors name ``where``."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: a schedule is a table, got {show(spec)}")
    unknown = set(spec) - {"timezone", "hours", "holidays"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {show_keys(unknown)}")
    try:
        return Schedule(
            timezone=spec.get("timezone", "UTC"),
            hours=spec.get("hours", {}),
            holidays=spec.get("holidays", ()),
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
