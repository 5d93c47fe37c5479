"""Erlang B, C and A against published and hand-worked figures; solvers, shrinkage,
interval plans, monotonicity properties and bad input."""

from __future__ import annotations

import math
import time

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from acdcore.errors import AcdError, ConfigError, InvalidValue
from acdcore.staffing import (
    ErlangAResult,
    IntervalStaffing,
    ServiceLevelBasis,
    StaffingTarget,
    erlang_a,
    erlang_b,
    erlang_c,
    required_agents,
    scheduled_agents,
    staff_intervals,
)

# The reference scenario: 100 calls per half hour, 3-minute handle time.
RATE = 100 / 1800  # calls per second
AHT = 180.0  # seconds, so the offered load is 10 erlangs


# ----------------------------------------------------------------- published figures


def test_erlang_c_reference_figures() -> None:
    result = erlang_c(RATE, AHT, 14, answer_within=20.0)
    assert result.load == pytest.approx(10.0)
    assert result.stable
    assert result.wait_probability == pytest.approx(0.17413, abs=5e-6)
    assert result.service_level == pytest.approx(0.88835, abs=5e-6)
    assert result.occupancy == pytest.approx(10 / 14)
    # ASA = C / (N*mu - lambda) = 0.17413 * 180 / 4 seconds.
    assert result.asa == pytest.approx(result.wait_probability * AHT / 4)


def test_fourteen_agents_is_the_minimum_for_80_20() -> None:
    need = required_agents(RATE, AHT, StaffingTarget(service_level=0.8, answer_within=20.0))
    assert need.agents == 14
    assert need.scheduled == 14
    assert need.service_level == pytest.approx(0.88835, abs=5e-6)
    assert erlang_c(RATE, AHT, 13).service_level < 0.8


def test_erlang_a_reference_figures() -> None:
    result = erlang_a(RATE, AHT, 13, patience=300.0)
    assert result.wait_probability == pytest.approx(0.2258, abs=5e-5)
    assert result.abandon_probability == pytest.approx(0.02496, abs=5e-6)
    assert result.asa / 60 == pytest.approx(0.1248, abs=5e-5)  # minutes, as published
    assert result.occupancy == pytest.approx(0.750, abs=5e-4)


# ----------------------------------------------------------------- hand-worked values


def test_erlang_b_against_hand_worked_values() -> None:
    # B(N, A) = (A^N / N!) / sum_{k=0..N} A^k / k!
    # A = 2, N = 2: (4/2) / (1 + 2 + 2) = 2/5.
    assert erlang_b(2.0, 2) == pytest.approx(0.4, rel=1e-15)
    # A = 1, N = 3: (1/6) / (1 + 1 + 1/2 + 1/6) = (1/6) / (8/3) = 1/16.
    assert erlang_b(1.0, 3) == pytest.approx(1 / 16, rel=1e-15)
    # A = 10, N = 14: the Erlang B table gives 0.0568.
    assert erlang_b(10.0, 14) == pytest.approx(0.0568, abs=5e-5)
    assert erlang_b(5.0, 0) == 1.0  # no servers: everything is blocked
    assert erlang_b(0.0, 3) == 0.0


def test_erlang_c_against_a_hand_worked_value() -> None:
    # A = 1 erlang (1 call/s, AHT 1 s), N = 2: B = 1/5, C = 2B / (2 - 1 + B) = 1/3;
    # a delayed call waits Exp(N*mu - lambda = 1/s), so SL(T) = 1 - e^-T / 3, ASA = 1/3 s.
    result = erlang_c(1.0, 1.0, 2, answer_within=2.0)
    assert result.wait_probability == pytest.approx(1 / 3, rel=1e-14)
    assert result.service_level == pytest.approx(1 - math.exp(-2.0) / 3, rel=1e-14)
    assert result.asa == pytest.approx(1 / 3, rel=1e-14)


def test_erlang_c_unstable_load_gives_its_limit_values() -> None:
    for agents in (5, 10):  # A = 10: below and exactly at the load
        result = erlang_c(RATE, AHT, agents)
        assert not result.stable
        assert result.wait_probability == 1.0
        assert result.service_level == 0.0
        assert result.asa == math.inf
        assert result.occupancy == 1.0


