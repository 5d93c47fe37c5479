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

import itertools
import math
import weakref
from collections.abc import Callable, Hashable, Iterator, Mapping
from itertools import pairwise
from typing import Any, Generic, Protocol, TypeVar

from sortedcontainers import SortedDict

from . import backend as _backend
from .errors import AcdError, ConfigError, DuplicateItem, InvalidValue, UnknownItem
from .policies import FIFO, KEY_LENGTH, CallFacts, PriorityPolicy, SortKey, probe_policy
from .skills import check_instant, freeze_mapping
from .values import EXACT, check_number, show

__all__ = ["KEY_LENGTH", "Queue", "check_key"]


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


def _item_key(item: object, key: object, what: str) -> SortKey:
    """:func:`check_key` for ``item``'s key; the item is named only in the
    error (formatting it on every call would cost more than the check)."""
    try:
        return check_key(key, what)
    except InvalidValue as exc:
        raise InvalidValue(f"item {show(item)}: {exc}") from None


class _Store(Protocol[T]):
    """What a backend keeps: items under distinct keys, in key order."""

    def put(self, item: T, key: SortKey) -> int: ...
    def drop(self, item: T, key: SortKey) -> None: ...
    def holder(self, key: SortKey) -> T | None: ...
    def index(self, item: T, key: SortKey) -> int: ...
    def rank(self, key: SortKey) -> int: ...
    def first(self) -> T | None: ...
    def chunk(self, start: int, count: int) -> list[T]: ...
    def __len__(self) -> int: ...
    def check(self, key_of: Callable[[T], SortKey]) -> None: ...


class _PyStore(Generic[T]):
    """The reference: a SortedDict from key to item (nothing else per item)."""

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map = SortedDict()

    def put(self, item: T, key: SortKey) -> int:
        self._map[key] = item
        return int(self._map.index(key))

    def drop(self, item: T, key: SortKey) -> None:
        del self._map[key]

    def holder(self, key: SortKey) -> T | None:
        got: T | None = self._map.get(key)
        return got

    def index(self, item: T, key: SortKey) -> int:
        return int(self._map.index(key))

    def rank(self, key: SortKey) -> int:
        return int(self._map.bisect_left(key))

    def first(self) -> T | None:
        if not self._map:
            return None
        head: T = self._map.peekitem(0)[1]
        return head

    def chunk(self, start: int, count: int) -> list[T]:
        return list(self._map.values()[start : start + count])

    def __len__(self) -> int:
        return len(self._map)

    def check(self, key_of: Callable[[T], SortKey]) -> None:
        self._map._check()
        if any(a >= b for a, b in pairwise(self._map.keys())):
            raise AssertionError("python queue: keys out of order")
        for key, item in self._map.items():
            if key_of(item) != key:
                raise AssertionError(f"python queue: item {show(item)} is filed under {key}")


_CODES = {-1: "out of memory", -2: "handle out of range", -3: "malformed argument", -4: "bad state"}


class _NativeStore(Generic[T]):
    """The C treap (``acd_queue.c``) over int handles (its node numbers),
    and the maps between items, handles and keys that Python keeps for it."""

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
        self._handle: dict[T, int] = {}
        self._item: dict[int, T] = {}
        self._by_key: dict[SortKey, T] = {}

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

    def put(self, item: T, key: SortKey) -> int:
        handle = self._rc(self._lib.acd_oq_insert(self._q, self._load(key)), "insert")
        self._handle[item] = handle
        self._item[handle] = item
        self._by_key[key] = item
        return self._rc(self._lib.acd_oq_index(self._q, handle), "index")

    def drop(self, item: T, key: SortKey) -> None:
        handle = self._handle.pop(item)
        del self._item[handle]
        del self._by_key[key]
        self._rc(self._lib.acd_oq_remove(self._q, handle), "remove")

    def holder(self, key: SortKey) -> T | None:
        return self._by_key.get(key)

    def index(self, item: T, key: SortKey) -> int:
        return self._rc(self._lib.acd_oq_index(self._q, self._handle[item]), "index")

    def rank(self, key: SortKey) -> int:
        return self._rc(self._lib.acd_oq_rank(self._q, self._load(key)), "rank")

    def first(self) -> T | None:
        handle = int(self._lib.acd_oq_first(self._q))
        return None if handle < 0 else self._item[handle]

    def _handles(self, start: int, count: int) -> list[int]:
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

    def chunk(self, start: int, count: int) -> list[T]:
        item = self._item
        return [item[h] for h in self._handles(start, count)]

    def __len__(self) -> int:
        return int(self._lib.acd_oq_len(self._q))

    def key_of_handle(self, handle: int) -> tuple[float, ...]:
        self._rc(self._lib.acd_oq_key(self._q, handle, self._key), "key")
        return tuple(self._key[0:KEY_LENGTH])

    def check(self, key_of: Callable[[T], SortKey]) -> None:
        rc = self._lib.acd_oq_check(self._q)
        if rc != 0:
            raise AssertionError(f"native queue: invariant broken (code {rc})")
        n = len(self)
        if not n == len(self._handle) == len(self._item) == len(self._by_key):
            raise AssertionError(
                f"native queue sizes disagree: treap {n}, items {len(self._handle)}, "
                f"handles {len(self._item)}, keys {len(self._by_key)}"
            )
        for i, handle in enumerate(self._handles(0, n + 1)):
            item = self._item.get(handle)
            if item is None and handle not in self._item:
                raise AssertionError(f"handle {handle} at index {i} names no item")
            key = key_of(item)  # type: ignore[arg-type]
            if self._handle.get(item) != handle or self._by_key.get(key) is not item:  # type: ignore[arg-type]
                raise AssertionError(f"item {show(item)}: handle or key maps disagree")
            padded = key + (-math.inf,) * (KEY_LENGTH - len(key))
            if self.key_of_handle(handle) != padded:
                raise AssertionError(f"item {show(item)}: native key differs from {key}")


