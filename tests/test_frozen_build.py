"""The builders of acdcore._frozen_build (the façade's actions, the
policies' CallFacts) make exactly the objects the classes' own constructors
make: the same class, equal, the same fields in the same types, for drawn
values; and each sets every field its class has (a field added to the class
fails here first)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from acdcore import _frozen_build
from acdcore._frozenmap import FrozenMap
from acdcore.actions import CancelOffer, Offer, Queued, Reject
from acdcore.policies import CallFacts
from acdcore.skills import Channel

BUILDERS: list[tuple[Callable[..., Any], type]] = [
    (_frozen_build.offer, Offer),
    (_frozen_build.queued, Queued),
    (_frozen_build.cancel, CancelOffer),
    (_frozen_build.reject, Reject),
    (_frozen_build.call_facts, CallFacts),
]

instants = st.floats(allow_nan=False, allow_infinity=False)
names = st.text(min_size=1, max_size=6)
attributes = st.dictionaries(names, st.integers() | names, max_size=3)
mappings = st.one_of(
    attributes,
    attributes.map(MappingProxyType),
    attributes.map(FrozenMap),
    st.just({}),
)


@pytest.mark.parametrize(("build", "cls"), BUILDERS, ids=lambda x: getattr(x, "__name__", ""))
def test_each_builder_sets_every_field_of_its_class_in_order(
    build: Callable[..., Any], cls: type
) -> None:
    assert list(inspect.signature(build).parameters) == [f.name for f in attrs.fields(cls)]


def same(built: Any, made: Any) -> None:
    assert type(built) is type(made)
    assert built == made
    for f in attrs.fields(type(made)):
        a, b = getattr(built, f.name), getattr(made, f.name)
        assert type(a) is type(b), f.name
        assert a == b, f.name
    assert repr(built) == repr(made)
    try:
        h = hash(made)  # CallFacts over a dict is not hashable
    except TypeError:
        h = None
    if h is not None:
        assert hash(built) == h


@given(
    at=instants,
    call_id=names,
    agent_id=names,
    queue=names,
    channel=st.sampled_from(list(Channel)),
    attrs_=mappings,
    waited=instants,
    ring=instants,
    rule=names,
    last=st.none() | names,
)
def test_offer_as_the_constructor_makes_it(
    at: float,
    call_id: str,
    agent_id: str,
    queue: str,
    channel: Channel,
    attrs_: Any,
    waited: float,
    ring: float,
    rule: str,
    last: str | None,
) -> None:
    args = (at, call_id, agent_id, queue, channel, attrs_, waited, ring, rule, last)
    kw = dict(zip([f.name for f in attrs.fields(Offer)], args, strict=True))
    same(_frozen_build.offer(*args), Offer(**kw))


@given(at=instants, call_id=names, queue=names, position=st.integers(1, 10**6), reason=names)
def test_queued_as_the_constructor_makes_it(
    at: float, call_id: str, queue: str, position: int, reason: str
) -> None:
    made = Queued(at=at, call_id=call_id, queue=queue, position=position, reason=reason, rule="r")
    same(_frozen_build.queued(at, call_id, queue, position, reason, "r"), made)


@given(at=instants, call_id=names, other=names, reason=names)
def test_cancel_and_reject_as_the_constructors_make_them(
    at: float, call_id: str, other: str, reason: str
) -> None:
    same(
        _frozen_build.cancel(at, call_id, other, reason),
        CancelOffer(at=at, call_id=call_id, agent_id=other, reason=reason),
    )
    same(
        _frozen_build.reject(at, call_id, other, reason),
        Reject(at=at, call_id=call_id, queue=other, reason=reason),
    )


@given(
    seq=st.integers(0, 2**53),
    arrived=instants,
    priority=st.integers(-(2**53), 2**53),
    emergency=st.booleans(),
    attrs_=mappings,
)
def test_call_facts_as_the_constructor_makes_them(
    seq: int, arrived: float, priority: int, emergency: bool, attrs_: Any
) -> None:
    made = CallFacts(
        seq=seq, arrived=arrived, priority=priority, emergency=emergency, attributes=attrs_
    )
    same(_frozen_build.call_facts(seq, arrived, priority, emergency, attrs_), made)


def test_a_built_action_is_as_frozen_as_a_made_one() -> None:
    built = _frozen_build.queued(1.0, "c", "q", 1, "arrived", "default")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.position = 2  # type: ignore[misc]
