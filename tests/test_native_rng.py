"""The native Mersenne Twister (acd_rng.c, through acdcore._native.rng)
against its reference, random.Random: the same draws and the same state
afterwards from any state, state round trips both ways, and refusals (at the
C boundary and in the Python face) that change nothing."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from acdcore import native_available
from acdcore._native.rng import N, NativeRandom
from acdcore.errors import InvalidValue

pytestmark = pytest.mark.skipif(not native_available(), reason="native extension not built")

U32 = (1 << 32) - 1
U64 = (1 << 64) - 1


@pytest.fixture(params=["native"], autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Overrides the suite-wide fixture: these tests are about the C code."""
    return str(request.param)


# --------------------------------------------------------------- strategies

# n for randrange: small, near powers of two (where rejection is likeliest or
# rarest), and anything up to 2**64 - 1.
_pow2 = st.integers(min_value=0, max_value=64).map(lambda e: 1 << e)
bounds = st.one_of(
    st.integers(min_value=1, max_value=10),
    st.builds(lambda p, d: min(max(p + d, 1), U64), _pow2, st.integers(-2, 2)),
    st.integers(min_value=1, max_value=U64),
    st.just(U64),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("randrange"), bounds),
        st.tuples(st.just("getrandbits"), st.integers(min_value=1, max_value=64)),
        st.tuples(st.just("random"), st.none()),
    ),
    max_size=120,
)


@st.composite
def states(draw: st.DrawFn) -> tuple[int, tuple[int, ...], None]:
    """A version 3 state: from a seed, with some words forced to edge values
    (or all zero), and any index, including 624 (regenerate next)."""
    if draw(st.integers(0, 20)) == 0:
        words = [0] * N
    else:
        gen = random.Random(draw(st.integers(min_value=0, max_value=U64)))
        words = [gen.getrandbits(32) for _ in range(N)]
        for place, value in draw(
            st.lists(st.tuples(st.integers(0, N - 1), st.sampled_from([0, 1, U32, 1 << 31])))
        ):
            words[place] = value
    index = draw(st.one_of(st.integers(0, N), st.sampled_from([0, N - 1, N])))
    return (3, (*words, index), None)


