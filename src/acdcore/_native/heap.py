"""The coming C engine's deadline heap (internal): a pure-Python reference,
:class:`PyDeadlineHeap` (heapq over tuples), and the Python face of the C
heap (``acd_heap.c``), :class:`NativeDeadlineHeap`, with the same methods and
the same answers (``tests/test_native_heap.py`` compares them).

A building block of the engine (see ``docs/internals.md``, "Toward one
engine"); nothing else uses it yet. An entry is ``(when, seq, kind, ref,
token)``: ``when`` an instant (any float but NaN), ``seq`` the scheduling
number, ``kind`` a C int and ``ref`` and ``token`` 64-bit integers, which
the heap never reads. Entries leave in ``(when, seq)`` order. ``seq`` comes
from a counter the heap keeps (0 in a new heap; :meth:`push` returns it), so
the order is total and fixed when an entry is scheduled.

Complexity (n entries): push and pop O(log n); peek and len O(1); pop_due
O(k log n) for the k entries it pops; set_next_seq and check O(n).
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from ..errors import AcdError, InvalidValue
from .core import NativeError, load

__all__ = ["Deadline", "NativeDeadlineHeap", "PyDeadlineHeap"]

Deadline = tuple[float, int, int, int, int]
"""``(when, seq, kind, ref, token)``."""

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _when(value: float, what: str) -> float:
    if type(value) is not float and type(value) is not int:
        raise InvalidValue(f"deadline heap: {what} {value!r} is not a number")
    try:
        when = float(value)
    except OverflowError:
        raise InvalidValue(f"deadline heap: {what} {value!r} is out of range") from None
    if math.isnan(when):
        raise InvalidValue(f"deadline heap: {what} is NaN")
    return when


def _integer(value: int, what: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise InvalidValue(f"deadline heap: {what} {value!r} is not an integer in {low}..{high}")
    return value


def _push_args(when: float, kind: int, ref: int, token: int) -> tuple[float, int, int, int]:
    return (
        _when(when, "when"),
        _integer(kind, "kind", _INT_MIN, _INT_MAX),
        _integer(ref, "ref", _I64_MIN, _I64_MAX),
        _integer(token, "token", _I64_MIN, _I64_MAX),
    )


def _exhausted() -> InvalidValue:
    return InvalidValue("deadline heap: the scheduling counter is exhausted")


def _max_arg(max_count: int | None) -> int | None:
    if max_count is None:
        return None
    return _integer(max_count, "max_count", 0, _INT_MAX)


class PyDeadlineHeap:
    """The reference: :mod:`heapq` over ``(when, seq, kind, ref, token)``
    tuples (seq is unique, so a comparison never reaches kind)."""

    __slots__ = ("_heap", "_next")

    def __init__(self) -> None:
        self._heap: list[Deadline] = []
        self._next = 0

    def push(self, when: float, kind: int, ref: int, token: int) -> int:
        """Schedule an entry; returns its seq."""
        w, k, r, t = _push_args(when, kind, ref, token)
        if self._next == _I64_MAX:
            raise _exhausted()
        seq = self._next
        self._next += 1
        heapq.heappush(self._heap, (w, seq, k, r, t))
        return seq

    def peek(self) -> Deadline | None:
        """The earliest entry, or None when empty."""
        return self._heap[0] if self._heap else None

    def pop(self) -> Deadline | None:
        """Remove and return the earliest entry, or None when empty."""
        return heapq.heappop(self._heap) if self._heap else None

    def pop_due(self, now: float, max_count: int | None = None) -> list[Deadline]:
        """Pop, in order, every entry with ``when <= now`` (at most
        ``max_count`` of them when given)."""
        t = _when(now, "now")
        limit = _max_arg(max_count)
        heap = self._heap
        out: list[Deadline] = []
        while heap and heap[0][0] <= t and (limit is None or len(out) < limit):
            out.append(heapq.heappop(heap))
        return out

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def next_seq(self) -> int:
        """The seq the next push takes."""
        return self._next

    def set_next_seq(self, next_seq: int) -> None:
        """Set the counter (restoring a snapshot); it must be above every
        held seq."""
        n = _integer(next_seq, "next_seq", 0, _I64_MAX)
        if any(entry[1] >= n for entry in self._heap):
            raise InvalidValue(f"deadline heap: next_seq {n} is not above every held seq")
        self._next = n

    def check(self) -> None:
        """Raise AcdError unless the heap property holds and the counter is
        above every seq."""
        heap = self._heap
        for i, entry in enumerate(heap):
            if math.isnan(entry[0]) or not 0 <= entry[1] < self._next:
                raise AcdError(f"deadline heap: entry {entry!r} breaks the counter")
            if i and entry[:2] < heap[(i - 1) // 2][:2]:
                raise AcdError(f"deadline heap: entry {i} is before its parent")


class NativeDeadlineHeap:
    """The C heap (``acd_heap.c``), with :class:`PyDeadlineHeap`'s methods
    and answers. Arguments are validated here exactly as the reference does,
    so a refusal is the same on both; a code from C after that is a
    NativeError."""

    __slots__ = ("_buf", "_ffi", "_heap", "_lib", "_one")

    _CHUNK = 64

    def __init__(self) -> None:
        mod = load()
        self._ffi: Any = mod.ffi
        self._lib: Any = mod.lib
        heap = self._lib.acd_heap_new()
        if heap == self._ffi.NULL:
            raise NativeError("native deadline heap: out of memory")
        self._heap: Any = self._ffi.gc(heap, self._lib.acd_heap_free)
        self._one: Any = self._ffi.new("acd_deadline *")
        self._buf: Any = self._ffi.new("acd_deadline[]", self._CHUNK)

    def push(self, when: float, kind: int, ref: int, token: int) -> int:
        """Schedule an entry; returns its seq."""
        w, k, r, t = _push_args(when, kind, ref, token)
        seq = int(self._lib.acd_heap_push(self._heap, w, k, r, t))
        if seq < 0:
            if seq == self._lib.ACD_ESTATE:
                raise _exhausted()
            raise NativeError(f"native deadline heap: push: code {seq}")
        return seq

    @staticmethod
    def _entry(d: Any) -> Deadline:
        return (d.when, d.seq, d.kind, d.ref, d.token)

    def peek(self) -> Deadline | None:
        """The earliest entry, or None when empty."""
        rc = self._lib.acd_heap_peek(self._heap, self._one)
        _check(rc, "peek")
        return self._entry(self._one) if rc else None

    def pop(self) -> Deadline | None:
        """Remove and return the earliest entry, or None when empty."""
        rc = self._lib.acd_heap_pop(self._heap, self._one)
        _check(rc, "pop")
        return self._entry(self._one) if rc else None

    def pop_due(self, now: float, max_count: int | None = None) -> list[Deadline]:
        """Pop, in order, every entry with ``when <= now`` (at most
        ``max_count`` of them when given)."""
        t = _when(now, "now")
        limit = _max_arg(max_count)
        out: list[Deadline] = []
        buf, entry = self._buf, self._entry
        while True:
            want = self._CHUNK if limit is None else min(self._CHUNK, limit - len(out))
            got = self._lib.acd_heap_pop_due(self._heap, t, buf, want)
            _check(got, "pop_due")
            out.extend(entry(buf[i]) for i in range(got))
            if got < want or want == 0:
                return out

    def __len__(self) -> int:
        return _check(self._lib.acd_heap_len(self._heap), "len")

    @property
    def next_seq(self) -> int:
        """The seq the next push takes."""
        return _check(int(self._lib.acd_heap_next_seq(self._heap)), "next_seq")

    def set_next_seq(self, next_seq: int) -> None:
        """Set the counter (restoring a snapshot); it must be above every
        held seq."""
        n = _integer(next_seq, "next_seq", 0, _I64_MAX)
        rc = self._lib.acd_heap_set_next_seq(self._heap, n)
        if rc == self._lib.ACD_ESTATE:
            raise InvalidValue(f"deadline heap: next_seq {n} is not above every held seq")
        _check(rc, "set_next_seq")

    def check(self) -> None:
        """Raise AcdError unless the heap property holds and the counter is
        above every seq."""
        if self._lib.acd_heap_check(self._heap) != 0:
            raise NativeError("native deadline heap: invariant broken")


def _check(rc: int, what: str) -> int:
    if rc < 0:
        raise NativeError(f"native deadline heap: {what}: code {rc}")
    return rc
