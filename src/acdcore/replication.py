"""A hot standby on Redis Streams: one primary journals to Redis, standbys follow.

acdcore's core is deterministic, so a second process that applies the same
journal entries in the same order holds the same state. This module ships
the runtime's journal to a Redis stream and lets standbys follow it, with a
lease in Redis deciding who is primary:

- :class:`Primary` is what a primary's :class:`~acdcore.runtime.Runtime`
  journals into (``store=``): every entry is appended to the stream by a
  Lua script that first checks the lease holds this primary's token, in one
  atomic step. The runtime journals an entry *before* it performs its
  actions, so a primary that lost the lease fails its next append, the
  runtime stops (fail-stop), and the actions of that entry are never
  performed: **fencing** happens in Redis, on the same write that records
  the entry. A primary also stops by itself once its lease may have
  expired (its local clock, ``ttl`` after its last successful renewal).
- :class:`Standby` loads the last snapshot, follows the stream (applying
  each entry and checking that it gives the recorded actions), and when the
  lease is free takes it (:meth:`Standby.promote`): it reads every entry the
  old primary appended, then returns a :class:`Primary` with a new epoch.
  The caller then starts a runtime on it, which arms the deadlines due.

Keys, under ``name`` (default ``"acdcore"``):

======================  ==================================================
``<name>:leader``       the lease: ``"<epoch>:<node>"``, expiring after ``ttl``
``<name>:epoch``        the last epoch handed out (``INCR``)
``<name>:journal``      the stream: one entry per journal entry, fields
                        ``s`` (its number) and ``e`` (the journal line)
``<name>:snapshot``     the last snapshot: ``seq`` (the next entry number),
                        ``doc`` (the snapshot document), ``id`` (the stream
                        id of the last entry it includes)
======================  ==================================================

The stream is trimmed to the entries after the previous snapshot, so a
standby that lags by less than one snapshot interval always finds what it
needs. Durability: Redis acknowledges an append once it is in its memory;
with ``appendonly yes`` and ``appendfsync always`` it is on disk first. Redis
replication is asynchronous: a Redis failover can lose the last entries the
primary acknowledged (``WAIT`` after each append narrows that; see
docs/standby.md).

Costs: one round trip to Redis per journal entry (the runtime journals an
advance before every event, so about two per event).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from .actions import Action
from .distributor import Distributor
from .errors import AcdError, InvalidValue
from .events import Event
from .journal import entry_line, parse_entry
from .metrics import Metrics
from .snapshots import dumps, loads, restore, save
from .store import StoreError, reapply
from .values import check_number

__all__ = ["Fenced", "Primary", "ReplicationError", "Standby", "describe"]

try:  # the optional dependency: pip install acdcore[standby]
    import redis
except ImportError:  # pragma: no cover - exercised where redis-py is absent
    redis = None  # type: ignore[assignment]


class ReplicationError(AcdError):
    """The stream cannot give a state: a gap in the entry numbers, an entry
    that replays to other actions than recorded, or an unreadable snapshot."""


class Fenced(ReplicationError):
    """This primary no longer holds the lease: another node took over (or
    its lease may have expired). It must not act; the runtime stops."""


# Append entry ARGV[2] if and only if the lease still holds our token and it
# is the next entry (KEYS[3]): a client's retry of an append whose answer was
# lost finds it done (DUP) instead of writing it twice.
_APPEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED the lease is not ' .. ARGV[1])
end
local expected = tonumber(redis.call('GET', KEYS[3]) or '0')
local seq = tonumber(ARGV[2])
if seq == expected - 1 then return 'DUP' end
if seq ~= expected then
  return redis.error_reply('SEQ entry ' .. ARGV[2] .. ' is not the next, ' .. expected)
end
redis.call('SET', KEYS[3], expected + 1)
return redis.call('XADD', KEYS[2], '*', 's', ARGV[2], 'e', ARGV[3])
"""

