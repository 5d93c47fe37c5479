"""The simulator's replication loop in C, for the scenarios it covers (internal).

A replication whose distributor the C engine holds, with Poisson traffic,
no routing plan, journal, estimators, replayed calls, announcements or
callbacks, built-in distributions and policies (FIFO, ``PriorityClasses``,
``EmergencyFirst`` over either), runs its loop in C (``acd_sim.c``): the
loop of :class:`~acdcore._sim_run._Run` and the direct lane
(:mod:`~acdcore._sim_direct`), step for step and draw for draw, over the
same engine and the same random stream, the agents' shifts, breaks and
logouts included. It is the same simulator: the run is set up as before,
its loop runs in C, and the run ends as before.

The loop keeps ``Metrics``' accumulators too, as its field handlers keep
them (``acd_sim_kpi.c``: the same arithmetic in the same order), and
:func:`play` loads them into the replication's ``Metrics`` afterwards, with
its live calls, agents' records and pending wrap-ups. The façade's knowledge
of the calls still live at the end (their facts) and of recently ended ones
is rebuilt from the engine's and the loop's, so that the distributor reads
as after the Python loop. ``tests/test_sim_native.py`` requires equal
replications, ``Metrics``, random state and distributor snapshot from both
loops.

Cost: the C loop is O(log h) a step for h pending driver events, plus
``Metrics``' own costs; loading the KPIs is O(accumulators + waits) and the
rest of the set-up and rebuilding O(queues + agents + call types + calls
live at the end), all once a replication.
"""

from __future__ import annotations

import math
import os
import random
from typing import TYPE_CHECKING, Any

from . import _calls
from ._materialize import AgentFacts, CallFacts
from ._metrics_records import (
    _AVAILABLE,
    _BUSY,
    _PAUSED,
    _RINGING,
    _WRAP,
    _Agent,
    _AgentAcc,
    _Call,
    _CallAcc,
    _Session,
)
from ._native.engine import profile_arrays
from ._native.engine_base import CODES
from ._sim_state import _BREAK, _LOGIN, _LOGOUT
from .distributions import Deterministic, Empirical, Exponential, LogNormal, Uniform
from .events import CallArrived
from .policies import FIFO, EmergencyFirst, PriorityClasses

if TYPE_CHECKING:
    from ._engine_facade import EngineFacade
    from ._sim_run import _Run
    from .distributions import Distribution
    from .skills import Channel, SkillRequirement

ENABLED = os.environ.get("ACDCORE_SIM_LOOP", "c") != "python"
"""Whether covered replications run their loop in C: yes unless the
environment sets ``ACDCORE_SIM_LOOP=python`` (the tests turn it off to
compare the two loops)."""

MAX_SLOTS = 1 << 26
"""The most accumulator slots (buckets x (queues + agents)) a replication
may need to run in C (pointers, most never touched: 512 MiB of address
space, not of memory); a larger one runs the Python loop."""

# acd_sim.h's numbering of agent-time categories, call and session states.
_CATEGORIES = (_BUSY, _WRAP, _RINGING, _PAUSED, _AVAILABLE)
_STATES = ("waiting", "ringing", "connected")
_SESSIONS = ("ringing", "connected", "wrap")
_GONE = 3
# acd_sim.h's ACD_KPI_* counters: the _CallAcc fields the loop moves.
_KPI_COUNTS = (
    "offered", "answered", "answered_within", "abandoned", "abandoned_within",
    "short_abandoned", "rejected", "handled", "offers", "rona",
)  # fmt: skip
# acd_sim.h's own error codes (the engine's are engine_base.CODES).
_ERRORS = {
    -40: "a step the covered scenarios never take (a bug in covered())",
    -41: "the loop found its own state inconsistent (a bug)",
}
_EOVERFLOW = -42  # ACD_SIM_EOVERFLOW: a log-normal draw past a double
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
    f = run.lane.f
    if f.hooked or f.moves or f.told or f.ids or len(run.agents) >= 1 << 26:
        return False
    if any(item[2] not in (_LOGIN, _LOGOUT, _BREAK) for item in run.heap):
        return False
    m = run.metrics  # the accumulators' slots: one per bucket and queue or agent
    buckets = m._index(run.hard_stop) - m._index(run.begin) + 1
    if buckets * (len(s.queues) + len(run.agents)) > MAX_SLOTS:
        return False
    for g in s.agents:  # within the engine's numbers (a login past them hands over)
        for ms in g.queues.values():
            if not 0 < ms.weight < 1 << 31 or not math.isfinite(ms.delay + ms.position):
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