def _uniformised_answered_within(rates: list[float], final: float, tail: float, t: float) -> float:
    """P(a caller passing through stages with exit ``rates`` is answered by t).

    From each stage the caller moves on with its "advance" rate or hangs up with
    ``tail``; ``final`` is the answer rate in the last stage. Uniformisation:
    a Poisson(Lambda*t) number of jumps of a discrete chain. An oracle that does
    not share the negative-binomial route the module takes.
    """
    uniform = max(rates) + 1.0
    # Distribution over stages (index 0 = first stage), plus the answered mass.
    stages = [1.0] + [0.0] * (len(rates) - 1)
    answered = 0.0
    weight = math.exp(-uniform * t)
    total = 0.0
    jumps = 0
    while True:
        total += weight * answered
        if jumps > uniform * t + 60:
            return total
        moved = [0.0] * len(stages)
        for i, mass in enumerate(stages):
            exit_rate = rates[i]
            moved[i] += mass * (1 - exit_rate / uniform)
            advance = final if i == len(stages) - 1 else exit_rate - tail
            if i == len(stages) - 1:
                answered += mass * advance / uniform
            else:
                moved[i + 1] += mass * advance / uniform
        stages = moved
        jumps += 1
        weight *= uniform * t / jumps


def test_erlang_a_service_level_against_an_independent_oracle() -> None:
    # Small system, queue states summed by brute force, waits by uniformisation.
    rate, aht, agents, patience, target = 0.025, 100.0, 3, 60.0, 15.0
    mu, theta = 1 / aht, 1 / patience
    weights = [1.0]
    for n in range(1, agents + 60):
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        weights.append(weights[-1] * rate / death)
    norm = sum(weights)
    pi = [w / norm for w in weights]
    expected = sum(pi[:agents])
    full = agents * mu
    for k in range(0, 60):
        # Caller finds k waiting: stages k..0; stage i exits at full + (i+1)*theta.
        rates = [full + (i + 1) * theta for i in range(k, -1, -1)]
        expected += pi[agents + k] * _uniformised_answered_within(rates, full, theta, target)
    result = erlang_a(rate, aht, agents, patience, answer_within=target)
    assert result.service_level == pytest.approx(expected, rel=1e-10)
    assert result.wait_probability == pytest.approx(sum(pi[agents:]), rel=1e-12)


def test_erlang_a_service_level_limits_in_the_target_time() -> None:
    instant = erlang_a(RATE, AHT, 12, 300.0, answer_within=0.0)
    assert instant.service_level == pytest.approx(1 - instant.wait_probability, rel=1e-12)
    forever = erlang_a(RATE, AHT, 12, 300.0, answer_within=1e6)
    assert forever.service_level == pytest.approx(1 - forever.abandon_probability, rel=1e-12)
    assert forever.service_level_answered == pytest.approx(1.0, rel=1e-12)


def test_erlang_a_asa_obeys_the_abandonment_identity() -> None:
    # With exponential patience, P(abandon) = theta * E[wait of all callers].
    result = erlang_a(RATE, AHT, 11, 240.0)
    assert result.abandon_probability == pytest.approx(result.asa / 240.0, rel=1e-12)
    assert result.service_level_answered == pytest.approx(
        result.service_level / (1 - result.abandon_probability), rel=1e-9
    )


# ----------------------------------------------------------------- limits and scale


def test_erlang_a_converges_to_erlang_c_as_patience_grows() -> None:
    c = erlang_c(RATE, AHT, 14)
    gaps = []
    for patience in (1e3, 1e5, 1e7, 1e9):
        a = erlang_a(RATE, AHT, 14, patience)
        gaps.append(abs(a.service_level - c.service_level))
    assert gaps == sorted(gaps, reverse=True)
    a = erlang_a(RATE, AHT, 14, 1e9)
    assert a.wait_probability == pytest.approx(c.wait_probability, rel=1e-6)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-6)
    assert a.asa == pytest.approx(c.asa, rel=1e-6)
    assert a.abandon_probability < 1e-7


