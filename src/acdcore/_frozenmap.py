"""A compact read-only mapping: what :func:`acdcore.skills.freeze_mapping`
returns for the attributes of calls, events, actions and the like (internal).

A waiting call keeps its attributes for as long as it waits, and a large
backlog holds one mapping per call, nearly always with the same few keys
(``caller``, ``tier``, ...). A ``MappingProxyType`` over a copied dict costs
about 224 bytes for one key (three blocks: the proxy, the dict, its table);
a :class:`FrozenMap` costs about 96 (two blocks: itself and a tuple of the
values), because the keys and their index are shared by every map with the
same keys in the same order.

Complexity: building one from a mapping of n keys is O(n) (one tuple of
the keys, looked up in the shared table, one tuple of the values); a lookup
is O(1) (a dict lookup in the shared index, then a tuple index);
iteration, ``len`` and equality are as for a dict. The shared table holds at
most :data:`MAX_SHARED` key sets: when a new one would pass that, the table
is emptied and starts again (the maps made before keep the index they have),
so keys that differ from map to map (agents' skills, say) cannot grow it
without bound, nor crowd out the few key sets that calls share.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from typing import Any, Generic, TypeVar, cast, overload

__all__ = ["MAX_SHARED", "FrozenMap"]

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

MAX_SHARED = 4096
"""Key sets held in the shared table before it is emptied."""

_SHARED: dict[tuple[Any, ...], dict[Any, int]] = {}


def _index_of(keys: tuple[Any, ...]) -> dict[Any, int]:
    index = _SHARED.get(keys)
    if index is None:
        if len(_SHARED) >= MAX_SHARED:
            _SHARED.clear()
        index = _SHARED.setdefault(keys, {k: i for i, k in enumerate(keys)})
    return index


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A read-only mapping with its keys' index shared by every map that has
    the same keys in the same order (see the module docstring for sizes and
    complexity). It iterates in the order of the mapping it was built from,
    compares equal to any mapping with the same items (a dict included), and
    is not hashable, like the dict it stands for."""

    __slots__ = ("_index", "_values")

    _index: dict[K, int]
    _values: tuple[V, ...]

    def __init__(self, value: Mapping[K, V]) -> None:
        keys = tuple(value)
        object.__setattr__(self, "_index", _index_of(keys))
        object.__setattr__(self, "_values", tuple([value[k] for k in keys]))

    def __getitem__(self, key: K) -> V:
        return self._values[self._index[key]]

    @overload
    def get(self, key: K, /) -> V | None: ...

    @overload
    def get(self, key: K, default: V | D, /) -> V | D: ...

    def get(self, key: K, default: Any = None, /) -> Any:
        i = self._index.get(key)
        return default if i is None else self._values[i]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[K]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def items(self) -> ItemsView[K, V]:
        """The usual set-like view, iterated at C speed (keys zipped with
        values, not a lookup per key)."""
        return _Items(self)

    def values(self) -> ValuesView[V]:
        """The usual view, iterated at C speed (the values' tuple)."""
        return _Values(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            if other._index is self._index:
                return bool(self._values == other._values)
            return dict(self.items()) == dict(other.items())
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a FrozenMap is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a FrozenMap is read-only (cannot delete {name!r})")

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self.items())!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (dict(self.items()),))


class _Items(ItemsView[K, V]):
    """A FrozenMap's items view: ``ItemsView`` with a C-level iterator."""

    __slots__ = ()
    _mapping: Mapping[K, V]  # MappingView's slot (typeshed leaves it out)

    def __iter__(self) -> Iterator[tuple[K, V]]:
        m = cast("FrozenMap[K, V]", self._mapping)
        return zip(m._index, m._values, strict=True)

    def __repr__(self) -> str:
        return f"ItemsView({self._mapping!r})"


class _Values(ValuesView[V]):
    """A FrozenMap's values view: ``ValuesView`` with a C-level iterator."""

    __slots__ = ()
    _mapping: Mapping[Any, V]  # MappingView's slot (typeshed leaves it out)

    def __iter__(self) -> Iterator[V]:
        return iter(cast("FrozenMap[Any, V]", self._mapping)._values)

    def __repr__(self) -> str:
        return f"ValuesView({self._mapping!r})"
