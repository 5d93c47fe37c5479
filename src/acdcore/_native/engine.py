"""The Python face of the C engine (``acd_engine.h``; internal).

:class:`NativeEngine` is a thin wrapper: numbers in, action tuples out, one
C call per event. It checks nothing the engine checks itself (states,
indices, instants): a refused event raises :class:`EngineRefused` with the
engine's code and changes nothing. Identity is the engine's: a queue is its
index in the configuration, an agent the index the caller gives it, a call
its arrival sequence number.

Every action is a tuple ``(kind, reason, call, agent, queue, n, x, y, at)``
of the fields of ``acd_action`` (see :data:`ACTION_KINDS` and :data:`REASONS`
for the names of kinds and reasons).
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ..config import AgentProfile

from .core import CHANNELS, NativeError, load

__all__ = [
    "ACTION_KINDS",
    "CALL_STATES",
    "CODES",
    "REASONS",
    "EngineRefused",
    "NativeEngine",
]

Action = tuple[int, int, int, int, int, int, float, float, float]
"""``(kind, reason, call, agent, queue, n, x, y, at)``."""

ACTION_KINDS = {
    1: "offer",
    2: "queued",
    3: "cancel",
    4: "reject",
    5: "pause",
    6: "move",
    7: "exit",
    8: "surge",
}
"""Action kinds (ACD_A_*) by number."""

REASONS = {
    1: "arrived",
    2: "ring-timeout",
    3: "declined",
    4: "answered-elsewhere",
    5: "agent-logged-out",
    6: "caller-abandoned",
    7: "queue-full",
    8: "transferred",
    9: "skills-changed",
    10: "overflow",
    11: "max-wait",
    12: "leave-empty",
}
"""Queued's and CancelOffer's reason strings (ACD_R_*) by number."""

CALL_STATES = {1: "waiting", 2: "ringing", 3: "connected"}
"""Call states (ACD_C_*) by number."""

CODES = {
    -1: "out of memory",
    -2: "index out of range",
    -3: "malformed argument",
    -4: "bad state",
    -10: "unknown call",
    -11: "unknown agent",
    -12: "call state",
    -13: "agent state",
    -14: "no such offer",
    -15: "a deadline is due",
    -16: "time went backwards",
}
"""The engine's return codes (ACD_E*) by number."""

_N = 624

_DRAW_INSTALLED: list[bool] = []


def _install_draw(ffi: Any) -> None:
    """Define, once, the Python function the engine calls for each random
    draw (``acd_py_draw`` in build.py's declarations): ``randrange(n)`` on
    the generator whose handle it is given."""
    if _DRAW_INSTALLED:
        return

    @ffi.def_extern()  # type: ignore[untyped-decorator]
    def acd_py_draw(ctx: Any, n: int, out: Any) -> int:
        try:
            out[0] = ffi.from_handle(ctx).randrange(n)
        except Exception:  # a broken generator: the engine fails the event
            return 1
        return 0

    _DRAW_INSTALLED.append(True)


_RECORD = struct.Struct("@iiqiiqddd")
"""``acd_action`` as laid out in C: kind, reason, call, agent, queue, n, x, y, at."""
_unpack_one = _RECORD.unpack_from


@attrs.frozen
class Scalars:
    """The engine's clock and counters (:meth:`NativeEngine.scalars`)."""

    now: float
    timer_seq: int
    call_seq: int
    arrived: int
    completed: int
    abandoned: int
    rejected: int
    overflowed: int = 0  # sent away by a plan's exit at arrival (acd_engine_exit)
    self_service: int = 0


@attrs.frozen
class CallExport:
    """A live call as the engine holds it (:meth:`NativeEngine.export_calls`)."""

    seq: int
    state: int
    queue: int
    agent: int
    offers: tuple[int, ...]
    ring_round: int
    arrived: float
    entered: float
    offered_at: float
    answered_at: float | None
    preferred_until: float
    recheck_at: float | None
    recheck_timer: int
    nstages: int = 0  # its relaxation table's size (0: none)
    stage: int = 0
    stage_timer: int = -1
    max_wait_timer: int = -1  # its queue's max-wait deadline number (-1: none)


@attrs.frozen
class AgentExport:
    """An agent as the engine holds it (:meth:`NativeEngine.export_agent`)."""

    logged_in: bool
    paused: bool
    pending_logout: bool
    misses: int
    not_before: float
    idle_since: float
    last_call_end: float | None
    calls_taken: int
    talk_time: float
    wake_at: float | None
    wake_timer: int
    staffed: bool


