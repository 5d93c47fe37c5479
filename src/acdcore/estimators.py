"""Wait-time estimators: how long will this caller wait?

An estimator answers one question, :meth:`WaitEstimator.estimate`, from a
:class:`WaitContext` that the distributor builds for a waiting call (or for a
call that has not arrived yet), and learns from what happens through the
``on_*`` callbacks, which the distributor calls as calls enter queues, start
service, are answered or abandon. Estimators never read a clock: every
callback carries ``now``.

Implementations:

- :class:`QueueLengthEstimator`: ``(n+1)/(s*mu)``, the exact conditional mean
  wait in M/M/s, told ``mu``.
- :class:`ErlangAEstimator`: ``sum(1/(s*mu + i*theta), i=0..n)``, the exact
  conditional mean in M/M/s+M, told ``mu`` and ``theta``.
- :class:`HeadOfLineEstimator`: the time the call at the head of the queue
  has waited so far.
- :class:`LastToEnterServiceEstimator`: the wait of the last call that
  entered service from the queue.
- :class:`AsteriskEstimator`: Asterisk app_queue's average of answered hold
  times, ``H = (3H + h)/4``, blind to position and staffing.
- :class:`LearnedEstimator` (the default): learns the service and abandonment
  rates online, counts only the calls that compete for the same agents and
  the agents who can take the call now, and calibrates itself per queue and
  priority class against the waits it sees.

Every estimate carries an 80 % interval (``low``, ``high``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from . import _records as rec
from .errors import ConfigError, InvalidValue
from .values import check_number, is_number, show

__all__ = [
    "AsteriskEstimator",
    "ErlangAEstimator",
    "HeadOfLineEstimator",
    "LastToEnterServiceEstimator",
    "LearnedEstimator",
    "QueueLengthEstimator",
    "WaitContext",
    "WaitEstimate",
    "WaitEstimator",
    "hypoexponential",
    "spoken_wait",
]

Z80 = 1.2815515655446004
"""The standard normal quantile of 0.9: mean +- Z80 * sd spans 80 %."""


@attrs.frozen
class WaitEstimate:
    """An estimated wait in seconds from now, with an 80 % interval.

    ``seconds`` is ``math.inf`` when nobody who could take the call is
    staffed. ``ahead`` and ``servers`` are the counts the estimator used (the
    calls it expects to be served first, the agents it expects to serve
    them); ``method`` names the estimator.
    """

    seconds: float
    low: float
    high: float
    ahead: float
    servers: float
    method: str

    @property
    def known(self) -> bool:
        """False when the wait cannot be estimated (``seconds`` is infinite)."""
        return math.isfinite(self.seconds)


class WaitContext:
    """What the distributor knows about one (possibly future) waiting call.

    Built by :meth:`acdcore.Distributor.estimate`; estimators read it and
    never change it. ``ahead`` is the number of calls ahead of it in its
    queue's order, ``servers`` the capacity (sessions on the call's channel)
    of the staffed agents (logged in, not paused, not logging out) who meet
    its current requirement in its pool, ``waiting`` the queue's waiting
    calls, ``head_wait`` how long the call at the head of the queue has
    waited (``None`` if nobody waits ahead of it), ``waited`` how long this
    call has waited in its queue so far (0 for a call not yet arrived).

    ``agents`` is how many agents that capacity belongs to (fewer than
    ``servers`` when agents take several sessions); ``shared`` is true when
    one of those agents also serves another queue (so it gives this call's
    queue only part of its time).

    :meth:`competing` counts only the calls ahead that an agent of this
    call's pool could take (those that really compete for its agents); it is
    computed on first use, in O(ahead) time.
    """

    __slots__ = (
        "_competing",
        "_count",
        "agents",
        "ahead",
        "head_wait",
        "now",
        "priority",
        "queue",
        "servers",
        "shared",
        "waited",
        "waiting",
    )

    def __init__(
        self,
        *,
        now: float,
        queue: str,
        priority: int,
        ahead: int,
        servers: float,
        waiting: int,
        head_wait: float | None,
        waited: float = 0.0,
        competing: Callable[[], int] | None = None,
        shared: bool = False,
        agents: float | None = None,
    ) -> None:
        self.now = now
        self.queue = queue
        self.priority = priority
        self.ahead = ahead
        self.servers = servers
        self.waiting = waiting
        self.head_wait = head_wait
        self.waited = waited
        self.shared = shared
        self.agents = servers if agents is None else agents
        self._count = competing
        self._competing: int | None = None

    def competing(self) -> int:
        """The calls ahead that compete for this call's agents (cached)."""
        if self._competing is None:
            self._competing = self.ahead if self._count is None else self._count()
        return self._competing


