"""The engine's deadline heap: the C heap (acd_heap.c, through
NativeDeadlineHeap) against its reference (PyDeadlineHeap, heapq over
tuples) in a hypothesis state machine with many equal instants, and
refusals (at the C boundary and in the Python faces) that change nothing."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from acdcore import native_available
from acdcore._native.heap import NativeDeadlineHeap, PyDeadlineHeap
from acdcore.errors import AcdError, InvalidValue

pytestmark = pytest.mark.skipif(not native_available(), reason="native extension not built")

I64 = (1 << 63) - 1


@pytest.fixture(params=["native"], autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Overrides the suite-wide fixture: these tests are about the C code."""
    return str(request.param)


# Few instants, so that equal `when`s (ordered by seq) are the common case;
# signed zeros and infinities among them.
instants = st.sampled_from([0.0, -0.0, 1.0, 1.5, 2.0, -3.0, 10.0, math.inf, -math.inf])
integers64 = st.one_of(st.integers(-3, 3), st.sampled_from([-I64 - 1, I64]))
kinds = st.one_of(st.integers(0, 5), st.sampled_from([-(1 << 31), (1 << 31) - 1]))


def same(a: Any, b: Any) -> None:
    """Equal, and equal as text (so -0.0 and 0.0 differ)."""
    assert a == b and repr(a) == repr(b), (a, b)


def outcome(call: Any) -> tuple[str, Any]:
    try:
        return ("ok", call())
    except AcdError as exc:
        return (type(exc).__name__, str(exc))


class HeapMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ref = PyDeadlineHeap()
        self.nat = NativeDeadlineHeap()

    def both(self, name: str, *args: Any) -> Any:
        want = outcome(lambda: getattr(self.ref, name)(*args))
        got = outcome(lambda: getattr(self.nat, name)(*args))
        same(got, want)
        return want

    @rule(when=instants, kind=kinds, ref=integers64, token=integers64)
    def push(self, when: float, kind: int, ref: int, token: int) -> None:
        status, seq = self.both("push", when, kind, ref, token)
        assert status == "ok" and seq == self.ref.next_seq - 1

    @rule()
    def pop(self) -> None:
        self.both("pop")

    @rule()
    def peek(self) -> None:
        self.both("peek")

    @rule(now=instants, max_count=st.one_of(st.none(), st.integers(0, 4), st.just(200)))
    def pop_due(self, now: float, max_count: int | None) -> None:
        status, popped = self.both("pop_due", now, max_count)
        assert status == "ok"
        assert all(entry[0] <= now for entry in popped)
        assert popped == sorted(popped)
        head = self.ref.peek()
        if max_count is None or len(popped) < max_count:
            assert head is None or head[0] > now

    @rule(delta=st.integers(-3, 3))
    def set_next_seq(self, delta: int) -> None:
        # Around the smallest allowed value: refused below it on both.
        self.both("set_next_seq", max(self.ref.next_seq + delta, 0))

    @rule(
        bad=st.sampled_from(
            [
                ("push", math.nan, 0, 0, 0),
                ("push", 1.0, 1 << 31, 0, 0),
                ("push", 1.0, 0, 1 << 63, 0),
                ("push", 1.0, 0, 0, -(1 << 63) - 1),
                ("push", 1.0, 0.5, 0, 0),
                ("push", "1", 0, 0, 0),
                ("push", 10**400, 0, 0, 0),
                ("pop_due", math.nan),
                ("pop_due", 1.0, -1),
                ("set_next_seq", -1),
                ("set_next_seq", 1 << 63),
            ]
        )
    )
    def refused(self, bad: tuple[Any, ...]) -> None:
        before = (len(self.ref), self.ref.peek(), self.ref.next_seq)
        status, _ = self.both(bad[0], *bad[1:])
        assert status == "InvalidValue"
        same((len(self.nat), self.nat.peek(), self.nat.next_seq), before)

    @invariant()
    def agree(self) -> None:
        self.ref.check()
        self.nat.check()
        same(len(self.nat), len(self.ref))
        same(self.nat.peek(), self.ref.peek())
        same(self.nat.next_seq, self.ref.next_seq)

    def teardown(self) -> None:
        # Everything left comes out in the same order.
        same(self.nat.pop_due(math.inf), self.ref.pop_due(math.inf))
        note(f"next seq {self.ref.next_seq}")


def test_native_heap_matches_the_reference() -> None:
    run_state_machine_as_test(HeapMachine)


