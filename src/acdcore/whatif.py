"""What-if on real traffic: a queue_log's calls replayed against a scenario.

A contact centre's Asterisk ``queue_log`` holds its real callers: when each
came, where it went, how long it waited and talked, whether it hung up. This
module turns them into what the simulator (:mod:`acdcore.sim`) needs to
answer "what if last month's callers had met this routing plan or this
staffing?". The calls and the per-queue estimates come from
:mod:`acdcore.queuelog_estimates` (:func:`observed_calls`,
:func:`estimate_parameters`; they, :func:`kaplan_meier`, :func:`validate`
and their classes are importable from here too):

1. :func:`trace`: the calls as :class:`~acdcore.scenario.ReplayCall` arrivals,
   at their times from :func:`clock_origin`.
2. :func:`whatif`: a scenario's traffic replaced by the trace, simulated over
   several replications, beside the KPIs the log itself gives
   (:func:`~acdcore.queuelog_report.report`). ``acdcore whatif QUEUE_LOG
   --scenario new.toml`` prints it (:mod:`acdcore.cli_reports`).

The trace
---------

:func:`trace` makes each call a ``ReplayCall`` at its arrival time from a
chosen clock origin, asking for its first queue. A call answered in the log
keeps its talk time as its ``handle`` (all its legs together: the simulator
does not transfer, so the call brings the agents the work it brought them);
other calls get the scenario's handle distribution if the what-if serves
them. A caller who hung up keeps its wait as its ``patience``: that was its
patience.

Every other caller (answered, or left another way) is known only to have had
more patience than its wait ``w``. Leaving its patience to the scenario's
distribution would forget that: a fresh draw is often shorter than ``w``, so
a caller who in fact waited ``w`` and was answered could hang up in the
replay even with the very same staffing, and the replay of the unchanged
centre would abandon more than the log did. So :func:`whatif` draws its
patience from its queue's estimated exponential (the censored MLE of
:mod:`acdcore.queuelog_estimates`) *given* that it exceeds ``w``:
``w + Exp(theta)`` (memorylessness makes this the exact conditional law), a
new draw in each replication so that the confidence intervals carry that
uncertainty too. With the same staffing, such a caller is answered after
``w`` as before. A queue with no hang-up in the log has no finite estimate;
its censored callers keep ``patience=None`` (the scenario's patience
applies). :func:`trace` without a generator leaves every censored patience
``None``.

The what-if
-----------

:func:`whatif` builds the scenario as replayed: its ``traffic`` replaced by
the trace (``attrs.evolve``, so every check of the scenario applies again),
its ``duration`` dropped (the measured period is then just long enough to
hold the last call), and its clock 0 placed at the scenario's ``start``
time of day on the day of the log's first call (the day before when that
call came earlier in the day), so the shifts and breaks fall at the real
times of day: a time-of-day ``start`` is read in the log's local time
(``tz_offset`` seconds east of UTC), and a dated ``start`` is moved to that
day with its own UTC offset, so the plan's opening hours apply to the log's
real dates. Shifts repeat every day of a log longer than one (weekends too).

A call keeps its queue. With a routing plan, the plan decides where a call
goes from its attributes, which a queue_log does not hold; so each replayed
call takes the heaviest call type of the scenario whose calls the plan sends
to that queue (without a plan: whose ``queue`` is that queue), with that
type's attributes, priority and requirement. A queue no call type reaches
gets calls without attributes (a note says where the plan sends those).

Replication ``r`` draws the censored patiences from
``random.Random(f"{seed}:{r}:patience")`` and runs with
``random.Random(f"{seed}:{r}")``, as :func:`~acdcore.sim.simulate` would. The
KPIs compared, per queue and overall: offered and answered calls, the
abandon rate, the service level (the scenario's variant and thresholds, or
``threshold`` for every queue), the ASA and the AHT. The observed ones come
from :func:`~acdcore.queuelog_report.report` with the scenario's queue
configurations, since the log does not record wrap-up: the observed AHT
takes each queue's wrap-up from the scenario. The simulated ones are means
over the replications with Student-t confidence intervals
(:func:`~acdcore.sim.estimate`). Replaying the log against the scenario that
produced it should give intervals that contain, or come near, the observed
figures; offered calls are equal, as the arrivals are the log's.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from .errors import ConfigError, InvalidValue
from .metrics import QueueStats
from .queuelog_estimates import (
    ObservedCall,
    QueueParameters,
    Validation,
    _num,
    estimate_parameters,
    kaplan_meier,
    observed_calls,
    validate,
)
from .queuelog_read import QueueLogRead
from .queuelog_report import report
from .scenario import DAY, ReplayCall, Scenario
from .sim import KPI_RANGES, Estimate, Replication, estimate, run_replication, t_quantile

__all__ = [
    "COMPARED",
    "ObservedCall",
    "QueueParameters",
    "Validation",
    "WhatIf",
    "clock_origin",
    "estimate_parameters",
    "kaplan_meier",
    "observed_calls",
    "trace",
    "validate",
    "whatif",
]

COMPARED = ("offered", "answered", "abandon_rate", "service_level", "asa", "aht")
"""The KPIs :func:`whatif` sets side by side, observed and simulated."""

_BOUNDS: Mapping[str, tuple[float, float]] = {
    "answered": (0.0, math.inf),
    **{k: KPI_RANGES[k] for k in COMPARED if k != "answered"},
}


# ------------------------------------------------------------------ the trace


def trace(
    calls: Iterable[ObservedCall],
    origin: float,
    *,
    patience_rates: Mapping[str, float] | None = None,
    rng: random.Random | None = None,
    call_type: Callable[[str, float], str | None] | None = None,
) -> tuple[ReplayCall, ...]:
    """The calls as replayed arrivals at ``arrived - origin`` seconds from
    clock 0 (see the module docstring): each asks for its first queue; an
    answered call keeps its talk time as ``handle``; a caller who hung up
    keeps its wait as ``patience``. Every other caller's patience is
    ``wait + Exp(rate)`` drawn from ``rng`` with its queue's rate (per second)
    in ``patience_rates``, or ``None`` (the scenario's patience) without
    ``rng`` or a positive rate. ``call_type(queue, t)`` names the call type
    of a call (``None``: none)."""
    rates = patience_rates or {}
    out = []
    for c in calls:
        t = c.arrived - origin
        handle = c.talk if c.outcome == "answered" else None
        patience: float | None
        if c.outcome == "abandoned":
            patience = c.wait
        else:
            rate = rates.get(c.queue)
            patience = None
            if rng is not None and rate is not None and rate > 0:
                patience = c.wait + rng.expovariate(rate)
        out.append(
            ReplayCall(
                t=t,
                queue=c.queue,
                call_type=call_type(c.queue, t) if call_type is not None else None,
                handle=handle,
                patience=patience,
            )
        )
    return tuple(out)


def clock_origin(scenario: Scenario, first: float, tz_offset: float = 0.0) -> float:
    """The Unix instant to take as clock 0 for a log whose first call came at
    ``first``: the scenario's ``start`` time of day on that call's day, or
    the day before when the call came earlier in the day. A time-of-day
    ``start`` is read ``tz_offset`` seconds east of UTC; a dated one with
    its own UTC offset."""
    tz = _tz(scenario.start, tz_offset)
    day_start = -scenario.clock("00:00")
    local = first + tz
    origin = math.floor(local / DAY) * DAY + day_start
    while origin > local:
        origin -= DAY
    return origin - tz


def _type_chooser(scenario: Scenario) -> Callable[[str, float], str | None]:
    """The call type a replayed call of a queue takes at ``t`` seconds from
    clock 0 (see the module docstring): the heaviest type whose calls go to
    that queue, or ``None``."""
    plan = scenario.routing_plan
    first = scenario.queues[0].name
    types = sorted(scenario.traffic.call_types, key=lambda ct: -float(ct.weight))
    sim_origin = scenario.origin

    def where(ct_queue: str | None, attributes: Mapping[str, Any], t: float) -> str | None:
        if plan is not None:
            return plan.decide(attributes, sim_origin + t).queue
        return ct_queue if ct_queue is not None else first

    def choose(queue: str, t: float) -> str | None:
        for ct in types:
            if where(ct.queue, ct.attributes, t) == queue:
                return ct.name
        return None

    return choose


def _unreached(
    scenario: Scenario, queues: Iterable[str], choose: Callable[[str, float], str | None]
) -> list[str]:
    """Notes about the queues a plan sends no call type to (at clock 0)."""
    plan = scenario.routing_plan
    if plan is None:
        return []
    notes = []
    for q in queues:
        if choose(q, 0.0) is None:
            goes = plan.decide({}, scenario.origin).queue
            notes.append(
                f"no call type of the scenario is routed to {q!r}: its replayed calls carry no "
                f"attributes, and the plan sends such calls to "
                + (repr(goes) if goes is not None else "an exit")
            )
    return notes


# ------------------------------------------------------------------ the what-if


@attrs.frozen(eq=False)
class WhatIf:
    """What :func:`whatif` found.

    ``scenario``: the scenario as replayed (replication 0's trace);
    ``origin``: clock 0 in Unix seconds; ``calls`` and ``parameters``: the
    log's calls and per-queue estimates; ``observed``: per queue (``None``:
    all queues) the :data:`COMPARED` KPIs of the log; ``simulated``: the same
    as :class:`~acdcore.sim.Estimate` over ``replications`` (``runs`` holds
    them); ``notes``: what the reader should know."""

    scenario: Scenario
    origin: float
    tz_offset: float
    calls: tuple[ObservedCall, ...]
    parameters: Mapping[str, QueueParameters]
    observed: Mapping[str | None, Mapping[str, float | None]]
    simulated: Mapping[str | None, Mapping[str, Estimate | None]]
    thresholds: Mapping[str, float]
    seed: int | str
    level: float
    runs: tuple[Replication, ...]
    notes: tuple[str, ...] = ()

    @property
    def queues(self) -> list[str]:
        """The queues compared, in the scenario's order."""
        return [q for q in self.observed if q is not None]

    @property
    def unresolved(self) -> int:
        """Calls left unresolved when the drain ran out, over the replications."""
        return sum(r.unresolved for r in self.runs)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: nothing infinite or NaN."""

        def est(e: Estimate | None) -> dict[str, Any] | None:
            return None if e is None else e.to_dict()

        def side(key: str | None) -> dict[str, Any]:
            return {
                "observed": dict(self.observed[key]),
                "simulated": {k: est(v) for k, v in self.simulated[key].items()},
            }

        sl = self.scenario.service_level
        return {
            "scenario": self.scenario.name,
            "calls": len(self.calls),
            "origin": self.origin,
            "start": _when(self.origin, self.tz_offset),
            "replications": len(self.runs),
            "seed": self.seed,
            "level": self.level,
            "service_level": {"variant": sl.variant, "thresholds": dict(self.thresholds)},
            "all": side(None),
            "queues": {q: side(q) for q in self.queues},
            "parameters": {q: p.to_dict() for q, p in self.parameters.items()},
            "unresolved": self.unresolved,
            "notes": list(self.notes),
        }

    def report(self) -> str:
        """The comparison and the estimates as text tables."""
        n = len(self.runs)
        first = min(c.arrived for c in self.calls)
        last = max(c.arrived for c in self.calls)
        tz = self.tz_offset
        lines = [
            f"what-if: {len(self.calls):,} calls of the queue_log, arrived "
            f"{_when(first, tz)} to {_when(last, tz)} (UTC{tz / 3600:+g}), replayed against "
            f"{self.scenario.name!r}: {n} replication{'s' if n != 1 else ''}, "
            f"seed {self.seed!r}; times in seconds",
            f"clock 0: {_when(self.origin, tz)}, the scenario's start on the day of the first call",
            "observed: the log's own figures; simulated: "
            + (
                f"mean [{self.level:.0%} confidence interval] over the replications"
                if n > 1
                else "the one replication's value (no interval)"
            ),
            _sl_line(self.scenario, self.thresholds),
        ]
        if n > 1:
            lines.append(
                f"flag 'unlike': the observed figure lies outside the {self.level:.0%} range of "
                "one replication (mean +- t sd sqrt(1 + 1/n)): more than chance sets them apart"
            )
        lines.append("")
        rows = []
        for key in [None, *self.queues]:
            name = "all" if key is None else key
            for k in COMPARED:
                obs = self.observed[key][k]
                sim = self.simulated[key][k]
                rows.append([name, k, _fmt(k, obs), _cell(k, sim), _flag(obs, sim)])
                name = ""
        lines += _table(["queue", "KPI", "observed", "simulated", "flag"], rows)
        lines += ["", "estimated from the log (each +- its standard error):"]
        prow = []
        for p in self.parameters.values():
            prow.append(
                [
                    p.queue,
                    str(p.calls),
                    _pm(p.arrival_rate, p.arrival_rate_se, 2),
                    _pm(p.mean_handle, p.mean_handle_se, 1),
                    _pm(p.mean_ring, p.mean_ring_se, 1),
                    "-" if p.rona is None else f"{100 * p.rona:.1f}%",
                    str(p.abandons),
                    _pm(p.mean_patience, p.mean_patience_se, 0),
                    _num(p.median_patience, 0),
                    _num(p.km_median_patience, 0),
                    _num(p.naive_patience, 1),
                ]
            )
        lines += _table(
            [
                "queue", "calls", "calls/h", "talk", "ring", "rona", "abandons",
                "patience", "median", "KM median", "naive",
            ],
            prow,
        )  # fmt: skip
        lines += [
            "patience: exponential MLE with the answered callers as censored (patience > their "
            "wait); median: its ln 2 x mean; KM median: Kaplan-Meier, the nonparametric check "
            "(- when fewer than half would have hung up by the longest wait); naive: the mean "
            "wait of the callers who hung up, biased low"
        ]
        notes = list(self.notes)
        if self.unresolved:
            notes.append(
                f"{self.unresolved} call(s) were still waiting when the drain "
                f"({self.scenario.drain:g} s) ran out; they count as offered but in no rate"
            )
        if notes:
            lines.append("")
            lines += [f"note: {x}" for x in notes]
        return "\n".join(lines)


def _flag(observed: float | None, sim: Estimate | None) -> str:
    """``"unlike"`` when ``observed`` lies outside the prediction interval
    of one replication (the observed day is one draw, not a mean)."""
    if observed is None or sim is None or not sim.has_interval or not math.isfinite(sim.sd):
        return ""
    half = t_quantile(0.5 + sim.level / 2.0, sim.n - 1) * sim.sd * math.sqrt(1.0 + 1.0 / sim.n)
    tol = 1e-9 * max(1.0, abs(observed))
    return "" if abs(observed - sim.mean) <= half + tol else "unlike"


def _when(t: float, tz: float) -> str:
    return dt.datetime.fromtimestamp(t + tz, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def _sl_line(scenario: Scenario, thresholds: Mapping[str, float]) -> str:
    sl = scenario.service_level
    what = {
        "a": "answered within T over answered calls",
        "b": "answered within T over answered + abandoned calls",
        "c": "answered or abandoned within T over resolved calls",
        "d": f"answered within T over answered + abandoned calls (abandons within "
        f"{sl.short_abandon:g} s left out)",
    }[sl.variant]
    ts = set(thresholds.values())
    if len(ts) == 1:
        return f"service level: {what} (variant {sl.variant.upper()}), T = {ts.pop():g} s"
    per = ", ".join(f"{q} {t:g} s" for q, t in thresholds.items())
    return f"service level: {what} (variant {sl.variant.upper()}), T by queue: {per}"


def _pm(x: float | None, se: float | None, digits: int) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}f}" if se is None else f"{x:.{digits}f} +- {se:.{digits}f}"


def _is_rate(kpi: str) -> bool:
    return kpi in ("abandon_rate", "service_level")


def _fmt(kpi: str, x: float | None) -> str:
    if x is None:
        return "-"
    if _is_rate(kpi):
        return f"{100 * x:.1f}%"
    return f"{x:.0f}" if kpi in ("offered", "answered") else f"{x:.1f}"


def _cell(kpi: str, e: Estimate | None) -> str:
    if e is None:
        return "-"
    if not e.has_interval:
        return _fmt(kpi, e.mean)
    if _is_rate(kpi):
        return f"{100 * e.mean:.1f}% [{100 * e.low:.1f}, {100 * e.high:.1f}]"
    return f"{e.mean:.1f} [{e.low:.1f}, {e.high:.1f}]"


def _table(heads: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    out = []
    for r in [heads, *rows]:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return out


def _sl(stats: QueueStats, variant: str) -> float | None:
    value: float | None = getattr(stats, f"sl_{variant}")
    return value


def _kpis(stats: QueueStats, variant: str) -> dict[str, float | None]:
    return {
        "offered": float(stats.offered),
        "answered": float(stats.answered),
        "abandon_rate": stats.abandon_rate,
        "service_level": _sl(stats, variant),
        "asa": stats.asa,
        "aht": stats.aht,
    }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _combined(stats: Sequence[QueueStats], variant: str) -> dict[str, float | None]:
    """All queues' KPIs from each queue's (each judged by its own threshold)."""
    answered = sum(s.answered for s in stats)
    abandoned = sum(s.abandoned for s in stats)
    within = sum(s.answered_within for s in stats)
    sl = {
        "a": _ratio(within, answered),
        "b": _ratio(within, answered + abandoned),
        "c": _ratio(
            within + sum(s.abandoned_within for s in stats), sum(s.resolved for s in stats)
        ),
        "d": _ratio(within, answered + abandoned - sum(s.short_abandoned for s in stats)),
    }[variant]
    handled = sum(s.handled for s in stats)
    return {
        "offered": float(sum(s.offered for s in stats)),
        "answered": float(answered),
        "abandon_rate": _ratio(abandoned, sum(s.resolved for s in stats)),
        "service_level": sl,
        "asa": _ratio(math.fsum((s.asa or 0.0) * s.answered for s in stats), answered),
        "aht": _ratio(math.fsum((s.aht or 0.0) * s.handled for s in stats), handled),
    }


def _with_threshold(scenario: Scenario, threshold: float) -> Scenario:
    """The scenario with one service-level threshold for every queue."""
    return attrs.evolve(
        scenario,
        queues=[attrs.evolve(q, sl_threshold=None) for q in scenario.queues],
        service_level=attrs.evolve(scenario.service_level, threshold=threshold),
    )


def whatif(
    read: QueueLogRead,
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | str | None = None,
    threshold: float | None = None,
    tz_offset: float = 0.0,
    level: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
) -> WhatIf:
    """Replay the calls of a queue_log (what
    :func:`~acdcore.queuelog_read.read_queue_log` read) against
    ``scenario`` and compare (see the module docstring). ``replications`` and
    ``seed`` default to the scenario's; ``threshold`` (seconds) replaces every
    queue's service-level threshold on both sides; ``tz_offset``: seconds
    east of UTC of the log's local time (for a time-of-day ``start``).
    Raises :class:`~acdcore.errors.ConfigError` for a log with no call, a
    queue of the log that the scenario lacks, or a run the scenario's limits
    refuse."""
    calls = observed_calls(read.lines)
    if not calls:
        raise ConfigError("the queue_log has no calls to replay")
    names = [q.name for q in scenario.queues]
    missing = list(dict.fromkeys(c.queue for c in calls if c.queue not in names))
    if missing:
        which = (
            f"queue {missing[0]!r} is not a queue"
            if len(missing) == 1
            else f"queues {', '.join(repr(q) for q in missing)} are not queues"
        )
        raise ConfigError(
            f"the queue_log's {which} of the scenario (its queues: {', '.join(names)})"
        )
    n = scenario.replications if replications is None else replications
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidValue(f"replications must be an int >= 1, got {n!r}")
    chosen = scenario.seed if seed is None else seed
    if threshold is not None:
        scenario = _with_threshold(scenario, float(threshold))
    origin = clock_origin(scenario, calls[0].arrived, tz_offset)
    start: str | dt.datetime = scenario.start
    if isinstance(start, dt.datetime):
        start = dt.datetime.fromtimestamp(origin, tz=start.tzinfo)
    # A placeholder replay until each replication's trace replaces it.
    base = attrs.evolve(
        scenario,
        duration=None,
        start=start,
        traffic=attrs.evolve(scenario.traffic, rates=(), replay=trace(calls, origin)),
    )
    base.check_size(n)
    found = estimate_parameters(calls)
    params = {q: found[q] for q in names if q in found}
    params.update({q: p for q, p in found.items() if q not in params})
    rates = {q: p.patience_rate for q, p in params.items() if p.patience_rate}
    chooser = _type_chooser(base)
    chosen_types: dict[tuple[str, float], str | None] = {}

    def choose(queue: str, t: float) -> str | None:  # the same in every replication
        if (queue, t) not in chosen_types:
            chosen_types[queue, t] = chooser(queue, t)
        return chosen_types[queue, t]

    queues = [q for q in names if any(c.queue == q for c in calls)]
    notes = _unreached(base, queues, choose)
    for q in queues:
        if q not in rates:
            notes.append(
                f"no caller hung up in {q!r}: its answered callers' patience is the scenario's"
            )
    sl = base.service_level
    variant = str(sl.variant)
    thresholds = {
        q.name: float(sl.threshold if q.sl_threshold is None else q.sl_threshold)
        for q in base.queues
        if q.name in queues
    }
    if variant == "d" and float(sl.short_abandon) != 5.0:
        notes.append(
            "the observed service level leaves out abandons within 5 s (the report's "
            f"default), the simulated within {sl.short_abandon:g} s"
        )
    by_threshold: dict[float, Any] = {}
    observed_stats: dict[str, QueueStats] = {}
    for q, t in thresholds.items():
        if t not in by_threshold:
            by_threshold[t] = report(
                read, threshold=t, queues=base.queue_configs, tz_offset=tz_offset
            ).metrics
        observed_stats[q] = by_threshold[t].queue_stats(q)
    observed: dict[str | None, Mapping[str, float | None]] = {
        None: _combined(list(observed_stats.values()), variant)
    }
    observed.update({q: _kpis(s, variant) for q, s in observed_stats.items()})
    runs = []
    first_scenario = base
    for r in range(n):
        replay = trace(
            calls,
            origin,
            patience_rates=rates,
            rng=random.Random(f"{chosen}:{r}:patience"),
            call_type=choose,
        )
        sc = attrs.evolve(base, traffic=attrs.evolve(base.traffic, replay=replay))
        if r == 0:
            first_scenario = sc
        runs.append(run_replication(sc, random.Random(f"{chosen}:{r}"), index=r))
        if progress is not None:
            progress(r + 1, n)
    simulated: dict[str | None, Mapping[str, Estimate | None]] = {}
    for key in [None, *queues]:
        per_run = [
            _kpis(run.summary.overall if key is None else run.summary.queues[key], variant)
            for run in runs
        ]
        simulated[key] = {
            k: estimate((v[k] for v in per_run), level, bounds=_BOUNDS[k]) for k in COMPARED
        }
    return WhatIf(
        scenario=first_scenario,
        origin=origin,
        tz_offset=_tz(start, tz_offset),
        calls=calls,
        parameters=params,
        observed=observed,
        simulated=simulated,
        thresholds=thresholds,
        seed=chosen,
        level=level,
        runs=tuple(runs),
        notes=tuple(notes),
    )


def _tz(start: str | dt.datetime, tz_offset: float) -> float:
    """Seconds east of UTC of clock 0: a dated start's own offset, else ``tz_offset``."""
    if isinstance(start, dt.datetime):
        offset = start.utcoffset()
        return offset.total_seconds() if offset is not None else 0.0
    return float(tz_offset)