def hypoexponential(
    rates: Iterable[float], method: str, ahead: float, servers: float
) -> WaitEstimate:
    """The wait until ``len(rates)`` exponential stages have passed, one after
    another at the given rates: mean ``sum(1/r)``, variance ``sum(1/r**2)``,
    and an 80 % interval by the normal approximation (clipped at 0)."""
    mean = 0.0
    var = 0.0
    for r in rates:
        if r <= 0 or not math.isfinite(r):
            return WaitEstimate(math.inf, math.inf, math.inf, ahead, servers, method)
        mean += 1.0 / r
        var += 1.0 / (r * r)
    sd = math.sqrt(var)
    return WaitEstimate(mean, max(0.0, mean - Z80 * sd), mean + Z80 * sd, ahead, servers, method)


def _positive(value: float, what: str) -> float:
    """``value`` as a float: finite and > 0, and (estimators use rates) with a
    finite reciprocal."""
    out = float(check_number(value, what, ConfigError, positive=True))
    if 1.0 / out == math.inf:
        raise ConfigError(f"{what} must be a number whose reciprocal is finite, got {show(value)}")
    return out


class WaitEstimator:
    """The estimator interface: estimate a wait, learn from what happens.

    Subclasses override :meth:`estimate` and whichever ``on_*`` callbacks
    they learn from; the defaults ignore the callback. The distributor calls:

    - :meth:`on_sample` after every event or deadline that changed a queue's
      waiting count or staffing (so time integrals are exact);
    - :meth:`on_entered` when a call enters a queue (arrival, transfer,
      overflow), with the context at that instant;
    - :meth:`on_started` when a call leaves its queue for an agent (an offer);
    - :meth:`on_answered` when a call is answered, with how long it waited in
      its queue;
    - :meth:`on_abandoned` when a waiting caller hangs up;
    - :meth:`on_handled` when a connected call ends (or is transferred), with
      how long it held its agent;
    - :meth:`on_left` when a call leaves its queue any other way.

    ``seq`` is the call's arrival sequence number (unique per distributor).
    """

    name = "estimator"

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        """The estimated wait of the call described by ``ctx``."""
        raise NotImplementedError

    def on_sample(self, queue: str, now: float, waiting: int, staffed: int) -> None:
        """``queue`` has ``waiting`` calls and ``staffed`` staffed agents from ``now`` on."""

    def on_entered(self, ctx: WaitContext, seq: int) -> None:
        """Call ``seq`` entered ``ctx.queue``."""

    def on_started(self, queue: str, now: float, waited: float, seq: int) -> None:
        """Call ``seq`` left ``queue`` for an agent after ``waited`` seconds there."""

    def on_answered(self, queue: str, now: float, waited: float, seq: int, priority: int) -> None:
        """Call ``seq`` was answered, ``waited`` seconds after it entered ``queue``."""

    def on_abandoned(self, queue: str, now: float, waited: float, seq: int) -> None:
        """Call ``seq`` hung up after waiting ``waited`` seconds in ``queue``."""

    def on_handled(self, queue: str, now: float, seconds: float) -> None:
        """An agent finished a call of ``queue`` that held it ``seconds`` in
        all (ring, talk and wrap-up)."""

    def on_left(self, queue: str, now: float, seq: int) -> None:
        """Call ``seq`` left ``queue`` without an on-line wait to learn from:
        an exit (rejection, self-service, overflow to a destination), a
        failed callback, a caller who hung up while ringing, a callback
        answered (its wait was spent off the line)."""

    def save_state(self) -> dict[str, Any]:
        """What the estimator has learned, as JSON data, for a snapshot.

        The default (an estimator that learns nothing) is ``{}``. An estimator
        that learns overrides this and :meth:`load_state`, so that a restored
        distributor estimates exactly as the one that was snapshotted."""
        return {}

    def load_state(self, data: Any) -> None:
        """Take back what :meth:`save_state` gave, into an estimator built
        with the same arguments that has learned nothing yet. Raises
        :class:`~acdcore.errors.InvalidValue` naming what is wrong, and then
        changes nothing."""
        if data != {}:
            raise InvalidValue(f"{self.name}: this estimator keeps no state, got {show(data)}")


