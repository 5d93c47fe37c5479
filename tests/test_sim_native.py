"""The simulator's replication loop in C (``acd_sim.c``, ``acdcore._sim_native``)
against the Python loop (the direct lane, ``_sim_run`` / ``_sim_direct``).

For every scenario the C loop covers, both loops must leave everything the
same: the replication (KPIs, per-queue and per-interval KPIs, interval
statistics, waits, counts), the ``Metrics`` state, the random generator's
state (so the next replication draws alike), and the distributor (its
snapshot, counts and invariant check). Scenarios the C loop does not cover
must run the Python loop.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acdcore.backend
from acdcore import (
    FIFO,
    AccumulatingPriority,
    EmergencyFirst,
    NoAnswerPolicy,
    PriorityClasses,
    QueueConfig,
    QueueMembership,
    Strategy,
    _sim_native,
)
from acdcore._sim_run import _Run
from acdcore.distributions import Deterministic, Empirical, Exponential, LogNormal, Uniform
from acdcore.estimators import HeadOfLineEstimator
from acdcore.scenario import AgentGroup, Break, CallType, Scenario, SimQueue, Traffic
from acdcore.sim import SimulationError, run_replication

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "scenarios"


@pytest.fixture(params=["native"], autouse=True)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Overrides the suite-wide fixture: the C loop runs on the native
    backend (and these tests compare it with the Python loop themselves)."""
    if not acdcore.backend.native_available():
        pytest.skip("the C loop needs the native extension, which is not built")
    monkeypatch.setattr(acdcore.backend, "BACKEND", "native")
    return "native"


def _outcome(scenario: Scenario, seed: Any, c_loop: bool) -> tuple[Any, ...]:
    """Everything a replication leaves, run by the C loop or the Python one;
    and whether the C loop ran."""
    _sim_native.ENABLED = c_loop
    ran: list[bool] = []
    real = _sim_native.play

    def spy(run: _Run) -> bool:
        played = real(run)
        ran.append(played)
        return played

    _sim_native.play = spy
    rng = random.Random(seed)
    try:
        run = _Run(scenario, rng, None, None)
        run.run()
        rep = run.result(0, 0.0)
    finally:
        _sim_native.ENABLED = True
        _sim_native.play = real
    acd = run.acd
    return (
        any(ran),
        rep.kpis, rep.queue_kpis, rep.summary, rep.intervals, rep.interval_kpis,
        rep.interval_queue_kpis, rep.waits, rep.abandoned_waits, rep.calls, rep.events,
        rep.advances, rep.unresolved, rep.metrics.save_state(), rng.getstate(),
        acd.snapshot(), acd.counts(), acd.agent_states(), acd.next_deadline(), acd.check(),
        # the façade's pause reasons, which a logout keeps (a review found them dropped)
        {i: a.paused for i, a in acd._eng.agents.items()} if acd._eng is not None else None,
    )  # fmt: skip


def _same(scenario: Scenario, seed: Any) -> None:
    c, py = _outcome(scenario, seed, True), _outcome(scenario, seed, False)
    assert c[0] and not py[0], "the C loop must run for this scenario, and only when enabled"
    for i, (a, b) in enumerate(zip(c[1:], py[1:], strict=True)):
        assert a == b, i


def mms(agents: int, patience: float | None = None, hours: float = 2) -> Scenario:
    return Scenario(
        queues=[QueueConfig("q")],
        agents=[AgentGroup("a", count=agents, queues=["q"])],
        traffic=Traffic(
            rates=[100] * int(2 * hours),
            handle=Exponential(180),
            patience=None if patience is None else Exponential(patience),
        ),
        warmup=1800,
    )


@pytest.mark.parametrize("patience", [None, 60.0])
def test_the_c_loop_leaves_what_the_python_loop_leaves_on_mms(patience: float | None) -> None:
    _same(mms(11, patience), "mms")