@attrs.frozen
class QueueExport:
    """A queue's dynamic part (:meth:`NativeEngine.queue_state`)."""

    rr_last: int | None
    free: tuple[int, ...]


def profile_arrays(
    profile: AgentProfile, qidx: Mapping[str, int], skill_id: Callable[[str], int]
) -> tuple[list[tuple[int, int]], list[int], int, list[tuple[int, float, float, float, int]]]:
    """An agent's profile as :meth:`NativeEngine.login` takes it: skills as
    (id, level) with ids from ``skill_id``, capacity per channel index, the
    exclusive channels' bit mask, and the memberships as (queue index,
    priority, delay, position, weight) in the profile's order."""
    skills = [(skill_id(name), level) for name, level in profile.skills.items()]
    cap = [0] * 8
    for ch, n in profile.capacity.items():
        cap[CHANNELS[ch]] = n
    excl = 0
    for ch in profile.exclusive:
        excl |= 1 << CHANNELS[ch]
    mems = [
        (qidx[q], float(m.priority), float(m.delay), float(m.position), m.weight)
        for q, m in profile.queues.items()
    ]
    return skills, cap, excl, mems


class EngineRefused(NativeError):
    """The engine refused an event or a read; ``code`` is its ACD_E* code
    (see :data:`CODES`). Nothing changed."""

    def __init__(self, code: int, what: str = "") -> None:
        self.code = code
        detail = f"{what}: " if what else ""
        super().__init__(f"native engine: {detail}{CODES.get(code, 'error')} ({code})")


def _padded_key(key: tuple[float, ...]) -> tuple[float, ...]:
    if len(key) > 6:
        raise EngineRefused(-3, "a sort key holds at most 6 numbers")
    return key + _PADS[len(key)]


_PADS = tuple((-math.inf,) * (6 - n) for n in range(7))
"""The -inf padding of a sort key of each length (shorter keys sort first)."""


