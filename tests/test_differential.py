"""Differential test: the native backend makes exactly the reference's decisions.

Each machine of ``test_stateful`` is run with a second distributor on the
other backend beside it. Every event and every advance goes to both; after
each step their actions must be equal, their snapshots (every agent, call,
queue, counter and timer-visible field) equal, and their next deadlines equal.
A refused event must be refused by both, with the same error type and
message, and leave both unchanged. The random strategies draw from twin
seeded RNGs, so their draws must match too. At any step the native
distributor may be saved and restored into a fresh one that carries on (on
the engine, loaded with the saved state, where it covers the
configuration). Where the C engine covers the
configuration, the native distributor runs on it (and hands its state over
to the Python handlers only past the engine's limits); the plain and
ring-all machines also run with the engine off, on the Python handlers over
the C matching core.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from acdcore import AcdError, Action, Distributor, Event, native_available, snapshots
from acdcore.distributor import _engine_covers

from . import test_stateful as base

pytestmark = pytest.mark.skipif(not native_available(), reason="native extension not built")


@pytest.fixture(params=["python"], autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Overrides the suite-wide fixture: these tests use both backends at once."""
    return str(request.param)


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except AcdError as exc:
        return type(exc).__name__, str(exc)


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two JSON documents first differ, and how (for a failure's message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path or '(top)'}: python {a!r}, native {b!r}"


class Differential(base.DistributorMachine):
    """Drives a python and a native distributor side by side."""

    def build(self, backend: str | None = None) -> Distributor:
        if backend is not None:
            return super().build(backend)
        if not hasattr(self, "other"):
            self.other = super().build("native")
        return super().build("python")

    def _same(self, mine: list[Action], theirs: list[Action], what: object) -> None:
        assert mine == theirs, (
            f"backends differ after {what!r}:\n  python {mine}\n  native {theirs}"
        )
        assert self.acd.next_deadline() == self.other.next_deadline(), what
        assert self.acd.snapshot() == self.other.snapshot(), f"state differs after {what!r}"
        self.steps_seen = getattr(self, "steps_seen", 0) + 1
        if self.steps_seen % 5 == 0:
            self._same_records(what)

    def _same_records(self, what: object) -> None:
        """The saved documents (every record field, the deadlines with their
        numbers: a native distributor on the engine saves its state
        materialized from C, and must save what the Python handlers hold),
        and the views one call or agent at a time (on the engine read from C
        directly). Every fifth step and at the end: they cost more than the
        snapshot compared at every step."""
        mine, theirs = snapshots.save(self.acd), snapshots.save(self.other)
        assert mine == theirs, (
            f"saved documents differ after {what!r}: {_first_difference(mine, theirs)}"
        )
        for cid in self.acd.live_calls():
            assert self.acd.call(cid) == self.other.call(cid), (cid, what)
        for aid in self.acd._agents:
            assert self.acd.agent(aid) == self.other.agent(aid), (aid, what)

    def teardown(self) -> None:
        if hasattr(self, "other"):
            self._same_records("the end")
        super().teardown()

    def _advance(self, now: float) -> None:
        self.journal.append(("advance", now))
        mine = self.acd.advance(now)
        self._same(mine, self.other.advance(now), ("advance", now))
        self._observe(mine)

    def _apply(self, ev: Event) -> list[Action]:
        mine = self.acd.handle(ev)
        self._same(mine, self.other.handle(ev), ev)
        return mine

    def _refused(self, ev: Event | None, advance_to: float | None = None) -> None:
        before = self.other.snapshot()
        if ev is not None:
            theirs = _outcome(lambda: self.other.handle(ev))
            mine = _outcome(lambda: self.acd.handle(ev))
        else:
            theirs = _outcome(lambda: self.other.advance(advance_to))
            mine = _outcome(lambda: self.acd.advance(advance_to))
        assert mine == theirs, f"backends refuse {ev or advance_to!r} differently"
        assert self.other.snapshot() == before
        super()._refused(ev, advance_to)

    @invariant()
    def distributor_invariants(self) -> None:
        super().distributor_invariants()
        if hasattr(self, "other"):
            self.other.check()

    @rule()
    def restart_native(self) -> None:
        """The native distributor is saved, the document passed through JSON
        text and restored into a fresh native distributor, which carries on
        in its place. Where the engine covers the configuration, the restored
        state must run on the engine (loaded, not handed to the Python
        handlers), whichever path the saved distributor was on."""
        doc = snapshots.loads(snapshots.dumps(snapshots.save(self.other)))
        fresh = self.build("native")
        snapshots.restore(doc, fresh)
        assert snapshots.save(fresh) == doc
        if _engine_covers(fresh):
            assert fresh._eng is not None, "the engine did not take the restored state"
        self.other = fresh
        self._same([], [], "restart native")


class DifferentialMachine(Differential):
    """Every event kind, policy and strategy (ties are common: times come
    from a few values)."""


class DifferentialRingAll(Differential, base.RingAllMachine):
    """Ring-all races, on both backends."""


class DifferentialPlan(Differential, base.PlanMachine):
    """Routing plans: stages, added queues, regions, preferred agents, exits,
    surges, transfers and the load guard, on both backends."""


class DifferentialEnginePlan(Differential, base.EnginePlanMachine):
    """Routing plans the C engine covers (rules, relaxation steps, added
    queues, alerts, transfers): the native distributor runs them on the
    engine, against the Python handlers."""

    def build(self, backend: str | None = None) -> Distributor:
        d = super().build(backend)
        if backend is None and hasattr(self, "other"):
            assert _engine_covers(self.other) and self.other._eng is not None, (
                "the engine does not cover the plan"
            )
        return d


class DifferentialCallback(Differential, base.CallbackMachine):
    """Announcements, callbacks, retries and failures, on both backends."""


@pytest.fixture(params=["engine", "hybrid"])
def native_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which native path decides a configuration the C engine covers: the
    engine (the default), or the Python handlers over the C matching core
    (``ACDCORE_ENGINE=0``; the path of every configuration it does not
    cover, and of a distributor after a hand-over)."""
    if request.param == "hybrid":
        monkeypatch.setenv("ACDCORE_ENGINE", "0")
    return str(request.param)


def test_differential(native_path: str) -> None:
    run_state_machine_as_test(DifferentialMachine)


def test_differential_ring_all(native_path: str) -> None:
    run_state_machine_as_test(DifferentialRingAll)


def test_differential_plan() -> None:
    run_state_machine_as_test(DifferentialPlan)


def test_differential_engine_plan() -> None:
    run_state_machine_as_test(DifferentialEnginePlan)


def test_differential_callback() -> None:
    run_state_machine_as_test(DifferentialCallback)
