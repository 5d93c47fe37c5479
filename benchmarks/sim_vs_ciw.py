"""Simulator benchmark: acdcore's simulator against ciw, simpy and a bare heapq loop.

Run from the repository root::

    PYTHONPATH=src python benchmarks/sim_vs_ciw.py              # about 1 min
    PYTHONPATH=src python benchmarks/sim_vs_ciw.py --profile    # + cProfile of acdcore (30 s)
    PYTHONPATH=src python benchmarks/sim_vs_ciw.py --reps 3 --hours 12 --tool acdcore --tool ciw
    PYTHONPATH=src python benchmarks/sim_vs_ciw.py --toml       # the acdcore scenarios as TOML

ciw and simpy are benchmark-only extras (``pip install ciw simpy``); a tool that is not
installed is skipped with a message.

Every tool simulates the same two models, with the same horizon:

- ``M/M/100``: Poisson arrivals at 0.5 calls/s, exponential service with mean 180 s (offered
  load 90 erlangs, utilisation 0.9), 100 servers, FIFO, nobody hangs up;
- ``M/M/100+M``: the same, and a waiting caller hangs up after an exponential patience with
  mean 180 s.

Arrivals come during ``--warmup`` seconds (1,800) plus ``--hours`` measured hours (24, a
multiple of half an hour), so about 44,000 customers per run; then arrivals stop and the run goes on until every customer
has been served or has hung up. The mean wait and P(wait) are over customers arriving after
the warm-up; the wait of a customer who hangs up is the time until they hung up (Erlang A's
"ASA" over all arrivals). They are printed next to Erlang C / Erlang A from
``acdcore.staffing`` to show that the four tools simulate the same queue.

The tools:

- ``acdcore``: ``acdcore.sim.run_replication`` on a ``Scenario`` (one queue, one group of
  100 agents logged in for the whole run, instant answers, no wrap-up), i.e. the real
  distributor's engine with ``Metrics`` kept of every step, and the replication's KPIs
  computed at the end. On the native backend the whole loop runs in C (``acd_sim.c``; the
  same steps, draws and results as the Python loop, which ``ACDCORE_SIM_LOOP=python`` picks
  here for comparison);
- ``ciw``: ``ciw.Simulation`` of a one-node network (``reneging_time_distributions`` for the
  patience); the arrival distribution is ciw's ``Exponential`` returning infinity once the
  horizon is reached, so arrivals stop as in the others;
- ``simpy``: a ``simpy.Resource`` with 100 slots, a process per customer, ``req |
  env.timeout(patience)`` for reneging (the pattern of simpy's bank-renege example);
- ``heapq``: a bare M/M/s event loop written here (a heap of ``(t, kind, id)``, a deque of
  waiting ids, lazy deletion of those who hung up): a reference for what pure Python costs.
  It draws in the same order as the simpy model (gap to the next arrival, then service time),
  so without abandonment the two follow the very same sample path: identical statistics.

Customers per second = customers that completed or abandoned / the wall time of the run
(building the per-run simulation object, running it and collecting the per-customer results
it needs for the statistics; imports and the ``Scenario`` itself are built once). Each of
``--reps`` repetitions runs every (model, tool) once, tools in a rotated order, with
``gc.collect()`` before each run; the tables give the median over the repetitions, and the
statistics are pooled over them.

After the timed runs, the "contract floor" is printed: the time per customer of building
again, through their constructors, the events one acdcore run handed its distributor and the
actions it returned, and nothing else, next to the time per customer each target allows
(10x ciw, 2x the heapq loop) in the same run. A floor above a budget means that no
implementation can meet that target while the simulator uses the public event and action
objects; the C loop builds none of them, so it runs below the floor.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import heapq
import importlib
import math
import os
import platform
import pstats
import random
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import attrs

import acdcore
from acdcore import FIFO, QueueConfig, erlang_a, erlang_c, native_available
from acdcore.distributions import Exponential
from acdcore.scenario import AgentGroup, Scenario, Traffic
from acdcore.sim import run_replication

RATE = 0.5  # arrivals per second
SERVICE = 180.0  # mean service time, s
SERVERS = 100
PATIENCE = 180.0  # mean patience, s (the +M model)
INTERVAL = 1800.0  # acdcore traffic interval, s
DRAIN = 14_400.0  # acdcore's default drain; ciw's time limit after the last arrival
MODELS = {"M/M/100": None, "M/M/100+M": PATIENCE}
TOOLS = ("acdcore", "ciw", "simpy", "heapq")
TARGET_CIW = 10.0  # acdcore / ciw, with the native backend
TARGET_HEAPQ = 0.5  # acdcore / heapq: within 2x of the bare loop


@dataclass
class Run:
    """One (model, tool) run: what it simulated, and the statistics of the measured
    customers (those arriving after the warm-up)."""

    customers: int  # completed or abandoned, warm-up included
    measured: int
    delayed: int  # measured customers who waited (not served on arrival)
    wait_sum: float  # waits of measured customers; abandoners: until they hung up
    abandoned: int  # measured customers who hung up
    wall: float = 0.0
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.customers / self.wall


# ------------------------------------------------------------------------ acdcore


def scenario(patience: float | None, warmup: float, hours: float) -> Scenario:
    """The model as an acdcore Scenario (``to_toml()`` prints it as TOML)."""
    per_interval = RATE * INTERVAL
    return Scenario(
        name="M/M/100" + ("" if patience is None else "+M"),
        queues=[QueueConfig("q", policy=FIFO())],
        agents=[AgentGroup("a", count=SERVERS, queues=["q"])],
        traffic=Traffic(
            rates=[per_interval],
            interval=INTERVAL,
            handle=Exponential(SERVICE),
            patience=None if patience is None else Exponential(patience),
        ),
        warmup=warmup,
        duration=hours * 3600.0,
        drain=DRAIN,
    )


def run_acdcore(sc: Scenario, seed: int) -> Run:
    rep = run_replication(sc, random.Random(seed))
    waits = [w for ws in rep.waits.values() for w in ws]
    gone = [w for ws in rep.abandoned_waits.values() for w in ws]
    measured = len(waits) + len(gone)
    p_wait = rep.kpis["wait_probability"] or 0.0
    return Run(
        customers=rep.calls,  # every call is resolved: the run drains until none is left
        measured=measured,
        delayed=round(p_wait * measured),
        wait_sum=math.fsum(waits) + math.fsum(gone),
        abandoned=len(gone),
    )


# ---------------------------------------------------------------------------- ciw


def run_ciw(ciw: Any, patience: float | None, horizon: float, warmup: float, seed: int) -> Run:
    class Arrivals(ciw.dists.Exponential):  # type: ignore[misc]
        """ciw's Exponential, stopping at the horizon (like the other tools)."""

        def sample(self, t: float = 0.0, ind: Any = None) -> float:
            gap: float = super().sample(t, ind)
            return gap if t + gap < horizon else math.inf

    ciw.seed(seed)
    kwargs: dict[str, Any] = {
        "arrival_distributions": [Arrivals(rate=RATE)],
        "service_distributions": [ciw.dists.Exponential(rate=1.0 / SERVICE)],
        "number_of_servers": [SERVERS],
    }
    if patience is not None:
        kwargs["reneging_time_distributions"] = [ciw.dists.Exponential(rate=1.0 / patience)]
    sim = ciw.Simulation(ciw.create_network(**kwargs))
    sim.simulate_until_max_time(horizon + DRAIN)
    records = sim.get_all_records(only=["service", "renege"])
    run = Run(len(records), 0, 0, 0.0, 0)
    for r in records:
        if r.arrival_date >= warmup:
            run.measured += 1
            run.wait_sum += r.waiting_time
            if r.waiting_time > 0.0:
                run.delayed += 1
            if r.record_type == "renege":
                run.abandoned += 1
    return run


