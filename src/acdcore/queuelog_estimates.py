"""What a queue_log says about a centre's callers and agents: its calls, and
per queue the parameters estimated from them.

A contact centre's Asterisk ``queue_log`` says when each call came, where it
went, how long it waited, whether the caller hung up, how long the agent
talked and how long phones rang. This module reads the calls out of it and
estimates what a scenario's traffic and agents are made of (arrivals, talk,
ring, patience); :mod:`acdcore.whatif` replays the calls against a scenario.

1. :func:`observed_calls`: one :class:`ObservedCall` per call of the log,
   from the events :func:`~acdcore.queuelog_report.to_items` reads in it (the
   same reading as ``acdcore report``): its first queue, arrival time,
   outcome, wait, talk per answered leg and ring times.
2. :func:`estimate_parameters`: per queue, the arrival rate, mean talk time,
   ring times and the callers' patience, each with its standard error
   (:class:`QueueParameters`); :func:`kaplan_meier`: the nonparametric
   survival curve of patience it checks the exponential against.
3. :func:`validate`: the estimators checked end to end on a scenario whose
   parameters are known, simulated, written as a queue_log and read back
   (:class:`Validation`).

Calls
-----

A call is attributed to the first queue it entered, as the KPIs are. Its
``wait`` runs from its arrival to the first answer (ringing included), to the
hang-up, to an exit (an overflow out of the centre, self-service, a
rejection, a callback accepted: the caller stopped waiting), or, for a call
the log never finishes, to the log's end (or to the Asterisk restart that
lost it). ``outcome`` is ``"answered"``, ``"abandoned"``, ``"exited"`` or
``"unfinished"``. Each answered leg (a transferred call has several) has the
queue it was answered from and its talk time, from the answer (``CONNECT``)
to ``COMPLETECALLER`` / ``COMPLETEAGENT`` or the transfer. Ring times: the
ring of each answered offer (``CONNECT``'s ring field, 0 before Asterisk
1.6) and of each offer that rang out (``RINGNOANSWER``, in milliseconds).

Estimators
----------

Per queue, over an observation window of ``T`` hours (by default from the
first to the last arrival of the log; pass the real window when it is known):

- **Arrival rate**: ``n / T`` calls per hour, standard error ``sqrt(n) / T``
  (Poisson arrivals).
- **Mean talk time** (the scenario's ``handle``): the mean over the answered
  legs that ended, with the standard error ``sd / sqrt(n)``. Legs go to the
  queue they were answered from, as the simulator draws talk times from the
  queue a call was offered from. Legs still talking when the log ends are
  left out.
- **Ring times**: the mean ring of answered offers (the agents' answer
  delay) with its standard error; the offers that rang out, their mean ring,
  and their share of all the offers that ended (the agents' ``rona``).
- **Patience**, by the **exponential maximum-likelihood estimator with right
  censoring**. A caller who hung up after ``w`` seconds had a patience of
  ``w``; a caller who was answered (or left another way) after ``w`` seconds
  had a patience longer than ``w``, which is all the log can say. With
  exponential patience of rate ``theta``, the likelihood of ``A`` hang-ups and
  ``n - A`` censored waits is ``theta^A * exp(-theta * sum(w))`` over every
  call's wait, so::

      theta = A / (sum of the waits of the callers who hung up
                   + sum of the waits of every other caller)

  and the mean patience is ``1 / theta`` with standard error about
  ``(1 / theta) / sqrt(A)`` (from the Fisher information; it needs a few
  tens of hang-ups to mean much). The exponential is the model of Erlang A
  and of the simulator's usual patience, and its estimator is closed-form
  and uses every call. Leaving the censored calls out instead (the mean
  wait of the callers who hung up, kept here as ``naive_patience`` for
  comparison) is badly biased low: only the impatient hang up before they
  are answered. As a check on the exponential assumption, the
  **Kaplan-Meier** estimate of the median patience (nonparametric, same
  censoring) is given beside the exponential median ``ln 2 / theta``; when
  the two disagree, the patience is not exponential (and the conditional
  draws of :mod:`acdcore.whatif` are approximate). The Kaplan-Meier median is
  ``None`` when fewer than half the callers would have hung up by the
  longest wait seen (often so when waits are short). The estimators assume
  a caller's patience does not change how long the centre makes them wait,
  which holds when the queue is served in its order whatever the caller
  intends.
"""