@pytest.mark.parametrize("cls", [PyDeadlineHeap, NativeDeadlineHeap])
def test_a_large_random_workload_pops_in_when_then_seq_order(cls: type[Any]) -> None:
    rng = random.Random(5)
    heaps = [PyDeadlineHeap(), cls()]
    now = 0.0
    for step in range(20_000):
        if rng.random() < 0.55:
            when = now + rng.randrange(20) / 4
            for h in heaps:
                h.push(when, step % 7, step, -step)
        elif rng.random() < 0.5:
            now += rng.randrange(3) / 4
            same(heaps[1].pop_due(now), heaps[0].pop_due(now))
        else:
            same(heaps[1].pop(), heaps[0].pop())
    for h in heaps:
        h.check()
    rest = heaps[1].pop_due(math.inf)
    same(rest, heaps[0].pop_due(math.inf))
    assert [e[:2] for e in rest] == sorted(e[:2] for e in rest)


@pytest.mark.parametrize("cls", [PyDeadlineHeap, NativeDeadlineHeap])
def test_the_counter_can_be_set_and_runs_out_cleanly(cls: type[Any]) -> None:
    h = cls()
    assert h.push(1.0, 0, 0, 0) == 0
    with pytest.raises(InvalidValue, match="not above every held seq"):
        h.set_next_seq(0)
    h.set_next_seq(41)
    assert h.push(0.5, 1, 2, 3) == 41
    h.set_next_seq(I64)
    with pytest.raises(InvalidValue, match="exhausted"):
        h.push(2.0, 0, 0, 0)
    assert len(h) == 2 and h.next_seq == I64
    h.check()
    assert h.pop() == (0.5, 41, 1, 2, 3) and h.pop() == (1.0, 0, 0, 0, 0)
    assert h.pop() is None and h.peek() is None and h.pop_due(math.inf) == []


def _lib() -> tuple[Any, Any]:
    from acdcore._native.core import load

    mod = load()
    return mod.ffi, mod.lib


def test_c_functions_refuse_bad_arguments_with_codes_and_change_nothing() -> None:
    ffi, lib = _lib()
    h = lib.acd_heap_new()
    try:
        assert lib.acd_heap_push(h, 2.0, 1, 10, 100) == 0
        assert lib.acd_heap_push(h, 1.0, 2, 20, 200) == 1
        out = ffi.new("acd_deadline[4]")
        one = ffi.new("acd_deadline *")

        def state() -> tuple[Any, ...]:
            assert lib.acd_heap_peek(h, one) == 1
            return (lib.acd_heap_len(h), lib.acd_heap_next_seq(h), bytes(ffi.buffer(one)))

        before = state()
        refused = {
            "push NULL": lambda: lib.acd_heap_push(ffi.NULL, 1.0, 0, 0, 0),
            "push NaN": lambda: lib.acd_heap_push(h, math.nan, 0, 0, 0),
            "peek NULL heap": lambda: lib.acd_heap_peek(ffi.NULL, one),
            "peek NULL out": lambda: lib.acd_heap_peek(h, ffi.NULL),
            "pop NULL heap": lambda: lib.acd_heap_pop(ffi.NULL, one),
            "pop NULL out": lambda: lib.acd_heap_pop(h, ffi.NULL),
            "due NULL heap": lambda: lib.acd_heap_pop_due(ffi.NULL, 5.0, out, 4),
            "due NaN": lambda: lib.acd_heap_pop_due(h, math.nan, out, 4),
            "due negative max": lambda: lib.acd_heap_pop_due(h, 5.0, out, -1),
            "due NULL out": lambda: lib.acd_heap_pop_due(h, 5.0, ffi.NULL, 4),
            "len NULL": lambda: lib.acd_heap_len(ffi.NULL),
            "next NULL": lambda: lib.acd_heap_next_seq(ffi.NULL),
            "set NULL": lambda: lib.acd_heap_set_next_seq(ffi.NULL, 5),
            "set negative": lambda: lib.acd_heap_set_next_seq(h, -1),
            "check NULL": lambda: lib.acd_heap_check(ffi.NULL),
        }
        for what, call in refused.items():
            assert call() == lib.ACD_EARG, what
            assert state() == before, what
        assert lib.acd_heap_set_next_seq(h, 1) == lib.ACD_ESTATE
        assert state() == before
        assert lib.acd_heap_pop_due(h, 5.0, ffi.NULL, 0) == 0  # nothing asked
        assert lib.acd_heap_pop_due(h, 0.5, out, 4) == 0  # nothing due
        assert lib.acd_heap_pop_due(h, 5.0, out, 1) == 1 and out[0].seq == 1
        assert lib.acd_heap_check(h) == 0
        lib.acd_heap_free(ffi.NULL)  # a no-op
    finally:
        lib.acd_heap_free(h)
