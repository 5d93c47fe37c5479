"""Contact-centre KPIs from the distributor's journal: one component, live or simulated.

A :class:`Metrics` object watches what goes into a
:class:`~acdcore.distributor.Distributor` (events) and what comes out (actions),
and nothing else. It never calls the distributor, so it works the same behind a
live adapter, in a simulator, or replaying a journal::

    metrics = Metrics(acd.queues)
    metrics.observe_actions(acd.advance(ev.now))  # deadlines first,
    metrics.observe_event(ev)                     # then the event,
    metrics.observe_actions(acd.handle(ev))       # then what it caused

(:meth:`Metrics.observe` does the three in one call.) The order matters: the
actions of ``advance(ev.now)`` happened before the event and must be observed
before it. Items earlier than the latest one observed raise
:class:`~acdcore.errors.TimeWentBackwards`.

Definitions
-----------

*Attribution.* Everything about a call (offered, answered, abandoned, waits,
service level, talk and wrap-up, offers, ring-no-answer, declines, transfers,
surveys) is counted in the interval **in which the call arrived**, and under
the queue named by its ``CallArrived``, for the queue and for the agent alike,
even if a routing plan or an overflow moves it to another queue. A call that
arrives at 09:29 and is answered at 09:31 counts in 09:00-09:30. Agent *time*
(logged in, busy, wrap-up, ringing, paused, available) is counted in the
interval in which it was spent, split at interval boundaries, and so are
auto-pauses. The real-time view shows calls in the queue they wait in now.

*Outcomes.* ``offered`` counts every ``CallArrived``. Each call then has one
outcome: ``answered`` (its first ``OfferAnswered``; a call transferred later
stays answered, whatever happens to it next), ``abandoned``
(``CallAbandoned``), ``rejected`` (``Reject``: queue full or a plan exit),
``overflowed`` (``Overflow`` to an external destination), ``self_service``
(``SelfService``), ``callback_failed`` (``CallbackFailed``: a callback whose
every attempt went unanswered), ``callback_cancelled``
(``CallbackCancelled``: the customer withdrew a callback), or it is still
``in_queue`` (waiting, ringing
or a callback between attempts). A caller who accepts a callback
(``CallbackRequested``) is not an abandon: the call keeps its place and ends
answered or failed. So ``offered == resolved + in_queue`` always holds, with
``resolved = answered + abandoned + rejected + overflowed + self_service +
callback_failed + callback_cancelled``. Rates use ``resolved`` as
their base, so that a call still waiting at report time counts neither as a
success nor as a failure; at the end of a run ``resolved == offered``. An
``Overflow`` to another queue is not an outcome: it is counted in ``moved``.

*Wait.* From arrival to answer (answered calls, ring time included) or to
hang-up (abandoned calls). Rejected calls never waited. "Within T" means
``wait <= T``. A short abandon is an abandon with ``wait <= short_abandon``.

*Handling.* A leg is one agent's part of a call: talk from ``OfferAnswered``
to ``CallEnded`` or ``CallTransferred``, then the ``wrap_up`` seconds of the
queue the call was offered from. The distributor emits nothing when a wrap-up
ends, so the metrics compute it from the queue configuration. A logout during
wrap-up cuts it short; an agent whose logout was pending does no wrap-up. A leg
is ``handled`` once its wrap-up is over (a transferred call has several legs);
AHT and the talk and wrap-up totals cover handled legs. Hold is not modelled
by the core yet: ``hold_time`` is present and stays 0.

*Agent time.* At every instant a logged-in agent is in exactly one of: busy
(at least one connected call), wrap-up (no connected call, at least one call
in wrap-up), ringing (only ringing offers), paused (no session, paused),
available (none of these). Ringing is not handling. So with several sessions
(chat) handling time is the time during which the agent handles *something*,
and occupancy cannot exceed 1. An agent who pauses during wrap-up is in wrap-up
until it ends, then paused. A pending logout takes effect at its last call's
``CallEnded``.

Complexity: observing an item is O(1) amortised, plus O(k) to spread an agent's
time over the k interval boundaries it crossed. Reports cost O(data kept):
O(buckets x (queues + agents)) plus sorting the waits for percentiles.
"""

from __future__ import annotations

import enum
import heapq
import math
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import attrs

from ._state import AgentState
from .actions import (
    Action,
    Alert,
    Announce,
    CallbackFailed,
    CancelOffer,
    Offer,
    OfferCallback,
    Overflow,
    PauseAgent,
    PlaceCallback,
    PreferredAgentBusy,
    Queued,
    Reject,
    SelfService,
    SurgeMode,
)
from .config import QueueConfig
from .errors import (
    ConfigError,
    InvalidCallState,
    InvalidValue,
    TimeWentBackwards,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentSkillsChanged,
    CallAbandoned,
    CallArrived,
    CallbackCancelled,
    CallbackRequested,
    CallbackUnanswered,
    CallEnded,
    CallTransferred,
    Event,
    OfferAnswered,
    OfferDeclined,
)
from .skills import check_instant, freeze_mapping, freeze_sequence

__all__ = [
    "AgentStats",
    "Breach",
    "IntervalStats",
    "Metrics",
    "QueueNow",
    "QueueStats",
    "RealtimeView",
    "SLVariant",
    "percentile",
    "render_report",
    "render_table",
]

DAY = 86_400.0

_BUSY = "time_busy"
_WRAP = "time_wrap_up"
_RINGING = "time_ringing"
_PAUSED = "time_paused"
_AVAILABLE = "time_available"


class SLVariant(enum.Enum):
    """Which service-level formula to use (T is the queue's threshold).

    - ``A``: answered within T / answered. Ignores abandons entirely.
    - ``B``: answered within T / (answered + abandoned). Every abandon is a miss.
    - ``C``: (answered within T + abandoned within T) / resolved, where
      resolved = answered + abandoned + rejected + overflowed + self-service
      + callback-failed + callback-cancelled (= offered once no call is still waiting). Abandons within T count as met.
    - ``D``: answered within T / (answered + abandoned - short abandons).
      Short abandons are left out; other abandons are misses.
    """

    A = "a"
    B = "b"
    C = "c"
    D = "d"


