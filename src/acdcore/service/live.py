"""The live service: one runtime over a data directory, and what it has done.

:class:`LiveService` is what the app's routes talk to. :meth:`~LiveService.start`
builds the distributor and metrics from the configuration, recovers them
from the data directory (journal and snapshots), and starts the
:class:`~acdcore.runtime.Runtime` with that store; every journal entry is
then published to the stream's subscribers (:class:`~acdcore.service.stream.Hub`)
as it is journaled, before its actions are performed. The runtime's sink
does nothing more: the switch adapter is a subscriber like any other (it
reads the actions from the stream and reports what happened with events).
:meth:`~LiveService.stop` stops the runtime, ends the streams and closes
the store.

It also counts what Prometheus and the health route report: events
applied and refused (by error), events waiting to be applied, requests by
route and status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence

from ..actions import Action
from ..events import Event
from ..runtime import Guard, Result, Runtime, RuntimeFailed
from ..store import Recovery, Store
from .config import ServiceConfig
from .errors import ServiceError
from .stream import Hub, scan_journal

__all__ = ["LiveService"]

log = logging.getLogger("acdcore.service")

_REMEMBERED = 10_000  # accepted events whose journal number a submitter may still ask for


class _Published:
    """The runtime's sink: actions are already published to the stream when
    they are journaled, so performing one here is nothing more."""

    async def perform(self, action: Action) -> None:
        """Nothing: subscribers (the switch adapter) perform the actions."""


class LiveService:
    """One runtime over ``config``'s data directory (see the module
    docstring). ``clock`` is the runtime's (Unix seconds by default)."""

    def __init__(self, config: ServiceConfig, *, clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self.hub = Hub(config.limits.stream_buffer, config.limits.stream_queue)
        self.distributor, self.metrics = config.build()
        self.store: Store | None = None
        self.runtime: Runtime | None = None
        self.recovery: Recovery | None = None
        self.failure: BaseException | None = None
        self._clock = clock or time.time
        self._seq_of: OrderedDict[int, int] = OrderedDict()
        self.applied = 0
        """Events accepted since the start."""
        self.refused: Counter[str] = Counter()
        """Events refused since the start, by error name."""
        self.pending = 0
        """Events submitted and not yet applied."""
        self.requests: Counter[tuple[str, int]] = Counter()
        """HTTP requests by route and status."""
        self.started = time.time()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Recover from the data directory and start the runtime. Raises
        :class:`~acdcore.store.StoreError` when the directory cannot be
        recovered (built by another configuration, a gap in its journal)."""
        cfg = self.config
        # Fresh every start: recovery loads the data directory into a fresh
        # distributor (an app started again after a stop recovers again).
        self.distributor, self.metrics = cfg.build()
        store = Store(
            cfg.data_dir,
            flush=cfg.flush,
            snapshot_every=cfg.snapshot_every,
            snapshot_seconds=cfg.snapshot_seconds,
        )
        begun = time.monotonic()
        try:
            self.recovery = await asyncio.to_thread(store.recover, self.distributor, self.metrics)
        except Exception as exc:
            log.error("cannot recover", extra={"data_dir": str(cfg.data_dir), "error": str(exc)})
            raise
        self.store = store
        try:
            _, concerns, _ = await asyncio.to_thread(scan_journal, store.directory, store.next_seq)
            concerns.align(self.distributor, self.metrics.realtime().agent_states)
            self.hub.open(store.directory, store.next_seq, concerns)
            self.runtime = Runtime(
                self.distributor,
                _Published(),
                clock=self._clock,
                observe=self._observe,
                store=store,
                metrics=self.metrics,
            )
            await self.runtime.start()
        except BaseException:
            self.runtime = None
            self.store = None
            store.close()
            raise
        for warning in self.recovery.warnings:
            log.warning("recovery: %s", warning, extra={"data_dir": str(cfg.data_dir)})
        log.info(
            "recovered",
            extra={
                "data_dir": str(cfg.data_dir),
                "snapshot": self.recovery.snapshot,
                "replayed": self.recovery.replayed,
                "next_seq": store.next_seq,
                "torn": self.recovery.torn,
                "seconds": round(time.monotonic() - begun, 3),
            },
        )

    async def stop(self) -> None:
        """Stop the runtime (after the events already submitted), end the
        streams and close the store."""
        runtime, self.runtime = self.runtime, None
        try:
            if runtime is not None:
                await runtime.stop()
        finally:
            self.hub.close()
            if self.store is not None:
                self.store.close()
                self.store = None
            log.info("stopped", extra={"applied": self.applied})

    # ------------------------------------------------------------ the runtime

    def _observe(self, event: Event | None, actions: Sequence[Action]) -> None:
        assert self.store is not None
        seq = self.store.next_seq - 1  # the runtime journals the entry just before
        if event is not None:
            self._seq_of[id(event)] = seq
            if len(self._seq_of) > _REMEMBERED:
                self._seq_of.popitem(last=False)
        self.hub.publish(seq, event, actions, live=lambda: self.distributor)

    def running(self) -> Runtime:
        """The runtime, or ``503`` when it has stopped or is not started."""
        if self.failure is not None:
            raise ServiceError(
                503, "RuntimeFailed", f"the runtime stopped: {self.failure}; restart the service"
            )
        if self.runtime is None:
            raise ServiceError(503, "ServiceUnavailable", "the service is not running")
        return self.runtime

    def now(self) -> float:
        """The runtime's clock (never behind the distributor's)."""
        return self.runtime.now() if self.runtime is not None else self.distributor.now

    async def submit(self, event: Event, guard: Guard | None = None) -> tuple[Result, int | None]:
        """Apply ``event`` (``guard``: checked just before, see
        :meth:`~acdcore.runtime.Runtime.submit`); its result and, when
        accepted, the number of its journal entry. ``503`` when the runtime
        has stopped."""
        runtime = self.running()
        self.pending += 1
        try:
            result = await runtime.submit(event, guard=guard)
        except RuntimeFailed as exc:
            self.failure = exc.__cause__ or exc
            log.error("the runtime stopped", extra={"error": repr(self.failure)})
            raise ServiceError(
                503, "RuntimeFailed", f"the runtime stopped: {self.failure}; restart the service"
            ) from None
        except RuntimeError as exc:  # stopping
            raise ServiceError(503, "ServiceUnavailable", str(exc)) from None
        finally:
            self.pending -= 1
        if result.error is not None:
            self.refused[type(result.error).__name__] += 1
            return result, None
        self.applied += 1
        return result, self._seq_of.pop(id(result.event), None)

    async def check(self, timeout: float = 2.0) -> None:
        """Make sure the runtime's writer answers within ``timeout`` seconds
        (it also fires the deadlines due); ``503`` otherwise."""
        runtime = self.running()
        try:
            await asyncio.wait_for(runtime.poke(), timeout)
        except RuntimeFailed as exc:
            self.failure = exc.__cause__ or exc
            raise ServiceError(
                503, "RuntimeFailed", f"the runtime stopped: {self.failure}"
            ) from None
        except TimeoutError:
            raise ServiceError(
                503, "ServiceUnavailable", f"the runtime did not answer within {timeout:g} s"
            ) from None
        except RuntimeError as exc:
            raise ServiceError(503, "ServiceUnavailable", str(exc)) from None

    def journal_lag(self) -> int:
        """Entries journaled since the last snapshot: what a restart replays."""
        if self.store is None:
            return 0
        snapshots = self.store.snapshots()
        return self.store.next_seq - (snapshots[-1] if snapshots else 0)