# -------------------------------------------------------------------------- simpy


def run_simpy(simpy: Any, patience: float | None, horizon: float, warmup: float, seed: int) -> Run:
    rng = random.Random(seed)
    expo = rng.expovariate
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    run = Run(0, 0, 0, 0.0, 0)
    mu = 1.0 / SERVICE

    def customer(arrived: float) -> Any:
        measured = arrived >= warmup
        with servers.request() as req:
            if patience is None:
                yield req
            else:
                got = yield req | env.timeout(expo(1.0 / patience))
                if req not in got:  # hung up
                    run.customers += 1
                    if measured:
                        run.measured += 1
                        run.delayed += 1
                        run.abandoned += 1
                        run.wait_sum += env.now - arrived
                    return
            if measured:
                wait = env.now - arrived
                run.measured += 1
                run.wait_sum += wait
                if wait > 0.0:
                    run.delayed += 1
            yield env.timeout(expo(mu))
        run.customers += 1

    def source() -> Any:
        t = expo(RATE)
        while t < horizon:
            yield env.timeout(t - env.now)
            env.process(customer(env.now))
            t += expo(RATE)

    env.process(source())
    env.run()
    return run


# -------------------------------------------------------------------------- heapq

_DEPART, _ARRIVE, _ABANDON = 0, 1, 2


