"""The state of one simulated replication, how it is set up and what it
sums up to.

:class:`_RunState` holds what the driver knows about a run: the distributor
and the metrics it feeds, the driver's own view of calls (:class:`_Call`),
agents (:class:`_Agent`) and call types (:class:`_Type`), the heap of future
events and the counters the KPIs need. Building it puts every agent's
logins, breaks and logouts on the heap and prepares the Poisson arrival
stream (:func:`_poisson`, which draws lazily, as the run needs the next
arrival); :meth:`_RunState.result` turns the finished run into a
:class:`~acdcore.sim.Replication`. The event loop and the handlers that move
the state forward are :class:`acdcore._sim_run._Run`. The module docstring of
:mod:`acdcore.sim` describes the driver and the order of its random draws.
"""

from __future__ import annotations

import heapq
import math
import random
from array import array
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from ._sim_results import Replication, WaitRecord
from ._sim_stats import _CB_FIELDS, KPIS, _callback_kpis, _kpis
from .config import AgentProfile
from .distributions import Distribution
from .distributor import Distributor
from .estimators import WaitEstimator
from .metrics import IntervalStats, Metrics
from .scenario import DAY, Scenario
from .skills import SkillRequirement

# The states of a call still in the centre and not yet answered (CallState
# values, as Distributor.counts() names them): its outcome is unknown.
_UNRESOLVED = frozenset({"waiting", "ringing", "callback-pending"})

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


class _RunState:
    """One replication's state: the distributor, the metrics and the driver's
    view, set up from the scenario; the event loop is :class:`~acdcore._sim_run._Run`."""

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

    # ------------------------------------------------------- bookkeeping

    def _count_callback(self, cid: str, field: int) -> None:
        """Count a callback step of call ``cid`` if it is measured."""
        call = self.calls.get(cid)
        if call is not None and call.bucket >= 0:
            self.cb[call.queue][field][call.bucket] += 1

    def _bucket(self, t: float) -> int:
        rel = t - self.origin
        if rel < 0 or t >= self.measured_end:
            return -1
        return min(int(rel // self.interval), len(self.entered) - 1)

    def planned(self, attributes: Mapping[str, Any], t: float) -> str:
        """The queue a call asks for when its type names none: the one the
        plan's matching rule sends it to (so that the KPIs are attributed to
        it), else the first queue."""
        plan = self.plan
        if plan is None:
            return self.first
        queue = plan.decide(attributes, t).queue
        return queue if queue is not None else self.first

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

    @staticmethod
    def logged_out(agent: _Agent) -> None:
        agent.logged_in = False
        agent.pending_logout = False
        agent.paused = False
        agent.on_break = False
        agent.token += 1  # pending resumes are stale

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