@pytest.mark.parametrize(("agents", "load"), [(10_000, 10_000.0), (20_000, 21_000.0)])
def test_erlang_a_with_tens_of_thousands_of_agents(agents: int, load: float) -> None:
    started = time.perf_counter()
    result = erlang_a(load / AHT, AHT, agents, 300.0)
    elapsed = time.perf_counter() - started
    # A hang guard against an O(N^2) slip or a runaway tail, not a benchmark:
    # this takes a few milliseconds.
    assert elapsed < 2.0
    for name in ("wait_probability", "abandon_probability", "service_level", "occupancy"):
        value = getattr(result, name)
        assert 0.0 <= value <= 1.0, name
    assert math.isfinite(result.asa) and math.isfinite(result.asa_answered)
    if load > agents:
        # Overloaded: every agent busy, and the excess abandons (the fluid limit).
        assert result.wait_probability == pytest.approx(1.0)
        assert result.abandon_probability == pytest.approx(1 - agents / load, rel=1e-9)
        assert result.occupancy == pytest.approx(1.0)


def test_required_agents_for_a_large_load_is_quick() -> None:
    started = time.perf_counter()
    c = required_agents(20_000 / AHT, AHT, StaffingTarget(0.8, 20.0))
    a = required_agents(20_000 / AHT, AHT, StaffingTarget(0.8, 20.0), patience=300.0)
    assert time.perf_counter() - started < 3.0  # hang guard, as above
    assert c.agents > 20_000
    assert a.agents < c.agents  # abandonment relieves the queue


def test_an_overloaded_queue_with_patience_of_years_is_refused() -> None:
    with pytest.raises(InvalidValue, match="patience"):
        erlang_a(2.0, 60.0, 60, patience=1e9)


def test_no_calls() -> None:
    a = erlang_a(0.0, AHT, 3, 60.0)
    assert (a.wait_probability, a.abandon_probability, a.service_level, a.asa) == (0, 0, 1, 0)
    assert erlang_c(0.0, AHT, 3).service_level == 1.0
    need = required_agents(0.0, AHT, StaffingTarget(0.8, 20.0), patience=60.0, shrinkage=0.3)
    assert (need.agents, need.scheduled) == (0, 0)


# ----------------------------------------------------------------- properties

rates = st.floats(min_value=1e-4, max_value=0.5)
hts = st.floats(min_value=5.0, max_value=600.0)
patiences = st.floats(min_value=5.0, max_value=3000.0)
targets_t = st.floats(min_value=0.0, max_value=120.0)
servers = st.integers(min_value=1, max_value=150)


@given(load=st.floats(min_value=0.0, max_value=300.0), n=st.integers(min_value=0, max_value=400))
def test_erlang_b_decreases_with_servers(load: float, n: int) -> None:
    assert erlang_b(load, n + 1) <= erlang_b(load, n)


@given(rate=rates, aht=hts, n=servers, t=targets_t)
def test_erlang_c_improves_with_agents(rate: float, aht: float, n: int, t: float) -> None:
    fewer = erlang_c(rate, aht, n, answer_within=t)
    more = erlang_c(rate, aht, n + 1, answer_within=t)
    assert more.service_level >= fewer.service_level
    assert more.wait_probability <= fewer.wait_probability
    assert more.asa <= fewer.asa


@given(rate=rates, aht=hts, n=servers, patience=patiences, t=targets_t)
def test_erlang_a_improves_with_agents(
    rate: float, aht: float, n: int, patience: float, t: float
) -> None:
    fewer = erlang_a(rate, aht, n, patience, answer_within=t)
    more = erlang_a(rate, aht, n + 1, patience, answer_within=t)
    slack = 1e-12
    assert more.service_level >= fewer.service_level - slack
    assert more.service_level_answered >= fewer.service_level_answered - slack
    assert more.wait_probability <= fewer.wait_probability + slack
    assert more.abandon_probability <= fewer.abandon_probability + slack
    assert more.asa <= fewer.asa * (1 + slack) + slack
    assert more.occupancy <= fewer.occupancy + 1e-9
    for value in (more.service_level, more.abandon_probability, more.occupancy):
        assert 0.0 <= value <= 1.0


