"""Reading an Asterisk ``queue_log``, of any release from 1.4 to 23.

:func:`read_queue_log` parses the file form (``epoch|callid|queue|agent|EVENT|data...``)
or a realtime-table export (CSV with a header: ``time,callid,queuename,agent,
event`` and either ``data`` or ``data1``..``data5``; QueueMetrics' column names
``time_id,call_id,queue,verb`` too), and checks each known event's fields
against the layouts Asterisk has written over the years:

- ENTERQUEUE with 2 (1.4), 3 or 4 (caller name, 20.14+) fields;
- CONNECT with or without the ring time; COMPLETECALLER/COMPLETEAGENT with 2 or 3;
- EXITWITHTIMEOUT with 1 (1.4, and one path up to 13) or 3; EXITWITHKEY with 2 or 4;
- TRANSFER (up to 11) as well as BLINDTRANSFER and ATTENDEDTRANSFER (12+);
- RINGNOANSWER and RINGCANCELED in milliseconds;
- the trailing ``|`` of an event with no data; unknown events (counted, kept);
- Wazo's FULL, JOINEMPTY and CLOSED.

Modes: ``strict`` (the first bad line raises :class:`QueueLogError` naming its
line number and why) or lenient (bad lines are skipped, counted and listed).
A last line with no newline at its end is skipped with a warning in both
modes: Asterisk ends every line, so the write was cut short (a torn line). Bytes that are not UTF-8 are an error
in strict mode, and are read as Latin-1 with a warning in lenient mode.

:func:`to_items` turns the lines into the acdcore events and actions they
describe, in time order, for :class:`~acdcore.metrics.Metrics` (see
:mod:`acdcore.queuelog_report`). Lines out of order are sorted by their time
(stably: lines of one second keep their order).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import attrs

from .errors import InvalidValue
from .values import show

__all__ = ["KNOWN", "Line", "QueueLogError", "QueueLogRead", "read_queue_log"]


class QueueLogError(InvalidValue):
    """A queue_log line that cannot be read (strict mode), named by its line number."""


@attrs.frozen
class Line:
    """One queue_log line: ``number`` (1-based line in the file), ``time``
    (Unix seconds), the four name fields, the event and its data fields."""

    number: int
    time: float
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]

    def number_at(self, index: int, default: float = 0.0) -> float:
        """Data field ``index`` as a number (``default`` when absent or blank)."""
        if index >= len(self.data) or not self.data[index].strip():
            return default
        return float(self.data[index])


@attrs.frozen
class QueueLogRead:
    """What :func:`read_queue_log` found: the lines (in file order), the
    form (``"file"`` or ``"csv"``), the lines skipped with why (lenient
    mode), warnings, and the count of each event name."""

    lines: tuple[Line, ...]
    form: str
    skipped: tuple[tuple[int, str], ...]
    warnings: tuple[str, ...]
    events: dict[str, int]


# The data fields each known event may have (counts), and which of them are
# numbers. The layouts of Asterisk 1.4 to 23 (see the module docstring).
KNOWN: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "ENTERQUEUE": ((2, 3, 4), (2,)),
    "CONNECT": ((2, 3), (0, 2)),
    "COMPLETECALLER": ((2, 3), (0, 1, 2)),
    "COMPLETEAGENT": ((2, 3), (0, 1, 2)),
    "ABANDON": ((3,), (0, 1, 2)),
    "EXITWITHTIMEOUT": ((1, 3), (0, 1, 2)),
    "EXITEMPTY": ((3,), (0, 1, 2)),
    "EXITWITHKEY": ((2, 4), (1, 2, 3)),
    "WITHDRAW": ((3, 4), (0, 1, 2)),
    "RINGNOANSWER": ((1,), (0,)),
    "RINGCANCELED": ((1,), (0,)),
    "TRANSFER": ((4, 5), (2, 3, 4)),
    "BLINDTRANSFER": ((5,), (2, 3, 4)),
    "ATTENDEDTRANSFER": ((5, 6), ()),
    "ADDMEMBER": ((0, 1), ()),
    "REMOVEMEMBER": ((0, 1), ()),
    "PAUSE": ((0, 1), ()),
    "UNPAUSE": ((0, 1), ()),
    "PAUSEALL": ((0, 1), ()),
    "UNPAUSEALL": ((0, 1), ()),
    "AGENTLOGIN": ((0, 1), ()),
    "AGENTLOGOFF": ((0, 1, 2), ()),
    "QUEUESTART": ((0,), ()),
    "CONFIGRELOAD": ((0,), ()),
    "FULL": ((0,), ()),
    "JOINEMPTY": ((0,), ()),
    "CLOSED": ((0,), ()),
}
_EVENT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _number(text: str, what: str) -> float:
    text = text.strip()
    if not _NUMBER.match(text):
        raise InvalidValue(f"{what} is not a number: {show(text)}")
    value = float(text)
    if not math.isfinite(value):
        raise InvalidValue(f"{what} is not a finite number: {show(text)}")
    return value


def _check(event: str, data: tuple[str, ...]) -> None:
    """Raise InvalidValue when a known event's fields are not a known layout."""
    layout = KNOWN.get(event)
    if layout is None:
        return
    counts, numeric = layout
    if len(data) not in counts:
        expected = " or ".join(str(c) for c in counts)
        raise InvalidValue(f"{event} has {len(data)} data fields, expected {expected}")
    if event == "ENTERQUEUE" and len(data) < 3:
        numeric = ()  # 1.4: url | callerid
    if event == "EXITWITHTIMEOUT" and len(data) == 1:
        numeric = (0,)
    if event == "EXITWITHKEY" and len(data) == 2:
        numeric = (1,)
    for i in numeric:
        if i < len(data) and data[i].strip():
            _number(data[i], f"{event} field {i + 1}")