def play(run: _Run) -> bool:
    """Play ``run``'s loop in C (``covered(run)``): every step, the agents'
    shifts included. What the run sums up to (its counts, waits, random
    state), its distributor and its metrics end as the Python loop leaves
    them; the driver's own view of calls and agents is not kept (nothing
    reads it after the loop). False: nothing was played (``Metrics`` had
    seen something already: the Python loop runs)."""
    from ._sim_run import SimulationError

    assert run.lane is not None
    f = run.lane.f
    f.eng._catch_up()
    ffi, lib = f.eng.ffi, f.eng.lib
    names = f.qnames
    nint = len(run.entered)
    sim = lib.acd_sim_new(
        f._e, len(names), len(run.agents), len(run.types), nint,
        run.begin, run.origin, run.interval, run.measured_end, run.hard_stop,
    )  # fmt: skip
    if sim == ffi.NULL:
        raise MemoryError("acd_sim_new")
    sim = ffi.gc(sim, lib.acd_sim_free)
    if not _kpi_setup(run, f, sim):
        return False
    reasons = _configure(run, f, sim)
    before = run.rng.getstate()
    seq0, call0 = int(lib.acd_engine_next_seq(f._e)), run.next_call
    words = ffi.new("uint32_t[]", list(before[1][:624]))
    try:
        rc = lib.acd_sim_run(sim, words, before[1][624], random.NV_MAGICCONST, call0)  # type: ignore[attr-defined]
    finally:
        lib.acd_engine_set_draw(f._e, lib.acd_py_draw, f.eng._rng_handle)
    if rc == _EOVERFLOW:  # as random.lognormvariate raises it in the Python loop
        raise OverflowError("math range error")
    if rc < 0:
        what = _ERRORS.get(rc) or CODES.get(rc, "error")
        raise SimulationError(f"the C replication loop stopped: {what} ({rc})")
    index = ffi.new("int *")
    lib.acd_sim_rng(sim, words, index)
    run.rng.setstate((before[0], (*words, index[0]), before[2]))
    counts = ffi.new("int64_t[3]")
    lib.acd_sim_counts(sim, counts)
    run.next_call = int(counts[0])
    run.n_events += int(counts[1])
    run.n_advances += int(counts[2])
    _results(run, f, sim, nint)
    _named(run, f, sim, reasons)
    _kpi_load(run, f, sim)
    _rebuild(run, f, sim, seq0, call0)
    return True


def _configure(run: _Run, f: EngineFacade, sim: Any) -> list[str]:
    """Hand the loop the run's distributions, queues, agents (with their
    profiles, whose skill and region numbers are given in the order of the
    agents' first logins, as the façade gives them), call types, arrival
    rates and the shifts' events (moved off the run's heap). Returns the
    breaks' reasons, numbered as handed."""
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
    events = sorted(run.heap)  # (t, seq, ...): each seq once, so never compared further
    run.heap.clear()
    sims = {aid: i for i, aid in enumerate(run.agents)}
    first = dict.fromkeys(e[3] for e in events if e[2] == _LOGIN)  # (ordered, a set)
    for aid in dict.fromkeys([*first, *run.agents]):  # first logins first
        agent = run.agents[aid]
        _ok(lib.acd_sim_agent(sim, sims[aid], agent.rona, did(agent.answer), did(agent.resume)))
        region, prof = 0, f.eng._profile("login", [], [0] * 8, 0, [])  # never logs in
        if aid in first:
            sk, cap, excl, mems = profile_arrays(agent.profile, f.qidx, f.skill_id)
            region = f.region_id(agent.profile.region)
            prof = f.eng._profile("login", sk, cap, excl, mems)
        _ok(lib.acd_sim_profile(sim, sims[aid], region, *prof))
    reasons: dict[str, int] = {}
    for t, _, kind, aid, reason, duration in events:
        if kind == _BREAK:
            r = reasons.setdefault(reason, len(reasons))
            _ok(lib.acd_sim_event(sim, t, kind, sims[aid], r, float(duration)))
        else:
            _ok(lib.acd_sim_event(sim, t, kind, sims[aid], 0, 0.0))
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
    return list(reasons)


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


