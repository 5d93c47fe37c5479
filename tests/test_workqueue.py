"""acdcore.workqueue.Queue on both backends: against a sorted-list model,
refused calls that change nothing, and the native treap's C contract."""

from __future__ import annotations

import gc
import math
from typing import Any

import attrs
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import acdcore.backend
from acdcore.errors import (
    AcdError,
    ConfigError,
    DuplicateItem,
    InvalidValue,
    UnknownItem,
)
from acdcore.policies import (
    FIFO,
    AccumulatingPriority,
    CallFacts,
    EmergencyFirst,
    PriorityClasses,
    PriorityPolicy,
)
from acdcore.workqueue import KEY_LENGTH, Queue

POLICIES: list[PriorityPolicy] = [
    FIFO(),
    PriorityClasses(),
    AccumulatingPriority(seconds_per_level=5.0),
    EmergencyFirst(PriorityClasses()),
]

# Few distinct instants and priorities: equal keys but for the sequence number.
instants = st.sampled_from([0.0, 1.0, 1.5, 2.0, -3.0, 10.0])
priorities = st.integers(min_value=-2, max_value=3)


def state(q: Queue[Any]) -> tuple[Any, ...]:
    """Everything a caller can observe of a queue."""
    items = list(q)
    return (
        tuple(items),
        tuple(q.key(i) for i in items),
        tuple(q.position(i) for i in items),
        q.head(),
        len(q),
    )


# ------------------------------------------------------------- model check


class QueueVsModel(RuleBasedStateMachine):
    """Every operation on a Queue and on a plain sorted list of (key, item)."""

    items = Bundle("items")

    def __init__(self) -> None:
        super().__init__()
        self.model: list[tuple[tuple[float, ...], str]] = []
        self.seq = 0
        self.made = 0

    @initialize(policy=st.sampled_from(POLICIES))
    def build(self, policy: PriorityPolicy) -> None:
        self.policy = policy
        self.q: Queue[str] = Queue(policy)
        assert self.q.backend == acdcore.backend.BACKEND
        note(f"policy {policy.name}, backend {self.q.backend}")

    def _position_in_model(self, item: str) -> int:
        return [i for _, i in self.model].index(item) + 1

    @rule(target=items, arrived=instants, priority=priorities, emergency=st.booleans())
    def insert(self, arrived: float, priority: int, emergency: bool) -> str:
        item = f"t{self.made}"
        self.made += 1
        pos = self.q.insert(item, arrived=arrived, priority=priority, emergency=emergency)
        key = self.policy.key(CallFacts(self.seq, arrived, priority, emergency, {}))
        self.seq += 1
        self.model.append((key, item))
        self.model.sort()
        assert pos == self._position_in_model(item)
        return item

    @rule(target=items, head=st.integers(-5, 5), tail=st.integers(0, 3))
    def insert_key(self, head: int, tail: int) -> str:
        # Caller-made keys ending in a sequence number past every one used.
        item = f"k{self.made}"
        self.made += 1
        seq = self.seq + tail
        key = (float(head), seq)
        pos = self.q.insert_key(item, key)
        self.seq = seq + 1
        self.model.append((key, item))
        self.model.sort()
        assert pos == self._position_in_model(item)
        return item

    @rule(item=consumes(items))
    def remove(self, item: str) -> None:
        if item not in [i for _, i in self.model]:
            with pytest.raises(UnknownItem):
                self.q.remove(item)
            return
        self.q.remove(item)
        self.model = [(k, i) for k, i in self.model if i != item]

    @rule()
    def pop(self) -> None:
        if not self.model:
            before = state(self.q)
            with pytest.raises(UnknownItem):
                self.q.pop()
            assert state(self.q) == before
            return
        assert self.q.pop() == self.model.pop(0)[1]

    @rule(item=items)
    def duplicate(self, item: str) -> None:
        before = state(self.q)
        if item in self.q:
            with pytest.raises(DuplicateItem):
                self.q.insert(item, arrived=0.0)
            with pytest.raises(DuplicateItem):
                self.q.insert_key(item, (0.0, 10**9))
        assert state(self.q) == before

    @rule(head=st.integers(-6, 6), seq=st.integers(-1, 60))
    def ahead(self, head: int, seq: int) -> None:
        key = (float(head), seq)
        assert self.q.ahead(key) == sum(1 for k, _ in self.model if k < key)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def existing_key_refused(self, data: st.DataObject) -> None:
        key, _ = data.draw(st.sampled_from(self.model))
        before = state(self.q)
        with pytest.raises(InvalidValue, match="already held"):
            self.q.insert_key("fresh", key)
        assert state(self.q) == before

    @invariant()
    def same_as_model(self) -> None:
        if not hasattr(self, "q"):
            return
        assert list(self.q) == [i for _, i in self.model]
        assert len(self.q) == len(self.model)
        assert self.q.head() == (self.model[0][1] if self.model else None)
        for n, (key, item) in enumerate(self.model, 1):
            assert item in self.q
            assert self.q.position(item) == n
            assert self.q.key(item) == key
            assert self.q.ahead(key) == n - 1
        self.q.check()


