"""Wait-time estimators: exact formulas on hand-worked cases, learning that
converges on known rates from seeded streams, and bad input."""

from __future__ import annotations

import math
import random

import pytest

from acdcore import (
    AgentLoggedIn,
    AgentPaused,
    AgentProfile,
    AsteriskEstimator,
    CallAbandoned,
    CallArrived,
    CallEnded,
    ConfigError,
    Distributor,
    ErlangAEstimator,
    Exponential,
    HeadOfLineEstimator,
    InvalidCallState,
    InvalidValue,
    LastToEnterServiceEstimator,
    LearnedEstimator,
    OfferAnswered,
    PriorityClasses,
    QueueConfig,
    QueueLengthEstimator,
    UnknownCall,
    UnknownQueue,
    WaitContext,
    spoken_wait,
)
from acdcore.scenario import AgentGroup, Scenario, Traffic
from acdcore.sim import run_replication


def ctx(ahead: int, servers: float, **kw: object) -> WaitContext:
    base: dict[str, object] = dict(
        now=0.0, queue="q", priority=0, ahead=ahead, servers=servers, waiting=ahead + 1,
        head_wait=None,
    )  # fmt: skip
    base.update(kw)
    return WaitContext(**base)  # type: ignore[arg-type]


def test_queue_length_formula_by_hand() -> None:
    est = QueueLengthEstimator(mean_handle=120.0)
    # 4 calls ahead, 2 agents each finishing at 1/120 per second: 5 / (2/120) = 300 s.
    e = est.estimate(ctx(4, 2))
    assert e.seconds == pytest.approx(300.0)
    # Erlang(5, 1/60): sd = sqrt(5) * 60.
    sd = math.sqrt(5) * 60
    assert e.low == pytest.approx(300 - 1.2815515655446004 * sd)
    assert e.high == pytest.approx(300 + 1.2815515655446004 * sd)
    assert (e.ahead, e.servers, e.method) == (4, 2, "queue-length")
    assert est.estimate(ctx(0, 1)).seconds == pytest.approx(120.0)
    nobody = est.estimate(ctx(3, 0))
    assert nobody.seconds == math.inf and not nobody.known


def test_erlang_a_formula_by_hand() -> None:
    est = ErlangAEstimator(mean_handle=100.0, mean_patience=50.0)
    # s*mu = 0.02, theta = 0.02: 1/0.02 + 1/0.04 + 1/0.06 = 50 + 25 + 16.667.
    assert est.estimate(ctx(2, 2)).seconds == pytest.approx(50 + 25 + 50 / 3)
    # Without patience it would be the queue-length value: abandonment shortens it.
    assert est.estimate(ctx(2, 2)).seconds < QueueLengthEstimator(100.0).estimate(ctx(2, 2)).seconds


def test_history_estimators() -> None:
    hol, les, ast = HeadOfLineEstimator(), LastToEnterServiceEstimator(), AsteriskEstimator()
    assert hol.estimate(ctx(2, 1, head_wait=42.0)).seconds == 42.0
    les.on_started("q", 10.0, 30.0, 1)
    les.on_started("q", 11.0, 12.0, 2)
    assert les.estimate(ctx(0, 1)).seconds == 12.0
    hol.on_started("q", 11.0, 12.0, 2)
    assert hol.estimate(ctx(0, 1)).seconds == 12.0  # nobody ahead: the last start
    # Asterisk: H = (3H + h)/4 over answered calls.
    for h in (40.0, 80.0, 0.0):
        ast.on_answered("q", 0.0, h, 0, 0)
    assert ast.estimate(ctx(9, 50)).seconds == pytest.approx(((40 * 3 + 80) / 4 * 3 + 0) / 4)