@st.composite
def covered_scenarios(draw: st.DrawFn) -> Scenario:
    """Small busy scenarios with everything the C loop covers: one to three
    queues with any strategy, built-in policy, ring timeout, wrap-up, queue
    cap and no-answer policy (auto-pause included); agents in up to three
    groups over any queues, with RONA, answer delays and resume delays;
    weighted call types with queues, priorities, emergencies, requirements
    and their own talk and patience; every built-in distribution; rates
    that change by interval (zero included), with or without a warm-up;
    shifts (some starting before the warm-up, some late, ending mid-call),
    breaks and staggered starts."""
    dists = st.one_of(
        st.builds(Deterministic, st.sampled_from([0, 5, 30.5, 200])),
        st.builds(Exponential, st.sampled_from([10.0, 60.0, 150.0])),
        st.builds(LogNormal, st.sampled_from([60.0, 120.0]), st.sampled_from([20.0, 90.0])),
        st.builds(Uniform, st.just(1), st.sampled_from([3, 40, 100])),
        st.builds(Empirical, st.lists(st.sampled_from([0.0, 2.5, 40.0, 300.0]), min_size=1)),
    )
    n = draw(st.integers(1, 3))
    names = ["a", "b", "c"][:n]
    policies = [FIFO(), PriorityClasses(), EmergencyFirst(), EmergencyFirst(PriorityClasses())]
    queues = []
    for name in names:
        config = QueueConfig(
            name,
            strategy=draw(st.sampled_from(list(Strategy))),
            policy=draw(st.sampled_from(policies)),
            wrap_up=draw(st.sampled_from([0, 3, 20])),
            ring_timeout=draw(st.sampled_from([4, 15])),
            max_length=draw(st.sampled_from([None, 1, 4])),
            requirement=draw(st.sampled_from([{}, {"fr": 1}])),
            no_answer=NoAnswerPolicy(
                delay=draw(st.sampled_from([0, 4])),
                auto_pause_after=draw(st.sampled_from([None, 1, 2])),
            ),
        )
        if draw(st.booleans()):
            queues.append(SimQueue(config, handle=draw(dists), patience=draw(dists)))
        else:
            queues.append(config)
    groups = []
    for g in range(draw(st.integers(1, 3))):
        mine = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        shift = draw(st.sampled_from([None, (0, 1500), (-300, 2400), (900, 3000), (3300, 4200)]))
        breaks: list[Break] = []
        if shift is not None and shift[1] - shift[0] >= 1500 and draw(st.booleans()):
            start = shift[0] + draw(st.sampled_from([100, 500]))
            breaks = [
                Break(start, draw(st.sampled_from([60, 400])), draw(st.sampled_from(["a", "b"])))
            ]
        groups.append(
            AgentGroup(
                f"g{g}",
                count=draw(st.integers(1, 4)),
                shift=shift,
                breaks=breaks,
                stagger=draw(st.sampled_from([0, 45])) if shift is not None else 0,
                queues={q: QueueMembership(priority=draw(st.integers(0, 2))) for q in mine},
                skills=draw(st.sampled_from([{"fr": 1}, {"fr": 3}, *([{}] if g else [])])),
                rona=draw(st.sampled_from([0.0, 0.3])),
                answer_delay=draw(dists),
                resume_after=draw(dists),
            )
        )
    types = []
    for t in range(draw(st.integers(0, 3))):
        types.append(
            CallType(
                f"t{t}",
                weight=draw(st.sampled_from([1, 2.5])),
                queue=draw(st.sampled_from([None, *names])),
                priority=draw(st.integers(0, 3)),
                emergency=draw(st.booleans()),
                requirement=draw(st.sampled_from([None, {}, {"fr": 2}])),
                handle=draw(st.one_of(st.none(), dists)),
                patience=draw(st.one_of(st.none(), dists)),
            )
        )
    return Scenario(
        queues=queues,
        agents=groups,
        traffic=Traffic(
            rates=draw(st.lists(st.sampled_from([0, 20, 90]), min_size=1, max_size=3)),
            call_types=types,
            handle=draw(dists),
            patience=draw(st.one_of(st.none(), dists)),
        ),
        warmup=draw(st.sampled_from([0, 600])),
        duration=3600,
        drain=draw(st.sampled_from([0, 900])),
    )


@settings(deadline=None)
@given(scenario=covered_scenarios(), seed=st.integers(0, 2**32))
def test_the_c_loop_leaves_what_the_python_loop_leaves(scenario: Scenario, seed: int) -> None:
    """Property: for any covered scenario and seed, the two loops leave the
    same replication, metrics, random state and distributor."""
    _same(scenario, seed)


def test_the_example_scenarios_the_c_loop_covers() -> None:
    """Every example scenario the C loop covers (with a short drain) leaves
    the same with both loops, and those it covers have no plan and no
    callbacks."""
    covered = []
    for path in sorted(EXAMPLES.glob("*.toml")):
        scenario = attrs.evolve(Scenario.load(path), drain=600)
        if _runs_in_c(scenario):
            covered.append(path.stem)
            _same(scenario, "examples")
    assert covered == ["small_team"]  # the others have a routing plan or callbacks


def _runs_in_c(scenario: Scenario, **kw: Any) -> bool:
    run = _Run(scenario, random.Random(1), kw.get("journal"), kw.get("estimators"))
    from acdcore._sim_direct import _Lane

    run.lane = _Lane.of(run)
    return _sim_native.covered(run)


def test_what_the_c_loop_does_not_cover_runs_in_python() -> None:
    """Each feature outside the C loop sends the replication to the Python
    loop (and a scenario without any of them runs in C)."""
    base = mms(3, 60.0, hours=0.5)
    assert _runs_in_c(base)
    q = QueueConfig("q")

    class Twice(Exponential):  # a built-in's subclass draws as it likes
        def sample(self, rng: random.Random) -> float:
            return 2 * super().sample(rng)

    outside = {
        "journal": (base, {"journal": []}),
        "estimators": (base, {"estimators": [HeadOfLineEstimator()]}),
        "plan": (attrs.evolve(base, plan={"default": {"queue": "q"}}), {}),
        "policy": (
            attrs.evolve(base, queues=[attrs.evolve(q, policy=AccumulatingPriority(10))]),
            {},
        ),
        "caller": (
            attrs.evolve(
                base,
                traffic=attrs.evolve(
                    base.traffic, call_types=[CallType("x", attributes={"caller": "+1"})]
                ),
            ),
            {},
        ),
        "distribution": (
            attrs.evolve(base, traffic=attrs.evolve(base.traffic, handle=Twice(60.0))),
            {},
        ),
        "replay": (
            attrs.evolve(base, traffic=Traffic(replay=[10.0, 20.0], handle=Exponential(60))),
            {},
        ),
    }
    for what, (scenario, kw) in outside.items():
        assert not _runs_in_c(scenario, **kw), what