def test_queue_matches_a_sorted_list() -> None:
    run_state_machine_as_test(QueueVsModel)


@given(st.lists(st.tuples(instants, priorities, st.booleans()), max_size=200))
def test_backends_order_alike(arrivals: list[tuple[float, int, bool]]) -> None:
    if not acdcore.backend.native_available():
        pytest.skip("native extension not built")
    queues = [
        Queue[int](EmergencyFirst(PriorityClasses()), backend=b) for b in ("python", "native")
    ]
    for q in queues:
        for n, (arrived, priority, emergency) in enumerate(arrivals):
            q.insert(n, arrived=arrived, priority=priority, emergency=emergency)
        for n in range(0, len(arrivals), 3):
            q.remove(n)
        q.check()
    assert state(queues[0]) == state(queues[1])


# ----------------------------------------------------------------- contract


def test_basic_order_and_positions(backend: str) -> None:
    q: Queue[str] = Queue(PriorityClasses())
    assert q.backend == backend
    assert q.insert("a", arrived=1.0) == 1
    assert q.insert("b", arrived=2.0) == 2
    assert q.insert("vip", arrived=3.0, priority=1) == 1  # a higher class goes first
    assert q.insert("c", arrived=0.5) == 2  # earlier arrival within class 0
    assert list(q) == ["vip", "c", "a", "b"]
    assert q.key("vip") == (-1, 3.0, 2)
    assert q.ahead((0, 0.9, 99)) == 2  # a class-0 arrival at 0.9 would wait behind vip and c
    assert q.head() == "vip" and q.pop() == "vip"
    assert q.position("b") == 3 and len(q) == 3 and "vip" not in q
    q.remove("a")
    assert list(q) == ["c", "b"]
    q.check()


def test_equal_keys_but_sequence_go_in_insertion_order(backend: str) -> None:
    q: Queue[str] = Queue()
    for name in ("x", "y", "z"):
        q.insert(name, arrived=5.0)
    assert list(q) == ["x", "y", "z"]
    assert [q.key(i)[-1] for i in q] == [0, 1, 2]


def test_items_are_told_apart_by_the_queue_not_by_value(backend: str) -> None:
    # Records that compare equal in order (and could not be compared at all)
    # are ordered by the queue's sequence numbers only.
    class Ticket:
        def __init__(self, name: str) -> None:
            self.name = name

    tickets = [Ticket(n) for n in "abc"]
    q: Queue[Ticket] = Queue()
    for t in reversed(tickets):
        q.insert(t, arrived=0.0)
    assert [t.name for t in q] == ["c", "b", "a"]


def test_insert_key_moves_the_counter_past_its_sequence(backend: str) -> None:
    q: Queue[str] = Queue()
    q.insert_key("d", (0.0, 41))
    q.insert("e", arrived=0.0)
    assert q.key("e") == (0.0, 42)
    assert list(q) == ["d", "e"]


def test_refused_inserts_change_nothing(backend: str) -> None:
    q: Queue[Any] = Queue(PriorityClasses())
    q.insert("a", arrived=1.0, priority=2)
    q.insert("b", arrived=2.0)
    before = state(q)
    bad: dict[str, Any] = {
        "nan arrived": lambda: q.insert("n", arrived=math.nan),
        "inf arrived": lambda: q.insert("n", arrived=math.inf),
        "string arrived": lambda: q.insert("n", arrived="now"),
        "bool priority": lambda: q.insert("n", arrived=1.0, priority=True),
        "float priority": lambda: q.insert("n", arrived=1.0, priority=1.5),
        "huge priority": lambda: q.insert("n", arrived=1.0, priority=2**60),
        "int emergency": lambda: q.insert("n", arrived=1.0, emergency=1),
        "list attributes": lambda: q.insert("n", arrived=1.0, attributes=[1]),
        "unhashable item": lambda: q.insert(["n"], arrived=1.0),
        "key too long": lambda: q.insert_key("n", (0,) * (KEY_LENGTH + 1)),
        "empty key": lambda: q.insert_key("n", ()),
        "list key": lambda: q.insert_key("n", [0.0, 5]),
        "nan in key": lambda: q.insert_key("n", (math.nan, 5)),
        "inf in key": lambda: q.insert_key("n", (math.inf, 5)),
        "bool in key": lambda: q.insert_key("n", (True, 5)),
        "str in key": lambda: q.insert_key("n", ("x", 5)),
        "int beyond 2**53": lambda: q.insert_key("n", (2**53 + 1, 5)),
        "float sequence": lambda: q.insert_key("n", (0.0, 5.0)),
        "key already held": lambda: q.insert_key("n", q.key("b")),
    }
    for what, call in bad.items():
        with pytest.raises(InvalidValue):
            call()
        assert state(q) == before, what
    with pytest.raises(DuplicateItem, match="'a' is already in the queue at position 1"):
        q.insert("a", arrived=0.0)
    with pytest.raises(ValueError):  # the builtin it resembles
        q.insert("a", arrived=0.0)
    assert state(q) == before
    q.check()


