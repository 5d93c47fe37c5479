"""What a :class:`~acdcore.metrics.Metrics` keeps between observations (internal).

- the accumulators, one per (interval, queue) and per (interval, agent):
  :class:`_CallAcc` (call-attributed counts, talk and wrap-up totals, and the
  waits themselves for exact percentiles) and :class:`_AgentAcc` (an agent's
  time in each state, by clock, plus its own :class:`_CallAcc`); both
  ``merge`` another of their kind to roll intervals up into a period;
- the live records: :class:`_Call` (a call in the centre), :class:`_Agent`
  with its :class:`_Session` per call it rings for, talks on or wraps up, and
  :class:`_Answered` (an answered call remembered for its survey);
- the names of the agent-time categories (``_BUSY`` ... ``_AVAILABLE``, the
  :class:`_AgentAcc` fields they add to) and the functions that read an
  agent's records: ``_category`` (where its time counts now), ``_state_at``
  (the distributor's summary state), ``_ringing`` (its offer for a call) and
  ``_acc_in`` (its accumulator in a bucket, made on first use).

:mod:`acdcore._metrics_state` saves and loads every one of these records, so
a field added here must be given a form there. Cost: updating a counter is
O(1); ``merge`` is O(fields + waits merged); ``_category`` and ``_state_at``
are O(the agent's sessions), ``_ringing`` too.
"""

from __future__ import annotations

from array import array

import attrs

from ._state import AgentState

_BUSY = "time_busy"
_WRAP = "time_wrap_up"
_RINGING = "time_ringing"
_PAUSED = "time_paused"
_AVAILABLE = "time_available"


# --------------------------------------------------------------- accumulators


@attrs.define(slots=True)
class _CallAcc:
    """Call-attributed counts for one (interval, queue) or (interval, agent)."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    abandoned_within: int = 0
    short_abandoned: int = 0
    rejected: int = 0
    overflowed: int = 0
    self_service: int = 0
    callback_failed: int = 0
    callback_cancelled: int = 0
    moved: int = 0
    handled: int = 0
    talk: float = 0.0
    wrap: float = 0.0
    hold: float = 0.0
    offers: int = 0
    rona: int = 0
    declined: int = 0
    transfers: int = 0
    callbacks: int = 0
    surveys: int = 0
    score_sum: int = 0
    top2: int = 0
    answered_waits: array[float] = attrs.Factory(lambda: array("d"))
    abandoned_waits: array[float] = attrs.Factory(lambda: array("d"))

    def merge(self, other: _CallAcc) -> None:
        # Written out, not a loop over the fields: reports merge thousands
        # (tests/test_metrics.py checks that every field is here).
        self.offered += other.offered
        self.answered += other.answered
        self.answered_within += other.answered_within
        self.abandoned += other.abandoned
        self.abandoned_within += other.abandoned_within
        self.short_abandoned += other.short_abandoned
        self.rejected += other.rejected
        self.overflowed += other.overflowed
        self.self_service += other.self_service
        self.callback_failed += other.callback_failed
        self.callback_cancelled += other.callback_cancelled
        self.moved += other.moved
        self.handled += other.handled
        self.talk += other.talk
        self.wrap += other.wrap
        self.hold += other.hold
        self.offers += other.offers
        self.rona += other.rona
        self.declined += other.declined
        self.transfers += other.transfers
        self.callbacks += other.callbacks
        self.surveys += other.surveys
        self.score_sum += other.score_sum
        self.top2 += other.top2
        self.answered_waits.extend(other.answered_waits)
        self.abandoned_waits.extend(other.abandoned_waits)


# The fields of _CallAcc that add up (all but the two arrays of waits).
_COUNTS = tuple(f.name for f in attrs.fields(_CallAcc) if not f.name.endswith("_waits"))
_TIMES = (_BUSY, _WRAP, _RINGING, _PAUSED, _AVAILABLE)


@attrs.define(slots=True)
class _AgentAcc:
    """An agent's time (by clock) and its call-attributed counts."""

    time_busy: float = 0.0
    time_wrap_up: float = 0.0
    time_ringing: float = 0.0
    time_paused: float = 0.0
    time_available: float = 0.0
    auto_pauses: int = 0
    calls: _CallAcc = attrs.Factory(_CallAcc)

    def merge(self, other: _AgentAcc) -> None:
        self.time_busy += other.time_busy
        self.time_wrap_up += other.time_wrap_up
        self.time_ringing += other.time_ringing
        self.time_paused += other.time_paused
        self.time_available += other.time_available
        self.auto_pauses += other.auto_pauses
        self.calls.merge(other.calls)


