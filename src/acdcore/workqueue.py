"""A queue of waiting work in its priority policy's order, usable on its own.

:class:`Queue` holds hashable items (ticket ids, call records, ...) sorted by
the key a :class:`~acdcore.policies.PriorityPolicy` gives them when they are
put in; the key never changes while an item waits, so nothing is re-sorted
as time passes. It is the container the distributor's queues are made of,
with both implementations behind it:

- ``python``: a :class:`sortedcontainers.SortedDict` keyed by the sort key;
- ``native``: an order-statistic treap in C (``_native/acd_queue.c``) keyed by
  the same numbers as doubles (exact: keys hold integers within +-2**53 and
  finite floats only), holding int handles.

Both give the same answers for the same calls; neither depends on hashing
order. Identity inside the queue is the queue's own insertion sequence number
(never the item's value), so equal-looking items are told apart and ties are
impossible: every key ends with a sequence number.

Complexity (n waiting items): :meth:`Queue.insert`, :meth:`Queue.insert_key`,
:meth:`Queue.remove`, :meth:`Queue.pop`, :meth:`Queue.position` and
:meth:`Queue.ahead` O(log n); :meth:`Queue.head`, :meth:`Queue.key`,
``len`` and ``in`` O(1); iteration O(n) overall (O(log n) to start).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Hashable, Iterator, Mapping
from itertools import pairwise
from typing import Any, Generic, Protocol, TypeVar

from sortedcontainers import SortedDict

from . import backend as _backend
from .errors import AcdError, ConfigError, DuplicateItem, InvalidValue, UnknownItem
from .policies import FIFO, CallFacts, PriorityPolicy, SortKey
from .skills import check_instant, freeze_mapping
from .values import EXACT, check_number, show

__all__ = ["KEY_LENGTH", "Queue", "check_key"]

KEY_LENGTH = 6
"""The most numbers a sort key may hold (the native backend's fixed width)."""

T = TypeVar("T", bound=Hashable)

_CHUNK = 64  # handles fetched at a time while iterating


def check_key(key: object, what: str = "sort key") -> SortKey:
    """Return ``key`` if it is a usable sort key, else raise
    :class:`~acdcore.errors.InvalidValue` naming ``what``.

    A sort key is a tuple of 1 to :data:`KEY_LENGTH` numbers: ints (not
    bools) within +-2**53 and finite floats, so that every backend compares
    them exactly; the last one is an int, the item's sequence number, so no
    two keys tie. Cost: O(:data:`KEY_LENGTH`).
    """
    if type(key) is not tuple or not 1 <= len(key) <= KEY_LENGTH:
        raise InvalidValue(f"{what} must be a tuple of 1 to {KEY_LENGTH} numbers, got {show(key)}")
    for x in key:
        if type(x) is float:
            if x - x != 0.0:  # nan or inf
                raise InvalidValue(f"{what} {show(key)} holds {show(x)}; numbers must be finite")
        elif isinstance(x, bool) or not isinstance(x, (int, float)):
            raise InvalidValue(f"{what} {show(key)} holds {show(x)}, which is not a number")
        elif isinstance(x, int) and not -EXACT <= x <= EXACT:
            raise InvalidValue(f"{what} {show(key)} holds an int beyond +-2**53")
        elif isinstance(x, float) and not math.isfinite(x):
            raise InvalidValue(f"{what} {show(key)} holds {show(x)}; numbers must be finite")
    last = key[-1]
    if isinstance(last, bool) or not isinstance(last, int):
        raise InvalidValue(
            f"{what} {show(key)} must end with an int sequence number, not {show(last)}"
        )
    return key


class _Order(Protocol):
    """What a backend keeps: distinct keys in order, each with an int handle."""

    def add(self, key: SortKey) -> int: ...
    def discard(self, handle: int, key: SortKey) -> None: ...
    def rank(self, key: SortKey) -> int: ...
    def index(self, handle: int, key: SortKey) -> int: ...
    def first(self) -> int: ...
    def handles(self, start: int, count: int) -> list[int]: ...
    def __len__(self) -> int: ...
    def check(self) -> None: ...


class _PyOrder:
    """The reference: a SortedDict from key to handle."""

    def __init__(self) -> None:
        self._map = SortedDict()
        self._next = 0

    def add(self, key: SortKey) -> int:
        handle = self._next
        self._next += 1
        self._map[key] = handle
        return handle

    def discard(self, handle: int, key: SortKey) -> None:
        del self._map[key]

    def rank(self, key: SortKey) -> int:
        return int(self._map.bisect_left(key))

    def index(self, handle: int, key: SortKey) -> int:
        return int(self._map.index(key))

    def first(self) -> int:
        if not self._map:
            return -1
        return int(self._map.peekitem(0)[1])

    def handles(self, start: int, count: int) -> list[int]:
        return list(self._map.values()[start : start + count])

    def __len__(self) -> int:
        return len(self._map)

    def check(self) -> None:
        self._map._check()
        if any(a >= b for a, b in pairwise(self._map.keys())):
            raise AssertionError("python queue: keys out of order")


_CODES = {-1: "out of memory", -2: "handle out of range", -3: "malformed argument", -4: "bad state"}


class _NativeOrder:
    """The C treap (``acd_queue.c``): handles are its node numbers."""

    def __init__(self) -> None:
        from ._native.core import load

        mod = load()
        self._ffi = ffi = mod.ffi
        self._lib = lib = mod.lib
        raw = lib.acd_oq_new()
        if raw == ffi.NULL:
            raise MemoryError("native queue: could not allocate")
        self._q = raw
        # Freed when the queue is collected (or at interpreter exit).
        self._finalizer = weakref.finalize(self, lib.acd_oq_free, raw)
        self._key = ffi.new(f"double[{KEY_LENGTH}]")
        self._out = ffi.new(f"int[{_CHUNK}]")

    def _rc(self, rc: int, what: str) -> int:
        if rc < 0:
            raise AcdError(f"native queue: {what}: {_CODES.get(rc, rc)}")
        return rc

    def _load(self, key: SortKey) -> Any:
        buf = self._key
        n = len(key)
        for i in range(n):
            buf[i] = key[i]
        for i in range(n, KEY_LENGTH):
            buf[i] = -math.inf
        return buf

    def add(self, key: SortKey) -> int:
        return self._rc(self._lib.acd_oq_insert(self._q, self._load(key)), "insert")

    def discard(self, handle: int, key: SortKey) -> None:
        self._rc(self._lib.acd_oq_remove(self._q, handle), "remove")

    def rank(self, key: SortKey) -> int:
        return self._rc(self._lib.acd_oq_rank(self._q, self._load(key)), "rank")

    def index(self, handle: int, key: SortKey) -> int:
        return self._rc(self._lib.acd_oq_index(self._q, handle), "index")

    def first(self) -> int:
        return int(self._lib.acd_oq_first(self._q))

    def handles(self, start: int, count: int) -> list[int]:
        out: list[int] = []
        while count > 0:
            got = self._rc(
                self._lib.acd_oq_slice(self._q, start, min(count, _CHUNK), self._out), "slice"
            )
            if got == 0:
                break
            out.extend(self._out[0:got])
            start += got
            count -= got
        return out

    def __len__(self) -> int:
        return int(self._lib.acd_oq_len(self._q))

    def check(self) -> None:
        rc = self._lib.acd_oq_check(self._q)
        if rc != 0:
            raise AssertionError(f"native queue: invariant broken (code {rc})")

    def key_of(self, handle: int) -> tuple[float, ...]:
        self._rc(self._lib.acd_oq_key(self._q, handle, self._key), "key")
        return tuple(self._key[0:KEY_LENGTH])


def _backend_name(backend: str | None) -> str:
    if backend is None:
        backend = _backend.BACKEND
    if backend not in ("python", "native"):
        raise ConfigError(f"backend must be 'python' or 'native', got {show(backend)}")
    if backend == "native" and not _backend.native_available():
        raise ConfigError("backend 'native' was asked for but the extension is not built")
    return backend


def _probe_policy(policy: PriorityPolicy) -> None:
    """Refuse a policy that fails on a plain item (as QueueConfig does)."""
    if not isinstance(policy, PriorityPolicy):
        raise ConfigError(f"Queue policy {show(policy)} is not a priority policy")
    name = show(getattr(policy, "name", policy))
    try:
        probe = policy.key(
            CallFacts(seq=7, arrived=0.0, priority=0, emergency=False, attributes={})
        )
    except Exception as exc:
        raise ConfigError(
            f"Queue policy {name} fails on a plain item: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(probe, tuple) or not probe or probe[-1] != 7:
        raise ConfigError(
            f"Queue policy {name} key {show(probe)} must be a tuple ending with the "
            "item's sequence number"
        )


class Queue(Generic[T]):
    """Waiting work in its priority policy's order (smallest key first).

    ``policy``: a :class:`~acdcore.policies.PriorityPolicy` (default
    :class:`~acdcore.policies.FIFO`). ``backend``: ``"python"`` or
    ``"native"`` (default: :data:`acdcore.backend.BACKEND`); asking for
    ``"native"`` where the extension was not built raises
    :class:`~acdcore.errors.ConfigError`.

    Items are any hashable objects; an item is in the queue at most once.
    Every method that refuses its arguments raises a typed
    :class:`~acdcore.errors.AcdError` and leaves the queue as it was.
    Iterating while the queue changes raises ``RuntimeError``.
    """

    __slots__ = ("__weakref__", "_by_handle", "_by_key", "_entries", "_name", "_order",
                 "_policy", "_seq", "_version")  # fmt: skip

    def __init__(self, policy: PriorityPolicy | None = None, *, backend: str | None = None) -> None:
        if policy is None:
            policy = FIFO()
        _probe_policy(policy)
        self._name = _backend_name(backend)
        self._policy = policy
        self._order: _Order = _NativeOrder() if self._name == "native" else _PyOrder()
        self._entries: dict[T, tuple[SortKey, int]] = {}
        self._by_key: dict[SortKey, T] = {}
        self._by_handle: dict[int, T] = {}
        self._seq = 0  # the next sequence number insert() hands out
        self._version = 0

    # ------------------------------------------------------------ properties

    @property
    def backend(self) -> str:
        """``"python"`` or ``"native"``: which implementation orders the items."""
        return self._name

    @property
    def policy(self) -> PriorityPolicy:
        """The priority policy :meth:`insert` computes keys with."""
        return self._policy

    # --------------------------------------------------------------- changes

    def insert(
        self,
        item: T,
        *,
        arrived: float,
        priority: int = 0,
        emergency: bool = False,
        attributes: Mapping[str, Any] | None = None,
    ) -> int:
        """Put ``item`` in the queue at the place its policy key gives it;
        return its 1-based position.

        The key is ``policy.key(CallFacts(seq, arrived, priority, emergency,
        attributes))`` where ``seq`` is the queue's next sequence number
        (increasing from 0, never reused). Raises
        :class:`~acdcore.errors.DuplicateItem` when ``item`` is already in the
        queue and :class:`~acdcore.errors.InvalidValue` for a non-finite
        ``arrived``, a ``priority`` that is not an int within +-2**53, a
        non-bool ``emergency``, attributes that are not a mapping, an
        unhashable item or a key the policy refuses. Cost: O(log n) plus the
        policy's key.
        """
        self._check_new(item)
        check_instant(arrived, "arrived")
        check_number(priority, "priority", InvalidValue, integer=True)
        if type(emergency) is not bool:
            raise InvalidValue(f"emergency must be a bool, got {show(emergency)}")
        attrs_ = freeze_mapping(attributes, "attributes")
        seq = self._seq
        facts = CallFacts(
            seq=seq, arrived=arrived, priority=priority, emergency=emergency, attributes=attrs_
        )
        try:
            key = self._policy.key(facts)
        except AcdError as exc:
            raise InvalidValue(f"item {show(item)}: {exc}") from None
        key = check_key(key, f"item {show(item)}: policy {self._policy.name!r} key")
        if key[-1] != seq:
            raise ConfigError(
                f"policy {self._policy.name!r} returned key {show(key)} not ending in the "
                f"sequence number {seq}"
            )
        return self._put(item, key)

    def insert_key(self, item: T, key: SortKey) -> int:
        """Put ``item`` in the queue with a key computed by the caller (a
        distributor that computes keys with its own sequence numbers);
        return its 1-based position.

        ``key`` must pass :func:`check_key` and differ from every key in the
        queue (:class:`~acdcore.errors.InvalidValue` otherwise); a sequence
        number at or beyond the queue's own moves the queue's counter past it,
        so a later :meth:`insert` never collides with it. Raises
        :class:`~acdcore.errors.DuplicateItem` when ``item`` is already in the
        queue. Cost: O(log n).
        """
        self._check_new(item)
        return self._put(item, check_key(key, f"item {show(item)}: key"))

    def _check_new(self, item: T) -> None:
        try:
            hash(item)
        except TypeError:
            raise InvalidValue(f"queue items must be hashable, got {show(item)}") from None
        if item in self._entries:
            raise DuplicateItem(
                f"item {show(item)} is already in the queue at position {self.position(item)}"
            )

    def _put(self, item: T, key: SortKey) -> int:
        if key in self._by_key:
            other = self._by_key[key]
            raise InvalidValue(
                f"key {show(key)} of item {show(item)} is already held by {show(other)}"
            )
        handle = self._order.add(key)
        self._entries[item] = (key, handle)
        self._by_key[key] = item
        self._by_handle[handle] = item
        last = key[-1]
        assert isinstance(last, int)
        if last >= self._seq:
            self._seq = last + 1
        self._version += 1
        return self._order.index(handle, key) + 1

    def remove(self, item: T) -> None:
        """Take ``item`` out of the queue wherever it is. Raises
        :class:`~acdcore.errors.UnknownItem` when it is not there.
        Cost: O(log n)."""
        key, handle = self._entry(item)
        self._drop(item, key, handle)

    def _drop(self, item: T, key: SortKey, handle: int) -> None:
        self._order.discard(handle, key)
        del self._entries[item]
        del self._by_key[key]
        del self._by_handle[handle]
        self._version += 1

    def pop(self) -> T:
        """Take the head (the item with the smallest key) out and return it.
        Raises :class:`~acdcore.errors.UnknownItem` when the queue is empty.
        Cost: O(log n)."""
        handle = self._order.first()
        if handle < 0:
            raise UnknownItem("pop from an empty queue")
        item = self._by_handle[handle]
        key, _ = self._entries[item]
        self._drop(item, key, handle)
        return item

    # ----------------------------------------------------------------- reads

    def _entry(self, item: T) -> tuple[SortKey, int]:
        try:
            return self._entries[item]
        except KeyError:
            raise UnknownItem(f"item {show(item)} is not in the queue") from None
        except TypeError:
            raise UnknownItem(f"item {show(item)} is not in the queue (unhashable)") from None

    def head(self) -> T | None:
        """The item served next (smallest key), ``None`` when empty. Cost: O(1)."""
        handle = self._order.first()
        return None if handle < 0 else self._by_handle[handle]

    def position(self, item: T) -> int:
        """``item``'s 1-based place in the queue (1: the head). Raises
        :class:`~acdcore.errors.UnknownItem` when it is not there.
        Cost: O(log n)."""
        key, handle = self._entry(item)
        return self._order.index(handle, key) + 1

    def key(self, item: T) -> SortKey:
        """``item``'s sort key. Raises :class:`~acdcore.errors.UnknownItem`
        when it is not there. Cost: O(1)."""
        return self._entry(item)[0]

    def ahead(self, key: SortKey) -> int:
        """How many waiting items sort before ``key``: what an item with that
        key would have ahead of it (an arrival's position is this plus one).
        ``key`` must pass :func:`check_key`. Cost: O(log n)."""
        return self._order.rank(check_key(key, "ahead(): key"))

    def __len__(self) -> int:
        """The number of waiting items. Cost: O(1)."""
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __contains__(self, item: object) -> bool:
        """True when ``item`` waits in the queue. Cost: O(1)."""
        try:
            return item in self._entries
        except TypeError:
            return False

    def __iter__(self) -> Iterator[T]:
        """The items in policy order, head first. Raises ``RuntimeError``
        when the queue changes during the iteration. Cost: O(n) overall,
        O(log n) per chunk of 64."""
        version = self._version
        start = 0
        while True:
            chunk = self._order.handles(start, _CHUNK)
            for handle in chunk:
                if self._version != version:
                    raise RuntimeError("the queue changed while it was being iterated")
                yield self._by_handle[handle]
            if len(chunk) < _CHUNK:
                return
            if self._version != version:
                raise RuntimeError("the queue changed while it was being iterated")
            start += _CHUNK

    def __repr__(self) -> str:
        return f"<Queue {self._policy.name} ({self._name}): {len(self)} waiting>"

    def check(self) -> None:
        """Assert every invariant (``AssertionError`` naming the first that
        fails): the backend's own structure, one entry per item, handles and
        keys consistent both ways, iteration in strictly increasing key order
        with positions 1..n, and the sequence counter past every key.
        A pure read. Cost: O(n log n)."""
        order = self._order
        order.check()
        n = len(self._entries)
        if not (len(order) == n == len(self._by_key) == len(self._by_handle)):
            raise AssertionError(
                f"queue sizes disagree: order {len(order)}, items {n}, keys "
                f"{len(self._by_key)}, handles {len(self._by_handle)}"
            )
        previous: SortKey | None = None
        handles = order.handles(0, n + 1)
        if len(handles) != n:
            raise AssertionError(f"queue iteration gave {len(handles)} handles for {n} items")
        for i, handle in enumerate(handles):
            item = self._by_handle.get(handle)
            if item is None and handle not in self._by_handle:
                raise AssertionError(f"handle {handle} at index {i} names no item")
            key, h = self._entries[item]  # type: ignore[index]
            if h != handle or self._by_key.get(key) != item:
                raise AssertionError(f"item {show(item)}: handle or key maps disagree")
            if previous is not None and not previous < key:
                raise AssertionError(f"keys out of order at index {i}: {previous} then {key}")
            if order.index(handle, key) != i or order.rank(key) != i:
                raise AssertionError(f"item {show(item)} at index {i} reports another rank")
            if isinstance(order, _NativeOrder):
                padded = key + (-math.inf,) * (KEY_LENGTH - len(key))
                if order.key_of(handle) != padded:
                    raise AssertionError(f"item {show(item)}: native key differs from {key}")
            last = key[-1]
            if not isinstance(last, int) or last >= self._seq:
                raise AssertionError(f"item {show(item)}: sequence {last} not below the counter")
            previous = key
        first = order.first()
        if (first < 0) != (n == 0) or (n and first != handles[0]):
            raise AssertionError("queue head is not the first item in order")