def test_a_replication_past_the_slots_runs_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C loop keeps a slot per (interval, queue or agent): a replication
    needing more than ``MAX_SLOTS`` runs the Python loop."""
    base = mms(3, 60.0, hours=0.5)  # 11 intervals (warm-up, one measured, drain) x 4
    monkeypatch.setattr(_sim_native, "MAX_SLOTS", 44)
    assert _runs_in_c(base)
    monkeypatch.setattr(_sim_native, "MAX_SLOTS", 43)
    assert not _runs_in_c(base)


def test_a_refusal_inside_the_c_loop_is_a_simulation_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step the engine refuses stops the C loop with a SimulationError
    naming the engine's error (here: an arrival of a class it never made)."""
    real = _sim_native._configure

    def bad_class(run: _Run, f: Any, sim: Any) -> None:
        real(run, f, sim)
        f.eng.lib.acd_sim_type(
            sim, 0, 1.0, 0, 999, -1, -1, 2,
            f.eng.ffi.new("int[]", [1, 2]), f.eng.ffi.new("double[]", [0.0, 0.0]),
        )  # fmt: skip

    with pytest.raises(SimulationError, match=r"refused its set-up: malformed argument \(-3\)"):
        _sim_native._ok(-3)  # a set-up value refused: the same kind of error
    monkeypatch.setattr(_sim_native, "_configure", bad_class)
    with pytest.raises(SimulationError, match=r"C replication loop stopped: .*\(-\d+\)"):
        run_replication(mms(3, hours=0.5), random.Random(2))


def test_the_environment_can_pick_the_python_loop() -> None:
    """``ACDCORE_SIM_LOOP=python`` turns the C loop off for the process
    (the benchmark compares the loops so); anything else leaves it on."""
    import os
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parent.parent / "src")
    said = {}
    for value in ("python", "c", ""):
        env = {**os.environ, "ACDCORE_SIM_LOOP": value, "PYTHONPATH": src}
        out = subprocess.run(
            [sys.executable, "-c", "from acdcore import _sim_native; print(_sim_native.ENABLED)"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        said[value] = out.stdout.strip()
    assert said == {"python": "False", "c": "True", "": "True"}


def test_a_draw_past_a_double_raises_in_both_loops() -> None:
    """A log-normal draw whose exponential overflows: the Python loop's
    ``random.lognormvariate`` raises ``OverflowError``, and so does the C
    loop, rather than carrying on with an infinite patience (shrunk from a
    review's random scenarios)."""
    scenario = Scenario(
        queues=[QueueConfig("q")],
        agents=[AgentGroup("a", count=3, queues=["q"])],
        traffic=Traffic(rates=[200], handle=Exponential(60), patience=LogNormal(1e307, 1.7e308)),
        duration=1800,
        drain=0,
    )
    assert _runs_in_c(scenario)
    for c_loop in (True, False):
        _sim_native.ENABLED = c_loop
        try:
            with pytest.raises(OverflowError, match="math range error"):
                run_replication(scenario, random.Random(1))
        finally:
            _sim_native.ENABLED = True


def test_a_set_up_the_c_loop_refuses_falls_back_to_the_python_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the C loop cannot take a replication after all (``Metrics``
    has seen something, or the accumulators' room is refused), nothing has
    moved and the Python loop plays it, to the same end (a review found a
    set-up refused with an error instead)."""
    scenario = mms(3, 60.0, hours=0.5)
    expected = _outcome(scenario, 7, False)
    monkeypatch.setattr(_sim_native, "_kpi_setup", lambda *args: False)
    got = _outcome(scenario, 7, True)
    assert not got[0] and got[1:] == expected[1:]


def test_an_agent_logged_out_while_paused_keeps_its_reason() -> None:
    """An agent auto-paused (it lets every offer ring out) whose shift ends
    while it is paused: the façade keeps the pause reason through the
    logout on both loops (the C loop dropped it once; a review found it)."""
    scenario = Scenario(
        queues=[QueueConfig("q", no_answer=NoAnswerPolicy(delay=0, auto_pause_after=1))],
        agents=[
            AgentGroup(
                "a", count=1, queues=["q"], shift=(0, 1800), rona=1.0,
                resume_after=Deterministic(10_000),
            ),
            AgentGroup("b", count=1, queues=["q"]),
        ],
        traffic=Traffic(rates=[40, 40], handle=Exponential(60)),
        drain=600,
    )  # fmt: skip
    assert _runs_in_c(scenario)
    _same(scenario, 3)
    c = _outcome(scenario, 3, True)
    assert "no-answer" in c[-1].values()
