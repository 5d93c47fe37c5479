"""Netstrings, the framing of Kamailio's evapi socket (acdcore.adapters.netstring)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acdcore.adapters.netstring import NetstringError, NetstringReader, encode


@pytest.fixture(params=["python"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_encode() -> None:
    assert encode(b"") == b"0:,"
    assert encode(b'{"a":1}') == b'7:{"a":1},'


@given(st.lists(st.binary(max_size=300), max_size=20), st.data())
def test_any_cut_of_the_stream_gives_the_same_payloads(
    payloads: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(encode(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = NetstringReader()
    out: list[bytes] = []
    last = 0
    for cut in [*cuts, len(stream)]:
        out += reader.feed(stream[last:cut])
        last = cut
    assert out == payloads
    assert reader.feed(b"") == []


@pytest.mark.parametrize(
    "stream",
    [b"x:abc,", b"3:abcX", b"03:abc,", b"-1:,", b"12345678901:", b"abcdefghijklmnop"],
)
def test_malformed_streams_are_refused(stream: bytes) -> None:
    with pytest.raises(NetstringError):
        NetstringReader().feed(stream)


def test_a_payload_over_the_limit_is_refused_before_it_is_buffered() -> None:
    reader = NetstringReader(max_length=10)
    assert reader.feed(b"10:0123456789,") == [b"0123456789"]
    with pytest.raises(NetstringError, match="exceeds 10"):
        reader.feed(b"11:")