def run_heapq(patience: float | None, horizon: float, warmup: float, seed: int) -> Run:
    """A bare M/M/s(+M) event loop: the floor for a pure-Python simulator."""
    expo = random.Random(seed).expovariate
    push, pop = heapq.heappush, heapq.heappop
    mu = 1.0 / SERVICE
    theta = 0.0 if patience is None else 1.0 / patience
    heap: list[tuple[float, int, int]] = []
    queue: deque[int] = deque()
    waiting: dict[int, float] = {}  # id -> arrival, while in the queue
    free = SERVERS
    served = customers = measured = delayed = abandoned = 0
    wait_sum = 0.0
    nxt = 0
    t = expo(RATE)
    if t < horizon:
        push(heap, (t, _ARRIVE, 0))
    while heap:
        t, kind, cid = pop(heap)
        if kind == _DEPART:
            served += 1
            while queue:
                arrived = waiting.pop(queue.popleft(), None)
                if arrived is not None:  # else it hung up: lazy deletion
                    if arrived >= warmup:
                        wait_sum += t - arrived
                    push(heap, (t + expo(mu), _DEPART, 0))
                    break
            else:
                free += 1
        elif kind == _ARRIVE:
            nxt += 1
            gap = t + expo(RATE)
            if gap < horizon:
                push(heap, (gap, _ARRIVE, 0))
            m = t >= warmup
            measured += m
            if free:
                free -= 1
                push(heap, (t + expo(mu), _DEPART, 0))
            else:
                delayed += m
                waiting[nxt] = t
                queue.append(nxt)
                if theta:  # memoryless: drawing the patience only for those who wait is exact
                    push(heap, (t + expo(theta), _ABANDON, nxt))
        else:
            arrived = waiting.pop(cid, None)
            if arrived is not None:  # still waiting: hangs up
                customers += 1
                if arrived >= warmup:
                    abandoned += 1
                    wait_sum += t - arrived
    return Run(served + customers, measured, delayed, wait_sum, abandoned)


# ------------------------------------------------------------------------ harness


