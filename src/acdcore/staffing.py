"""Staffing: Erlang B, Erlang C and Erlang A (with abandonment), and the solvers
that turn a forecast into the number of agents to put on the phones.

Units. Every time is in **seconds** (average handle time, target answer time,
mean patience, interval length, ASA) and every rate is **per second**. Offered
load ``A = arrival_rate * aht`` is in erlangs. "Agents" are agents on the
phones; :func:`scheduled_agents` adds shrinkage (breaks, training, absence).

The models, all with Poisson arrivals at rate ``lambda``, exponential handle
times with mean ``aht = 1/mu`` and ``N`` identical agents serving one queue in
order of arrival:

- **Erlang B** (M/M/N/N): no queue; a call that finds every agent busy is lost.
- **Erlang C** (M/M/N): an unbounded queue of infinitely patient callers.
- **Erlang A** (M/M/N+M, Palm's model): waiting callers abandon after an
  exponential patience with mean ``1/theta``. Erlang A is always stable, and
  with realistic patience it is markedly more accurate than Erlang C, which
  overstates waits (and so staff) because nobody ever hangs up.

Everything is computed with recurrences and scaled or logarithmic sums, never
with factorials or powers of the load, so 10,000 or 100,000 agents neither
overflow nor lose precision. Plain Python (math and attrs), no NumPy.

The formulas (Erlang B, C and A, and the checks of their arguments) are in
``_erlang``; this module re-exports them and holds the staffing targets and
the solvers that search for the fewest agents, per interval or for one.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence

import attrs

from ._erlang import (
    ErlangAResult,
    ErlangCResult,
    _count,
    _erlang_a_values,
    _erlang_b,
    _erlang_c_from_b,
    _fraction,
    _non_negative,
    _positive,
    erlang_a,
    erlang_b,
    erlang_c,
)
from .errors import ConfigError, InvalidValue

__all__ = [
    "ErlangAResult",
    "ErlangCResult",
    "IntervalStaffing",
    "ServiceLevelBasis",
    "StaffingRequirement",
    "StaffingTarget",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "required_agents",
    "scheduled_agents",
    "staff_intervals",
]


# A staff count within this relative distance above an integer rounds down to it.
_ROUNDING_SLACK = 1e-9


# --------------------------------------------------------------------------- targets


class ServiceLevelBasis(enum.Enum):
    """Which calls a service-level and ASA target counts, when callers abandon.

    - ``OFFERED``: all arrivals. Service level is answered-within-T over all
      calls offered (an abandoned call is a miss); ASA is the mean wait of every
      call, abandoners included (:attr:`ErlangAResult.service_level`,
      :attr:`ErlangAResult.asa`).
    - ``ANSWERED``: answered calls only (:attr:`ErlangAResult.service_level_answered`,
      :attr:`ErlangAResult.asa_answered`).

    Erlang C has no abandonment, so both bases give the same numbers there.
    """

    OFFERED = "offered"
    ANSWERED = "answered"


def _basis(value: ServiceLevelBasis | str) -> ServiceLevelBasis:
    try:
        return ServiceLevelBasis(value)
    except ValueError:
        raise ConfigError(
            f"StaffingTarget.basis must be 'offered' or 'answered', got {value!r}"
        ) from None


@attrs.frozen
class StaffingTarget:
    """What "enough agents" means: a service level, an ASA, an occupancy cap.

    ``service_level``: the share of calls to answer within ``answer_within``
    seconds, in (0, 1), e.g. 0.8 with 20.0 for "80/20"; ``None`` for no
    service-level goal. ``max_asa``: the longest acceptable average speed of
    answer, in seconds (``None``: none). ``max_occupancy``: the highest
    acceptable share of agent time on calls, in (0, 1], e.g. 0.85 to protect
    agents from burnout (``None``: none). ``basis``: which calls the service
    level and ASA count when callers abandon (see :class:`ServiceLevelBasis`).

    Every goal that is set must hold; at least one must be set. Validated when
    built: a bad value raises :class:`~acdcore.errors.ConfigError` naming it.
    """

    service_level: float | None = 0.8
    answer_within: float = 20.0
    max_asa: float | None = None
    max_occupancy: float | None = None
    basis: ServiceLevelBasis = attrs.field(default=ServiceLevelBasis.OFFERED, converter=_basis)

    def __attrs_post_init__(self) -> None:
        if self.service_level is not None:
            _fraction(
                self.service_level,
                "StaffingTarget.service_level",
                closed_low=False,
                closed_high=False,
                error=ConfigError,
            )
        _non_negative(self.answer_within, "StaffingTarget.answer_within", ConfigError)
        if self.max_asa is not None:
            _positive(self.max_asa, "StaffingTarget.max_asa", ConfigError)
        if self.max_occupancy is not None:
            _fraction(
                self.max_occupancy,
                "StaffingTarget.max_occupancy",
                closed_low=False,
                closed_high=True,
                error=ConfigError,
            )
        if self.service_level is None and self.max_asa is None and self.max_occupancy is None:
            raise ConfigError(
                "StaffingTarget needs at least one of service_level, max_asa, max_occupancy"
            )

    def is_met(self, service_level: float, asa: float, occupancy: float) -> bool:
        """Whether figures computed on this target's basis meet every goal. O(1)."""
        if self.service_level is not None and not service_level >= self.service_level:
            return False
        if self.max_asa is not None and not asa <= self.max_asa:
            return False
        return self.max_occupancy is None or occupancy <= self.max_occupancy