def _meets(
    rate: float, aht: float, agents: int, target: StaffingTarget, patience: float | None
) -> bool:
    if patience is None:
        c = erlang_c(rate, aht, agents, answer_within=target.answer_within)
        return c.stable and target.is_met(c.service_level, c.asa, c.occupancy)
    a = erlang_a(rate, aht, agents, patience, answer_within=target.answer_within)
    if target.basis is ServiceLevelBasis.ANSWERED:
        return target.is_met(a.service_level_answered, a.asa_answered, a.occupancy)
    return target.is_met(a.service_level, a.asa, a.occupancy)


staffing_targets = (
    st.tuples(
        st.sampled_from([None, 0.5, 0.8, 0.9, 0.99]),
        targets_t,
        st.sampled_from([None, 5.0, 30.0, 120.0]),
        st.sampled_from([None, 0.7, 0.85, 1.0]),
        st.sampled_from(list(ServiceLevelBasis)),
    )
    .filter(lambda goals: goals[0] is not None or goals[2] is not None)
    .map(lambda goals: StaffingTarget(*goals))
)


@given(
    rate=rates,
    aht=hts,
    target=staffing_targets,
    patience=st.none() | patiences,
)
def test_solver_answer_is_minimal(
    rate: float, aht: float, target: StaffingTarget, patience: float | None
) -> None:
    need = required_agents(rate, aht, target, patience=patience)
    assert _meets(rate, aht, need.agents, target, patience)
    if need.agents > 1:
        assert not _meets(rate, aht, need.agents - 1, target, patience)


# ----------------------------------------------------------------- solver details


def test_occupancy_cap_can_bind() -> None:
    # 10 erlangs: 80/20 needs 14 (occupancy 0.714); a 0.70 cap needs 15 (0.667).
    loose = required_agents(RATE, AHT, StaffingTarget(0.8, 20.0, max_occupancy=0.85))
    tight = required_agents(RATE, AHT, StaffingTarget(0.8, 20.0, max_occupancy=0.70))
    assert (loose.agents, tight.agents) == (14, 15)
    only_cap = required_agents(RATE, AHT, StaffingTarget(None, max_occupancy=0.85))
    assert only_cap.agents == 12  # ceil(10 / 0.85)


def test_asa_target() -> None:
    need = required_agents(RATE, AHT, StaffingTarget(None, max_asa=10.0))
    assert need.asa <= 10.0 < erlang_c(RATE, AHT, need.agents - 1).asa


def test_erlang_a_needs_fewer_agents_and_the_basis_matters() -> None:
    offered = StaffingTarget(0.9, 20.0)
    answered = StaffingTarget(0.9, 20.0, basis="answered")
    assert answered.basis is ServiceLevelBasis.ANSWERED
    c = required_agents(RATE, AHT, offered)
    a_offered = required_agents(RATE, AHT, offered, patience=60.0)
    a_answered = required_agents(RATE, AHT, answered, patience=60.0)
    assert a_answered.agents <= a_offered.agents <= c.agents
    assert a_offered.abandon_probability > 0


@pytest.mark.parametrize(
    ("required", "shrinkage", "scheduled"),
    [
        (14, 0.0, 14),
        (14, 0.3, 20),  # 14 / 0.7 is 20.000000000000004 in floating point
        (9, 0.1, 10),  # 9 / 0.9 is 10.000000000000002
        (14, 0.35, 22),  # 21.54 rounds up
        (10, 0.5, 20),
        (1, 0.01, 2),
        (0, 0.5, 0),
    ],
)
def test_shrinkage_rounds_up(required: int, shrinkage: float, scheduled: int) -> None:
    assert scheduled_agents(required, shrinkage) == scheduled


def test_shrinkage_in_the_solver() -> None:
    need = required_agents(RATE, AHT, StaffingTarget(0.8, 20.0), shrinkage=0.3)
    assert (need.agents, need.scheduled) == (14, 20)


