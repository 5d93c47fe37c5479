"""The simulator's replication loop in C, for the scenarios it covers (internal).

A replication whose distributor the C engine holds, with Poisson traffic,
no routing plan, journal, estimators, replayed calls, shifts, announcements
or callbacks, built-in distributions and policies (FIFO,
``PriorityClasses``, ``EmergencyFirst`` over either), runs its loop in C
(``acd_sim.c``): the loop of :class:`~acdcore._sim_run._Run` and the direct
lane (:mod:`~acdcore._sim_direct`), step for step and draw for draw, over
the same engine and the same random stream. It is the same simulator: the
agents log in through the distributor as before, the loop then runs in C,
and the run ends as before.

What the loop hands ``Metrics`` comes back as a log of compact records (one
per field-handler call of the direct lane: an arrival, a queueing, an
offer, an answer...), which :func:`run` feeds to the same handlers in the
same order after the loop (:func:`play`): ``Metrics`` depends on nothing but what it is
fed, so it ends as it would have. The façade's knowledge of the calls still
live at the end (their facts) and of recently ended ones is rebuilt from the
engine's and the log's, so that the distributor reads as after the Python
loop. ``tests/test_sim_native.py`` requires equal replications, ``Metrics``,
random state and distributor snapshot from both loops.

Cost: the C loop is O(log h) a step for h pending driver events; feeding
the log is O(1) a record (Python); the set-up and the rebuilding are
O(queues + agents + call types + calls live at the end).
"""

from __future__ import annotations

import heapq
import math
import random
import struct
from typing import TYPE_CHECKING, Any

from . import _calls
from ._materialize import CallFacts
from ._sim_state import _LOGIN
from .actions import PauseAgent
from .distributions import Deterministic, Empirical, Exponential, LogNormal, Uniform
from .events import AgentResumed, CallArrived
from .policies import FIFO, EmergencyFirst, PriorityClasses

if TYPE_CHECKING:
    from ._engine_facade import EngineFacade
    from ._sim_run import _Run
    from .distributions import Distribution
    from .skills import Channel, SkillRequirement

ENABLED = True
"""Whether covered replications run their loop in C (the tests turn it off
to compare the two loops)."""

# acd_sim.h's log records: (t, op, call, agent, queue, reason, pad).
_LOG = struct.Struct("<d6i")
_ARRIVED, _QUEUED, _OFFER, _CANCEL, _REJECT, _ANSWERED = 1, 2, 3, 4, 5, 6
_ENDED, _ABANDONED, _PAUSE, _RESUMED = 7, 8, 9, 10
# acd_sim.h's sort-key elements.
_CONST, _ARRIVED_AT, _SEQ = 0, 1, 2


def covered(run: _Run) -> bool:
    """Whether ``run`` (its lane taken, nothing run yet) can run in C."""
    if not ENABLED or run.lane is None or run.journal is not None or run.estimators:
        return False
    s = run.scenario
    if run.arrivals is None or run.replay or s.routing_plan is not None:
        return False
    if any(q.config.announce is not None or q.config.callback is not None for q in s.queues):
        return False
    if any(g.shift is not None for g in s.agents):
        return False
    f = run.lane.f
    if f.hooked or f.moves or f.told or len(run.agents) >= 1 << 26:
        return False
    if any(item[2] != _LOGIN or item[0] != run.begin for item in run.heap):
        return False
    dists: list[Distribution | None] = [*run.q_handle.values(), *run.q_patience.values()]
    for t in run.types:
        dists += [t.handle, t.patience]
        if "caller" in t.attributes:  # a returning caller's agent is remembered
            return False
    for a in run.agents.values():
        dists += [a.answer, a.resume]
    if any(q is None for q in run.q_handle.values()):
        return False
    if not all(d is None or type(d) in _KINDS for d in dists):
        return False
    return all(_template(run, t.queue or run.first, t) is not None for t in run.types)


def play(run: _Run) -> None:
    """Play ``run``'s loop in C (``covered(run)``): the agents' logins first
    (all at the start), then every other step; ``run`` and its distributor
    and metrics end as the Python loop leaves them."""
    from ._sim_run import SimulationError

    assert run.lane is not None
    while run.heap:  # the logins, all at the start
        run.on_login(heapq.heappop(run.heap))
    f = run.lane.f
    f.eng._catch_up()
    ffi, lib = f.eng.ffi, f.eng.lib
    names = f.qnames
    nint = len(run.entered)
    sim = lib.acd_sim_new(
        f._e, len(names), len(f.ids), len(run.types), nint,
        run.begin, run.origin, run.interval, run.measured_end, run.hard_stop,
    )  # fmt: skip
    if sim == ffi.NULL:
        raise MemoryError("acd_sim_new")
    sim = ffi.gc(sim, lib.acd_sim_free)
    _configure(run, f, sim)
    before = run.rng.getstate()
    seq0, call0 = int(lib.acd_engine_next_seq(f._e)), run.next_call
    words = ffi.new("uint32_t[]", list(before[1][:624]))
    try:
        rc = lib.acd_sim_run(sim, words, before[1][624], random.NV_MAGICCONST, call0)  # type: ignore[attr-defined]
    finally:
        lib.acd_engine_set_draw(f._e, lib.acd_py_draw, f.eng._rng_handle)
    if rc < 0:
        raise SimulationError(f"the C replication loop stopped with error {rc}")
    index = ffi.new("int *")
    lib.acd_sim_rng(sim, words, index)
    run.rng.setstate((before[0], (*words, index[0]), before[2]))
    counts = ffi.new("int64_t[3]")
    lib.acd_sim_counts(sim, counts)
    run.next_call = int(counts[0])
    run.n_events += int(counts[1])
    run.n_advances += int(counts[2])
    _results(run, f, sim, nint)
    ends = _feed(run, f, sim)
    _rebuild(run, f, sim, seq0, call0, ends)


