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

With ``[service.replication]`` (a hot standby, :mod:`acdcore.replication`)
the journal of record is a Redis stream: the node follows it (a
**standby**: views answer, events are refused with 503 naming the
primary) and takes the lease when it is free, or at once when started as
the primary. A primary journals every entry to Redis first (fenced by the
lease), then to its data directory, which it starts over at the entry it
took over at: the directory holds this term's history for the streams.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from ..actions import Action
from ..distributor import Distributor
from ..events import Event
from ..metrics import Metrics
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


class _Tee:
    """A primary's journal: Redis first (fenced: a deposed primary's entry
    is refused before anything else happens), then the data directory."""

    def __init__(self, primary: Any, store: Store) -> None:
        self.primary = primary
        self.store = store

    def advance(self, now: float, actions: Sequence[Action] = ()) -> int:
        self.primary.advance(now, actions)
        return self.store.advance(now, actions)

    def event(self, event: Event, actions: Sequence[Action] = ()) -> int:
        self.primary.event(event, actions)
        return self.store.event(event, actions)

    def snapshot_due(self) -> bool:
        return bool(self.store.snapshot_due() or self.primary.snapshot_due())

    def snapshot(self, distributor: Distributor, metrics: Metrics | None = None) -> int:
        self.primary.snapshot(distributor, metrics)
        return self.store.snapshot(distributor, metrics)