class QueueLengthEstimator(WaitEstimator):
    """``(n+1)/(s*mu)``: with ``n`` calls ahead and ``s`` agents who can take
    the call, each finishing at rate ``mu = 1/mean_handle``. Exact (the
    conditional mean) in M/M/s with FIFO order; the wait is Erlang(n+1, s*mu),
    which gives the interval. Cost: O(1)."""

    name = "queue-length"

    def __init__(self, mean_handle: float) -> None:
        self.mu = 1.0 / _positive(mean_handle, "QueueLengthEstimator.mean_handle")

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        n, s = ctx.ahead, ctx.servers
        if s <= 0:
            return WaitEstimate(math.inf, math.inf, math.inf, n, s, self.name)
        rate = s * self.mu
        mean = (n + 1) / rate
        sd = math.sqrt(n + 1) / rate
        return WaitEstimate(mean, max(0.0, mean - Z80 * sd), mean + Z80 * sd, n, s, self.name)


class ErlangAEstimator(WaitEstimator):
    """``sum(1/(s*mu + i*theta), i=0..n)``: the queue-length estimator when
    callers ahead abandon at rate ``theta = 1/mean_patience`` each. Exact in
    M/M/s+M. Cost: O(n)."""

    name = "erlang-a"

    def __init__(self, mean_handle: float, mean_patience: float) -> None:
        self.mu = 1.0 / _positive(mean_handle, "ErlangAEstimator.mean_handle")
        self.theta = 1.0 / _positive(mean_patience, "ErlangAEstimator.mean_patience")

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        n, s = ctx.ahead, ctx.servers
        base = s * self.mu
        if s <= 0:
            return WaitEstimate(math.inf, math.inf, math.inf, n, s, self.name)
        theta = self.theta
        return hypoexponential((base + i * theta for i in range(n + 1)), self.name, n, s)


def _point(value: float, name: str, ahead: float, servers: float) -> WaitEstimate:
    """An estimate from a delay history: the value itself, with an interval
    of a factor of two either way (these estimators carry no variance)."""
    return WaitEstimate(value, value / 2.0, value * 2.0, ahead, servers, name)


class HeadOfLineEstimator(WaitEstimator):
    """The time the call at the head of the queue has waited so far; when no
    call waits ahead, the wait of the last delayed call to enter service.
    Cost: O(1)."""

    name = "head-of-line"

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        value = ctx.head_wait if ctx.head_wait is not None else self._last.get(ctx.queue, 0.0)
        return _point(value, self.name, ctx.ahead, ctx.servers)

    def on_started(self, queue: str, now: float, waited: float, seq: int) -> None:
        if waited > 0:  # a caller served at once says nothing about waiting
            self._last[queue] = waited

    def save_state(self) -> dict[str, Any]:
        return {"last": _PER_QUEUE.dump(self._last, f"{self.name}.last")}

    def load_state(self, data: Any) -> None:
        data = rec.require_keys(data, self.name, ["last"])
        self._last = _PER_QUEUE.load(data["last"], f"{self.name}.last")


class LastToEnterServiceEstimator(WaitEstimator):
    """The wait of the last delayed call that entered service from the queue
    (0 before any has). Cost: O(1)."""

    name = "last-to-enter-service"

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        return _point(self._last.get(ctx.queue, 0.0), self.name, ctx.ahead, ctx.servers)

    def on_started(self, queue: str, now: float, waited: float, seq: int) -> None:
        if waited > 0:  # a caller served at once says nothing about waiting
            self._last[queue] = waited

    def save_state(self) -> dict[str, Any]:
        return {"last": _PER_QUEUE.dump(self._last, f"{self.name}.last")}

    def load_state(self, data: Any) -> None:
        data = rec.require_keys(data, self.name, ["last"])
        self._last = _PER_QUEUE.load(data["last"], f"{self.name}.last")


