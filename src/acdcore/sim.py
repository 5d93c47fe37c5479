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

The code
--------

This module holds the public entry points (:func:`run_replication`,
:func:`simulate`, ``python -m acdcore.sim``) and re-exports the rest:
``_sim_stats`` (the KPIs, :func:`t_quantile`, :class:`Estimate`,
:func:`estimate`), ``_sim_results`` (:class:`WaitRecord`,
:class:`Replication`, :class:`IntervalEstimate`, :class:`SimulationResult`
and its report), ``_sim_state`` (a replication's state and set-up) and
``_sim_run`` (the event loop, :class:`SimulationError`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._sim_results import IntervalEstimate, Replication, SimulationResult, WaitRecord
from ._sim_run import SimulationError, _Run
from ._sim_stats import (
    CALLBACK_KPIS,
    KPI_RANGES,
    KPIS,
    Estimate,
    estimate,
    kpi_names,
    t_quantile,
)
from .errors import AcdError, InvalidValue
from .estimators import WaitEstimator
from .scenario import DAY, Scenario

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
