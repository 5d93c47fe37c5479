"""Snapshot and restore: a restored distributor decides as the saved one would.

The property cuts random runs (every event kind, ring timeouts, wrap-ups,
announcements, callbacks, routing plans) at a random step, saves the
distributor, passes the document through JSON text, restores it into a
fresh distributor on either backend, and carries on: everything that comes
out, and the final state, must equal the run that was never cut.
"""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acdcore.backend
from acdcore import (
    AgentLoggedIn,
    AgentProfile,
    CallArrived,
    Distributor,
    HeadOfLineEstimator,
    InvalidValue,
    LearnedEstimator,
    Metrics,
    OfferAnswered,
    QueueConfig,
    RoutingPlan,
    snapshots,
)
from acdcore.distributor import _engine_covers

from .test_determinism import drive, ops, setups

BACKENDS = ["python", "native"] if acdcore.backend.native_available() else ["python"]


def _moved(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as another process would read it."""
    return snapshots.loads(snapshots.dumps(doc))


@settings(deadline=None)
@given(
    setup=setups(),
    steps=ops,
    cut=st.integers(0, 60),
    target=st.sampled_from(BACKENDS),
)
def test_a_restored_distributor_makes_the_same_decisions(
    setup: tuple[list[QueueConfig], RoutingPlan | None, int],
    steps: list[tuple[int, int, float]],
    cut: int,
    target: str,
) -> None:
    configs, plan, seed = setup

    def build(backend: str | None = None) -> Distributor:
        return Distributor(configs, rng=random.Random(seed), plan=plan, backend=backend)

    def restart(acd: Distributor) -> Distributor:
        doc = _moved(snapshots.save(acd))
        again = build(target)
        snapshots.restore(doc, again)
        assert snapshots.save(again) == doc  # nothing lost or added on the way
        if target == "native" and _engine_covers(again):
            # The restored state runs on the C engine, as a native
            # distributor built with this configuration does.
            assert again._eng is not None, "the engine did not take the restored state"
        return again

    whole = drive(build(), steps, read=False)
    assert drive(build(), steps, read=False, swap=(min(cut, len(steps)), restart)) == whole


# --------------------------------------------------------------- refusals


def _busy() -> Distributor:
    acd = Distributor([QueueConfig("q", ring_timeout=5.0, wrap_up=3.0)], rng=random.Random(1))
    acd.handle(AgentLoggedIn(now=0.0, profile=AgentProfile("a", queues=["q"])))
    acd.handle(CallArrived(now=1.0, call_id="c1", queue="q"))
    acd.handle(CallArrived(now=2.0, call_id="c2", queue="q", priority=1))
    return acd


def _fresh() -> Distributor:
    return Distributor([QueueConfig("q", ring_timeout=5.0, wrap_up=3.0)], rng=random.Random(7))


def test_the_document_is_json_and_versioned() -> None:
    doc = snapshots.save(_busy())
    assert doc["snapshot"] == "acdcore" and doc["v"] == snapshots.VERSION
    json.dumps(doc, allow_nan=False)
    assert [c["call_id"] for c in doc["calls"]] == ["c1", "c2"]
    assert [d[2:4] for d in doc["deadlines"]] == [["ring", 0]]


def test_restore_refuses_a_distributor_that_has_handled_events() -> None:
    with pytest.raises(InvalidValue, match="fresh distributor"):
        snapshots.restore(snapshots.save(_busy()), _busy())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(v=2), "version 1"),
        (lambda d: d.pop("calls"), r"snapshot.calls is missing"),
        (lambda d: d.update(extra=1), "unknown field 'extra'"),
        (lambda d: d["config"].update(queues=["other"]), "does not match"),
        (lambda d: d["calls"][1].update(state="lost"), r"snapshot.calls\[1\].state must be one of"),
        (lambda d: d["calls"][0].update(seq="x"), r"snapshot.calls\[0\].seq must be an integer"),
        (lambda d: d["calls"][0].update(entered=float("nan")), r"calls\[0\].entered must be"),
        (lambda d: d["agents"][0]["profile"].update(capacity={"fax": 1}), r"agents\[0\].profile"),
        (lambda d: d["deadlines"][0].__setitem__(3, 99), r"deadlines\[0\]\[3\]: no live call"),
        (lambda d: d["deadlines"][0].__setitem__(2, "nap"), r"deadlines\[0\]\[2\] must be one"),
        (lambda d: d["queues"]["q"].update(free=["ghost"]), "unknown agent 'ghost'"),
        (lambda d: d["rng"].__setitem__(1, [1, 2]), "snapshot.rng"),
        (lambda d: d["calls"][0].update(state="connected"), "inconsistent"),
    ],
)
@pytest.mark.parametrize("target", BACKENDS)
def test_a_bad_document_is_refused_by_name_and_changes_nothing(
    edit: Any, message: str, target: str
) -> None:
    doc = copy.deepcopy(snapshots.save(_busy()))
    edit(doc)
    acd = Distributor(
        [QueueConfig("q", ring_timeout=5.0, wrap_up=3.0)], rng=random.Random(7), backend=target
    )
    before = snapshots.save(acd)
    with pytest.raises(InvalidValue, match=message):
        snapshots.restore(doc, acd)
    assert snapshots.save(acd) == before
    # and it is still a working, fresh distributor
    acd.handle(AgentLoggedIn(now=0.0, profile=AgentProfile("a", queues=["q"])))
    acd.check()


def test_metrics_are_restored_only_from_a_snapshot_that_holds_them() -> None:
    acd = _busy()
    metrics = Metrics(acd.queues)
    with pytest.raises(InvalidValue, match="holds no metrics state"):
        snapshots.restore(snapshots.save(acd), _fresh(), metrics=metrics)
    doc = snapshots.save(acd, metrics=Metrics(acd.queues))
    again = _fresh()
    snapshots.restore(doc, again)  # a distributor alone: the metrics state is left unread
    assert snapshots.save(again) == snapshots.save(acd)


def test_estimators_carry_what_they_learned() -> None:
    def build() -> Distributor:
        return Distributor(
            [QueueConfig("q", ring_timeout=30.0)],
            estimators=[LearnedEstimator(), HeadOfLineEstimator()],
        )

    acd = build()
    acd.handle(AgentLoggedIn(now=0.0, profile=AgentProfile("a", queues=["q"])))
    for i in range(4):
        acd.handle(CallArrived(now=float(i), call_id=f"c{i}", queue="q"))
    acd.handle(OfferAnswered(now=10.0, call_id="c0", agent_id="a"))
    again = build()
    snapshots.restore(_moved(snapshots.save(acd)), again)
    for name in ("learned", "head-of-line"):
        assert again.estimate("c3", name) == acd.estimate("c3", name)
    assert [e.save_state() for e in again.estimators] == [e.save_state() for e in acd.estimators]


def test_a_snapshot_file_is_replaced_whole(tmp_path: Any) -> None:
    path = tmp_path / "snap.json"
    doc = snapshots.save(_busy())
    snapshots.write_snapshot(path, doc)
    snapshots.write_snapshot(path, doc)
    assert snapshots.read_snapshot(path) == doc
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.json"]
    path.write_text("{not json")
    with pytest.raises(InvalidValue, match="not JSON"):
        snapshots.read_snapshot(path)


# The version-1 layout of a call in a snapshot: a call record keeps some of
# these fields in its extras, and the document must not notice.
CALL_V1_KEYS = [
    "call_id", "seq", "queue", "channel", "attributes", "requirement", "priority",
    "emergency", "preferred_agent", "arrived", "entered", "key", "state", "offers",
    "ring_round", "agent", "answered_at", "recheck_at", "last_agent", "rule", "stages",
    "stage", "stage_gen", "region", "regional", "extra_queues", "preferred_until",
    "transfers", "callback", "number", "attempts", "callback_offered", "announced",
    "last_position", "last_wait", "next_announce", "offered_at", "stage_timer",
    "max_wait_timer", "announce_timer", "recheck_timer",
]  # fmt: skip


def test_a_call_in_the_document_has_the_version_1_fields_in_order() -> None:
    doc = snapshots.save(_busy())
    for call in doc["calls"]:
        assert list(call) == CALL_V1_KEYS


def test_a_plain_waiting_call_allocates_no_extras() -> None:
    from acdcore._state import CallExtras

    acd = Distributor([QueueConfig("q")])
    acd.handle(CallArrived(now=0.0, call_id="c1", queue="q"))
    call = acd._reads()._calls["c1"]  # on the engine: the record materialized from it
    assert call._x is None
    call.announced = 0  # a default value allocates nothing
    call.region = None
    assert call._x is None
    call.transfers = 2
    assert isinstance(call._x, CallExtras) and call.transfers == 2 and call.announced == 0
    acd.check()


@attrs.frozen
class _LooseKeys:
    """A custom policy whose keys the distributor accepts though a public
    Queue would not: -inf for VIPs and the sequence number as a float."""

    @property
    def name(self) -> str:
        return "loose-keys"

    def key(self, call: Any) -> tuple[float, ...]:
        return (-math.inf if call.attributes.get("vip") else 0.0, call.arrived, float(call.seq))


def test_keys_the_distributor_accepts_survive_a_snapshot_and_an_estimate(backend: str) -> None:
    """Regression: restore and estimate_new re-checked keys with the public
    Queue's stricter rule and refused what arrival had accepted."""
    from acdcore import QueueLengthEstimator

    def build() -> Distributor:
        return Distributor(
            [QueueConfig("q", policy=_LooseKeys())],
            estimators=[QueueLengthEstimator(mean_handle=60.0)],
        )

    acd = build()
    acd.handle(CallArrived(now=0.0, call_id="c1", queue="q"))
    acd.handle(CallArrived(now=1.0, call_id="c2", queue="q", attributes={"vip": True}))
    assert acd.waiting("q") == ["c2", "c1"]
    assert acd.estimate_new("q").ahead == 2
    doc = _moved(snapshots.save(acd))
    again = build()
    snapshots.restore(doc, again)
    assert again.waiting("q") == ["c2", "c1"] and snapshots.save(again) == doc
    again.check()


@attrs.frozen
class _DrawnKeys:
    """A custom policy whose key's first number is drawn per priority."""

    heads: tuple[float, ...]
    float_seq: bool

    @property
    def name(self) -> str:
        return "drawn-keys"

    def key(self, call: Any) -> tuple[float, ...]:
        seq = float(call.seq) if self.float_seq else call.seq
        return (self.heads[call.priority % len(self.heads)], call.arrived, seq)


@settings(deadline=None, max_examples=60)
@given(
    heads=st.lists(st.floats(allow_nan=False), min_size=1, max_size=4).map(tuple),
    float_seq=st.booleans(),
    priorities=st.lists(st.integers(0, 3), min_size=1, max_size=6),
)
def test_every_key_arrival_accepts_is_accepted_by_restore_and_estimates(
    heads: tuple[float, ...], float_seq: bool, priorities: list[int]
) -> None:
    """The property behind the regression above: one key rule. Whatever key a
    policy gives that arrival accepts, the waiting order survives a snapshot
    and estimate_new answers."""
    from acdcore import QueueLengthEstimator

    def build() -> Distributor:
        return Distributor(
            [QueueConfig("q", policy=_DrawnKeys(heads, float_seq))],
            estimators=[QueueLengthEstimator(mean_handle=60.0)],
        )

    acd = build()
    for i, p in enumerate(priorities):
        acd.handle(CallArrived(now=float(i), call_id=f"c{i}", queue="q", priority=p))
    acd.estimate_new("q", priority=priorities[0])
    again = build()
    snapshots.restore(_moved(snapshots.save(acd)), again)
    assert again.waiting("q") == acd.waiting("q")
    again.check()
