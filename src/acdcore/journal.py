"""A journal of everything a distributor was told: JSON Lines, append-only.

The distributor is deterministic, so the events it accepted and the instants
it was advanced to, in order, are a complete record: replayed into a fresh
distributor built the same way they give the same decisions. The journal
holds them, one JSON object a line (see :mod:`acdcore.codec` for the form of
an event)::

    {"journal": "acdcore", "v": 1, "first": 0}
    {"seq": 0, "advance": 0.0, "actions": []}
    {"seq": 1, "event": {"type": "AgentLoggedIn", "v": 1, ...}, "actions": [...]}

``seq`` counts entries with no gap, from the header's ``first`` (0 when the
header has none; a segment written after a snapshot starts later: see
:mod:`acdcore.store`). ``actions`` (optional) are the
actions the distributor returned, so that a replay can say where it diverges.

Durability is the writer's ``flush`` policy:

- ``"fsync"``: every entry is written and ``fsync``-ed before ``append``
  returns: it survives a crash of the process and of the machine.
- ``"flush"`` (the default): every entry is handed to the operating system
  before ``append`` returns: it survives a crash of the process, not a power cut.
- an ``int`` N: entries are handed to the operating system N at a time (and on
  :meth:`JournalWriter.flush` and close): a process crash loses at most the
  last N - 1 entries.

A process that dies mid-write leaves a torn last line (no newline at its
end, or not valid JSON). :func:`read_journal` skips it with a warning in both
modes; any other bad line is an error naming its line number in strict mode,
and is skipped, counted and reported in lenient mode.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from .actions import Action
from .codec import _no_constant, from_json, to_json
from .errors import AcdError, InvalidValue
from .events import Event
from .values import check_number, show

__all__ = [
    "Entry",
    "JournalError",
    "JournalRead",
    "JournalWriter",
    "ReplayReport",
    "entry_line",
    "parse_entry",
    "read_journal",
    "replay",
]

HEADER = {"journal": "acdcore", "v": 1}
"""The header line's fixed part; it also holds ``first``, the first entry's ``seq``."""


class JournalError(InvalidValue):
    """A journal line that cannot be read (strict mode), named by its line number."""


@attrs.frozen
class Entry:
    """One journal entry: an advance to ``advance`` or an accepted ``event``,
    with the ``actions`` recorded beside it (``None`` when not recorded)."""

    seq: int
    event: Event | None = None
    advance: float | None = None
    actions: tuple[Action, ...] | None = None


class JournalWriter:
    """Appends entries to a journal file (created with its header if new or
    empty; appended to, numbering on, if it exists).

    Use it beside a distributor: ``actions = acd.advance(t)`` then
    ``journal.advance(t, actions)``; ``actions = acd.handle(ev)`` then
    ``journal.event(ev, actions)``. Cost per entry: the JSON form of the
    event and its actions, one ``write``, and the flush policy's system calls.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        flush: str | int = "flush",
        actions: bool = True,
        first: int = 0,
    ) -> None:
        if flush not in ("fsync", "flush") and (
            isinstance(flush, bool) or not isinstance(flush, int) or flush < 1
        ):
            raise InvalidValue(f"flush must be 'fsync', 'flush' or an int >= 1, got {show(flush)}")
        self._policy = flush
        self._record = bool(actions)
        if isinstance(first, bool) or not isinstance(first, int) or first < 0:
            raise InvalidValue(f"first must be an int >= 0, got {show(first)}")
        self._path = Path(path)
        seq = first
        if self._path.exists() and self._path.stat().st_size > 0:
            read = read_journal(self._path, strict=True)
            seq = read.entries[-1].seq + 1 if read.entries else read.first
            if read.torn:  # cut the torn tail off before appending after it
                with open(self._path, "r+b") as f:
                    f.truncate(read.good_bytes)
            self._file: IO[str] = open(self._path, "a", encoding="utf-8")  # noqa: SIM115
        else:
            # Created whole: the header is written to a temporary file, fsync-ed
            # and renamed into place, so a crash never leaves an empty journal.
            write_whole(self._path, _line_text({**HEADER, "first": first}))
            self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115
        self._seq = seq
        self._pending = 0

    @property
    def next_seq(self) -> int:
        """The sequence number the next entry will get."""
        return self._seq

    def advance(self, now: float, actions: Sequence[Action] = ()) -> int:
        """Record ``advance(now)`` and the actions it returned; its ``seq``."""
        return self._append(None, now, actions)

    def event(self, event: Event, actions: Sequence[Action] = ()) -> int:
        """Record an accepted event and the actions it returned; its ``seq``."""
        return self._append(event, 0.0, actions)

    def _append(self, event: Event | None, now: float, actions: Sequence[Action]) -> int:
        self._file.write(entry_line(self._seq, event, now, actions if self._record else None))
        seq = self._seq
        self._seq += 1
        self._pending += 1
        self._sync()
        return seq

    def _sync(self, force: bool = False) -> None:
        policy = self._policy
        if force or policy in ("fsync", "flush") or self._pending >= policy:  # type: ignore[operator]
            self._file.flush()
            self._pending = 0
            if policy == "fsync" or force:
                os.fsync(self._file.fileno())

    def flush(self) -> None:
        """Hand every pending entry to the operating system, and fsync."""
        self._sync(force=True)

    def close(self) -> None:
        """Flush and close the file."""
        if not self._file.closed:
            self.flush()
            self._file.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _line_text(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"


def entry_line(seq: int, event: Event | None, now: float, actions: Sequence[Action] | None) -> str:
    """The journal line (with its newline) of entry ``seq``: ``event``, or an
    advance to ``now`` when ``event`` is ``None``; ``actions`` (``None``: not
    recorded). What :class:`JournalWriter` writes, for journals kept
    elsewhere (see :mod:`acdcore.replication`)."""
    entry: dict[str, Any] = {"seq": seq}
    if event is None:
        entry["advance"] = check_number(now, "now")
    else:
        entry["event"] = to_json(event)
    if actions is not None:
        entry["actions"] = [to_json(a) for a in actions]
    return _line_text(entry)


def parse_entry(line: str | bytes, expected: int) -> Entry:
    """Read one journal line written by :func:`entry_line` (or a journal
    file); its ``seq`` must be ``expected``. Raises
    :class:`~acdcore.errors.InvalidValue` naming what is wrong."""
    return _entry(line.encode() if isinstance(line, str) else line, expected)


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: to a temporary file beside it,
    fsync-ed, then renamed over ``path`` and the directory fsync-ed, so a
    crash leaves either no file (or the old one) or the whole new one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform allows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@attrs.frozen
class JournalRead:
    """What :func:`read_journal` found: the entries, whether the last line was
    torn, the lines skipped (lenient mode) with why, and warnings."""

    entries: tuple[Entry, ...]
    torn: bool
    skipped: tuple[tuple[int, str], ...]
    warnings: tuple[str, ...]
    good_bytes: int  # the length of the file up to the end of its last good line
    first: int = 0  # the seq its header says its first entry has


def read_journal(path: str | os.PathLike[str], *, strict: bool = True) -> JournalRead:
    """Read a journal. Raises :class:`JournalError` naming the line (strict
    mode) for a bad line other than a torn last one; lenient mode skips it."""
    raw = Path(path).read_bytes()
    lines = raw.split(b"\n")
    complete = lines[:-1]  # the text after the last newline is a torn line, if any
    tail = lines[-1]
    entries: list[Entry] = []
    skipped: list[tuple[int, str]] = []
    warnings: list[str] = []
    good = 0
    offset = 0
    torn = False
    first = 0
    for number, line in enumerate(complete, start=1):
        offset += len(line) + 1
        try:
            if number == 1:
                first = _header(line)
            else:
                expected = entries[-1].seq + 1 if entries else first
                entries.append(_entry(line, expected, gap=bool(skipped) and not strict))
        except (InvalidValue, ValueError) as exc:
            why = f"line {number}: {exc}"
            if number == len(complete) and not tail and _torn_json(line):
                torn = True
                warnings.append(f"{why}; a torn last line (a write cut short) is skipped")
                break
            if strict:
                raise JournalError(why) from None
            skipped.append((number, str(exc)))
            continue
        good = offset
    if tail:
        torn = True
        warnings.append(
            f"line {len(complete) + 1}: no newline at its end: a torn last line is skipped"
        )
    if not complete and not tail:
        raise JournalError("line 1: the journal is empty (no header)")
    return JournalRead(tuple(entries), torn, tuple(skipped), tuple(warnings), good, first)


def _torn_json(line: bytes) -> bool:
    """True when ``line`` is the start of a JSON object cut short."""
    try:
        json.loads(line)
    except ValueError:
        return line.startswith(b"{")
    return False


def _header(line: bytes) -> int:
    """The header's ``first`` (0 when absent)."""
    data = json.loads(line)
    if not isinstance(data, dict) or {k: v for k, v in data.items() if k != "first"} != HEADER:
        raise InvalidValue(f"not an acdcore journal header: {show(data)}")
    first = data.get("first", 0)
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise InvalidValue(f"header: first must be an int >= 0, got {show(first)}")
    return first


def _entry(line: bytes, expected: int, gap: bool = False) -> Entry:
    """One entry line; its ``seq`` must be ``expected`` (or later, with
    ``gap``: lines were skipped before it)."""
    data = json.loads(line, parse_constant=_no_constant)
    if not isinstance(data, dict):
        raise InvalidValue(f"an entry must be a JSON object, got {show(data)}")
    seq = data.get("seq")
    if (
        isinstance(seq, bool)
        or not isinstance(seq, int)
        or seq < expected
        or (seq > expected and not gap)
    ):
        raise InvalidValue(f"seq is {show(seq)}, expected {expected}")
    extra = set(data) - {"seq", "event", "advance", "actions"}
    if extra:
        raise InvalidValue(f"unknown key {show(sorted(extra)[0])}")
    actions = None
    if "actions" in data:
        if not isinstance(data["actions"], list):
            raise InvalidValue("actions must be a list")
        actions = tuple(_action(a) for a in data["actions"])
    if ("event" in data) == ("advance" in data):
        raise InvalidValue("an entry holds either an event or an advance")
    if "advance" in data:
        return Entry(seq, advance=check_number(data["advance"], "advance"), actions=actions)
    event = from_json(data["event"])
    if not isinstance(event, Event):
        raise InvalidValue(f"event is a {type(event).__name__}, not an event")
    return Entry(seq, event=event, actions=actions)


def _action(data: Any) -> Action:
    action = from_json(data)
    if not isinstance(action, Action):
        raise InvalidValue(f"actions hold a {type(action).__name__}, not an action")
    return action


@attrs.frozen
class ReplayReport:
    """What a replay did: entries applied, actions produced, and the first
    divergence from the recorded actions (``None``: none), as (seq, recorded,
    replayed); ``refused``: entries the distributor refused, (seq, error)."""

    entries: int
    actions: int
    divergence: tuple[int, tuple[Action, ...], tuple[Action, ...]] | None
    refused: tuple[tuple[int, str], ...]


def replay(entries: Iterable[Entry], distributor: Any) -> ReplayReport:
    """Feed ``entries`` to ``distributor`` (a fresh one, built as the journaled
    one was) and compare its actions with those recorded."""
    n = produced = 0
    divergence = None
    refused: list[tuple[int, str]] = []
    for entry in entries:
        n += 1
        try:
            if entry.event is not None:
                got = distributor.handle(entry.event)
            else:
                got = distributor.advance(entry.advance)
        except AcdError as exc:
            refused.append((entry.seq, f"{type(exc).__name__}: {exc}"))
            got = []
        produced += len(got)
        if divergence is None and entry.actions is not None and tuple(got) != entry.actions:
            divergence = (entry.seq, entry.actions, tuple(got))
    return ReplayReport(n, produced, divergence, tuple(refused))