def test_unknown_items_raise_and_change_nothing(backend: str) -> None:
    q: Queue[str] = Queue()
    q.insert("a", arrived=0.0)
    before = state(q)
    for call in (
        lambda: q.remove("zz"),
        lambda: q.position("zz"),
        lambda: q.key("zz"),
        lambda: q.remove(["unhashable"]),  # type: ignore[arg-type]
    ):
        with pytest.raises(UnknownItem, match="not in the queue"):
            call()
        assert state(q) == before
    with pytest.raises(KeyError):
        q.remove("zz")
    assert ["x"] not in q
    q.pop()
    with pytest.raises(UnknownItem, match="empty"):
        q.pop()
    assert q.head() is None and list(q) == []
    with pytest.raises(InvalidValue):
        q.ahead((math.nan, 1))


def test_a_policy_that_refuses_an_item_refuses_the_insert(backend: str) -> None:
    q: Queue[str] = Queue(AccumulatingPriority(seconds_per_level=1e308))
    q.insert("a", arrived=0.0)
    before = state(q)
    with pytest.raises(InvalidValue, match="beyond the range of a float"):
        q.insert("b", arrived=0.0, priority=10)
    assert state(q) == before
    q.insert("b", arrived=1.0)  # the sequence number was not used up
    assert q.key("b") == (1.0, 1)


def test_bad_configuration(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        name = "broken"

        def key(self, call: CallFacts) -> tuple[float, ...]:
            return (call.arrived,)  # no sequence number

    with pytest.raises(ConfigError, match="sequence number"):
        Queue(Broken())
    with pytest.raises(ConfigError, match="not a priority policy"):
        Queue("fifo")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="backend must be"):
        Queue(backend="C")
    monkeypatch.setattr(acdcore.backend, "native_available", lambda: False)
    with pytest.raises(ConfigError, match="not built"):
        Queue(backend="native")
    assert Queue(backend="python").backend == "python"


def test_iterating_while_changing_raises(backend: str) -> None:
    q: Queue[int] = Queue()
    for i in range(200):
        q.insert(i, arrived=float(i))
    it = iter(q)
    assert next(it) == 0
    q.remove(150)
    with pytest.raises(RuntimeError, match="changed"):
        list(it)
    assert list(q) == [i for i in range(200) if i != 150]  # more than one chunk


def test_check_finds_a_broken_queue(backend: str) -> None:
    q: Queue[str] = Queue()
    q.insert("a", arrived=0.0)
    q.insert("b", arrived=1.0)
    q.check()
    q._keys["a"] = q.key("b")  # type: ignore[index]  # corrupt on purpose
    with pytest.raises(AssertionError):
        q.check()


# --------------------------------------------------------------- native C


def _lib() -> Any:
    from acdcore._native.core import load

    return load()