def test_bad_configuration() -> None:
    with pytest.raises(ConfigError, match="mean_handle"):
        QueueLengthEstimator(0)
    with pytest.raises(ConfigError, match="mean_patience"):
        ErlangAEstimator(10, -1)
    with pytest.raises(ConfigError, match="memory"):
        LearnedEstimator(memory=-5)
    with pytest.raises(ConfigError, match="prior"):
        LearnedEstimator(prior=math.nan)
    with pytest.raises(ConfigError, match="calibrate"):
        LearnedEstimator(calibrate="no")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="named 'learned'"):
        Distributor([QueueConfig("q")], estimators=[LearnedEstimator(), LearnedEstimator()])
    with pytest.raises(ConfigError, match="not a WaitEstimator"):
        Distributor([QueueConfig("q")], estimators=["learned"])  # type: ignore[list-item]


def test_learned_converges_on_known_rates() -> None:
    """A seeded stream: 10 staffed agents, calls always waiting, service
    starts at 10 * mu, abandonments at n * theta: the learned rates approach
    mu and theta."""
    rng = random.Random(7)
    mu, theta, s, n = 1 / 200, 1 / 400, 10, 6
    est = LearnedEstimator(memory=20_000.0)
    t = 0.0
    est.on_sample("q", t, n, s)
    seq = 0
    while t < 200_000:
        rate = s * mu + n * theta
        t += rng.expovariate(rate)
        seq += 1
        if rng.random() < s * mu / rate:
            est.on_started("q", t, 5.0, seq)
            est.on_answered("q", t, 5.0, seq, 0)
        else:
            est.on_abandoned("q", t, 5.0, seq)
        est.on_sample("q", t, n, s)
    nu, th = est.rates("q", t)
    assert nu == pytest.approx(mu, rel=0.05)
    assert th == pytest.approx(theta, rel=0.08)


def test_learned_calibrates_a_constant_bias() -> None:
    """Calls whose agents are shared with another queue always wait twice
    the raw model: the factor moves towards 2, shrunk by the prior while few
    calls back it. A queue with one class and its own agents is not
    calibrated (it would only add noise)."""
    est = LearnedEstimator(prior=100.0)
    est.on_sample("q", 0.0, 1, 1)
    c = ctx(0, 1, now=0.0, shared=True)
    raw = est.estimate(c).seconds
    for i in range(300):
        est.on_entered(c, i)
        est.on_started("q", 0.0, 0.0, i)
        est.on_answered("q", 0.0, 2 * raw, i, 0)
    f = est.calibration("q", 0)
    assert f == pytest.approx(1 + 1 * 300 / 400, rel=1e-6)  # no noise: only the prior shrinks
    assert est.estimate(c).seconds == pytest.approx(raw * f)
    assert est.estimate(ctx(0, 1, now=0.0)).seconds == pytest.approx(raw)  # not shared
    assert est.calibration("q", 5) == 1.0  # another class is untouched


def test_calibration_ignores_noise_around_one() -> None:
    """Waits scattered around the raw estimate (ratio 1 within the noise)
    leave the factor at 1."""
    rng = random.Random(5)
    est = LearnedEstimator(prior=0.0)
    c = ctx(0, 1, now=0.0, shared=True)
    raw = est.estimate(c).seconds
    for i in range(400):
        est.on_entered(c, i)
        est.on_answered("q", 0.0, rng.expovariate(1 / raw), i, 0)
    assert est.calibration("q", 0) == pytest.approx(1.0, abs=0.02)


def mm_scenario(servers: int, load: float, hours: float) -> Scenario:
    aht = 180.0
    rate = load * servers / aht
    return Scenario(
        name="mm",
        queues=[QueueConfig("q")],
        agents=[AgentGroup("a", count=servers, queues=["q"])],
        traffic=Traffic(rates=[rate * 1800], interval=1800, handle=Exponential(aht)),
        warmup=1800,
        duration=hours * 3600,
        drain=1800,
    )


