"""``Distributor.check()``: every invariant of the distributor's state, on both backends. A pure read.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from . import (
    _deadlines,
    _queueing,
    _routing,
    _state,
    _views,
)
from ._state import (
    CallState,
    SessionState,
)
from .router import eligible_at, skill_eligible
from .skills import (
    Channel,
)

if TYPE_CHECKING:
    from ._native.core import NativeCore
    from .distributor import Distributor


def require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# The id fields ``handle`` checks are non-empty strings, in this order.


def check_all(d: Distributor) -> None:
    """The body of :meth:`Distributor.check`."""
    now = d._now
    counts = _views.count_calls(d)
    total = sum(v for k, v in counts.items() if k != "arrived")
    require(counts["arrived"] == total, f"call counts do not add up: {counts}")
    pending = pending_timers(d)
    top = d._timers[0] if d._timers else None
    require(
        top is None or _deadlines.timer_live(d, top[1], top[2], top[3], top[4]),
        "the earliest deadline in the heap is dead: next_deadline() would report it",
    )
    require(not _state._NO_OFFERS, "the shared empty offers list was mutated")
    queued_ids: set[str] = set()
    for name, q in d._queues.items():
        keys = [call.key for call in q.waiting]
        for call in q.waiting:
            require(call.state is CallState.WAITING, f"{call.call_id} in {name} is {call.state}")
            require(
                call.queue == name,
                f"{call.call_id} waits in {name} but belongs to {call.queue}",
            )
            require(q.waiting.holder(call.key) is call, f"{call.call_id} stored under a stale key")
            require(call.call_id not in queued_ids, f"{call.call_id} waits twice")
            queued_ids.add(call.call_id)
        require(keys == sorted(keys), f"queue {name} is out of policy order")
        for aid in q.members:
            a = d._agents[aid]
            require(a.logged_in and name in a.profile.queues, f"{aid} wrongly a member of {name}")
        for aid in q.free:
            require(aid in q.members, f"{aid} free in {name} but not a member")
    for cid, call in d._calls.items():
        require(call.call_id == cid, "call index corrupt")
        seq = call.seq
        if call.state is CallState.WAITING:
            require(cid in queued_ids, f"waiting call {cid} is in no queue")
            require(not call.offers, f"waiting call {cid} has offers")
        elif call.state is CallState.RINGING:
            require(bool(call.offers), f"ringing call {cid} rings nobody")
            require(("ring", seq) in pending, f"ringing call {cid} has no ring timeout")
            for aid in call.offers:
                s = d._agents[aid].sessions.get(seq)
                require(
                    s is not None and s.state is SessionState.RINGING,
                    f"{aid} not ringing {cid}",
                )
                require(skill_eligible(d._agents[aid], call), f"{aid} offered ineligible {cid}")
        elif call.state is CallState.CALLBACK_PENDING:
            require(call.callback and not call.offers, f"pending callback {cid} is not one")
            require(("retry", seq) in pending, f"pending callback {cid} has no retry deadline")
        elif call.state is CallState.CONNECTED:
            assert call.agent is not None
            s = d._agents[call.agent].sessions.get(seq)
            require(s is not None and s.state is SessionState.CONNECTED, f"{cid} not connected")
        else:
            raise AssertionError(f"live call {cid} in final state {call.state}")
    for name, q in d._queues.items():
        staffed = sum(1 for aid in q.members if d._agents[aid].staffed)
        require(staffed == q.staffed, f"{name} counts {q.staffed} staffed, not {staffed}")
    for aid, a in d._agents.items():
        require(
            a.staffed == (a.logged_in and a.paused is None and not a.pending_logout),
            f"{aid} staffing flag is stale",
        )
        used: dict[Channel, int] = {}
        for seq, s in a.sessions.items():
            cid = s.call_id
            require(s.seq == seq, f"{aid} holds {cid} under another call's number")
            used[s.channel] = used.get(s.channel, 0) + 1  # wrap-up holds its slot too
            if s.state is SessionState.WRAP_UP:
                require(("wrap", aid, seq) in pending, f"{aid} wrap-up of {cid} has no deadline")
            else:
                live = d._calls.get(cid)
                require(live is not None and live.seq == seq, f"{aid} holds finished call {cid}")
        for ch, n in used.items():
            require(n <= a.profile.capacity.get(ch, 0), f"{aid} over capacity on {ch.value}: {n}")
            if ch in a.profile.exclusive:
                require(len(used) == 1, f"{aid} mixes exclusive {ch.value} with other channels")
        if not a.logged_in:
            require(not a.sessions, f"logged-out {aid} still holds calls")
        offerable = a.offerable(now)
        for qname in a.profile.queues:
            in_free = aid in d._queues[qname].free
            require(in_free == offerable, f"{aid} free-set membership in {qname} is stale")
        if a.logged_in and a.not_before > now:
            require(
                a.wake_at is not None and a.wake_at <= a.not_before and ("wake", aid) in pending,
                f"{aid} has no wake-up for the end of its no-answer delay",
            )
        if a.wake_timer >= 0:
            require(("wake", aid) in pending, f"{aid} holds a wake-up that is not pending")
    # Relaxation and maximum wait are scheduled, never polled; a maximum
    # wait's deadline is the current queue's (a move re-arms it).
    max_wait_at = {seq: when for when, kind, _, seq in live_deadlines(d) if kind == "max-wait"}
    for cid, call in d._calls.items():
        seq = call.seq
        if call.max_wait_timer >= 0:
            rules = _queueing.queue_rules(d, call.queue)
            require(
                rules is not None
                and rules.max_wait is not None
                and max_wait_at.get(seq) == _deadlines.max_wait_end(call, rules),
                f"{cid} holds a max-wait deadline that is not its queue's",
            )
        for kind, armed in (
            ("stage", call.stage_timer), ("max-wait", call.max_wait_timer),
            ("announce", call.announce_timer), ("recheck", call.recheck_timer),
        ):  # fmt: skip
            if armed >= 0:
                require((kind, seq) in pending, f"{cid} holds a {kind} deadline not pending")
        require(0 <= call.stage < len(call.stages), f"{cid} has no current stage")
        st = call.stages[call.stage]
        require(
            (call.requirement, call.extra_queues, call.regional)
            == (st.requirement, st.extra_queues, st.regional),
            f"{cid} differs from its current stage",
        )
        if call.stage < len(call.stages) - 1 and call.state is not CallState.CONNECTED:
            require(st.expires_at is not None and st.expires_at > now, f"{cid} stage expired")
            require(("stage", seq) in pending, f"{cid} has no relaxation deadline")
        if call.state is CallState.WAITING and d._ests:
            ann = d._queues[call.queue].config.announce
            if ann is not None and not call.callback:
                require(
                    call.next_announce is not None
                    and call.next_announce > now
                    and ("announce", seq) in pending,
                    f"{cid} waits with no announcement scheduled",
                )
        if call.state is CallState.WAITING and not call.callback:
            rules = _queueing.queue_rules(d, call.queue)
            if rules is not None and rules.max_wait is not None:
                require(
                    _deadlines.max_wait_end(call, rules) > now and ("max-wait", seq) in pending,
                    f"{cid} waits past its maximum without an exit deadline",
                )
    # Surge modes follow their hysteresis; bounded memories stay bounded.
    require(len(d._callers) <= d._remember, "caller memory over its bound")
    guard = d._plan.load_guard if d._plan is not None else None
    for aid, a in d._agents.items():
        limit = guard.window if guard is not None else 0
        require(len(a.answers) <= limit, f"{aid} keeps more answers than the load guard needs")
    for name, q in d._queues.items():
        rules = _queueing.queue_rules(d, name)
        surge = rules.surge if rules is not None else None
        if surge is None:
            require(not q.surge, f"{name} is in surge mode without a surge rule")
        elif q.surge:
            require(len(q.waiting) > surge.leave_waiting, f"{name} should have left surge mode")
        else:
            require(len(q.waiting) < surge.enter_waiting, f"{name} should be in surge mode")
    # Work conservation.
    for q in d._queues.values():
        for call in q.waiting:
            for aid in _routing.pool_of(d, call):
                a = d._agents[aid]
                at = eligible_at(a, call, q, now)
                if at is None or at == math.inf:  # never: no deadline can come
                    continue
                require(
                    at > now,
                    f"work conservation: waiting call {call.call_id} and free eligible agent {aid}",
                )
                call_ok = call.recheck_at is not None and call.recheck_at <= at
                agent_ok = a.wake_at is not None and a.wake_at <= at
                require(
                    (call_ok and ("recheck", call.seq) in pending)
                    or (agent_ok and ("wake", aid) in pending),
                    f"no deadline pending for {call.call_id}/{aid} becoming eligible at {at}",
                )
    if d._nat is not None:
        check_native(d, d._nat)


def check_native(d: Distributor, nat: NativeCore) -> None:
    """The native core mirrors the state its decisions read: each queue's
    free agents and waiting calls, and nothing else."""
    held = nat.calls()
    for name, q in d._queues.items():
        require(
            nat.free_agents(name) == set(q.free),
            f"native free list of {name} differs: {sorted(nat.free_agents(name))} "
            f"vs {sorted(q.free)}",
        )
        require(
            nat.waiting(name) == len(q.waiting),
            f"native core holds {nat.waiting(name)} calls waiting in {name}, not {len(q.waiting)}",
        )
        for waiting in q.waiting:
            require(
                waiting.slot >= 0
                and nat.slot_state(waiting.slot) == 2
                and held.get(waiting.slot) is waiting,
                f"waiting call {waiting.call_id} is not in the native core",
            )
    for slot, call in held.items():
        require(
            call.state is CallState.WAITING and d._calls.get(call.call_id) is call,
            f"native slot {slot} holds call {call.call_id}, which is not waiting",
        )
    for aid, a in d._agents.items():
        require(a.slot >= 0, f"agent {aid} has no native index")


def live_deadlines(d: Distributor) -> list[tuple[float, str, str, int]]:
    """The live deadlines in firing order: (instant, kind, the call or agent
    id, the call's sequence number or -1). Cost: O(t log t)."""
    out = []
    for when, tseq, kind, rec, token in sorted(d._timers, key=lambda t: t[:2]):
        if not _deadlines.timer_live(d, tseq, kind, rec, token):
            continue
        if kind == _deadlines.WRAP:
            out.append((when, "wrap", rec.agent_id, token.seq))
        elif kind == _deadlines.AGENT_WAKE:
            out.append((when, "wake", rec.agent_id, -1))
        else:
            out.append((when, _deadlines.TIMER_NAMES[kind], rec.call_id, rec.seq))
    return out


def pending_timers(d: Distributor) -> set[tuple[Any, ...]]:
    """Live deadlines not yet due: ("wrap", agent, call seq), ("wake",
    agent), or (kind, call seq)."""
    out: set[tuple[Any, ...]] = set()
    for when, kind, ref, seq in live_deadlines(d):
        if when < d._now:
            continue
        if kind == "wrap":
            out.add((kind, ref, seq))
        elif kind == "wake":
            out.add((kind, ref))
        else:
            out.add((kind, seq))
    return out
