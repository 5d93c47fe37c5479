"""The C engine's state out and in (internal): what a snapshot, a saved
document and the Python handlers read of it, and how a saved state is
loaded back (``acd_engine.h``, "export" and "load").

:class:`EngineIO` extends :class:`~acdcore._native.engine_base.EngineHandle`
with the exports (every live call, agent, session, queue and deadline, as
the frozen records below) and the loads that rebuild an engine from them,
in the order ``acd_engine_load_*`` requires: agents and their sessions,
calls and their stages, queues, deadlines, then :meth:`EngineIO.load_finish`
(which checks every invariant). Each export costs O(what it returns); each
load O(what it loads), with the engine's own costs (acd_engine.h).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from .engine_base import EngineHandle, padded_key

__all__ = ["AgentExport", "CallExport", "EngineIO", "QueueExport", "Scalars"]


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
    callback_failed: int = 0
    callback_cancelled: int = 0


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
    announce_timer: int = -1  # its pending announcement's deadline number (-1: none)
    next_announce: float | None = None  # that announcement's instant
    heard: bool = False  # it has heard an announcement
    callback: bool = False  # it is a callback
    attempts: int = 0  # callback attempts made


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


class EngineIO(EngineHandle):
    """A C engine whose state can be read out and loaded (see the module
    docstring)."""

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
        k = padded_key(key)
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
        c.announce_timer = x.announce_timer
        c.next_announce = 0.0 if x.next_announce is None else x.next_announce
        c.heard = int(x.heard)
        c.callback = int(x.callback)
        c.attempts = x.attempts
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
        x.callback_failed, x.callback_cancelled = s.callback_failed, s.callback_cancelled
        self._ok(self.lib.acd_engine_load_finish(self.eng, x), "load finish")

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
            callback_failed=int(x.callback_failed),
            callback_cancelled=int(x.callback_cancelled),
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
            announce_timer=int(c.announce_timer),
            next_announce=float(c.next_announce) if c.announce_timer >= 0 else None,
            heard=bool(c.heard),
            callback=bool(c.callback),
            attempts=int(c.attempts),
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
