"""A discrete-event contact-centre simulator around the real distributor.

:func:`simulate` runs a :class:`~acdcore.scenario.Scenario` several times
(replications) and reports the main KPIs with Student-t confidence intervals,
clipped to what each KPI can take (:data:`KPI_RANGES`; none with a single
replication);
:func:`run_replication` runs it once with a random generator you inject. The
distributor in the middle is the real :class:`~acdcore.Distributor`, driven
only through its public API (``handle``, ``advance``, ``next_deadline``), so
the simulation exercises whatever backend is loaded, with the scenario's
queues and routing plan. The KPIs come from :class:`~acdcore.metrics.Metrics`,
fed the same events and the actions that came back.

The driver
----------

The simulator keeps a heap of future events (arrivals, answers, call ends,
abandons, logins, logouts, breaks, resumes). Before each one, at time ``t``,
it asks ``next_deadline()``; while a deadline is due at or before ``t`` it
calls ``advance(deadline)`` and reacts to the actions (ties: a deadline
before an event at the same instant, as the distributor requires). Then it
hands the event to ``handle``. (When no deadline is due, ``advance(t)`` would
return nothing, so it is skipped.) Reactions:

- ``Offer``: the agent lets it ring out with the group's ``rona``
  probability (the distributor's ring timeout and no-answer policy follow);
  otherwise ``OfferAnswered`` is scheduled after the group's answer delay.
  The call is ringing.
- ``CancelOffer``: the pending answer of that agent is dropped.
- ``Queued``: the call is waiting.
- ``Overflow`` to a destination, ``SelfService``, ``Reject``: the call is
  gone. ``Overflow`` to another queue: it stays (a ``Queued`` follows).
- ``PauseAgent`` (auto-pause): the agent resumes after ``resume_after``,
  unless it is on a break (the break's end resumes it).
- ``Alert``, ``SurgeMode``, ``PreferredAgentBusy``: nothing to do.

An answered call talks for its handle time, then ``CallEnded``; the queue's
wrap-up is the distributor's business. A caller whose patience runs out while
waiting or ringing sends ``CallAbandoned``. The driver keeps its own view of
calls, offers and agents and never sends an event the distributor would
refuse (a stale answer, the abandon of a connected call, a resume of an agent
who logged out...); an :class:`~acdcore.errors.AcdError` from the
distributor is a simulator bug and raises :class:`SimulationError`.

Randomness and draw order
-------------------------

Replication ``r`` of :func:`simulate` draws everything from one
``random.Random(f"{seed}:{r}")``, which is also the distributor's ``rng``
(used by the random strategies). Draws happen when the driver processes the
event that needs them, events in time order (ties: scheduling order), so the
same scenario and seed give the same results:

1. at the start, the first arrival's gap (Poisson traffic); at an
   arrival: its call type (one ``random()``, only with two or more
   types), its patience (unless replayed or none), then (Poisson traffic)
   the gap to the next arrival (one ``random()`` per try; a try that
   crosses an interval boundary is redrawn from the boundary at the new rate,
   which memorylessness makes exact); then whatever the distributor draws
   and the reactions to its actions, in order;
2. an ``Offer``: the ring-out draw (one ``random()``, only if ``rona > 0``),
   then, if answered, the answer delay;
3. an accepted ``OfferAnswered``: the handle time (unless replayed);
4. a ``PauseAgent``: the resume delay.

See :mod:`acdcore.distributions` for how many draws each distribution takes.

What is measured
----------------

Calls arriving in ``[0, duration)`` (clock 0 is the scenario's start), with
every outcome however late it comes, and agent time within those intervals.
The warm-up before 0 runs at the first interval's rate and is not measured;
after ``duration`` no call arrives and the run goes on (up to ``drain``
seconds) until every call is resolved. KPIs per replication:

- ``offered``: calls that arrived (rejected and routed-away ones included);
- ``service_level``: by the scenario's variant (see
  :class:`~acdcore.metrics.SLVariant`; default B: answered within the
  threshold over answered plus abandoned);
- ``wait_probability``: share of the calls that entered a queue and were not
  offered to an agent at once (the Erlang "probability of waiting");
- ``asa``: mean wait of answered calls (arrival to answer, ring time
  included); ``avg_wait``: mean over answered and abandoned calls (Erlang
  A's "ASA" over all arrivals);
- ``aht``: mean talk plus wrap-up per handled leg;
- ``abandon_rate``: abandoned over resolved calls;
- ``occupancy``: time busy or in wrap-up over time logged in and not paused;
- with callbacks (a queue with a ``callback`` policy), the
  :data:`CALLBACK_KPIS`: callbacks offered, accepted, their take-up, the
  calls placed, those answered and failed, and the wait until answered.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import math
import random
import sys
import time
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import attrs

from .actions import (
    Action,
    CallbackFailed,
    CancelOffer,
    Offer,
    OfferCallback,
    Overflow,
    PauseAgent,
    PlaceCallback,
    Queued,
    Reject,
    SelfService,
)
from .config import AgentProfile
from .distributions import Distribution
from .distributor import Distributor
from .errors import AcdError, InvalidValue
from .estimators import WaitEstimator
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    CallAbandoned,
    CallArrived,
    CallbackRequested,
    CallEnded,
    Event,
    OfferAnswered,
)
from .metrics import AgentStats, IntervalStats, Metrics, QueueStats
from .scenario import DAY, Scenario
from .skills import SkillRequirement

# The states of a call still in the centre and not yet answered (CallState
# values, as Distributor.counts() names them): its outcome is unknown.
_UNRESOLVED = frozenset({"waiting", "ringing", "callback-pending"})

__all__ = [
    "CALLBACK_KPIS",
    "KPIS",
    "KPI_RANGES",
    "Estimate",
    "IntervalEstimate",
    "Replication",
    "SimulationError",
    "SimulationResult",
    "WaitRecord",
    "estimate",
    "run_replication",
    "simulate",
    "t_quantile",
]

KPIS = (
    "offered",
    "service_level",
    "wait_probability",
    "asa",
    "avg_wait",
    "aht",
    "abandon_rate",
    "occupancy",
)
"""The KPIs every replication reports (see the module docstring)."""

CALLBACK_KPIS = (
    "callbacks_offered",
    "callbacks_accepted",
    "callback_take_up",
    "callback_attempts",
    "callbacks_answered",
    "callbacks_failed",
    "callback_wait",
)
"""The callback figures a replication also reports when a queue of the
scenario offers callbacks (a ``callback`` policy), for the measured calls, by
the queue each call asked for: callers offered a callback, those who took it
(``callback_take_up`` is accepted over offered), the calls placed to them
(every attempt), the callbacks answered by the customer and connected to an
agent, those that failed (every attempt unanswered), and ``callback_wait``,
the mean time from the caller's first call to the answered callback."""