def load(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def runners(
    args: argparse.Namespace, wanted: list[str]
) -> dict[str, dict[str, Callable[[int], Run]]]:
    """Per model, per available tool: a function of the seed that runs it once."""
    horizon = args.warmup + args.hours * 3600.0
    warmup = args.warmup
    mods = {"ciw": load("ciw"), "simpy": load("simpy")}
    for name in ("ciw", "simpy"):
        if name in wanted and mods[name] is None:
            print(f"{name} is not installed: skipped (pip install {name})")
    out: dict[str, dict[str, Callable[[int], Run]]] = {}
    for model, patience in MODELS.items():
        sc = scenario(patience, args.warmup, args.hours)
        table: dict[str, Callable[[int], Run]] = {}
        for tool in wanted:
            if tool == "acdcore":
                table[tool] = partial(run_acdcore, sc)
            elif tool == "heapq":
                table[tool] = partial(run_heapq, patience, horizon, warmup)
            elif tool == "ciw" and mods["ciw"] is not None:
                table[tool] = partial(run_ciw, mods["ciw"], patience, horizon, warmup)
            elif tool == "simpy" and mods["simpy"] is not None:
                table[tool] = partial(run_simpy, mods["simpy"], patience, horizon, warmup)
        out[model] = table
    return out


def timed(fn: Callable[[int], Run], seed: int) -> Run:
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    run = fn(seed)
    run.cpu = time.process_time() - c0
    run.wall = time.perf_counter() - w0
    return run


def exact(patience: float | None) -> tuple[float, float, float]:
    """(mean wait, P(wait), P(abandon)) from Erlang C or Erlang A."""
    if patience is None:
        c = erlang_c(RATE, SERVICE, SERVERS)
        return c.asa, c.wait_probability, 0.0
    a = erlang_a(RATE, SERVICE, SERVERS, patience)
    return a.asa, a.wait_probability, a.abandon_probability


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}x"


def pooled(runs: list[Run], stat: Callable[[Run], float]) -> str:
    """A statistic pooled over the runs (weighted by measured customers), +- its standard
    error from the spread between runs."""
    value = sum(stat(r) * r.measured for r in runs) / sum(r.measured for r in runs)
    if len(runs) < 2:
        return f"{value:.4g}"
    se = statistics.stdev(stat(r) for r in runs) / math.sqrt(len(runs))
    return "0" if value == se == 0 else f"{value:.4g} +- {se:.2g}"


