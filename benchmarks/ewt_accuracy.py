"""Measured accuracy of the wait-time estimators (issue #6): reported, not asserted.

Run from the repository root::

    PYTHONPATH=src python benchmarks/ewt_accuracy.py                  # every scenario (a few min)
    PYTHONPATH=src python benchmarks/ewt_accuracy.py --quick          # smoke run (seconds)
    PYTHONPATH=src python benchmarks/ewt_accuracy.py --reps 5 --hours 20 --jobs 2
    PYTHONPATH=src python benchmarks/ewt_accuracy.py --scenario mm100 --json /tmp/ewt.json

Method
------

Every scenario is simulated with acdcore's own simulator
(:func:`acdcore.sim.run_replication`), the real ``Distributor`` with the
estimators attached (fresh estimator objects for every replication: they
learn). For every *measured* caller (arriving in ``[0, duration)``, after the
warm-up) who had to wait, the simulator records each estimator's estimate
made at the instant the caller joined the queue and the wait that followed
(until answered, ring time included, or until the caller hung up).

The accuracy figures are over the **delayed answered callers** only (a caller
who hangs up has no actual wait to compare with); how many delayed callers
abandoned is shown next to them. For one estimator, over those ``n`` callers
with actual waits ``w_i`` and estimates ``e_i``:

- ``RASE = mean((e_i - w_i)^2) / mean(w_i)^2``: the relative average squared
  error (Ibrahim and Whitt). In M/M/s the exact conditional mean, which the
  queue-length estimator computes, has ``RASE = 1 - load``;
- ``MAE = mean(|e_i - w_i|)`` in seconds;
- ``bias = mean(e_i - w_i)`` in seconds (positive: the estimator over-estimates).

Records are pooled across replications; the "reps" column shows the spread of
the RASE computed per replication (min-max). A record in which an estimator
said "unknown" (an infinite estimate: nobody who could take the call was
staffed) is left out for every estimator, and counted.

Replication ``r`` of case ``key`` draws from ``random.Random(f"ewt:{key}:{r}")``
whatever ``--jobs`` is, so a run is reproducible. The estimators are
``learned`` (the default, :class:`~acdcore.estimators.LearnedEstimator`, told
nothing), ``queue-length`` (told the true mean handle time; per queue where
queues differ), ``erlang-a`` (told the true mean handle time and patience; in
scenarios with abandonment only), ``head-of-line``,
``last-to-enter-service`` and ``asterisk``.

Scenarios
---------

1. ``mm100``: M/M/100, exponential handle time with mean 180 s, nobody hangs up,
   at loads 0.85, 0.90, 0.93, 0.95 and 0.98. Target: the learned estimator's
   RASE within 10 % of ``1 - load`` (what the exact conditional mean achieves
   in steady state). In a finite run the queue-length estimator's own RASE
   (about ``1 / mean(n + 1)`` over the sampled callers, ``n`` the calls ahead)
   scatters around ``1 - load``, widely near load 1 where congestion is
   correlated over hours; so the targets also compare learned with
   queue-length on the same callers (ratio <= 1.10).
2. ``mm100m``: M/M/100+M, mean patience = mean handle time = 180 s, loads 1.2
   and 1.4 (overloaded; abandonment keeps it stable). Target: learned RASE <=
   erlang-a RASE.
3. ``multiskill``: three queues (sales, support with a VIP class under
   priority classes, billing), log-normal handle times with a coefficient of
   variation of 1 and different means per queue, single-skill groups and two
   blended groups serving two queues each with membership priorities, overall
   load about 0.93, patience exponential with mean 15 min. Target: learned
   beats every other estimator.
4. ``day``: 08:00-20:00 with a half-hourly arrival profile rising to a morning
   peak, dipping at lunch and rising again, no calls at night, staffed per
   interval (8 h and 4 h shifts, greedily fitted to a load of about 0.92),
   log-normal handle times (mean 180 s, cv 1), exponential patience with mean
   5 min; ``--days`` consecutive days in one run (the estimators keep what
   they learnt overnight). Target: learned beats every other estimator.
5. ``hotline``: a hotline with an AHT of 3 minutes at load 0.95, with 20, 30 and
   50 agents (M/M/s: exponential handle time, nobody hangs up). Reported: the
   MAE of the learned estimate, unrounded and rounded as the distributor
   announces it (:func:`acdcore.estimators.spoken_wait`), and the MAE of the
   queue-length estimator (the exact conditional mean in M/M/s, so a floor for
   any estimator's squared error; close to one for the absolute error).
   Target: announced MAE <= 10 s.

Every case also reports asterisk RASE / learned RASE (target >= 5).

Options: ``--quick`` (2 replications of 2 h, 1 day), ``--reps N``, ``--hours H``
(measured hours of the stationary scenarios), ``--days D`` (the day
scenario), ``--scenario NAME`` (repeatable), ``--jobs N`` (worker processes),
``--json PATH`` (every figure).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import acdcore
from acdcore import (
    FIFO,
    AsteriskEstimator,
    ErlangAEstimator,
    HeadOfLineEstimator,
    LastToEnterServiceEstimator,
    LearnedEstimator,
    PriorityClasses,
    QueueConfig,
    QueueLengthEstimator,
    QueueMembership,
    WaitContext,
    WaitEstimate,
    WaitEstimator,
)
from acdcore.distributions import Exponential, LogNormal
from acdcore.estimators import spoken_wait
from acdcore.scenario import AgentGroup, CallType, Scenario, SimQueue, Traffic
from acdcore.sim import run_replication

HANDLE = 180.0  # s, mean handle time of the single-queue scenarios
INTERVAL = 1800.0  # s, traffic interval
HOUR = 3600.0
MM_LOADS = (0.85, 0.90, 0.93, 0.95, 0.98)
MMM_LOADS = (1.2, 1.4)
HOTLINE_AGENTS = (20, 30, 50)
HOTLINE_LOAD = 0.95

TARGET_MM_RATIO = 1.10  # learned RASE / (1 - load), and / queue-length RASE
TARGET_ASTERISK = 5.0  # asterisk RASE / learned RASE
TARGET_ANNOUNCED_MAE = 10.0  # s

LEARNED = "learned"
QUEUE_LENGTH = "queue-length"
ERLANG_A = "erlang-a"
ASTERISK = "asterisk"

GROUP_TITLES = {
    "mm100": "1. M/M/100, exponential handle time (mean 180 s), no abandonment",
    "mm100m": "2. M/M/100+M, mean handle time = mean patience = 180 s",
    "multiskill": "3. Multi-skill: three queues, blended agents, VIP class, log-normal handle times",
    "day": "4. A day: half-hourly arrival profile, shift staffing, log-normal handle times",
    "hotline": "5. Hotline: AHT 3 min, load 0.95, M/M/s",
}


# --------------------------------------------------------------- estimators


class PerQueue(WaitEstimator):
    """A stateless estimator told per-queue parameters: delegates to one
    estimator per queue (for queue-length / erlang-a where queues differ)."""

    def __init__(self, name: str, by_queue: Mapping[str, WaitEstimator]) -> None:
        self.name = name
        self.by_queue = dict(by_queue)

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        return self.by_queue[ctx.queue].estimate(ctx)


def _history_estimators() -> list[WaitEstimator]:
    return [HeadOfLineEstimator(), LastToEnterServiceEstimator(), AsteriskEstimator()]


def single_queue_estimators(handle: float, patience: float | None) -> list[WaitEstimator]:
    """Fresh estimators for a single-queue scenario."""
    out: list[WaitEstimator] = [LearnedEstimator(), QueueLengthEstimator(handle)]
    if patience is not None:
        out.append(ErlangAEstimator(handle, patience))
    return out + _history_estimators()


def per_queue_estimators(handles: Mapping[str, float], patience: float) -> list[WaitEstimator]:
    """Fresh estimators for a scenario whose queues have different handle times."""
    return [
        LearnedEstimator(),
        PerQueue(QUEUE_LENGTH, {q: QueueLengthEstimator(h) for q, h in handles.items()}),
        PerQueue(ERLANG_A, {q: ErlangAEstimator(h, patience) for q, h in handles.items()}),
        *_history_estimators(),
    ]


# ----------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Built:
    """A scenario and fresh estimators for one replication."""

    scenario: Scenario
    estimators: list[WaitEstimator]


def build_mm(servers: int, load: float, patience: float | None, hours: float) -> Built:
    """M/M/s (+M with ``patience``) at ``load`` = arrival rate * 180 s / s."""
    rate = load * servers / HANDLE
    sc = Scenario(
        name=f"M/M/{servers}" + ("" if patience is None else "+M") + f" load {load:g}",
        queues=[QueueConfig("q", policy=FIFO())],
        agents=[AgentGroup("a", count=servers, queues=["q"])],
        traffic=Traffic(
            rates=[rate * INTERVAL],
            interval=INTERVAL,
            handle=Exponential(HANDLE),
            patience=None if patience is None else Exponential(patience),
        ),
        warmup=2 * HOUR,
        duration=hours * HOUR,
        drain=4 * HOUR,
    )
    return Built(sc, single_queue_estimators(HANDLE, patience))


# Multi-skill: mean handle time per queue (s), offered erlangs per queue.
MS_HANDLE = {"sales": 240.0, "support": 300.0, "billing": 200.0}
MS_ERLANGS = {"sales": 25.0, "support": 40.0, "billing": 12.0}
MS_VIP_SHARE = 0.15  # of the support calls
MS_PATIENCE = 900.0


def build_multiskill(hours: float) -> Built:
    """Three queues; 83 agents for 77 offered erlangs (load 0.93)."""
    queues = [
        SimQueue(QueueConfig("sales"), handle=LogNormal(MS_HANDLE["sales"], MS_HANDLE["sales"])),
        SimQueue(
            QueueConfig("support", policy=PriorityClasses()),
            handle=LogNormal(MS_HANDLE["support"], MS_HANDLE["support"]),
        ),
        SimQueue(
            QueueConfig("billing"), handle=LogNormal(MS_HANDLE["billing"], MS_HANDLE["billing"])
        ),
    ]
    agents = [
        AgentGroup("sales", count=20, queues=["sales"]),
        AgentGroup("support", count=30, queues=["support"]),
        AgentGroup("billing", count=8, queues=["billing"]),
        AgentGroup(
            "blend-sup",
            count=15,
            queues={"support": QueueMembership(priority=1), "sales": QueueMembership(priority=2)},
        ),
        AgentGroup(
            "blend-bil",
            count=10,
            queues={"billing": QueueMembership(priority=1), "sales": QueueMembership(priority=2)},
        ),
    ]
    per_interval = {q: a / MS_HANDLE[q] * INTERVAL for q, a in MS_ERLANGS.items()}
    support = per_interval["support"]
    types = [
        CallType("sales", weight=per_interval["sales"], queue="sales"),
        CallType("support", weight=support * (1 - MS_VIP_SHARE), queue="support"),
        CallType("vip", weight=support * MS_VIP_SHARE, queue="support", priority=5),
        CallType("billing", weight=per_interval["billing"], queue="billing"),
    ]
    sc = Scenario(
        name="multi-skill",
        queues=queues,
        agents=agents,
        traffic=Traffic(
            rates=[sum(per_interval.values())],
            interval=INTERVAL,
            call_types=types,
            patience=Exponential(MS_PATIENCE),
        ),
        warmup=2 * HOUR,
        duration=hours * HOUR,
        drain=4 * HOUR,
    )
    return Built(sc, per_queue_estimators(MS_HANDLE, MS_PATIENCE))


# The day: calls per half hour from 08:00 to 20:00 (relative to the peak).
DAY_OPEN = 8  # 08:00
DAY_PROFILE = (
    0.30, 0.45, 0.62, 0.78, 0.90, 0.98, 1.00, 0.97, 0.90, 0.80, 0.70, 0.66,
    0.70, 0.78, 0.85, 0.88, 0.85, 0.78, 0.68, 0.58, 0.48, 0.40, 0.33, 0.26,
)  # fmt: skip
DAY_PEAK = 900.0  # calls per half hour at the peak (90 erlangs at 180 s)
DAY_LOAD = 0.92  # staffing target: offered erlangs / agents
DAY_PATIENCE = 300.0
DAY_OVERTIME = 1800.0  # s: the last shifts stay this long after closing, to drain


def day_rates() -> list[float]:
    """Calls per half hour over 24 h (48 intervals from 00:00)."""
    first = DAY_OPEN * 2
    rates = [0.0] * 48
    for i, r in enumerate(DAY_PROFILE):
        rates[first + i] = r * DAY_PEAK
    return rates


def day_shifts() -> list[tuple[int, int, int]]:
    """``(first interval, intervals, agents)``: 8 h shifts where the need lasts
    8 h, else 4 h ones, greedily fitted left to right so that every open
    interval has ``ceil(erlangs / DAY_LOAD)`` agents or more."""
    need = [math.ceil(r * DAY_PEAK / INTERVAL * HANDLE / DAY_LOAD) for r in DAY_PROFILE]
    n = len(need)
    cover = [0] * n
    shifts: list[tuple[int, int, int]] = []

    def add(first: int, length: int, count: int) -> None:
        shifts.append((first, length, count))
        for j in range(first, first + length):
            cover[j] += count

    for i in range(n):
        deficit = need[i] - cover[i]
        if deficit <= 0:
            continue
        if i + 16 <= n:  # full-timers for the part of the deficit that lasts 8 h
            full = min(deficit, min(need[j] - cover[j] for j in range(i, i + 16)))
            if full > 0:
                add(i, 16, full)
                deficit -= full
        if deficit > 0:  # part-timers (4 h, or until closing)
            add(i, min(8, n - i), deficit)
    return shifts


def _clock(seconds: float) -> str:
    m = round(seconds / 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def build_day(days: int) -> Built:
    """Single queue, 08:00-20:00, ``days`` days in one run."""
    agents = []
    open_s = DAY_OPEN * HOUR
    close_s = open_s + len(DAY_PROFILE) * INTERVAL
    for first, length, count in day_shifts():
        start = open_s + first * INTERVAL
        end = start + length * INTERVAL
        if end >= close_s:
            end = close_s + DAY_OVERTIME
        agents.append(
            AgentGroup(
                f"s{_clock(start).replace(':', '')}-{length / 2:g}h",
                count=count,
                queues=["q"],
                shift=(_clock(start), _clock(end)),
            )
        )
    handle = LogNormal(HANDLE, HANDLE)
    sc = Scenario(
        name="day",
        queues=[QueueConfig("q")],
        agents=agents,
        traffic=Traffic(
            rates=day_rates(),
            interval=INTERVAL,
            handle=handle,
            patience=Exponential(DAY_PATIENCE),
        ),
        start="00:00",
        warmup=0.0,
        duration=days * 86_400.0,
        drain=HOUR,
    )
    return Built(sc, single_queue_estimators(HANDLE, DAY_PATIENCE))


# --------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One simulated model: ``build()`` gives a fresh scenario and estimators."""

    group: str
    key: str
    label: str
    build: Callable[[], Built]
    load: float | None = None
    agents: int | None = None