@pytest.mark.skipif(not acdcore.backend.native_available(), reason="native extension not built")
def test_native_queue_refuses_bad_arguments_with_codes() -> None:
    mod = _lib()
    ffi, lib = mod.ffi, mod.lib
    q = lib.acd_oq_new()
    try:
        key = ffi.new("double[6]", [1.0, 2.0, -math.inf, -math.inf, -math.inf, -math.inf])
        nan = ffi.new("double[6]", [math.nan] * 6)
        out = ffi.new("int[4]")
        h = lib.acd_oq_insert(q, key)
        assert h == 0 and lib.acd_oq_len(q) == 1
        refused = {
            "equal key": lambda: lib.acd_oq_insert(q, key),
            "NaN key": lambda: lib.acd_oq_insert(q, nan),
            "NULL key": lambda: lib.acd_oq_insert(q, ffi.NULL),
            "NULL queue": lambda: lib.acd_oq_insert(ffi.NULL, key),
            "unknown handle": lambda: lib.acd_oq_remove(q, 7),
            "negative handle": lambda: lib.acd_oq_index(q, -1),
            "NaN rank": lambda: lib.acd_oq_rank(q, nan),
            "negative start": lambda: lib.acd_oq_slice(q, -1, 1, out),
            "NULL out": lambda: lib.acd_oq_slice(q, 0, 1, ffi.NULL),
            "key of unknown": lambda: lib.acd_oq_key(q, 3, key),
            "NULL len": lambda: lib.acd_oq_len(ffi.NULL),
            "NULL check": lambda: lib.acd_oq_check(ffi.NULL),
        }
        for what, call in refused.items():
            assert call() < 0, what
            assert lib.acd_oq_len(q) == 1 and lib.acd_oq_check(q) == 0, what
        assert lib.acd_oq_remove(q, h) == 0
        assert lib.acd_oq_remove(q, h) < 0  # already removed
        assert lib.acd_oq_first(q) == -1 and lib.acd_oq_check(q) == 0
        assert lib.acd_oq_insert(q, key) == h  # the node number is reused
        lib.acd_oq_free(ffi.NULL)  # a no-op
    finally:
        lib.acd_oq_free(q)


@pytest.mark.skipif(not acdcore.backend.native_available(), reason="native extension not built")
def test_native_queue_is_freed_with_its_queue() -> None:
    q: Queue[str] = Queue(backend="native")
    q.insert("a", arrived=0.0)
    finalizer = q._store._finalizer  # type: ignore[attr-defined]
    assert finalizer.alive
    del q
    gc.collect()
    assert not finalizer.alive


@pytest.mark.skipif(not acdcore.backend.native_available(), reason="native extension not built")
def test_native_queue_large_random_workload_keeps_its_invariants() -> None:
    import random

    rng = random.Random(7)
    queues = [Queue[int](backend=b) for b in ("python", "native")]
    live: list[int] = []
    for n in range(3000):
        if live and rng.random() < 0.4:
            victim = live.pop(rng.randrange(len(live)))
            for q in queues:
                q.remove(victim)
        else:
            arrived = float(rng.randrange(50))
            for q in queues:
                q.insert(n, arrived=arrived)
            live.append(n)
    for q in queues:
        q.check()
    assert state(queues[0]) == state(queues[1])


def test_errors_are_acd_errors() -> None:
    assert issubclass(DuplicateItem, AcdError) and issubclass(DuplicateItem, ValueError)
    assert issubclass(UnknownItem, AcdError) and issubclass(UnknownItem, KeyError)
    assert str(UnknownItem("x 'a'")) == "x 'a'"  # no KeyError quoting


class _Rec:
    """An item that carries its own key, as the distributor's call records do."""

    def __init__(self, key: tuple[float, ...]) -> None:
        self.key = key


def test_a_queue_of_items_with_their_own_keys_matches_one_that_keeps_keys(backend: str) -> None:
    import random

    rng = random.Random(3)
    own: Queue[_Rec] = Queue(key_of=lambda r: r.key)
    kept: Queue[_Rec] = Queue()
    live: list[_Rec] = []
    for seq in range(600):
        if live and rng.random() < 0.4:
            victim = live.pop(rng.randrange(len(live)))
            own.remove(victim)
            kept.remove(victim)
        else:
            rec = _Rec((float(rng.randrange(20)), seq))
            assert own.insert_key(rec, rec.key) == kept.insert_key(rec, rec.key)
            live.append(rec)
        assert own.head() is kept.head()
    own.check()
    assert list(own) == list(kept)
    assert [own.position(r) for r in live] == [kept.position(r) for r in live]
    assert own.ahead((5.0, 0)) == kept.ahead((5.0, 0))
    stranger = _Rec(live[0].key)  # same key, another object: not in the queue
    assert stranger not in own and live[0] in own
    with pytest.raises(UnknownItem):
        own.remove(stranger)


def test_a_queue_with_key_of_refuses_foreign_keys_and_plain_inserts(backend: str) -> None:
    q: Queue[_Rec] = Queue(key_of=lambda r: r.key)
    rec = _Rec((1.0, 0))
    with pytest.raises(InvalidValue, match="not the item's own key"):
        q.insert_key(rec, (2.0, 0))
    with pytest.raises(ConfigError, match="insert_key"):
        q.insert(rec, arrived=0.0)
    assert len(q) == 0
    q.insert_key(rec, rec.key)
    rec.key = (9.0, 9)  # an item whose key changed while it waits is no longer found
    with pytest.raises(AssertionError):
        q.check()
    with pytest.raises(ConfigError, match="key_of"):
        Queue(key_of=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="None"):
        Queue[Any]().insert(None, arrived=0.0)


