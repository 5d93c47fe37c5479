"""The runtime: one distributor, one clock, one writer task, for asyncio adapters.

The distributor is sans-IO: it never reads a clock and never performs an
action. :class:`Runtime` is the piece every adapter stands on. It owns

- **the clock**: Unix seconds (``time.time`` unless a clock is injected), so
  business hours read ``now`` as they expect. It never goes backwards for the
  distributor: a clock reading behind the distributor's clock is taken as the
  distributor's clock;
- **one writer task**: events from anywhere are applied one at a time, in
  the order :meth:`Runtime.submit` was called. Each submit returns a
  :class:`Result`: accepted (with the actions) or refused (with the typed
  :class:`~acdcore.errors.AcdError`, the distributor unchanged);
- **one timer**: armed for :meth:`~acdcore.Distributor.next_deadline`; when
  it comes the runtime calls ``advance``;
- **performing actions**: each action goes to the :class:`ActionSink` in its
  own task, started in the order the distributor returned them, so a slow
  request to the switch never delays another deadline or event;
- optionally **a store** (:class:`~acdcore.store.Store`): every advance and
  accepted event is journaled *before* its actions are performed, and the
  store is snapshotted (and its journal trimmed) when its schedule says so;
- optionally **metrics** (:class:`~acdcore.metrics.Metrics`): fed every
  entry as the store would replay it, snapshotted with the distributor, and
  shown in :meth:`Runtime.view`.

An event's ``now`` is the runtime's clock when it is applied: whatever ``now``
the adapter put in the event is replaced (pass ``now=0``).

Races every switch has, and the policy here (each has a test):

- **An answer after the ring timeout**: the offer is gone (the ring timeout
  fired first, a ``CancelOffer`` was sent); the answer is refused with
  ``NoSuchOffer`` and the adapter must hang up that agent's leg.
- **A caller hangs up while an offer crosses**: ``CallAbandoned`` while the
  call rings cancels the offers (``CancelOffer("caller-abandoned")``); an
  answer arriving after it is refused with ``UnknownCall``: hang up the leg.
- **An agent logs out while ringing**: the offer is withdrawn
  (``CancelOffer("agent-logged-out")``) and the call goes back to its place.
- **The same event delivered twice**: the second is refused by the state it
  finds (``NoSuchOffer``, ``UnknownCall``, ``InvalidAgentState``,
  ``DuplicateCall``) and changes nothing.
- **An action that cannot be performed**: the sink raises
  :class:`ActionFailed`; a failed ``Offer`` becomes ``OfferDeclined(reason=
  "unreachable")`` (the agent's miss, with its no-answer delay), a failed
  ``PlaceCallback`` becomes ``CallbackUnanswered``. Other failures are
  counted in :attr:`Runtime.failures` and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from .actions import Action, Offer, PlaceCallback
from .distributor import Distributor
from .errors import AcdError, InvalidValue
from .events import CallbackUnanswered, Event, OfferDeclined
from .metrics import Metrics
from .store import feed

__all__ = ["ActionFailed", "ActionSink", "Guard", "Recorder", "Result", "Runtime", "RuntimeFailed"]

log = logging.getLogger("acdcore.runtime")


class ActionFailed(Exception):
    """Raised by an :class:`ActionSink` when an action could not be performed
    (the agent's phone is unreachable, the callback could not be dialled)."""


class RuntimeFailed(RuntimeError):
    """The runtime stopped because recording or observing an entry failed
    (the journal's disk is full, a snapshot could not be written): the
    distributor may hold an entry the journal does not, so the runtime takes
    nothing more. Restart from the data directory. ``__cause__`` is the error."""


def _failed(cause: BaseException) -> RuntimeFailed:
    err = RuntimeFailed(f"the runtime stopped: {cause!r}")
    err.__cause__ = cause
    return err


class ActionSink(Protocol):
    """What an adapter gives the runtime: one coroutine that performs an action."""

    async def perform(self, action: Action) -> None:
        """Perform ``action`` on the switch; raise :class:`ActionFailed` if it failed."""
        ...


@attrs.frozen
class Result:
    """The outcome of one submitted event: ``accepted`` with its ``actions``,
    or refused with ``error`` (the distributor is unchanged)."""

    event: Event
    actions: tuple[Action, ...] = ()
    error: AcdError | None = None

    @property
    def accepted(self) -> bool:
        """True when the distributor accepted the event."""
        return self.error is None


@runtime_checkable
class Recorder(Protocol):
    """Where the runtime journals: a :class:`~acdcore.store.Store` (a data
    directory) or a :class:`~acdcore.replication.Primary` (Redis Streams, for
    a hot standby). Each method raising stops the runtime (fail-stop)."""

    def advance(self, now: float, actions: Sequence[Action] = ()) -> int:
        """Record an advance to ``now`` and its actions; the entry's number."""
        ...

    def event(self, event: Event, actions: Sequence[Action] = ()) -> int:
        """Record an accepted event and its actions; the entry's number."""
        ...

    def snapshot_due(self) -> bool:
        """True when a snapshot should be taken now."""
        ...

    def snapshot(self, distributor: Distributor, metrics: Metrics | None = None) -> int:
        """Snapshot the state after every entry recorded so far."""
        ...


_POKE = object()

Guard = Callable[[Distributor, Event], None]
"""A check run in the writer just before an event is applied (see :meth:`Runtime.submit`)."""


class Runtime:
    """Runs one :class:`~acdcore.Distributor` live (see the module docstring).

    ``clock`` returns the time in seconds (Unix time by default). ``observe``
    (optional) is called with each accepted event, and with ``None`` for
    each advance the runtime makes (one before every event, and one per timer
    firing), with their actions, in order, inside the writer task. Replaying
    what it saw gives the same decisions. ``store``: a recovered
    :class:`~acdcore.store.Store` (see :meth:`~acdcore.store.Store.recover`)
    to journal into and snapshot; the caller closes it after :meth:`stop`.
    ``metrics``: a :class:`~acdcore.metrics.Metrics` to keep up to date.
    Use ``async with Runtime(...)`` or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        distributor: Distributor,
        sink: ActionSink,
        *,
        clock: Callable[[], float] = time.time,
        observe: Callable[[Event | None, list[Action]], None] | None = None,
        store: Recorder | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if not isinstance(distributor, Distributor):
            raise InvalidValue(f"distributor must be a Distributor, got {distributor!r}")
        if store is not None and not isinstance(store, Recorder):
            raise InvalidValue(f"store must be a Store (or a Recorder), got {store!r}")
        if metrics is not None and not isinstance(metrics, Metrics):
            raise InvalidValue(f"metrics must be a Metrics, got {metrics!r}")
        self.distributor = distributor
        self.store = store
        self.metrics = metrics
        self._sink = sink
        self._clock = clock
        self._observe = observe
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._performing: set[asyncio.Task[None]] = set()
        self._running = False
        self._failure: BaseException | None = None
        self.failures = 0
        """Actions the sink could not perform that became no event."""

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the writer task (fires the deadlines already due)."""
        if self._writer is None:
            self._running = True
            self._writer = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Wait for the actions being performed (and the events their
        failures become), then stop the writer after the events submitted."""
        while self._performing:
            await asyncio.gather(*list(self._performing), return_exceptions=True)
        if self._writer is not None:
            await self._queue.put(None)
            await self._writer
            self._writer = None

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ interface

    def now(self) -> float:
        """The runtime's clock, never behind the distributor's."""
        return max(float(self._clock()), self.distributor.now)

    async def submit(self, event: Event, *, guard: Guard | None = None) -> Result:
        """Apply ``event`` at the runtime's clock, after everything submitted
        before it; return whether it was accepted, and its actions.

        ``guard(distributor, event)`` (optional) runs in the writer just
        before the event is applied, on the state it will meet: raising an
        :class:`~acdcore.errors.AcdError` (e.g.
        :class:`~acdcore.errors.NotPermitted`) refuses the event like any
        other refusal. A permission that depends on the state (is this agent
        on that call?) must be checked there, not when the request arrives:
        the events queued ahead of it may change the answer."""
        if not isinstance(event, Event):
            raise InvalidValue(f"not an acdcore event: {event!r}")
        self._require_running()
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, done, guard))
        return await done

    async def poke(self) -> None:
        """Make the writer look at the clock now (for an injected clock that
        was moved forward by a test); returns once it has."""
        self._require_running()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((_POKE, done, None))
        await done

    @property
    def failure(self) -> BaseException | None:
        """Why the runtime stopped (fail-stop), or ``None`` while it works."""
        return self._failure

    def _require_running(self) -> None:
        if self._failure is not None:
            raise _failed(self._failure)
        if not self._running:
            raise RuntimeError("the runtime is not running: start() it first")

    def view(self) -> dict[str, Any]:
        """The live picture a wallboard reads: the clock, the counts, each
        queue's waiting calls and the agents' states."""
        acd = self.distributor
        view: dict[str, Any] = {
            "now": acd.now,
            "counts": acd.counts(),
            "agents": acd.agent_states(),
            "queues": {name: acd.waiting(name) for name in acd.queues},
        }
        if self.metrics is not None:
            view["kpis"] = self.metrics.realtime(acd.now).to_dict()
        return view

    # ------------------------------------------------------------ the writer

    async def _run(self) -> None:
        try:
            await self._loop()
        except Exception as exc:  # fail-stop: nothing more is taken
            self._failure = exc
            self._running = False
            log.exception("the runtime stopped")
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None and not item[1].done():
                    item[1].set_exception(_failed(exc))

    async def _loop(self) -> None:
        acd = self.distributor
        loop = asyncio.get_running_loop()
        getter: asyncio.Task[Any] | None = None
        while True:
            self._fire_due()
            due = acd.next_deadline()
            timeout = None if due is None else max(0.0, due - self.now())
            if getter is None:  # one pending get at a time: an item is never lost
                getter = loop.create_task(self._queue.get())
            done, _ = await asyncio.wait({getter}, timeout=timeout)
            if not done:
                continue  # a deadline came: fire it at the top of the loop
            item, getter = getter.result(), None
            if item is None:
                self._running = False
                return
            event, done, guard = item
            try:
                if event is _POKE:
                    self._fire_due()
                    done.set_result(None)
                    continue
                result = self._apply(event, guard)
            except Exception as exc:
                if not done.done():
                    done.set_exception(_failed(exc))
                raise
            if not done.cancelled():
                done.set_result(result)

    def _fire_due(self) -> None:
        acd = self.distributor
        due = acd.next_deadline()
        now = self.now()
        if due is not None and due <= now:
            actions = acd.advance(now)
            self._emit(None, actions)

    def _apply(self, event: Event, guard: Guard | None = None) -> Result:
        acd = self.distributor
        now = self.now()
        stamped = attrs.evolve(event, now=now)
        actions = acd.advance(now)
        self._emit(None, actions)
        try:
            if guard is not None:
                guard(acd, stamped)
            out = acd.handle(stamped)
        except AcdError as exc:
            return Result(stamped, error=exc)
        self._emit(stamped, out)
        return Result(stamped, tuple(out))

    def _emit(self, event: Event | None, actions: list[Action]) -> None:
        acd, store = self.distributor, self.store
        if store is not None:  # journaled before anything is performed
            if event is None:
                store.advance(acd.now, actions)
            else:
                store.event(event, actions)
        if self.metrics is not None:
            feed(self.metrics, event, acd.now, actions)
        if self._observe is not None:
            self._observe(event, actions)
        loop = asyncio.get_running_loop()
        for action in actions:
            task = loop.create_task(self._perform(action))
            self._performing.add(task)
            task.add_done_callback(self._performing.discard)
        if store is not None and store.snapshot_due():
            store.snapshot(acd, self.metrics)

    async def _perform(self, action: Action) -> None:
        try:
            await self._sink.perform(action)
        except ActionFailed as exc:
            follow: Event | None = None
            if isinstance(action, Offer):
                follow = OfferDeclined(
                    now=0, call_id=action.call_id, agent_id=action.agent_id, reason="unreachable"
                )
            elif isinstance(action, PlaceCallback):
                follow = CallbackUnanswered(now=0, call_id=action.call_id)
            if follow is None:
                self.failures += 1
                log.warning("could not perform %r: %s", action, exc)
                return
            result = await self.submit(follow)
            if not result.accepted:  # the offer ended meanwhile: nothing to undo
                log.info("%r failed after its offer ended: %s", action, result.error)
        except Exception:  # a bug in the sink must not kill the runtime
            self.failures += 1
            log.exception("the sink raised performing %r", action)