@dataclass(frozen=True)
class Settings:
    reps: int
    hours: float
    days: int


def cases(settings: Settings, groups: Sequence[str]) -> list[Case]:
    h = settings.hours
    out: list[Case] = []
    if "mm100" in groups:
        for load in MM_LOADS:
            build = partial(build_mm, 100, load, None, h)
            out.append(Case("mm100", f"mm100-{load:g}", f"load {load:g}", build, load, 100))
    if "mm100m" in groups:
        for load in MMM_LOADS:
            build = partial(build_mm, 100, load, HANDLE, h)
            out.append(Case("mm100m", f"mm100m-{load:g}", f"load {load:g}", build, load, 100))
    if "multiskill" in groups:
        out.append(Case("multiskill", "multiskill", "3 queues", partial(build_multiskill, h)))
    if "day" in groups:
        days = settings.days
        label = f"{days} day{'s' if days > 1 else ''}"
        out.append(Case("day", "day", label, partial(build_day, days)))
    if "hotline" in groups:
        for s in HOTLINE_AGENTS:
            build = partial(build_mm, s, HOTLINE_LOAD, None, h)
            out.append(Case("hotline", f"hotline-{s}", f"{s} agents", build, HOTLINE_LOAD, s))
    return out


# -------------------------------------------------------------------- running


