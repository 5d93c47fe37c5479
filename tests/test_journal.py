"""The journal: what is written reads back and replays to the same decisions;
a torn last line is skipped with a warning; any other bad line is an error
naming its line (strict) or is skipped and counted (lenient)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from acdcore import (
    AcdError,
    AgentLoggedIn,
    AgentProfile,
    CallArrived,
    Distributor,
    OfferAnswered,
    QueueConfig,
)
from acdcore.journal import JournalError, JournalWriter, read_journal, replay

from .test_determinism import drive, ops, setups


class Journaled:
    """A distributor whose every advance and accepted event is journaled."""

    def __init__(self, acd: Distributor, writer: JournalWriter) -> None:
        self.acd, self.writer = acd, writer
        self.queues = acd.queues

    def advance(self, now: float) -> list[Any]:
        out = self.acd.advance(now)
        self.writer.advance(now, out)
        return out

    def handle(self, ev: Any) -> list[Any]:
        out = self.acd.handle(ev)  # a refused event raises before it is journaled
        self.writer.event(ev, out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.acd, name)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(setup=setups(), steps=ops)
def test_a_journal_replays_to_the_same_decisions(
    tmp_path: Path, setup: Any, steps: list[tuple[int, int, float]]
) -> None:
    configs, plan, seed = setup
    path = tmp_path / "j.jsonl"
    path.unlink(missing_ok=True)
    with JournalWriter(path, flush=7) as writer:
        live = Journaled(Distributor(configs, rng=random.Random(seed), plan=plan), writer)
        drive(live, steps, read=False)  # type: ignore[arg-type]
    read = read_journal(path)
    assert not read.torn and not read.skipped and not read.warnings
    twin = Distributor(configs, rng=random.Random(seed), plan=plan)
    report = replay(read.entries, twin)
    assert report.divergence is None and not report.refused
    assert twin.snapshot() == live.acd.snapshot()


def _small(path: Path, **kw: Any) -> Distributor:
    acd = Distributor([QueueConfig("q")])
    with JournalWriter(path, **kw) as w:
        for ev in (
            AgentLoggedIn(now=0, profile=AgentProfile("a", queues=["q"])),
            CallArrived(now=1, call_id="c", queue="q", attributes={"tier": "gold"}),
            OfferAnswered(now=2, call_id="c", agent_id="a"),
        ):
            w.advance(ev.now, acd.advance(ev.now))
            w.event(ev, acd.handle(ev))
    return acd


@pytest.mark.parametrize("flush", ["fsync", "flush", 1, 3])
def test_every_flush_policy_writes_every_entry(tmp_path: Path, flush: str | int) -> None:
    path = tmp_path / "j.jsonl"
    _small(path, flush=flush)
    read = read_journal(path)
    assert [e.seq for e in read.entries] == list(range(6))
    assert path.read_text().splitlines()[0] == '{"journal":"acdcore","v":1,"first":0}'


def test_a_torn_last_line_is_skipped_with_a_warning_and_cut_before_appending(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    _small(path)
    whole = path.read_bytes()
    path.write_bytes(whole[:-25])  # the process died in the middle of the last write
    for strict in (True, False):
        read = read_journal(path, strict=strict)
        assert read.torn and [e.seq for e in read.entries] == list(range(5))
        assert "torn last line" in read.warnings[0]
    with JournalWriter(path) as w:  # reopening cuts the torn line and numbers on
        assert w.next_seq == 5
        w.advance(3.0)
    read = read_journal(path)
    assert not read.torn and [e.seq for e in read.entries] == list(range(6))


def test_a_complete_but_cut_last_line_is_torn_too(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _small(path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][:30] + "\n")
    read = read_journal(path)
    assert read.torn and len(read.entries) == 5


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("not json", "line 3: "),
        ('{"seq": 9, "advance": 1.0}', "line 3: seq is 9, expected 1"),
        ('{"seq": 1, "advance": "soon"}', "line 3: advance must be a number"),
        ('{"seq": 1}', "line 3: an entry holds either an event or an advance"),
        ('{"seq": 1, "advance": 1, "extra": 0}', "line 3: unknown key 'extra'"),
        ('{"seq": 1, "event": {"type": "Nope", "v": 1}}', "line 3: type: unknown"),
        ('{"seq": 1, "advance": NaN}', "line 3: "),
        ("[1, 2]", "line 3: an entry must be a JSON object"),
    ],
)
def test_a_bad_line_names_its_number(tmp_path: Path, line: str, why: str) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(
        '{"journal":"acdcore","v":1,"first":0}\n{"seq":0,"advance":0.0}\n'
        + line
        + '\n{"seq":1,"advance":2.0}\n'
    )
    with pytest.raises(JournalError, match="^" + why.replace("(", r"\(")):
        read_journal(path)
    read = read_journal(path, strict=False)
    assert [n for n, _ in read.skipped] == [3]
    assert [e.seq for e in read.entries] == [0, 1]


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"journal":"other"}\n')
    with pytest.raises(JournalError, match="line 1: not an acdcore journal header"):
        read_journal(path)
    path.write_text("")
    with pytest.raises(JournalError, match="empty"):
        read_journal(path)


def test_a_replay_reports_where_it_diverges(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _small(path)
    read = read_journal(path)
    other = Distributor([QueueConfig("q", ring_timeout=99)])  # built differently
    report = replay(read.entries, other)
    assert report.divergence is not None and report.divergence[0] == 3  # the offer
    assert report.entries == 6 and not report.refused


def test_a_replay_reports_refused_entries(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _small(path)
    read = read_journal(path)
    report = replay(read.entries, Distributor([QueueConfig("other")]))
    assert report.refused and "UnknownQueue" in report.refused[0][1]


def test_writer_refuses_a_bad_policy_and_attributes_json_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(AcdError, match="flush must be"):
        JournalWriter(tmp_path / "j.jsonl", flush=0)
    with JournalWriter(tmp_path / "k.jsonl") as w, pytest.raises(AcdError, match=r"attributes\.x"):
        w.event(CallArrived(now=0, call_id="c", queue="q", attributes={"x": float("nan")}))
    assert json.loads((tmp_path / "k.jsonl").read_text().splitlines()[0])["journal"] == "acdcore"