def _kpi_setup(run: _Run, f: EngineFacade, sim: Any) -> bool:
    """Hand the loop ``Metrics``' configuration; False (nothing handed)
    unless ``Metrics`` and the distributor have seen nothing yet and the
    loop could make room for the accumulators."""
    m = run.metrics
    if m._calls or m._wraps or m._queue_acc or m._agent_acc or m._answered or m._remember:
        return False
    if m._call_seq or m._wrap_seq or m._agents or f.ids or f.agents or f.calls:
        return False
    ffi, lib = f.eng.ffi, f.eng.lib
    names = f.qnames
    rc = lib.acd_sim_kpi(
        sim, m._interval, m._tz, m._short,
        ffi.new("double[]", [m._threshold[q] for q in names]),
        ffi.new("double[]", [m._wrap[q] for q in names]),
        m._index(run.begin), m._index(run.hard_stop),
    )  # fmt: skip
    return bool(rc >= 0)  # (refused: too many buckets for memory; the Python loop runs)


def _named(run: _Run, f: EngineFacade, sim: Any, reasons: list[str]) -> None:
    """The agents the loop logged in, as the façade names them: their
    indices in the order of their first logins, their facts (profile, rank,
    pause reason)."""
    ffi, lib = f.eng.ffi, f.eng.lib
    ids = list(run.agents)
    n = lib.acd_sim_named(sim, ffi.NULL, 0)
    order = ffi.new("int[]", max(n, 1))
    lib.acd_sim_named(sim, order, n)
    why = ffi.new("int *")
    for idx in range(n):
        aid = ids[order[idx]]
        f.ids.append(aid)
        f.aidx[aid] = idx
        facts = f.agents[idx] = AgentFacts(aid, run.agents[aid].profile, idx)
        _ok(lib.acd_sim_paused(sim, idx, why))
        w = why[0]
        if w >= 0:
            facts.paused = f.configs[w].no_answer.pause_reason
        elif w <= -2:
            facts.paused = reasons[-2 - w]


def _kpi_load(run: _Run, f: EngineFacade, sim: Any) -> None:
    """Load the loop's KPIs into ``Metrics``: its accumulators (made in
    the loop's order), live calls, agents' records and wrap-ups."""
    ffi, lib = f.eng.ffi, f.eng.lib
    m = run.metrics
    ids, qn = f.ids, f.qnames
    n = ffi.new("int64_t *")
    acc = ffi.new("acd_kpi_acc *")

    def calls_of(acc: Any) -> _CallAcc:
        n = ffi.unpack(acc.n, len(_KPI_COUNTS))
        out = _CallAcc(
            offered=n[0], answered=n[1], answered_within=n[2], abandoned=n[3],
            abandoned_within=n[4], short_abandoned=n[5], rejected=n[6], handled=n[7],
            offers=n[8], rona=n[9], talk=acc.talk, wrap=acc.wrap,
        )  # fmt: skip
        if acc.n_answered_waits:
            out.answered_waits.frombytes(ffi.buffer(acc.answered_waits, 8 * acc.n_answered_waits))
        if acc.n_abandoned_waits:
            out.abandoned_waits.frombytes(
                ffi.buffer(acc.abandoned_waits, 8 * acc.n_abandoned_waits)
            )
        return out

    touches = lib.acd_sim_kpi_touches(sim, 0, n)
    for i in range(n[0]):
        b, who = int(touches[i].bucket), touches[i].who
        _ok(lib.acd_sim_kpi_acc(sim, 0, b, who, acc))
        m._queue_acc.setdefault(b, {})[qn[who]] = calls_of(acc)
    touches = lib.acd_sim_kpi_touches(sim, 1, n)
    for i in range(n[0]):
        b, who = int(touches[i].bucket), touches[i].who
        _ok(lib.acd_sim_kpi_acc(sim, 1, b, who, acc))
        t = acc.time
        m._agent_acc.setdefault(b, {})[ids[who]] = _AgentAcc(
            t[0], t[1], t[2], t[3], t[4], int(acc.auto_pauses), calls_of(acc)
        )
    live = lib.acd_sim_live(sim, ffi.NULL, 0)
    out = ffi.new("acd_sim_call[]", max(live, 1))
    lib.acd_sim_live(sim, out, live)
    for i in range(live):
        c = out[i]
        if not c.m_live:
            continue
        cid = f"c{c.call}"
        m._calls[cid] = _Call(
            call_id=cid, seq=int(c.m_seq), queue=qn[c.queue], current=qn[c.m_current],
            arrived=float(c.arrived), bucket=int(c.m_bucket), state=_STATES[c.m_state],
            answered=bool(c.m_answered), agent=ids[c.m_agent] if c.m_answered else None,
            answered_at=float(c.answered_at) if c.m_answered else None,
        )  # fmt: skip
    li, pa, pe, cat, nss = (ffi.new("int *") for _ in range(5))
    since = ffi.new("double *")
    ss = ffi.new("acd_kpi_session[]", 16)
    for idx, aid in enumerate(f.ids):  # Metrics' agents: in the order of first logins
        args = (sim, idx, li, pa, pe, cat, since)
        _ok(lib.acd_sim_kpi_agent_of(*args, ss, len(ss), nss))
        if nss[0] > len(ss):
            ss = ffi.new("acd_kpi_session[]", nss[0])
            _ok(lib.acd_sim_kpi_agent_of(*args, ss, len(ss), nss))
        agent = m._agents[aid] = _Agent(agent_id=aid)
        agent.logged_in, agent.paused, agent.pending_logout = bool(li[0]), bool(pa[0]), bool(pe[0])
        agent.category = None if cat[0] < 0 else _CATEGORIES[cat[0]]
        agent.since = float(since[0])
        agent.sessions = {
            int(x.seq): _Session(
                call_id=f"c{x.call}", state=_SESSIONS[x.state], queue=qn[x.queue],
                bucket=int(x.bucket), leg_queue=qn[x.leg], talk=x.talk, ended=x.ended,
                until=x.until,
            )
            for x in (ss[j] for j in range(nss[0]))
        }  # fmt: skip
    wraps = lib.acd_sim_kpi_wraps(sim, n)
    m._wraps = [
        (w.until, int(w.seq), ids[w.agent], int(w.call)) for w in (wraps[i] for i in range(n[0]))
    ]
    scalars = ffi.new("int64_t[3]")
    now = ffi.new("double *")
    _ok(lib.acd_sim_kpi_scalars(sim, scalars, now))
    m._wrap_seq, m._call_seq = int(scalars[0]), int(scalars[1])
    m._ignored += int(scalars[2])
    m._now = float(now[0])