@dataclass
class Rec:
    """A delayed measured caller, as plain data (crosses process boundaries)."""

    queue: str
    priority: int
    arrived: float
    waited: float
    answered: bool
    estimates: dict[str, float]


@dataclass
class RepResult:
    case: str
    rep: int
    names: list[str]
    records: list[Rec]
    wall: float
    calls: int


def run_one(case: Case, rep: int) -> RepResult:
    """Replication ``rep`` of ``case`` (in a worker process with ``--jobs``)."""
    built = case.build()
    names = [e.name for e in built.estimators]
    if len(set(names)) != len(names):
        raise RuntimeError(f"estimator names clash: {names}")
    started = time.perf_counter()
    result = run_replication(
        built.scenario, random.Random(f"ewt:{case.key}:{rep}"), estimators=built.estimators
    )
    wall = time.perf_counter() - started
    records = [
        Rec(r.queue, r.priority, r.arrived, r.waited, r.answered, dict(r.estimates))
        for r in result.wait_records
    ]
    return RepResult(case.key, rep, names, records, wall, result.calls)


# -------------------------------------------------------------------- figures


@dataclass
class Stats:
    """Accuracy of one estimator over a set of delayed answered callers."""

    n: int
    mean_wait: float
    rase: float
    mae: float
    bias: float
    rmse: float

    @classmethod
    def of(cls, pairs: Sequence[tuple[float, float]]) -> Stats:
        """From ``(estimate, actual)`` pairs."""
        n = len(pairs)
        if n == 0:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        mean_wait = math.fsum(w for _, w in pairs) / n
        mse = math.fsum((e - w) ** 2 for e, w in pairs) / n
        mae = math.fsum(abs(e - w) for e, w in pairs) / n
        bias = math.fsum(e - w for e, w in pairs) / n
        rase = mse / mean_wait**2 if mean_wait > 0 else math.nan
        return cls(n, mean_wait, rase, mae, bias, math.sqrt(mse))


