"""The Erlang formulas: Erlang B (:func:`erlang_b`), Erlang C
(:func:`erlang_c`, :class:`ErlangCResult`) and Erlang A with abandonment
(:func:`erlang_a`, :class:`ErlangAResult`), and the checks of their
arguments (``_non_negative``, ``_positive``, ``_fraction``, ``_count``),
which the staffing solvers share.

A part of :mod:`acdcore.staffing`, which re-exports the public names and
whose docstring gives the units and the models: import them from there.
"""

from __future__ import annotations

import math
import operator
from typing import SupportsIndex

import attrs

from .errors import AcdError, InvalidValue

# A scaled running product is renormalised once it passes this, far from overflow.
_RENORMALISE_ABOVE = 1e150
# Relative size below which the rest of the Erlang A queue-length tail is dropped.
_TAIL_TOLERANCE = 1e-17
# Queue lengths summed before Erlang A gives up (see erlang_a's docstring).
_MAX_QUEUE_TERMS = 2_000_000


# --------------------------------------------------------------------------- validation


def _number(value: object, name: str, error: type[AcdError]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"{name} must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise error(f"{name} must not be NaN")
    return number


def _non_negative(value: object, name: str, error: type[AcdError] = InvalidValue) -> float:
    number = _number(value, name, error)
    if math.isinf(number) or number < 0:
        raise error(f"{name} must be finite and >= 0, got {value!r}")
    return number


def _positive(value: object, name: str, error: type[AcdError] = InvalidValue) -> float:
    number = _number(value, name, error)
    if math.isinf(number) or number <= 0:
        raise error(f"{name} must be finite and > 0, got {value!r}")
    return number


def _fraction(
    value: object, name: str, *, closed_low: bool, closed_high: bool, error: type[AcdError]
) -> float:
    number = _number(value, name, error)
    low_ok = number >= 0 if closed_low else number > 0
    high_ok = number <= 1 if closed_high else number < 1
    if not (low_ok and high_ok):
        interval = f"{'[' if closed_low else '('}0, 1{']' if closed_high else ')'}"
        raise error(f"{name} must be in {interval}, got {value!r}")
    return number


def _count(value: object, name: str, minimum: int) -> int:
    # Any integer type (int, numpy.int64, ...) but not bool, and never a float.
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        raise InvalidValue(f"{name} must be an int, got {value!r}")
    count = operator.index(value)
    if count < minimum:
        raise InvalidValue(f"{name} must be >= {minimum}, got {value!r}")
    return count


# --------------------------------------------------------------------------- Erlang B


def _erlang_b(load: float, servers: int) -> float:
    blocking = 1.0
    for n in range(1, servers + 1):
        carried = load * blocking
        blocking = carried / (n + carried)
    return blocking


def erlang_b(load: float, servers: int) -> float:
    """Blocking probability of the Erlang loss system M/M/N/N.

    The share of calls that find all ``servers`` busy when ``load`` erlangs are
    offered and blocked calls are lost (no queue). Also the building block of
    Erlang C and Erlang A.

    Computed with the recurrence ``B(0) = 1``, ``B(n) = A*B(n-1) / (n + A*B(n-1))``,
    whose every value stays in [0, 1] and so never overflows; the textbook
    ``(A^N/N!) / sum(A^k/k!)`` does. O(N) time, O(1) space.

    ``servers = 0`` gives 1.0 (everything is blocked); ``load = 0`` gives 0.0 for
    one server or more. Raises :class:`~acdcore.errors.InvalidValue` for a load
    that is negative, NaN or infinite, or a server count that is not an int >= 0.
    """
    load = _non_negative(load, "load")
    servers = _count(servers, "servers", 0)
    return _erlang_b(load, servers)


# --------------------------------------------------------------------------- Erlang C


@attrs.frozen
class ErlangCResult:
    """Erlang C (M/M/N) figures for one arrival rate, handle time and agent count.

    ``load``: offered load ``A = arrival_rate * aht`` in erlangs.
    ``stable``: ``A < agents``. Otherwise the queue grows without bound and the
    result says so plainly: ``wait_probability`` 1.0, ``service_level`` 0.0,
    ``asa`` infinite, ``occupancy`` 1.0.
    ``wait_probability``: P(an arriving call waits) = C(N, A).
    ``service_level``: P(wait <= ``answer_within``); every call is answered.
    ``asa``: average speed of answer, the mean wait over all calls (those
    answered at once count as zero), in seconds.
    ``occupancy``: share of agent time spent on calls, ``A / N``.
    """

    arrival_rate: float
    aht: float
    agents: int
    answer_within: float
    load: float
    stable: bool
    wait_probability: float
    service_level: float
    asa: float
    occupancy: float


def _erlang_c_from_b(
    arrival_rate: float, aht: float, agents: int, answer_within: float, blocking: float
) -> ErlangCResult:
    load = arrival_rate * aht
    if load >= agents:
        return ErlangCResult(
            arrival_rate, aht, agents, answer_within, load, False, 1.0, 0.0, math.inf, 1.0
        )
    headroom = agents - load  # N - A > 0
    waiting = agents * blocking / (headroom + load * blocking)
    drain_rate = headroom / aht  # N*mu - lambda, per second
    service_level = 1.0 - waiting * math.exp(-drain_rate * answer_within)
    asa = waiting / drain_rate
    return ErlangCResult(
        arrival_rate,
        aht,
        agents,
        answer_within,
        load,
        True,
        waiting,
        service_level,
        asa,
        load / agents,
    )


def erlang_c(
    arrival_rate: float, aht: float, agents: int, *, answer_within: float = 20.0
) -> ErlangCResult:
    """Erlang C: waiting probability, service level, ASA and occupancy of M/M/N.

    ``arrival_rate`` in calls per second, ``aht`` (average handle time) and
    ``answer_within`` (the service-level target time T) in seconds, ``agents``
    an int >= 1. With ``A = arrival_rate * aht``, ``B = erlang_b(A, N)`` and
    stability ``A < N``:

    - ``C = N*B / (N - A*(1 - B))``: probability of waiting;
    - ``SL = 1 - C * exp(-(N*mu - lambda) * T)``: P(wait <= T), since a delayed
      call waits an exponential time with rate ``N*mu - lambda``;
    - ``ASA = C / (N*mu - lambda)``: mean wait of all calls;
    - ``occupancy = A / N``.

    When ``A >= N`` no steady state exists; rather than raise, the result has
    ``stable=False`` and its limiting values (see :class:`ErlangCResult`), so a
    solver can step through unstable agent counts. O(N) time (the Erlang B
    recurrence), O(1) space.

    Raises :class:`~acdcore.errors.InvalidValue` naming the parameter for NaN,
    infinite or negative numbers, a zero ``aht`` or an agent count below 1.
    """
    arrival_rate = _non_negative(arrival_rate, "arrival_rate")
    aht = _positive(aht, "aht")
    agents = _count(agents, "agents", 1)
    answer_within = _non_negative(answer_within, "answer_within")
    blocking = _erlang_b(arrival_rate * aht, agents)
    return _erlang_c_from_b(arrival_rate, aht, agents, answer_within, blocking)


# --------------------------------------------------------------------------- Erlang A


@attrs.frozen
class ErlangAResult:
    """Erlang A (M/M/N+M) figures: Erlang C with callers who hang up.

    ``load``: offered load ``A = arrival_rate * aht`` in erlangs.
    ``wait_probability``: P(an arriving call finds every agent busy).
    ``abandon_probability``: P(a call hangs up before it is answered).
    ``asa``: mean time in queue over **all** arrivals: zero for calls answered
    at once, the wait until answer for delayed calls that are answered, and the
    wait until hanging up for those who abandon. This is ``E[queue length] /
    arrival_rate`` (Little's law) and satisfies ``abandon_probability = asa /
    patience``; it is the ASA that Erlang A calculators usually print.
    ``asa_answered``: mean wait of the calls that are answered (abandoners
    excluded; calls answered at once count as zero).
    ``service_level``: P(answered with a wait <= ``answer_within``) among **all**
    arrivals; an abandoned call counts as a miss, however soon it hung up.
    ``service_level_answered``: the same count among **answered** calls only,
    i.e. ``service_level / (1 - abandon_probability)``.
    ``occupancy``: mean number of busy agents over ``agents``, i.e. the carried
    load ``arrival_rate * (1 - abandon_probability) * aht`` over ``agents``.
    """

    arrival_rate: float
    aht: float
    agents: int
    patience: float
    answer_within: float
    load: float
    wait_probability: float
    abandon_probability: float
    asa: float
    asa_answered: float
    service_level: float
    service_level_answered: float
    occupancy: float


def _nobody_waits(
    arrival_rate: float, aht: float, agents: int, patience: float, answer_within: float, load: float
) -> ErlangAResult:
    """The Erlang A result when the queue carries no probability (no calls, or
    so many idle agents that it underflows): nobody waits or abandons."""
    return ErlangAResult(
        arrival_rate,
        aht,
        agents,
        patience,
        answer_within,
        load,
        0.0,
        0.0,
        0.0,
        0.0,
        1.0,
        1.0,
        load / agents,
    )


def _erlang_a_values(
    arrival_rate: float,
    aht: float,
    agents: int,
    patience: float,
    answer_within: float,
) -> ErlangAResult:
    # The model is a birth-death chain on n = calls in the system. Birth rate
    # lambda; death rate n*mu for n <= N and a + k*theta for n = N + k, where
    # a = N*mu. Relative to state N:
    #   n <= N:    pi_n / pi_N = Erlang loss distribution / B, summing to 1/B;
    #   n = N + k: t_k = pi_{N+k} / pi_N = prod_{j=1..k} lambda / (a + j*theta).
    # With S0 = sum_k t_k (k >= 0) and D = (1 - B)/B, P(all busy) = S0 / (D + S0)
    # and pi_{N+k} = t_k / (D + S0). The t_k rise while lambda > a + k*theta, then
    # fall faster than geometrically, so the walk stops once the rest of the tail
    # is below _TAIL_TOLERANCE relative. They are kept as v * exp(log_scale) and
    # renormalised, so an overloaded system with a peak of e^5000 works.
    #
    # A caller who arrives to find k waiting ahead is in "stage" k; stage i ends
    # at rate a + (i+1)*theta: a service completion or an abandonment ahead moves
    # them to stage i-1 (or into service from stage 0), their own abandonment
    # (rate theta) ends the wait. Hence, given k:
    #   P(answered) = a / (a + (k+1)*theta)              (the product telescopes)
    #   wait | answered ~ sum_{m=1..k+1} Exp(a + m*theta)   (hypoexponential)
    #   P(that sum <= T) = P(G >= k+1), G ~ NegBin(r = a/theta + 1, p = 1 - e^{-theta*T})
    # (with integer r it is the (k+1)-th of r+k exponential lifetimes to end; the
    # incomplete-beta identity carries it to any real r). The NegBin pmf f_j is
    # summed alongside, starting from f_0 = e^{-(a+theta)*T}, also scaled.
    load = arrival_rate * aht
    blocking = _erlang_b(load, agents)
    if blocking == 0.0:
        # Either no calls, or so many idle agents that B underflowed (< 1e-308):
        # nobody waits, to double precision.
        return _nobody_waits(arrival_rate, aht, agents, patience, answer_within, load)

    full_rate = agents / aht  # a = N*mu
    theta = 1.0 / patience
    peak = max(0.0, (arrival_rate - full_rate) / theta)
    if arrival_rate < full_rate:
        width = min(40.0 / math.log(full_rate / arrival_rate), math.sqrt(80.0 * full_rate / theta))
    else:
        width = math.sqrt(80.0 * arrival_rate / theta)
    if peak + width > _MAX_QUEUE_TERMS:
        raise InvalidValue(
            f"patience={patience!r} is too long for this load: the exact Erlang A sum would "
            f"need about {peak + width:.3g} queue lengths (limit {_MAX_QUEUE_TERMS}); "
            "use a shorter patience, or erlang_c if callers truly never hang up"
        )

    # NegBin(r, p) for the answered-within-T probabilities, f_j = f_scaled * f_unit.
    p = -math.expm1(-theta * answer_within)
    r = full_rate / theta + 1.0
    f_log = -(full_rate + theta) * answer_within
    f_unit = math.exp(f_log)
    f_scaled = 1.0
    cdf = f_unit  # F(0) = f_0

    v = 1.0  # t_k = v * exp(log_scale)
    log_scale = 0.0
    s_all = s_len = s_answered = s_fast = s_wait = 0.0
    mean_service_wait = 0.0  # E[wait | answered, stage k] = sum_{m=1..k+1} 1/(a + m*theta)
    k = 0
    while True:
        stage_rate = full_rate + (k + 1) * theta
        answered = full_rate / stage_rate
        mean_service_wait += 1.0 / stage_rate
        weight = answered * v
        s_all += v
        s_len += k * v
        s_answered += weight
        s_fast += weight * max(0.0, 1.0 - cdf)
        s_wait += weight * mean_service_wait

        ratio = arrival_rate / stage_rate  # t_{k+1} / t_k
        v *= ratio
        k += 1
        f_scaled *= (r + k - 1.0) / k * p
        if f_scaled > _RENORMALISE_ABOVE:
            f_log += math.log(f_scaled)
            f_scaled = 1.0
            f_unit = math.exp(f_log)
        cdf += f_scaled * f_unit
        if v > _RENORMALISE_ABOVE:
            log_scale += math.log(v)
            s_all /= v
            s_len /= v
            s_answered /= v
            s_fast /= v
            s_wait /= v
            v = 1.0
        if ratio < 1.0:
            # Every later ratio is smaller, so the rest is below a geometric series.
            rest = v / (1.0 - ratio)
            rest_len = v * (k / (1.0 - ratio) + 1.0 / (1.0 - ratio) ** 2)
            if rest <= _TAIL_TOLERANCE * s_all and rest_len <= _TAIL_TOLERANCE * s_len:
                break
        if k > _MAX_QUEUE_TERMS:  # pragma: no cover - the estimate above guards this
            raise InvalidValue(f"patience={patience!r}: Erlang A tail did not converge")

    # log D, D = (1 - B)/B in units of exp(log_scale); B rounds to 1 only if A >> N.
    if blocking < 1.0:
        log_idle = math.log1p(-blocking) - math.log(blocking) - log_scale
    else:
        log_idle = -math.inf
    if log_idle > 700.0:
        # The queue states carry less than e^-700 of the probability.
        idle_weight = math.inf
        norm = math.inf
    else:
        idle_weight = math.exp(log_idle)  # D in units of exp(log_scale)
        norm = idle_weight + s_all
    if math.isinf(norm):
        return _nobody_waits(arrival_rate, aht, agents, patience, answer_within, load)
    p_idle = idle_weight / norm
    wait_probability = s_all / norm
    mean_queue = s_len / norm
    abandon_probability = theta * mean_queue / arrival_rate
    answered_probability = p_idle + s_answered / norm
    service_level = p_idle + s_fast / norm
    asa = mean_queue / arrival_rate
    asa_answered = (s_wait / norm) / answered_probability
    occupancy = min(1.0, arrival_rate * (1.0 - abandon_probability) * aht / agents)
    return ErlangAResult(
        arrival_rate,
        aht,
        agents,
        patience,
        answer_within,
        load,
        wait_probability,
        abandon_probability,
        asa,
        asa_answered,
        min(max(service_level, 0.0), 1.0),
        min(max(service_level / answered_probability, 0.0), 1.0),
        occupancy,
    )


def erlang_a(
    arrival_rate: float,
    aht: float,
    agents: int,
    patience: float,
    *,
    answer_within: float = 20.0,
) -> ErlangAResult:
    """Erlang A (M/M/N+M): Erlang C where waiting callers hang up.

    ``arrival_rate`` in calls per second; ``aht``, ``patience`` (the mean time a
    caller is willing to wait, exponentially distributed, ``1/theta``) and
    ``answer_within`` (target time T) in seconds; ``agents`` an int >= 1. The
    definitions of ASA and service level are in :class:`ErlangAResult`.

    Exact, from the birth-death chain on the number of calls present: birth rate
    ``lambda``, death rate ``n*mu`` for ``n <= N`` and ``N*mu + (n-N)*theta``
    above. With ``B = erlang_b(A, N)`` and ``t_k = prod_{j=1..k} lambda /
    (N*mu + j*theta)``:

    - ``P(wait) = S0 / ((1-B)/B + S0)``, ``S0 = sum_{k>=0} t_k``;
    - ``P(abandon) = theta * E[queue] / lambda``, ``E[queue] = sum_k k*pi_{N+k}``;
    - ``ASA = E[queue] / lambda``;
    - ``SL = P(no wait) + sum_k pi_{N+k} * N*mu/(N*mu + (k+1)*theta) * P(G >= k+1)``
      with ``G ~ NegativeBinomial(N*mu/theta + 1, 1 - exp(-theta*T))``: a caller
      who finds k waiting is answered with that probability, after a wait that
      is a sum of exponentials with rates ``N*mu + m*theta``, m = 1..k+1.

    The infinite sum over queue lengths is cut where the remaining terms are
    below 1e-17 of the total; terms are scaled and renormalised, never raised
    to powers, so 100,000 agents are fine. Time is O(N + K): the Erlang B
    recurrence, then K queue lengths, about ``max(0, lambda - N*mu)/theta +
    sqrt(80*lambda/theta)`` (a few thousand for 20,000 agents and patience of
    minutes). An overloaded system with a patience of weeks would need millions;
    past 2,000,000 terms this raises :class:`~acdcore.errors.InvalidValue`.

    Raises :class:`~acdcore.errors.InvalidValue` naming the parameter for NaN,
    infinite or negative numbers, a zero ``aht`` or ``patience``, or an agent
    count below 1.
    """
    arrival_rate = _non_negative(arrival_rate, "arrival_rate")
    aht = _positive(aht, "aht")
    agents = _count(agents, "agents", 1)
    patience = _positive(patience, "patience")
    answer_within = _non_negative(answer_within, "answer_within")
    return _erlang_a_values(arrival_rate, aht, agents, patience, answer_within)