class LiveService:
    """One runtime over ``config``'s data directory (see the module
    docstring). ``clock`` is the runtime's (Unix seconds by default).
    ``standby``: with replication configured, start as a standby (follow,
    and take over when the lease is free) rather than as the primary."""

    def __init__(
        self,
        config: ServiceConfig,
        *,
        clock: Callable[[], float] | None = None,
        standby: bool = False,
    ) -> None:
        self.config = config
        self.standby = standby
        self.role = "primary" if config.replication is None else "starting"
        """``"primary"``, ``"standby"`` or ``"starting"``."""
        self.epoch: int | None = None
        self._node: Any = None  # the replication.Standby following Redis
        self._primary: Any = None
        self._leader: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
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
        recovered (built by another configuration, a gap in its journal).
        With replication: catch up with Redis, then take the lease (or
        follow, as a standby); ``ServiceError`` when started as the primary
        while another node holds the lease."""
        if self.config.replication is not None:
            await self._start_replicated()
            return
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

    # ------------------------------------------------------------ replication

    def replication(self) -> dict[str, Any] | None:
        """What the health route and the wallboard show: this node, its
        role, the lease's holder (as last seen: no Redis call here) and the
        epoch; ``None`` without replication."""
        rep = self.config.replication
        if rep is None:
            return None
        out: dict[str, Any] = {
            "node": rep.node,
            "role": self.role,
            "leader": self._leader,
            "epoch": self.epoch,
        }
        if self._node is not None:
            out["next_seq"] = self._node.next_seq
        if self._primary is not None:
            out["lease_valid"] = self._primary.valid()
        return out

    async def _start_replicated(self) -> None:
        try:
            import redis
        except ImportError:
            raise ServiceError(
                503,
                "MissingDependency",
                "replication needs redis-py: pip install 'acdcore[standby]'",
            ) from None
        from ..replication import Standby

        rep = self.config.replication
        assert rep is not None
        self.distributor, self.metrics = self.config.build()
        # Short timeouts: a Redis out of reach must not hold the event loop
        # (every journal entry is a Redis call) for longer than a lease can
        # wait; and no client retries: an append is made once, or refused.
        client = redis.Redis.from_url(
            rep.redis_url, socket_timeout=rep.ttl / 4, socket_connect_timeout=rep.ttl / 4
        )
        node = Standby(client, self.distributor, metrics=self.metrics, name=rep.name, node=rep.node)
        await asyncio.to_thread(node.load)
        while await asyncio.to_thread(node.poll):  # nobody reads the state yet
            pass
        self._node = node
        self._leader = await asyncio.to_thread(node.leader)
        if node.next_seq == 0 and await asyncio.to_thread(self._seed_from_directory, node):
            log.info("seeded Redis from the data directory", extra={"next_seq": node.next_seq})
        if not self.standby:
            primary = node.promote(ttl=rep.ttl, snapshot_every=self.config.snapshot_every)
            if primary is None:
                raise ServiceError(
                    503,
                    "LeaseHeld",
                    f"another primary ({node.leader()}) holds the lease: start this node "
                    "as a standby (acdcore serve --standby)",
                )
            await self._become_primary(primary)
            return
        self.role = "standby"
        log.info("following", extra={"node": rep.node, "next_seq": node.next_seq})
        self._spawn(self._follow())

    def _seed_from_directory(self, node: Any) -> bool:
        """Redis holds no journal, but the data directory may (replication
        switched on for a running deployment, or a Redis that lost its
        data): recover it, so that this node starts from it rather than
        from nothing. Returns whether there was anything to recover."""
        cfg = self.config
        store = Store(cfg.data_dir, snapshot_seconds=None)
        if not store.snapshots() and not store.segments():
            return False
        recovery = store.recover(self.distributor, self.metrics)
        store.close()
        node.next_seq = recovery.next_seq
        return recovery.next_seq > 0

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.failure = task.exception()
            log.error("replication stopped", extra={"error": repr(self.failure)})

    async def _follow(self) -> None:
        """A standby's loop: apply what the primary appends, and take the
        lease when it is free. Entries are applied in the event loop (no
        thread), so views never see one half applied; each poll is one
        short Redis call (no blocking read)."""
        import redis

        rep = self.config.replication
        assert rep is not None and self._node is not None
        node = self._node
        while True:
            try:
                node.poll()
                self._leader = node.leader()
                primary = node.promote(ttl=rep.ttl, snapshot_every=self.config.snapshot_every)
            except redis.exceptions.RedisError as exc:
                self._leader = None
                log.warning("Redis out of reach", extra={"error": str(exc)})
                await asyncio.sleep(rep.ttl / 4)
                continue
            if primary is not None:
                await self._become_primary(primary)
                return
            await asyncio.sleep(min(0.05, rep.ttl / 8))

    async def _become_primary(self, primary: Any) -> None:
        """Start the runtime on this node: the data directory starts over at
        the entry the node took over at, from the state it followed."""
        cfg = self.config
        store = Store(
            cfg.data_dir,
            flush=cfg.flush,
            snapshot_every=cfg.snapshot_every,
            snapshot_seconds=cfg.snapshot_seconds,
        )
        acd, metrics = cfg.build()

        def prepare() -> tuple[Recovery, Any]:
            store.restart_at(primary.next_seq, self.distributor, self.metrics)
            recovery = store.recover(acd, metrics)
            _, concerns, _ = scan_journal(store.directory, store.next_seq)
            return recovery, concerns

        recovery, concerns = await asyncio.to_thread(prepare)
        if store.next_seq != primary.next_seq:
            store.close()
            raise ServiceError(
                503,
                "ReplicationError",
                f"the data directory recovers to entry {store.next_seq}, Redis to "
                f"{primary.next_seq}",
            )
        if primary.next_seq > 0 and not await asyncio.to_thread(self._redis_has_snapshot, primary):
            await asyncio.to_thread(primary.snapshot, acd, metrics)  # what a standby starts from
        if not await asyncio.to_thread(primary.renew):  # the disk work took lease time
            store.close()
            raise ServiceError(503, "LeaseLost", "the lease lapsed while taking over")
        self.distributor, self.metrics = acd, metrics
        self.recovery = recovery
        self.store = store
        concerns.align(self.distributor, self.metrics.realtime().agent_states)
        self.hub.open(store.directory, store.next_seq, concerns)
        self._primary = primary
        self.epoch = primary.epoch
        self._leader = primary.token
        self.runtime = Runtime(
            self.distributor,
            _Published(),
            clock=self._clock,
            observe=self._observe,
            store=_Tee(primary, store),
            metrics=self.metrics,
        )
        await self.runtime.start()
        self.role = "primary"
        runtime = self.runtime
        self._spawn(primary.keep(alive=lambda: runtime.failure is None))
        log.info(
            "primary",
            extra={"node": primary.token, "epoch": primary.epoch, "next_seq": store.next_seq},
        )

    @staticmethod
    def _redis_has_snapshot(primary: Any) -> bool:
        return bool(primary.has_snapshot())

    async def stop(self) -> None:
        """Stop the runtime (after the events already submitted), end the
        streams and close the store."""
        runtime, self.runtime = self.runtime, None
        try:
            if runtime is not None:  # the events already submitted are journaled first
                await runtime.stop()
        finally:
            for task in list(self._tasks):  # the lease keeper gives the lease up
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._primary is not None:
                self._primary.release()  # a standby need not wait for the lease to lapse
                self._primary.close()
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
            if self.role == "standby":
                raise ServiceError(
                    503, "Standby", f"this node is a standby; the primary is {self._leader}"
                )
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