def percentile(values: Sequence[float], p: float) -> float | None:
    """The exact ``p``-th percentile of ``values`` by the nearest-rank method:
    the smallest value such that at least ``p`` percent of the values are at or
    below it (no interpolation; always one of the values). ``None`` when empty.

    ``values`` need not be sorted. Cost: O(n log n).
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 100:
        raise InvalidValue(f"percentile must be a number in (0, 100], got {p!r}")
    return _nearest_rank(sorted(values), p)


def _nearest_rank(ordered: Sequence[float], p: float) -> float | None:
    if not ordered:
        return None
    rank = math.ceil(Fraction(p) * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def _handling_fields(acc: _CallAcc) -> dict[str, Any]:
    """The handling and survey figures that queue and agent stats share."""
    return {
        "handled": acc.handled,
        "aht": _mean(acc.talk + acc.hold + acc.wrap, acc.handled),
        "avg_talk": _mean(acc.talk, acc.handled),
        "avg_wrap": _mean(acc.wrap, acc.handled),
        "avg_hold": _mean(acc.hold, acc.handled),
        "talk_time": acc.talk,
        "wrap_time": acc.wrap,
        "hold_time": acc.hold,
        "offers": acc.offers,
        "rona": acc.rona,
        "declined": acc.declined,
        "transfers": acc.transfers,
        "callbacks": acc.callbacks,
        "surveys": acc.surveys,
        "csat": _mean(acc.score_sum, acc.surveys),
        "csat_top2": _mean(acc.top2, acc.surveys),
    }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _mean(total: float, n: int) -> float | None:
    return total / n if n > 0 else None


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
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.answered_waits.extend(other.answered_waits)
        self.abandoned_waits.extend(other.abandoned_waits)


# The fields of _CallAcc that add up (all but the two arrays of waits).
_COUNTS = tuple(f.name for f in attrs.fields(_CallAcc) if not f.name.endswith("_waits"))


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
        for name in (_BUSY, _WRAP, _RINGING, _PAUSED, _AVAILABLE, "auto_pauses"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
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


# ------------------------------------------------------------------- results


def _freeze(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return freeze_mapping(value)


@attrs.frozen(kw_only=True)
class QueueStats:
    """KPIs of one queue (``queue``) or of all queues together (``queue=None``)
    over a period. Rates and service levels are fractions in [0, 1], ``None``
    when their base is 0. Times are in seconds.

    - ``offered``: calls arrived; ``offered = resolved + in_queue`` and
      ``resolved = answered + abandoned + rejected + overflowed +
      self_service + callback_failed + callback_cancelled`` (one outcome per
      call, see the module
      docstring).
      ``moved``: overflows to another queue (not an outcome).
    - ``answered_within`` / ``abandoned_within``: answered / abandoned with
      ``wait <= threshold``; ``short_abandoned``: abandoned with
      ``wait <= short_abandon``.
    - ``answer_rate = answered / resolved``, ``abandon_rate = abandoned /
      resolved``, ``reject_rate = rejected / resolved``.
    - ``sl_a = answered_within / answered``
    - ``sl_b = answered_within / (answered + abandoned)``
    - ``sl_c = (answered_within + abandoned_within) / resolved``
    - ``sl_d = answered_within / (answered + abandoned - short_abandoned)``
    - ``service_level``: the variant named by ``sl_variant``; ``below_target``
      is true when it is below ``target``.
    - ``asa``: mean wait of answered calls. ``avg_wait``, ``longest_wait`` and
      ``wait_p50/p90/p99`` (nearest rank, exact): over answered and abandoned
      calls.
    - ``handled``: legs (answers) whose wrap-up is over; a transferred call has
      one per agent. ``aht = (talk_time + hold_time + wrap_time) / handled``;
      ``hold_time`` is always 0 (hold is not modelled by the core yet).
    - ``offers``: offers made (ring-all counts one per agent rung); ``rona``:
      offers that rang out (``CancelOffer`` with ``"ring-timeout"``);
      ``declined``: ``OfferDeclined``; ``transfers``: ``CallTransferred``;
      ``callbacks``: callbacks accepted (``CallbackRequested``) plus
      ``SelfService`` actions that carry a ``callback_at``.
    - ``csat``: mean survey score (1..5); ``csat_top2``: fraction of scores 4 or 5.

    For ``queue=None``, ``threshold`` and ``target`` are ``None`` when the
    queues differ (and ``below_target`` is then false); each call is still
    judged against its own queue's threshold.
    """

    queue: str | None
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    rejected: int
    overflowed: int
    self_service: int
    callback_failed: int = 0
    callback_cancelled: int = 0
    in_queue: int
    resolved: int
    answered_within: int
    abandoned_within: int
    threshold: float | None
    target: float | None
    answer_rate: float | None
    abandon_rate: float | None
    reject_rate: float | None
    moved: int
    sl_a: float | None
    sl_b: float | None
    sl_c: float | None
    sl_d: float | None
    sl_variant: str
    service_level: float | None
    below_target: bool
    asa: float | None
    avg_wait: float | None
    longest_wait: float | None
    wait_p50: float | None
    wait_p90: float | None
    wait_p99: float | None
    handled: int
    aht: float | None
    avg_talk: float | None
    avg_wrap: float | None
    avg_hold: float | None
    talk_time: float
    wrap_time: float
    hold_time: float
    offers: int
    rona: int
    declined: int
    transfers: int
    callbacks: int
    surveys: int
    csat: float | None
    csat_top2: float | None

    def sl(self, variant: SLVariant | str) -> float | None:
        """The service level by ``variant`` (``SLVariant`` or ``"a"``..``"d"``)."""
        return getattr(self, f"sl_{_variant(variant).value}")  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class AgentStats:
    """KPIs of one agent over a period. Times in seconds.

    - ``time_logged_in = time_busy + time_wrap_up + time_ringing + time_paused
      + time_available`` (see the module docstring for the states).
    - ``occupancy = (time_busy + time_wrap_up) / (time_logged_in - time_paused)``
    - ``utilisation = (time_busy + time_wrap_up) / time_logged_in``
    - ``offers``, ``answered`` (legs answered, = the distributor's
      ``calls_taken``), ``handled``, ``aht``, talk/wrap/hold totals, ``rona``,
      ``declined``, ``transfers`` (legs this agent transferred), surveys: as in
      :class:`QueueStats`, for the calls this agent was offered or answered,
      attributed to their arrival interval. ``callbacks`` stays 0.
    - ``auto_pauses``: ``PauseAgent`` actions (auto-pause after missed offers).
    """

    agent_id: str
    time_logged_in: float
    time_available: float
    time_ringing: float
    time_busy: float
    time_wrap_up: float
    time_paused: float
    occupancy: float | None
    utilisation: float | None
    offers: int
    answered: int
    handled: int
    aht: float | None
    avg_talk: float | None
    avg_wrap: float | None
    avg_hold: float | None
    talk_time: float
    wrap_time: float
    hold_time: float
    rona: int
    declined: int
    auto_pauses: int
    transfers: int
    callbacks: int
    surveys: int
    csat: float | None
    csat_top2: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class IntervalStats:
    """KPIs over ``[start, end)`` (clock seconds): an interval, a day, a chosen
    period or the whole run. ``label`` is its local start time for display.
    ``overall`` covers all queues; ``queues`` and ``agents`` are keyed by name
    (queues in configuration order, agents in order of first appearance)."""

    start: float
    end: float
    label: str
    overall: QueueStats
    queues: Mapping[str, QueueStats] = attrs.field(converter=_freeze, hash=False)
    agents: Mapping[str, AgentStats] = attrs.field(converter=_freeze, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "overall": self.overall.to_dict(),
            "queues": {k: v.to_dict() for k, v in self.queues.items()},
            "agents": {k: v.to_dict() for k, v in self.agents.items()},
        }


@attrs.frozen(kw_only=True)
class Breach:
    """A queue whose service level was below its target over ``[start, end)``."""

    queue: str
    start: float
    end: float
    label: str
    variant: str
    service_level: float
    target: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class QueueNow:
    """A queue right now: calls ``waiting`` (hold music), ``ringing`` an agent
    and ``connected``, by the queue they are in now; ``longest_waiting`` is
    ``now - arrival`` of the oldest call waiting or ringing (``None`` if none)."""

    queue: str
    waiting: int
    ringing: int
    connected: int
    longest_waiting: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class RealtimeView:
    """The centre at ``now``: per queue (:class:`QueueNow`), the number of
    agents in each :class:`~acdcore.AgentState` (keyed by value, logged-out
    included, same precedence as the distributor) and each agent's state."""

    now: float
    queues: Mapping[str, QueueNow] = attrs.field(converter=_freeze, hash=False)
    agents: Mapping[str, int] = attrs.field(converter=_freeze, hash=False)
    agent_states: Mapping[str, str] = attrs.field(converter=_freeze, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "now": self.now,
            "queues": {k: v.to_dict() for k, v in self.queues.items()},
            "agents": dict(self.agents),
            "agent_states": dict(self.agent_states),
        }


