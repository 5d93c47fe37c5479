"""The values :class:`~acdcore.metrics.Metrics` reports (internal; import
them from :mod:`acdcore.metrics` or :mod:`acdcore`).

- :class:`SLVariant`: which service-level formula a figure uses;
- :func:`percentile`: the nearest-rank percentile the wait figures use;
- the frozen results: :class:`QueueStats`, :class:`AgentStats`,
  :class:`IntervalStats` (one period: all queues, each queue, each agent),
  :class:`Breach`, :class:`QueueNow` and :class:`RealtimeView`;
- the small arithmetic helpers the reports share (``_ratio``, ``_mean``,
  ``_nearest_rank``) and ``_variant``, which reads a variant argument.

The results are immutable and hold only plain values and read-only mappings.
Building one costs O(its fields) (O(queues + agents) for the mappings of
:class:`IntervalStats` and :class:`RealtimeView`), and so does ``to_dict``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs

from .errors import InvalidValue
from .skills import freeze_mapping

__all__ = [
    "AgentStats",
    "Breach",
    "IntervalStats",
    "QueueNow",
    "QueueStats",
    "RealtimeView",
    "SLVariant",
    "percentile",
]


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


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _mean(total: float, n: int) -> float | None:
    return total / n if n > 0 else None


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