def _line(number: int, fields: list[str], time: float) -> Line:
    if len(fields) < 5:
        raise InvalidValue(
            f"{len(fields)} fields, a line has at least 5 (time|callid|queue|agent|EVENT)"
        )
    event = fields[4].strip()
    if not _EVENT_NAME.match(event):
        raise InvalidValue(f"event {show(event)} is not an event name")
    data = tuple(fields[5:])
    if data == ("",):
        data = ()  # the trailing | of an event with no data
    _check(event, data)
    callid, queue, agent = (f.strip() for f in fields[1:4])
    return Line(number, time, callid, queue, agent, event, data)


def _epoch(text: str) -> float:
    value = _number(text, "time")
    if value < 0:
        raise InvalidValue(f"time {show(text)} is before 1970")
    return value


def read_queue_log(
    source: str | os.PathLike[str] | bytes, *, strict: bool = True, tz_offset: float = 0.0
) -> QueueLogRead:
    """Read a queue_log file (a path, or its bytes). ``tz_offset``: seconds
    east of UTC of the times in a realtime export (``2026-12-04 09:00:00``
    there is local time unless the server logs in GMT); the file form's times
    are Unix seconds already. Raises :class:`QueueLogError` (strict mode) for
    a bad line, and for a file that cannot be read at all."""
    if isinstance(source, bytes):
        raw = source
    else:
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise QueueLogError(f"{source}: {exc.strerror or exc}") from None
    warnings: list[str] = []
    skipped: list[tuple[int, str]] = []
    text, bad_bytes = _decode(raw, strict)
    if bad_bytes:
        warnings.append(f"{bad_bytes} line(s) are not UTF-8: read as Latin-1")
    first = text.split("\n", 1)[0]
    if _is_csv_header(first):
        lines = _read_csv(text, strict, tz_offset, skipped, warnings)
        form = "csv"
    else:
        lines = _read_file(text, strict, skipped, warnings)
        form = "file"
    events: dict[str, int] = {}
    for line in lines:
        events[line.event] = events.get(line.event, 0) + 1
    return QueueLogRead(tuple(lines), form, tuple(skipped), tuple(warnings), events)