_RATE = (0.0, 1.0)
_FROM_ZERO = (0.0, math.inf)
_KIND = {
    "offered": "count",
    "service_level": "rate",
    "wait_probability": "rate",
    "asa": "time",
    "avg_wait": "time",
    "aht": "time",
    "abandon_rate": "rate",
    "occupancy": "rate",
    "callbacks_offered": "count",
    "callbacks_accepted": "count",
    "callback_take_up": "rate",
    "callback_attempts": "count",
    "callbacks_answered": "count",
    "callbacks_failed": "count",
    "callback_wait": "time",
}
KPI_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {k: _RATE if kind == "rate" else _FROM_ZERO for k, kind in _KIND.items()}
)
"""The values each KPI can take, to which its confidence interval is clipped:
rates and fractions in [0, 1], times (seconds) and counts from 0."""

# Callback counters kept per queue and measured interval (see CALLBACK_KPIS).
_CB_OFFERED = 0
_CB_ACCEPTED = 1
_CB_ATTEMPTS = 2
_CB_ANSWERED = 3
_CB_FAILED = 4
_CB_WAIT = 5  # the sum of the waits of answered callbacks
_CB_FIELDS = 6

# Driver event kinds (heap entries are (time, seq, kind, a, b, c)).
_ARRIVE = 0
_REPLAY = 1
_ANSWER = 2
_END = 3
_ABANDON = 4
_LOGIN = 5
_LOGOUT = 6
_BREAK = 7
_RESUME = 8
_CALLBACK = 9  # the caller accepts a callback offer

_WAITING = 0
_RINGING = 1
_CONNECTED = 2

_NO_ATTRIBUTES: Mapping[str, Any] = MappingProxyType({})


class SimulationError(RuntimeError):
    """The simulator sent an event the distributor refused: a simulator bug
    (the distributor's error is chained as ``__cause__``)."""