from __future__ import annotations

import io
import math
import random
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .actions import CancelOffer, Offer, Overflow, Reject, SelfService
from .config import QueueConfig
from .distributions import Exponential
from .errors import InvalidValue
from .events import (
    CallAbandoned,
    CallArrived,
    CallbackRequested,
    CallEnded,
    CallTransferred,
    Event,
    OfferAnswered,
)
from .queuelog import QueueLogWriter
from .queuelog_read import Line, read_queue_log
from .queuelog_report import to_items
from .scenario import AgentGroup, Scenario, SimQueue, Traffic
from .sim import run_replication

__all__ = [
    "ObservedCall",
    "QueueParameters",
    "Validation",
    "estimate_parameters",
    "kaplan_meier",
    "observed_calls",
    "validate",
]


# ------------------------------------------------------------------ the calls


@attrs.frozen
class ObservedCall:
    """One call of a queue_log (see the module docstring): its ``queue``
    (the first it entered), ``arrived`` (Unix seconds), ``outcome``
    (``"answered"``, ``"abandoned"``, ``"exited"`` or ``"unfinished"``),
    ``wait`` (seconds from arrival until it was answered, hung up, left, or
    the log lost it), ``legs`` (per answered leg that ended: the queue it
    was answered from and its talk seconds), ``talk`` (the legs' total, for
    an answered call whose every leg ended; else ``None``) and ``rings``
    (per offer that ended: its queue, ring seconds, and whether it was
    answered)."""

    call_id: str
    queue: str
    arrived: float
    outcome: str
    wait: float
    legs: tuple[tuple[str, float], ...] = ()
    talk: float | None = None
    rings: tuple[tuple[str, float, bool], ...] = ()


@attrs.define
class _Open:
    """A call being read: what is known so far."""

    call_id: str
    queue: str
    arrived: float
    last: float
    stopped: float | None = None  # when it stopped waiting (answer, hang-up, exit...)
    answered: bool = False
    offers: dict[str, tuple[float, str]] = attrs.Factory(dict)  # agent -> (ring, queue)
    leg: tuple[str, float] | None = None  # (queue, answered at) of the leg in progress
    legs: list[tuple[str, float]] = attrs.Factory(list)
    rings: list[tuple[str, float, bool]] = attrs.Factory(list)

    def stop(self, t: float) -> None:
        """It stopped waiting at ``t`` (the first time only counts)."""
        if self.stopped is None:
            self.stopped = t

    def close_leg(self, t: float) -> None:
        """The leg in progress (if any) ended at ``t``: keep its talk time."""
        if self.leg is not None:
            queue, since = self.leg
            self.legs.append((queue, max(0.0, t - since)))
            self.leg = None

    def done(self, outcome: str, t: float) -> ObservedCall:
        """The finished call, with ``outcome``; ``t`` ends a wait still running."""
        end = self.stopped if self.stopped is not None else t
        talk = None
        if self.answered and self.leg is None and self.legs:
            talk = math.fsum(s for _, s in self.legs)
        return ObservedCall(
            self.call_id,
            self.queue,
            self.arrived,
            outcome,
            max(0.0, end - self.arrived),
            tuple(self.legs),
            talk,
            tuple(self.rings),
        )