class AsteriskEstimator(WaitEstimator):
    """Asterisk app_queue's announced hold time: an average over answered
    calls updated as ``H = (3H + h)/4``, whatever the caller's position or
    the staffing. Kept as the field's baseline. Cost: O(1)."""

    name = "asterisk"

    def __init__(self) -> None:
        self._h: dict[str, float] = {}

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        return _point(self._h.get(ctx.queue, 0.0), self.name, ctx.ahead, ctx.servers)

    def on_answered(self, queue: str, now: float, waited: float, seq: int, priority: int) -> None:
        h = self._h.get(queue)
        self._h[queue] = waited if h is None else (3.0 * h + waited) / 4.0

    def save_state(self) -> dict[str, Any]:
        return {"h": _PER_QUEUE.dump(self._h, f"{self.name}.h")}

    def load_state(self, data: Any) -> None:
        data = rec.require_keys(data, self.name, ["h"])
        self._h = _PER_QUEUE.load(data["h"], f"{self.name}.h")


@attrs.define(slots=True)
class _Decayed:
    """Sums that forget exponentially with time constant ``tau`` seconds."""

    t: float = 0.0
    starts: float = 0.0  # service starts out of a non-empty queue
    staff_time: float = 0.0  # integral of staffed agents while calls wait
    abandons: float = 0.0
    wait_time: float = 0.0  # integral of the number waiting
    waiting: int = 0
    staffed: int = 0
    handled: float = 0.0  # calls finished by agents
    handle_time: float = 0.0  # the seconds they held their agents

    def view(self, now: float, tau: float, tau_ab: float) -> tuple[float, float, float, float]:
        """``(starts, staff_time, abandons, wait_time)`` decayed to ``now``,
        without changing anything (estimates must not change what is learned)."""
        twin = _Decayed(
            self.t, self.starts, self.staff_time, self.abandons, self.wait_time,
            self.waiting, self.staffed,
        )  # fmt: skip
        twin.decay_to(now, tau, tau_ab)
        return twin.starts, twin.staff_time, twin.abandons, twin.wait_time

    def decay_to(self, now: float, tau: float, tau_ab: float) -> None:
        """Forget up to ``now``: service sums with time constant ``tau``,
        abandonment sums (sparser) with ``tau_ab``; integrate the constant
        waiting count and staffing since the last instant."""
        dt = now - self.t
        if dt <= 0:
            return
        f, g = math.exp(-dt / tau), math.exp(-dt / tau_ab)
        # The integral of e^{-(now-u)/tau} du over [t, now] is tau (1 - e^{-dt/tau}).
        w = tau * -math.expm1(-dt / tau) if self.waiting > 0 else 0.0
        w_ab = tau_ab * -math.expm1(-dt / tau_ab)
        self.staff_time = self.staff_time * f + self.staffed * w
        self.wait_time = self.wait_time * g + self.waiting * w_ab
        self.starts *= f
        self.handled *= f
        self.handle_time *= f
        self.abandons *= g
        self.t = now


CORRELATION = 10.0
"""The design effect applied to the calibration ratio's variance."""


@attrs.define(slots=True)
class _Calibration:
    """Decayed sums of actual and raw predicted waits for one class."""

    actual: float = 0.0  # sum of a (actual waits)
    predicted: float = 0.0  # sum of p (raw estimates)
    aa: float = 0.0
    ap: float = 0.0
    pp: float = 0.0
    weight: float = 0.0
    t: float = 0.0

    def add(self, actual: float, predicted: float, forget: float) -> None:
        self.actual = self.actual * forget + actual
        self.predicted = self.predicted * forget + predicted
        self.aa = self.aa * forget + actual * actual
        self.ap = self.ap * forget + actual * predicted
        self.pp = self.pp * forget + predicted * predicted
        self.weight = self.weight * forget + 1.0

    def factor(self, prior: float) -> float:
        """The ratio ``R = sum(a)/sum(p)``, shrunk towards 1 by the evidence:
        by ``weight / (weight + prior)``, and by ``1 - var(R)/(R-1)**2``
        (0 when the distance from 1 is within the noise)."""
        if self.predicted <= 0 or self.weight <= 0:
            return 1.0
        r = self.actual / self.predicted
        d = r - 1.0
        if d == 0.0:
            return 1.0
        resid = max(0.0, self.aa - 2.0 * r * self.ap + r * r * self.pp)
        # Waits of calls close in time are strongly correlated (they share a
        # busy period), so the independent-sample variance is inflated by a
        # design effect of CORRELATION.
        var = CORRELATION * resid / (self.predicted * self.predicted)
        keep = max(0.0, 1.0 - var / (d * d)) * self.weight / (self.weight + prior)
        return min(4.0, max(0.25, 1.0 + d * keep))