# --------------------------------------------------------------- live records


@attrs.define(slots=True, eq=False)
class _Call:
    call_id: str
    seq: int  # this component's own arrival number: an id may be reused once a call ends
    queue: str  # the queue it arrived in: every KPI is attributed to it
    current: str  # the queue it waits in now (real-time view)
    arrived: float
    bucket: int
    state: str = "waiting"  # "waiting" | "ringing" | "connected"
    answered: bool = False  # its outcome is fixed: answered (then maybe transferred)
    agent: str | None = None
    answered_at: float | None = None


@attrs.define(slots=True, eq=False)
class _Session:
    call_id: str
    state: str  # "ringing" | "connected" | "wrap"
    queue: str  # the call's arrival queue (attribution)
    bucket: int
    leg_queue: str  # the queue it was offered from (its wrap-up time)
    talk: float = 0.0
    ended: float = 0.0
    until: float = 0.0


@attrs.define(slots=True, eq=False)
class _Agent:
    agent_id: str
    logged_in: bool = False
    paused: bool = False
    pending_logout: bool = False
    sessions: dict[int, _Session] = attrs.Factory(dict)  # by the call's arrival number
    category: str | None = None
    since: float = 0.0


@attrs.define(slots=True, eq=False)
class _Answered:
    """What a survey needs to know about an answered call."""

    seq: int  # the call's arrival number: a reused id is another call
    queue: str
    agent: str
    bucket: int
    answered_at: float
    surveyed: bool = False


# ------------------------------------------------------------------- helpers


def _acc_in(into: dict[int, dict[str, _AgentAcc]], bucket: int, agent_id: str) -> _AgentAcc:
    per = into.get(bucket)
    if per is None:
        per = into[bucket] = {}
    acc = per.get(agent_id)
    if acc is None:
        acc = per[agent_id] = _AgentAcc()
    return acc


def _ringing(agent: _Agent, call_id: str) -> tuple[int, _Session | None]:
    """The agent's ringing session for ``call_id`` (its call may have just
    ended: the CancelOffer follows the caller's hang-up), with its key.
    An agent rings at most once per call id. Cost: O(sessions)."""
    for seq, session in agent.sessions.items():
        if session.call_id == call_id and session.state == "ringing":
            return seq, session
    return -1, None


def _category(agent: _Agent) -> str | None:
    """The time bucket an agent's current state counts in (see the module docstring)."""
    if not agent.logged_in:
        return None
    states = {s.state for s in agent.sessions.values()}
    if "connected" in states:
        return _BUSY
    if "wrap" in states:
        return _WRAP
    if "ringing" in states:
        return _RINGING
    return _PAUSED if agent.paused else _AVAILABLE


def _state_at(agent: _Agent, now: float) -> AgentState:
    """The distributor's summary state of the agent at ``now``."""
    if not agent.logged_in:
        return AgentState.LOGGED_OUT
    states = {
        s.state for s in agent.sessions.values() if not (s.state == "wrap" and s.until <= now)
    }
    if "ringing" in states:
        return AgentState.RINGING
    if "connected" in states:
        return AgentState.BUSY
    if "wrap" in states:
        return AgentState.WRAP_UP
    return AgentState.PAUSED if agent.paused else AgentState.AVAILABLE
