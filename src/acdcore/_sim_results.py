"""What the simulator returns: a :class:`WaitRecord` per measured caller
who waited (for judging wait-time estimators), a :class:`Replication` per
run, and the :class:`SimulationResult` of :func:`~acdcore.sim.simulate`, with
its estimates per interval (:class:`IntervalEstimate`), its JSON form and its
plain-text report (laid out by ``_cell`` and ``_table``).

A part of :mod:`acdcore.sim`, which re-exports these names: import them from
there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._sim_stats import _KIND, CALLBACK_KPIS, KPIS, Estimate
from .errors import InvalidValue
from .metrics import IntervalStats, Metrics
from .scenario import Scenario


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