@attrs.frozen
class StaffingRequirement:
    """The fewest agents that meet a :class:`StaffingTarget`, and how they do.

    ``agents``: agents needed on the phones. ``scheduled``: agents to schedule
    once shrinkage is allowed for (equal to ``agents`` without shrinkage).
    ``load``: offered load in erlangs. ``service_level``, ``asa`` (seconds) and
    ``occupancy``: expected with ``agents`` on the phones, on the target's
    :class:`ServiceLevelBasis`. ``wait_probability`` and ``abandon_probability``
    (0.0 under Erlang C) complete the picture.
    """

    agents: int
    scheduled: int
    load: float
    service_level: float
    asa: float
    occupancy: float
    wait_probability: float
    abandon_probability: float


@attrs.frozen
class IntervalStaffing:
    """One interval of a staffing plan from :func:`staff_intervals`.

    ``index``: position in the forecast. ``calls``: calls forecast in the
    interval. The other fields are those of :class:`StaffingRequirement`.
    """

    index: int
    calls: float
    load: float
    agents: int
    scheduled: int
    service_level: float
    asa: float
    occupancy: float
    wait_probability: float
    abandon_probability: float


# --------------------------------------------------------------------------- solvers


def scheduled_agents(required: int, shrinkage: float) -> int:
    """Agents to schedule so that ``required`` remain after ``shrinkage``.

    ``ceil(required / (1 - shrinkage))``, with ``shrinkage`` the share of paid
    time not spent available for calls (breaks, meetings, training, absence), in
    [0, 1). A quotient within a relative 1e-9 above an integer counts as that
    integer, so that ``14 / (1 - 0.3)`` gives 20, not the 21 that binary floating
    point would. O(1).

    Raises :class:`~acdcore.errors.InvalidValue` for a negative or non-int
    ``required`` or a ``shrinkage`` outside [0, 1).
    """
    required = _count(required, "required", 0)
    shrinkage = _fraction(
        shrinkage, "shrinkage", closed_low=True, closed_high=False, error=InvalidValue
    )
    return _with_shrinkage(required, shrinkage)


def _with_shrinkage(required: int, shrinkage: float) -> int:
    exact = required / (1.0 - shrinkage)
    below = math.floor(exact)
    if exact - below <= _ROUNDING_SLACK * max(1.0, exact):
        return below
    return math.ceil(exact)


def _smallest_passing(passes: Callable[[int], bool], guess: int) -> int:
    """Smallest n >= 1 with passes(n), for a predicate false below some n and
    true from there on. Gallops from ``guess`` then bisects: O(log n) calls."""
    if passes(guess):
        good, step = guess, 1
        while True:
            bad = good - step
            if bad < 1:
                bad = 0  # n = 0 is never evaluated; treat it as failing
                break
            if not passes(bad):
                break
            good, step = bad, step * 2
    else:
        bad, step = guess, 1
        while True:
            good = bad + step
            if passes(good):
                break
            bad, step = good, step * 2
    while good - bad > 1:
        middle = (good + bad) // 2
        if passes(middle):
            good = middle
        else:
            bad = middle
    return good


def _requirement_c(
    arrival_rate: float, aht: float, target: StaffingTarget, shrinkage: float
) -> StaffingRequirement:
    load = arrival_rate * aht
    # The smallest stable count, or the occupancy floor if higher; then step up
    # one agent at a time, carrying Erlang B along in O(1) per step.
    agents = math.floor(load) + 1
    if target.max_occupancy is not None:
        agents = max(agents, math.floor(load / target.max_occupancy))
    blocking = _erlang_b(load, agents)
    while True:
        result = _erlang_c_from_b(arrival_rate, aht, agents, target.answer_within, blocking)
        if result.stable and target.is_met(result.service_level, result.asa, result.occupancy):
            break
        agents += 1
        carried = load * blocking
        blocking = carried / (agents + carried)
    return StaffingRequirement(
        agents,
        _with_shrinkage(agents, shrinkage),
        load,
        result.service_level,
        result.asa,
        result.occupancy,
        result.wait_probability,
        0.0,
    )


def _on_basis(result: ErlangAResult, basis: ServiceLevelBasis) -> tuple[float, float]:
    if basis is ServiceLevelBasis.ANSWERED:
        return result.service_level_answered, result.asa_answered
    return result.service_level, result.asa