# ----------------------------------------------------------------- statistics


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=256)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of
    freedom (``t_quantile(0.975, 9)`` is 2.262...), by bisection on the CDF
    (the regularised incomplete beta function); accurate to about 1e-10."""
    if not 0.0 < p < 1.0 or not df > 0:
        raise InvalidValue(f"t_quantile needs 0 < p < 1 and df > 0, got p={p!r}, df={df!r}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return (lo + hi) / 2.0


@attrs.frozen
class Estimate:
    """A mean over ``n`` replications with its two-sided confidence interval
    at ``level``: ``mean +- half_width``, from Student's t with ``n - 1``
    degrees of freedom and the sample standard deviation ``sd``.

    ``floor`` and ``ceiling`` are the values the quantity can take (0 and 1
    for a rate, 0 and infinity for a time or a count, see :data:`KPI_RANGES`):
    :attr:`low` and :attr:`high` are the interval clipped to them, so a
    service level's interval never leaves [0, 1] and an ASA's never starts
    below 0. With one value there is no interval (:attr:`has_interval` is
    false, ``half_width`` is infinite, ``low`` and ``high`` are ``floor`` and
    ``ceiling``): reports show the mean alone and JSON has ``null`` ends."""

    mean: float
    half_width: float
    n: int
    sd: float
    level: float = 0.95
    floor: float = -math.inf
    ceiling: float = math.inf

    @property
    def has_interval(self) -> bool:
        """Whether there is a confidence interval: two values or more (one
        value says nothing about the spread)."""
        return self.n >= 2 and math.isfinite(self.half_width)

    @property
    def low(self) -> float:
        """Lower end of the interval, at least ``floor``."""
        return max(self.floor, self.mean - self.half_width)

    @property
    def high(self) -> float:
        """Upper end of the interval, at most ``ceiling``."""
        return min(self.ceiling, self.mean + self.half_width)

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the (clipped) interval, ends included."""
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: ``low``, ``high`` and ``half_width`` are
        ``null`` when there is no interval (strict JSON has no Infinity)."""

        def finite(x: float) -> float | None:  # strict JSON has no Infinity or NaN
            return x if math.isfinite(x) else None

        known = self.has_interval
        return {
            "mean": finite(self.mean),
            "low": finite(self.low) if known else None,
            "high": finite(self.high) if known else None,
            "half_width": finite(self.half_width) if known else None,
            "n": self.n,
            "sd": finite(self.sd),
            "level": self.level,
        }

    def __str__(self) -> str:
        if not self.has_interval:
            return f"{self.mean:.6g} (n={self.n}, no interval)"
        return f"{self.mean:.6g} +- {self.half_width:.3g}"


def estimate(
    values: Iterable[float | None],
    level: float = 0.95,
    *,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> Estimate | None:
    """The mean of ``values`` (``None`` entries skipped) with a Student-t
    confidence interval at ``level``, clipped to ``bounds`` (the values the
    quantity can take, such as ``(0.0, 1.0)`` for a rate); ``None`` if no
    value is left."""
    xs = [float(v) for v in values if v is not None]
    if not 0.0 < level < 1.0:
        raise InvalidValue(f"level must be in (0, 1), got {level!r}")
    floor, ceiling = bounds
    if not floor <= ceiling:
        raise InvalidValue(f"bounds must be (low, high) with low <= high, got {bounds!r}")
    n = len(xs)
    if n == 0:
        return None
    mean = math.fsum(xs) / n
    if n == 1:
        return Estimate(mean, math.inf, 1, math.nan, level, floor, ceiling)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return Estimate(mean, half, n, sd, level, floor, ceiling)


# ------------------------------------------------------------------- results


def _kpis(
    stats: QueueStats,
    agents: Mapping[str, AgentStats] | None,
    entered: int,
    delayed: int,
) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        "offered": float(stats.offered),
        "service_level": stats.service_level,
        "wait_probability": delayed / entered if entered else None,
        "asa": stats.asa,
        "avg_wait": stats.avg_wait,
        "aht": stats.aht,
        "abandon_rate": stats.abandon_rate,
    }
    if agents is not None:
        working = math.fsum(a.time_busy + a.time_wrap_up for a in agents.values())
        present = math.fsum(a.time_logged_in - a.time_paused for a in agents.values())
        out["occupancy"] = working / present if present > 0 else None
    return out


def _callback_kpis(counts: Sequence[float]) -> dict[str, float | None]:
    """The :data:`CALLBACK_KPIS` from the counters (``_CB_*`` order)."""
    offered, accepted, attempts, answered, failed, wait = counts
    return {
        "callbacks_offered": float(offered),
        "callbacks_accepted": float(accepted),
        "callback_take_up": accepted / offered if offered else None,
        "callback_attempts": float(attempts),
        "callbacks_answered": float(answered),
        "callbacks_failed": float(failed),
        "callback_wait": wait / answered if answered else None,
    }


def kpi_names(scenario: Scenario) -> tuple[str, ...]:
    """The KPIs a replication of ``scenario`` reports: :data:`KPIS`, then
    :data:`CALLBACK_KPIS` when one of its queues offers callbacks."""
    if any(q.config.callback is not None for q in scenario.queues):
        return KPIS + CALLBACK_KPIS
    return KPIS


@attrs.frozen
class WaitRecord:
    """One measured caller who had to wait, for judging wait-time estimators:
    the ``queue`` it asked for, its ``priority``, when it ``arrived``, each
    estimator's estimate at arrival (``estimates``, by estimator name), and
    how long it ``waited`` until answered (ring time included) or until it
    hung up (``answered`` false)."""

    queue: str
    priority: int
    arrived: float
    waited: float
    answered: bool
    estimates: Mapping[str, float]


@attrs.frozen(eq=False)
class Replication:
    """One run of a scenario.

    ``kpis``: the :data:`KPIS` over the measured period (``None`` when
    undefined, e.g. no call answered); ``queue_kpis``: the same per queue (by
    the queue each call asked for; no occupancy). ``summary`` and
    ``intervals``: the :class:`~acdcore.metrics.Metrics` reports of the
    measured period and of each measured interval (``None`` for an interval
    with no data). ``interval_kpis``: the KPIs per measured interval;
    ``interval_queue_kpis``: per measured interval, the :data:`KPIS` per queue
    (no occupancy). With callbacks (see :func:`kpi_names`), ``kpis``,
    ``queue_kpis`` and ``interval_kpis`` also hold the :data:`CALLBACK_KPIS`.
    ``waits`` / ``abandoned_waits``: per queue, the waits of measured calls
    that were answered / abandoned, in order of outcome. ``metrics``: the
    whole Metrics object (warm-up and drain included) for other reports.
    ``calls``: calls generated (warm-up included); ``events``: events handed
    to the distributor; ``advances``: ``advance`` calls; ``wall``: seconds of
    real time. ``wait_records``: with estimators attached (see
    :func:`run_replication`), one :class:`WaitRecord` per measured caller
    who had to wait, in order of outcome. ``unresolved``: calls never
    answered and still in the centre (waiting, ringing or awaiting a
    callback) when the ``drain`` ran out; they count as offered but in no
    rate, so a run with unresolved calls looks better than it was (give a
    longer drain). Calls connected at that instant count as answered.
    """

    index: int
    kpis: Mapping[str, float | None]
    queue_kpis: Mapping[str, Mapping[str, float | None]]
    summary: IntervalStats
    intervals: tuple[IntervalStats | None, ...]
    interval_kpis: tuple[Mapping[str, float | None], ...]
    waits: Mapping[str, Sequence[float]]
    abandoned_waits: Mapping[str, Sequence[float]]
    metrics: Metrics
    calls: int
    events: int
    advances: int
    wall: float
    wait_records: tuple[WaitRecord, ...] = ()
    unresolved: int = 0
    interval_queue_kpis: tuple[Mapping[str, Mapping[str, float | None]], ...] = ()


@attrs.frozen
class IntervalEstimate:
    """One measured interval across replications: ``start`` and ``end`` in
    seconds from clock 0, a display ``label`` (time of day, or local
    date-time for a dated scenario), an :class:`Estimate` (or ``None``) per
    KPI (``kpis``), and per queue the same for the :data:`KPIS` but
    occupancy (``queue_kpis``: how each queue fared over the day)."""

    start: float
    end: float
    label: str
    kpis: Mapping[str, Estimate | None]
    queue_kpis: Mapping[str, Mapping[str, Estimate | None]] = attrs.Factory(dict)


@attrs.frozen(eq=False)
class SimulationResult:
    """What :func:`simulate` found: the ``replications``, and across them an
    :class:`Estimate` per KPI overall (``kpis``), per queue (``queue_kpis``)
    and per interval (``intervals``)."""

    scenario: Scenario
    seed: int | str
    level: float
    replications: tuple[Replication, ...]
    kpis: Mapping[str, Estimate | None]
    queue_kpis: Mapping[str, Mapping[str, Estimate | None]]
    intervals: tuple[IntervalEstimate, ...]

    @property
    def unresolved(self) -> int:
        """Calls left unresolved when the drain ran out, summed over the
        replications (see :attr:`Replication.unresolved`); 0 in a sound run."""
        return sum(r.unresolved for r in self.replications)

    def values(self, kpi: str, queue: str | None = None) -> list[float | None]:
        """One KPI's value in each replication (overall or for ``queue``)."""
        if queue is None:
            return [r.kpis.get(kpi) for r in self.replications]
        return [r.queue_kpis[queue].get(kpi) for r in self.replications]

    def waits(self, queue: str | None = None, *, abandoned: bool = False) -> list[float]:
        """The waits of measured answered (or ``abandoned``) calls, pooled
        over replications, overall or for one queue."""
        out: list[float] = []
        for r in self.replications:
            source = r.abandoned_waits if abandoned else r.waits
            for q, ws in source.items():
                if queue is None or q == queue:
                    out.extend(ws)
        return out

    def wait_histogram(
        self,
        bin_width: float = 5.0,
        *,
        queue: str | None = None,
        abandoned: bool = False,
        upper: float | None = None,
    ) -> list[tuple[float, int]]:
        """Counts of :meth:`waits` per bin ``[start, start + bin_width)``, as
        ``(start, count)`` from 0 to the last non-empty bin; with ``upper``,
        waits at or beyond it are counted in a last bin starting at ``upper``."""
        if not bin_width > 0 or not math.isfinite(bin_width):
            raise InvalidValue(f"bin_width must be > 0, got {bin_width!r}")
        if upper is not None and not upper > 0:
            raise InvalidValue(f"upper must be > 0, got {upper!r}")
        waits = self.waits(queue, abandoned=abandoned)
        if not waits:
            return []
        beyond = 0
        if upper is None:
            counts = [0] * (int(max(waits) // bin_width) + 1)
        else:
            counts = [0] * math.ceil(upper / bin_width)
        for w in waits:
            if upper is not None and w >= upper:
                beyond += 1
            else:
                counts[int(w // bin_width)] += 1
        out = [(k * bin_width, c) for k, c in enumerate(counts)]
        if upper is not None:
            out.append((float(upper), beyond))
        return out

    @property
    def sl_targets(self) -> dict[str, tuple[float, float]]:
        """Each queue's service-level threshold (seconds) and target (a
        fraction): its own ``sl_threshold`` and ``sl_target``, else the
        scenario's ``[service_level]``."""
        sl = self.scenario.service_level
        return {
            q.name: (
                float(sl.threshold if q.sl_threshold is None else q.sl_threshold),
                float(sl.target if q.sl_target is None else q.sl_target),
            )
            for q in self.scenario.queues
        }

    def sl_definition(self, threshold: str = "T s") -> str:
        """What the service level counts, in words, by the scenario's variant
        (see :class:`~acdcore.metrics.SLVariant`), with ``threshold`` for the
        threshold: ``"answered within T s over answered + abandoned calls
        (variant B)"``."""
        sl = self.scenario.service_level
        text = {
            "a": f"answered within {threshold} over answered calls (abandons left out)",
            "b": f"answered within {threshold} over answered + abandoned calls",
            "c": f"answered or abandoned within {threshold} over all resolved calls",
            "d": (
                f"answered within {threshold} over answered + abandoned calls, abandons "
                f"within {sl.short_abandon:g} s left out"
            ),
        }[sl.variant]
        return f"{text} (variant {sl.variant.upper()})"

    def sl_lines(self) -> list[str]:
        """The report's lines that define the service level: the formula,
        then the threshold and target, one line for all queues when they
        share them, else one per queue."""
        targets = self.sl_targets
        shared = set(targets.values())
        if len(shared) == 1:
            (threshold, target), *_ = shared
            return [
                f"service level: {self.sl_definition(f'{threshold:g} s')}; "
                f"target {_percent(target)}"
            ]
        width = max(len(q) for q in targets)
        lines = [f"service level: {self.sl_definition()}, by queue:"]
        lines += [
            f"  {q:<{width}}  T = {threshold:g} s, target {_percent(target)}"
            for q, (threshold, target) in targets.items()
        ]
        lines.append("  (the all column judges each call by its own queue's T)")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (estimates, per replication KPIs, intervals,
        the service-level definition). An estimate without an interval (one
        value) has ``null`` for ``low``, ``high`` and ``half_width``."""

        def est(e: Estimate | None) -> dict[str, Any] | None:
            return None if e is None else e.to_dict()

        sl = self.scenario.service_level
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "level": self.level,
            "service_level": {
                "variant": sl.variant,
                "definition": self.sl_definition(),
                "short_abandon": sl.short_abandon,
                "queues": {
                    q: {"threshold": threshold, "target": target}
                    for q, (threshold, target) in self.sl_targets.items()
                },
            },
            "kpis": {k: est(v) for k, v in self.kpis.items()},
            "queue_kpis": {
                q: {k: est(v) for k, v in ks.items()} for q, ks in self.queue_kpis.items()
            },
            "intervals": [
                {
                    "start": i.start,
                    "end": i.end,
                    "label": i.label,
                    "kpis": {k: est(v) for k, v in i.kpis.items()},
                    "queue_kpis": {
                        q: {k: est(v) for k, v in ks.items()} for q, ks in i.queue_kpis.items()
                    },
                }
                for i in self.intervals
            ],
            "replications": [dict(r.kpis) for r in self.replications],
            "unresolved": [r.unresolved for r in self.replications],
        }

    def report(self) -> str:
        """A plain-text report: how to read it (the confidence intervals, the
        service level's definition, threshold and target), the KPIs overall
        and per queue, the callback figures when the scenario has callbacks,
        then offered calls, service level, ASA and abandon rate per interval.

        A cell is the mean over the replications and, in brackets, its
        confidence interval clipped to what the figure can take (see
        :data:`KPI_RANGES`). A figure with a single value (one replication,
        or defined in only one) has no interval: its cell is the value alone.
        """
        n = len(self.replications)
        names = list(self.queue_kpis)
        shown: list[Estimate | None] = []

        def cell(kpi: str, e: Estimate | None) -> str:
            shown.append(e)
            return _cell(kpi, e)

        def table(kpis: Sequence[str]) -> list[str]:
            rows = []
            for k in kpis:
                row = [k, cell(k, self.kpis.get(k))]
                row += [cell(k, self.queue_kpis[q].get(k)) for q in names]
                rows.append(row)
            return _table(["KPI", "all", *names], rows)

        body = table(KPIS)
        if "callbacks_offered" in self.kpis:
            body += ["", "callbacks, by the queue the caller asked for:"]
            body += table(CALLBACK_KPIS)
        body.append("")
        kinds = ("offered", "service_level", "asa", "abandon_rate")
        rows = [[i.label, *(cell(k, i.kpis.get(k)) for k in kinds)] for i in self.intervals]
        body += _table(["interval", *kinds], rows)
        if self.unresolved:
            body += [
                "",
                f"warning: {self.unresolved} call(s) were still in the centre when the drain "
                f"({self.scenario.drain:g} s) ran out; they count as offered but in no rate, "
                "so the rates look better than they were: give a longer drain",
            ]

        lines = [
            f"{self.scenario.name}: {n} replication{'s' if n != 1 else ''}, seed {self.seed!r}; "
            "times in seconds"
        ]
        if n == 1:
            lines.append(
                "each cell: the value of the one replication (no confidence interval: "
                "that needs 2 or more replications)"
            )
        else:
            lines.append(
                f"each cell: mean [{self.level:.0%} confidence interval] (Student t; clipped "
                "to what a figure can take: rates 0-100%, times and counts from 0)"
            )
            if any(e is not None and not e.has_interval for e in shown):
                lines.append(
                    "a cell without brackets: the figure was defined in only one replication"
                )
        lines += self.sl_lines()
        return "\n".join([*lines, *body])


def _percent(fraction: float) -> str:
    """``0.8`` -> ``"80%"``, ``0.825`` -> ``"82.5%"``."""
    return f"{100 * fraction:.4g}%"


def _cell(kpi: str, e: Estimate | None) -> str:
    """A report cell: the mean, and its clipped interval in brackets when
    there is one; ``-`` for no value. Rates in percent, offered calls whole,
    other counts and times to one decimal."""
    if e is None:
        return "-"
    kind = _KIND.get(kpi, "time")
    if kind == "rate":
        text = f"{100 * e.mean:.1f}%"
        bounds = f"[{100 * e.low:.1f}, {100 * e.high:.1f}]"
    else:
        digits = 0 if kpi == "offered" else 1
        text = f"{e.mean:.{digits}f}"
        bounds = f"[{e.low:.{digits}f}, {e.high:.{digits}f}]"
    return f"{text} {bounds}" if e.has_interval else text


def _table(heads: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return out


# -------------------------------------------------------------------- driver


class _Call:
    __slots__ = (
        "agent",
        "arrived",
        "bucket",
        "callback",
        "fixed",
        "handle",
        "offered_from",
        "queue",
        "state",
    )

    def __init__(
        self,
        arrived: float,
        queue: str,
        bucket: int,
        handle: Distribution | None,
        fixed: float | None,
    ) -> None:
        self.state = _WAITING
        self.arrived = arrived
        self.queue = queue
        self.bucket = bucket  # measured interval index, -1 if not measured
        self.handle = handle
        self.fixed = fixed
        self.agent = ""
        self.offered_from = queue
        self.callback = False


class _Agent:
    __slots__ = (
        "answer",
        "connected",
        "logged_in",
        "on_break",
        "paused",
        "pending_logout",
        "profile",
        "relogin",
        "resume",
        "rona",
        "token",
    )

    def __init__(
        self, profile: AgentProfile, rona: float, answer: Distribution, resume: Distribution
    ) -> None:
        self.profile = profile
        self.rona = rona
        self.answer = answer
        self.resume = resume
        self.logged_in = False
        self.pending_logout = False
        self.paused = False
        self.on_break = False
        self.relogin = False
        self.token = 0
        self.connected = 0


class _Type:
    """A call type resolved for the driver."""

    __slots__ = (
        "attributes",
        "emergency",
        "handle",
        "name",
        "patience",
        "priority",
        "queue",
        "requirement",
    )

    def __init__(
        self,
        name: str,
        queue: str | None,
        attributes: Mapping[str, Any],
        priority: int,
        emergency: bool,
        requirement: SkillRequirement | None,
        handle: Distribution | None,
        patience: Distribution | None,
    ) -> None:
        self.name = name
        self.queue = queue
        self.attributes = attributes
        self.priority = priority
        self.emergency = emergency
        self.requirement = requirement
        self.handle = handle
        self.patience = patience


def _poisson(
    rng: random.Random,
    begin: float,
    origin: float,
    warm_rate: float,
    rates: Sequence[float],
    interval: float,
) -> Iterator[float]:
    """Arrival instants: rate ``warm_rate`` per second from ``begin`` to
    ``origin``, then ``rates[k]`` per second in interval ``k``."""
    expo = rng.expovariate
    t = begin
    if warm_rate > 0:
        while True:
            t += expo(warm_rate)
            if t >= origin:
                break
            yield t
    for k, rate in enumerate(rates):
        if rate <= 0:
            continue
        t = origin + k * interval
        bound = t + interval
        while True:
            t += expo(rate)
            if t >= bound:
                break
            yield t


class _Run:
    """One replication: the distributor, the metrics and the driver's view."""

    def __init__(
        self,
        scenario: Scenario,
        rng: random.Random,
        journal: list[Any] | None,
        estimators: Sequence[WaitEstimator] | None = None,
    ) -> None:
        s = scenario
        self.scenario = s
        self.rng = rng
        self.journal = journal
        traffic = s.traffic
        self.origin = origin = s.origin
        self.interval = interval = float(traffic.interval)
        self.measured_end = origin + s.measured
        self.begin = origin - s.warmup
        self.hard_stop = self.measured_end + s.drain
        configs = s.queue_configs
        self.acd = Distributor(
            configs, rng=rng, start=self.begin, plan=s.routing_plan, estimators=estimators
        )
        self.estimators = list(estimators or ())
        self.pending_ewt: dict[str, tuple[int, dict[str, float]]] = {}
        self.wait_records: list[WaitRecord] = []
        sl = s.service_level
        self.metrics = Metrics(
            configs,
            interval=interval,
            sl_threshold=sl.threshold,
            sl_target=sl.target,
            thresholds={q.name: q.sl_threshold for q in s.queues if q.sl_threshold is not None},
            targets={q.name: q.sl_target for q in s.queues if q.sl_target is not None},
            sl_variant=sl.variant,
            short_abandon=sl.short_abandon,
            tz_offset=(-origin) % interval,
            start=self.begin,
            remember_calls=0,
        )
        self.max_wrap = max(float(c.wrap_up) for c in configs)
        self.heap: list[tuple[float, int, int, Any, Any, Any]] = []
        self.seq = 0
        self.calls: dict[str, _Call] = {}
        self.offers: dict[tuple[str, str], int] = {}
        self.offer_token = 0
        self.next_call = 0
        self.n_events = 0
        self.n_advances = 0
        names = [q.name for q in s.queues]
        self.waits: dict[str, array[float]] = {q: array("d") for q in names}
        self.abandoned: dict[str, array[float]] = {q: array("d") for q in names}
        n = s.intervals
        self.entered = [0] * n
        self.delayed = [0] * n
        # Per queue and measured interval: calls that joined a queue, and
        # those that had to wait.
        self.q_entered = {q: [0] * n for q in names}
        self.q_delayed = {q: [0] * n for q in names}
        self.has_callbacks = any(q.config.callback is not None for q in s.queues)
        self.cb = {q: [[0.0] * n for _ in range(_CB_FIELDS)] for q in names}
        # Which distributions apply.
        self.q_handle = {q.name: q.handle or traffic.handle for q in s.queues}
        q_patience = {q.name: q.patience or traffic.patience for q in s.queues}
        self.q_patience = q_patience
        self.q_accept = {q.name: q.callback_accept for q in s.queues}
        self.q_answer = {q.name: q.callback_answer for q in s.queues}
        self.first = names[0]
        self.plan = s.routing_plan
        self.types: list[_Type] = []
        for ct in traffic.call_types:
            self.types.append(
                _Type(
                    ct.name,
                    ct.queue,
                    ct.attributes,
                    ct.priority,
                    ct.emergency,
                    None if ct.requirement is None else SkillRequirement(ct.requirement),
                    ct.handle,
                    ct.patience,
                )
            )
        if not self.types:
            self.types.append(_Type("call", None, _NO_ATTRIBUTES, 0, False, None, None, None))
        total = math.fsum(ct.weight for ct in traffic.call_types) or 1.0
        acc = 0.0
        self.cum: list[float] = []
        for ct in traffic.call_types:
            acc += ct.weight / total
            self.cum.append(acc)
        self.by_name = {t.name: t for t in self.types}
        # Agents, their shifts and breaks (pushed in group order: login order).
        self.agents: dict[str, _Agent] = {}
        self._agents_setup()
        # Arrivals.
        self.replay = traffic.replay_calls
        self.arrivals: Iterator[float] | None = None
        if traffic.rates:
            per_s = [r * traffic.surge / interval for r in traffic.rates]
            count = len(per_s)
            rates = [per_s[k % count] for k in range(n)]
            self.arrivals = _poisson(rng, self.begin, origin, per_s[0], rates, interval)

    def push(self, t: float, kind: int, a: Any = None, b: Any = None, c: Any = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b, c))

    def _agents_setup(self) -> None:
        s = self.scenario
        origin, begin = self.origin, self.begin
        horizon = self.hard_stop
        for g in s.agents:
            for i, aid in enumerate(g.agent_ids()):
                profile = AgentProfile(aid, skills=g.skills, queues=g.queues, region=g.region)
                self.agents[aid] = _Agent(profile, float(g.rona), g.answer_delay, g.resume_after)
                if g.shift is None:
                    self.push(begin, _LOGIN, aid)
                    continue
                start, end = s.shift_times(g)
                breaks = s.break_times(g, i)
                day = 0
                while origin + start + day * DAY < horizon:
                    shift = day * DAY
                    login = origin + start + shift
                    logout = origin + end + shift
                    day += 1
                    if logout <= begin:
                        continue
                    self.push(max(login, begin), _LOGIN, aid)
                    for b0, b1, reason in breaks:
                        if origin + b0 + shift >= begin:
                            self.push(origin + b0 + shift, _BREAK, aid, reason, b1 - b0)
                    self.push(logout, _LOGOUT, aid)

    # ------------------------------------------------------------- run

    def run(self) -> None:
        if self.arrivals is not None:
            first = next(self.arrivals, None)
            if first is not None:
                self.push(first, _ARRIVE)
        elif self.replay and self.origin + self.replay[0].t < self.measured_end:
            self.push(self.origin + self.replay[0].t, _REPLAY, 0)
        heap = self.heap
        acd = self.acd
        next_deadline = acd.next_deadline
        advance = acd.advance
        observe = self.metrics.observe_actions
        react = self.react
        calls = self.calls
        journal = self.journal
        measured_end = self.measured_end
        hard_stop = self.hard_stop
        pop = heapq.heappop
        inf = math.inf
        while True:
            t = heap[0][0] if heap else inf
            d = next_deadline()
            if d is not None and d <= t:
                if d > hard_stop:
                    break
                acts = advance(d)
                self.n_advances += 1
                if journal is not None:
                    journal.append((d, acts))
                if acts:
                    observe(acts)
                    react(acts)
                continue
            if t > hard_stop or (t >= measured_end and not calls):
                break
            item = pop(heap)
            kind = item[2]
            if kind == _ANSWER:
                self.on_answer(item)
            elif kind == _END:
                self.on_end(item)
            elif kind == _ARRIVE:
                self.on_arrive(t)
            elif kind == _ABANDON:
                self.on_abandon(item)
            elif kind == _REPLAY:
                self.on_replay(item)
            elif kind == _LOGIN:
                self.on_login(item)
            elif kind == _LOGOUT:
                self.on_logout(item)
            elif kind == _BREAK:
                self.on_break(item)
            elif kind == _CALLBACK:
                self.on_callback(item)
            else:
                self.on_resume(item)
        # Agent time counts up to the end of the measured period even when the
        # centre sits empty before it (and past it while wrap-ups finish).
        last = max(acd.now, self.metrics.now, measured_end)
        self.metrics.advance(last + self.max_wrap)

    def send(self, event: Event) -> None:
        try:
            acts = self.acd.handle(event)
        except AcdError as exc:
            raise SimulationError(f"the distributor refused {event!r}: {exc}") from exc
        self.n_events += 1
        metrics = self.metrics
        metrics.observe_event(event)
        if acts:
            metrics.observe_actions(acts)
        if self.journal is not None:
            self.journal.append((event, acts))
        self.react(acts)

    def react(self, actions: list[Action]) -> None:
        calls = self.calls
        for act in actions:
            tp = type(act)
            if tp is Offer:
                assert isinstance(act, Offer)
                cid, aid = act.call_id, act.agent_id
                call = calls[cid]
                call.state = _RINGING
                call.offered_from = act.queue
                self.offer_token += 1
                token = self.offer_token
                self.offers[(cid, aid)] = token
                agent = self.agents[aid]
                if agent.rona > 0.0 and self.rng.random() < agent.rona:
                    continue  # let it ring out
                self.push(act.at + agent.answer.sample(self.rng), _ANSWER, cid, aid, token)
            elif tp is Queued:
                calls[act.call_id].state = _WAITING  # type: ignore[attr-defined]
            elif tp is CancelOffer:
                del self.offers[(act.call_id, act.agent_id)]  # type: ignore[attr-defined]
            elif tp is Reject or tp is SelfService:
                del calls[act.call_id]  # type: ignore[attr-defined]
            elif tp is Overflow:
                assert isinstance(act, Overflow)
                if act.target_queue is None:
                    del calls[act.call_id]
            elif tp is OfferCallback:
                assert isinstance(act, OfferCallback)
                self._count_callback(act.call_id, _CB_OFFERED)
                accept = self.q_accept.get(act.queue, 0.0)
                if accept > 0.0 and self.rng.random() < accept:
                    self.push(act.at, _CALLBACK, act.call_id)
            elif tp is PlaceCallback:
                assert isinstance(act, PlaceCallback)
                cid, aid = act.call_id, act.agent_id
                self._count_callback(cid, _CB_ATTEMPTS)
                calls[cid].state = _RINGING
                calls[cid].offered_from = act.queue
                self.offer_token += 1
                self.offers[(cid, aid)] = self.offer_token
                if self.rng.random() < self.q_answer.get(act.queue, 1.0):
                    delay = self.agents[aid].answer.sample(self.rng)
                    self.push(act.at + delay, _ANSWER, cid, aid, self.offer_token)
            elif tp is CallbackFailed:
                self._count_callback(act.call_id, _CB_FAILED)  # type: ignore[attr-defined]
                del calls[act.call_id]  # type: ignore[attr-defined]
            elif tp is PauseAgent:
                assert isinstance(act, PauseAgent)
                agent = self.agents[act.agent_id]
                agent.paused = True
                if not agent.on_break:
                    agent.token += 1
                    delay = agent.resume.sample(self.rng)
                    self.push(act.at + delay, _RESUME, act.agent_id, agent.token)

    def _count_callback(self, cid: str, field: int) -> None:
        """Count a callback step of call ``cid`` if it is measured."""
        call = self.calls.get(cid)
        if call is not None and call.bucket >= 0:
            self.cb[call.queue][field][call.bucket] += 1

    # ---------------------------------------------------------- arrivals

    def _bucket(self, t: float) -> int:
        rel = t - self.origin
        if rel < 0 or t >= self.measured_end:
            return -1
        return min(int(rel // self.interval), len(self.entered) - 1)

    def on_arrive(self, t: float) -> None:
        rng = self.rng
        types = self.types
        if len(types) > 1:
            # min(): the cumulative weights may sum to a hair under 1.0.
            ct = types[min(bisect_right(self.cum, rng.random()), len(types) - 1)]
        else:
            ct = types[0]
        queue = ct.queue if ct.queue is not None else self.planned(ct.attributes, t)
        dist = ct.patience or self.q_patience[queue]
        patience = dist.sample(rng) if dist is not None else math.inf
        assert self.arrivals is not None
        nxt = next(self.arrivals, None)
        if nxt is not None:
            self.push(nxt, _ARRIVE)
        self.arrive(
            t, queue, ct.attributes, ct.priority, ct.emergency, ct.requirement, ct.handle,
            None, patience,
        )  # fmt: skip

    def on_replay(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, index = item[0], item[3]
        c = self.replay[index]
        if index + 1 < len(self.replay):
            nxt = self.origin + self.replay[index + 1].t
            if nxt < self.measured_end:  # later calls are not part of the run
                self.push(nxt, _REPLAY, index + 1)
        ct = self.by_name.get(c.call_type) if c.call_type is not None else None
        attributes: Mapping[str, Any] = c.attributes
        if ct is not None and ct.attributes:
            attributes = {**ct.attributes, **c.attributes}
        queue = c.queue or (ct.queue if ct is not None else None)
        if queue is None:
            queue = self.planned(attributes, t)
        if c.patience is not None:
            patience = c.patience
        else:
            dist = (ct.patience if ct is not None else None) or self.q_patience[queue]
            patience = dist.sample(self.rng) if dist is not None else math.inf
        priority = c.priority if c.priority is not None else (ct.priority if ct else 0)
        self.arrive(
            t, queue, attributes, priority, ct.emergency if ct else False,
            ct.requirement if ct else None, ct.handle if ct else None, c.handle, patience,
        )  # fmt: skip

    def planned(self, attributes: Mapping[str, Any], t: float) -> str:
        """The queue a call asks for when its type names none: the one the
        plan's matching rule sends it to (so that the KPIs are attributed to
        it), else the first queue."""
        plan = self.plan
        if plan is None:
            return self.first
        queue = plan.decide(attributes, t).queue
        return queue if queue is not None else self.first

    def arrive(
        self,
        t: float,
        queue: str,
        attributes: Mapping[str, Any],
        priority: int,
        emergency: bool,
        requirement: SkillRequirement | None,
        handle: Distribution | None,
        fixed: float | None,
        patience: float,
    ) -> None:
        self.next_call += 1
        cid = f"c{self.next_call}"
        bucket = self._bucket(t)
        call = _Call(t, queue, bucket, handle, fixed)
        calls = self.calls
        calls[cid] = call
        self.send(
            CallArrived(
                now=t,
                call_id=cid,
                queue=queue,
                attributes=attributes,
                priority=priority,
                emergency=emergency,
                requirement=requirement,
            )
        )
        if cid not in calls:
            return  # rejected, or sent away by the plan
        if patience < math.inf:
            self.push(t + patience, _ABANDON, cid)
        if bucket >= 0:
            self.entered[bucket] += 1
            self.q_entered[queue][bucket] += 1
            if call.state == _WAITING:
                self.delayed[bucket] += 1
                self.q_delayed[queue][bucket] += 1
                if self.estimators:
                    estimate = self.acd.estimate
                    self.pending_ewt[cid] = (
                        priority,
                        {e.name: estimate(cid, e).seconds for e in self.estimators},
                    )

    # ------------------------------------------------------------- calls

    def on_answer(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, _, _, cid, aid, token = item
        if self.offers.get((cid, aid)) != token:
            return  # cancelled: rang out, answered elsewhere, caller hung up...
        self.send(OfferAnswered(now=t, call_id=cid, agent_id=aid))
        del self.offers[(cid, aid)]
        call = self.calls[cid]
        call.state = _CONNECTED
        call.agent = aid
        self.agents[aid].connected += 1
        if call.bucket >= 0:
            self.waits[call.queue].append(t - call.arrived)
            if call.callback:
                counters = self.cb[call.queue]
                counters[_CB_ANSWERED][call.bucket] += 1
                counters[_CB_WAIT][call.bucket] += t - call.arrived
        if self.pending_ewt:
            self._record_wait(cid, call, t, True)
        if call.fixed is not None:
            talk = call.fixed
        else:
            dist = call.handle or self.q_handle[call.offered_from]
            talk = dist.sample(self.rng)
        self.push(t + talk, _END, cid)

    def on_end(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, cid = item[0], item[3]
        call = self.calls.get(cid)
        if call is None or call.state != _CONNECTED:
            return
        self.send(CallEnded(now=t, call_id=cid))
        del self.calls[cid]
        agent = self.agents[call.agent]
        agent.connected -= 1
        if agent.pending_logout and agent.connected == 0:
            self.logged_out(agent)
            if agent.relogin:
                agent.relogin = False
                self.push(t, _LOGIN, call.agent)

    def on_callback(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, cid = item[0], item[3]
        call = self.calls.get(cid)
        if call is None or call.state != _WAITING or call.callback:
            return  # served or gone meanwhile
        self.send(CallbackRequested(now=t, call_id=cid))
        call.callback = True  # off the line: it no longer hangs up
        if call.bucket >= 0:
            self.cb[call.queue][_CB_ACCEPTED][call.bucket] += 1

    def on_abandon(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, cid = item[0], item[3]
        call = self.calls.get(cid)
        if call is None or call.state == _CONNECTED or call.callback:
            return
        self.send(CallAbandoned(now=t, call_id=cid))
        del self.calls[cid]
        if call.bucket >= 0:
            self.abandoned[call.queue].append(t - call.arrived)
        if self.pending_ewt:
            self._record_wait(cid, call, t, False)

    def _record_wait(self, cid: str, call: _Call, t: float, answered: bool) -> None:
        pending = self.pending_ewt.pop(cid, None)
        if pending is not None:
            self.wait_records.append(
                WaitRecord(
                    queue=call.queue,
                    priority=pending[0],
                    arrived=call.arrived,
                    waited=t - call.arrived,
                    answered=answered,
                    estimates=pending[1],
                )
            )

    # ------------------------------------------------------------ agents

    @staticmethod
    def logged_out(agent: _Agent) -> None:
        agent.logged_in = False
        agent.pending_logout = False
        agent.paused = False
        agent.on_break = False
        agent.token += 1  # pending resumes are stale

    def on_login(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, aid = item[0], item[3]
        agent = self.agents[aid]
        if agent.logged_in:
            if agent.pending_logout:
                agent.relogin = True  # still on its last call: log in when it ends
            return
        self.send(AgentLoggedIn(now=t, profile=agent.profile))
        agent.logged_in = True
        agent.paused = False
        agent.on_break = False
        agent.token += 1

    def on_logout(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, aid = item[0], item[3]
        agent = self.agents[aid]
        agent.relogin = False
        if not agent.logged_in or agent.pending_logout:
            return
        self.send(AgentLoggedOut(now=t, agent_id=aid))
        if agent.connected:
            agent.pending_logout = True
            agent.token += 1
        else:
            self.logged_out(agent)

    def on_break(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, _, _, aid, reason, duration = item
        agent = self.agents[aid]
        if not agent.logged_in or agent.pending_logout:
            return
        self.send(AgentPaused(now=t, agent_id=aid, reason=reason))
        agent.paused = True
        agent.on_break = True
        agent.token += 1
        self.push(t + duration, _RESUME, aid, agent.token)

    def on_resume(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, _, _, aid, token, _ = item
        agent = self.agents[aid]
        if not (agent.logged_in and agent.paused and agent.token == token):
            return
        self.send(AgentResumed(now=t, agent_id=aid))
        agent.paused = False
        agent.on_break = False

    # ----------------------------------------------------------- results

    def result(self, index: int, wall: float) -> Replication:
        s = self.scenario
        m = self.metrics
        origin, interval = self.origin, self.interval
        summary = m.summary(origin, self.measured_end)
        n = s.intervals
        by_index: dict[int, IntervalStats] = {}
        for stats in m.intervals():
            k = round((stats.start - origin) / interval)
            if 0 <= k < n:
                by_index[k] = stats
        intervals = tuple(by_index.get(k) for k in range(n))
        interval_kpis = [
            dict.fromkeys(KPIS, None)
            if st is None
            else _kpis(st.overall, st.agents, self.entered[k], self.delayed[k])
            for k, st in enumerate(intervals)
        ]
        per_queue = [k for k in KPIS if k != "occupancy"]
        interval_queue_kpis = []
        for k, st in enumerate(intervals):
            row: dict[str, Mapping[str, float | None]] = {}
            for q in self.q_entered:
                qs = None if st is None else st.queues.get(q)
                row[q] = (
                    dict.fromkeys(per_queue, None)
                    if qs is None
                    else _kpis(qs, None, self.q_entered[q][k], self.q_delayed[q][k])
                )
            interval_queue_kpis.append(row)
        kpis = _kpis(summary.overall, summary.agents, sum(self.entered), sum(self.delayed))
        queue_kpis = {
            q: _kpis(qs, None, sum(self.q_entered[q]), sum(self.q_delayed[q]))
            for q, qs in summary.queues.items()
        }
        if self.has_callbacks:
            cb = self.cb
            for q, counters in cb.items():
                queue_kpis[q].update(_callback_kpis([math.fsum(c) for c in counters]))
            kpis.update(
                _callback_kpis(
                    [math.fsum(math.fsum(cb[q][f]) for q in cb) for f in range(_CB_FIELDS)]
                )
            )
            for k, row_kpis in enumerate(interval_kpis):
                row_kpis.update(
                    _callback_kpis([math.fsum(cb[q][f][k] for q in cb) for f in range(_CB_FIELDS)])
                )
        return Replication(
            index=index,
            kpis=kpis,
            queue_kpis=queue_kpis,
            summary=summary,
            intervals=intervals,
            interval_kpis=tuple(interval_kpis),
            interval_queue_kpis=tuple(interval_queue_kpis),
            waits={q: w.tolist() for q, w in self.waits.items()},
            abandoned_waits={q: w.tolist() for q, w in self.abandoned.items()},
            metrics=m,
            calls=self.next_call,
            events=self.n_events,
            advances=self.n_advances,
            wall=wall,
            wait_records=tuple(self.wait_records),
            unresolved=sum(n for state, n in self.acd.counts().items() if state in _UNRESOLVED),
        )


# ------------------------------------------------------------------ public API


def run_replication(
    scenario: Scenario,
    rng: random.Random,
    *,
    index: int = 0,
    journal: list[Any] | None = None,
    estimators: Sequence[WaitEstimator] | None = None,
) -> Replication:
    """Run ``scenario`` once, drawing everything from ``rng`` (also the
    distributor's generator); see the module docstring for the draw order.

    With ``journal`` (a list), every step is appended to it: ``(event,
    actions)`` for each event handed to the distributor and ``(instant,
    actions)`` for each ``advance``, in order, so the run can be replayed
    or inspected. With ``estimators`` (fresh ones: they learn), they are
    attached to the distributor and every measured caller who has to wait
    gets a :class:`WaitRecord` of their estimates at arrival and the actual
    wait. Raises :class:`SimulationError` if the distributor refuses an event
    (a bug in the simulator).
    """
    if not isinstance(scenario, Scenario):
        raise InvalidValue(f"scenario must be a Scenario, got {scenario!r}")
    if not isinstance(rng, random.Random):
        raise InvalidValue(f"rng must be a random.Random, got {rng!r}")
    started = time.perf_counter()
    run = _Run(scenario, rng, journal, estimators)
    run.run()
    return run.result(index, time.perf_counter() - started)


def simulate(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | str | None = None,
    *,
    level: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Run ``replications`` independent replications of ``scenario``
    (default: the scenario's), replication ``r`` with
    ``random.Random(f"{seed}:{r}")`` (``seed`` default: the scenario's), and
    estimate each KPI with a Student-t confidence interval at ``level``
    (two-sided, 95 % by default) across them: overall, per queue and per
    interval. ``progress(done, total)`` is called after each replication."""
    if not isinstance(scenario, Scenario):
        raise InvalidValue(f"scenario must be a Scenario, got {scenario!r}")
    n = scenario.replications if replications is None else replications
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidValue(f"replications must be an int >= 1, got {n!r}")
    scenario.check_size(n)  # ConfigError before anything is allocated
    chosen = scenario.seed if seed is None else seed
    if isinstance(chosen, bool) or not isinstance(chosen, (int, str)):
        raise InvalidValue(f"seed must be an int or a string, got {chosen!r}")
    if not 0.0 < level < 1.0:
        raise InvalidValue(f"level must be in (0, 1), got {level!r}")
    runs = []
    for r in range(n):
        runs.append(run_replication(scenario, random.Random(f"{chosen}:{r}"), index=r))
        if progress is not None:
            progress(r + 1, n)
    reps = tuple(runs)

    def est(values: Iterable[float | None], kpi: str) -> Estimate | None:
        return estimate(values, level, bounds=KPI_RANGES[kpi])

    names = kpi_names(scenario)
    per_queue = [k for k in names if k != "occupancy"]
    kpis = {k: est((r.kpis.get(k) for r in reps), k) for k in names}
    queue_kpis = {
        q.name: {k: est((r.queue_kpis[q.name].get(k) for r in reps), k) for k in per_queue}
        for q in scenario.queues
    }
    interval = float(scenario.traffic.interval)
    in_queue = [k for k in KPIS if k != "occupancy"]
    intervals = tuple(
        IntervalEstimate(
            start=k * interval,
            end=(k + 1) * interval,
            label=_label(scenario, k * interval),
            kpis={kpi: est((r.interval_kpis[k].get(kpi) for r in reps), kpi) for kpi in names},
            queue_kpis={
                q.name: {
                    kpi: est(
                        (r.interval_queue_kpis[k][q.name].get(kpi) for r in reps),
                        kpi,
                    )
                    for kpi in in_queue
                }
                for q in scenario.queues
            },
        )
        for k in range(scenario.intervals)
    )
    return SimulationResult(
        scenario=scenario,
        seed=chosen,
        level=level,
        replications=reps,
        kpis=kpis,
        queue_kpis=queue_kpis,
        intervals=intervals,
    )


def _label(scenario: Scenario, t: float) -> str:
    """The local time of ``t`` (seconds from clock 0), for display."""
    start = scenario.start
    if isinstance(start, dt.datetime):
        return (start + dt.timedelta(seconds=t)).strftime("%Y-%m-%d %H:%M")
    seconds = round(t - scenario.clock("00:00"))  # from the midnight before clock 0
    day, rest = divmod(seconds, round(DAY))
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}"
    return text if day == 0 else f"day {day} {text}"


def main(argv: list[str] | None = None) -> int:
    """``python -m acdcore.sim SCENARIO.toml [-n N] [--seed S]``: simulate and
    print the report."""
    p = argparse.ArgumentParser(prog="python -m acdcore.sim", description=main.__doc__)
    p.add_argument("scenario", help="a TOML scenario file")
    p.add_argument("-n", "--replications", type=int, help="default: the scenario's")
    p.add_argument("--seed", help="default: the scenario's")
    p.add_argument("--json", action="store_true", help="print JSON instead of the report")
    args = p.parse_args(argv)
    seed: int | str | None = args.seed
    if isinstance(seed, str) and seed.lstrip("-").isdigit():
        seed = int(seed)
    try:
        result = simulate(Scenario.load(args.scenario), args.replications, seed)
    except AcdError as exc:  # a bad file or argument: one line, like the acdcore command
        p.exit(2, f"{p.prog}: error: {exc}\n")
    if args.json:
        import json

        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