def observed_calls(lines: Sequence[Line]) -> tuple[ObservedCall, ...]:
    """The calls of a queue_log's lines (``QueueLogRead.lines``), in order of
    arrival, read through :func:`~acdcore.queuelog_report.to_items` (see the
    module docstring). Cost: O(lines)."""
    conv = to_items(lines)
    restarts = sorted(ln.time for ln in lines if ln.event == "QUEUESTART")
    end = max((ln.time for ln in lines), default=0.0)
    calls: dict[str, _Open] = {}
    out: list[ObservedCall] = []

    def finish(cid: str, outcome: str, t: float) -> None:
        out.append(calls.pop(cid).done(outcome, t))

    for item in conv.items:
        if isinstance(item, CallArrived):
            if item.call_id in calls:  # entered again with no exit: the old one was lost
                old = calls[item.call_id]
                finish(item.call_id, "answered" if old.answered else "unfinished", item.now)
            calls[item.call_id] = _Open(item.call_id, item.queue, item.now, item.now)
            continue
        cid = getattr(item, "call_id", None)
        call = calls.get(cid) if isinstance(cid, str) else None
        if call is None or cid is None:
            continue
        t = float(item.now if isinstance(item, Event) else item.at)
        call.last = t
        if isinstance(item, Offer):
            call.offers[item.agent_id] = (float(item.ring_timeout), item.queue)
        elif isinstance(item, CancelOffer):
            offer = call.offers.pop(item.agent_id, None)
            if offer is not None and item.reason == "ring-timeout":
                call.rings.append((offer[1], offer[0], False))
        elif isinstance(item, OfferAnswered):
            ring, queue = call.offers.pop(item.agent_id, (0.0, call.queue))
            call.rings.append((queue, ring, True))
            call.answered = True
            call.stop(t)
            call.leg = (queue, t)
        elif isinstance(item, CallEnded):
            call.close_leg(t)
            finish(cid, "answered" if call.answered else "exited", t)
        elif isinstance(item, CallTransferred):
            call.close_leg(t)
        elif isinstance(item, CallAbandoned):
            call.stop(t)
            finish(cid, "answered" if call.answered else "abandoned", t)
        elif isinstance(item, CallbackRequested):
            call.stop(t)  # off the line: no longer at risk of hanging up
        elif isinstance(item, (SelfService, Reject)) or (
            isinstance(item, Overflow) and item.target_queue is None
        ):
            call.stop(t)
            finish(cid, "answered" if call.answered else "exited", t)
    for cid in list(calls):
        call = calls[cid]
        k = bisect_right(restarts, call.last)  # the restart that lost it, else the log's end
        finish(
            cid,
            "answered" if call.answered else "unfinished",
            restarts[k] if k < len(restarts) else end,
        )
    out.sort(key=lambda c: c.arrived)
    return tuple(out)


# ------------------------------------------------------------------ estimates


@attrs.frozen
class QueueParameters:
    """What a queue_log says about one queue's callers and agents, each
    figure with its standard error where it has one (``None``: no data).
    See the module docstring for the estimators.

    - ``calls`` arrived over ``hours``: ``arrival_rate`` (calls per hour)
      and ``arrival_rate_se``.
    - ``legs`` answered legs that ended: ``mean_handle`` and
      ``mean_handle_se`` (talk seconds).
    - ``answered_rings``: offers answered, ``mean_ring`` and
      ``mean_ring_se`` (seconds from the offer to the answer);
      ``ring_outs``: offers that rang out, ``mean_ring_out`` (seconds) and
      ``rona`` (their share of the offers that ended).
    - ``abandons`` over ``exposure`` (the seconds every caller waited, hung
      up or not): ``patience_rate`` (per second), ``mean_patience`` and
      ``mean_patience_se`` by the censored exponential MLE;
      ``median_patience`` (``ln 2 / patience_rate``) beside
      ``km_median_patience`` (Kaplan-Meier); ``naive_patience``: the mean
      wait of the callers who hung up (biased low, for comparison only).
    """

    queue: str
    calls: int
    hours: float
    arrival_rate: float | None
    arrival_rate_se: float | None
    legs: int
    mean_handle: float | None
    mean_handle_se: float | None
    answered_rings: int
    mean_ring: float | None
    mean_ring_se: float | None
    ring_outs: int
    mean_ring_out: float | None
    rona: float | None
    abandons: int
    exposure: float
    patience_rate: float | None
    mean_patience: float | None
    mean_patience_se: float | None
    median_patience: float | None
    km_median_patience: float | None
    naive_patience: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return attrs.asdict(self)