def markdown(heads: list[str], rows: list[list[str]], left: int = 1) -> None:
    """Print a Markdown table; the first ``left`` columns are aligned left."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]

    def line(cells: list[str]) -> str:
        out = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(out) + " |"

    print(line(heads))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


def report(results: dict[str, dict[str, list[Run]]], args: argparse.Namespace) -> None:
    print()
    print(
        f"customers/s: median over {args.reps} repetitions; mean wait, P(wait) and abandoned: "
        f"pooled over them (customers arriving after the {args.warmup:g} s warm-up), "
        "+- the standard error from the spread between repetitions"
    )
    print()
    rows = []
    for model, by_tool in results.items():
        wait, pw, pa = exact(MODELS[model])
        label = "Erlang C" if MODELS[model] is None else "Erlang A"
        rows.append([model, label, "", "", "", "", f"{wait:.4g}", f"{pw:.4g}", f"{100 * pa:.3g}"])
        for tool, runs in by_tool.items():
            rate = statistics.median(r.rate for r in runs)
            rows.append(
                [
                    model,
                    tool,
                    f"{statistics.median(r.customers for r in runs):,.0f}",
                    f"{statistics.median(r.wall for r in runs):.3f}",
                    f"{rate:,.0f}",
                    f"{1e6 / rate:.1f}",
                    pooled(runs, lambda r: r.wait_sum / r.measured),
                    pooled(runs, lambda r: r.delayed / r.measured),
                    pooled(runs, lambda r: 100 * r.abandoned / r.measured),
                ]
            )
    heads = ["model", "tool", "customers", "wall s", "customers/s", "us/customer"]
    markdown([*heads, "mean wait s", "P(wait)", "abandoned %"], rows, left=2)
    backend = acdcore.BACKEND
    print()
    print(f"acdcore backend: {backend}; native extension built: {native_available()}")
    if backend != "native":
        print(
            "  the python backend is loaded (the extension is not built, or "
            "ACDCORE_BACKEND=python): the ratios below are the python backend's"
        )
    print()
    rows = []
    for model, by_tool in results.items():
        rates = {tool: statistics.median(r.rate for r in runs) for tool, runs in by_tool.items()}
        mine = rates.get("acdcore")
        rc, rs, rh = (
            None if mine is None or other not in rates else mine / rates[other]
            for other in ("ciw", "simpy", "heapq")
        )
        met_c = "-" if rc is None else ("met" if rc >= TARGET_CIW else "missed") + f" ({backend})"
        met_h = "-" if rh is None else ("met" if rh >= TARGET_HEAPQ else "missed")
        rows.append([model, fmt_ratio(rc), fmt_ratio(rs), fmt_ratio(rh), met_c, met_h])
    heads = ["model", "acdcore/ciw", "acdcore/simpy", "acdcore/heapq"]
    targets = [f"acdcore/ciw >= {TARGET_CIW:g}x", f"acdcore/heapq >= {TARGET_HEAPQ:g}x"]
    markdown([*heads, *targets], rows)
    print()
    for model, by_tool in results.items():
        for tool, runs in by_tool.items():
            walls = ", ".join(f"{r.rate:,.0f}" for r in runs)
            cpu = statistics.median(r.customers / r.cpu for r in runs if r.cpu > 0)
            print(f"  {model} {tool}: customers/s per repetition {walls}; by CPU time {cpu:,.0f}")


# -------------------------------------------------------------------- contract floor


def contract_floor(model: str, args: argparse.Namespace) -> tuple[float, float, int]:
    """What the public contract alone costs per customer in this model.

    Runs acdcore once with a journal, then times building again every event the
    simulator handed the distributor and every action it returned (the same
    types, with the same field values, through their constructors), and nothing
    else: no routing, no KPIs, no event loop. Returns (objects per customer,
    the least us per customer of five timings, customers): the best case, as
    the floor is a bound, not an estimate of a typical run."""
    sc = scenario(MODELS[model], args.warmup, args.hours)
    journal: list[Any] = []
    rep = run_replication(sc, random.Random(args.seed), journal=journal)
    items: list[Any] = []
    for head, acts in journal:
        if not isinstance(head, float):
            items.append(head)
        items.extend(acts)
    specs = []
    for obj in items:
        cls = type(obj)
        kw = {f.alias: getattr(obj, f.name) for f in attrs.fields(cls) if f.init}
        specs.append((cls, kw))
    times = []
    for _ in range(5):
        gc.collect()
        t0 = time.perf_counter()
        for cls, kw in specs:
            cls(**kw)
        times.append(time.perf_counter() - t0)
    return len(specs) / rep.calls, min(times) * 1e6 / rep.calls, rep.calls


def report_floor(results: dict[str, dict[str, list[Run]]], args: argparse.Namespace) -> None:
    """Print the contract floor next to the time per customer the 10x-ciw target allows."""
    print()
    print(
        "contract floor: building again, through their constructors, the events the "
        "simulator handed the distributor and the actions it returned (nothing else), "
        "per customer; budgets: the us/customer that 10x ciw and 2x the heapq loop allow"
    )
    print()
    rows = []
    for model in MODELS:
        per, us, customers = contract_floor(model, args)
        runs = results.get(model, {})
        ciw = statistics.median(r.rate for r in runs["ciw"]) if runs.get("ciw") else None
        mine = statistics.median(r.rate for r in runs["acdcore"]) if runs.get("acdcore") else None
        bare = statistics.median(r.rate for r in runs["heapq"]) if runs.get("heapq") else None
        budget = None if ciw is None else 1e6 / (TARGET_CIW * ciw)
        loop = None if bare is None else 1e6 / (TARGET_HEAPQ * bare)
        rows.append(
            [
                model,
                f"{customers:,}",
                f"{per:.2f}",
                f"{us:.2f}",
                "-" if mine is None else f"{1e6 / mine:.1f}",
                "-" if budget is None else f"{budget:.2f}",
                "-" if budget is None else f"{us / budget:.2f}x",
                "-" if loop is None else f"{loop:.2f}",
                "-" if loop is None else f"{us / loop:.2f}x",
            ]
        )
    heads = ["model", "customers", "objects/customer", "floor us/customer"]
    heads += ["acdcore us/customer", "10x-ciw budget", "floor/budget"]
    heads += ["2x-heapq budget", "floor/budget"]
    markdown(heads, rows)


# ------------------------------------------------------------------------ profile


def profile(args: argparse.Namespace) -> None:
    """cProfile one acdcore run of each model: where the time goes, by layer and by
    function. cProfile's overhead inflates the total (more so for many small calls): read
    the shares, not the seconds."""
    # The driver: acdcore.sim and its parts (the event loop, the run's state).
    driver_files = tuple(
        os.path.join("acdcore", name)
        for name in ("sim.py", "_sim_run.py", "_sim_state.py", "_sim_direct.py")
    )
    for model, patience in MODELS.items():
        sc = scenario(patience, args.warmup, args.hours)
        prof = cProfile.Profile()
        prof.enable()
        rep = run_replication(sc, random.Random(args.seed))
        prof.disable()
        raw: dict[Any, Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in raw.values())

        def cum(file_end: str, *funcs: str, raw: dict[Any, Any] = raw) -> float:
            """Cumulative time of these functions of that file."""
            return math.fsum(
                v[3] for (f, _, fn), v in raw.items() if f.endswith(file_end) and fn in funcs
            )

        def from_sim(pred: Callable[[str, str], bool], raw: dict[Any, Any] = raw) -> float:
            """Cumulative time of the functions matching ``pred`` called from the driver."""
            return math.fsum(
                cv[3]
                for (f, _, fn), v in raw.items()
                if pred(f, fn)
                for (cf, _, _), cv in v[4].items()
                if cf.endswith(driver_files)
            )

        def called(file_end: str, *funcs: str) -> float:
            return from_sim(lambda path, name: path.endswith(file_end) and name in funcs)

        handle = called("distributor.py", "handle")
        lane_fns = ("arrive", "answer", "end", "abandon", "advance")
        lane = called("_engine_lane.py", *lane_fns)
        c_engine = math.fsum(
            v[2] for (_, _, fn), v in raw.items() if "_acdnative.acd_engine_" in fn
        )
        advance = called("distributor.py", "advance", "next_deadline")
        observe_event = called("metrics.py", "observe_event")
        observe_actions = called("metrics.py", "observe_actions")
        fields = called(
            "_metrics_handlers.py",
            "_at", "_call_arrived", "_offer_answered", "_call_ended", "_call_abandoned",
            "_offer_made", "_call_queued", "_offer_cancelled", "_exit", "_apply_action",
        )  # fmt: skip
        metrics = observe_event + observe_actions + called("metrics.py", "advance") + fields
        result = cum("_sim_state.py", "result")
        events = from_sim(lambda path, name: "acdcore.events" in path and name == "__init__")
        draws = from_sim(lambda path, _: path.endswith("distributions.py") or "random" in path)
        driver = total - handle - lane - advance - metrics - result - events - draws
        per = rep.calls
        print()
        print(
            f"cProfile of one acdcore run, {model}: {per:,} customers, {rep.events:,} "
            f"events ({rep.events / per:.2f} per customer; handle calls or direct-lane steps), "
            f"{rep.advances:,} advances; {total:.2f} s under the profiler ({1e6 * total / per:.0f} us/customer)"
        )
        rows = [
            ("the direct lane (native backend, a covered configuration): the façade", lane),
            ("  arrivals (_engine_lane.arrive)", cum("/_engine_lane.py", "arrive")),
            ("    of which the Python checks and the sort key", cum("/_calls.py", "check_call_arrived") if lane else 0.0),
            ("  answers, ends, abandons, deadlines (_engine_lane)", cum("/_engine_lane.py", *lane_fns[1:])),
            ("  in C (acd_engine_*: the handlers, routing, deadlines)", c_engine if lane else 0.0),
            ("Distributor.handle (the object lane)", handle),
            ("  on the engine (native backend, the direct lane off):", None),
            ("    arrivals (_engine_facade.arrive)", cum("/_engine_facade.py", "arrive")),
            ("      of which the Python checks and the sort key", 0.0 if lane else cum("/_calls.py", "check_call_arrived")),
            ("    answers, ends, abandons (_engine_facade)", cum("/_engine_facade.py", "answer", "end", "abandon")),
            ("    in C (acd_engine_*: the handlers, routing, deadlines)", 0.0 if lane else c_engine),
            ("    action records to action objects (_engine_facade.wrap)", cum("/_engine_facade.py", "wrap")),
            ("  on the Python handlers (python backend, or the engine off):", None),
            ("    arrivals (check and apply)", cum("/_calls.py", "apply_call_arrived") + (0.0 if c_engine else cum("/_calls.py", "check_call_arrived"))),
            ("      of which route_call (free agents for a call)", cum("/_routing.py", "route_call")),
            ("    answers (check and apply)", cum("/_offers.py", "check_offer_answered", "apply_offer_answered")),
            ("    call ends (check and apply)", cum("/_offers.py", "check_call_ended", "apply_call_ended")),
            ("      of which route_agent (a freed agent looks for a call)", cum("/_routing.py", "route_agent")),
            ("    abandons (check and apply)", cum("/_calls.py", "check_call_abandoned", "apply_call_abandoned")),
            ("Distributor.advance + next_deadline", advance),
            ("Metrics (observe_event, observe_actions, advance; the lane's field handlers)", metrics),
            ("  observe_event", observe_event),
            ("  observe_actions", observe_actions),
            ("event objects built by the driver (attrs __init__)", events),
            ("random draws (distributions, Poisson arrivals)", draws),
            ("replication KPIs and reports (_Run.result)", result),
            ("driver itself (_sim_run.py loop, heap, bookkeeping)", driver),
        ]  # fmt: skip
        for label, seconds in rows:
            if seconds is None:
                print(f"  {label}")
            else:
                print(f"  {label:<72} {100 * seconds / total:5.1f} %")
        print(f"  top {args.top} functions by own time:")
        entries = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[: args.top]
        for (f, line, fn), v in entries:
            where = f"{os.path.basename(f)}:{line}" if line else "built-in"
            print(
                f"    {100 * v[2] / total:5.1f} %  {v[1] / per:6.2f} calls/customer  {fn} ({where})"
            )


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=5, help="repetitions (median; default 5)")
    p.add_argument("--hours", type=float, default=24.0, help="measured hours (whole half hours)")
    p.add_argument("--warmup", type=float, default=1800.0, help="warm-up seconds, not measured")
    p.add_argument("--seed", type=int, default=1, help="repetition r uses seed + r")
    p.add_argument("--tool", action="append", choices=TOOLS, help="repeatable; default: all four")
    p.add_argument("--profile", action="store_true", help="then cProfile one acdcore run")
    p.add_argument("--top", type=int, default=12, help="functions listed by --profile")
    p.add_argument("--toml", action="store_true", help="print the acdcore scenarios as TOML")
    args = p.parse_args(argv)
    wanted = args.tool or list(TOOLS)
    if args.toml:
        for patience in MODELS.values():
            print(scenario(patience, args.warmup, args.hours).to_toml())
    versions = {name: getattr(load(name), "__version__", None) for name in ("ciw", "simpy")}
    started = time.perf_counter()
    table = runners(args, wanted)
    results: dict[str, dict[str, list[Run]]] = {
        m: {t: [] for t in tools} for m, tools in table.items()
    }
    for r in range(args.reps):
        for model, tools in table.items():
            names = list(tools)
            k = r % len(names) if names else 0
            for tool in names[k:] + names[:k]:
                run = timed(tools[tool], args.seed + r)
                results[model][tool].append(run)
                print(
                    f"rep {r + 1}/{args.reps} {model:<9} {tool:<7} {run.customers:>7,} customers "
                    f"in {run.wall:6.3f} s: {run.rate:>9,.0f}/s",
                    flush=True,
                )
    report(results, args)
    report_floor(results, args)
    print()
    footer = [
        f"Python {platform.python_version()} on {platform.machine()}",
        f"acdcore {acdcore.__version__} from {os.path.dirname(acdcore.__file__)}",
        *(f"{k} {v}" for k, v in versions.items() if v is not None),
        f"{time.perf_counter() - started:.0f} s for the timed runs",
    ]
    print("; ".join(footer))
    if args.profile:
        profile(args)


if __name__ == "__main__":
    main()
