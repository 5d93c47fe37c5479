"""The JSON form of events and actions: every type round-trips, through
text too, and malformed input is refused with an InvalidValue naming the field."""

from __future__ import annotations

import json
import random
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from acdcore import (
    AgentLoggedIn,
    AgentProfile,
    CallArrived,
    Channel,
    Distributor,
    InvalidValue,
    QueueMembership,
    SkillRequirement,
    actions,
    events,
)
from acdcore.codec import _TYPES, SCHEMA, dumps, from_json, loads, to_json

from .test_determinism import drive, ops, setups

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_data = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
attributes = st.dictionaries(st.text(max_size=6), json_data, max_size=4)
profiles = st.builds(
    AgentProfile,
    st.text(min_size=1, max_size=5),
    skills=st.dictionaries(st.sampled_from(["tech", "billing"]), st.integers(1, 10)),
    queues=st.dictionaries(
        st.sampled_from(["q", "r"]),
        st.builds(
            QueueMembership,
            priority=st.integers(1, 3),
            delay=st.sampled_from([0.0, 2.5]),
            position=st.integers(0, 3),
            weight=st.integers(1, 3),
        ),
    ),
    capacity=st.sampled_from([{Channel.VOICE: 1}, {Channel.VOICE: 1, Channel.CHAT: 2}]),
    region=st.one_of(st.none(), st.just("north")),
)


def _value(hint: str) -> st.SearchStrategy[Any]:
    return {
        "float": st.one_of(st.floats(-1e12, 1e12), st.just(float("inf"))),
        "float | None": st.one_of(st.none(), st.floats(0, 1e6), st.just(float("inf"))),
        "int": st.integers(-(2**53), 2**53),
        "str": st.text(max_size=8),
        "str | None": st.one_of(st.none(), st.text(max_size=8)),
        "bool": st.booleans(),
        "Channel": st.sampled_from(Channel),
        "Mapping[str, Any]": attributes,
        "Mapping[str, int]": st.dictionaries(st.text(min_size=1, max_size=4), st.integers(1, 10)),
        "SkillRequirement | None": st.one_of(
            st.none(),
            st.builds(SkillRequirement, st.dictionaries(st.just("tech"), st.integers(1, 10))),
        ),
        "AgentProfile": profiles,
    }[hint]


def _objects(cls: type[Any]) -> st.SearchStrategy[Any]:
    return st.builds(cls, **{f.name: _value(str(f.type)) for f in attrs.fields(cls)})


every_object = st.one_of(*[_objects(cls) for cls in _TYPES.values()])


def test_every_event_and_action_type_has_a_form() -> None:
    names = {n for n in events.__all__ + actions.__all__ if n not in ("Event", "Action")}
    assert set(_TYPES) == names


@given(obj=every_object)
def test_every_event_and_action_round_trips(obj: Any) -> None:
    data = to_json(obj)
    assert data["type"] == type(obj).__name__ and data["v"] == SCHEMA
    assert json.loads(json.dumps(data)) == data  # plain JSON data
    assert from_json(data) == obj
    assert loads(dumps(obj)) == obj


@given(setup=setups(), steps=ops)
def test_a_run_round_trips(setup: Any, steps: list[tuple[int, int, float]]) -> None:
    """Every action a real run produces, and every event that caused it."""
    configs, plan, seed = setup
    out = drive(Distributor(configs, rng=random.Random(seed), plan=plan), steps, read=False)
    for item in out:
        if not isinstance(item, (str, dict)):  # refusals, and the final snapshot()
            assert loads(dumps(item)) == item


def test_the_form_of_an_arrival_and_a_login() -> None:
    ev = CallArrived(
        now=12.5,
        call_id="c1",
        queue="sales",
        channel=Channel.CHAT,
        attributes={"tier": "gold", "tags": ["a", 1]},
        requirement={"tech": 3},
        priority=1,
    )
    assert to_json(ev) == {
        "type": "CallArrived",
        "v": 1,
        "now": 12.5,
        "call_id": "c1",
        "queue": "sales",
        "channel": "chat",
        "attributes": {"tier": "gold", "tags": ["a", 1]},
        "requirement": {"tech": 3},
        "priority": 1,
        "emergency": False,
        "preferred_agent": None,
    }
    login = AgentLoggedIn(
        now=0,
        profile=AgentProfile(
            "a", skills={"tech": 5}, queues=["q"], capacity={Channel.VOICE: 1, Channel.CHAT: 2}
        ),
    )
    assert to_json(login)["profile"] == {
        "agent_id": "a",
        "skills": {"tech": 5},
        "queues": {"q": {"priority": 1, "delay": 0.0, "position": 0, "weight": 1}},
        "capacity": {"voice": 1, "chat": 2},
        "exclusive": ["voice"],
        "region": None,
    }


