"""The Python face of the native Mersenne Twister (``acd_rng.c``; internal).

A building block of the coming C engine (see ``docs/internals.md``, "Toward
one engine"): the engine's random strategies will draw from this generator,
loaded from the injected :class:`random.Random`, so that both backends draw
the same numbers. Nothing else uses it yet. Its reference is
:class:`random.Random` itself: from the same state, :class:`NativeRandom`
gives the same ``randrange(n)``, ``getrandbits(k)`` and ``random()`` and
leaves the same state behind (``tests/test_native_rng.py`` checks both).

Every method is O(1) amortized (a block of 624 words is regenerated every
624 words drawn); the state is 2.5 KB.
"""

from __future__ import annotations

import random
from typing import Any

from ..errors import InvalidValue
from .core import NativeError, load

__all__ = ["NativeRandom"]

N = 624
"""Words in the Mersenne Twister's state."""

_U64 = 1 << 64


class NativeRandom:
    """A Mersenne Twister in C with the state and draws of
    :class:`random.Random` (version 3 states; ``gauss`` is not kept)."""

    __slots__ = ("_dout", "_ffi", "_lib", "_out", "_rng")

    def __init__(self) -> None:
        """A generator in the all-zero state; load a real one with
        :meth:`from_random` or :meth:`from_state`."""
        mod = load()
        self._ffi: Any = mod.ffi
        self._lib: Any = mod.lib
        self._rng: Any = self._ffi.new("acd_rng *")  # zeroed: freed with the object
        self._out: Any = self._ffi.new("uint64_t *")
        self._dout: Any = self._ffi.new("double *")

    @classmethod
    def from_random(cls, rng: random.Random) -> NativeRandom:
        """A generator in ``rng``'s current state (``rng`` is not changed)."""
        return cls.from_state(rng.getstate())

    @classmethod
    def from_state(cls, state: object) -> NativeRandom:
        """A generator in a state from :meth:`random.Random.getstate`:
        ``(3, (624 words..., index), None-or-float)``. Raises InvalidValue for
        anything else (a word outside 0..2**32-1, an index outside 0..624)."""
        if not (isinstance(state, tuple) and len(state) == 3 and state[0] == 3):
            raise InvalidValue("NativeRandom: not a version 3 random.Random state")
        inner = state[1]
        if not (isinstance(inner, tuple) and len(inner) == N + 1):
            raise InvalidValue(f"NativeRandom: the state must hold {N} words and an index")
        for word in inner:
            if type(word) is not int or not 0 <= word < 1 << 32:
                raise InvalidValue(f"NativeRandom: state word {word!r} is not a 32-bit integer")
        gen = cls()
        gen._load(inner[:N], inner[N])
        return gen

    def _load(self, words: tuple[int, ...], index: int) -> None:
        if not 0 <= index <= N:
            raise InvalidValue(f"NativeRandom: state index {index} is not in 0..{N}")
        buf = self._ffi.new("uint32_t[]", list(words))
        _check(self._lib.acd_rng_set_state(self._rng, buf, index), "set_state")

    def to_state(self) -> tuple[int, tuple[int, ...], None]:
        """The state, as :meth:`random.Random.setstate` accepts it."""
        buf = self._ffi.new("uint32_t[]", N)
        index = self._ffi.new("int *")
        _check(self._lib.acd_rng_get_state(self._rng, buf, index), "get_state")
        return (3, (*buf, index[0]), None)

    def randrange(self, n: int) -> int:
        """``random.Random.randrange(n)`` for 1 <= n < 2**64."""
        if type(n) is not int or not 0 < n < _U64:
            raise InvalidValue(f"NativeRandom.randrange: n={n!r} is not in 1..2**64-1")
        _check(self._lib.acd_rng_randbelow(self._rng, n, self._out), "randbelow")
        return int(self._out[0])

    def getrandbits(self, k: int) -> int:
        """``random.Random.getrandbits(k)`` for 1 <= k <= 64."""
        if type(k) is not int or not 0 < k <= 64:
            raise InvalidValue(f"NativeRandom.getrandbits: k={k!r} is not in 1..64")
        _check(self._lib.acd_rng_getrandbits(self._rng, k, self._out), "getrandbits")
        return int(self._out[0])

    def random(self) -> float:
        """``random.Random.random()``: a float in [0, 1)."""
        _check(self._lib.acd_rng_random(self._rng, self._dout), "random")
        return float(self._dout[0])


def _check(rc: int, what: str) -> None:
    """Raise for a negative code (the arguments were checked above, so one
    means a broken state or contract)."""
    if rc < 0:
        raise NativeError(f"native rng: {what}: code {rc}")