def _variant(value: SLVariant | str) -> SLVariant:
    if isinstance(value, SLVariant):
        return value
    try:
        return SLVariant(value)
    except ValueError:
        raise InvalidValue(
            f"service-level variant must be one of a, b, c, d, got {value!r}"
        ) from None


# ------------------------------------------------------------------- metrics


class Metrics:
    """Contact-centre KPIs, built only from observed events and actions.

    ``queues``: the distributor's queue configurations (``Distributor.queues``
    or the list given to it); their ``wrap_up`` times say when wrap-ups end.
    ``interval``: seconds per reporting interval (900, 1800, 3600...; must
    divide a day). ``sl_threshold``: T in seconds, ``sl_target``: the target
    fraction (0.8 for "80/20"); ``thresholds`` / ``targets`` override them per
    queue. ``sl_variant``: the formula behind ``service_level`` and
    :meth:`breaches` (default B, see :class:`SLVariant`). ``short_abandon``:
    abandons with ``wait <= short_abandon`` are short. ``tz_offset``: seconds
    added to the clock to get local time, for interval and day boundaries (a
    fixed offset; no daylight saving). ``epoch``: the date-time of clock 0,
    used only for labels. ``start``: the initial clock, like the
    distributor's. ``remember_calls``: how many answered calls are remembered
    for :meth:`record_survey`, oldest forgotten first.

    Unknown event and action types are ignored (their names are listed in
    :attr:`unhandled_types`); items naming a call or agent the metrics never
    saw are ignored and counted in :attr:`ignored`.
    """

    def __init__(
        self,
        queues: Mapping[str, QueueConfig] | Iterable[QueueConfig],
        *,
        interval: float = 1800.0,
        sl_threshold: float = 20.0,
        sl_target: float = 0.8,
        thresholds: Mapping[str, float] | None = None,
        targets: Mapping[str, float] | None = None,
        sl_variant: SLVariant | str = SLVariant.B,
        short_abandon: float = 5.0,
        tz_offset: float = 0.0,
        epoch: datetime | None = None,
        start: float = 0.0,
        remember_calls: int = 100_000,
    ) -> None:
        configs = (
            list(queues.values())
            if isinstance(queues, Mapping)
            else list(freeze_sequence(queues, "queues", ConfigError))
        )
        self._wrap: dict[str, float] = {}
        for q in configs:
            if not isinstance(q, QueueConfig):
                raise ConfigError(f"queues must be QueueConfig objects, got {q!r}")
            self._wrap[q.name] = float(q.wrap_up)
        if not self._wrap:
            raise ConfigError("at least one queue is required")
        _number(interval, "interval", positive=True)
        per_day = DAY / interval
        if not per_day.is_integer() or round(per_day) * interval != DAY:
            raise ConfigError(f"interval must divide a day (86400 s), got {interval!r}")
        _number(sl_threshold, "sl_threshold")
        _fraction(sl_target, "sl_target")
        _number(short_abandon, "short_abandon")
        _number(tz_offset, "tz_offset", signed=True)
        if abs(tz_offset) >= DAY:
            raise ConfigError(f"tz_offset must be less than a day, got {tz_offset!r}")
        if epoch is not None and not isinstance(epoch, datetime):
            raise ConfigError(f"epoch must be a datetime or None, got {epoch!r}")
        _number(start, "start", signed=True)
        if isinstance(remember_calls, bool) or not isinstance(remember_calls, int):
            raise ConfigError(f"remember_calls must be an int, got {remember_calls!r}")
        if remember_calls < 0:
            raise ConfigError(f"remember_calls must be >= 0, got {remember_calls}")
        try:
            variant = _variant(sl_variant)
        except InvalidValue as exc:
            raise ConfigError(str(exc)) from None
        self._threshold = {name: float(sl_threshold) for name in self._wrap}
        for name, value in (thresholds or {}).items():
            self._known_queue(name, "thresholds")
            _number(value, f"thresholds[{name!r}]")
            self._threshold[name] = float(value)
        self._target = {name: float(sl_target) for name in self._wrap}
        for name, value in (targets or {}).items():
            self._known_queue(name, "targets")
            _fraction(value, f"targets[{name!r}]")
            self._target[name] = float(value)
        self._interval = float(interval)
        self._per_day = round(per_day)
        self._variant = variant
        self._short = float(short_abandon)
        self._tz = float(tz_offset)
        self._epoch = epoch
        self._now = float(start)
        self._remember = remember_calls
        self._calls: dict[str, _Call] = {}
        self._agents: dict[str, _Agent] = {}
        self._wraps: list[tuple[float, int, str, int]] = []  # (until, seq, agent, call number)
        self._wrap_seq = 0
        self._call_seq = 0
        self._queue_acc: dict[int, dict[str, _CallAcc]] = {}
        self._agent_acc: dict[int, dict[str, _AgentAcc]] = {}
        self._answered: OrderedDict[str, _Answered] = OrderedDict()
        self._ignored = 0
        self._unhandled: set[str] = set()

    def _known_queue(self, name: str, what: str) -> None:
        if name not in self._wrap:
            raise ConfigError(f"{what}: no queue named {name!r}")

    # -------------------------------------------------------------- clock

    @property
    def now(self) -> float:
        """The latest instant observed (or given to :meth:`advance`)."""
        return self._now

    @property
    def ignored(self) -> int:
        """Items that named a call or agent these metrics never saw (for
        example when attached to a distributor that was already running)."""
        return self._ignored

    @property
    def unhandled_types(self) -> frozenset[str]:
        """Names of the event and action types observed and ignored because
        these metrics do not know them."""
        return frozenset(self._unhandled)

    def advance(self, now: float) -> None:
        """Move the clock to ``now`` (ending the wrap-ups due by then), so that
        reports count agent time up to ``now``."""
        check_instant(now, "now")
        self._check_order(now, "advance")
        self._settle(now)
        self._now = float(now)

    def _check_order(self, when: float, what: str) -> None:
        if when < self._now:
            raise TimeWentBackwards(
                f"{what} at {when!r} is before the metrics clock {self._now!r}; observe the "
                "actions of advance() before the event, and the event before its actions"
            )

    # -------------------------------------------------------- observation

    def observe_event(self, event: Event) -> None:
        """Observe an event the distributor accepted, after the actions of the
        ``advance(event.now)`` that preceded it. Cost: O(1) amortised."""
        self._validate_event(event, self._now)
        self._apply_event(event)

    def observe_actions(self, actions: Iterable[Action]) -> None:
        """Observe the actions returned by ``handle`` or ``advance``, in order.
        Raises (and observes none of them) if one is not an action or they go
        back in time."""
        items = list(actions)
        self._validate_actions(items, self._now)
        for action in items:
            self._apply_action(action)

    def observe(
        self,
        event: Event | None,
        actions: Iterable[Action] = (),
        *,
        before: Iterable[Action] = (),
    ) -> None:
        """Observe one adapter step: ``before`` (the actions of
        ``advance(event.now)``), then ``event``, then ``actions`` (those of
        ``handle(event)``). Everything is validated before anything is applied."""
        first = list(before)
        then = list(actions)
        clock = self._validate_actions(first, self._now)
        if event is not None:
            clock = self._validate_event(event, clock)
        self._validate_actions(then, clock)
        for action in first:
            self._apply_action(action)
        if event is not None:
            self._apply_event(event)
        for action in then:
            self._apply_action(action)

    def _validate_event(self, event: Event, clock: float) -> float:
        if not isinstance(event, Event):
            raise InvalidValue(f"not an acdcore event: {event!r}")
        check_instant(event.now, f"{type(event).__name__}.now")
        if event.now < clock:
            raise TimeWentBackwards(
                f"{type(event).__name__} at {event.now!r} is before {clock!r} (the metrics clock "
                "or the actions before it); observe the actions of advance() before the event"
            )
        return float(event.now)

    def _validate_actions(self, actions: list[Action], clock: float) -> float:
        for action in actions:
            if not isinstance(action, Action):
                raise InvalidValue(f"not an acdcore action: {action!r}")
            check_instant(action.at, f"{type(action).__name__}.at")
            if action.at < clock:
                raise TimeWentBackwards(
                    f"{type(action).__name__} at {action.at!r} is before {clock!r} (the metrics "
                    "clock or the item before it); observe items in the order they happened"
                )
            clock = float(action.at)
        return clock

    def _apply_event(self, event: Event) -> None:
        now = float(event.now)
        self._settle(now)
        self._now = now
        handler = _EVENT_HANDLERS.get(type(event))
        if handler is None:
            self._unhandled.add(type(event).__name__)
            return
        handler(self, event)

    def _apply_action(self, action: Action) -> None:
        at = float(action.at)
        self._settle(at)
        self._now = at
        handler = _ACTION_HANDLERS.get(type(action))
        if handler is None:
            self._unhandled.add(type(action).__name__)
            return
        handler(self, action)

    # ------------------------------------------------------------- surveys

    def record_survey(self, call_id: str, score: int, at: float) -> None:
        """Record a post-call survey: ``score`` 1..5 for an answered call,
        given at ``at`` (not before the answer). It counts for the call's agent
        and queue, in the call's arrival interval. One survey per call.

        Raises :class:`~acdcore.errors.InvalidValue` for a score that is not an
        int from 1 to 5 or a bad ``at``; :class:`~acdcore.errors.UnknownCall`
        for a call never answered (or no longer remembered);
        :class:`~acdcore.errors.InvalidCallState` for a second survey.
        """
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise InvalidValue(
                f"survey score for call {call_id!r} must be an int 1..5, got {score!r}"
            )
        check_instant(at, "survey at")
        info = self._answered.get(call_id)
        if info is None:
            raise UnknownCall(
                f"no answered call {call_id!r} is remembered (never answered, abandoned, "
                f"or older than the last {self._remember} answered calls)"
            )
        if at < info.answered_at:
            raise InvalidValue(
                f"survey of call {call_id!r} at {at!r} is before its answer at {info.answered_at!r}"
            )
        if info.surveyed:
            raise InvalidCallState(f"call {call_id!r} already has a survey")
        info.surveyed = True
        top = 1 if score >= 4 else 0
        for acc in (
            self._qacc(info.bucket, info.queue),
            self._aacc(info.bucket, info.agent).calls,
        ):
            acc.surveys += 1
            acc.score_sum += score
            acc.top2 += top

    # --------------------------------------------------------- saved state

    def save_state(self) -> dict[str, Any]:
        """Everything these metrics hold, as plain JSON data, for crash
        recovery: keep it with a snapshot; after a crash, build a Metrics with
        the same arguments, :meth:`load_state` it there and observe the rest of
        the journal, and every report comes out as if one Metrics had observed
        the whole run.

        The data (``json.dumps(data, allow_nan=False)`` accepts it) holds a
        version ``"v"``, a ``"config"`` section (queues with their wrap-up
        seconds, interval, thresholds, targets, variant, short abandon, time
        zone offset, remembered calls, epoch) and the live state: the clock,
        calls, agents and their sessions, pending wrap-ups, every accumulator
        (waits exactly, in order), the answered calls remembered for surveys,
        and the ignored and unhandled counts. Saving changes nothing and the
        data shares nothing with these metrics. Cost: O(data kept)."""
        from ._metrics_state import save_state

        return save_state(self)

    def load_state(self, data: Any) -> None:
        """Take over the state ``data`` saved by :meth:`save_state` (or read
        back from its JSON). Only a Metrics that has observed nothing yet can
        load (its clock may have moved: the saved one replaces it), and only
        state saved by a Metrics with the same configuration.

        Raises :class:`~acdcore.errors.InvalidValue` when these metrics have
        observed something, for another version or configuration (naming the
        first differing item), or for malformed data (naming where it is, such
        as ``metrics.calls[2].bucket``); these metrics are then unchanged.
        Cost: O(size of ``data``)."""
        from ._metrics_state import load_state

        load_state(self, data)

    # ------------------------------------------------------------ internals

    def _index(self, t: float) -> int:
        return math.floor((t + self._tz) / self._interval)

    def _bucket_start(self, bucket: int) -> float:
        return bucket * self._interval - self._tz

    def _qacc(self, bucket: int, queue: str) -> _CallAcc:
        per = self._queue_acc.setdefault(bucket, {})
        acc = per.get(queue)
        if acc is None:
            acc = per[queue] = _CallAcc()
        return acc

    def _aacc(self, bucket: int, agent_id: str) -> _AgentAcc:
        return _acc_in(self._agent_acc, bucket, agent_id)

    def _spread(
        self,
        into: dict[int, dict[str, _AgentAcc]],
        agent_id: str,
        field: str,
        t0: float,
        t1: float,
    ) -> None:
        """Add the time [t0, t1) to ``field``, split at interval boundaries."""
        bucket = self._index(t0)
        while t0 < t1:
            t = min(t1, self._bucket_start(bucket + 1))
            if t > t0:
                acc = _acc_in(into, bucket, agent_id)
                setattr(acc, field, getattr(acc, field) + (t - t0))
                t0 = t
            bucket += 1

    def _close(self, agent: _Agent, t: float) -> None:
        """Account the agent's current state up to ``t``."""
        if agent.category is not None and t > agent.since:
            self._spread(self._agent_acc, agent.agent_id, agent.category, agent.since, t)
        agent.since = t

    def _recategorise(self, agent: _Agent) -> None:
        agent.category = _category(agent)

    def _settle(self, t: float) -> None:
        """End the wrap-ups due at or before ``t``, in order."""
        wraps = self._wraps
        while wraps and wraps[0][0] <= t:
            until, _, aid, seq = heapq.heappop(wraps)
            agent = self._agents.get(aid)
            if agent is None:
                continue
            session = agent.sessions.get(seq)
            if session is None or session.state != "wrap" or session.until != until:
                continue  # cut short by a logout
            self._close(agent, until)
            del agent.sessions[seq]
            self._handled(session, aid, until - session.ended)
            self._recategorise(agent)

    def _handled(self, session: _Session, agent_id: str | None, wrap: float) -> None:
        accs = [self._qacc(session.bucket, session.queue)]
        if agent_id is not None:
            accs.append(self._aacc(session.bucket, agent_id).calls)
        for acc in accs:
            acc.handled += 1
            acc.talk += session.talk
            acc.wrap += wrap

    def _agent(self, agent_id: str) -> _Agent | None:
        agent = self._agents.get(agent_id)
        if agent is None:
            self._ignored += 1
        return agent

    def _call(self, call_id: str) -> _Call | None:
        call = self._calls.get(call_id)
        if call is None:
            self._ignored += 1
        return call

    # ------------------------------------------------------ event handlers
    # To support a new event or action type, write a handler below and add
    # it to _EVENT_HANDLERS / _ACTION_HANDLERS at the end of the module.

    def _on_call_arrived(self, ev: CallArrived) -> None:
        if ev.queue not in self._wrap:
            self._ignored += 1
            return
        now = float(ev.now)
        bucket = self._index(now)
        self._calls[ev.call_id] = _Call(
            call_id=ev.call_id,
            seq=self._call_seq,
            queue=ev.queue,
            current=ev.queue,
            arrived=now,
            bucket=bucket,
        )
        self._call_seq += 1
        self._qacc(bucket, ev.queue).offered += 1

    def _on_call_abandoned(self, ev: CallAbandoned) -> None:
        call = self._call(ev.call_id)
        if call is None or call.state == "connected":
            return
        del self._calls[ev.call_id]
        if call.answered:
            return  # hung up waiting after a transfer: the call was answered
        wait = float(ev.now) - call.arrived
        acc = self._qacc(call.bucket, call.queue)
        acc.abandoned += 1
        acc.abandoned_waits.append(wait)
        if wait <= self._threshold[call.queue]:
            acc.abandoned_within += 1
        if wait <= self._short:
            acc.short_abandoned += 1
        # The agents still ringing are released by the CancelOffer actions.

    def _on_offer_answered(self, ev: OfferAnswered) -> None:
        call = self._call(ev.call_id)
        if call is None:
            return
        now = float(ev.now)
        if not call.answered:  # a call counts as answered once, transferred or not
            call.answered = True
            wait = now - call.arrived
            acc = self._qacc(call.bucket, call.queue)
            acc.answered += 1
            acc.answered_waits.append(wait)
            if wait <= self._threshold[call.queue]:
                acc.answered_within += 1
        call.state = "connected"
        call.agent = ev.agent_id
        call.answered_at = now
        agent = self._agent(ev.agent_id)
        if agent is not None:
            self._close(agent, now)
            ringing = agent.sessions.get(call.seq)
            agent.sessions[call.seq] = _Session(
                call_id=call.call_id,
                state="connected",
                queue=call.queue,
                bucket=call.bucket,
                leg_queue=ringing.leg_queue if ringing is not None else call.current,
            )
            self._recategorise(agent)
            self._aacc(call.bucket, ev.agent_id).calls.answered += 1
        if self._remember > 0:
            info = self._answered.get(ev.call_id)
            if info is None or info.seq != call.seq:  # not this call answered again
                info = _Answered(
                    seq=call.seq,
                    queue=call.queue,
                    agent=ev.agent_id,
                    bucket=call.bucket,
                    answered_at=now,
                )
            info.agent = ev.agent_id  # after a transfer, the survey is the last agent's
            self._answered[ev.call_id] = info
            self._answered.move_to_end(ev.call_id)
            while len(self._answered) > self._remember:
                self._answered.popitem(last=False)

    def _on_offer_declined(self, ev: OfferDeclined) -> None:
        self._end_ringing(ev.call_id, ev.agent_id, float(ev.now), "declined")

    def _on_call_ended(self, ev: CallEnded) -> None:
        call = self._call(ev.call_id)
        if call is None or call.state != "connected":
            return
        del self._calls[ev.call_id]
        self._end_leg(call, float(ev.now))

    def _on_call_transferred(self, ev: CallTransferred) -> None:
        call = self._call(ev.call_id)
        if call is None or call.state != "connected":
            return
        agent_id = call.agent
        self._end_leg(call, float(ev.now))
        call.state = "waiting"  # the Queued("transferred") that follows says where
        call.current = ev.queue
        call.agent = call.answered_at = None
        self._qacc(call.bucket, call.queue).transfers += 1
        if agent_id is not None and agent_id in self._agents:
            self._aacc(call.bucket, agent_id).calls.transfers += 1

    def _end_leg(self, call: _Call, now: float) -> None:
        """The agent's side of a connected call ends (the call ended or was
        transferred): talk time, then wrap-up or a pending logout."""
        assert call.answered_at is not None
        agent = self._agents.get(call.agent) if call.agent is not None else None
        session = agent.sessions.get(call.seq) if agent is not None else None
        leg_queue = session.leg_queue if session is not None else call.current
        ended = _Session(
            call_id=call.call_id,
            state="wrap",
            queue=call.queue,
            bucket=call.bucket,
            leg_queue=leg_queue,
            talk=now - call.answered_at,
            ended=now,
        )
        if agent is None:
            self._handled(ended, None, 0.0)
            return
        self._close(agent, now)
        agent.sessions.pop(call.seq, None)
        wrap = self._wrap.get(leg_queue, 0.0)
        if agent.pending_logout:
            self._handled(ended, agent.agent_id, 0.0)
            if not any(s.state == "connected" for s in agent.sessions.values()):
                agent.sessions.clear()
                agent.logged_in = agent.paused = agent.pending_logout = False
        elif wrap > 0:
            ended.until = now + wrap
            agent.sessions[call.seq] = ended
            heapq.heappush(self._wraps, (ended.until, self._wrap_seq, agent.agent_id, call.seq))
            self._wrap_seq += 1
        else:
            self._handled(ended, agent.agent_id, 0.0)
        self._recategorise(agent)

    def _on_agent_logged_in(self, ev: AgentLoggedIn) -> None:
        aid = ev.profile.agent_id
        agent = self._agents.get(aid)
        if agent is None:
            agent = self._agents[aid] = _Agent(agent_id=aid, since=float(ev.now))
        self._close(agent, float(ev.now))
        agent.logged_in = True
        agent.paused = agent.pending_logout = False
        agent.sessions.clear()
        self._recategorise(agent)

    def _on_agent_logged_out(self, ev: AgentLoggedOut) -> None:
        agent = self._agent(ev.agent_id)
        if agent is None or not agent.logged_in:
            return
        now = float(ev.now)
        self._close(agent, now)
        for seq, session in list(agent.sessions.items()):
            if session.state == "ringing":
                # The CancelOffer("agent-logged-out") that follows finds it gone.
                del agent.sessions[seq]
            elif session.state == "wrap":
                del agent.sessions[seq]
                self._handled(session, ev.agent_id, now - session.ended)
        if agent.sessions:
            agent.pending_logout = True
        else:
            agent.logged_in = agent.paused = agent.pending_logout = False
        self._recategorise(agent)

    def _on_agent_paused(self, ev: AgentPaused) -> None:
        self._set_paused(ev.agent_id, float(ev.now), True)

    def _on_agent_resumed(self, ev: AgentResumed) -> None:
        self._set_paused(ev.agent_id, float(ev.now), False)

    def _on_no_kpi(self, ev: Event) -> None:
        """A known event that changes no KPI (a skills change: an offer it
        withdraws arrives as a CancelOffer)."""

    def _set_paused(self, agent_id: str, now: float, paused: bool) -> _Agent | None:
        agent = self._agent(agent_id)
        if agent is None or not agent.logged_in:
            return None
        self._close(agent, now)
        agent.paused = paused
        self._recategorise(agent)
        return agent

    # ----------------------------------------------------- action handlers

    def _on_queued(self, a: Queued) -> None:
        call = self._call(a.call_id)
        if call is None:
            return
        call.state = "waiting"
        call.current = a.queue

    def _on_reject(self, a: Reject) -> None:
        self._exit(a.call_id, "rejected")

    def _on_overflow(self, a: Overflow) -> None:
        if a.target_queue is None:  # to an external destination: the call ends
            self._exit(a.call_id, "overflowed")
            return
        call = self._call(a.call_id)
        if call is not None:
            call.current = a.target_queue
            self._qacc(call.bucket, call.queue).moved += 1

    def _on_self_service(self, a: SelfService) -> None:
        call = self._calls.get(a.call_id)
        counted = self._exit(a.call_id, "self_service")
        if counted and call is not None and a.callback_at is not None:
            self._qacc(call.bucket, call.queue).callbacks += 1

    def _on_callback_failed(self, a: CallbackFailed) -> None:
        self._exit(a.call_id, "callback_failed")

    def _on_callback_cancelled(self, ev: CallbackCancelled) -> None:
        self._exit(ev.call_id, "callback_cancelled")
        # A reserved agent is released by the CancelOffer that follows.

    def _on_callback_requested(self, ev: CallbackRequested) -> None:
        call = self._call(ev.call_id)
        if call is not None:
            self._qacc(call.bucket, call.queue).callbacks += 1

    def _exit(self, call_id: str, outcome: str) -> bool:
        """The call leaves the ACD with ``outcome`` (a _CallAcc counter),
        unless it was answered before (a transferred call keeps "answered").
        True when the outcome was counted."""
        call = self._call(call_id)
        if call is None:
            return False
        del self._calls[call_id]
        if call.answered:
            return False
        acc = self._qacc(call.bucket, call.queue)
        setattr(acc, outcome, getattr(acc, outcome) + 1)
        return True

    def _on_no_kpi_action(self, a: Action) -> None:
        """A known action that changes no KPI (alerts, surge mode, preferred
        agent busy)."""

    def _on_offer(self, a: Offer) -> None:
        call = self._call(a.call_id)
        if call is None:
            return
        call.state = "ringing"
        self._qacc(call.bucket, call.queue).offers += 1
        agent = self._agent(a.agent_id)
        if agent is None:
            return
        now = float(a.at)
        self._close(agent, now)
        old = agent.sessions.get(call.seq)
        if old is not None and old.state == "wrap":
            # The distributor never offers a call to an agent still wrapping it
            # up; should another source do so, the offer ends that wrap-up.
            self._handled(old, a.agent_id, now - old.ended)
        agent.sessions[call.seq] = _Session(
            call_id=call.call_id,
            state="ringing",
            queue=call.queue,
            bucket=call.bucket,
            leg_queue=a.queue,
        )
        self._recategorise(agent)
        self._aacc(call.bucket, a.agent_id).calls.offers += 1

    def _on_cancel_offer(self, a: CancelOffer) -> None:
        reason = "rona" if a.reason == "ring-timeout" else None
        self._end_ringing(a.call_id, a.agent_id, float(a.at), reason)
        if a.reason == "callback-unanswered":
            call = self._calls.get(a.call_id)
            if call is not None:
                call.state = "waiting"  # it keeps its place until the next attempt

    def _end_ringing(self, call_id: str, agent_id: str, now: float, count: str | None) -> None:
        """An offer ended without an answer; ``count``: ``"rona"``,
        ``"declined"`` or ``None`` (not the agent's doing)."""
        call = self._calls.get(call_id)
        agent = self._agents.get(agent_id)
        seq, session = _ringing(agent, call_id) if agent is not None else (-1, None)
        if call is None and session is None:
            if count is not None:
                self._ignored += 1
            return
        where: tuple[int, str] | None = None
        if call is not None:
            where = (call.bucket, call.queue)
        if agent is not None and session is not None and session.state == "ringing":
            where = (session.bucket, session.queue)
            self._close(agent, now)
            del agent.sessions[seq]
            self._recategorise(agent)
        if count is None or where is None:
            return
        bucket, queue = where
        qacc = self._qacc(bucket, queue)
        setattr(qacc, count, getattr(qacc, count) + 1)
        if agent is not None:
            aacc = self._aacc(bucket, agent_id).calls
            setattr(aacc, count, getattr(aacc, count) + 1)

    def _on_pause_agent(self, a: PauseAgent) -> None:
        agent = self._set_paused(a.agent_id, float(a.at), True)
        if agent is not None:
            self._aacc(self._index(float(a.at)), a.agent_id).auto_pauses += 1

    # -------------------------------------------------------------- reports

    def _label(self, start: float) -> str:
        local = start + self._tz
        if self._epoch is not None:
            epoch = self._epoch
            if epoch.tzinfo is not None:  # an aware epoch: convert to naive UTC first
                epoch = epoch.astimezone(UTC).replace(tzinfo=None)
            moment = epoch + timedelta(seconds=local)
            return moment.strftime("%Y-%m-%d %H:%M")
        day, minutes = divmod(round(local / 60), 1440)
        return f"day {day} {minutes // 60:02d}:{minutes % 60:02d}"

    def _overlay(self) -> dict[int, dict[str, _AgentAcc]]:
        """The time of every agent's current state, from its start to now."""
        out: dict[int, dict[str, _AgentAcc]] = {}
        for agent in self._agents.values():
            if agent.category is not None and self._now > agent.since:
                self._spread(out, agent.agent_id, agent.category, agent.since, self._now)
        return out

    def _buckets(self, overlay: dict[int, dict[str, _AgentAcc]]) -> list[int]:
        keys = set(self._queue_acc) | set(self._agent_acc) | set(overlay)
        if not keys:
            return []
        return list(range(min(keys), max(keys) + 1))

    def _build(
        self,
        buckets: Iterable[int],
        start: float,
        end: float,
        overlay: dict[int, dict[str, _AgentAcc]],
    ) -> IntervalStats:
        queues: dict[str, _CallAcc] = {}
        agents: dict[str, _AgentAcc] = {}
        for b in buckets:
            for name, acc in self._queue_acc.get(b, {}).items():
                queues.setdefault(name, _CallAcc()).merge(acc)
            for source in (self._agent_acc, overlay):
                for aid, aacc in source.get(b, {}).items():
                    agents.setdefault(aid, _AgentAcc()).merge(aacc)
        total = _CallAcc()
        for acc in queues.values():
            total.merge(acc)
        names = list(self._wrap)
        thresholds = {self._threshold[n] for n in names}
        targets = {self._target[n] for n in names}
        overall = self._queue_stats(
            None,
            total,
            thresholds.pop() if len(thresholds) == 1 else None,
            targets.pop() if len(targets) == 1 else None,
        )
        order = {aid: i for i, aid in enumerate(self._agents)}
        return IntervalStats(
            start=start,
            end=end,
            label=self._label(start),
            overall=overall,
            queues={
                n: self._queue_stats(
                    n, queues.get(n, _CallAcc()), self._threshold[n], self._target[n]
                )
                for n in names
            },
            agents={
                aid: _agent_stats(aid, agents[aid])
                for aid in sorted(agents, key=lambda x: order.get(x, len(order)))
            },
        )

    def _queue_stats(
        self, name: str | None, acc: _CallAcc, threshold: float | None, target: float | None
    ) -> QueueStats:
        resolved = (
            acc.answered
            + acc.abandoned
            + acc.rejected
            + acc.overflowed
            + acc.self_service
            + acc.callback_failed
            + acc.callback_cancelled
        )
        waits = sorted([*acc.answered_waits, *acc.abandoned_waits])
        sls = {
            "a": _ratio(acc.answered_within, acc.answered),
            "b": _ratio(acc.answered_within, acc.answered + acc.abandoned),
            "c": _ratio(acc.answered_within + acc.abandoned_within, resolved),
            "d": _ratio(acc.answered_within, acc.answered + acc.abandoned - acc.short_abandoned),
        }
        level = sls[self._variant.value]
        # With mixed targets (all queues together) there is no one target to miss.
        below = level is not None and target is not None and level < target
        return QueueStats(
            queue=name,
            offered=acc.offered,
            answered=acc.answered,
            abandoned=acc.abandoned,
            short_abandoned=acc.short_abandoned,
            rejected=acc.rejected,
            overflowed=acc.overflowed,
            self_service=acc.self_service,
            callback_failed=acc.callback_failed,
            callback_cancelled=acc.callback_cancelled,
            in_queue=acc.offered - resolved,
            resolved=resolved,
            answered_within=acc.answered_within,
            abandoned_within=acc.abandoned_within,
            threshold=threshold,
            target=target,
            answer_rate=_ratio(acc.answered, resolved),
            abandon_rate=_ratio(acc.abandoned, resolved),
            reject_rate=_ratio(acc.rejected, resolved),
            moved=acc.moved,
            sl_a=sls["a"],
            sl_b=sls["b"],
            sl_c=sls["c"],
            sl_d=sls["d"],
            sl_variant=self._variant.value,
            service_level=level,
            below_target=below,
            asa=_mean(sum(acc.answered_waits), acc.answered),
            avg_wait=_mean(sum(waits), len(waits)),
            longest_wait=waits[-1] if waits else None,
            wait_p50=_nearest_rank(waits, 50),
            wait_p90=_nearest_rank(waits, 90),
            wait_p99=_nearest_rank(waits, 99),
            **_handling_fields(acc),
        )

    # -------------------------------------------------------- public reports

    def summary(self, start: float | None = None, end: float | None = None) -> IntervalStats:
        """KPIs over the whole run, or over the intervals whose start lies in
        ``[start, end)`` (weeks, months, a shift: any union of intervals).
        Agent time counts up to :attr:`now`."""
        for value, what in ((start, "start"), (end, "end")):
            if value is not None:
                check_instant(value, what)
        overlay = self._overlay()
        buckets = [
            b
            for b in self._buckets(overlay)
            if (start is None or self._bucket_start(b) >= start)
            and (end is None or self._bucket_start(b) < end)
        ]
        lo = self._bucket_start(buckets[0]) if buckets else self._now
        hi = self._bucket_start(buckets[-1] + 1) if buckets else self._now
        return self._build(
            buckets,
            lo if start is None else float(start),
            hi if end is None else float(end),
            overlay,
        )

    def intervals(self) -> list[IntervalStats]:
        """One :class:`IntervalStats` per interval, from the first with any
        data to the last, empty ones included."""
        overlay = self._overlay()
        return [
            self._build([b], self._bucket_start(b), self._bucket_start(b + 1), overlay)
            for b in self._buckets(overlay)
        ]

    def days(self) -> list[IntervalStats]:
        """Daily rollups (local days, by ``tz_offset``), from the first day with
        data to the last. Group days for weeks or months, or use
        :meth:`summary` with a range."""
        overlay = self._overlay()
        buckets = self._buckets(overlay)
        if not buckets:
            return []
        per = self._per_day
        out = []
        for day in range(buckets[0] // per, buckets[-1] // per + 1):
            first = day * per
            out.append(
                self._build(
                    range(first, first + per),
                    self._bucket_start(first),
                    self._bucket_start(first + per),
                    overlay,
                )
            )
        return out

    def queue_stats(
        self, queue: str | None = None, *, start: float | None = None, end: float | None = None
    ) -> QueueStats:
        """One queue's KPIs (all queues for ``None``) over the run or a range
        (as :meth:`summary`). Raises :class:`~acdcore.errors.UnknownQueue`."""
        stats = self.summary(start, end)
        if queue is None:
            return stats.overall
        if queue not in stats.queues:
            raise UnknownQueue(f"no queue named {queue!r}")
        return stats.queues[queue]

    def agent_stats(
        self, agent_id: str, *, start: float | None = None, end: float | None = None
    ) -> AgentStats:
        """One agent's KPIs over the run or a range (as :meth:`summary`).
        Raises :class:`~acdcore.errors.UnknownAgent` for an agent never seen."""
        if agent_id not in self._agents:
            raise UnknownAgent(f"no agent {agent_id!r} was observed")
        found = self.summary(start, end).agents.get(agent_id)
        return found if found is not None else _agent_stats(agent_id, _AgentAcc())

    def breaches(
        self, *, variant: SLVariant | str | None = None, whole_run: bool = False
    ) -> list[Breach]:
        """The (interval, queue) pairs whose service level (by ``variant``,
        default the configured one) is below the queue's target, in time then
        queue order; with ``whole_run``, the queues below target over the run.
        A period with no call to judge is not a breach."""
        chosen = self._variant if variant is None else _variant(variant)
        periods = [self.summary()] if whole_run else self.intervals()
        out = []
        for period in periods:
            for name, qs in period.queues.items():
                level = qs.sl(chosen)
                target = self._target[name]
                if level is not None and level < target:
                    out.append(
                        Breach(
                            queue=name,
                            start=period.start,
                            end=period.end,
                            label=period.label,
                            variant=chosen.value,
                            service_level=level,
                            target=target,
                        )
                    )
        return out

    def realtime(self, now: float | None = None) -> RealtimeView:
        """The centre at ``now`` (default :attr:`now`; not earlier): calls
        waiting and ringing per queue, the longest current wait, and agents by
        state. It changes nothing. Cost: O(live calls + agents)."""
        if now is None:
            now = self._now
        check_instant(now, "now")
        self._check_order(now, "realtime")
        per: dict[str, dict[str, int]] = {
            q: {"waiting": 0, "ringing": 0, "connected": 0} for q in self._wrap
        }
        oldest: dict[str, float] = {}
        for call in self._calls.values():
            counts = per.setdefault(call.current, {"waiting": 0, "ringing": 0, "connected": 0})
            counts[call.state] += 1
            if call.state != "connected":
                oldest[call.current] = min(oldest.get(call.current, math.inf), call.arrived)
        queues = {
            q: QueueNow(
                queue=q,
                waiting=c["waiting"],
                ringing=c["ringing"],
                connected=c["connected"],
                longest_waiting=now - oldest[q] if q in oldest else None,
            )
            for q, c in per.items()
        }
        states = {aid: _state_at(agent, now).value for aid, agent in self._agents.items()}
        counts_by_state = {s.value: 0 for s in AgentState}
        for value in states.values():
            counts_by_state[value] += 1
        return RealtimeView(now=now, queues=queues, agents=counts_by_state, agent_states=states)


# ------------------------------------------------------------------- helpers


def _number(value: object, what: str, *, positive: bool = False, signed: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{what} must be > 0, got {value!r}")
    if not signed and value < 0:
        raise ConfigError(f"{what} must be >= 0, got {value!r}")


def _fraction(value: object, what: str) -> None:
    _number(value, what)
    assert isinstance(value, (int, float))
    if value > 1:
        raise ConfigError(f"{what} is a fraction in [0, 1] (0.8 for 80%), got {value!r}")


def _acc_in(into: dict[int, dict[str, _AgentAcc]], bucket: int, agent_id: str) -> _AgentAcc:
    per = into.setdefault(bucket, {})
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


def _agent_stats(agent_id: str, acc: _AgentAcc) -> AgentStats:
    handling = acc.time_busy + acc.time_wrap_up
    logged_in = handling + acc.time_ringing + acc.time_paused + acc.time_available
    c = acc.calls
    return AgentStats(
        agent_id=agent_id,
        time_logged_in=logged_in,
        time_available=acc.time_available,
        time_ringing=acc.time_ringing,
        time_busy=acc.time_busy,
        time_wrap_up=acc.time_wrap_up,
        time_paused=acc.time_paused,
        occupancy=_ratio(handling, logged_in - acc.time_paused),
        utilisation=_ratio(handling, logged_in),
        answered=c.answered,
        auto_pauses=acc.auto_pauses,
        **_handling_fields(c),
    )


_EVENT_HANDLERS: dict[type[Event], Callable[[Metrics, Any], None]] = {
    CallArrived: Metrics._on_call_arrived,
    CallAbandoned: Metrics._on_call_abandoned,
    OfferAnswered: Metrics._on_offer_answered,
    OfferDeclined: Metrics._on_offer_declined,
    CallEnded: Metrics._on_call_ended,
    AgentLoggedIn: Metrics._on_agent_logged_in,
    AgentLoggedOut: Metrics._on_agent_logged_out,
    AgentPaused: Metrics._on_agent_paused,
    AgentResumed: Metrics._on_agent_resumed,
    AgentSkillsChanged: Metrics._on_no_kpi,
    CallTransferred: Metrics._on_call_transferred,
    CallbackRequested: Metrics._on_callback_requested,
    CallbackUnanswered: Metrics._on_no_kpi,
    CallbackCancelled: Metrics._on_callback_cancelled,
}

_ACTION_HANDLERS: dict[type[Action], Callable[[Metrics, Any], None]] = {
    Queued: Metrics._on_queued,
    Reject: Metrics._on_reject,
    Offer: Metrics._on_offer,
    PlaceCallback: Metrics._on_offer,
    CallbackFailed: Metrics._on_callback_failed,
    Announce: Metrics._on_no_kpi_action,
    OfferCallback: Metrics._on_no_kpi_action,
    CancelOffer: Metrics._on_cancel_offer,
    PauseAgent: Metrics._on_pause_agent,
    Overflow: Metrics._on_overflow,
    SelfService: Metrics._on_self_service,
    Alert: Metrics._on_no_kpi_action,
    SurgeMode: Metrics._on_no_kpi_action,
    PreferredAgentBusy: Metrics._on_no_kpi_action,
}


# ----------------------------------------------------------------- rendering

_RATIOS = frozenset(
    {
        "answer_rate",
        "abandon_rate",
        "reject_rate",
        "sl_a",
        "sl_b",
        "sl_c",
        "sl_d",
        "service_level",
        "target",
        "occupancy",
        "utilisation",
        "csat_top2",
    }
)

_DEFAULT_COLUMNS: dict[type, tuple[str, ...]] = {
    QueueStats: (
        "queue",
        "offered",
        "answered",
        "abandoned",
        "rejected",
        "service_level",
        "asa",
        "aht",
        "avg_wait",
        "longest_wait",
        "wait_p90",
        "abandon_rate",
        "csat",
    ),
    AgentStats: (
        "agent_id",
        "time_logged_in",
        "occupancy",
        "utilisation",
        "answered",
        "aht",
        "rona",
        "declined",
        "auto_pauses",
        "csat",
    ),
    IntervalStats: (
        "label",
        "offered",
        "answered",
        "abandoned",
        "service_level",
        "asa",
        "aht",
        "wait_p90",
        "abandon_rate",
    ),
    Breach: ("label", "queue", "variant", "service_level", "target"),
}


def _cell(name: str, value: object) -> str:
    if value is None:
        return "-" if name != "queue" else "(all)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value * 100:.1f}%" if name in _RATIOS else f"{value:.1f}"
    return str(value)


def render_table(
    rows: Sequence[QueueStats] | Sequence[AgentStats] | Sequence[IntervalStats] | Sequence[Breach],
    columns: Sequence[str] | None = None,
) -> str:
    """A plain-text table of stats objects, one row each, for a terminal.

    ``columns`` are field names (for :class:`IntervalStats` rows, ``label``,
    ``start``, ``end`` or any :class:`QueueStats` field of ``overall``); by
    default a short set per type. Rates show as percentages, seconds with one
    decimal, missing values as ``-``.
    """
    if not rows:
        return ""
    kind = type(rows[0])
    cols = tuple(columns) if columns is not None else _DEFAULT_COLUMNS.get(kind, ())
    if not cols:
        raise InvalidValue(f"no default columns for {kind.__name__}; pass columns")
    table = [list(cols)]
    for row in rows:
        cells = []
        for name in cols:
            source: object = row
            if isinstance(row, IntervalStats) and name not in ("label", "start", "end"):
                source = row.overall
            if not hasattr(source, name):
                raise InvalidValue(f"{type(source).__name__} has no field {name!r}")
            cells.append(_cell(name, getattr(source, name)))
        table.append(cells)
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    lines = []
    for r in table:
        parts = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_report(stats: IntervalStats) -> str:
    """A plain-text report of one period: a line naming it, the queues (all
    together first), then the agents."""
    head = f"{stats.label}  [{stats.start:g}, {stats.end:g})"
    parts = [head, render_table([stats.overall, *stats.queues.values()])]
    if stats.agents:
        parts.append(render_table(list(stats.agents.values())))
    return "\n\n".join(parts) + "\n"