GOOD = to_json(CallArrived(now=1.0, call_id="c", queue="q", requirement={"tech": 2}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "CallArived"}, "type: unknown event or action type 'CallArived'"),
        ({"type": None}, "type: unknown"),
        ({"v": 2}, "CallArrived.v: schema version 2 is not 1"),
        ({"v": True}, "CallArrived.v"),
        ({"extra": 1}, "CallArrived: unknown field 'extra'"),
        ({"now": "1"}, "CallArrived.now must be a number, got '1'"),
        ({"now": True}, "CallArrived.now must be a number"),
        ({"now": "nan"}, "CallArrived.now must be a number"),
        ({"priority": 1.5}, "CallArrived.priority must be an integer"),
        ({"call_id": 7}, "CallArrived.call_id must be a str"),
        ({"emergency": "yes"}, "CallArrived.emergency must be a bool"),
        ({"channel": "fax"}, "CallArrived.channel must be one of voice, chat, email, callback"),
        ({"attributes": [1]}, "CallArrived.attributes must be a JSON object"),
        ({"requirement": {"tech": 11}}, "CallArrived.requirement: "),
        ({"requirement": "tech"}, "CallArrived.requirement must be a JSON object"),
    ],
)
def test_malformed_input_names_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidValue, match="^" + __import__("re").escape(message)):
        from_json({**GOOD, **change})


def test_a_missing_field_is_named() -> None:
    data = dict(GOOD)
    del data["queue"]
    with pytest.raises(InvalidValue, match=r"^CallArrived\.queue is missing$"):
        from_json(data)


@pytest.mark.parametrize(
    "profile",
    [
        {"agent_id": "a"},
        {**to_json(AgentLoggedIn(now=0, profile=AgentProfile("a")))["profile"], "x": 1},
        {
            **to_json(AgentLoggedIn(now=0, profile=AgentProfile("a")))["profile"],
            "capacity": {"fax": 1},
        },
        {
            **to_json(AgentLoggedIn(now=0, profile=AgentProfile("a")))["profile"],
            "exclusive": "voice",
        },
        {
            **to_json(AgentLoggedIn(now=0, profile=AgentProfile("a")))["profile"],
            "queues": {"q": {"priority": 1}},
        },
        {**to_json(AgentLoggedIn(now=0, profile=AgentProfile("a")))["profile"], "skills": {"x": 0}},
    ],
)
def test_a_malformed_profile_is_refused(profile: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue, match=r"^AgentLoggedIn\.profile"):
        from_json({"type": "AgentLoggedIn", "v": 1, "now": 0, "profile": profile})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "must be a finite number for JSON"),
        (10**400, "must be a finite number for JSON"),
        ({1: "x"}, "key 1 is not a string"),
        ({"s": {1, 2}}, "has no JSON form"),
    ],
)
def test_attributes_json_cannot_hold_are_refused_when_written(value: Any, message: str) -> None:
    ev = CallArrived(now=0, call_id="c", queue="q", attributes={"x": value})
    with pytest.raises(InvalidValue, match=r"CallArrived\.attributes\.x"):
        to_json(ev)
    with pytest.raises(InvalidValue, match=message):
        dumps(ev)


@pytest.mark.parametrize(
    "text", ["", "{", "[]", '{"type": "CallEnded", "v": 1, "now": NaN, "call_id": "c"}', b"\xff"]
)
def test_text_that_is_not_an_event_is_refused(text: str | bytes) -> None:
    with pytest.raises(InvalidValue):
        loads(text)


def test_an_object_that_is_not_an_event_is_refused() -> None:
    with pytest.raises(InvalidValue, match="not an acdcore event or action"):
        to_json(object())  # type: ignore[arg-type]
