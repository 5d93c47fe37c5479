"""FrozenMap, the compact read-only mapping freeze_mapping returns: it behaves
as the dict it was built from, cannot be changed, and shares its keys."""

from __future__ import annotations

import copy
import pickle
import sys
import tracemalloc
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acdcore import _frozenmap
from acdcore._frozenmap import FrozenMap
from acdcore.events import CallArrived
from acdcore.skills import freeze_mapping

keys = st.one_of(st.text(max_size=4), st.integers(-3, 3))
values = st.one_of(st.none(), st.integers(), st.text(max_size=4), st.floats(allow_nan=False))
mappings = st.dictionaries(keys, values, max_size=6)


@given(mappings, st.lists(keys, max_size=4))
def test_reads_as_the_dict_it_was_built_from(d: dict[Any, Any], probes: list[Any]) -> None:
    m = freeze_mapping(d)
    assert m == d and d == m
    assert list(m) == list(d)
    assert list(m.items()) == list(d.items())
    assert list(m.values()) == list(d.values())
    # the views are the usual set-like ones (only their iteration is faster)
    assert m.items() == d.items() and len(m.items()) == len(d)
    assert all((k, v) in m.items() for k, v in d.items())
    assert ("absent", object()) not in m.items()
    assert m.keys() == d.keys() and len(m.values()) == len(d)
    assert all(v in m.values() for v in d.values())
    assert repr(m.items()) == f"ItemsView({m!r})" and repr(m.values()) == f"ValuesView({m!r})"
    assert len(m) == len(d)
    assert dict(m) == d and {**m} == d
    for k in [*d, *probes]:
        assert (k in m) == (k in d)
        assert m.get(k) == d.get(k)
        assert m.get(k, "absent") == d.get(k, "absent")
        if k in d:
            assert m[k] == d[k]
        else:
            with pytest.raises(KeyError):
                m[k]


@given(mappings, mappings)
def test_equality_is_the_dicts(a: dict[Any, Any], b: dict[Any, Any]) -> None:
    assert (freeze_mapping(a) == freeze_mapping(b)) == (a == b)
    assert (freeze_mapping(a) != b) == (a != b)


@given(mappings)
def test_a_copy_owns_its_values(d: dict[Any, Any]) -> None:
    m = freeze_mapping(d)
    want = dict(d)
    d["late"] = 1
    d.clear()
    assert m == want
    assert copy.deepcopy(m) == want and copy.copy(m) == want
    assert pickle.loads(pickle.dumps(m)) == want


def test_read_only() -> None:
    m = freeze_mapping({"caller": "+15550001"})
    assert isinstance(m, FrozenMap)
    with pytest.raises(TypeError):
        m["caller"] = "x"  # type: ignore[index]
    with pytest.raises(AttributeError):
        m._values = ("x",)  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(m)
    assert repr(m) == "FrozenMap({'caller': '+15550001'})"
    assert freeze_mapping(m) is m


def test_maps_with_the_same_keys_share_their_index() -> None:
    a = freeze_mapping({"caller": "1", "tier": "gold"})
    b = freeze_mapping({"caller": "2", "tier": "silver"})
    c = freeze_mapping({"tier": "gold", "caller": "1"})  # another order: another key set
    assert isinstance(a, FrozenMap) and isinstance(b, FrozenMap) and isinstance(c, FrozenMap)
    assert a._index is b._index
    assert c._index is not a._index and c == a


def test_the_shared_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_frozenmap, "_SHARED", {})
    monkeypatch.setattr(_frozenmap, "MAX_SHARED", 3)
    maps = [freeze_mapping({f"k{i}": i}) for i in range(10)]
    assert len(_frozenmap._SHARED) <= 3
    assert [m[f"k{i}"] for i, m in enumerate(maps)] == list(range(10))


@given(st.integers(0, 3 * _frozenmap.MAX_SHARED))
def test_many_key_sets_never_stop_a_common_one_being_shared(others: int) -> None:
    """However many distinct key sets came before (agents' skills, say), the
    next maps with a common key set share one index. The first version kept
    an index per map once the table was full: 184 bytes more a call."""
    table = _frozenmap._SHARED
    saved = dict(table)
    table.clear()  # as in a fresh process: the agents' skills come first
    try:
        for i in range(others):
            freeze_mapping({f"skill{i}": 1})
        a = freeze_mapping({"caller": "1"})
        b = freeze_mapping({"caller": "2"})
        assert isinstance(a, FrozenMap) and isinstance(b, FrozenMap)
        assert a._index is b._index
    finally:
        table.clear()
        table.update(saved)


def test_a_call_s_attributes_are_small() -> None:
    """The point of FrozenMap: a waiting call's one-key attributes cost about
    100 bytes, not the 224 of a MappingProxyType over a copied dict."""
    _frozenmap._SHARED.clear()  # as in a fresh process, then 10,000 agents' skills
    for i in range(2 * _frozenmap.MAX_SHARED):
        freeze_mapping({f"skill{i}": 1})
    freeze_mapping({"caller": "warm"})
    values = [f"+1555{i:07d}" for i in range(2000)]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    held = [freeze_mapping({"caller": v}) for v in values]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_map = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(held)
    assert per_map < 140, per_map  # about 96 + the list's slot; a proxy was 224+
    assert sys.getsizeof(held[0]) < 80


def test_events_hold_a_frozen_copy() -> None:
    attributes = {"caller": "+15550001", "tier": "gold"}
    ev = CallArrived(now=0.0, call_id="c1", queue="q", attributes=attributes)
    attributes["tier"] = "changed"
    assert ev.attributes == {"caller": "+15550001", "tier": "gold"}
    assert isinstance(ev.attributes, FrozenMap)
