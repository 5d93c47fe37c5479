"""The Python face of the C engine (``acd_engine.h``; internal).

:class:`NativeEngine` is a thin wrapper: numbers in, action tuples out, one
C call per event. It checks nothing the engine checks itself (states,
indices, instants): a refused event raises :class:`EngineRefused` with the
engine's code and changes nothing. Identity is the engine's: a queue is its
index in the configuration, an agent the index the caller gives it, a call
its arrival sequence number. The engine's handle (making it, the step's
records, the clock) is :mod:`~acdcore._native.engine_base`'s; reading its
state out and loading it back, :mod:`~acdcore._native.engine_io`'s.

Every action is a tuple ``(kind, reason, call, agent, queue, n, x, y, at)``
of the fields of ``acd_action`` (see :data:`ACTION_KINDS` and :data:`REASONS`
for the names of kinds and reasons).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import AgentProfile

from .core import CHANNELS
from .engine_base import (
    ACTION_KINDS,
    CALL_STATES,
    CODES,
    REASONS,
    Action,
    EngineRefused,
    padded_key,
)
from .engine_io import AgentExport, CallExport, EngineIO, QueueExport, Scalars

__all__ = [
    "ACTION_KINDS",
    "CALL_STATES",
    "CODES",
    "REASONS",
    "AgentExport",
    "CallExport",
    "EngineRefused",
    "NativeEngine",
    "QueueExport",
    "Scalars",
    "profile_arrays",
]


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


class NativeEngine(EngineIO):
    """One C engine: a distributor's dynamic state over ``nqueues`` queues,
    its clock at ``start``, drawing from ``rng`` itself
    (:class:`~acdcore._native.engine_base.EngineHandle` makes it; the state
    out and in is :class:`~acdcore._native.engine_io.EngineIO`'s). Here:
    its configuration, its events and the reads of one call or agent.

    Each event costs what its handler costs in C plus O(actions) to build
    the returned tuples.
    """

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
            keys.extend(padded_key(key))
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

    def queue_experience(
        self,
        q: int,
        announce: tuple[float, float] | None,
        callback: bool,
        policy: tuple[float, int, float],
    ) -> None:
        """Queue ``q``'s caller experience (before any event): its
        announcements' (first, every) in seconds (None: none), whether it
        offers callbacks, and the callback policy's (dial timeout, retries,
        retry delay): its own, or the default's for a queue with none."""
        first, every = (0.0, 0.0) if announce is None else announce
        dial, retries, delay = policy
        rc = self.lib.acd_engine_queue_experience(
            self.eng,
            q,
            int(announce is not None),
            float(first),
            float(every),
            int(callback),
            float(dial),
            retries,
            float(delay),
        )
        self._ok(rc, "queue experience")

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

    def sampled(self, q: int) -> tuple[int, int]:
        """Queue ``q``'s (waiting, staffed) as last told to the estimators
        (``QueueRecord.sampled``; ``(-1, -1)`` before the first)."""
        w = self.ffi.new("int[2]")
        self._ok(self.lib.acd_engine_sampled(self.eng, q, w, w + 1), "sampled")
        return int(w[0]), int(w[1])

    def load_sampled(self, q: int, waiting: int, staffed: int) -> None:
        """A loaded queue's (waiting, staffed) as last told to the estimators."""
        self._ok(self.lib.acd_engine_load_sampled(self.eng, q, waiting, staffed), "load sampled")

    def staffed(self, q: int) -> int:
        """How many members of queue ``q`` are staffed."""
        return self._ok(self.lib.acd_engine_staffed(self.eng, q), "staffed")

    def context(self, seq: int) -> Any | None:
        """Waiting call ``seq``'s estimator context now, as an
        ``acd_hook`` (fields as an ACD_H_ENTERED hook's; valid until the
        next call of this method), or None when the call is not live or not
        waiting. A read: it changes nothing the engine decides or reports
        (it first gives C the clock :meth:`set_clock` moved, as every read
        does)."""
        self._catch_up()  # its waits are counted to the distributor's clock
        out = self._ctx
        rc = self.lib.acd_engine_context(self.eng, seq, out)
        if rc in (-10, -12):  # unknown call, call state
            return None
        self._ok(rc, "context")
        return out

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
        k = padded_key(key)
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
        k = padded_key(key)
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

    def entry_stage(
        self,
        now: float,
        queue: int,
        classes: Sequence[int],
        expires: Sequence[float],
        skips: Sequence[bool],
    ) -> int:
        """Not an event: the stage a call arriving at ``now`` in ``queue``
        with this relaxation table would enter (as ``arrive_planned``'s),
        by the engine's own rule, in its state as it is. Changes nothing."""
        ffi = self.ffi
        got = self.lib.acd_engine_entry_stage(
            self.eng,
            float(now),
            queue,
            len(classes),
            ffi.new("int[]", list(classes)),
            ffi.new("double[]", [float(x) for x in expires]),
            ffi.new("unsigned char[]", [int(b) for b in skips]),
        )
        if got < 0:
            raise EngineRefused(int(got), "entry_stage")
        return int(got)

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
        k = padded_key(key)
        rc = self.lib.acd_engine_transfer(
            self.eng, float(now), call, queue, cls, k, 1 if keep_arrival else 0
        )
        return self._run(rc, "transfer")

    def advance(self, now: float) -> list[Action]:
        """Move the clock to ``now``, firing every deadline due by then."""
        return self._run(self.lib.acd_engine_advance(self.eng, float(now)), "advance")

    # --------------------------------------------------------------- reads

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
