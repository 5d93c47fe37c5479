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

The code is split by concept: this module holds :class:`Metrics`' public
face (its clock, observation, surveys and saved state); it builds on
``_metrics_core`` (configuration, state, bookkeeping), ``_metrics_handlers``
(one handler per event and action type) and ``_metrics_reports`` (the
reports), keeps its records in ``_metrics_records`` and its results in
``_metrics_stats``; ``_metrics_render`` lays results out as text and
``_metrics_state`` saves and loads the state. Every public name is
importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._metrics_handlers import _MetricsHandlers
from ._metrics_render import render_report, render_table
from ._metrics_reports import _MetricsReports
from ._metrics_stats import (
    AgentStats,
    Breach,
    IntervalStats,
    QueueNow,
    QueueStats,
    RealtimeView,
    SLVariant,
    percentile,
)
from .actions import Action
from .errors import InvalidCallState, InvalidValue, TimeWentBackwards, UnknownCall
from .events import Event
from .skills import check_instant

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


# ------------------------------------------------------------------- metrics


class Metrics(_MetricsReports, _MetricsHandlers):
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