def _configure(run: _Run, f: EngineFacade, sim: Any) -> None:
    ffi, lib = f.eng.ffi, f.eng.lib
    ids: dict[int, int] = {}

    def did(dist: Distribution | None) -> int:
        if dist is None:
            return -1
        got = ids.get(id(dist))
        if got is None:
            kind, a, b, values = _KINDS[type(dist)](dist)
            arr = ffi.new("double[]", values or [0.0])
            got = ids[id(dist)] = _ok(lib.acd_sim_dist(sim, kind, a, b, arr, len(values)))
        return got

    for qi, name in enumerate(f.qnames):
        _ok(lib.acd_sim_queue(sim, qi, did(run.q_handle[name]), did(run.q_patience[name])))
    for aid, agent in run.agents.items():
        idx = f.aidx[aid]
        _ok(lib.acd_sim_agent(sim, idx, agent.rona, did(agent.answer), did(agent.resume)))
    for ti, ct in enumerate(run.types):
        queue = ct.queue or run.first
        template = _template(run, queue, ct)
        assert template is not None  # (covered)
        kinds, consts, requirement, channel = template
        cls = f.klass(requirement, channel)
        cum = run.cum[ti] if ti < len(run.cum) else 1.0
        _ok(
            lib.acd_sim_type(
                sim, ti, cum, f.qidx[queue], cls, did(ct.handle), did(ct.patience),
                len(kinds), ffi.new("int[]", kinds), ffi.new("double[]", consts),
            )
        )  # fmt: skip
    n = len(run.entered)
    per_s = [0.0] * n
    traffic = run.scenario.traffic
    rates = [r * traffic.surge / run.interval for r in traffic.rates]
    for k in range(n):
        per_s[k] = rates[k % len(rates)]
    _ok(lib.acd_sim_arrivals(sim, rates[0], ffi.new("double[]", per_s)))


def _results(run: _Run, f: EngineFacade, sim: Any, nint: int) -> None:
    """The waits and the per-interval counts into ``run``."""
    ffi, lib = f.eng.ffi, f.eng.lib
    n = ffi.new("int64_t *")
    for qi, name in enumerate(f.qnames):
        for abandoned, into in ((0, run.waits), (1, run.abandoned)):
            ptr = lib.acd_sim_waits(sim, qi, abandoned, n)
            if n[0]:
                into[name].frombytes(bytes(ffi.buffer(ptr, n[0] * 8)))
        for delayed, rows in ((0, run.q_entered), (1, run.q_delayed)):
            got = lib.acd_sim_entered(sim, qi, delayed)
            rows[name] = [a + int(got[k]) for k, a in enumerate(rows[name])]
    for delayed, attr in ((0, "entered"), (1, "delayed")):
        got = lib.acd_sim_entered(sim, -1, delayed)
        setattr(run, attr, [a + int(got[k]) for k, a in enumerate(getattr(run, attr))])


def _feed(run: _Run, f: EngineFacade, sim: Any) -> list[tuple[int, float]]:
    """Feed the log to ``Metrics``' field handlers, in order (the direct
    lane's calls); keep the façade's pause reasons. Returns the calls that
    ended or hung up, with the instant, in order."""
    ffi, lib = f.eng.ffi, f.eng.lib
    n = ffi.new("int64_t *")
    ptr = lib.acd_sim_log_of(sim, n)
    if not n[0]:
        return []
    from ._engine_facade import _REASONS

    m = run.metrics
    at = m._at
    ids, qn, configs = f.ids, f.qnames, f.configs
    ends: list[tuple[int, float]] = []
    for t, op, call, agent, q, reason, _ in _LOG.iter_unpack(ffi.buffer(ptr, n[0] * _LOG.size)):
        at(t)
        if op == _OFFER:
            m._offer_made(t, f"c{call}", ids[agent], qn[q])
        elif op == _QUEUED:
            m._call_queued(f"c{call}", qn[q])
        elif op == _ARRIVED:
            m._call_arrived(t, f"c{call}", qn[q])
        elif op == _ANSWERED:
            m._offer_answered(t, f"c{call}", ids[agent])
        elif op == _ENDED:
            m._call_ended(t, f"c{call}")
            ends.append((call, t))
        elif op == _ABANDONED:
            m._call_abandoned(t, f"c{call}")
            ends.append((call, t))
        elif op == _CANCEL:
            m._offer_cancelled(t, f"c{call}", ids[agent], _REASONS[reason])
        elif op == _REJECT:
            m._exit(f"c{call}", "rejected")
        elif op == _PAUSE:
            why = configs[q].no_answer.pause_reason
            m._apply_action(PauseAgent(at=t, agent_id=ids[agent], reason=why))
            f.agents[agent].paused = why
        else:  # _RESUMED
            m._apply_event(AgentResumed(now=t, agent_id=ids[agent]))
            f.agents[agent].paused = None
    return ends