def test_interval_plan() -> None:
    plan = staff_intervals(
        [0, 100, 50, 100, 250.5], 1800.0, AHT, StaffingTarget(0.8, 20.0), shrinkage=0.3
    )
    assert all(isinstance(row, IntervalStaffing) for row in plan)
    assert [row.index for row in plan] == [0, 1, 2, 3, 4]
    assert [row.calls for row in plan] == [0, 100, 50, 100, 250.5]
    assert plan[0].agents == 0 and plan[0].service_level == 1.0
    assert (plan[1].agents, plan[1].scheduled) == (14, 20)
    assert attrs.evolve(plan[3], index=1) == plan[1]
    assert plan[2].agents < plan[1].agents < plan[4].agents
    for row in plan[1:]:
        assert row.load == pytest.approx(row.calls * AHT / 1800.0)
        assert row.service_level >= 0.8
        assert row.occupancy == pytest.approx(row.load / row.agents)


def test_interval_plan_with_abandonment() -> None:
    plan = staff_intervals([100, 200], 1800.0, AHT, StaffingTarget(0.8, 20.0), patience=300.0)
    assert (
        plan[0].agents
        == required_agents(RATE, AHT, StaffingTarget(0.8, 20.0), patience=300.0).agents
    )
    assert all(row.abandon_probability > 0 for row in plan)


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: erlang_b(-1.0, 3), "load"),
        (lambda: erlang_b(math.nan, 3), "load"),
        (lambda: erlang_b(1.0, -1), "servers"),
        (lambda: erlang_c(math.nan, AHT, 3), "arrival_rate"),
        (lambda: erlang_c(-0.1, AHT, 3), "arrival_rate"),
        (lambda: erlang_c(math.inf, AHT, 3), "arrival_rate"),
        (lambda: erlang_c(RATE, 0.0, 3), "aht"),
        (lambda: erlang_c(RATE, -5.0, 3), "aht"),
        (lambda: erlang_c(RATE, AHT, 0), "agents"),
        (lambda: erlang_c(RATE, AHT, 2.5), "agents"),  # type: ignore[arg-type]
        (lambda: erlang_c(RATE, AHT, True), "agents"),
        (lambda: erlang_c(RATE, AHT, 3, answer_within=-1.0), "answer_within"),
        (lambda: erlang_c("1", AHT, 3), "arrival_rate"),  # type: ignore[arg-type]
        (lambda: erlang_a(RATE, AHT, 3, 0.0), "patience"),
        (lambda: erlang_a(RATE, AHT, 3, math.inf), "patience"),
        (lambda: erlang_a(RATE, AHT, 3, math.nan), "patience"),
        (lambda: scheduled_agents(10, 1.0), "shrinkage"),
        (lambda: scheduled_agents(10, -0.1), "shrinkage"),
        (lambda: scheduled_agents(-1, 0.1), "required"),
        (lambda: required_agents(RATE, AHT, StaffingTarget(), shrinkage=math.nan), "shrinkage"),
        (lambda: staff_intervals([10, math.nan], 1800.0, AHT, StaffingTarget()), "calls[1]"),
        (lambda: staff_intervals([10, -1], 1800.0, AHT, StaffingTarget()), "calls[1]"),
        (lambda: staff_intervals([10], 0.0, AHT, StaffingTarget()), "interval"),
    ],
)
def test_bad_numbers_raise_invalid_value(call: object, name: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        call()  # type: ignore[operator]
    assert name in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, AcdError)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"service_level": 1.0}, "service_level"),
        ({"service_level": 0.0}, "service_level"),
        ({"service_level": math.nan}, "service_level"),
        ({"answer_within": -1.0}, "answer_within"),
        ({"max_asa": 0.0}, "max_asa"),
        ({"max_occupancy": 0.0}, "max_occupancy"),
        ({"max_occupancy": 1.2}, "max_occupancy"),
        ({"basis": "abandoned"}, "basis"),
        ({"service_level": None}, "at least one"),
    ],
)
def test_bad_targets_raise_config_error(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError, match=name.replace("[", r"\[")):
        StaffingTarget(**kwargs)  # type: ignore[arg-type]


def test_target_must_be_a_staffing_target() -> None:
    with pytest.raises(ConfigError, match="target"):
        required_agents(RATE, AHT, 0.8)  # type: ignore[arg-type]


def test_results_are_frozen() -> None:
    result = erlang_a(RATE, AHT, 13, 300.0)
    assert isinstance(result, ErlangAResult)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.agents = 14  # type: ignore[misc]