def _rebuild(run: _Run, f: EngineFacade, sim: Any, seq0: int, call0: int) -> None:
    """The façade's part after the loop: the live calls' facts, the recently
    ended calls it keeps for their wrap-ups, the paused agents' reasons, the
    clock and the next sequence number (as the direct lane's steps leave
    them)."""
    ffi, lib = f.eng.ffi, f.eng.lib
    d = f.d
    live = lib.acd_sim_live(sim, ffi.NULL, 0)
    out = ffi.new("acd_sim_call[]", max(live, 1))
    lib.acd_sim_live(sim, out, live)
    for i in range(live):
        c = out[i]
        if c.state == _GONE:
            continue  # (Metrics still keeps it)
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
    n = ffi.new("int64_t *")
    ends = lib.acd_sim_ends(sim, n)
    if f.max_wrap > 0 and n[0]:
        last, first = ends[n[0] - 1].t, n[0]
        while first > 0 and ends[first - 1].t + f.max_wrap >= last:
            first -= 1
        for i in range(first, n[0]):
            call = int(ends[i].call)
            f.ended[seq0 + call - call0 - 1] = (f"c{call}", float(ends[i].t))
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
        if all(v == a for v, (a, _) in zip(vals, probes, strict=True)):
            kinds.append(_ARRIVED_AT)
            consts.append(0.0)
        elif all(v == s for v, (_, s) in zip(vals, probes, strict=True)):
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
    """``rc``, unless the C loop refused a value the run handed it: a
    simulator bug, raised as the loop's other refusals are."""
    if rc < 0:
        from ._sim_run import SimulationError

        what = CODES.get(rc, "error")
        raise SimulationError(f"the C replication loop refused its set-up: {what} ({rc})")
    return int(rc)


_KINDS: dict[type, Any] = {
    Deterministic: lambda x: (1, float(x.value), 0.0, []),
    Exponential: lambda x: (2, x._rate, 0.0, []),
    LogNormal: lambda x: (3, x._mu, x._sigma, []),
    Uniform: lambda x: (4, float(x.low), float(x.high), []),
    Empirical: lambda x: (5, 0.0, 0.0, [float(v) for v in x.values]),
}
"""The built-in distributions as acd_sim.h takes them: (kind, a, b, values)."""
