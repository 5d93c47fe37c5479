"""A data directory that survives a crash: snapshots, and the journal since.

Recovery is the last snapshot plus the journal after it. A :class:`Store`
keeps both in one directory::

    snapshot-00000000000000001200.json   the state after entries 0..1199
    journal-00000000000000001200.jsonl   entries 1200, 1201, ... (its header says first=1200)

- :meth:`Store.recover` loads the newest snapshot into a fresh distributor
  (and metrics), replays the journal entries after it, checks that they give
  the actions recorded beside them, and opens the journal for appending. A
  fresh directory recovers to nothing and starts ``journal-...0.jsonl``.
- :meth:`Store.record` appends an accepted event or an advance with its
  actions (the runtime does this before it performs the actions).
- :meth:`Store.snapshot` writes a snapshot at the current entry (atomically:
  temporary file, fsync, rename), starts a new journal segment there, and
  deletes what no recovery can need any more: every segment and snapshot
  older than the previous snapshot (two snapshots are kept, so a snapshot
  that cannot be read falls back to the one before it and its journal).
  :meth:`Store.snapshot_due` says when the schedule (every N entries, every
  T seconds) asks for one.

A crash at any instant leaves a directory that recovers: a torn last journal
line is cut off (the entry was never acknowledged), a snapshot is either
wholly there or not at all, and files a crash left behind mid-rotation are
ignored, then deleted by the next snapshot.

Durability of entries is the journal's flush policy (see :mod:`acdcore.journal`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .actions import Action
from .distributor import Distributor
from .errors import AcdError, InvalidValue
from .events import Event
from .journal import Entry, JournalWriter, read_journal
from .snapshots import read_snapshot, restore, save, write_snapshot
from .values import check_number, show

if TYPE_CHECKING:
    from .metrics import Metrics

__all__ = ["Recovery", "Store", "StoreError", "feed", "reapply"]

_SNAPSHOT = re.compile(r"^snapshot-(\d{20})\.json$")
_SEGMENT = re.compile(r"^journal-(\d{20})\.jsonl$")


class StoreError(InvalidValue):
    """The data directory cannot be recovered (a gap in the journal, a
    journal that diverges from its recorded actions, no readable snapshot)."""


@attrs.frozen
class Recovery:
    """What :meth:`Store.recover` did: the snapshot it started from (its
    entry number, ``None`` for none), the journal entries it replayed after
    it, the last event replayed (``None``: none since the snapshot),
    whether a torn last line was cut off, and warnings (a snapshot that
    could not be used, a torn line)."""

    snapshot: int | None
    replayed: int
    next_seq: int
    last_event: Event | None
    torn: bool
    warnings: tuple[str, ...]


def _name(kind: str, seq: int) -> str:
    return f"snapshot-{seq:020d}.json" if kind == "snapshot" else f"journal-{seq:020d}.jsonl"


class Store:
    """One data directory of snapshots and journal segments (see the module
    docstring). ``flush`` is the journal's flush policy; ``snapshot_every``
    (entries) and ``snapshot_seconds`` (seconds of the process's monotonic
    clock, ``None``: no time schedule) set when :meth:`snapshot_due` says yes.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        flush: str | int = "flush",
        actions: bool = True,
        snapshot_every: int = 10_000,
        snapshot_seconds: float | None = 300.0,
    ) -> None:
        if isinstance(snapshot_every, bool) or not isinstance(snapshot_every, int):
            raise InvalidValue(f"snapshot_every must be an int >= 1, got {show(snapshot_every)}")
        if snapshot_every < 1:
            raise InvalidValue(f"snapshot_every must be an int >= 1, got {show(snapshot_every)}")
        if snapshot_seconds is not None:
            check_number(snapshot_seconds, "snapshot_seconds", positive=True)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._flush = flush
        self._actions = actions
        self._every = snapshot_every
        self._seconds = snapshot_seconds
        self._writer: JournalWriter | None = None
        self._since = 0  # entries since the last snapshot
        self._last_time = time.monotonic()

    def restart_at(
        self, seq: int, distributor: Distributor, metrics: Metrics | None = None
    ) -> None:
        """Empty the directory and start it over at entry ``seq`` with the
        state of ``distributor`` (and ``metrics``) as its snapshot; then
        :meth:`recover` it. For a node that took over from another (the
        journal of record is elsewhere: see :mod:`acdcore.replication`)."""
        if self._writer is not None:
            raise RuntimeError("the store is already open")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise InvalidValue(f"seq must be an int >= 0, got {show(seq)}")
        keep = None
        if seq > 0:  # written first: a crash meanwhile leaves a directory that recovers
            keep = _name("snapshot", seq)
            write_snapshot(self.directory / keep, save(distributor, metrics=metrics))
        for first in self.segments():
            (self.directory / _name("journal", first)).unlink(missing_ok=True)
        for first in self.snapshots():
            if _name("snapshot", first) != keep:
                (self.directory / _name("snapshot", first)).unlink(missing_ok=True)

    # ------------------------------------------------------------ the files

    def _listed(self, pattern: re.Pattern[str]) -> list[int]:
        out = []
        for path in self.directory.iterdir():
            m = pattern.match(path.name)
            if m:
                out.append(int(m.group(1)))
        return sorted(out)

    def snapshots(self) -> list[int]:
        """The entry numbers of the snapshots in the directory, oldest first."""
        return self._listed(_SNAPSHOT)

    def segments(self) -> list[int]:
        """The first entry numbers of the journal segments, oldest first."""
        return self._listed(_SEGMENT)

    @property
    def next_seq(self) -> int:
        """The number the next entry will get (after :meth:`recover`)."""
        return self._require_writer().next_seq

    def _require_writer(self) -> JournalWriter:
        if self._writer is None:
            raise RuntimeError("the store is not open: recover() first")
        return self._writer

    # ------------------------------------------------------------ recovery

    def recover(self, distributor: Distributor, metrics: Metrics | None = None) -> Recovery:
        """Bring ``distributor`` (fresh, built as the saved one was) and
        ``metrics`` (fresh, if given) to the state the directory records,
        and open the journal for appending. Raises :class:`StoreError` when
        the directory cannot give that state."""
        if self._writer is not None:
            raise RuntimeError("the store is already open")
        warnings: list[str] = []
        start: int | None = None
        for seq in reversed(self.snapshots()):
            path = self.directory / _name("snapshot", seq)
            try:
                restore(read_snapshot(path), distributor, metrics=metrics)
            except InvalidValue as exc:
                warnings.append(f"{path.name}: cannot be restored, skipped: {exc}")
                continue
            start = seq
            break
        if start is None and self.snapshots():
            raise StoreError(
                f"{self.directory}: no snapshot can be restored: {'; '.join(warnings)}"
            )
        begin = 0 if start is None else start
        entries, torn, append_to, notes = self._tail(begin)
        warnings += notes
        for entry in entries:
            reapply(entry, distributor, metrics)
        nxt = begin + len(entries)
        self._writer = JournalWriter(
            self.directory / _name("journal", nxt if append_to is None else append_to),
            flush=self._flush,
            actions=self._actions,
            first=nxt,
        )
        self._since = len(entries)
        self._last_time = time.monotonic()
        last_event = next((e.event for e in reversed(entries) if e.event is not None), None)
        return Recovery(start, len(entries), nxt, last_event, torn, tuple(warnings))

    def _tail(self, begin: int) -> tuple[list[Entry], bool, int | None, list[str]]:
        """The entries numbered ``begin`` on, across segments, with no gap;
        whether a torn last line was cut off; the segment to append to
        (``None``: start a new one); warnings."""
        segments = self.segments()
        # The segments that can hold entries from ``begin`` on: the last one
        # starting at or before it, and every later one.
        older = [i for i, s in enumerate(segments) if s <= begin]
        use = segments[older[-1] if older else 0 :]
        entries: list[Entry] = []
        torn = False
        notes: list[str] = []
        expected = begin
        ends = begin  # the number after the last entry of the last segment
        for i, first in enumerate(use):
            path = self.directory / _name("journal", first)
            if i == len(use) - 1 and path.stat().st_size == 0:
                # Created by a version that wrote the header in place, and cut
                # off before the header: it holds nothing. Start it again.
                notes.append(f"{path.name}: empty (cut off as it was created), started again")
                path.unlink()
                use = use[:-1]
                break
            read = read_journal(path, strict=True)
            if read.first > expected:
                raise StoreError(
                    f"{path.name}: starts at entry {read.first}; entries {expected} to "
                    f"{read.first - 1} are missing"
                )
            if read.torn:
                if i != len(use) - 1:
                    raise StoreError(f"{path.name}: a torn line before the journal's end")
                torn = True
                notes += [f"{path.name}: {w}" for w in read.warnings]
                with open(path, "r+b") as f:  # cut off: that entry was never acknowledged
                    f.truncate(read.good_bytes)
            for entry in read.entries:
                if entry.seq >= expected:
                    entries.append(entry)
                    expected += 1
            ends = read.entries[-1].seq + 1 if read.entries else read.first
        if use and ends == expected:
            return entries, torn, use[-1], notes  # carry on in the newest segment
        return entries, torn, None, notes

    # ------------------------------------------------------------ recording

    def advance(self, now: float, actions: Sequence[Action] = ()) -> int:
        """Record an advance to ``now`` and its actions; its entry number."""
        seq = self._require_writer().advance(now, actions)
        self._since += 1
        return seq

    def event(self, event: Event, actions: Sequence[Action] = ()) -> int:
        """Record an accepted event and its actions; its entry number."""
        seq = self._require_writer().event(event, actions)
        self._since += 1
        return seq

    def snapshot_due(self) -> bool:
        """True when the schedule asks for a snapshot: ``snapshot_every``
        entries, or ``snapshot_seconds`` seconds (and at least one entry),
        since the last."""
        if self._since >= self._every:
            return True
        return (
            self._seconds is not None
            and self._since > 0
            and time.monotonic() - self._last_time >= self._seconds
        )

    def snapshot(self, distributor: Distributor, metrics: Metrics | None = None) -> int:
        """Snapshot ``distributor`` (and ``metrics``) as they are after every
        entry recorded so far, start a new journal segment, and delete what
        no recovery needs (see the module docstring); the snapshot's number."""
        writer = self._require_writer()
        seq = writer.next_seq
        document = save(distributor, metrics=metrics)
        writer.flush()  # the entries it follows are on disk before it is
        write_snapshot(self.directory / _name("snapshot", seq), document)
        writer.close()
        self._writer = JournalWriter(
            self.directory / _name("journal", seq),
            flush=self._flush,
            actions=self._actions,
            first=seq,
        )
        self._since = 0
        self._last_time = time.monotonic()
        self._trim()
        return seq

    def _trim(self) -> None:
        """Delete the snapshots older than the last two, and the segments
        whose entries all precede the older of those two."""
        kept = self.snapshots()[-2:]
        for seq in self.snapshots()[:-2]:
            (self.directory / _name("snapshot", seq)).unlink(missing_ok=True)
        if not kept:
            return
        segments = self.segments()
        for i, first in enumerate(segments[:-1]):
            if segments[i + 1] <= kept[0]:
                (self.directory / _name("journal", first)).unlink(missing_ok=True)
        for path in self.directory.glob("*.tmp"):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Flush and close the journal."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reapply(entry: Entry, distributor: Distributor, metrics: Metrics | None = None) -> None:
    """Apply journal ``entry`` to ``distributor`` as recovery does: it must be
    accepted and give the actions recorded beside it; ``metrics`` (if given)
    are fed. Raises :class:`StoreError` naming the entry otherwise."""
    try:
        if entry.event is not None:
            got = distributor.handle(entry.event)
        else:
            assert entry.advance is not None
            got = distributor.advance(entry.advance)
    except AcdError as exc:
        raise StoreError(f"journal entry {entry.seq} is refused on replay: {exc}") from None
    if entry.actions is not None and tuple(got) != entry.actions:
        raise StoreError(f"journal entry {entry.seq} replays to other actions than recorded")
    if metrics is not None:
        feed(metrics, entry.event, distributor.now, got)


def feed(metrics: Metrics, event: Event | None, now: float, actions: Sequence[Action]) -> None:
    """Show ``metrics`` one journal entry: an accepted ``event`` and its
    actions, or (``event`` is ``None``) an advance to ``now`` and its actions.
    The runtime and recovery both feed metrics this way, so a recovered
    Metrics equals one that watched the whole run."""
    if event is None:
        metrics.observe_actions(actions)
        metrics.advance(now)
    else:
        metrics.observe(event, actions)