def _requirement_a(
    arrival_rate: float,
    aht: float,
    patience: float,
    target: StaffingTarget,
    shrinkage: float,
) -> StaffingRequirement:
    load = arrival_rate * aht
    seen: dict[int, ErlangAResult] = {}

    def passes(agents: int) -> bool:
        result = seen.get(agents)
        if result is None:
            result = _erlang_a_values(arrival_rate, aht, agents, patience, target.answer_within)
            seen[agents] = result
        service_level, asa = _on_basis(result, target.basis)
        return target.is_met(service_level, asa, result.occupancy)

    agents = _smallest_passing(passes, max(1, math.ceil(load)))
    result = seen[agents]
    service_level, asa = _on_basis(result, target.basis)
    return StaffingRequirement(
        agents,
        _with_shrinkage(agents, shrinkage),
        load,
        service_level,
        asa,
        result.occupancy,
        result.wait_probability,
        result.abandon_probability,
    )


_NO_CALLS = StaffingRequirement(0, 0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)


def _required(
    arrival_rate: float,
    aht: float,
    target: StaffingTarget,
    patience: float | None,
    shrinkage: float,
) -> StaffingRequirement:
    if arrival_rate == 0.0:
        return _NO_CALLS
    if patience is None:
        return _requirement_c(arrival_rate, aht, target, shrinkage)
    return _requirement_a(arrival_rate, aht, patience, target, shrinkage)


def _check_common(
    aht: float, target: StaffingTarget, patience: float | None, shrinkage: float
) -> tuple[float, float | None, float]:
    aht = _positive(aht, "aht")
    if not isinstance(target, StaffingTarget):
        raise ConfigError(f"target must be a StaffingTarget, got {target!r}")
    if patience is not None:
        patience = _positive(patience, "patience")
    shrinkage = _fraction(
        shrinkage, "shrinkage", closed_low=True, closed_high=False, error=InvalidValue
    )
    return aht, patience, shrinkage


def required_agents(
    arrival_rate: float,
    aht: float,
    target: StaffingTarget,
    *,
    patience: float | None = None,
    shrinkage: float = 0.0,
) -> StaffingRequirement:
    """The fewest agents that meet ``target``, by Erlang C or Erlang A.

    ``arrival_rate`` in calls per second, ``aht`` in seconds. Without
    ``patience`` callers never hang up and Erlang C is used (only stable counts,
    ``N > A``, qualify); with ``patience`` (mean seconds a caller waits before
    hanging up) Erlang A is used, which usually needs fewer agents. ``shrinkage``
    in [0, 1) sets :attr:`StaffingRequirement.scheduled`. No calls need no agents.

    Every goal of the target improves as agents are added (service level up,
    ASA and occupancy down), so the answer is the first count that passes.
    Erlang C starts at ``max(floor(A) + 1, floor(A / max_occupancy))`` and steps
    up carrying the Erlang B recurrence: O(N) in all. Erlang A gallops from
    ``ceil(A)`` then bisects: O((N + K) log N), K as in :func:`erlang_a`.

    Raises :class:`~acdcore.errors.InvalidValue` for a bad number (naming it)
    and :class:`~acdcore.errors.ConfigError` if ``target`` is not a
    :class:`StaffingTarget`.
    """
    arrival_rate = _non_negative(arrival_rate, "arrival_rate")
    aht, patience, shrinkage = _check_common(aht, target, patience, shrinkage)
    return _required(arrival_rate, aht, target, patience, shrinkage)


def staff_intervals(
    calls: Sequence[float],
    interval: float,
    aht: float,
    target: StaffingTarget,
    *,
    patience: float | None = None,
    shrinkage: float = 0.0,
) -> tuple[IntervalStaffing, ...]:
    """Agents needed in each interval of a call forecast.

    ``calls[i]`` is the number of calls forecast in interval ``i`` (fractions
    allowed), each ``interval`` seconds long (1800.0 for half-hours); ``aht``,
    ``target``, ``patience`` and ``shrinkage`` are as in
    :func:`required_agents`. Each interval is treated as its own steady state
    at ``calls[i] / interval`` calls per second, the usual practice in
    workforce management (it ignores queues carried over between intervals).
    Equal volumes are solved once. O(I * cost of one solve) for I intervals.

    Raises :class:`~acdcore.errors.InvalidValue` naming ``calls[i]`` or the
    parameter at fault, before any solving is done.
    """
    interval = _positive(interval, "interval")
    aht, patience, shrinkage = _check_common(aht, target, patience, shrinkage)
    if isinstance(calls, (str, bytes)) or not isinstance(calls, Sequence):
        raise InvalidValue(f"calls must be a sequence of numbers, got {calls!r}")
    volumes = [_non_negative(value, f"calls[{i}]") for i, value in enumerate(calls)]
    solved: dict[float, StaffingRequirement] = {}
    plan = []
    for index, volume in enumerate(volumes):
        need = solved.get(volume)
        if need is None:
            need = _required(volume / interval, aht, target, patience, shrinkage)
            solved[volume] = need
        plan.append(
            IntervalStaffing(
                index,
                volume,
                need.load,
                need.agents,
                need.scheduled,
                need.service_level,
                need.asa,
                need.occupancy,
                need.wait_probability,
                need.abandon_probability,
            )
        )
    return tuple(plan)