def test_learned_matches_queue_length_in_mm_s() -> None:
    """In a simulated M/M/20 the learned estimator finds mu and is about as
    accurate as the exact queue-length formula (statistical, seeded)."""
    learned = LearnedEstimator()
    rep = run_replication(
        mm_scenario(20, 0.9, 8),
        random.Random(3),
        estimators=[learned, QueueLengthEstimator(180.0), AsteriskEstimator()],
    )
    assert learned.rates("q")[0] == pytest.approx(1 / 180, rel=0.15)
    recs = [r for r in rep.wait_records if r.answered]
    assert len(recs) > 300
    mean = sum(r.waited for r in recs) / len(recs)

    def rase(name: str) -> float:
        return sum((r.estimates[name] - r.waited) ** 2 for r in recs) / len(recs) / mean**2

    assert rase("learned") < 1.5 * rase("queue-length")
    assert rase("learned") < rase("asterisk")


def test_distributor_context_counts_ahead_and_servers() -> None:
    acd = Distributor([QueueConfig("q")], estimators=[QueueLengthEstimator(60.0)])
    for aid in ("a", "b", "c"):
        acd.handle(AgentLoggedIn(now=0, profile=AgentProfile(aid, queues=["q"])))
    for i, aid in enumerate(("a", "b", "c")):
        acd.handle(CallArrived(now=1, call_id=f"busy{i}", queue="q"))
        acd.handle(OfferAnswered(now=1, call_id=f"busy{i}", agent_id=aid))
    for i in range(4):
        acd.handle(CallArrived(now=2, call_id=f"c{i}", queue="q"))
    # c2 has two ahead, three agents: 3 / (3/60) = 60 s.
    assert acd.estimate("c2").seconds == pytest.approx(60.0)
    # A paused agent does not count.
    acd.handle(AgentPaused(now=3, agent_id="c"))
    assert acd.estimate("c2").seconds == pytest.approx(90.0)
    # A call not yet arrived would be fifth: 5 / (2/60) = 150 s; nothing changes.
    before = acd.snapshot()
    assert acd.estimate_new("q").seconds == pytest.approx(150.0)
    assert acd.snapshot() == before


def test_new_call_estimate_follows_the_queue_policy() -> None:
    q = QueueConfig("q", policy=PriorityClasses())
    acd = Distributor([q], estimators=[QueueLengthEstimator(60.0)])
    acd.handle(AgentLoggedIn(now=0, profile=AgentProfile("a", queues=["q"])))
    acd.handle(CallArrived(now=0, call_id="busy", queue="q"))
    acd.handle(OfferAnswered(now=0, call_id="busy", agent_id="a"))
    for i in range(3):
        acd.handle(CallArrived(now=1, call_id=f"low{i}", queue="q"))
    assert acd.estimate_new("q", priority=0).ahead == 3
    assert acd.estimate_new("q", priority=9).ahead == 0  # served before every low call


def test_competing_skips_calls_no_agent_of_this_call_could_take() -> None:
    acd = Distributor([QueueConfig("q")], estimators=[LearnedEstimator()])
    acd.handle(
        AgentLoggedIn(now=0, profile=AgentProfile("en", skills={"english": 5}, queues=["q"]))
    )
    acd.handle(CallArrived(now=0, call_id="busy", queue="q", requirement={"english": 1}))
    acd.handle(OfferAnswered(now=0, call_id="busy", agent_id="en"))
    for i in range(3):
        acd.handle(CallArrived(now=1, call_id=f"fr{i}", queue="q", requirement={"french": 1}))
    acd.handle(CallArrived(now=2, call_id="en1", queue="q", requirement={"english": 1}))
    e = acd.estimate("en1")
    assert e.ahead == 0 and e.servers == 1  # the French calls need other agents


def test_learning_hooks_through_the_distributor() -> None:
    les, ast = LastToEnterServiceEstimator(), AsteriskEstimator()
    acd = Distributor([QueueConfig("q")], estimators=[les, ast])
    acd.handle(CallArrived(now=0, call_id="c1", queue="q"))
    acd.handle(CallArrived(now=1, call_id="c2", queue="q"))
    acd.handle(CallAbandoned(now=2, call_id="c2"))
    acd.handle(AgentLoggedIn(now=10, profile=AgentProfile("a", queues=["q"])))
    acd.handle(OfferAnswered(now=12, call_id="c1", agent_id="a"))
    acd.handle(CallEnded(now=20, call_id="c1"))
    acd.handle(CallArrived(now=21, call_id="c3", queue="q"))
    acd.handle(CallArrived(now=21, call_id="c4", queue="q"))
    assert acd.estimate("c4", "last-to-enter-service").seconds == 10.0  # c1 waited 10 s
    assert acd.estimate("c4", ast).seconds == 12.0  # answered after 12 s
    assert acd.estimators == (les, ast)