def _apply(gen: Any, ops: list[tuple[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for op, arg in ops:
        if op == "randrange":
            out.append(gen.randrange(arg))
        elif op == "getrandbits":
            out.append(gen.getrandbits(arg))
        else:
            out.append(gen.random())
    return out


def _same_run(reference: random.Random, ops: list[tuple[str, Any]]) -> None:
    native = NativeRandom.from_random(reference)
    assert native.to_state() == reference.getstate()
    got = _apply(native, ops)
    want = _apply(reference, ops)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert type(g) is type(w) and g == w, (i, ops[i], g, w)
    assert native.to_state() == reference.getstate()


# --------------------------------------------------------------- properties


@given(seed=st.integers(min_value=0, max_value=2**80), ops=operations)
def test_same_draws_and_state_as_random_from_a_seed(seed: int, ops: list[tuple[str, Any]]) -> None:
    _same_run(random.Random(seed), ops)


@given(state=states(), ops=operations)
def test_same_draws_and_state_as_random_from_any_state(
    state: tuple[int, tuple[int, ...], None], ops: list[tuple[str, Any]]
) -> None:
    reference = random.Random()
    reference.setstate(state)
    note(f"index {state[1][N]}")
    _same_run(reference, ops)


@given(state=states(), gauss=st.one_of(st.none(), st.floats(allow_nan=False)))
def test_state_round_trips_both_ways(
    state: tuple[int, tuple[int, ...], None], gauss: float | None
) -> None:
    # random -> native -> random
    reference = random.Random()
    reference.setstate((3, state[1], gauss))
    native = NativeRandom.from_random(reference)
    back = random.Random()
    back.setstate(native.to_state())
    assert back.getstate() == (3, state[1], None)  # gauss is not kept
    # native -> random -> native
    again = NativeRandom.from_random(back)
    assert again.to_state() == native.to_state() == (3, state[1], None)
    # and both continue identically
    assert [back.random(), back.getrandbits(64)] == [again.random(), again.getrandbits(64)]


def test_a_long_interleaved_run_crosses_many_blocks() -> None:
    driver = random.Random(20240611)
    ops: list[tuple[str, Any]] = []
    for _ in range(30_000):
        pick = driver.randrange(4)
        if pick == 0:
            ops.append(("randrange", driver.randrange(1, U64 + 1)))
        elif pick == 1:
            ops.append(("randrange", driver.randrange(1, 1 + (1 << driver.randrange(65)))))
        elif pick == 2:
            ops.append(("getrandbits", driver.randrange(1, 65)))
        else:
            ops.append(("random", None))
    _same_run(random.Random(99), ops)


def test_the_all_zero_state_is_reproduced_too() -> None:
    # CPython accepts it (and then draws zeros forever); so does the C code.
    reference = random.Random()
    reference.setstate((3, (0,) * N + (N,), None))
    _same_run(reference, [("randrange", 7), ("random", None), ("getrandbits", 64)] * 400)
    fresh = NativeRandom()
    assert fresh.to_state() == (3, (0,) * (N + 1), None)


# --------------------------------------------------------------- refusals


def _lib() -> tuple[Any, Any]:
    from acdcore._native.core import load

    mod = load()
    return mod.ffi, mod.lib


def test_c_functions_refuse_bad_arguments_with_codes_and_change_nothing() -> None:
    ffi, lib = _lib()
    source = random.Random(3)
    source.random()
    words = ffi.new("uint32_t[]", list(source.getstate()[1][:N]))
    rng = ffi.new("acd_rng *")
    assert lib.acd_rng_set_state(rng, words, 5) == 0
    before = bytes(ffi.buffer(rng))
    u64 = ffi.new("uint64_t *")
    dbl = ffi.new("double *")
    out_words = ffi.new("uint32_t[]", N)
    out_index = ffi.new("int *")
    refused = {
        "set NULL rng": lambda: lib.acd_rng_set_state(ffi.NULL, words, 0),
        "set NULL words": lambda: lib.acd_rng_set_state(rng, ffi.NULL, 0),
        "set index -1": lambda: lib.acd_rng_set_state(rng, words, -1),
        "set index 625": lambda: lib.acd_rng_set_state(rng, words, N + 1),
        "get NULL rng": lambda: lib.acd_rng_get_state(ffi.NULL, out_words, out_index),
        "get NULL words": lambda: lib.acd_rng_get_state(rng, ffi.NULL, out_index),
        "get NULL index": lambda: lib.acd_rng_get_state(rng, out_words, ffi.NULL),
        "bits k=0": lambda: lib.acd_rng_getrandbits(rng, 0, u64),
        "bits k=65": lambda: lib.acd_rng_getrandbits(rng, 65, u64),
        "bits k=-1": lambda: lib.acd_rng_getrandbits(rng, -1, u64),
        "bits NULL out": lambda: lib.acd_rng_getrandbits(rng, 8, ffi.NULL),
        "bits NULL rng": lambda: lib.acd_rng_getrandbits(ffi.NULL, 8, u64),
        "below n=0": lambda: lib.acd_rng_randbelow(rng, 0, u64),
        "below NULL out": lambda: lib.acd_rng_randbelow(rng, 5, ffi.NULL),
        "below NULL rng": lambda: lib.acd_rng_randbelow(ffi.NULL, 5, u64),
        "random NULL out": lambda: lib.acd_rng_random(rng, ffi.NULL),
        "random NULL rng": lambda: lib.acd_rng_random(ffi.NULL, dbl),
    }
    for what, call in refused.items():
        assert call() == lib.ACD_EARG, what
        assert bytes(ffi.buffer(rng)) == before, what
    # A corrupted stored index: every draw refuses it, nothing changes.
    for bad in (-1, N + 1, 1 << 30):
        rng.index = bad
        corrupt = bytes(ffi.buffer(rng))
        for what, call in {
            "bits": lambda: lib.acd_rng_getrandbits(rng, 8, u64),
            "below": lambda: lib.acd_rng_randbelow(rng, 5, u64),
            "random": lambda: lib.acd_rng_random(rng, dbl),
            "get": lambda: lib.acd_rng_get_state(rng, out_words, out_index),
        }.items():
            assert call() == lib.ACD_ESTATE, (bad, what)
            assert bytes(ffi.buffer(rng)) == corrupt, (bad, what)
    # set_state repairs it.
    assert lib.acd_rng_set_state(rng, words, 5) == 0
    assert bytes(ffi.buffer(rng)) == before


def test_python_face_refuses_bad_arguments_and_changes_nothing() -> None:
    native = NativeRandom.from_random(random.Random(11))
    before = native.to_state()
    for call in (
        lambda: native.randrange(0),
        lambda: native.randrange(-3),
        lambda: native.randrange(1 << 64),
        lambda: native.randrange(True),
        lambda: native.randrange(2.0),  # type: ignore[arg-type]
        lambda: native.getrandbits(0),
        lambda: native.getrandbits(65),
        lambda: native.getrandbits(-1),
    ):
        with pytest.raises(InvalidValue):
            call()
        assert native.to_state() == before
    good = random.Random(1).getstate()
    for state in (
        None,
        (2, good[1], None),
        (3, good[1][:-1], None),
        (3, (*good[1][:N], N + 1), None),
        (3, (*good[1][:N], -1), None),
        (3, (1 << 32, *good[1][1:]), None),
        (3, (-1, *good[1][1:]), None),
        (3, (1.5, *good[1][1:]), None),
    ):
        with pytest.raises(InvalidValue):
            NativeRandom.from_state(state)