# Extend the lease if it is still ours.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# Give the lease up if it is still ours (a clean stop).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Store a snapshot and trim the stream to the previous snapshot's entries.
_SNAPSHOT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED the lease is not ' .. ARGV[1])
end
local previous = redis.call('HGET', KEYS[2], 'id')
redis.call('HSET', KEYS[2], 'seq', ARGV[2], 'id', ARGV[3], 'doc', ARGV[4])
if previous then
  redis.call('XTRIM', KEYS[3], 'MINID', previous)
end
return 1
"""


def _require_redis() -> None:
    if redis is None:
        raise ImportError("the hot standby needs redis-py: pip install 'acdcore[standby]'")


MIN_TTL = 0.1
"""The shortest lease accepted, in seconds."""


class _Keys:
    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidValue(f"name must be a non-empty string, got {name!r}")
        self.leader = f"{name}:leader"
        self.epoch = f"{name}:epoch"
        self.journal = f"{name}:journal"
        self.snapshot = f"{name}:snapshot"
        self.next = f"{name}:next"


class Primary:
    """The primary's journal in Redis: pass it to the runtime as ``store``.

    ``epoch`` identifies this primary's term: adapters may put it in what
    they send the switch, so that a switch can refuse a deposed primary's
    commands (see docs/standby.md). Appends are fenced (see the module
    docstring); :meth:`renew` must be called at least every ``ttl / 3``
    seconds (:meth:`keep` does it in asyncio). Cost per entry: one Lua call.
    """

    def __init__(
        self,
        client: Any,
        keys: _Keys,
        *,
        token: str,
        epoch: int,
        next_seq: int,
        last_id: str,
        ttl: float,
        snapshot_every: int,
        renewed: float,
    ) -> None:
        self._r = client
        self._keys = keys
        self.token = token
        self.epoch = epoch
        self._seq = next_seq
        self.last_id = last_id
        """The stream id of the last entry appended (or followed)."""
        self.ttl = ttl
        self._valid_until = renewed + ttl * 0.8
        self._append = client.register_script(_APPEND)
        self._renew = client.register_script(_RENEW)
        self._snap = client.register_script(_SNAPSHOT)
        self._every = snapshot_every
        self._since = 0
        self.appended = 0
        self.dead = False
        """True once an append or a lease check failed: the lease is then
        never renewed again, and :meth:`keep` gives it up."""
        # Renewals run on a thread of their own: a busy default executor
        # must not delay them.
        self._renewer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lease")

    @property
    def next_seq(self) -> int:
        """The number the next entry will get."""
        return self._seq

    def valid(self) -> bool:
        """Whether this primary may still act: its lease, by its own clock,
        cannot have lapsed. An adapter may check it before sending an
        action (see docs/standby.md)."""
        return not self.dead and time.monotonic() < self._valid_until

    def _check_lease(self) -> None:
        if not self.valid():
            self.dead = True
            raise Fenced(f"the lease of {self.token} may have expired: stopping")

    def _fenced(self, script: Any, what: str, **call: Any) -> Any:
        """Run one of the lease-checking scripts. Any failure kills this
        primary (no renewal after it); a refused lease is :class:`Fenced`."""
        try:
            return script(**call)
        except redis.exceptions.ResponseError as exc:
            self.dead = True
            if "FENCED" in str(exc):
                raise Fenced(f"{self.token} was deposed: {exc}") from None
            raise ReplicationError(f"{what}: {exc}") from None
        except BaseException:
            self.dead = True
            raise

    def _put(self, line: str) -> int:
        self._check_lease()
        answer = _text(
            self._fenced(
                self._append,
                f"entry {self._seq} was not appended",
                keys=[self._keys.leader, self._keys.journal, self._keys.next],
                args=[self.token, self._seq, line],
            )
        )
        if answer != "DUP":
            self.last_id = answer
        # The lease may have lapsed while the append was on its way (a pause
        # after the check): the entry is recorded, but not acted on.
        self._check_lease()
        seq = self._seq
        self._seq += 1
        self._since += 1
        self.appended += 1
        return seq

    def advance(self, now: float, actions: Sequence[Action] = ()) -> int:
        """Append an advance to ``now`` and its actions; its entry number."""
        return self._put(entry_line(self._seq, None, now, actions))

    def event(self, event: Event, actions: Sequence[Action] = ()) -> int:
        """Append an accepted event and its actions; its entry number."""
        return self._put(entry_line(self._seq, event, 0.0, actions))

    def has_snapshot(self) -> bool:
        """Whether Redis holds a snapshot (a standby can start from it)."""
        return bool(self._r.exists(self._keys.snapshot))

    def snapshot_due(self) -> bool:
        """True every ``snapshot_every`` entries."""
        return self._since >= self._every

    def snapshot(self, distributor: Distributor, metrics: Metrics | None = None) -> int:
        """Store a snapshot of the state after every entry so far (and trim
        the stream to the entries after the previous snapshot)."""
        self._check_lease()
        doc = dumps(save(distributor, metrics=metrics))
        self._fenced(
            self._snap,
            "the snapshot was not stored",
            keys=[self._keys.leader, self._keys.snapshot, self._keys.journal],
            args=[self.token, self._seq, self.last_id, doc],
        )
        self._since = 0
        return self._seq

    def renew(self) -> bool:
        """Extend the lease; False (and every later append refused) when it
        is no longer ours. Call it at least every ``ttl / 3`` seconds."""
        sent = time.monotonic()
        try:
            ok = bool(
                self._renew(keys=[self._keys.leader], args=[self.token, int(self.ttl * 1000)])
            )
        except redis.exceptions.RedisError:
            return False
        if ok:
            self._valid_until = sent + self.ttl * 0.8
        else:
            self._valid_until = 0.0
        return ok

    def release(self) -> None:
        """Give the lease up (a clean stop, or this primary failed), so that
        a standby takes over at once; after this every append is refused."""
        self.dead = True
        self._valid_until = 0.0
        with contextlib.suppress(redis.exceptions.RedisError):  # else it expires by itself
            self._r.eval(_RELEASE, 1, self._keys.leader, self.token)

    async def keep(self, alive: Callable[[], bool] | None = None) -> None:
        """Renew the lease every ``ttl / 4`` seconds while this primary
        works and ``alive()`` (optional: e.g. "the runtime has not
        stopped") says so. When either stops, give the lease up at once (so
        a standby need not wait for it to lapse) and return."""
        loop = asyncio.get_running_loop()
        try:
            while not self.dead and (alive is None or alive()):
                await asyncio.sleep(self.ttl / 4)
                if self.dead or (alive is not None and not alive()):
                    break
                ok = await loop.run_in_executor(self._renewer, self.renew)
                if not ok and not self.valid():
                    break
        finally:
            await loop.run_in_executor(self._renewer, self.release)

    def close(self) -> None:
        """Nothing to flush (every append is already in Redis); stops the
        renewal thread."""
        self._renewer.shutdown(wait=False)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Standby:
    """Follows a primary's stream into ``distributor`` (fresh, built as the
    primary's was) and ``metrics``; takes over with :meth:`promote`.

    ``client``: a ``redis.Redis``. ``node``: this process's name, shown as
    the leader's. Use :meth:`load` once, then :meth:`poll` in a loop.
    Cost: one ``XREAD`` per poll, and per entry what a replay costs.
    """

    def __init__(
        self,
        client: Any,
        distributor: Distributor,
        *,
        metrics: Metrics | None = None,
        name: str = "acdcore",
        node: str = "node",
    ) -> None:
        _require_redis()
        self._r = client
        self._keys = _Keys(name)
        self.distributor = distributor
        self.metrics = metrics
        self.node = node
        self.next_seq = 0
        self.last_id = "0-0"
        self.applied = 0
        self.lag = 0.0
        """Seconds between the primary's append and this standby's apply,
        for the last entry applied (from the stream id's milliseconds)."""

    def load(self) -> int | None:
        """Restore the last snapshot in Redis, if any; its entry number."""
        data = self._r.hgetall(self._keys.snapshot)
        if not data:
            return None
        fields = {_text(k): _text(v) for k, v in data.items()}
        try:
            restore(loads(fields["doc"]), self.distributor, metrics=self.metrics)
        except (KeyError, InvalidValue, ValueError) as exc:
            raise ReplicationError(f"the snapshot in Redis cannot be restored: {exc}") from None
        self.next_seq = int(fields["seq"])
        self.last_id = fields["id"]
        return self.next_seq

    def poll(self, block_ms: int | None = None, count: int = 1000) -> int:
        """Apply the entries appended since the last poll (waiting up to
        ``block_ms`` for one when there are none); how many were applied."""
        reply = self._r.xread({self._keys.journal: self.last_id}, count=count, block=block_ms)
        n = 0
        for _stream, entries in reply or []:
            for sid, fields in entries:
                self._apply(_text(sid), fields)
                n += 1
        return n

    def _apply(self, sid: str, fields: dict[Any, Any]) -> None:
        values = {_text(k): _text(v) for k, v in fields.items()}
        try:
            entry = parse_entry(values["e"], self.next_seq)
        except (KeyError, InvalidValue, ValueError) as exc:
            raise ReplicationError(
                f"stream entry {sid}: {exc} (a standby that fell behind the trimmed stream "
                "must be restarted: it then starts from the last snapshot)"
            ) from None
        try:
            reapply(entry, self.distributor, self.metrics)
        except StoreError as exc:
            raise ReplicationError(str(exc)) from None
        self.next_seq += 1
        self.last_id = sid
        self.applied += 1
        self.lag = max(0.0, time.time() - int(sid.split("-", 1)[0]) / 1000)

    def leader(self) -> str | None:
        """The lease's holder (``"<epoch>:<node>"``), or None when free."""
        value = self._r.get(self._keys.leader)
        return None if value is None else _text(value)

    def promote(self, *, ttl: float = 2.0, snapshot_every: int = 10_000) -> Primary | None:
        """Take the lease if it is free: then read every entry the previous
        primary appended and return this node's :class:`Primary` (a new
        epoch), its lease renewed after the catch-up. ``None``: another node
        holds the lease (or took it while this one caught up)."""
        check_number(ttl, "ttl")
        if ttl < MIN_TTL:
            raise InvalidValue(f"ttl must be at least {MIN_TTL} s, got {ttl!r}")
        if isinstance(snapshot_every, bool) or not isinstance(snapshot_every, int):
            raise InvalidValue(f"snapshot_every must be an int >= 1, got {snapshot_every!r}")
        if snapshot_every < 1:
            raise InvalidValue(f"snapshot_every must be an int >= 1, got {snapshot_every!r}")
        if self._r.exists(self._keys.leader):
            return None
        epoch = int(self._r.incr(self._keys.epoch))
        token = f"{epoch}:{self.node}"
        sent = time.monotonic()
        taken = self._r.set(self._keys.leader, token, nx=True, px=int(ttl * 1000))
        # A client that retried a SET whose answer was lost finds it its own.
        if not taken and _text(self._r.get(self._keys.leader) or b"") != token:
            return None
        # Nothing can be appended now but by us: the stream is complete.
        while self.poll(count=10_000):
            pass
        primary = Primary(
            self._r,
            self._keys,
            token=token,
            epoch=epoch,
            next_seq=self.next_seq,
            last_id=self.last_id,
            ttl=ttl,
            snapshot_every=snapshot_every,
            renewed=sent,
        )
        # The catch-up took time out of the lease: renew it before acting, and
        # say where the next entry goes (only the lease holder writes it).
        if not primary.renew():
            primary.close()
            return None
        self._r.set(self._keys.next, self.next_seq)
        return primary


def describe(client: Any, name: str = "acdcore") -> dict[str, Any]:
    """What a wallboard shows: the leader (``None`` when the lease is free),
    the last epoch, and the stream's length."""
    keys = _Keys(name)
    leader = client.get(keys.leader)
    epoch = client.get(keys.epoch)
    return {
        "leader": None if leader is None else _text(leader),
        "epoch": 0 if epoch is None else int(epoch),
        "journal": int(client.xlen(keys.journal)),
    }