def test_estimate_bad_input_changes_nothing() -> None:
    acd = Distributor([QueueConfig("q")], estimators=[LearnedEstimator()])
    acd.handle(AgentLoggedIn(now=0, profile=AgentProfile("a", queues=["q"])))
    acd.handle(CallArrived(now=1, call_id="c1", queue="q"))
    acd.handle(OfferAnswered(now=2, call_id="c1", agent_id="a"))
    acd.handle(CallArrived(now=3, call_id="c2", queue="q"))
    before = acd.snapshot()
    with pytest.raises(UnknownCall, match="nope"):
        acd.estimate("nope")
    with pytest.raises(InvalidCallState, match="connected"):
        acd.estimate("c1")
    with pytest.raises(InvalidValue, match="no estimator named 'x'"):
        acd.estimate("c2", "x")
    with pytest.raises(UnknownQueue):
        acd.estimate_new("nowhere")
    with pytest.raises(InvalidValue, match="priority"):
        acd.estimate_new("q", priority=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="attributes must be a mapping"):
        acd.estimate_new("q", attributes=[("tier", "gold")])  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="attribute name 1"):
        acd.estimate_new("q", attributes={1: "x"})  # type: ignore[dict-item]
    with pytest.raises(InvalidValue, match="emergency"):
        acd.estimate_new("q", emergency="yes")  # type: ignore[arg-type]
    assert acd.snapshot() == before
    plain = Distributor([QueueConfig("q")])
    plain.handle(CallArrived(now=1, call_id="c", queue="q"))
    with pytest.raises(InvalidValue, match="no estimator"):
        plain.estimate("c")
    assert plain.estimators == ()


@pytest.mark.parametrize(
    ("seconds", "rounded", "phrase"),
    [
        (3.0, 0.0, "less than a minute"),
        (44.0, 45.0, "about 45 seconds"),
        (10.0, 15.0, "about 15 seconds"),
        (58.0, 60.0, "about 1 minute"),
        (100.0, 105.0, "about 105 seconds"),
        (130.0, 120.0, "about 2 minutes"),
        (1000.0, 1020.0, "about 17 minutes"),
        (4000.0, 3900.0, "about 65 minutes"),
        (math.inf, math.inf, "unknown"),
    ],
)
def test_spoken_wait(seconds: float, rounded: float, phrase: str) -> None:
    assert spoken_wait(seconds) == (rounded, phrase)


def test_new_call_with_a_free_agent_waits_nothing() -> None:
    acd = Distributor([QueueConfig("q")], estimators=[QueueLengthEstimator(60.0)])
    acd.handle(AgentLoggedIn(now=0, profile=AgentProfile("a", queues=["q"])))
    assert acd.estimate_new("q").seconds == 0.0


def test_one_early_hang_up_does_not_set_the_abandonment_rate() -> None:
    est = LearnedEstimator()
    est.on_sample("q", 0.0, 1, 1)
    est.on_abandoned("q", 2.0, 2.0, 1)
    est.on_sample("q", 2.0, 0, 1)
    _nu, theta = est.rates("q", 2.0)
    assert theta < 1 / 3000  # not 1 / 2 s
    assert est.estimate(ctx(10, 1, now=2.0)).seconds > 1000


@pytest.mark.parametrize("value", [10**400, float("nan"), float("inf"), True, None, "90"])
def test_spoken_wait_of_a_value_that_is_no_wait_is_unknown(value: object) -> None:
    assert spoken_wait(value) == (math.inf, "unknown")  # type: ignore[arg-type]