def _mean_se(values: Sequence[float]) -> tuple[float | None, float | None]:
    """The mean and its standard error ``sd / sqrt(n)`` (``None`` when
    there are too few values)."""
    n = len(values)
    if n == 0:
        return None, None
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, sd / math.sqrt(n)


def kaplan_meier(waits: Iterable[tuple[float, bool]]) -> tuple[tuple[float, float], ...]:
    """The Kaplan-Meier survival curve of patience from ``(wait, hung_up)``
    pairs (``hung_up`` false: censored, the patience exceeded the wait): the
    steps ``(t, S(t))`` at each time a caller hung up. A caller censored at
    ``t`` is still at risk at ``t`` (hang-ups come first at a tie)."""
    pairs = sorted(waits)
    at_risk = len(pairs)
    survival = 1.0
    steps: list[tuple[float, float]] = []
    i = 0
    while i < len(pairs):
        t = pairs[i][0]
        events = leaving = 0
        while i < len(pairs) and pairs[i][0] == t:
            events += pairs[i][1]
            leaving += 1
            i += 1
        if events:
            survival *= 1.0 - events / at_risk
            steps.append((t, survival))
        at_risk -= leaving
    return tuple(steps)


def _km_median(steps: Sequence[tuple[float, float]]) -> float | None:
    for t, s in steps:
        if s <= 0.5:
            return t
    return None


def estimate_parameters(
    calls: Sequence[ObservedCall], *, window: tuple[float, float] | None = None
) -> dict[str, QueueParameters]:
    """Per queue (in order of first arrival), the :class:`QueueParameters`
    of ``calls`` (see the module docstring). ``window``: the observation
    window ``(start, end)`` in Unix seconds for the arrival rates (default:
    the first to the last arrival)."""
    if window is None:
        times = [c.arrived for c in calls]
        window = (min(times), max(times)) if times else (0.0, 0.0)
    hours = max(0.0, window[1] - window[0]) / 3600.0
    by_queue: dict[str, list[ObservedCall]] = {}
    by_leg: dict[str, list[float]] = {}
    by_ring: dict[tuple[str, bool], list[float]] = {}
    for c in calls:
        by_queue.setdefault(c.queue, []).append(c)
    for c in calls:  # legs and rings of queues no call entered first come last
        for q, seconds in c.legs:
            by_leg.setdefault(q, []).append(seconds)
            by_queue.setdefault(q, [])
        for q, seconds, ok in c.rings:
            by_ring.setdefault((q, ok), []).append(seconds)
            by_queue.setdefault(q, [])
    out = {}
    for q, mine in by_queue.items():
        n = len(mine)
        talks = by_leg.get(q, [])
        answered = by_ring.get((q, True), [])
        outs = by_ring.get((q, False), [])
        abandoned = [c.wait for c in mine if c.outcome == "abandoned"]
        exposure = math.fsum(c.wait for c in mine)
        a = len(abandoned)
        theta = a / exposure if a and exposure > 0 else None
        mean_p = 1.0 / theta if theta else None
        handle, handle_se = _mean_se(talks)
        ring, ring_se = _mean_se(answered)
        steps = kaplan_meier((c.wait, c.outcome == "abandoned") for c in mine)
        out[q] = QueueParameters(
            queue=q,
            calls=n,
            hours=hours,
            arrival_rate=n / hours if hours > 0 else None,
            arrival_rate_se=math.sqrt(n) / hours if hours > 0 else None,
            legs=len(talks),
            mean_handle=handle,
            mean_handle_se=handle_se,
            answered_rings=len(answered),
            mean_ring=ring,
            mean_ring_se=ring_se,
            ring_outs=len(outs),
            mean_ring_out=math.fsum(outs) / len(outs) if outs else None,
            rona=len(outs) / (len(outs) + len(answered)) if outs or answered else None,
            abandons=a,
            exposure=exposure,
            patience_rate=theta,
            mean_patience=mean_p,
            mean_patience_se=mean_p / math.sqrt(a) if mean_p is not None else None,
            median_patience=math.log(2.0) * mean_p if mean_p is not None else None,
            km_median_patience=_km_median(steps),
            naive_patience=math.fsum(abandoned) / a if a else None,
        )
    return out


