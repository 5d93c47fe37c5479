"""The Python face of the native dispatch core (internal).

:class:`NativeCore` mirrors into C exactly the state the routing decisions
read, at the points where the distributor changes it:

- an agent's profile (skills, capacity, memberships, scan list) when it logs
  in or its skills change: :meth:`NativeCore.profile`;
- an agent's dynamic state (available, sessions, strategy keys, load-guard
  flag) whenever the distributor refreshes it: :meth:`NativeCore.sync`;
- a call while it waits: :meth:`put` when it is queued, :meth:`restage` when
  a relaxation step changes what it needs, :meth:`remove` when it leaves.

The decisions themselves (:meth:`route_call`, :meth:`route_agent`) run in C
over that state; nothing per decision is marshalled but the answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._state import AgentRecord, CallRecord
from ..config import QueueMembership, Strategy
from ..errors import AcdError, InvalidValue
from ..skills import Channel

__all__ = ["STRATEGIES", "NativeCore", "NativeError", "load"]

STRATEGIES: dict[Strategy, int] = {
    Strategy.LONGEST_IDLE: 0,
    Strategy.FEWEST_CALLS: 1,
    Strategy.LEAST_TALK_TIME: 2,
    Strategy.ROUND_ROBIN: 3,
    Strategy.LINEAR: 4,
    Strategy.MOST_SKILLED: 5,
    Strategy.RANDOM: 6,
    Strategy.WEIGHTED_RANDOM: 7,
    Strategy.RING_ALL: 8,
}
CHANNELS: dict[Channel, int] = {ch: i for i, ch in enumerate(Channel)}


class NativeError(AcdError, RuntimeError):
    """The native core refused an operation (an internal inconsistency or an
    allocation failure); its state is unchanged."""


def load() -> Any:
    """The compiled cffi module (``ffi`` and ``lib``). Raises ImportError
    when the extension was not built."""
    from . import _acdnative  # type: ignore[attr-defined]

    return _acdnative


_CODES = {-1: "out of memory", -2: "index out of range", -3: "malformed argument", -4: "bad state"}


def _check(rc: int, what: str, ref: str | None = None) -> int:
    """``rc`` unless it is an error code; then raise, naming ``what`` (and
    ``ref``, quoted: passed apart so that no message is built on success)."""
    if rc < 0:
        err: type[AcdError] = InvalidValue if rc in (-2, -3) else NativeError
        name = what if ref is None else f"{what} {ref!r}"
        raise err(f"native core: {name}: {_CODES.get(rc, rc)}")
    return rc


class NativeCore:
    """The C state of one distributor, and the decisions made over it.

    Agents are numbered on first sight (login, or being named a call's
    preferred agent) and keep their number; waiting calls hold a slot that is
    reused once they leave. Skills, regions and call classes (requirement,
    channel, region constraint and extra queues) are interned to small ints.
    Memory: O(agents x (skills + memberships) + waiting calls + classes).
    """

    def __init__(self, queues: Sequence[str], strategies: Sequence[Strategy]) -> None:
        mod = load()
        self.ffi = ffi = mod.ffi
        self.lib = lib = mod.lib
        self._qidx = {name: i for i, name in enumerate(queues)}
        core = lib.acd_new(len(queues))
        if core == ffi.NULL:
            raise NativeError("native core: could not allocate")
        self.core = ffi.gc(core, lib.acd_free)
        for i, strategy in enumerate(strategies):
            _check(lib.acd_queue_set(self.core, i, STRATEGIES[strategy]), "queue strategy")
        self._skills: dict[str, int] = {}
        self._regions: dict[str | None, int] = {None: 0}
        self._classes: dict[tuple[Any, ...], int] = {}
        self._aidx: dict[str, int] = {}
        self._agents: list[AgentRecord | None] = []
        self._calls: list[CallRecord | None] = []
        self._key = ffi.new("double[6]")
        self._seq = ffi.new("long long[64]")
        self._ch = ffi.new("int[64]")
        self._earliest = ffi.new("double *")
        self._out_agent = ffi.new("int[64]")
        self._out_weight = ffi.new("long long[64]")
        self._out_cap = 64
        self._out_slot = ffi.new("int[64]")

    # ------------------------------------------------------------- identity

    def agent_index(self, agent_id: str) -> int:
        """The agent's number, allocated on first sight."""
        idx = self._aidx.get(agent_id)
        if idx is None:
            idx = self._aidx[agent_id] = len(self._agents)
            self._agents.append(None)
        return idx

    def _skill(self, name: str) -> int:
        sid = self._skills.get(name)
        if sid is None:
            sid = self._skills[name] = len(self._skills)
        return sid

    def _region(self, name: str | None) -> int:
        rid = self._regions.get(name)
        if rid is None:
            rid = self._regions[name] = len(self._regions)
        return rid

    def _class(self, call: CallRecord) -> int:
        region = self._region(call.region) if call.regional else -1
        items = call.requirement.items()
        ident = (items, call.channel, region, call.extra_queues)
        cid = self._classes.get(ident)
        if cid is None:
            ffi = self.ffi
            skills = ffi.new("int[]", [self._skill(n) for n, _ in items] or [0])
            mins = ffi.new("int[]", [m for _, m in items] or [0])
            extra = ffi.new("int[]", [self._qidx[q] for q in call.extra_queues] or [0])
            cid = _check(
                self.lib.acd_class_add(
                    self.core,
                    len(items),
                    skills,
                    mins,
                    CHANNELS[call.channel],
                    region,
                    len(call.extra_queues),
                    extra,
                ),
                "class",
            )
            self._classes[ident] = cid
        return cid

    # --------------------------------------------------------------- agents

    def profile(
        self, agent: AgentRecord, scan: Iterable[tuple[str, QueueMembership | None]]
    ) -> None:
        """Push who the agent is: skills, capacity, memberships (in profile
        order) and the queues it scans for work. Takes it out of every free
        list until the next :meth:`sync`."""
        ffi = self.ffi
        idx = self.agent_index(agent.agent_id)
        agent.slot = idx
        self._agents[idx] = agent
        prof = agent.profile
        skills = list(agent.skills.items())
        cap = [0] * 8
        for ch, n in prof.capacity.items():
            cap[CHANNELS[ch]] = n
        excl = 0
        for ch in prof.exclusive:
            excl |= 1 << CHANNELS[ch]
        mems = list(prof.queues.items())
        mpos = {q: i for i, (q, _) in enumerate(mems)}
        scan_q: list[int] = []
        scan_m: list[int] = []
        for qname, own in scan:
            scan_q.append(self._qidx[qname])
            scan_m.append(mpos[qname] if own is not None else -1)
        _check(
            self.lib.acd_agent_profile(
                self.core,
                idx,
                agent.order,
                self._region(prof.region),
                len(skills),
                ffi.new("int[]", [self._skill(n) for n, _ in skills] or [0]),
                ffi.new("int[]", [lv for _, lv in skills] or [0]),
                ffi.new("int[]", cap),
                excl,
                len(mems),
                ffi.new("int[]", [self._qidx[q] for q, _ in mems] or [0]),
                ffi.new("double[]", [float(m.priority) for _, m in mems] or [0.0]),
                ffi.new("double[]", [float(m.delay) for _, m in mems] or [0.0]),
                ffi.new("double[]", [float(m.position) for _, m in mems] or [0.0]),
                ffi.new("long long[]", [m.weight for _, m in mems] or [0]),
                len(scan_q),
                ffi.new("int[]", scan_q or [0]),
                ffi.new("int[]", scan_m or [0]),
            ),
            "profile of agent",
            agent.agent_id,
        )

    def sync(self, agent: AgentRecord, avail: bool, guarded: bool) -> bool:
        """Push the agent's dynamic state; the core recomputes whether it is
        offerable (returned) and updates its queues' free lists."""
        sessions = agent.sessions
        n = len(sessions)
        seq, ch = self._seq, self._ch
        if n:
            if n > len(ch):  # up to 4 channels x MAX_CAPACITY
                self._seq = seq = self.ffi.new("long long[]", 2 * n)
                self._ch = ch = self.ffi.new("int[]", 2 * n)
            for i, s in enumerate(sessions.values()):
                seq[i] = s.seq
                ch[i] = CHANNELS[s.channel]
        rc = self.lib.acd_agent_sync(
            self.core,
            agent.slot,
            avail,
            agent.idle_since,
            float(agent.calls_taken),
            agent.talk_time,
            guarded,
            n,
            seq,
            ch,
        )
        if rc < 0:
            _check(rc, "state of agent", agent.agent_id)
        return bool(rc == 1)

    # ---------------------------------------------------------------- calls

    def put(self, call: CallRecord) -> None:
        """The call now waits in its queue (its key, class and reservation)."""
        key = self._key
        k = call.key
        n = len(k)
        for i in range(n):
            key[i] = k[i]
        for i in range(n, 6):
            key[i] = -math.inf
        preferred = call.preferred_agent
        slot = _check(
            self.lib.acd_call_put(
                self.core,
                call.seq,
                self._qidx[call.queue],
                self._class(call),
                key,
                call.entered,
                -1 if preferred is None else self.agent_index(preferred),
                call.preferred_until,
            ),
            "queueing call",
            call.call_id,
        )
        call.slot = slot
        calls = self._calls
        if slot == len(calls):
            calls.append(call)
        else:
            calls[slot] = call

    def remove(self, call: CallRecord) -> None:
        """The call no longer waits (offered, abandoned, moved, exited)."""
        slot = call.slot
        if slot < 0:
            return
        _check(self.lib.acd_call_remove(self.core, slot), "removing call", call.call_id)
        self._calls[slot] = None
        call.slot = -1

    def restage(self, call: CallRecord) -> None:
        """A waiting call's requirement, extra queues or region rule changed."""
        if call.slot >= 0:
            _check(
                self.lib.acd_call_restage(self.core, call.slot, self._class(call)),
                "restaging call",
                call.call_id,
            )

    # ------------------------------------------------------------- decisions

    def _grow_out(self, need: int) -> None:
        if need > self._out_cap:
            cap = max(need, 2 * self._out_cap)
            self._out_agent = self.ffi.new("int[]", cap)
            self._out_weight = self.ffi.new("long long[]", cap)
            self._out_cap = cap

    def route_call(
        self, call: CallRecord, now: float, rr_last: int | None
    ) -> tuple[list[AgentRecord], list[int], float]:
        """The agents to offer a waiting call to under its queue's strategy
        (for the random strategies and ring-all: every candidate in agent
        order, with weights, for the caller to draw from or ring), and the
        earliest instant a held-back agent opens when there is none."""
        self._grow_out(len(self._agents) + 1)
        n = _check(
            self.lib.acd_route_call(
                self.core,
                call.slot,
                now,
                -1 if rr_last is None else rr_last,
                self._out_agent,
                self._out_weight,
                self._out_cap,
                self._earliest,
            ),
            "routing call",
            call.call_id,
        )
        agents = self._agents
        out = self._out_agent
        chosen = [agents[out[i]] for i in range(n)]
        weights = [self._out_weight[i] for i in range(n)]
        return chosen, weights, float(self._earliest[0])

    def route_agent(
        self, agent: AgentRecord, avail: bool, now: float
    ) -> tuple[list[CallRecord], float]:
        """The waiting calls the agent takes, best first, until it is full or
        none is eligible; then the earliest instant a held-back call opens
        (``inf`` when it stopped full or nothing is held back)."""
        n = _check(
            self.lib.acd_route_agent(
                self.core, agent.slot, avail, now, 64, self._out_slot, self._earliest
            ),
            "routing agent",
            agent.agent_id,
        )
        calls = self._calls
        out = self._out_slot
        taken = [calls[out[i]] for i in range(n)]
        return taken, float(self._earliest[0])

    # ------------------------------------------------------------ inspection

    def free_agents(self, queue: str) -> set[str]:
        """The ids of the agents in the core's free list of ``queue``."""
        lib, core, q = self.lib, self.core, self._qidx[queue]
        out = set()
        for i in range(_check(lib.acd_queue_nfree(core, q), "free list")):
            agent = self._agents[_check(lib.acd_queue_free_at(core, q, i), "free list")]
            assert agent is not None
            out.add(agent.agent_id)
        return out

    def waiting(self, queue: str) -> int:
        """How many calls the core holds waiting in ``queue``."""
        return _check(self.lib.acd_queue_nwaiting(self.core, self._qidx[queue]), "waiting")

    def slot_state(self, slot: int) -> int:
        """0: free slot, 1: allocated not waiting, 2: waiting."""
        return _check(self.lib.acd_call_state(self.core, slot), "call slot")

    def memory(self) -> int:
        """Bytes the core has allocated (approximately)."""
        return int(self.lib.acd_memory(self.core))

    def calls(self) -> Mapping[int, CallRecord]:
        """Slot to call, for the calls the core holds."""
        return {i: c for i, c in enumerate(self._calls) if c is not None}