@dataclass
class CaseResult:
    case: Case
    names: list[str]
    answered: int  # delayed answered callers used
    abandoned: int  # delayed callers who hung up
    unknown: int  # answered records left out: some estimate was infinite
    calls: int
    wall: float
    pooled: dict[str, Stats]
    per_rep: dict[str, list[float]]  # RASE per replication
    extra: dict[str, Any] = field(default_factory=dict)
    records: list[Rec] = field(default_factory=list, repr=False)

    def rase(self, name: str) -> float:
        return self.pooled[name].rase


def usable(records: Iterable[Rec]) -> tuple[list[Rec], int, int]:
    """The answered records with every estimate finite; abandoned and unknown counts."""
    out = []
    abandoned = unknown = 0
    for r in records:
        if not r.answered:
            abandoned += 1
        elif all(math.isfinite(v) for v in r.estimates.values()):
            out.append(r)
        else:
            unknown += 1
    return out, abandoned, unknown


def evaluate(case: Case, reps: Sequence[RepResult]) -> CaseResult:
    names = reps[0].names
    pooled_recs: list[Rec] = []
    abandoned = unknown = 0
    per_rep: dict[str, list[float]] = {n: [] for n in names}
    for rr in reps:
        recs, ab, unk = usable(rr.records)
        abandoned += ab
        unknown += unk
        pooled_recs.extend(recs)
        for n in names:
            per_rep[n].append(Stats.of([(r.estimates[n], r.waited) for r in recs]).rase)
    pooled = {n: Stats.of([(r.estimates[n], r.waited) for r in pooled_recs]) for n in names}
    res = CaseResult(
        case=case,
        names=names,
        answered=len(pooled_recs),
        abandoned=abandoned,
        unknown=unknown,
        calls=sum(rr.calls for rr in reps),
        wall=sum(rr.wall for rr in reps),
        pooled=pooled,
        per_rep=per_rep,
        records=pooled_recs,
    )
    if case.group == "hotline":
        spoken = [(spoken_wait(r.estimates[LEARNED])[0], r.waited) for r in pooled_recs]
        res.extra["announced"] = Stats.of(spoken)
    return res