class NativeEngine:
    """One C engine: a distributor's dynamic state over ``nqueues`` queues,
    its clock at ``start``, drawing from a copy of ``rng``'s state (``rng``
    itself is not advanced; :meth:`rng_state` gives the engine's).

    Each event costs what its handler costs in C plus O(actions) to build
    the returned tuples.
    """

    def __init__(self, nqueues: int, start: float, rng: random.Random) -> None:
        mod = load()
        self.ffi = ffi = mod.ffi
        self.lib = lib = mod.lib
        _install_draw(ffi)
        state = rng.getstate()
        words = ffi.new("uint32_t[]", list(state[1][:_N]))
        eng = lib.acd_engine_new(nqueues, float(start), words, state[1][_N])
        if eng == ffi.NULL:
            raise NativeError("native engine: could not create (bad argument or out of memory)")
        self.eng = ffi.gc(eng, lib.acd_engine_free)
        if ffi.sizeof("acd_action") != _RECORD.size:
            raise NativeError("native engine: acd_action's layout is not the one expected")
        # The engine's status block, read in place: the number of actions
        # of the last event and the next deadline without a call into C.
        self._status = lib.acd_engine_status_of(self.eng)
        # A clock moved by set_clock that C has not seen yet (see _catch_up),
        # and whether that was the last step (its actions: none).
        self._lag: float | None = None
        self._quiet = False
        # A view of the action buffer, and the most records a step has left
        # (the buffer stays put until a step leaves more: _unpack).
        self._abuf = memoryview(b"")
        self._seen = 0
        self._i4 = ffi.new("int[4]")
        self._l4 = ffi.new("int64_t[4]")
        self._key = ffi.new("double[6]")
        # Every draw of the random strategies is rng.randrange(n), made on
        # the generator itself (the engine's own copy of its state is unused).
        self.rng = rng
        self._rng_handle = ffi.new_handle(rng)
        self._ok(lib.acd_engine_set_draw(self.eng, lib.acd_py_draw, self._rng_handle), "draw")

    # ------------------------------------------------------- configuration

    def queue(
        self,
        q: int,
        strategy: int,
        ring_timeout: float,
        wrap_up: float,
        max_length: int | None,
        preferred_wait: float,
        no_answer_delay: float,
        auto_pause_after: int | None,
    ) -> None:
        """Configure queue ``q`` (strategy numbered as core.STRATEGIES)."""
        self._ok(
            self.lib.acd_engine_queue(
                self.eng,
                q,
                strategy,
                float(ring_timeout),
                float(wrap_up),
                -1 if max_length is None else max_length,
                float(preferred_wait),
                float(no_answer_delay),
                -1 if auto_pause_after is None else auto_pause_after,
            ),
            "queue",
        )

    def klass(
        self,
        skills: Sequence[int],
        minimums: Sequence[int],
        channel: int,
        extra: Sequence[int] = (),
        region: int = -1,
    ) -> int:
        """The id of the call class (requirement, channel, the queues a
        plan step added, a regional stage's region id or -1); the same id
        for the same class."""
        ffi = self.ffi
        return self._ok(
            self.lib.acd_engine_class_rx(
                self.eng,
                len(skills),
                ffi.new("int[]", list(skills) or [0]),
                ffi.new("int[]", list(minimums) or [0]),
                channel,
                region,
                len(extra),
                ffi.new("int[]", list(extra) or [0]),
            ),
            "class",
        )

    def borrowers(self, q: int, borrowers: Sequence[int]) -> None:
        """The queues whose plan steps add queue ``q`` (before any event)."""
        buf = self.ffi.new("int[]", list(borrowers) or [0])
        self._ok(self.lib.acd_engine_borrowers(self.eng, q, len(borrowers), buf), "borrowers")

    def queue_exits(
        self,
        q: int,
        max_wait: float | None,
        on_max_wait: tuple[int, int],
        leave_empty: tuple[int, int] | None,
    ) -> None:
        """Queue ``q``'s live-state exits (before any event): the maximum
        wait (None: none) and its exit, the leave-empty exit (None: none);
        an exit is (kind, target): 0 reject, 1 destination, 2 self-service,
        or 3 with a target queue."""
        le = (-1, -1) if leave_empty is None else leave_empty
        mw = math.nan if max_wait is None else float(max_wait)
        rc = self.lib.acd_engine_queue_exits(self.eng, q, mw, *on_max_wait, *le)
        self._ok(rc, "queue exits")

    def call_moves(self, seq: int, moves: Sequence[tuple[int, int, tuple[float, ...]]]) -> None:
        """Live call ``seq``'s move table: per queue an exit may move it to,
        (queue, class, sort key) there."""
        ffi = self.ffi
        keys: list[float] = []
        for _, _, key in moves:
            keys.extend(key if len(key) == 6 else _padded_key(key))
        rc = self.lib.acd_engine_call_moves(
            self.eng,
            seq,
            len(moves),
            ffi.new("int[]", [m[0] for m in moves] or [0]),
            ffi.new("int[]", [m[1] for m in moves] or [0]),
            ffi.new("double[]", keys or [0.0]),
        )
        self._ok(rc, "call moves")

    def queue_surge(self, q: int, enter_waiting: int, leave_waiting: int) -> None:
        """Queue ``q``'s surge mode thresholds (before any event; in the
        plan's order of queues)."""
        rc = self.lib.acd_engine_queue_surge(self.eng, q, enter_waiting, leave_waiting)
        self._ok(rc, "queue surge")

    def load_guard(self, min_answer_rate: float, window: int, min_offers: int) -> None:
        """A routing plan's load guard (before any event)."""
        rc = self.lib.acd_engine_load_guard(self.eng, float(min_answer_rate), window, min_offers)
        self._ok(rc, "load guard")

    def answers(self, i: int) -> list[bool]:
        """Agent ``i``'s kept offer outcomes, oldest first (the load guard's)."""
        ffi, lib = self.ffi, self.lib
        n = self._ok(lib.acd_engine_export_answers(self.eng, i, ffi.NULL, 0), "answers")
        if not n:
            return []
        buf = ffi.new("unsigned char[]", n)
        self._ok(lib.acd_engine_export_answers(self.eng, i, buf, n), "answers")
        return [bool(b) for b in buf]

    def load_answers(self, i: int, answers: Sequence[bool]) -> None:
        """A loaded agent's kept offer outcomes."""
        buf = self.ffi.new("unsigned char[]", [int(bool(a)) for a in answers] or [0])
        self._ok(self.lib.acd_engine_load_answers(self.eng, i, len(answers), buf), "load answers")

    def surge(self, q: int) -> bool:
        """Whether queue ``q`` is in surge mode."""
        return bool(self._ok(self.lib.acd_engine_surge(self.eng, q), "surge"))

    def load_surge(self, q: int, active: bool) -> None:
        """A loaded queue's surge mode."""
        self._ok(self.lib.acd_engine_load_surge(self.eng, q, int(active)), "load surge")

    def members(self, q: int) -> int:
        """How many logged-in agents are members of queue ``q``."""
        return self._ok(self.lib.acd_engine_members(self.eng, q), "members")

    def name_agent(self, agent: int) -> None:
        """Reserve an agent index before its first login (a preferred agent)."""
        self._ok(self.lib.acd_engine_name_agent(self.eng, agent), "name_agent")

    # -------------------------------------------------------------- events

    def login(
        self,
        now: float,
        agent: int,
        order: int,
        skills: Sequence[tuple[int, int]],
        cap: Sequence[int],
        excl: int,
        memberships: Sequence[tuple[int, float, float, float, int]],
        region: int = 0,
    ) -> list[Action]:
        """AgentLoggedIn: skills as (skill id, level); cap per channel
        index (8 ints); memberships (queue, priority, delay, position,
        weight) in the profile's order; the profile's region id (0: none)."""
        prof = self._profile("login", skills, cap, excl, memberships)
        return self._run(
            self.lib.acd_engine_login(self.eng, float(now), agent, order, region, *prof), "login"
        )

    def skills_changed(
        self,
        now: float,
        agent: int,
        skills: Sequence[tuple[int, int]],
        cap: Sequence[int],
        excl: int,
        memberships: Sequence[tuple[int, float, float, float, int]],
        region: int = 0,
    ) -> list[Action]:
        """AgentSkillsChanged: the agent's whole new profile, as :meth:`login`
        takes it."""
        prof = self._profile("skills_changed", skills, cap, excl, memberships)
        return self._run(
            self.lib.acd_engine_skills_changed(self.eng, float(now), agent, region, *prof),
            "skills_changed",
        )

    def logout(self, now: float, agent: int) -> list[Action]:
        return self._run(self.lib.acd_engine_logout(self.eng, float(now), agent), "logout")

    def pause(self, now: float, agent: int) -> list[Action]:
        return self._run(self.lib.acd_engine_pause(self.eng, float(now), agent), "pause")

    def resume(self, now: float, agent: int) -> list[Action]:
        return self._run(self.lib.acd_engine_resume(self.eng, float(now), agent), "resume")

    def arrive(
        self, now: float, queue: int, cls: int, key: Sequence[float], preferred: int
    ) -> tuple[int, list[Action]]:
        """CallArrived: the call's sequence number and the actions. ``key``
        is the policy's sort key (padded with -inf to 6 numbers)."""
        k = key if key.__class__ is tuple else tuple(key)
        n = len(k)
        if n != 6:
            if n > 6:
                raise EngineRefused(-3, "a sort key holds at most 6 numbers")
            k += _PADS[n]
        seq = self.lib.acd_engine_arrive(self.eng, now, queue, cls, k, preferred)
        if seq < 0:
            raise EngineRefused(int(seq), "arrive")
        self._quiet = False
        return seq, self._unpack()

    def arrive_planned(
        self,
        now: float,
        queue: int,
        key: Sequence[float],
        preferred: int,
        classes: Sequence[int],
        expires: Sequence[float] | None,
        preferred_wait: float = math.nan,
        skips: Sequence[bool] | None = None,
    ) -> tuple[int, list[Action]]:
        """CallArrived as a routing plan's rule makes it: with a relaxation
        table (each stage's class and the instant it expires, the last
        one's ignored), or with none (``expires`` None: ``classes`` is the
        call's one class); the preferred agent's reservation lasting
        ``preferred_wait`` seconds (NaN: the queue's); ``skips`` marks the
        stages that are skipped when nobody could take the call."""
        k = tuple(key)
        if len(k) != 6:
            k = _padded_key(k)
        ffi = self.ffi
        seq = self.lib.acd_engine_arrive_planned(
            self.eng,
            float(now),
            queue,
            k,
            preferred,
            float(preferred_wait),
            0 if expires is None else len(classes),
            ffi.new("int[]", list(classes)),
            ffi.new("double[]", [float(x) for x in expires or (0.0,)]),
            ffi.NULL if not skips else ffi.new("unsigned char[]", [int(b) for b in skips]),
        )
        if seq < 0:
            raise EngineRefused(int(seq), "arrive")
        return int(seq), self._actions()

    def exit(self, now: float, outcome: int) -> int:
        """An arrival a plan's exit sends away (outcome: 0 rejected, 1
        overflowed, 2 self-service): its sequence number."""
        seq = self.lib.acd_engine_exit(self.eng, float(now), outcome)
        if seq < 0:
            raise EngineRefused(int(seq), "exit")
        return int(seq)

    def abandon(self, now: float, call: int) -> list[Action]:
        return self._run(self.lib.acd_engine_abandon(self.eng, float(now), call), "abandon")

    def answer(self, now: float, call: int, agent: int) -> list[Action]:
        return self._run(self.lib.acd_engine_answer(self.eng, float(now), call, agent), "answer")

    def decline(self, now: float, call: int, agent: int) -> list[Action]:
        return self._run(self.lib.acd_engine_decline(self.eng, float(now), call, agent), "decline")

    def end(self, now: float, call: int) -> list[Action]:
        return self._run(self.lib.acd_engine_end(self.eng, float(now), call), "end")

    def transfer(
        self, now: float, call: int, queue: int, cls: int, key: Sequence[float], keep_arrival: bool
    ) -> list[Action]:
        """CallTransferred, with the call's class and sort key in ``queue``."""
        k = tuple(key)
        if len(k) != 6:
            k = _padded_key(k)
        rc = self.lib.acd_engine_transfer(
            self.eng, float(now), call, queue, cls, k, 1 if keep_arrival else 0
        )
        return self._run(rc, "transfer")

    def advance(self, now: float) -> list[Action]:
        """Move the clock to ``now``, firing every deadline due by then."""
        return self._run(self.lib.acd_engine_advance(self.eng, float(now)), "advance")

    # ---------------------------------------------------------------- load

    def load_agent(
        self,
        agent: int,
        x: AgentExport,
        order: int,
        skills: Sequence[tuple[int, int]],
        cap: Sequence[int],
        excl: int,
        memberships: Sequence[tuple[int, float, float, float, int]],
        region: int = 0,
    ) -> None:
        """Load an agent ever logged in: its profile as :meth:`login` takes
        it and its state as :meth:`export_agent` gives it (acd_engine.h,
        "load"; the sessions follow with :meth:`load_session`)."""
        ffi = self.ffi
        c = ffi.new("acd_agent_export *")
        c.profiled, c.order, c.region = 1, order, region
        c.logged_in, c.paused, c.pending_logout = x.logged_in, x.paused, x.pending_logout
        c.misses, c.not_before, c.idle_since = x.misses, x.not_before, x.idle_since
        c.has_last_end = x.last_call_end is not None
        c.last_call_end = x.last_call_end or 0.0
        c.calls_taken, c.talk_time = x.calls_taken, x.talk_time
        c.has_wake = x.wake_at is not None
        c.wake_at = x.wake_at or 0.0
        c.wake_timer = x.wake_timer
        prof = self._profile("load_agent", skills, cap, excl, memberships)
        self._ok(self.lib.acd_engine_load_agent(self.eng, agent, c, *prof), "load agent")

    def load_session(
        self,
        agent: int,
        call: int,
        channel: int,
        queue: int,
        state: int,
        until: float | None,
        wrap_tseq: int,
    ) -> None:
        """Load one of an agent's sessions (state 1 ringing, 2 connected, 3
        wrap-up with its end and its deadline's scheduling number)."""
        s = self.ffi.new("acd_session_export *")
        s.call, s.channel, s.queue, s.state = call, channel, queue, state
        s.until = until if until is not None else 0.0
        self._ok(self.lib.acd_engine_load_session(self.eng, agent, s, wrap_tseq), "load session")

    def load_call(self, x: CallExport, cls: int, key: Sequence[float], preferred: int) -> None:
        """Load a live call as :meth:`export_call` gives it, with its class
        and sort key as at arrival and its preferred agent (-1 for none)."""
        ffi = self.ffi
        k = tuple(key)
        if len(k) != 6:
            k = _padded_key(k)
        c = ffi.new("acd_call_export *")
        c.seq, c.state, c.queue, c.agent = x.seq, x.state, x.queue, x.agent
        c.noffers, c.preferred = len(x.offers), preferred
        c.has_answered = x.answered_at is not None
        c.has_recheck = x.recheck_at is not None
        c.ring_round, c.recheck_timer = x.ring_round, x.recheck_timer
        c.arrived, c.entered, c.offered_at = x.arrived, x.entered, x.offered_at
        c.answered_at = x.answered_at or 0.0
        c.preferred_until = x.preferred_until
        c.recheck_at = x.recheck_at or 0.0
        c.max_wait_timer = x.max_wait_timer
        offers = ffi.new("int[]", list(x.offers) or [0])
        self._ok(self.lib.acd_engine_load_call(self.eng, c, cls, k, offers), "load call")

    def load_stages(
        self,
        seq: int,
        classes: Sequence[int],
        expires: Sequence[float],
        stage: int,
        stage_timer: int,
        skips: Sequence[bool] | None = None,
    ) -> None:
        """Load a loaded call's relaxation table, current stage and its
        deadline's number (-1: none)."""
        ffi = self.ffi
        rc = self.lib.acd_engine_load_stages(
            self.eng,
            seq,
            len(classes),
            ffi.new("int[]", list(classes) or [0]),
            ffi.new("double[]", [float(x) for x in expires] or [0.0]),
            ffi.NULL if not skips else ffi.new("unsigned char[]", [int(b) for b in skips]),
            stage,
            stage_timer,
        )
        self._ok(rc, "load stages")

    def load_queue(self, q: int, rr_last: int | None) -> None:
        """Load a queue's round-robin memory (the order of the agent last
        offered one of its calls)."""
        rr = -1 if rr_last is None else rr_last
        self._ok(self.lib.acd_engine_load_queue(self.eng, q, rr), "load queue")

    def load_deadline(self, when: float, tseq: int, kind: int, ref: int, token: int) -> None:
        """Load a live deadline; in increasing scheduling number."""
        d = self.ffi.new("acd_deadline *")
        d.when, d.seq, d.kind, d.ref, d.token = when, tseq, kind, ref, token
        self._ok(self.lib.acd_engine_load_deadline(self.eng, d), "load deadline")

    def load_finish(self, s: Scalars) -> None:
        """End a load: the clock and counters; the core is fed and every
        invariant checked (a refusal leaves an engine to discard)."""
        x = self.ffi.new("acd_engine_scalars *")
        x.now, x.timer_seq, x.call_seq = s.now, s.timer_seq, s.call_seq
        x.completed, x.abandoned, x.rejected = s.completed, s.abandoned, s.rejected
        x.overflowed, x.self_service = s.overflowed, s.self_service
        self._ok(self.lib.acd_engine_load_finish(self.eng, x), "load finish")

    # --------------------------------------------------------------- reads

    def next_deadline(self) -> float | None:
        st = self._status
        return st.due if st.has_due else None

    def set_clock(self, now: float) -> None:
        """Move the clock to ``now``, when no deadline is due at or before it
        (the caller checked): all that ``advance(now)`` would do then, but
        without a call into C. C's clock catches up at the next read that
        depends on it (:meth:`_catch_up`); an event carries its own instant."""
        self._lag = now
        self._quiet = True

    def _catch_up(self) -> None:
        """Give C the clock :meth:`set_clock` moved, if no event has moved it
        since. Nothing is due before that instant, so it fires nothing; it
        empties C's action buffer, which :meth:`last_actions` then reads as
        the clock-only step's (none)."""
        lag = self._lag
        if lag is not None:
            self._lag = None
            if lag > self.lib.acd_engine_now(self.eng):
                self._ok(self.lib.acd_engine_advance(self.eng, lag), "clock")

    @property
    def now(self) -> float:
        self._catch_up()
        return float(self.lib.acd_engine_now(self.eng))

    @property
    def next_seq(self) -> int:
        return int(self.lib.acd_engine_next_seq(self.eng))

    def call(self, seq: int) -> tuple[int, int, int, int] | None:
        """A live call's (state, queue, agent, noffers), or None."""
        i = self._i4
        rc = self.lib.acd_engine_call(self.eng, seq, i, i + 1, i + 2, i + 3)
        if rc == -10:
            return None
        self._ok(rc, "call")
        return (int(i[0]), int(i[1]), int(i[2]), int(i[3]))

    def agent(self, i: int) -> tuple[bool, bool, bool, int]:
        """(logged_in, paused, pending_logout, sessions)."""
        b = self._i4
        rc = self._ok(self.lib.acd_engine_agent(self.eng, i, b, b + 1, b + 2), "agent")
        return (rc == 1, bool(b[0]), bool(b[1]), int(b[2]))

    def counts(self) -> tuple[int, int, int, int]:
        """(live, completed, abandoned, rejected)."""
        v = self._l4
        self._ok(self.lib.acd_engine_counts(self.eng, v, v + 1, v + 2, v + 3), "counts")
        return (int(v[0]), int(v[1]), int(v[2]), int(v[3]))

    def rng_state(self) -> tuple[Any, ...]:
        """The state of the generator the engine draws from (the one it was
        given), as random.Random.setstate takes it."""
        return self.rng.getstate()

    # -------------------------------------------------------------- export

    def scalars(self) -> Scalars:
        """The clock, counters and outcome counts."""
        self._catch_up()
        x = self.ffi.new("acd_engine_scalars *")
        self._ok(self.lib.acd_engine_scalars_get(self.eng, x), "scalars")
        return Scalars(
            now=float(x.now),
            timer_seq=int(x.timer_seq),
            call_seq=int(x.call_seq),
            arrived=int(x.call_seq),
            completed=int(x.completed),
            abandoned=int(x.abandoned),
            rejected=int(x.rejected),
            overflowed=int(x.overflowed),
            self_service=int(x.self_service),
        )

    def export_calls(self) -> list[CallExport]:
        """Every live call, in arrival order."""
        ffi, lib = self.ffi, self.lib
        n = self._ok(lib.acd_engine_export_calls(self.eng, ffi.NULL, 0), "calls")
        buf = ffi.new("acd_call_export[]", max(n, 1))
        n = self._ok(lib.acd_engine_export_calls(self.eng, buf, n), "calls")
        return [self._call_export(buf[i]) for i in range(n)]

    def export_call(self, seq: int) -> CallExport | None:
        """One live call, or None: O(its offers)."""
        buf = self.ffi.new("acd_call_export *")
        rc = self.lib.acd_engine_export_call(self.eng, seq, buf)
        if rc == -10:
            return None
        self._ok(rc, "call")
        return self._call_export(buf[0])

    def call_position(self, seq: int) -> int | None:
        """A waiting call's 1-based position in its queue, else None: O(log n)."""
        rc = self._ok(self.lib.acd_engine_call_position(self.eng, seq), "position")
        return rc or None

    def _call_export(self, c: Any) -> CallExport:
        k = c.noffers
        offers: tuple[int, ...] = ()
        if k:
            buf = self.ffi.new("int[]", k)
            self._ok(self.lib.acd_engine_call_offers(self.eng, c.seq, buf, k), "offers")
            offers = tuple(buf)
        return CallExport(
            seq=int(c.seq),
            state=int(c.state),
            queue=int(c.queue),
            agent=int(c.agent),
            offers=offers,
            ring_round=int(c.ring_round),
            arrived=float(c.arrived),
            entered=float(c.entered),
            offered_at=float(c.offered_at),
            answered_at=float(c.answered_at) if c.has_answered else None,
            preferred_until=float(c.preferred_until),
            recheck_at=float(c.recheck_at) if c.has_recheck else None,
            recheck_timer=int(c.recheck_timer),
            nstages=int(c.nstages),
            stage=int(c.stage),
            stage_timer=int(c.stage_timer),
            max_wait_timer=int(c.max_wait_timer),
        )

    def export_agent(self, i: int) -> AgentExport:
        """Agent ``i``'s state."""
        x = self.ffi.new("acd_agent_export *")
        self._ok(self.lib.acd_engine_export_agent(self.eng, i, x), "agent")
        staffed = bool(x.logged_in and not x.paused and not x.pending_logout)
        return AgentExport(
            logged_in=bool(x.logged_in),
            paused=bool(x.paused),
            pending_logout=bool(x.pending_logout),
            misses=int(x.misses),
            not_before=float(x.not_before),
            idle_since=float(x.idle_since),
            last_call_end=float(x.last_call_end) if x.has_last_end else None,
            calls_taken=int(x.calls_taken),
            talk_time=float(x.talk_time),
            wake_at=float(x.wake_at) if x.has_wake else None,
            wake_timer=int(x.wake_timer),
            staffed=staffed,
        )

    def export_sessions(self, i: int) -> list[tuple[int, int, int, int, float | None]]:
        """Agent ``i``'s sessions in the order they were opened: (call,
        channel, queue, state 1 ringing / 2 connected / 3 wrap-up, until)."""
        ffi, lib = self.ffi, self.lib
        n = self._ok(lib.acd_engine_export_sessions(self.eng, i, ffi.NULL, 0), "sessions")
        buf = ffi.new("acd_session_export[]", max(n, 1))
        self._ok(lib.acd_engine_export_sessions(self.eng, i, buf, n), "sessions")
        return [
            (
                int(s.call),
                int(s.channel),
                int(s.queue),
                int(s.state),
                float(s.until) if s.state == 3 else None,
            )
            for s in (buf[j] for j in range(n))
        ]

    def queue_state(self, q: int) -> QueueExport:
        """Queue ``q``'s round-robin memory, staffing and free agents."""
        ffi, lib = self.ffi, self.lib
        rr = ffi.new("int *")
        n = self._ok(lib.acd_engine_queue_free(self.eng, q, rr, ffi.NULL, 0), "queue")
        buf = ffi.new("int[]", max(n, 1))
        self._ok(lib.acd_engine_queue_free(self.eng, q, rr, buf, n), "queue")
        return QueueExport(
            rr_last=None if rr[0] < 0 else int(rr[0]),
            free=tuple(int(buf[j]) for j in range(n)),
        )

    def export_deadlines(self) -> list[tuple[float, int, int, int, int]]:
        """The live deadlines: (instant, scheduling number, kind, ref, token)."""
        ffi, lib = self.ffi, self.lib
        n = self._ok(lib.acd_engine_export_deadlines(self.eng, ffi.NULL, 0), "deadlines")
        buf = ffi.new("acd_deadline[]", max(n, 1))
        n = self._ok(lib.acd_engine_export_deadlines(self.eng, buf, n), "deadlines")
        return [
            (float(d.when), int(d.seq), int(d.kind), int(d.ref), int(d.token))
            for d in (buf[j] for j in range(n))
        ]

    def last_actions(self) -> list[Action]:
        """The actions of the last event or advance that was not refused
        (the engine's buffer, which a refused event leaves as it was; none
        after :meth:`set_clock`)."""
        if self._quiet:
            return []
        return self._unpack()

    def check(self) -> None:
        """Raise AssertionError (with the code) unless every invariant holds."""
        self._catch_up()
        rc = self.lib.acd_engine_check(self.eng)
        if rc != 0:
            raise AssertionError(f"native engine: invariant {rc} broken")

    # ----------------------------------------------------------- internals

    def _profile(
        self,
        what: str,
        skills: Sequence[tuple[int, int]],
        cap: Sequence[int],
        excl: int,
        memberships: Sequence[tuple[int, float, float, float, int]],
    ) -> tuple[Any, ...]:
        """A profile as the engine's functions take it, after the agent:
        (nsk, skill, level, cap, excl, nmem, queue, priority, delay,
        position, weight), the arrays made with ffi.new."""
        if len(cap) != 8:
            raise EngineRefused(-3, f"{what}: cap must hold 8 capacities")
        ffi = self.ffi
        return (
            len(skills),
            ffi.new("int[]", [s for s, _ in skills] or [0]),
            ffi.new("int[]", [lv for _, lv in skills] or [0]),
            ffi.new("int[]", list(cap)),
            excl,
            len(memberships),
            ffi.new("int[]", [m[0] for m in memberships] or [0]),
            ffi.new("double[]", [float(m[1]) for m in memberships] or [0.0]),
            ffi.new("double[]", [float(m[2]) for m in memberships] or [0.0]),
            ffi.new("double[]", [float(m[3]) for m in memberships] or [0.0]),
            ffi.new("long long[]", [m[4] for m in memberships] or [0]),
        )

    def _ok(self, rc: int, what: str) -> int:
        if rc < 0:
            raise EngineRefused(int(rc), what)
        return int(rc)

    def _run(self, rc: int, what: str) -> list[Action]:
        if rc < 0:
            raise EngineRefused(int(rc), what)
        return self._actions()

    def _actions(self) -> list[Action]:
        """The actions of the step that just ran in C (every event's and
        advance's wrapper reads them: the last step is no longer a
        clock-only one)."""
        self._quiet = False
        return self._unpack()

    def _unpack(self) -> list[Action]:
        n = self._status.nact
        if not n:
            return []
        if n > self._seen:  # the buffer may have moved (it moves only to grow)
            self._view(n)
        # One C-level unpack of the records (acd_action's layout, checked
        # against the compiled struct's size when the engine is made).
        if n == 1:
            return [_unpack_one(self._abuf)]
        return list(_RECORD.iter_unpack(self._abuf[: n * _RECORD.size]))

    def _view(self, n: int) -> None:
        """Keep a view of the engine's action buffer, ``n`` records long:
        valid until a step leaves more than ``n`` (acd_engine_actions)."""
        ptr = self.lib.acd_engine_actions(self.eng, self.ffi.NULL)
        self._abuf = memoryview(self.ffi.buffer(ptr, n * _RECORD.size))
        self._seen = n