def _rebuild(
    run: _Run, f: EngineFacade, sim: Any, seq0: int, call0: int, ends: list[tuple[int, float]]
) -> None:
    """The façade's part after the loop: the live calls' facts, the recently
    ended calls it keeps for their wrap-ups, the clock and the next
    sequence number (as the direct lane's steps leave them)."""
    ffi, lib = f.eng.ffi, f.eng.lib
    d = f.d
    live = lib.acd_sim_live(sim, ffi.NULL, 0)
    out = ffi.new("acd_sim_call[]", max(live, 1))
    lib.acd_sim_live(sim, out, live)
    for i in range(live):
        c = out[i]
        seq, cid = int(c.seq), f"c{c.call}"
        ct = run.types[c.type]
        ev = CallArrived(
            now=float(c.arrived), call_id=cid, queue=f.qnames[c.queue], attributes=ct.attributes,
            priority=ct.priority, emergency=ct.emergency, requirement=ct.requirement,
        )  # fmt: skip
        decision = _calls.resolve_arrival(d, ev, seq)
        assert decision.key is not None
        f.calls[seq] = CallFacts(
            call_id=cid, channel=ev.channel, attributes=decision.attributes,
            requirement=decision.requirement, priority=decision.priority,
            emergency=decision.emergency, preferred_agent=None, key=decision.key,
            last_agent=None, rule=decision.rule_name,
        )  # fmt: skip
        f.seq_of[cid] = seq
    if f.max_wrap > 0 and ends:
        last = ends[-1][1]
        for call, t in ends:
            if t + f.max_wrap >= last:
                f.ended[seq0 + call - call0 - 1] = (f"c{call}", t)
    d._call_seq = int(lib.acd_engine_next_seq(f._e))
    d._now = float(lib.acd_engine_now(f._e))
    f.version += 1


def _template(
    run: _Run, queue: str, ct: Any
) -> tuple[list[int], list[float], SkillRequirement, Channel] | None:
    """Call type ``ct``'s sort key in ``queue`` as a template (which
    elements are the arrival instant, the sequence number or constants),
    with its requirement; None unless the queue's policy is a built-in one
    whose key is such a template."""
    d = run.acd
    if not _plain(d._queues[queue].config.policy):
        return None
    probes = ((1.5, 7), (1234.25, 99), (-3.0, 5))
    keys: list[Any] = []
    for arrived, seq in probes:
        ev = CallArrived(
            now=arrived, call_id="probe", queue=queue, attributes=ct.attributes,
            priority=ct.priority, emergency=ct.emergency, requirement=ct.requirement,
        )  # fmt: skip
        decision = _calls.resolve_arrival(d, ev, seq)
        keys.append(decision.key)
    if any(k is None or len(k) != len(keys[0]) or not 0 < len(k) <= 6 for k in keys):
        return None
    kinds: list[int] = []
    consts: list[float] = []
    for i in range(len(keys[0])):
        vals = [k[i] for k in keys]
        if all(v == a for v, (a, _) in zip(vals, probes)):
            kinds.append(_ARRIVED_AT)
            consts.append(0.0)
        elif all(v == s for v, (_, s) in zip(vals, probes)):
            kinds.append(_SEQ)
            consts.append(0.0)
        elif all(v == vals[0] for v in vals) and math.isfinite(vals[0]):
            kinds.append(_CONST)
            consts.append(float(vals[0]))
        else:
            return None
    return kinds, consts, decision.requirement, ev.channel


def _plain(policy: object) -> bool:
    """A built-in policy whose key is constants, the arrival instant and the
    sequence number."""
    if type(policy) is EmergencyFirst:
        return _plain(policy.inner)
    return type(policy) in (FIFO, PriorityClasses)


def _ok(rc: int) -> int:
    if rc < 0:
        raise ValueError(f"acd_sim: refused a configuration value (error {rc})")
    return int(rc)


_KINDS: dict[type, Any] = {
    Deterministic: lambda x: (1, float(x.value), 0.0, []),
    Exponential: lambda x: (2, x._rate, 0.0, []),
    LogNormal: lambda x: (3, x._mu, x._sigma, []),
    Uniform: lambda x: (4, float(x.low), float(x.high), []),
    Empirical: lambda x: (5, 0.0, 0.0, [float(v) for v in x.values]),
}
"""The built-in distributions as acd_sim.h takes them: (kind, a, b, values)."""
