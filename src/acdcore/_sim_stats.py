"""The simulator's statistics: which KPIs a replication reports and the
values each can take (:data:`KPIS`, :data:`CALLBACK_KPIS`,
:data:`KPI_RANGES`), the KPI values of one replication computed from its
metrics (``_kpis``, ``_callback_kpis``, :func:`kpi_names`), and the Student-t
confidence intervals across replications (:func:`t_quantile`,
:class:`Estimate`, :func:`estimate`).

A part of :mod:`acdcore.sim`, which re-exports the public names: import them
from there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import attrs

from .errors import InvalidValue
from .metrics import AgentStats, QueueStats
from .scenario import Scenario

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


# ---------------------------------------------------- KPIs of one replication


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