_PER_QUEUE = rec.dict_of(rec.FLOAT)
_LEARNED = (  # (key in the saved state, attribute, form)
    ("queues", "_q", rec.dict_of(rec.record(_Decayed))),
    ("calibration", "_cal", rec.pairs(rec.fixed(rec.STR, rec.INT), rec.record(_Calibration))),
    ("raw", "_raw", rec.pairs(rec.INT, rec.FLOAT)),
    ("taken", "_taken", rec.pairs(rec.INT, rec.FLOAT)),
    ("classes", "_classes", rec.dict_of(rec.set_of(rec.INT))),
)


class LearnedEstimator(WaitEstimator):
    """The default estimator: it is never told the service or abandonment
    rate; it learns them from what it observes, with exponential forgetting.

    Per queue it learns ``nu``, the rate at which one staffed agent takes
    calls out of the queue while calls wait (service starts divided by the
    integral of staffed agents over the time calls were waiting). That is
    ``mu`` in a single-skill M/M/s queue, and less than ``mu`` for agents
    shared with other queues, who give this queue only part of their time.
    When none of the call's agents serves another queue it uses the mean
    time a finished call held its agent instead (ring, talk and wrap-up):
    every call teaches that, not only those served while others waited.
    It learns ``theta``, the abandonment rate per waiting caller
    (abandonments divided by the integral of the number waiting: the maximum
    likelihood estimate for exponential patience).

    For a call, it counts ``n`` the calls ahead that compete for its agents
    (:meth:`WaitContext.competing`), ``s`` the capacity that can take it now
    (:attr:`WaitContext.servers` sessions with dedicated agents, whose ``nu``
    is per session; :attr:`WaitContext.agents` with shared ones, whose ``nu``
    is per agent), and estimates
    ``sum(1/(s*nu + i*theta), i=0..n)``. Finally it multiplies by a
    calibration factor per queue and priority class: the ratio of the actual
    waits of answered calls to the raw estimates made when they entered,
    shrunk towards 1 while it rests on few calls (``prior`` calls' worth)
    and as far as its distance from 1 is within its own noise, so that a
    model that is right is left alone.
    This absorbs what the model leaves out: higher-priority calls that will
    overtake, agents shared with other queues, non-exponential handle times.
    It applies only where the model leaves something out: a queue that has
    seen more than one priority class, or a call whose agents serve other
    queues too; elsewhere it would only add noise.

    ``memory``: the time constant of forgetting for the service rate, in
    seconds (it adapts to time-varying load within about that long);
    ``abandon_memory``: the same for the abandonment rate, longer because
    abandonments are sparse. ``calibration_memory``: the same for the
    calibration. Until a queue has seen ``warmup`` finished calls (or
    service starts out of a waiting queue, with shared agents),
    ``initial_handle`` (seconds) is blended in for ``1/nu``, and the
    abandonment rate has a prior of none over ``warmup * initial_handle``
    caller-seconds of waiting. Cost: O(n) per estimate (one skill check per
    distinct requirement among the calls ahead), O(1) per callback; memory
    O(queues + priority classes + waiting calls).
    """

    name = "learned"

    def __init__(
        self,
        *,
        memory: float = 7200.0,
        abandon_memory: float = 6 * 3600.0,
        calibration_memory: float = 4 * 3600.0,
        prior: float = 200.0,
        warmup: float = 20.0,
        initial_handle: float = 180.0,
        calibrate: bool = True,
    ) -> None:
        self.tau = _positive(memory, "LearnedEstimator.memory")
        self.tau_ab = _positive(abandon_memory, "LearnedEstimator.abandon_memory")
        self.cal_tau = _positive(calibration_memory, "LearnedEstimator.calibration_memory")
        self.prior = float(check_number(prior, "LearnedEstimator.prior", ConfigError, minimum=0))
        self.warmup = _positive(warmup, "LearnedEstimator.warmup")
        self.initial_mu = 1.0 / _positive(initial_handle, "LearnedEstimator.initial_handle")
        if not isinstance(calibrate, bool):
            raise ConfigError(f"LearnedEstimator.calibrate must be a bool, got {show(calibrate)}")
        self.calibrate = calibrate
        self._q: dict[str, _Decayed] = {}
        self._cal: dict[tuple[str, int], _Calibration] = {}
        self._raw: dict[int, float] = {}  # seq -> raw estimate at entry
        self._taken: dict[int, float] = {}  # seq -> when it was taken from a waiting queue
        self._classes: dict[str, set[int]] = {}  # priority classes seen per queue (up to 2)

    # ---------------------------------------------------------- learning

    def _stats(self, queue: str) -> _Decayed:
        st = self._q.get(queue)
        if st is None:
            st = self._q[queue] = _Decayed()
        return st

    def on_sample(self, queue: str, now: float, waiting: int, staffed: int) -> None:
        st = self._stats(queue)
        if st.t == 0.0 and st.starts == 0.0 and st.staff_time == 0.0:
            st.t = now
        st.decay_to(now, self.tau, self.tau_ab)
        st.waiting = waiting
        st.staffed = staffed

    def on_started(self, queue: str, now: float, waited: float, seq: int) -> None:
        # Counted when answered: an offer that rings out is no departure.
        if waited > 0:
            self._taken[seq] = now
        else:
            self._taken.pop(seq, None)

    def on_abandoned(self, queue: str, now: float, waited: float, seq: int) -> None:
        st = self._stats(queue)
        st.decay_to(now, self.tau, self.tau_ab)
        st.abandons += 1.0
        self._raw.pop(seq, None)
        self._taken.pop(seq, None)

    def on_left(self, queue: str, now: float, seq: int) -> None:
        self._raw.pop(seq, None)
        self._taken.pop(seq, None)

    def on_entered(self, ctx: WaitContext, seq: int) -> None:
        classes = self._classes.setdefault(ctx.queue, set())
        if len(classes) < 2:
            classes.add(ctx.priority)
        if self.calibrate:
            raw = self._raw_estimate(ctx)
            if math.isfinite(raw.seconds):
                self._raw[seq] = raw.seconds

    def on_answered(self, queue: str, now: float, waited: float, seq: int, priority: int) -> None:
        if self._taken.pop(seq, None) is not None:
            # A service start out of a waiting queue (at the offer's instant,
            # which is within the current sample interval or the one before).
            st = self._stats(queue)
            st.decay_to(now, self.tau, self.tau_ab)
            st.starts += 1.0
        raw = self._raw.pop(seq, None)
        if raw is None or not self.calibrate:
            return
        cal = self._cal.get((queue, priority))
        if cal is None:
            cal = self._cal[(queue, priority)] = _Calibration(t=now)
        cal.add(waited, raw, math.exp(-max(0.0, now - cal.t) / self.cal_tau))
        cal.t = now

    def on_handled(self, queue: str, now: float, seconds: float) -> None:
        st = self._stats(queue)
        st.decay_to(now, self.tau, self.tau_ab)
        st.handled += 1.0
        st.handle_time += seconds

    def save_state(self) -> dict[str, Any]:
        return {
            key: form.dump(getattr(self, attr), f"{self.name}.{key}")
            for key, attr, form in _LEARNED
        }

    def load_state(self, data: Any) -> None:
        data = rec.require_keys(data, self.name, [key for key, _, _ in _LEARNED])
        loaded = {attr: form.load(data[key], f"{self.name}.{key}") for key, attr, form in _LEARNED}
        for attr, value in loaded.items():  # all decoded first: a refusal changes nothing
            setattr(self, attr, value)

    # ---------------------------------------------------------- estimates

    def rates(
        self, queue: str, now: float | None = None, shared: bool = True
    ) -> tuple[float, float]:
        """The learned ``(nu, theta)`` of ``queue``: service starts per staffed
        agent per second while calls wait, abandonments per waiting caller
        per second (``initial_handle`` and 0 until enough is seen).

        When the queue's agents serve no other queue (``shared`` false), nu
        is one over the mean time a call holds its agent (every finished
        call counts, so it is learned faster and more precisely than from the
        starts seen while calls wait)."""
        st = self._q.get(queue)
        if st is None:
            return self.initial_mu, 0.0
        at = st.t if now is None else now
        starts, staff_time, abandons, wait_time = st.view(at, self.tau, self.tau_ab)
        # A prior of no abandonment over ``warmup`` handle times of waiting,
        # so that one early hang-up does not set the rate.
        theta = abandons / (wait_time + self.warmup / self.initial_mu)
        if not shared:
            learned = st.handled / st.handle_time if st.handle_time > 0 else self.initial_mu
            w = min(1.0, st.handled / self.warmup)
            return (1 - w) * self.initial_mu + w * learned, theta
        nu = self.initial_mu
        if starts >= self.warmup and staff_time > 0:
            nu = starts / staff_time
        elif staff_time > 0:
            # Blend the prior with what has been seen so far.
            w = starts / self.warmup
            nu = (1 - w) * self.initial_mu + w * (starts / staff_time)
        return nu, theta

    def calibration(self, queue: str, priority: int) -> float:
        """The current calibration factor of a queue and priority class."""
        cal = self._cal.get((queue, priority))
        return 1.0 if cal is None or not self.calibrate else cal.factor(self.prior)

    def _raw_estimate(self, ctx: WaitContext) -> WaitEstimate:
        nu, theta = self.rates(ctx.queue, ctx.now, ctx.shared)
        # nu is per finished call when the pool is not shared (so per session),
        # and per staffed agent when it is.
        s = ctx.servers if not ctx.shared else ctx.agents
        n = ctx.competing()
        if s <= 0:
            return WaitEstimate(math.inf, math.inf, math.inf, n, s, self.name)
        base = s * nu
        if theta <= 0:
            rate = base
            mean = (n + 1) / rate
            sd = math.sqrt(n + 1) / rate
            return WaitEstimate(mean, max(0.0, mean - Z80 * sd), mean + Z80 * sd, n, s, self.name)
        return hypoexponential((base + i * theta for i in range(n + 1)), self.name, n, s)

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        raw = self._raw_estimate(ctx)
        if not ctx.shared and len(self._classes.get(ctx.queue, ())) < 2:
            # One class served by its own agents: the model leaves out
            # nothing the waits could teach, and calibrating only adds noise.
            return raw
        f = self.calibration(ctx.queue, ctx.priority)
        if f == 1.0 or not raw.known:
            return raw
        return attrs.evolve(raw, seconds=raw.seconds * f, low=raw.low * f, high=raw.high * f)


def spoken_wait(seconds: float) -> tuple[float, str]:
    """Round a wait for a caller's ear: to 15 s under two minutes, to the
    minute under an hour, then to five minutes (halves round up); return the
    rounded seconds and a phrase ("about 45 seconds", "about 3 minutes",
    "less than a minute" for waits under 7.5 s, "unknown" when it cannot be
    estimated, or is not a number at all: NaN, an int beyond a float)."""
    if not is_number(seconds) or not math.isfinite(seconds):
        return math.inf, "unknown"
    seconds = float(seconds)
    if seconds < 7.5:
        return 0.0, "less than a minute"
    if seconds < 120:
        r = max(15.0, 15.0 * math.floor(seconds / 15.0 + 0.5))
        if r >= 60 and r % 60 == 0:
            m = int(r // 60)
            return r, f"about {m} minute{'s' if m > 1 else ''}"
        return r, f"about {int(r)} seconds"
    if seconds < 3600:
        m = math.floor(seconds / 60.0 + 0.5)
        return 60.0 * m, f"about {m} minutes"
    m = 5 * math.floor(seconds / 300.0 + 0.5)
    return 60.0 * m, f"about {m} minutes"