# ------------------------------------------------------------------ printing


def fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}"


def table(heads: Sequence[str], rows: Sequence[Sequence[str]], right: int = 1) -> str:
    """A markdown table; columns from ``right`` on are right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            out.append(c.rjust(widths[i]) if i >= right else c.ljust(widths[i]))
        return "| " + " | ".join(out) + " |"

    rule = [("-" * (w - 1) + ":") if i >= right else "-" * w for i, w in enumerate(widths)]
    return "\n".join([line(heads), "| " + " | ".join(rule) + " |", *(line(r) for r in rows)])


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 and math.isfinite(a) and math.isfinite(b) else math.nan


def best_other(res: CaseResult) -> tuple[str, float]:
    """The most accurate estimator other than the learned one (by RASE)."""
    others = [(res.rase(n), n) for n in res.names if n != LEARNED]
    rase, name = min(others)
    return name, rase


def estimator_table(results: Sequence[CaseResult]) -> str:
    rows = []
    for res in results:
        for n in res.names:
            st = res.pooled[n]
            reps = [x for x in res.per_rep[n] if math.isfinite(x)]
            spread = f"{min(reps):.4f}-{max(reps):.4f}" if reps else "-"
            rows.append(
                [
                    res.case.label,
                    n,
                    str(st.n),
                    fmt(st.rase),
                    spread,
                    fmt(st.mae, 2),
                    f"{st.bias:+.2f}",
                    fmt(st.mean_wait, 1),
                ]
            )
    heads = ["case", "estimator", "n", "RASE", "RASE reps", "MAE s", "bias s", "mean wait s"]
    return table(heads, rows, right=2)


def summary_table(results: Sequence[CaseResult]) -> str:
    group = results[0].case.group
    rows = []
    if group == "mm100":
        heads = [
            "load",
            "delayed answered",
            "abandoned",
            "1-load",
            "queue-length RASE",
            "learned RASE",
            "learned / queue-length",
            "learned / (1-load)",
            "asterisk / learned",
        ]
        for res in results:
            load = res.case.load or 0.0
            ql, le = res.rase(QUEUE_LENGTH), res.rase(LEARNED)
            rows.append(
                [
                    f"{load:g}",
                    str(res.answered),
                    str(res.abandoned),
                    fmt(1 - load),
                    fmt(ql),
                    fmt(le),
                    fmt(ratio(le, ql), 3),
                    fmt(ratio(le, 1 - load), 3),
                    fmt(ratio(res.rase(ASTERISK), le), 2),
                ]
            )
        return table(heads, rows)
    if group == "hotline":
        heads = [
            "agents",
            "delayed answered",
            "mean wait s",
            "learned MAE s",
            "announced MAE s",
            "announced bias s",
            "queue-length MAE s",
            "learned RASE",
            "asterisk / learned",
        ]
        for res in results:
            ann: Stats = res.extra["announced"]
            rows.append(
                [
                    str(res.case.agents),
                    str(res.answered),
                    fmt(res.pooled[LEARNED].mean_wait, 1),
                    fmt(res.pooled[LEARNED].mae, 2),
                    fmt(ann.mae, 2),
                    f"{ann.bias:+.2f}",
                    fmt(res.pooled[QUEUE_LENGTH].mae, 2),
                    fmt(res.rase(LEARNED)),
                    fmt(ratio(res.rase(ASTERISK), res.rase(LEARNED)), 2),
                ]
            )
        return table(heads, rows)
    heads = [
        "case",
        "delayed answered",
        "abandoned",
        "unknown",
        "learned RASE",
        "best other",
        "its RASE",
        "learned / best other",
        "asterisk / learned",
    ]
    for res in results:
        name, other = best_other(res)
        le = res.rase(LEARNED)
        rows.append(
            [
                res.case.label,
                str(res.answered),
                str(res.abandoned),
                str(res.unknown),
                fmt(le),
                name,
                fmt(other),
                fmt(ratio(le, other), 3),
                fmt(ratio(res.rase(ASTERISK), le), 2),
            ]
        )
    return table(heads, rows)


def breakdown_table(
    res: CaseResult, key: Callable[[Rec], str], what: str, names: Sequence[str]
) -> str:
    """RASE and bias of ``names`` per class of callers (``key``)."""
    classes: dict[str, list[Rec]] = {}
    for r in res.records:
        classes.setdefault(key(r), []).append(r)
    heads = [what, "n", "mean wait s"]
    for n in names:
        heads += [f"{n} RASE", f"{n} bias s"]
    rows = []
    for k in sorted(classes):
        recs = classes[k]
        row = [k, str(len(recs)), fmt(math.fsum(r.waited for r in recs) / len(recs), 1)]
        for n in names:
            st = Stats.of([(r.estimates[n], r.waited) for r in recs])
            row += [fmt(st.rase), f"{st.bias:+.1f}"]
        rows.append(row)
    return table(heads, rows)


def _period(r: Rec) -> str:
    """Two-hour block of the day of a caller of the day scenario."""
    h = int((r.arrived % 86_400.0) // 7200) * 2
    return f"{h:02d}-{h + 2:02d}h"


# -------------------------------------------------------------------- targets


@dataclass
class Target:
    scenario: str
    target: str
    measured: str
    met: bool


def targets(results: Mapping[str, list[CaseResult]]) -> list[Target]:
    out: list[Target] = []
    for group, rs in results.items():
        for res in rs:
            label = f"{group} {res.case.label}"
            le = res.rase(LEARNED)
            if group == "mm100":
                load = res.case.load or 0.0
                r = ratio(le, 1 - load)
                out.append(
                    Target(label, f"learned RASE / (1-load) <= {TARGET_MM_RATIO:.2f}",
                           f"{r:.3f} ({le:.4f} / {1 - load:.2f})", r <= TARGET_MM_RATIO)
                )  # fmt: skip
                ql = res.rase(QUEUE_LENGTH)
                r = ratio(le, ql)
                out.append(
                    Target(label, f"learned RASE / queue-length RASE <= {TARGET_MM_RATIO:.2f} "
                           "(same callers)", f"{r:.3f} ({le:.4f} / {ql:.4f})",
                           r <= TARGET_MM_RATIO)
                )  # fmt: skip
            elif group == "mm100m":
                ea = res.rase(ERLANG_A)
                out.append(
                    Target(label, "learned RASE <= erlang-a RASE",
                           f"{le:.4f} vs {ea:.4f}", le <= ea)
                )  # fmt: skip
            elif group in ("multiskill", "day"):
                name, other = best_other(res)
                out.append(
                    Target(label, "learned RASE < every other",
                           f"{le:.4f} vs {name} {other:.4f}", le < other)
                )  # fmt: skip
            elif group == "hotline":
                ann: Stats = res.extra["announced"]
                out.append(
                    Target(label, f"announced MAE <= {TARGET_ANNOUNCED_MAE:g} s",
                           f"{ann.mae:.2f} s (unrounded {res.pooled[LEARNED].mae:.2f} s)",
                           ann.mae <= TARGET_ANNOUNCED_MAE)
                )  # fmt: skip
            ar = ratio(res.rase(ASTERISK), le)
            out.append(
                Target(label, f"asterisk RASE / learned RASE >= {TARGET_ASTERISK:g}",
                       f"{ar:.2f}", ar >= TARGET_ASTERISK)
            )  # fmt: skip
    return out


# ----------------------------------------------------------------------- main


def describe(group: str, settings: Settings) -> str:
    reps = settings.reps
    if group == "day":
        sh = day_shifts()
        agents = sum(c for _, _, c in sh)
        need = [math.ceil(r * DAY_PEAK / INTERVAL * HANDLE / DAY_LOAD) for r in DAY_PROFILE]
        return (
            f"{reps} replications of {settings.days} day(s), 08:00-20:00; peak "
            f"{DAY_PEAK:g} calls/30 min; {len(sh)} shift groups, {agents} agents, "
            f"{min(need)}-{max(need)} needed per interval (load {DAY_LOAD}); "
            f"handle log-normal mean {HANDLE:g} s cv 1; patience exponential {DAY_PATIENCE:g} s."
        )
    if group == "multiskill":
        return (
            f"{reps} replications x {settings.hours:g} h (+2 h warm-up); erlangs "
            + ", ".join(f"{q} {a:g}" for q, a in MS_ERLANGS.items())
            + "; handle log-normal, cv 1, mean "
            + ", ".join(f"{q} {h:g} s" for q, h in MS_HANDLE.items())
            + f"; VIP = {MS_VIP_SHARE:.0%} of support at priority 5 (priority classes); agents: "
            "sales 20, support 30, billing 8, support+sales 15 (support first), "
            f"billing+sales 10 (billing first) = 83; patience exponential {MS_PATIENCE:g} s. "
            "queue-length and erlang-a are told each queue's true mean handle time."
        )
    return f"{reps} replications x {settings.hours:g} h measured (+2 h warm-up)."


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 reps x 2 h, 1 day")
    ap.add_argument("--reps", type=int, default=None, help="replications per case (3)")
    ap.add_argument("--hours", type=float, default=None, help="measured hours (10)")
    ap.add_argument("--days", type=int, default=None, help="days of the day scenario (2)")
    ap.add_argument(
        "--scenario", action="append", choices=list(GROUP_TITLES), help="repeatable; default all"
    )
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (1)")
    ap.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    args = ap.parse_args(argv)
    settings = Settings(
        reps=args.reps or (2 if args.quick else 3),
        hours=args.hours or (2.0 if args.quick else 10.0),
        days=args.days or (1 if args.quick else 2),
    )
    if args.hours is not None and (args.hours * HOUR / INTERVAL) % 1:
        ap.error("--hours must be a multiple of 0.5")
    groups = args.scenario or list(GROUP_TITLES)
    all_cases = cases(settings, groups)
    started = time.perf_counter()
    tasks = [(c, r) for c in all_cases for r in range(settings.reps)]
    done: dict[str, list[RepResult]] = {c.key: [] for c in all_cases}
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, c, r) for c, r in tasks]
            for f in futures:
                rr = f.result()
                done[rr.case].append(rr)
    else:
        for c, r in tasks:
            rr = run_one(c, r)
            done[rr.case].append(rr)
            print(f"  {c.key} rep {r}: {rr.wall:.1f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - started

    results: dict[str, list[CaseResult]] = {}
    for c in all_cases:
        results.setdefault(c.group, []).append(evaluate(c, done[c.key]))

    print("# Wait-time estimator accuracy (acdcore simulator)\n")
    print(
        "Figures over delayed callers who were **answered** (the estimate at arrival vs the "
        "wait until answered); abandoned = delayed callers who hung up (not in the figures). "
        "RASE = mean squared error / (mean actual wait)^2; bias = mean(estimate - actual). "
        "Pooled over replications; 'RASE reps' = min-max of the per-replication RASE.\n"
    )
    for group, rs in results.items():
        print(f"## {GROUP_TITLES[group]}\n")
        print(describe(group, settings) + "\n")
        print(estimator_table(rs) + "\n")
        print(summary_table(rs) + "\n")
        if group == "multiskill":
            names = [LEARNED, QUEUE_LENGTH, "head-of-line", ASTERISK]
            print("By queue and priority:\n")
            print(breakdown_table(rs[0], lambda r: f"{r.queue} p{r.priority}", "class", names))
            print()
        if group == "day":
            names = [LEARNED, QUEUE_LENGTH, ERLANG_A, ASTERISK]
            print("By time of day:\n")
            print(breakdown_table(rs[0], _period, "arrived", names))
            print()
    tg = targets(results)
    print("## Targets\n")
    print(
        table(
            ["scenario", "target", "measured", "met"],
            [[t.scenario, t.target, t.measured, "met" if t.met else "MISSED"] for t in tg],
            right=4,
        )
    )
    calls = sum(r.calls for rs in results.values() for r in rs)
    print(
        f"\n{sum(t.met for t in tg)}/{len(tg)} targets met. {len(tasks)} replications, "
        f"{calls:,} calls simulated, wall {wall:.1f} s (jobs {args.jobs}); "
        f"acdcore {acdcore.__version__} from {os.path.dirname(acdcore.__file__)}, "
        f"Python {platform.python_version()}."
    )

    if args.json:
        data: dict[str, Any] = {
            "settings": {
                "reps": settings.reps,
                "hours": settings.hours,
                "days": settings.days,
                "jobs": args.jobs,
            },
            "wall_seconds": wall,
            "scenarios": {
                group: [
                    {
                        "case": r.case.label,
                        "key": r.case.key,
                        "load": r.case.load,
                        "agents": r.case.agents,
                        "delayed_answered": r.answered,
                        "delayed_abandoned": r.abandoned,
                        "unknown": r.unknown,
                        "calls": r.calls,
                        "sim_wall_seconds": r.wall,
                        "estimators": {
                            n: {**vars(r.pooled[n]), "rase_per_rep": r.per_rep[n]} for n in r.names
                        },
                        **(
                            {"announced": vars(r.extra["announced"])}
                            if "announced" in r.extra
                            else {}
                        ),
                    }
                    for r in rs
                ]
                for group, rs in results.items()
            },
            "targets": [vars(t) for t in tg],
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, allow_nan=True)
        print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