class Queue(Generic[T]):
    """Waiting work in its priority policy's order (smallest key first).

    ``policy``: a :class:`~acdcore.policies.PriorityPolicy` (default
    :class:`~acdcore.policies.FIFO`). ``backend``: ``"python"`` or
    ``"native"`` (default: :data:`acdcore.backend.BACKEND`); asking for
    ``"native"`` where the extension was not built raises
    :class:`~acdcore.errors.ConfigError`. ``key_of``: for items that carry
    their own sort key (a distributor's call records), the function that
    reads it; the queue then keeps nothing per item but its place in the
    order (the key given to :meth:`insert_key` must be ``key_of(item)``).
    Without it the queue remembers each item's key itself.

    Items are any hashable objects but ``None``; an item is in the queue at most once.
    Every method that refuses its arguments raises a typed
    :class:`~acdcore.errors.AcdError` and leaves the queue as it was.
    Iterating while the queue changes raises ``RuntimeError``.

    Memory per item: the python backend's sorted-dict entry (and, without
    ``key_of``, one dict entry for the key); the native backend adds a treap
    node in C and three dict entries (item, handle and key maps).
    """

    __slots__ = ("__weakref__", "_key_of", "_keys", "_name", "_policy", "_seq", "_store",
                 "_version")  # fmt: skip

    def __init__(
        self,
        policy: PriorityPolicy | None = None,
        *,
        backend: str | None = None,
        key_of: Callable[[T], SortKey] | None = None,
    ) -> None:
        if policy is None:
            policy = FIFO()
        probe_policy(policy, "Queue", "item")
        if key_of is not None and not callable(key_of):
            raise ConfigError(f"key_of must be a function of an item, got {show(key_of)}")
        self._name = _backend.resolve(backend)
        self._policy = policy
        self._store: _Store[T] = _NativeStore() if self._name == "native" else _PyStore()
        self._key_of = key_of
        self._keys: dict[T, SortKey] | None = {} if key_of is None else None
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
        unhashable item or a key the policy refuses; a queue built with
        ``key_of`` takes keys from its items only (:meth:`insert_key`), so
        ``insert`` raises :class:`~acdcore.errors.ConfigError`. Cost:
        O(log n) plus the policy's key.
        """
        if self._keys is None:
            raise ConfigError("a queue built with key_of takes its items' own keys: use insert_key")
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
        except Exception as exc:  # a policy of the caller's own making that is broken
            raise InvalidValue(
                f"item {show(item)}: policy {self._policy.name!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
        key = _item_key(item, key, f"policy {self._policy.name!r} key")
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
        queue (:class:`~acdcore.errors.InvalidValue` otherwise), and be
        ``key_of(item)`` for a queue built with ``key_of``; a sequence number
        at or beyond the queue's own moves the queue's counter past it, so a
        later :meth:`insert` never collides with it. Raises
        :class:`~acdcore.errors.DuplicateItem` when ``item`` is already in the
        queue. Cost: O(log n).
        """
        if self._key_of is None:
            self._check_new(item)
            return self._put(item, _item_key(item, key, "key"))
        if item is None:
            raise InvalidValue("None cannot be a queue item (it means 'no item' in head())")
        key = _item_key(item, key, "key")
        try:
            own = self._key_of(item)
        except Exception as exc:
            raise InvalidValue(f"key_of({show(item)}) failed: {type(exc).__name__}") from None
        if own != key:
            raise InvalidValue(f"item {show(item)}: key {show(key)} is not the item's own key")
        held = self._store.holder(key)  # one lookup: the item itself, or another under its key
        if held is item:
            raise DuplicateItem(
                f"item {show(item)} is already in the queue at position {self.position(item)}"
            )
        return self._put(item, key, held)

    def insert_own(self, item: T) -> int:
        """For a queue built with ``key_of``: put ``item`` under its own key,
        which the caller vouches for (it passed :func:`check_key` when it was
        made, as a distributor's keys do at arrival); return its 1-based
        position. Refuses a duplicate item or a key another item holds as
        :meth:`insert_key` does, without re-checking the key's shape.
        Cost: O(log n)."""
        key_of = self._key_of
        if key_of is None:
            raise ConfigError("insert_own needs a queue built with key_of; use insert_key")
        key = key_of(item)
        store = self._store
        held = store.holder(key)
        if held is not None:
            if held is item:
                raise DuplicateItem(
                    f"item {show(item)} is already in the queue at position {self.position(item)}"
                )
            raise InvalidValue(
                f"key {show(key)} of item {show(item)} is already held by {show(held)}"
            )
        index = store.put(item, key)
        self._version += 1
        return index + 1

    def ordered(self) -> Iterator[T]:
        """The items in policy order, without :meth:`__iter__`'s check that
        the queue does not change meanwhile: for a reader that never changes
        the queue while it reads (changing it gives undefined results).
        Cost: O(1) to start, O(n) overall."""
        store = self._store
        if isinstance(store, _PyStore):
            smap = store._map
            return map(dict.__getitem__, itertools.repeat(smap), iter(smap))
        return iter(self)

    def _check_new(self, item: T) -> None:
        if item is None:
            raise InvalidValue("None cannot be a queue item (it means 'no item' in head())")
        try:
            hash(item)
        except TypeError:
            raise InvalidValue(f"queue items must be hashable, got {show(item)}") from None
        if item in self:
            raise DuplicateItem(
                f"item {show(item)} is already in the queue at position {self.position(item)}"
            )

    def _put(self, item: T, key: SortKey, other: T | None = None) -> int:
        if other is None and self._key_of is None:
            other = self._store.holder(key)
        if other is not None:
            raise InvalidValue(
                f"key {show(key)} of item {show(item)} is already held by {show(other)}"
            )
        index = self._store.put(item, key)
        if self._keys is not None:
            self._keys[item] = key
        last = key[-1]
        assert isinstance(last, int)
        if last >= self._seq:
            self._seq = last + 1
        self._version += 1
        return index + 1

    def remove(self, item: T) -> None:
        """Take ``item`` out of the queue wherever it is. Raises
        :class:`~acdcore.errors.UnknownItem` when it is not there.
        Cost: O(log n)."""
        self._drop(item, self._entry(item))

    def _drop(self, item: T, key: SortKey) -> None:
        self._store.drop(item, key)
        if self._keys is not None:
            del self._keys[item]
        self._version += 1

    def pop(self) -> T:
        """Take the head (the item with the smallest key) out and return it.
        Raises :class:`~acdcore.errors.UnknownItem` when the queue is empty.
        Cost: O(log n)."""
        if not len(self._store):
            raise UnknownItem("pop from an empty queue")
        item = self._store.first()
        assert item is not None or len(self._store) > 0
        self._drop(item, self._entry(item))  # type: ignore[arg-type]
        return item  # type: ignore[return-value]

    # ----------------------------------------------------------------- reads

    def _own_key(self, item: object) -> SortKey | None:
        """``item``'s key if it is in the queue, else ``None``."""
        keys = self._keys
        if keys is not None:
            try:
                return keys.get(item)  # type: ignore[arg-type]
            except TypeError:
                return None
        try:
            key = self._key_of(item)  # type: ignore[misc, arg-type]
        except Exception:
            return None
        try:
            held = self._store.holder(key)
        except TypeError:
            return None
        return key if held is item else None

    def _entry(self, item: T) -> SortKey:
        key = self._own_key(item)
        if key is None:
            raise UnknownItem(f"item {show(item)} is not in the queue")
        return key

    def holder(self, key: SortKey) -> T | None:
        """The item filed under ``key``, ``None`` when no item is. Cost: O(log n)
        (python backend: O(1))."""
        try:
            return self._store.holder(key)
        except TypeError:
            return None

    def head(self) -> T | None:
        """The item served next (smallest key), ``None`` when empty. Cost: O(1)."""
        return self._store.first()

    def position(self, item: T) -> int:
        """``item``'s 1-based place in the queue (1: the head). Raises
        :class:`~acdcore.errors.UnknownItem` when it is not there.
        Cost: O(log n)."""
        return self._store.index(item, self._entry(item)) + 1

    def key(self, item: T) -> SortKey:
        """``item``'s sort key. Raises :class:`~acdcore.errors.UnknownItem`
        when it is not there. Cost: O(1)."""
        return self._entry(item)

    def ahead(self, key: SortKey, *, checked: bool = True) -> int:
        """How many waiting items sort before ``key``: what an item with that
        key would have ahead of it (an arrival's position is this plus one).
        ``key`` must pass :func:`check_key`; ``checked=False`` skips that for
        a caller whose keys follow its own rule (a distributor's policy keys,
        checked when they are made), on the python backend only. Cost:
        O(log n)."""
        if checked or not isinstance(self._store, _PyStore):
            key = check_key(key, "ahead(): key")
        return self._store.rank(key)

    def __len__(self) -> int:
        """The number of waiting items. Cost: O(1)."""
        return len(self._store)

    def __bool__(self) -> bool:
        return len(self._store) > 0

    def __contains__(self, item: object) -> bool:
        """True when ``item`` waits in the queue. Cost: O(1)."""
        return self._own_key(item) is not None

    def __iter__(self) -> Iterator[T]:
        """The items in policy order, head first. Raises ``RuntimeError``
        when the queue changes during the iteration. Cost: O(n) overall,
        O(1) to start on the python backend, O(log n) per chunk of 64 on the
        native one."""
        version = self._version
        store = self._store
        if isinstance(store, _PyStore):
            smap = store._map
            get = dict.__getitem__  # SortedDict is a dict: skip the generic values view
            for key in smap:
                if self._version != version:
                    raise RuntimeError("the queue changed while it was being iterated")
                yield get(smap, key)
            return
        start = 0
        while True:
            chunk = store.chunk(start, _CHUNK)
            for item in chunk:
                if self._version != version:
                    raise RuntimeError("the queue changed while it was being iterated")
                yield item
            if len(chunk) < _CHUNK:
                return
            if self._version != version:
                raise RuntimeError("the queue changed while it was being iterated")
            start += _CHUNK

    def __repr__(self) -> str:
        return f"<Queue {self._policy.name} ({self._name}): {len(self)} waiting>"

    def check(self) -> None:
        """Assert every invariant (``AssertionError`` naming the first that
        fails): the backend's own structure, each item filed under its own
        key, iteration in strictly increasing key order with positions 1..n,
        and (for a queue that keeps keys) the sequence counter past every key. A pure read.
        Cost: O(n log n)."""
        store = self._store
        keys = self._keys

        def key_of(item: T) -> SortKey:
            if keys is not None:
                if item not in keys:
                    raise AssertionError(f"item {show(item)} has no recorded key")
                return keys[item]
            assert self._key_of is not None
            return self._key_of(item)

        store.check(key_of)
        n = len(store)
        if keys is not None and len(keys) != n:
            raise AssertionError(f"queue sizes disagree: order {n}, keys {len(keys)}")
        items = store.chunk(0, n + 1)
        if len(items) != n:
            raise AssertionError(f"queue iteration gave {len(items)} items for {n}")
        previous: SortKey | None = None
        for i, item in enumerate(items):
            key = key_of(item)
            if store.holder(key) is not item:
                raise AssertionError(f"item {show(item)}: its key {key} holds another item")
            if previous is not None and not previous < key:
                raise AssertionError(f"keys out of order at index {i}: {previous} then {key}")
            if store.index(item, key) != i or store.rank(key) != i:
                raise AssertionError(f"item {show(item)} at index {i} reports another rank")
            last = key[-1]
            if not isinstance(last, int) or (keys is not None and last >= self._seq):
                raise AssertionError(f"item {show(item)}: sequence {last} not below the counter")
            previous = key
        first = store.first()
        if (first is not None) if n == 0 else (first is not items[0]):
            raise AssertionError("queue head is not the first item in order")