def _decode(raw: bytes, strict: bool) -> tuple[str, int]:
    """The text; with how many lines had to be read as Latin-1 (lenient)."""
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError as exc:
        number = raw.count(b"\n", 0, exc.start) + 1
        if strict:
            raise QueueLogError(
                f"line {number}: not UTF-8 (byte 0x{raw[exc.start]:02x}); "
                "read it leniently to take such lines as Latin-1"
            ) from None
    out = []
    bad = 0
    for chunk in raw.split(b"\n"):
        try:
            out.append(chunk.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(chunk.decode("latin-1"))
            bad += 1
    return "\n".join(out), bad


def _is_csv_header(line: str) -> bool:
    names = {n.strip().strip('"').lower() for n in line.split(",")}
    return ("event" in names or "verb" in names) and ("callid" in names or "call_id" in names)


def _fail(number: int, why: str, strict: bool, skipped: list[tuple[int, str]]) -> None:
    if strict:
        raise QueueLogError(f"line {number}: {why}")
    skipped.append((number, why))


def _read_file(
    text: str, strict: bool, skipped: list[tuple[int, str]], warnings: list[str]
) -> list[Line]:
    rows = text.split("\n")
    torn = rows[-1] != ""
    if not torn:
        rows.pop()
    out: list[Line] = []
    for i, row in enumerate(rows, start=1):
        row = row.rstrip("\r")
        if not row.strip():
            continue
        if torn and i == len(rows):  # Asterisk ends every line: the write was cut short
            warnings.append(f"line {i}: no newline at its end: a torn last line, skipped")
            continue
        try:
            if "\x00" in row:
                raise InvalidValue("holds NUL bytes: not text")
            fields = row.split("|")
            out.append(_line(i, fields, _epoch(fields[0])))
        except InvalidValue as exc:
            _fail(i, str(exc), strict, skipped)
    return out


_COLUMNS = {
    "time": "time", "time_id": "time", "callid": "callid", "call_id": "callid",
    "queuename": "queue", "queue": "queue", "agent": "agent", "event": "event", "verb": "event",
    "data": "data", "data1": "data1", "data2": "data2", "data3": "data3", "data4": "data4",
    "data5": "data5",
}  # fmt: skip


def _read_csv(
    text: str,
    strict: bool,
    tz_offset: float,
    skipped: list[tuple[int, str]],
    warnings: list[str],
) -> list[Line]:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader)]
    where = {_COLUMNS[h]: i for i, h in enumerate(header) if h in _COLUMNS}
    missing = [c for c in ("time", "callid", "queue", "agent", "event") if c not in where]
    if missing:
        raise QueueLogError(f"line 1: the header has no column {missing[0]!r}")
    spread = [where[f"data{k}"] for k in range(1, 6) if f"data{k}" in where]
    out: list[Line] = []
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) < len(header):
                raise InvalidValue(f"{len(row)} columns, the header has {len(header)}")
            if "data" in where:
                data = row[where["data"]].split("|")
            else:
                data = [row[i] for i in spread]
                while data and not data[-1]:
                    data.pop()
            if data == [""]:
                data = []
            time = _csv_time(row[where["time"]], tz_offset)
            fields = [str(time), row[where["callid"]], row[where["queue"]], row[where["agent"]],
                      row[where["event"]], *data]  # fmt: skip
            line = _line(number, fields, time)
            out.append(line)
        except InvalidValue as exc:
            _fail(number, str(exc), strict, skipped)
    return out


def _csv_time(text: str, tz_offset: float) -> float:
    """A realtime export's time: Unix seconds, or ``YYYY-MM-DD HH:MM:SS[.ffffff]``."""
    text = text.strip()
    if _NUMBER.match(text):
        return _epoch(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(
            f"time {show(text)} is neither Unix seconds nor YYYY-MM-DD HH:MM:SS"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() - tz_offset
    return moment.timestamp()