def test_insert_own_files_an_item_under_its_own_key_and_refuses_duplicates(backend: str) -> None:
    q: Queue[_Rec] = Queue(key_of=lambda r: r.key)
    a, b = _Rec((2.0, 0)), _Rec((1.0, 1))
    assert q.insert_own(a) == 1 and q.insert_own(b) == 1 and list(q) == [b, a]
    with pytest.raises(DuplicateItem):
        q.insert_own(a)
    with pytest.raises(InvalidValue, match="already held"):
        q.insert_own(_Rec((2.0, 0)))
    q.check()
    with pytest.raises(ConfigError, match="key_of"):
        Queue[str]().insert_own("x")


def test_ordered_reads_the_same_items_as_iteration(backend: str) -> None:
    q: Queue[_Rec] = Queue(key_of=lambda r: r.key)
    recs = [_Rec((float(i % 7), i)) for i in range(150)]
    for r in recs:
        q.insert_own(r)
    assert list(q.ordered()) == list(q) == sorted(recs, key=lambda r: r.key)
    q.check()


@attrs.frozen
class _BrokenPolicy:
    """A custom policy that fails with a plain exception on some items."""

    @property
    def name(self) -> str:
        return "broken"

    def key(self, call: CallFacts) -> tuple[float, ...]:
        if call.attributes.get("boom"):
            raise TypeError("cannot order this")
        return (call.arrived, call.seq)


def test_a_policy_that_fails_on_an_item_is_refused_as_invalid_value(backend: str) -> None:
    q: Queue[str] = Queue(_BrokenPolicy())
    q.insert("a", arrived=0.0)
    with pytest.raises(InvalidValue, match="policy 'broken' failed: TypeError"):
        q.insert("b", arrived=1.0, attributes={"boom": True})
    assert list(q) == ["a"] and "b" not in q
    q.check()


@pytest.mark.skipif(not acdcore.backend.native_available(), reason="native extension not built")
@given(
    st.lists(
        st.tuples(st.sampled_from(["insert", "remove", "grow"]), st.integers(0, 40)),
        max_size=80,
    )
)
def test_native_queue_with_shared_keys_reads_them_in_place(ops: list[tuple[str, int]]) -> None:
    """acd_oq_new_shared (the engine's queues): the nodes hold no keys, they
    read item ``ref``'s key in an array that may be reallocated between
    calls; ranks, order, first and the invariants are a sorted list's."""
    mod = _lib()
    ffi, lib = mod.ffi, mod.lib
    stride, offset = 8 * 8, 16  # items of 8 doubles, the key from the third
    size = 4
    items = ffi.new("double[]", size * 8)
    base = ffi.new("void *[1]", [items])
    q = lib.acd_oq_new_shared(base, stride, offset)
    handle: dict[int, int] = {}  # item -> node
    try:
        assert q != ffi.NULL
        assert lib.acd_oq_insert(q, ffi.new("double[6]")) < 0  # not for a shared queue
        for op, n in ops:
            item = n % size
            if op == "grow":  # a reallocation: the keys move, the queue follows
                bigger = ffi.new("double[]", 2 * size * 8)
                ffi.memmove(bigger, items, size * 8 * 8)
                ffi.memmove(items, b"\xff" * (size * 8 * 8), size * 8 * 8)  # poison the old
                items, size = bigger, 2 * size
                base[0] = items
            elif op == "insert" and item not in handle:
                key = [float(n % 7), float(item), *([-math.inf] * 4)]
                for i, v in enumerate(key):
                    items[item * 8 + 2 + i] = v
                h = lib.acd_oq_insert_shared(q, item)
                assert h >= 0
                handle[item] = h
            elif op == "remove" and item in handle:
                assert lib.acd_oq_remove(q, handle.pop(item)) == 0
            note(f"{op} {item}")
            assert lib.acd_oq_check(q) == 0
            order = sorted(handle, key=lambda i: (items[i * 8 + 2], items[i * 8 + 3]))
            assert lib.acd_oq_len(q) == len(order)
            for place, i in enumerate(order):
                assert lib.acd_oq_index(q, handle[i]) == place
            assert lib.acd_oq_first(q) == (handle[order[0]] if order else -1)
            out = ffi.new("int[]", max(1, len(order)))
            got = lib.acd_oq_slice(q, 0, len(order), out)
            assert [out[k] for k in range(got)] == [handle[i] for i in order]
    finally:
        lib.acd_oq_free(q)