def _num(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


# ------------------------------------------------------------------ validation


@attrs.frozen(eq=False)
class Validation:
    """The pipeline checked on a scenario whose parameters are known (see
    :func:`validate`): the ``truth`` (calls per hour, mean talk and mean
    patience in seconds), the ``estimated`` :class:`QueueParameters`, and
    the queue_log's text."""

    truth: Mapping[str, float]
    estimated: QueueParameters
    log: str

    def z_scores(self) -> dict[str, float]:
        """``(estimate - truth) / standard error`` per parameter."""
        p = self.estimated
        pairs = {
            "arrival_rate": (p.arrival_rate, p.arrival_rate_se),
            "mean_handle": (p.mean_handle, p.mean_handle_se),
            "mean_patience": (p.mean_patience, p.mean_patience_se),
        }
        out = {}
        for k, (x, se) in pairs.items():
            if x is None or not se:
                raise InvalidValue(f"no estimate of {k}: too few calls")
            out[k] = (x - self.truth[k]) / se
        return out

    def report(self) -> str:
        """The true values beside the estimates, as text."""
        p = self.estimated
        z = self.z_scores()
        rows = [
            ("arrival_rate", "calls/h", p.arrival_rate, p.arrival_rate_se),
            ("mean_handle", "s", p.mean_handle, p.mean_handle_se),
            ("mean_patience", "s", p.mean_patience, p.mean_patience_se),
        ]
        lines = [
            f"{p.calls} calls, {p.abandons} hung up, over {p.hours:g} h "
            "(parameter: true, estimated +- SE, z)"
        ]
        for key, unit, x, se in rows:
            lines.append(
                f"  {key:<14} {self.truth[key]:8.2f}  {x or 0:8.2f} +- {se or 0:6.2f} {unit:<8}"
                f" z = {z[key]:+.2f}"
            )
        lines.append(
            f"  naive patience (mean wait of the callers who hung up): {p.naive_patience or 0:.1f} s;"
            f" exponential median {p.median_patience or 0:.1f} s, Kaplan-Meier median "
            f"{_num(p.km_median_patience, 1)} s (true {self.truth['mean_patience'] * math.log(2):.1f})"
        )
        return "\n".join(lines)


def validate(
    *,
    rate: float = 120.0,
    handle: float = 180.0,
    patience: float = 120.0,
    agents: int = 6,
    hours: int = 8,
    seed: int | str = 1,
    epoch: float = 1_772_409_600.0,
) -> Validation:
    """Simulate one queue with Poisson arrivals (``rate`` calls per hour),
    exponential talk (mean ``handle`` s) and exponential patience (mean
    ``patience`` s) served by ``agents`` agents for ``hours`` hours, write
    its queue_log (:class:`~acdcore.queuelog.QueueLogWriter`, exact times,
    clock 0 at Unix ``epoch``), read it back, and estimate the parameters
    over the known window. Each estimate should lie within a few standard
    errors of the truth (:meth:`Validation.z_scores`)."""
    scenario = Scenario(
        name="validation",
        queues=[SimQueue(QueueConfig("line"))],
        agents=[AgentGroup("agent", count=agents, queues=["line"])],
        traffic=Traffic(
            rates=[rate / 2.0] * (2 * hours),
            interval=1800.0,
            handle=Exponential(handle),
            patience=Exponential(patience),
        ),
    )
    steps: list[Any] = []
    run_replication(scenario, random.Random(f"{seed}:validate"), journal=steps)
    out = io.StringIO()
    writer = QueueLogWriter(out, epoch=epoch, exact=True)
    for what, actions in steps:
        writer.observe(None if isinstance(what, float) else what, actions)
    text = out.getvalue()
    calls = observed_calls(read_queue_log(text.encode()).lines)
    params = estimate_parameters(calls, window=(epoch, epoch + hours * 3600.0))["line"]
    truth = {"arrival_rate": rate, "mean_handle": handle, "mean_patience": patience}
    return Validation(truth, params, text)
