"""The handle on one C engine (``acd_engine.h``; internal): making it, the
records a step leaves, the clock, and the engine's codes and names.

:class:`EngineHandle` is what every part of the engine's Python face stands
on: :class:`~acdcore._native.engine_io.EngineIO` (the state out and in)
and :class:`~acdcore._native.engine.NativeEngine` (configuration, events
and reads) extend it. It makes the engine with a copy of a generator's
state, reads the engine's status block in place, unpacks the action records
of the last step from a kept view of the engine's buffer (O(actions): one
C-level unpack), and keeps a clock moved without a call into C until a read
needs it (:meth:`EngineHandle.set_clock`).

Every action is a tuple ``(kind, reason, call, agent, queue, n, x, y, at)``
of the fields of ``acd_action`` (see :data:`ACTION_KINDS` and :data:`REASONS`
for the names of kinds and reasons).
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Sequence
from typing import Any

from .core import NativeError, load

__all__ = [
    "ACTION_KINDS",
    "CALL_STATES",
    "CODES",
    "REASONS",
    "EngineHandle",
    "EngineRefused",
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


class EngineRefused(NativeError):
    """The engine refused an event or a read; ``code`` is its ACD_E* code
    (see :data:`CODES`). Nothing changed."""

    def __init__(self, code: int, what: str = "") -> None:
        self.code = code
        detail = f"{what}: " if what else ""
        super().__init__(f"native engine: {detail}{CODES.get(code, 'error')} ({code})")


def padded_key(key: Sequence[float]) -> tuple[float, ...]:
    """``key`` as the engine takes it: a tuple of 6 numbers, padded with
    -inf (shorter keys sort first); refused past 6."""
    k = key if key.__class__ is tuple else tuple(key)
    n = len(k)
    if n == 6:
        return k
    if n > 6:
        raise EngineRefused(-3, "a sort key holds at most 6 numbers")
    return k + _PADS[n]


_PADS = tuple((-math.inf,) * (6 - n) for n in range(7))
"""The -inf padding of a sort key of each length."""


class EngineHandle:
    """One C engine: a distributor's dynamic state over ``nqueues`` queues,
    its clock at ``start``, drawing from ``rng`` itself (the engine's own
    copy of its state is unused; :meth:`rng_state` gives it).

    Reading the last step's actions costs O(actions); the status block (the
    next deadline, the number of actions) is read in place, O(1).
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
        # A view of the whole action buffer and the capacity it was made for
        # (the buffer moves only when the status block's acap changes).
        self._abuf = memoryview(b"")
        self._acap = 0
        self._i4 = ffi.new("int[4]")
        self._l4 = ffi.new("int64_t[4]")
        # A waiting call's estimator context (NativeEngine.context).
        self._ctx = ffi.new("acd_hook *")
        # Every draw of the random strategies is rng.randrange(n), made on
        # the generator itself (the engine's own copy of its state is unused).
        self.rng = rng
        self._rng_handle = ffi.new_handle(rng)
        self._ok(lib.acd_engine_set_draw(self.eng, lib.acd_py_draw, self._rng_handle), "draw")

    # --------------------------------------------------------------- clock

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

    def rng_state(self) -> tuple[Any, ...]:
        """The state of the generator the engine draws from (the one it was
        given), as random.Random.setstate takes it."""
        return self.rng.getstate()

    # ------------------------------------------------------------- records

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
        st = self._status
        n = st.nact
        if not n:
            return []
        if st.acap != self._acap:  # the buffer grew, so it may have moved
            self._view(st.acap)
        # One C-level unpack of the records (acd_action's layout, checked
        # against the compiled struct's size when the engine is made).
        if n == 1:
            return [_unpack_one(self._abuf)]
        return list(_RECORD.iter_unpack(self._abuf[: n * _RECORD.size]))

    def _view(self, cap: int) -> None:
        """Keep a view of the engine's whole action buffer, ``cap`` records:
        valid while its capacity stays ``cap`` (acd_engine_actions)."""
        ptr = self.lib.acd_engine_actions(self.eng, self.ffi.NULL)
        self._abuf = memoryview(self.ffi.buffer(ptr, cap * _RECORD.size))
        self._acap = cap
