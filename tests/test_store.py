"""The data directory: recovery is the last snapshot plus the journal after it.

The property journals random runs into a store that snapshots on a random
schedule (so runs end anywhere between snapshots, rotations and trims),
then recovers into a fresh distributor and metrics: their state must equal
the state of the run. The examples cover a torn last line, a lost segment,
a snapshot that cannot be read, and what the trim keeps.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acdcore import (
    AgentLoggedIn,
    AgentProfile,
    CallArrived,
    Distributor,
    Metrics,
    QueueConfig,
    RoutingPlan,
    snapshots,
)
from acdcore.store import Store, StoreError

from .test_determinism import drive, ops, setups


class Journaled:
    """A distributor whose every advance and accepted event goes to a store
    (as the runtime does), which snapshots when its schedule says so."""

    def __init__(self, acd: Distributor, store: Store, metrics: Metrics) -> None:
        self.acd, self.store, self.metrics = acd, store, metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self.acd, name)

    def advance(self, now: float) -> list[Any]:
        out = self.acd.advance(now)
        self.store.advance(now, out)
        self.metrics.observe_actions(out)
        self.metrics.advance(now)
        self._maybe_snapshot()
        return out

    def handle(self, event: Any) -> list[Any]:
        out = self.acd.handle(event)  # a refused event raises: nothing is journaled
        self.store.event(event, out)
        self.metrics.observe(event, out)
        self._maybe_snapshot()
        return out

    def _maybe_snapshot(self) -> None:
        if self.store.snapshot_due():
            self.store.snapshot(self.acd, self.metrics)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(setup=setups(), steps=ops, every=st.integers(1, 25), torn=st.booleans())
def test_recovery_gives_the_state_of_the_run(
    tmp_path_factory: pytest.TempPathFactory,
    setup: tuple[list[QueueConfig], RoutingPlan | None, int],
    steps: list[tuple[int, int, float]],
    every: int,
    torn: bool,
) -> None:
    configs, plan, seed = setup
    directory = tmp_path_factory.mktemp("store")

    def build() -> tuple[Distributor, Metrics]:
        acd = Distributor(configs, rng=random.Random(seed), plan=plan)
        return acd, Metrics(acd.queues)

    acd, metrics = build()
    store = Store(directory, snapshot_every=every, snapshot_seconds=None)
    assert store.recover(acd, metrics).next_seq == 0
    drive(Journaled(acd, store, metrics), steps, read=False)  # type: ignore[arg-type]
    store.close()
    if torn:  # the process died writing an entry that was never acknowledged
        newest = directory / f"journal-{store.segments()[-1]:020d}.jsonl"
        with open(newest, "a") as f:
            f.write('{"seq": 99999, "event": {"type": "Call')
    again, again_metrics = build()
    later = Store(directory, snapshot_every=every, snapshot_seconds=None)
    report = later.recover(again, again_metrics)
    assert report.torn == torn
    assert snapshots.save(again, metrics=again_metrics) == snapshots.save(acd, metrics=metrics)
    assert len(later.snapshots()) <= 2
    later.close()


# ------------------------------------------------------------------ examples


def _queues() -> list[QueueConfig]:
    return [QueueConfig("q", ring_timeout=5.0, wrap_up=2.0)]


def _run(directory: Path, n: int, every: int = 3) -> Distributor:
    acd = Distributor(_queues())
    store = Store(directory, snapshot_every=every, snapshot_seconds=None)
    store.recover(acd)
    j = Journaled(acd, store, Metrics(acd.queues))
    j.handle(AgentLoggedIn(now=0.0, profile=AgentProfile("a", queues=["q"])))
    for i in range(n):
        j.advance(float(i))
        j.handle(CallArrived(now=float(i), call_id=f"c{i}", queue="q"))
    store.close()
    return acd


def test_a_fresh_directory_starts_a_journal_at_zero(tmp_path: Path) -> None:
    store = Store(tmp_path)
    report = store.recover(Distributor(_queues()))
    assert (report.snapshot, report.replayed, report.next_seq) == (None, 0, 0)
    store.close()
    assert [p.name for p in tmp_path.iterdir()] == [f"journal-{0:020d}.jsonl"]


def test_the_trim_keeps_two_snapshots_and_the_journal_after_the_older(tmp_path: Path) -> None:
    acd = _run(tmp_path, 10, every=4)  # 21 entries: snapshots at 4, 8, 12, 16, 20
    store = Store(tmp_path)
    assert store.snapshots() == [16, 20]
    assert store.segments() == [16, 20]
    again = Distributor(_queues())
    report = store.recover(again)
    assert (report.snapshot, report.replayed, report.next_seq) == (20, 1, 21)
    assert snapshots.save(again) == snapshots.save(acd)
    store.close()


def test_an_unreadable_snapshot_falls_back_to_the_one_before(tmp_path: Path) -> None:
    acd = _run(tmp_path, 10, every=4)
    (tmp_path / f"snapshot-{20:020d}.json").write_text('{"snapshot": "acdcore"')
    again = Distributor(_queues())
    store = Store(tmp_path)
    report = store.recover(again)
    assert report.snapshot == 16 and report.replayed == 5
    assert "snapshot-00000000000000000020.json: cannot be restored" in report.warnings[0]
    assert snapshots.save(again) == snapshots.save(acd)
    store.close()


def test_a_missing_segment_is_an_error_naming_the_gap(tmp_path: Path) -> None:
    _run(tmp_path, 10, every=4)
    (tmp_path / f"snapshot-{20:020d}.json").unlink()
    (tmp_path / f"journal-{16:020d}.jsonl").unlink()
    fresh = Distributor(_queues())
    with pytest.raises(StoreError, match="entries 16 to 19 are missing"):
        Store(tmp_path).recover(fresh)


def test_recovery_carries_on_in_the_same_directory(tmp_path: Path) -> None:
    _run(tmp_path, 3, every=100)  # no snapshot: one segment, 7 entries
    acd = Distributor(_queues())
    store = Store(tmp_path, snapshot_every=100)
    assert store.recover(acd).next_seq == 7
    store.advance(10.0, acd.advance(10.0))
    store.close()
    again = Distributor(_queues())
    report = Store(tmp_path).recover(again)
    assert report.replayed == 8 and snapshots.save(again) == snapshots.save(acd)


def test_a_segment_cut_off_as_it_was_created_is_started_again(tmp_path: Path) -> None:
    """The crash test's find: a SIGKILL between creating a segment and writing
    its header left an empty file that recovery could not read. Segments are
    now created whole (header written to a temporary file, renamed); an empty
    one left by an older version is started again."""
    acd = _run(tmp_path, 4, every=3)  # 9 entries; the last snapshot at 9 starts a segment
    newest = tmp_path / f"journal-{9:020d}.jsonl"
    assert newest.read_bytes().count(b"\n") == 1  # only its header
    newest.write_bytes(b"")  # as if killed before the header was written
    again = Distributor(_queues())
    store = Store(tmp_path)
    report = store.recover(again)
    assert "empty (cut off as it was created)" in report.warnings[0]
    assert report.next_seq == 9 and report.snapshot == 9
    assert snapshots.save(again) == snapshots.save(acd)
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []
