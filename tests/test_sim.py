"""The simulator: determinism, agreement with Erlang C and Erlang A, scenarios
from TOML (round trip and validation errors with key paths), CSV replay,
shifts and breaks, the driver's protocol (its journal replays into a fresh
distributor), distributions and the statistics helpers.

Statistical checks compare a simulated 95 % confidence interval with the exact
value from :mod:`acdcore.staffing`. They run with a fixed seed, so they are
deterministic; with other seeds each interval would contain the exact value
about 19 times in 20 (measured: 18 of seeds 0..19 for both models).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acdcore.backend
from acdcore import (
    AccumulatingPriority,
    Action,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CancelOffer,
    ConfigError,
    Distributor,
    EmergencyFirst,
    Event,
    NoAnswerPolicy,
    Offer,
    OfferAnswered,
    Overflow,
    PauseAgent,
    PriorityClasses,
    QueueConfig,
    QueueMembership,
    Reject,
    RoutingPlan,
    Strategy,
    ValueUrgencyMatrix,
    _sim_direct,
    _sim_native,
    erlang_a,
    erlang_c,
)
from acdcore.distributions import (
    Deterministic,
    Empirical,
    Exponential,
    LogNormal,
    Uniform,
    distribution_from_dict,
)
from acdcore.scenario import (
    AgentGroup,
    Break,
    CallType,
    ReplayCall,
    Scenario,
    ServiceLevel,
    SimQueue,
    Traffic,
    load_replay,
)
from acdcore.sim import (
    KPIS,
    Estimate,
    SimulationResult,
    estimate,
    main,
    run_replication,
    simulate,
    t_quantile,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "scenarios"

RATE = 100 / 1800  # the reference model: 100 calls per half hour...
AHT = 180.0  # ...3 minutes each: 10 erlangs


def mms(agents: int, patience: float | None = None, hours: int = 6) -> Scenario:
    """M/M/s (+M): Poisson arrivals at 100 per 30 min, exponential handle
    time of 180 s, FIFO, no wrap-up, instant answers, optional exponential
    patience; 30 min of warm-up."""
    return Scenario(
        queues=[QueueConfig("q")],
        agents=[AgentGroup("a", count=agents, queues=["q"])],
        traffic=Traffic(
            rates=[100] * (2 * hours),
            handle=Exponential(AHT),
            patience=None if patience is None else Exponential(patience),
        ),
        warmup=1800,
    )


# ------------------------------------------------------------- determinism


def busy_scenario(strategy: Strategy = Strategy.RANDOM) -> Scenario:
    """Everything that draws: call types, lognormal talk, patience, RONA with
    auto-pause, answer delays, breaks, a random strategy, a plan."""
    return Scenario(
        queues=[
            SimQueue(
                QueueConfig(
                    "sales",
                    strategy=strategy,
                    wrap_up=10,
                    no_answer=NoAnswerPolicy(delay=5, auto_pause_after=2),
                ),
                handle=LogNormal(200, 100),
            ),
            QueueConfig("vip", policy=PriorityClasses(), wrap_up=5),
        ],
        agents=[
            AgentGroup(
                "team",
                count=4,
                queues={"sales": None, "vip": QueueMembership(priority=1)},
                shift=("00:00", "02:00"),
                breaks=[Break("00:40", 300, "coffee")],
                stagger=200,
                rona=0.1,
                answer_delay=Uniform(1, 4),
                resume_after=Exponential(30),
            ),
            AgentGroup("late", count=1, queues=["sales"], shift=(1800, 7200)),
        ],
        traffic=Traffic(
            rates=[30, 40, 35, 20],
            call_types=[
                CallType("plain", weight=4),
                CallType("vip", weight=1, attributes={"tier": "vip"}, priority=2),
            ],
            handle=Exponential(150),
            patience=Exponential(120),
        ),
        plan={
            "rules": [{"name": "vip", "when": {"eq": ["tier", "vip"]}, "queue": "vip"}],
            "default": {"queue": "sales"},
        },
    )


def test_same_seed_gives_identical_results() -> None:
    scenario = busy_scenario()
    first = simulate(scenario, replications=2, seed=42)
    second = simulate(scenario, replications=2, seed=42)
    assert first.to_dict() == second.to_dict()
    assert first.waits() == second.waits()
    assert first.waits(abandoned=True) == second.waits(abandoned=True)
    for a, b in zip(first.replications, second.replications, strict=True):
        assert a.summary == b.summary
        assert a.calls == b.calls and a.events == b.events
    other = simulate(scenario, replications=2, seed=43)
    assert other.waits() != first.waits()


def test_one_rng_per_replication_is_the_whole_randomness() -> None:
    scenario = busy_scenario()
    a = run_replication(scenario, random.Random("x"))
    b = run_replication(scenario, random.Random("x"))
    assert a.kpis == b.kpis and a.waits == b.waits
    result = simulate(scenario, replications=1, seed="x")
    direct = run_replication(scenario, random.Random("x:0"))
    assert result.replications[0].kpis == direct.kpis


# ------------------------------------------------------- Erlang agreement


@pytest.fixture(scope="module")
def erlang_c_runs() -> dict[int, SimulationResult]:
    return {n: simulate(mms(n), replications=30, seed=0) for n in (13, 14)}


def test_mms_agrees_with_erlang_c(erlang_c_runs: dict[int, SimulationResult]) -> None:
    exact = erlang_c(RATE, AHT, 14, answer_within=20.0)
    assert exact.wait_probability == pytest.approx(0.17413, abs=1e-5)
    assert exact.service_level == pytest.approx(0.88835, abs=1e-5)
    kpis = erlang_c_runs[14].kpis
    p_wait, sl = kpis["wait_probability"], kpis["service_level"]
    assert p_wait is not None and sl is not None
    assert p_wait.n == 30 and p_wait.half_width < 0.03
    assert p_wait.contains(exact.wait_probability), p_wait
    assert sl.contains(exact.service_level), sl
    # Sensitive enough to tell 14 agents from 13:
    thirteen = erlang_c(RATE, AHT, 13, answer_within=20.0)
    assert not p_wait.contains(thirteen.wait_probability)
    assert not sl.contains(thirteen.service_level)
    assert kpis["abandon_rate"] == Estimate(0.0, 0.0, 30, 0.0, floor=0.0, ceiling=1.0)
    assert kpis["aht"] is not None and kpis["aht"].contains(AHT)


def test_the_wrong_number_of_agents_is_caught(
    erlang_c_runs: dict[int, SimulationResult],
) -> None:
    """With 13 agents the intervals exclude the 14-agent values (and contain
    the 13-agent ones): the check above would fail if the simulator lost an
    agent."""
    kpis = erlang_c_runs[13].kpis
    p_wait, sl = kpis["wait_probability"], kpis["service_level"]
    assert p_wait is not None and sl is not None
    assert not p_wait.contains(0.17413) and p_wait.low > 0.17413
    assert not sl.contains(0.88835) and sl.high < 0.88835
    exact = erlang_c(RATE, AHT, 13, answer_within=20.0)
    assert p_wait.contains(exact.wait_probability)
    assert sl.contains(exact.service_level)


def test_mms_with_abandonment_agrees_with_erlang_a() -> None:
    exact = erlang_a(RATE, AHT, 13, 300.0, answer_within=20.0)
    assert exact.abandon_probability == pytest.approx(0.02496, abs=1e-5)
    assert exact.asa / 60 == pytest.approx(0.1248, abs=1e-4)
    kpis = simulate(mms(13, patience=300.0), replications=30, seed=0).kpis
    abandon, asa = kpis["abandon_rate"], kpis["avg_wait"]
    assert abandon is not None and asa is not None
    assert abandon.contains(exact.abandon_probability), abandon
    # Erlang A's ASA is the mean wait over all arrivals, abandons included.
    assert asa.contains(exact.asa), asa
    for name, value in (
        ("wait_probability", exact.wait_probability),
        ("service_level", exact.service_level),
        ("occupancy", exact.occupancy),
    ):
        found = kpis[name]
        assert found is not None and found.contains(value), (name, found, value)
    twelve = erlang_a(RATE, AHT, 12, 300.0)
    assert not abandon.contains(twelve.abandon_probability)


# ------------------------------------------------------------- statistics


def test_t_quantiles() -> None:
    assert t_quantile(0.975, 1) == pytest.approx(12.7062047, abs=1e-6)
    assert t_quantile(0.975, 9) == pytest.approx(2.2621572, abs=1e-6)
    assert t_quantile(0.975, 29) == pytest.approx(2.0452296, abs=1e-6)
    assert t_quantile(0.995, 4) == pytest.approx(4.6040949, abs=1e-6)
    assert t_quantile(0.975, 1e6) == pytest.approx(1.959966, abs=1e-5)
    assert t_quantile(0.025, 9) == pytest.approx(-2.2621572, abs=1e-6)


def test_estimates() -> None:
    e = estimate([1.0, 2.0, None, 3.0])
    assert e is not None
    assert (e.mean, e.n, e.sd) == (2.0, 3, 1.0)
    assert e.half_width == pytest.approx(4.302653 / math.sqrt(3), abs=1e-6)
    assert e.contains(0.0) and not e.contains(4.5)
    assert estimate([None, None]) is None
    single = estimate([5.0])
    assert single is not None and single.half_width == math.inf
    assert str(e).startswith("2 +- 2.48")


# -------------------------------------------------------- TOML scenarios


def everything() -> Scenario:
    """A scenario using every feature that has a data form."""
    return Scenario(
        name="everything",
        description="all the features",
        seed="abc",
        replications=3,
        duration=3600,
        warmup=600,
        drain=900,
        start=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        service_level=ServiceLevel(threshold=30, target=0.9, variant="d", short_abandon=3),
        queues=[
            SimQueue(
                QueueConfig(
                    "a",
                    policy=EmergencyFirst(AccumulatingPriority(45)),
                    strategy=Strategy.MOST_SKILLED,
                    requirement={"x": 3},
                    ring_timeout=12,
                    wrap_up=7,
                    no_answer=NoAnswerPolicy(delay=3, auto_pause_after=None),
                    max_length=9,
                    preferred_agent_wait=10,
                ),
                handle=Empirical([100, 200, 300]),
                patience=Deterministic(math.inf),
                sl_threshold=15,
                sl_target=0.75,
            ),
            QueueConfig("b", policy=ValueUrgencyMatrix([[0, 1], [2, 3]])),
        ],
        agents=[
            AgentGroup(
                "g",
                count=3,
                skills={"x": 5, "y": 2},
                queues={"a": QueueMembership(priority=2, delay=4, position=1, weight=3), "b": None},
                region="north",
                shift=(-300, 3000),
                breaks=[Break(1200, 60, "tea")],
                stagger=30,
                rona=0.05,
                answer_delay=Uniform(1, 3),
                resume_after=Deterministic(20),
            )
        ],
        plan={
            "default": {"queue": "a"},
            "schedules": {
                "office": {
                    "timezone": "Europe/Berlin",
                    "holidays": [dt.date(2026, 12, 25), "2026-12-26"],
                    "hours": {"mon": ["08:00-18:00"], "tue": [["08:00", "12:00"]]},
                }
            },
            "queues": {"a": {"schedule": "office", "when_closed": "self-service"}},
        },
        traffic=Traffic(
            replay=[
                ReplayCall(10, queue="b", attributes={"k": 1}),
                ReplayCall(20.5, call_type="t", priority=2, handle=30, patience=math.inf),
            ],
            interval=900,
            surge=1.5,
            call_types=[
                CallType(
                    "t",
                    weight=2,
                    queue="a",
                    emergency=True,
                    requirement={"x": 1},
                    handle=LogNormal(100, 0),
                    patience=Exponential(50),
                )
            ],
            handle=Exponential(120),
            patience=Uniform(10, 20),
        ),
    )


@pytest.mark.parametrize(
    "scenario",
    [
        everything(),
        busy_scenario(),
        *[Scenario.load(p) for p in sorted(EXAMPLES.glob("*.toml"))],
    ],
    ids=lambda s: s.name,
)
def test_toml_round_trip(scenario: Scenario) -> None:
    text = scenario.to_toml()
    again = Scenario.from_toml(text)
    assert again == scenario
    assert again.to_toml() == text
    assert Scenario.from_dict(tomllib.loads(text)) == scenario


def test_to_dict_refuses_what_has_no_data_form() -> None:
    plan = RoutingPlan.from_dict({"default": {"queue": "q"}})
    scenario = Scenario(
        queues=[QueueConfig("q")],
        agents=[AgentGroup("a", queues=["q"])],
        traffic=Traffic(rates=[1]),
        plan=plan,
    )
    assert scenario.routing_plan is plan
    with pytest.raises(ConfigError, match="plan: a RoutingPlan object has no data form"):
        scenario.to_dict()


BASE = """
name = "base"
duration = 3600

[distributions]
talk = { kind = "exponential", mean = 180 }

[[queues]]
name = "support"
requirement = { english = 2 }

[[queues]]
name = "billing"

[[agents]]
name = "day"
count = 2
skills = { english = 5 }
queues = ["support", "billing"]
shift = ["00:00", "01:00"]
breaks = [{ start = "00:10", duration = 300 }]

[[agents]]
name = "night"
queues = ["billing"]

[[agents]]
name = "extra"
skills = { english = 3, billing = 4 }
queues = { billing = { priority = 2 } }

[traffic]
rates = [40, 50]
handle = "talk"

[[traffic.call_types]]
name = "a"
queue = "support"

[[traffic.call_types]]
name = "b"
queue = "billing"
"""


def base() -> dict[str, Any]:
    return tomllib.loads(BASE)


def test_base_scenario_is_valid() -> None:
    s = Scenario.from_dict(base())
    assert [g.agent_ids() for g in s.agents] == [["day-01", "day-02"], ["night-01"], ["extra-01"]]
    assert s.measured == 3600 and s.intervals == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["agents"][2]["skills"].update(billing=12),
            "agents[2].skills.billing: level 12 is outside 1..10",
        ),
        (
            lambda d: d["agents"][0]["skills"].update(english="high"),
            "agents[0].skills.english: level must be an int, got 'high'",
        ),
        (
            lambda d: d["agents"][1].update(queues=["billing", "nope"]),
            "agents[1].queues.nope: unknown queue 'nope'",
        ),
        (
            lambda d: d["agents"][2]["queues"]["billing"].update(colour=1),
            "agents[2].queues.billing.colour: unknown key",
        ),
        (lambda d: d["agents"][0].update(count=-1), "agents[0].count: must be >= 0, got -1"),
        (lambda d: d["agents"][0].update(rona=1.5), "agents[0].rona: is a probability in [0, 1]"),
        (
            lambda d: d["agents"][0].update(answer_delay="slow"),
            "agents[0].answer_delay: unknown distribution 'slow' (known: talk)",
        ),
        (
            lambda d: d["agents"][0].update(shift=["00:00", "1 pm"]),
            "agents[0].shift[1]: a time is 'HH:MM', 'HH:MM:SS' or seconds, got '1 pm'",
        ),
        (
            lambda d: d["agents"][0]["breaks"][0].update(start="00:58"),
            "agents[0].breaks[0]: the break (00:58 for 300 s, staggered over 2 agents) does not "
            "fit in the shift 00:00-01:00",
        ),
        (lambda d: d["agents"][1].update(name="day"), "agents[1].name: 'day' is used twice"),
        (
            lambda d: d["queues"][1].update(name="support"),
            "queues[1].name: 'support' is used twice",
        ),
        (
            lambda d: d["queues"][0].update(strategy="fastest"),
            "queues[0].strategy: unknown strategy 'fastest' (use one of longest-idle,",
        ),
        (
            lambda d: d["queues"][0].update(
                policy={"name": "accumulating", "seconds_per_level": -1}
            ),
            "queues[0].policy: AccumulatingPriority.seconds_per_level must be finite and >= 0",
        ),
        (lambda d: d["queues"][0].update(ring_timeout=0), "queues[0].ring_timeout: must be > 0"),
        (
            lambda d: d["queues"][0].update(requirement={"german": 3}),
            "queues[0].requirement.german: no agent has the skill 'german'",
        ),
        (
            lambda d: d["queues"][1].update(handle={"kind": "lognormal", "mean": 100}),
            "queues[1].handle.sd: missing",
        ),
        (lambda d: d["queues"][1].update(wrapup=3), "queues[1].wrapup: unknown key"),
        (
            lambda d: d["distributions"]["talk"].update(mean=-3),
            "distributions.talk.mean: must be > 0, got -3",
        ),
        (
            lambda d: d["distributions"].update(odd={"kind": "gamma"}),
            "distributions.odd.kind: 'gamma' is not a distribution",
        ),
        (
            lambda d: d["traffic"]["call_types"][1].update(queue="x"),
            "traffic.call_types[1].queue: unknown queue 'x'",
        ),
        (
            lambda d: d["traffic"]["call_types"][1].update(weight=0),
            "traffic.call_types[1].weight: must be > 0, got 0",
        ),
        (
            lambda d: d["traffic"].update(interval=1000),
            "traffic.interval: must divide a day (86400 s), got 1000",
        ),
        (lambda d: d["traffic"].update(rates=[10, -1]), "traffic.rates[1]: must be >= 0, got -1"),
        (
            lambda d: d["traffic"].update(replay="calls.csv"),
            "traffic.rates: give either rates (Poisson arrivals) or replay, not both",
        ),
        (
            lambda d: d.update(duration=1000),
            "duration: 1000.0 s is not a whole number of traffic intervals (1800.0 s)",
        ),
        (lambda d: d.update(colour="blue"), "colour: unknown key"),
        (lambda d: d.update(start="8 am"), "start: a time is 'HH:MM'"),
        (lambda d: d.update(replications=0), "replications: must be >= 1, got 0"),
        (
            lambda d: d.update(service_level={"variant": "e"}),
            "service_level.variant: must be one of a, b, c, d, got 'e'",
        ),
        (
            lambda d: d.update(plan={"default": {"queue": "nowhere"}}),
            "plan.default: unknown queue 'nowhere'",
        ),
        (
            lambda d: d.update(plan={"default": {"queue": "support"}, "rules": [{"name": "r"}]}),
            "plan.rules[0]: a rule needs a 'when' condition",
        ),
        (
            lambda d: d.update(plan={"default": {"queue": "support"}, "colour": 1}),
            "plan: unknown keys ['colour']",
        ),
        (
            lambda d: d.update(
                plan={"default": {"queue": "support", "requirement": {"german": 2}}}
            ),
            "plan.default.requirement: unknown skill 'german'",
        ),
    ],
)
def test_validation_errors_name_the_key_path(change: Any, message: str) -> None:
    data = base()
    change(data)
    with pytest.raises(ConfigError) as info:
        Scenario.from_dict(data)
    assert str(info.value).startswith(message), str(info.value)


def test_load_names_the_file_and_reads_files_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "talk.csv").write_text("seconds\n100\n\n300\n")
    text = BASE.replace(
        'talk = { kind = "exponential", mean = 180 }',
        'talk = { kind = "empirical", file = "talk.csv", column = "seconds" }',
    )
    path = tmp_path / "s.toml"
    path.write_text(text)
    s = Scenario.load(path)
    assert s.traffic.handle == Empirical((100.0, 300.0), str(tmp_path / "talk.csv"), "seconds")
    assert Scenario.from_toml(s.to_toml()) == s
    path.write_text(text.replace("count = 2", "count = 2.5"))
    with pytest.raises(ConfigError, match=r"s\.toml: agents\[0\]\.count: must be an int"):
        Scenario.load(path)
    path.write_text("name = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Scenario.load(path)


def test_python_objects_validate_their_own_fields() -> None:
    with pytest.raises(ConfigError, match=r"^skills\.b: level 0 is outside 1\.\.10$"):
        AgentGroup("g", skills={"b": 0}, queues=["q"])
    with pytest.raises(ConfigError, match=r"^queues: an agent group must serve at least one queue"):
        AgentGroup("g")
    with pytest.raises(ConfigError, match=r"^breaks: breaks need a shift"):
        AgentGroup("g", queues=["q"], breaks=[Break(0, 10)])
    with pytest.raises(ConfigError, match=r"^handle: must have a finite mean"):
        Traffic(rates=[1], handle=Deterministic(math.inf))
    with pytest.raises(ConfigError, match=r"^agents\[0\]\.queues\.x: unknown queue 'x'"):
        Scenario(
            queues=[QueueConfig("q")],
            agents=[AgentGroup("g", queues=["x"])],
            traffic=Traffic(rates=[1]),
        )


# -------------------------------------------------------------- replay


def test_csv_replay(tmp_path: Path) -> None:
    csv_path = tmp_path / "calls.csv"
    csv_path.write_text(
        "t,queue,type,handle,patience,segment,amount\n"
        "100,sales,,60,,gold,120\n"
        "5,,vip,30,,,\n"
        "900.5,nobody,,,7,silver,\n"
        "950,nobody,,,,,\n"
        "1000,sales,,45.5,,,2.5\n"
    )
    calls, lines = load_replay(csv_path)
    assert [c.t for c in calls] == [5.0, 100.0, 900.5, 950.0, 1000.0]
    assert lines == (3, 2, 4, 5, 6)
    assert calls[1].attributes == {"segment": "gold", "amount": 120}
    scenario = Scenario(
        queues=[QueueConfig("sales"), QueueConfig("vip"), QueueConfig("nobody")],
        agents=[AgentGroup("a", count=2, queues=["sales", "vip"])],
        traffic=Traffic(
            replay=str(csv_path),
            interval=900,
            call_types=[CallType("vip", queue="vip", attributes={"tier": "vip"})],
            patience=Deterministic(30),
        ),
    )
    assert scenario.measured == 1800  # the last call falls in the second interval
    journal: list[Any] = []
    rep = run_replication(scenario, random.Random(1), journal=journal)
    arrived = [e for e, _ in journal if isinstance(e, CallArrived)]
    assert [(e.now, e.queue) for e in arrived] == [
        (5.0, "vip"),
        (100.0, "sales"),
        (900.5, "nobody"),
        (950.0, "nobody"),
        (1000.0, "sales"),
    ]
    assert arrived[0].attributes == {"tier": "vip"}
    assert arrived[1].attributes == {"segment": "gold", "amount": 120}
    answered = {e.call_id: e.now for e, _ in journal if isinstance(e, OfferAnswered)}
    ended = {e.call_id: e.now for e, _ in journal if isinstance(e, CallEnded)}
    talk = {arrived[i].call_id: h for i, h in ((0, 30.0), (1, 60.0), (4, 45.5))}
    assert {c: ended[c] - answered[c] for c in talk} == talk
    abandoned = {e.call_id: e.now for e, _ in journal if isinstance(e, CallAbandoned)}
    assert abandoned == {arrived[2].call_id: 907.5, arrived[3].call_id: 980.0}
    assert rep.kpis["offered"] == 5
    assert rep.queue_kpis["sales"]["aht"] == pytest.approx((60 + 45.5) / 2)
    assert rep.abandoned_waits["nobody"] == [7.0, 30.0]


def test_replay_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t,queue\n1,sales\nsoon,sales\n")
    with pytest.raises(ConfigError, match=r"bad\.csv' line 3: t: 'soon' is not a number"):
        load_replay(bad)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("t,queue\n1,sales\n2,elsewhere\n")
    with pytest.raises(
        ConfigError, match=r"^traffic\.replay: .*unknown\.csv line 3: queue unknown queue"
    ):
        Scenario(
            queues=[QueueConfig("sales")],
            agents=[AgentGroup("a", queues=["sales"])],
            traffic=Traffic(replay=unknown),
        )
    with pytest.raises(ConfigError, match=r"^replay: cannot read"):
        Traffic(replay=tmp_path / "missing.csv")


# ---------------------------------------------------- shifts and breaks


def agent_timeline(journal: list[Any]) -> tuple[list[str], dict[str, list[Any]]]:
    """Check every offer against the agent's login and pause state, as told
    by the events (and auto-pauses); return the violations and the
    login/logout/pause events per agent."""
    logged_in: set[str] = set()
    paused: set[str] = set()
    problems: list[str] = []
    seen: dict[str, list[Any]] = {}
    for item, actions in journal:
        if isinstance(item, AgentLoggedIn):
            logged_in.add(item.profile.agent_id)
            paused.discard(item.profile.agent_id)
            seen.setdefault(item.profile.agent_id, []).append(("in", item.now))
        elif isinstance(item, AgentLoggedOut):
            logged_in.discard(item.agent_id)
            seen.setdefault(item.agent_id, []).append(("out", item.now))
        elif isinstance(item, AgentPaused):
            paused.add(item.agent_id)
            seen.setdefault(item.agent_id, []).append((item.reason, item.now))
        elif isinstance(item, AgentResumed):
            paused.discard(item.agent_id)
            seen.setdefault(item.agent_id, []).append(("resumed", item.now))
        for a in actions:
            if isinstance(a, PauseAgent):
                paused.add(a.agent_id)
            elif isinstance(a, Offer):
                if a.agent_id not in logged_in:
                    problems.append(f"offer to logged-out {a.agent_id} at {a.at}")
                if a.agent_id in paused:
                    problems.append(f"offer to paused {a.agent_id} at {a.at}")
    return problems, seen


def test_shifts_and_breaks_are_respected() -> None:
    scenario = Scenario(
        queues=[QueueConfig("q", wrap_up=20)],
        agents=[
            AgentGroup(
                "early",
                count=2,
                queues=["q"],
                shift=("08:00", "09:00"),
                breaks=[Break("08:20", 600, "coffee")],
                stagger=900,
            ),
            AgentGroup("late", count=2, queues=["q"], shift=("08:30", "10:00")),
        ],
        traffic=Traffic(rates=[20, 30, 30, 20], handle=Exponential(120)),
        start="08:00",
    )
    journal: list[Any] = []
    rep = run_replication(scenario, random.Random(7), journal=journal)
    problems, seen = agent_timeline(journal)
    assert problems == []
    assert seen["early-01"][:4] == [
        ("in", 0.0),
        ("coffee", 1200.0),
        ("resumed", 1800.0),
        ("out", 3600.0),
    ]
    assert seen["early-02"][:4] == [
        ("in", 0.0),
        ("coffee", 2100.0),
        ("resumed", 2700.0),
        ("out", 3600.0),
    ]
    assert seen["late-01"][:2] == [("in", 1800.0), ("out", 7200.0)]
    offers = Counter(a.agent_id for _, acts in journal for a in acts if isinstance(a, Offer))
    assert set(offers) == {"early-01", "early-02", "late-01", "late-02"}
    assert rep.kpis["occupancy"] is not None
    # Agent time: an early agent is logged in for an hour (a bit more if its last
    # call ran past the logout), with at most ten minutes paused (a call in
    # progress at the start of the break counts as busy until it ends).
    stats = rep.summary.agents["early-01"]
    assert 3600 <= stats.time_logged_in < 3600 + 1800
    assert 0 < stats.time_paused <= 600


def test_logout_during_a_call_waits_for_the_call_and_the_agent_returns_next_day() -> None:
    scenario = Scenario(
        queues=[QueueConfig("q")],
        agents=[AgentGroup("a", queues=["q"], shift=(0, 600))],
        traffic=Traffic(
            replay=[ReplayCall(590, handle=100), ReplayCall(86_400 + 5, handle=10)], interval=3600
        ),
    )
    journal: list[Any] = []
    rep = run_replication(scenario, random.Random(0), journal=journal)
    kinds = [(type(e).__name__, e.now) for e, _ in journal if isinstance(e, Event)]
    assert kinds[:5] == [
        ("AgentLoggedIn", 0.0),
        ("CallArrived", 590.0),
        ("OfferAnswered", 590.0),
        ("AgentLoggedOut", 600.0),
        ("CallEnded", 690.0),
    ]
    assert ("AgentLoggedIn", 86_400.0) in kinds
    assert rep.kpis["offered"] == 2 and rep.summary.overall.answered == 2


# ------------------------------------------------------ driver protocol


def stress_scenario() -> Scenario:
    """Ring-all, rejects, RONA with auto-pause, breaks and shift ends mid-call,
    a plan with a maximum wait, surge mode and self-service; no random
    strategy, so the distributor itself draws nothing."""
    return Scenario(
        queues=[
            QueueConfig(
                "ring",
                strategy=Strategy.RING_ALL,
                wrap_up=5,
                no_answer=NoAnswerPolicy(delay=3, auto_pause_after=2),
            ),
            QueueConfig("capped", max_length=2, strategy=Strategy.FEWEST_CALLS, ring_timeout=8),
            QueueConfig("general", strategy=Strategy.ROUND_ROBIN, wrap_up=3),
        ],
        agents=[
            AgentGroup(
                "r",
                count=3,
                queues=["ring", "general"],
                shift=(0, 2400),
                breaks=[Break(600, 300)],
                stagger=100,
                rona=0.3,
                answer_delay=Uniform(1, 20),
                resume_after=Uniform(5, 30),
            ),
            AgentGroup(
                "c",
                count=2,
                queues={"capped": None, "general": QueueMembership(2)},
                shift=(300, 3000),
                rona=0.1,
                answer_delay=Exponential(3),
            ),
        ],
        plan={
            "rules": [
                {"name": "ring", "when": {"eq": ["kind", "ring"]}, "queue": "ring"},
                {"name": "capped", "when": {"eq": ["kind", "capped"]}, "queue": "capped"},
            ],
            "default": {"queue": "general"},
            "queues": {
                "general": {
                    "max_wait": 120,
                    "surge": {
                        "enter_waiting": 4,
                        "leave_waiting": 1,
                        "simple": {"eq": ["kind", "faq"]},
                    },
                },
            },
        },
        traffic=Traffic(
            rates=[60, 90],
            call_types=[
                CallType("ring", attributes={"kind": "ring"}),
                CallType("capped", attributes={"kind": "capped"}),
                CallType("faq", attributes={"kind": "faq"}),
                CallType("other"),
            ],
            handle=LogNormal(150, 80),
            patience=Exponential(90),
        ),
        drain=1800,
    )


def test_the_journal_replays_into_a_fresh_distributor() -> None:
    scenario = stress_scenario()
    journal: list[Any] = []
    run_replication(scenario, random.Random(3), journal=journal)
    acd = Distributor(scenario.queue_configs, plan=scenario.routing_plan)
    kinds: Counter[str] = Counter()
    for step, (item, recorded) in enumerate(journal):
        if isinstance(item, Event):
            due = acd.next_deadline()
            assert due is None or due > item.now
            got: list[Action] = acd.handle(item)
            kinds[type(item).__name__] += 1
        else:
            got = acd.advance(item)
        assert got == recorded
        kinds.update(type(a).__name__ for a in got)
        if step % 25 == 0:
            acd.check()
    acd.check()
    for name in ("CallAbandoned", "AgentPaused", "AgentResumed", "AgentLoggedOut", "OfferAnswered"):
        assert kinds[name] > 0, name
    for action in (CancelOffer, PauseAgent, Reject, Overflow):
        assert kinds[action.__name__] > 0, action
    assert kinds["SelfService"] > 0 and kinds["SurgeMode"] > 0
    problems, _ = agent_timeline(journal)
    assert problems == []


def test_every_call_is_resolved_after_the_drain() -> None:
    rep = run_replication(stress_scenario(), random.Random(5))
    overall = rep.summary.overall
    assert overall.in_queue == 0
    assert overall.offered == overall.resolved > 0
    assert rep.metrics.ignored == 0 and not rep.metrics.unhandled_types - {
        "Alert",
        "SurgeMode",
        "PreferredAgentBusy",
    }


@pytest.mark.parametrize(
    "make", [busy_scenario, stress_scenario, mms], ids=["busy", "stress", "mms"]
)
def test_same_seed_gives_the_same_result_on_both_backends(
    make: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every event, action and KPI of a replication is the same whichever
    backend routes (the simulator builds its distributor with the loaded one)."""
    if backend != "python":
        pytest.skip("compares the two backends itself; once is enough")
    if not acdcore.backend.native_available():
        pytest.skip("native extension not built")
    scenario = make(11) if make is mms else make()
    runs = {}
    for name in ("python", "native"):
        monkeypatch.setattr(acdcore.backend, "BACKEND", name)
        journal: list[Any] = []
        rep = run_replication(scenario, random.Random("both"), journal=journal)
        runs[name] = (journal, rep.kpis, rep.waits, rep.abandoned_waits, rep.summary)
    python, native = runs["python"], runs["native"]
    assert len(python[0]) == len(native[0]) > 100
    for a, b in zip(python[0], native[0], strict=True):
        assert a == b
    assert python[1:] == native[1:]


def _lane_scenarios() -> list[Any]:
    return [
        *(pytest.param(p, id=p.stem) for p in sorted(EXAMPLES.glob("*.toml"))),
        pytest.param("busy", id="busy"),
        pytest.param("stress", id="stress"),
        pytest.param("mms", id="mms"),
    ]


@pytest.mark.parametrize("which", _lane_scenarios())
def test_the_direct_lane_decides_as_the_object_lane(
    which: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator's direct lane (its steps straight to the engine's
    contract, no event or action objects) against the object lane (every
    step through ``Distributor.handle`` and the public objects): on every
    example scenario, the same journal, KPIs, waits and metrics state; and
    the same again without a journal (the lane then builds no object)."""
    if backend != "native":
        pytest.skip("the direct lane runs on the C engine")
    if which == "busy":
        scenario = busy_scenario()
    elif which == "stress":
        scenario = stress_scenario()
    elif which == "mms":
        scenario = mms(11)
    else:
        scenario = Scenario.load(which)
    probe = Distributor(scenario.queue_configs, plan=scenario.routing_plan, backend="native")
    covered = probe._eng is not None
    taken = Counter[str]()
    real_take = _sim_direct._Lane.take

    def counting_take(lane: Any, recs: list[Any]) -> None:
        taken["records"] += len(recs)
        real_take(lane, recs)

    monkeypatch.setattr(_sim_direct._Lane, "take", counting_take)

    def outcome(rep: Any) -> tuple[Any, ...]:
        return (
            rep.kpis, rep.queue_kpis, rep.summary, rep.intervals, rep.interval_kpis,
            rep.interval_queue_kpis, rep.waits, rep.abandoned_waits, rep.calls, rep.events,
            rep.advances, rep.unresolved, rep.metrics.save_state(),
        )  # fmt: skip

    runs = {}
    for direct in (False, True):
        monkeypatch.setattr(_sim_direct, "ENABLED", direct)
        journal: list[Any] = []
        rep = run_replication(scenario, random.Random("lanes"), journal=journal)
        bare = run_replication(scenario, random.Random("lanes"))
        runs[direct] = (journal, outcome(rep), outcome(bare))
        if not direct:
            assert taken["records"] == 0
    assert (taken["records"] > 100) == covered, (which, covered, taken)
    objects, direct = runs[False], runs[True]
    assert len(objects[0]) == len(direct[0]) > 100
    for a, b in zip(objects[0], direct[0], strict=True):
        assert a == b
    assert objects[1] == direct[1] == objects[2] == direct[2]


@pytest.mark.parametrize("make", [busy_scenario, stress_scenario], ids=["busy", "stress"])
def test_estimators_hear_the_same_on_every_path(
    make: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replication with estimators attached (their estimates recorded per
    call, as ``ewt_accuracy`` runs them): the python backend, the native
    object lane and the native direct lane (both on the C engine, whose
    hooks the estimators hear) give the same journal, KPIs, metrics state,
    wait records (every estimate of every call) and learned state."""
    if backend != "python":
        pytest.skip("compares the backends and lanes itself; once is enough")
    if not acdcore.backend.native_available():
        pytest.skip("native extension not built")
    from acdcore.estimators import HeadOfLineEstimator, LearnedEstimator

    scenario = make()
    runs = {}
    for name, direct in (("python", False), ("native", False), ("native", True)):
        monkeypatch.setattr(acdcore.backend, "BACKEND", name)
        monkeypatch.setattr(_sim_direct, "ENABLED", direct)
        ests = [LearnedEstimator(), HeadOfLineEstimator()]
        journal: list[Any] = []
        rep = run_replication(scenario, random.Random("ests"), journal=journal, estimators=ests)
        runs[(name, direct)] = (
            journal,
            rep.kpis,
            rep.summary,
            rep.waits,
            rep.metrics.save_state(),
            rep.wait_records,
            [e.save_state() for e in ests],
        )
    python = runs[("python", False)]
    assert len(python[0]) > 100 and len(python[5]) > 50
    for key in (("native", False), ("native", True)):
        other = runs[key]
        assert len(other[0]) == len(python[0])
        for a, b in zip(python[0], other[0], strict=True):
            assert a == b, key
        assert other[1:] == python[1:], key


def test_both_lanes_word_a_refused_arrival_alike(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused arrival is a simulator bug: a SimulationError naming the
    event and the distributor's error, through either lane."""
    if backend != "native":
        pytest.skip("the direct lane runs on the C engine")
    from acdcore._engine_facade import EngineFacade
    from acdcore.errors import InvalidValue
    from acdcore.sim import SimulationError

    def refuse(self: Any, ev: Any) -> None:
        raise InvalidValue(f"call {ev.call_id!r}: refused by the test")

    monkeypatch.setattr(EngineFacade, "arrival", refuse)
    monkeypatch.setattr(_sim_native, "ENABLED", False)  # (its own test: test_sim_native)
    said = []
    for direct in (False, True):
        monkeypatch.setattr(_sim_direct, "ENABLED", direct)
        with pytest.raises(SimulationError) as info:
            run_replication(mms(3), random.Random(1))
        assert isinstance(info.value.__cause__, InvalidValue)
        said.append(str(info.value))
    assert said[0] == said[1] and "refused by the test" in said[0]


LANE_EXAMPLES = max(10, settings.default.max_examples // 20)
"""Drawn scenarios per run of the lane property (20 under CI's profile; the
soak profile scales it)."""


@st.composite
def lane_scenarios(draw: st.DrawFn) -> Scenario:
    """Small busy scenarios drawing what the engine covers: any strategy
    and policy, queue caps, wrap-up, no-answer delays and auto-pause, RONA,
    breaks, shift ends mid-call, patience, and maybe a plan with a maximum
    wait, a surge mode and self-service. Every one is valid (a break ends
    before 1,000 s, within the shortest shift, however staggered)."""
    strategies = list(Strategy)
    queues = []
    for name in ("a", "b"):
        queues.append(
            QueueConfig(
                name,
                strategy=draw(st.sampled_from(strategies)),
                policy=draw(st.sampled_from([None, PriorityClasses(), EmergencyFirst()]))
                or QueueConfig(name).policy,
                wrap_up=draw(st.sampled_from([0, 3, 20])),
                ring_timeout=draw(st.sampled_from([6, 15])),
                max_length=draw(st.sampled_from([None, 2, 5])),
                no_answer=NoAnswerPolicy(
                    delay=draw(st.sampled_from([0, 4])),
                    auto_pause_after=draw(st.sampled_from([None, 1, 2])),
                ),
            )
        )
    groups = [
        AgentGroup(
            "x",
            count=draw(st.integers(1, 4)),
            queues={"a": None, "b": QueueMembership(priority=draw(st.integers(0, 2)))},
            shift=(0, draw(st.sampled_from([1200, 2400]))),
            breaks=[Break(draw(st.integers(100, 500)), draw(st.integers(30, 300)))],
            stagger=draw(st.sampled_from([0, 60])),
            rona=draw(st.sampled_from([0.0, 0.2])),
            answer_delay=Uniform(1, draw(st.sampled_from([2, 12]))),
            resume_after=Uniform(5, 40),
        ),
        AgentGroup("y", count=draw(st.integers(0, 3)), queues=["b"], shift=(300, 2700)),
    ]
    plan: dict[str, Any] | None = None
    if draw(st.booleans()):
        general: dict[str, Any] = {"max_wait": draw(st.sampled_from([30, 120]))}
        if draw(st.booleans()):
            general["surge"] = {
                "enter_waiting": draw(st.integers(1, 4)),
                "leave_waiting": 0,
                "simple": {"eq": ["kind", "faq"]},
            }
        plan = {
            "rules": [{"name": "to-a", "when": {"eq": ["kind", "a"]}, "queue": "a"}],
            "default": {"queue": "b"},
            "queues": {"b": general},
        }
    patience = draw(st.sampled_from([None, 30.0, 200.0]))
    return Scenario(
        queues=queues,
        agents=groups,
        plan=plan,
        traffic=Traffic(
            rates=[draw(st.integers(10, 80)), draw(st.integers(10, 80))],
            call_types=[
                CallType("a", attributes={"kind": "a"}, priority=draw(st.integers(0, 2))),
                CallType("faq", attributes={"kind": "faq"}),
                CallType("other"),
            ],
            handle=LogNormal(120, 60),
            patience=None if patience is None else Exponential(patience),
        ),
        drain=600,
    )


@settings(max_examples=LANE_EXAMPLES, deadline=None)
@given(scenario=lane_scenarios(), seed=st.integers(0, 2**16))
def test_the_direct_lane_decides_as_the_object_lane_on_drawn_scenarios(
    scenario: Scenario, seed: int
) -> None:
    """Property: for any scenario the engine covers, the direct lane and
    the object lane give the same journal and the same KPIs (the backend
    fixture's python run covers the object lane alone: the lane is off)."""
    if acdcore.backend.BACKEND != "native":
        pytest.skip("the direct lane runs on the C engine")
    runs = {}
    for direct in (False, True):
        _sim_direct.ENABLED = direct
        try:
            journal: list[Any] = []
            rep = run_replication(scenario, random.Random(seed), journal=journal)
            bare = run_replication(scenario, random.Random(seed))
        finally:
            _sim_direct.ENABLED = True
        runs[direct] = (journal, rep.kpis, rep.metrics.save_state(), bare.metrics.save_state())
    assert runs[False][0] == runs[True][0]
    assert runs[False][1:] == runs[True][1:]
    assert runs[False][2] == runs[True][3]  # no journal: the lane builds no object


def test_calls_left_when_the_drain_runs_out_are_counted_and_reported() -> None:
    # Overloaded, without patience, and a drain too short to serve everyone.
    busy = busy_scenario(Strategy.LONGEST_IDLE)
    never = attrs.evolve(busy.traffic, patience=Deterministic(math.inf), surge=3.0)
    sc = attrs.evolve(busy, traffic=never, drain=60)
    result = simulate(sc, replications=2, seed=4)
    for rep in result.replications:
        assert rep.unresolved == rep.metrics.summary().overall.in_queue > 0
    assert result.unresolved == sum(r.unresolved for r in result.replications)
    assert result.to_dict()["unresolved"] == [r.unresolved for r in result.replications]
    assert f"warning: {result.unresolved} call(s) were still in the centre" in result.report()
    sound = simulate(busy_scenario(Strategy.LONGEST_IDLE), replications=1, seed=4)
    assert sound.unresolved == 0 and "warning" not in sound.report()


# ---------------------------------------------------------------- results


def test_result_series_and_wait_distribution() -> None:
    result = simulate(busy_scenario(Strategy.LONGEST_IDLE), replications=3, seed=1)
    assert set(result.kpis) == set(KPIS)
    assert [i.label for i in result.intervals] == ["00:00", "00:30", "01:00", "01:30"]
    assert [i.start for i in result.intervals] == [0, 1800, 3600, 5400]
    for interval in result.intervals:
        assert interval.kpis["offered"] is not None
    waits = result.waits()
    assert len(waits) == sum(len(w) for r in result.replications for w in r.waits.values())
    hist = result.wait_histogram(10.0)
    assert sum(c for _, c in hist) == len(waits)
    assert hist[0][0] == 0.0 and hist[1][0] == 10.0
    capped = result.wait_histogram(10.0, upper=25.0)
    assert [b for b, _ in capped] == [0.0, 10.0, 20.0, 25.0]
    assert sum(c for _, c in capped) == len(waits)
    assert capped[-1][1] == sum(1 for w in waits if w >= 25)
    vip = result.waits("vip")
    assert 0 < len(vip) < len(waits)
    assert result.values("offered") == [r.kpis["offered"] for r in result.replications]
    report = result.report()
    assert "service_level" in report and "00:30" in report and "vip" in report
    assert result.to_dict()["kpis"]["service_level"]["n"] == 3


# --------------------------------------------------------------- examples


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_example_scenarios_load_and_simulate_quickly(path: Path) -> None:
    started = time.perf_counter()
    scenario = Scenario.load(path)
    result = simulate(scenario, replications=2)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{path.name} took {elapsed:.1f} s"
    sl = result.kpis["service_level"]
    assert sl is not None and 0.3 < sl.mean <= 1.0
    for queue, kpis in result.queue_kpis.items():
        offered = kpis["offered"]
        assert offered is not None and offered.mean > 0, queue
    occupancy = result.kpis["occupancy"]
    assert occupancy is not None and 0.2 < occupancy.mean < 1.0
    assert len(result.intervals) == scenario.intervals


def test_the_examples_cover_what_their_names_promise() -> None:
    bank = Scenario.load(EXAMPLES / "bank_vip.toml")
    assert "vip" in [q.name for q in bank.queues] and bank.routing_plan is not None
    promo = Scenario.load(EXAMPLES / "promotion.toml")
    assert promo.traffic.surge == 3.0
    small = Scenario.load(EXAMPLES / "small_team.toml")
    assert len(small.agents) == 1 and len(small.agents[0].queues) == len(small.queues) == 3


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(EXAMPLES / "small_team.toml"), "-n", "1", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "small team" in out and "service_level" in out


# ----------------------------------------------------------- distributions


@pytest.mark.parametrize(
    "dist",
    [Exponential(180), LogNormal(240, 120), Uniform(2, 8), Empirical([1, 2, 3, 10])],
    ids=lambda d: d.kind,
)
def test_distributions_have_the_stated_mean(dist: Any) -> None:
    rng = random.Random(9)
    xs = [dist.sample(rng) for _ in range(20_000)]
    mean = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    assert abs(mean - dist.mean) < 4 * sd / math.sqrt(len(xs))
    assert min(xs) >= 0
    assert distribution_from_dict(dist.to_dict()) == dist
    if isinstance(dist, LogNormal):
        assert sd == pytest.approx(120, rel=0.05)


def test_distribution_draws() -> None:
    """Exponential, uniform and empirical take one random() per sample;
    deterministic takes none."""
    for dist in (Exponential(5), Uniform(0, 1), Empirical([1, 2])):
        rng, twin = random.Random(4), random.Random(4)
        dist.sample(rng)
        twin.random()
        assert rng.getstate() == twin.getstate()
    rng = random.Random(4)
    assert Deterministic(3).sample(rng) == 3 and rng.getstate() == random.Random(4).getstate()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "exponential"}, "d.mean: missing"),
        ({"kind": "exponential", "mean": 0}, "d.mean: must be > 0, got 0"),
        ({"kind": "lognormal", "mean": 1, "sd": -1}, "d.sd: must be >= 0, got -1"),
        ({"kind": "uniform", "low": 3, "high": 1}, "d.high: must not be below low (3.0), got 1"),
        ({"kind": "empirical", "values": []}, "d.values: must not be empty"),
        ({"kind": "empirical", "values": [1, -2]}, "d.values[1]: must be >= 0, got -2"),
        ({"kind": "empirical"}, "d: an empirical distribution needs exactly one of values, file"),
        ({"kind": "deterministic", "value": 1, "x": 2}, "d.x: unknown key"),
        ({"kind": "weibull"}, "d.kind: 'weibull' is not a distribution"),
        (-5, "d: must be >= 0, got -5"),
        ("fast", "d: a distribution is a table or a number, got 'fast'"),
    ],
)
def test_distribution_errors_name_the_key(spec: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        distribution_from_dict(spec, where="d")
    assert str(info.value).startswith(message), str(info.value)


def test_empirical_from_csv(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("12\n15.5\n\n20\n")
    assert Empirical.from_csv(plain).values == (12.0, 15.5, 20.0)
    table = tmp_path / "table.csv"
    table.write_text("id,talk\n1,100\n2,200\n")
    assert Empirical.from_csv(table, "talk").values == (100.0, 200.0)
    with pytest.raises(ConfigError, match="no column 'wrap'"):
        Empirical.from_csv(table, "wrap")
    table.write_text("talk\n100\nlong\n")
    with pytest.raises(ConfigError, match="line 3: 'long' is not a number"):
        Empirical.from_csv(table, "talk")


def test_agent_time_runs_to_the_end_of_the_measured_period_when_the_centre_is_idle() -> None:
    # Calls only in the first of three half hours: agents sit idle for the
    # last hour, and that idle time must still count as logged in.
    text = """
name = "idle end"
seed = 1
replications = 1
start = "09:00"
warmup = 0
[[queues]]
name = "q"
[[agents]]
name = "a"
count = 2
queues = ["q"]
shift = "09:00-10:30"
[traffic]
interval = 1800
rates = [10, 0, 0]
handle = { kind = "deterministic", value = 60 }
"""
    from acdcore import Scenario, simulate

    result = simulate(Scenario.from_toml(text), replications=1, seed=1)
    stats = result.replications[0].metrics.summary().agents
    for agent in stats.values():
        assert agent.time_logged_in == pytest.approx(5400.0)


# ------------------------------------------------- reports a manager can trust


def _every_estimate(result: SimulationResult) -> list[tuple[str, Estimate]]:
    """Every (KPI, estimate) of a result: overall, per queue, per interval
    and per interval and queue."""
    found: list[tuple[str, Estimate | None]] = list(result.kpis.items())
    for kpis in result.queue_kpis.values():
        found += kpis.items()
    for interval in result.intervals:
        found += interval.kpis.items()
        for kpis in interval.queue_kpis.values():
            found += kpis.items()
    return [(k, e) for k, e in found if e is not None]


def test_estimates_are_clipped_to_the_range_the_quantity_allows() -> None:
    from acdcore.errors import InvalidValue

    rate = estimate([0.0, 0.9], bounds=(0.0, 1.0))
    assert rate is not None and rate.has_interval
    assert rate.mean - rate.half_width < 0 and rate.low == 0.0
    assert rate.mean + rate.half_width > 1 and rate.high == 1.0
    assert rate.to_dict()["low"] == 0.0 and rate.to_dict()["high"] == 1.0
    assert rate.contains(0.0) and not rate.contains(-0.1)
    with pytest.raises(InvalidValue, match="bounds"):
        estimate([1.0], bounds=(1.0, 0.0))


def test_simulated_intervals_never_leave_what_each_kpi_can_take() -> None:
    from acdcore.sim import CALLBACK_KPIS, KPI_RANGES

    assert set(KPI_RANGES) == set(KPIS) | set(CALLBACK_KPIS)
    result = simulate(Scenario.load(EXAMPLES / "bank_vip.toml"), replications=2)
    clipped = 0
    for kpi, e in _every_estimate(result):
        floor, ceiling = KPI_RANGES[kpi]
        assert (e.floor, e.ceiling) == (floor, ceiling), kpi
        assert floor <= e.low <= e.mean <= e.high <= ceiling, (kpi, e)
        clipped += e.mean - e.half_width < floor or e.mean + e.half_width > ceiling
    assert clipped > 10  # two replications: wide intervals, many of them clipped
    asa_1300 = result.intervals[10].kpis["asa"]
    assert asa_1300 is not None and asa_1300.low >= 0.0
    for interval in result.intervals:  # a line per queue over the day, for the plot
        assert set(interval.queue_kpis) == {"vip", "retail", "cards"}
        assert "occupancy" not in interval.queue_kpis["vip"]


def test_one_replication_shows_no_interval_in_the_report_or_the_json() -> None:
    import json
    import re

    result = simulate(Scenario.load(EXAMPLES / "bank_vip.toml"), replications=1)
    for _, e in _every_estimate(result):
        assert not e.has_interval and e.n == 1
        assert e.to_dict()["low"] is None and e.to_dict()["high"] is None
    json.dumps(result.to_dict(), allow_nan=False)  # strict JSON: no inf, no NaN
    report = result.report()
    assert "inf" not in report and "nan" not in report
    assert "no confidence interval: that needs 2 or more replications" in report
    table = report[report.index("KPI ") :]
    assert "[" not in table  # every cell is the value alone
    assert re.search(r"^asa +\d+\.\d +\d+\.\d", table, re.M)
    assert str(result.kpis["asa"]).endswith("(n=1, no interval)")


def test_the_report_defines_the_service_level_with_threshold_and_target() -> None:
    bank = simulate(Scenario.load(EXAMPLES / "bank_vip.toml"), replications=2).report()
    assert (
        "service level: answered within T s over answered + abandoned calls (variant B)"
    ) in bank
    for line in ("  vip     T = 10 s, target 90%", "  retail  T = 20 s, target 80%"):
        assert line in bank.splitlines()
    assert "  cards   T = 15 s, target 80%" in bank.splitlines()
    small = simulate(Scenario.load(EXAMPLES / "small_team.toml"), replications=2)
    assert (
        "service level: answered within 30 s over answered + abandoned calls (variant B); "
        "target 80%"
    ) in small.report().splitlines()
    data = small.to_dict()["service_level"]
    assert data["variant"] == "b" and data["queues"]["sales"] == {"threshold": 30, "target": 0.8}
    for variant, words in (
        ("a", "over answered calls (abandons left out) (variant A)"),
        ("c", "answered or abandoned within 30 s over all resolved calls (variant C)"),
        ("d", "abandons within 5 s left out (variant D)"),
    ):
        other = attrs.evolve(small.scenario, service_level=ServiceLevel(30, 0.8, variant))
        assert words in attrs.evolve(small, scenario=other).report()


def test_callback_figures_are_reported_when_the_scenario_has_callbacks() -> None:
    import re

    from acdcore.sim import CALLBACK_KPIS

    text = (
        (EXAMPLES / "hotline_callbacks.toml").read_text().replace("answer = 0.85", "answer = 0.3")
    )
    result = simulate(Scenario.from_toml(text), replications=2)
    for rep in result.replications:
        overall = rep.summary.overall
        k = rep.kpis
        assert k["callbacks_accepted"] == overall.callbacks > 0
        assert k["callbacks_failed"] == overall.callback_failed > 0
        assert k["callbacks_answered"] + k["callbacks_failed"] <= k["callbacks_accepted"]
        assert k["callbacks_accepted"] <= k["callbacks_offered"]
        assert k["callback_attempts"] >= k["callbacks_answered"] + 3 * k["callbacks_failed"]
        assert k["callback_take_up"] == k["callbacks_accepted"] / k["callbacks_offered"]
        assert k["callback_wait"] is not None and k["callback_wait"] > 0
        assert rep.queue_kpis["hotline"]["callbacks_offered"] == k["callbacks_offered"]
        per_interval = sum(i["callbacks_offered"] or 0 for i in rep.interval_kpis)
        assert per_interval == k["callbacks_offered"]
    report = result.report()
    assert "callbacks, by the queue the caller asked for:" in report
    for kpi in CALLBACK_KPIS:
        assert re.search(rf"^{kpi} +\d", report, re.M), kpi
    assert set(CALLBACK_KPIS) <= set(result.to_dict()["kpis"])
    plain = simulate(Scenario.load(EXAMPLES / "small_team.toml"), replications=1)
    assert "callbacks" not in plain.report() and set(plain.kpis) == set(KPIS)
