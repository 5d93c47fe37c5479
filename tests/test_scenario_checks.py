"""Scenarios are checked in full at load: a hostile value anywhere gives a
ConfigError naming it, never another exception, and never a scenario the
distributor would refuse mid-run or that would exhaust memory."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import acdcore._scenario_parts
import acdcore.distributions
from acdcore import Scenario, simulate
from acdcore.errors import ConfigError
from acdcore.scenario import (
    MAX_AGENTS,
    MAX_CALLS,
    MAX_GROUP_AGENTS,
    MAX_REPLICATIONS,
    _toml_key,
    _toml_value,
)

# ------------------------------------------------------------------ helpers


def toml_value(value: Any) -> str:
    """TOML for plain data, everything inline (the writer scenarios save with)."""
    return _toml_value(value)


def toml(data: dict[str, Any]) -> str:
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in data.items())


def base() -> dict[str, Any]:
    """A valid scenario using most keys (a plan, call types, breaks...)."""
    return {
        "name": "fuzz",
        "description": "a scenario to break",
        "seed": 7,
        "replications": 2,
        "duration": 3600,
        "warmup": 600,
        "drain": 1800,
        "start": "08:00",
        "service_level": {"threshold": 20, "target": 0.8, "variant": "b", "short_abandon": 5},
        "distributions": {
            "talk": {"kind": "lognormal", "mean": 240, "sd": 120},
            "pickup": {"kind": "uniform", "low": 1, "high": 4},
            "seen": {"kind": "empirical", "values": [60, 120, 300]},
            "patience": {"kind": "exponential", "mean": 300},
        },
        "queues": [
            {
                "name": "support",
                "policy": "accumulating",
                "strategy": "longest-idle",
                "requirement": {"english": 3},
                "ring_timeout": 15,
                "wrap_up": 10,
                "no_answer": {"delay": 5, "auto_pause_after": 3},
                "max_length": 50,
                "preferred_agent_wait": 30,
                "handle": "talk",
                "patience": "patience",
                "sl_threshold": 20,
                "sl_target": 0.8,
                "announce": {"every": 45, "min_change": 15},
                "callback": {"threshold": 120, "retries": 2, "accept": 0.4, "answer": 0.8},
            },
            {
                "name": "vip",
                "policy": {"name": "value-urgency", "matrix": [[0, 1], [2, 3]]},
                "handle": "seen",
            },
            {"name": "gold", "policy": {"name": "emergency-first", "inner": "priority-classes"}},
        ],
        "agents": [
            {
                "name": "day",
                "count": 3,
                "skills": {"english": 5},
                "queues": {"support": {"priority": 1}, "vip": {"priority": 2, "delay": 10}},
                "region": "north",
                "shift": "07:00-12:00",
                "breaks": [{"start": "09:00", "duration": 300, "reason": "coffee"}],
                "stagger": 60,
                "rona": 0.05,
                "answer_delay": "pickup",
                "resume_after": 30,
            },
            {"name": "gold", "count": 1, "queues": ["gold", "vip"]},
        ],
        "plan": {
            "rules": [
                {"name": "vip", "queue": "vip", "when": {"eq": ["tier", "vip"]}},
                {"name": "gold", "queue": "gold", "when": {"eq": ["tier", "gold"]}, "priority": 2},
            ],
            "default": {"queue": "support"},
            "queues": {
                "vip": {"max_wait": 120, "on_max_wait": {"kind": "queue", "target": "gold"}}
            },
        },
        "traffic": {
            "interval": 1800,
            "rates": [20, 30],
            "surge": 1.0,
            "handle": "talk",
            "patience": {"kind": "exponential", "mean": 200},
            "call_types": [
                {"name": "plain", "weight": 0.7, "attributes": {"tier": "std"}, "priority": 1},
                {
                    "name": "vip",
                    "weight": 0.2,
                    "attributes": {"tier": "vip", "customer_value": 1, "urgency": 0},
                    "handle": 300,
                },
                {
                    "name": "gold",
                    "weight": 0.1,
                    "attributes": {"tier": "gold"},
                    "emergency": True,
                    "requirement": {"english": 1},
                    "patience": "patience",
                },
            ],
        },
    }


def replay_base() -> dict[str, Any]:
    data = base()
    del data["traffic"]["rates"]
    data["traffic"]["replay"] = [
        {"t": -60, "type": "plain"},
        {"t": 10, "queue": "support", "priority": 3, "handle": 120, "patience": 60},
        {"t": 200.5, "type": "vip", "attributes": {"urgency": 1}},
    ]
    return data


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and list entry of ``value``, and a new key in every table."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        out.append((*prefix, "zz_unknown"))
        for k, v in value.items():
            out.append((*prefix, k))
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((*prefix, i))
            out.extend(paths(v, (*prefix, i)))
    return out


PATHS = sorted(set(paths(base())) | set(paths(replay_base())), key=repr)
DELETE = object()


def mutate(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for step in path[:-1]:
        there = isinstance(node, dict) and step in node
        there = there or (isinstance(node, list) and isinstance(step, int) and step < len(node))
        if not there:
            return  # the path went away with an earlier mutation
        node = node[step]
    last = path[-1]
    if isinstance(node, dict):
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if value is DELETE:
            del node[last]
        else:
            node[last] = value


HUGE = [
    2**53,
    2**53 + 1,
    -(2**53) - 1,
    2**60,
    2**63,
    10**12,
    10**400,
    -(10**400),
    int("9" * 1000),
]
scalars = st.one_of(
    st.integers(),
    st.sampled_from(HUGE),
    st.integers(min_value=-3, max_value=12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 0.0, -0.0, 0.5, 1.5, 86400.0, 1e9]),
    st.text(max_size=12),
    st.sampled_from(["", "08:00", "24:00", "25:61", "23:00-01:00", "fifo", "talk", "support"]),
    st.booleans(),
    st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.none()
    ),
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-12))]),
    ),
    st.sampled_from(
        [
            dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-12))),
        ]
    ),
    st.dates(),
    st.times(),
)
hostile = st.one_of(
    st.just(DELETE),
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(max_size=6), scalars, max_size=3),
    st.sampled_from([[[[[[[]]]]]], [{"kind": "exponential", "mean": 10**400}], {"kind": "x"}]),
)

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def load_text(tmp_path: Path, text: str | bytes) -> Scenario:
    path = tmp_path / "fuzz.toml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return Scenario.load(path)


# ---------------------------------------------------------------- properties


@FUZZ
@given(
    replay=st.booleans(),
    changes=st.lists(st.tuples(st.sampled_from(PATHS), hostile), min_size=1, max_size=3),
)
def test_hostile_values_give_a_scenario_or_a_config_error(
    tmp_path: Path, replay: bool, changes: list[tuple[tuple[Any, ...], Any]]
) -> None:
    data = replay_base() if replay else base()
    for path, value in changes:
        mutate(data, path, value if value is DELETE else copy.deepcopy(value))
    try:
        scenario = load_text(tmp_path, toml(data))
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message
        assert len(message) < 1000
        return
    assert isinstance(scenario, Scenario)


# ------------------------------------------------------- the examples


def scenario_with(call_type: dict[str, Any], policy: Any) -> dict[str, Any]:
    return {
        "queues": [{"name": "q", "policy": policy}],
        "agents": [{"name": "a", "count": 2, "queues": ["q"]}],
        "traffic": {"interval": 1800, "rates": [10], "call_types": [{"name": "t", **call_type}]},
    }


VALID = scenario_with({}, "fifo")


@pytest.mark.parametrize(
    ("call_type", "policy", "expected"),
    [
        (
            {"priority": 2**60},
            "priority-classes",
            r"^traffic\.call_types\[0\]\.priority: must be an int within \+-2\*\*53",
        ),
        (
            {"attributes": {"customer_value": 7}},
            {"name": "value-urgency", "matrix": [[0, 1], [2, 3], [4, 5]]},
            r"^traffic\.call_types\[0\]\.attributes\.customer_value: queue 'q' \(value-urgency\) "
            r"cannot order these calls: .*'customer_value' = 7 .*0\.\.2",
        ),
        (
            {"priority": 10**400},
            "accumulating",
            r"^traffic\.call_types\[0\]\.priority: must be an int within \+-2\*\*53, "
            r"got an int of 401 digits$",
        ),
        (
            {"attributes": {"urgency": "high"}},
            {"name": "emergency-first", "inner": {"name": "value-urgency", "matrix": [[1, 2]]}},
            r"^traffic\.call_types\[0\]\.attributes\.urgency: queue 'q' ",
        ),
    ],
)
def test_call_types_the_distributor_would_refuse_are_refused_at_load(
    call_type: dict[str, Any], policy: Any, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        Scenario.from_dict(scenario_with(call_type, policy))


def test_an_emergency_skips_the_inner_policy_as_the_distributor_does() -> None:
    policy = {"name": "emergency-first", "inner": {"name": "value-urgency", "matrix": [[1, 2]]}}
    data = scenario_with({"attributes": {"urgency": "high"}, "emergency": True}, policy)
    scenario = Scenario.from_dict(data)
    assert simulate(scenario, replications=1).replications[0].calls > 0


def test_a_call_is_checked_in_the_queues_the_plan_routes_it_to_and_moves_it_on_to() -> None:
    data = scenario_with({"attributes": {"tier": "vip", "customer_value": 5}}, "fifo")
    data["queues"].append({"name": "vip", "policy": "fifo"})
    data["queues"].append(
        {"name": "valued", "policy": {"name": "value-urgency", "matrix": [[0], [1]]}}
    )
    data["agents"][0]["queues"] = ["q", "vip", "valued"]
    data["plan"] = {
        "rules": [{"name": "vip", "queue": "vip", "when": {"eq": ["tier", "vip"]}}],
        "default": {"queue": "q"},
    }
    Scenario.from_dict(data)  # vip is FIFO: fine, nothing leads to valued
    data["plan"]["queues"] = {
        "vip": {"max_wait": 60, "on_max_wait": {"kind": "queue", "target": "valued"}}
    }
    with pytest.raises(
        ConfigError,
        match=r"^traffic\.call_types\[0\]\.attributes\.customer_value: queue 'valued' .*"
        r"routed by plan rule 'vip' to queue 'vip', then moved on",
    ):
        Scenario.from_dict(data)
    # A call the plan never sends there is not refused.
    data["traffic"]["call_types"][0]["attributes"]["tier"] = "standard"
    Scenario.from_dict(data)


def test_a_plan_rule_that_sets_a_bad_attribute_is_named() -> None:
    data = scenario_with({"attributes": {"tier": "vip"}}, "fifo")
    data["queues"].append(
        {"name": "valued", "policy": {"name": "value-urgency", "matrix": [[0], [1]]}}
    )
    data["agents"][0]["queues"] = ["q", "valued"]
    data["plan"] = {
        "rules": [
            {
                "name": "vip",
                "queue": "valued",
                "when": {"eq": ["tier", "vip"]},
                "attributes": {"customer_value": 9},
            }
        ],
        "default": {"queue": "q"},
    }
    with pytest.raises(
        ConfigError,
        match=r"^plan\.rules\[0\]\.attributes\.customer_value: .* \(the calls of "
        r"traffic\.call_types\[0\]\)$",
    ):
        Scenario.from_dict(data)


def test_replayed_calls_are_checked_too(tmp_path: Path) -> None:
    data = scenario_with({}, {"name": "value-urgency", "matrix": [[0, 1]]})
    del data["traffic"]["rates"]
    data["traffic"]["replay"] = [{"t": 5}, {"t": 9, "attributes": {"urgency": 4}}]
    with pytest.raises(ConfigError, match=r"^traffic\.replay\[1\]\.attributes\.urgency: "):
        Scenario.from_dict(data)
    (tmp_path / "calls.csv").write_text("t,urgency\n5,1\n9,4\n")
    data["traffic"]["replay"] = "calls.csv"
    with pytest.raises(ConfigError, match=r"calls\.csv line 3: urgency queue 'q'"):
        Scenario.from_dict(data, base_dir=tmp_path)
    (tmp_path / "calls.csv").write_text("t,priority\n5,1\n9," + "9" * 30 + "\n")
    with pytest.raises(ConfigError, match=r"line 3: priority: must be an int within \+-2\*\*53"):
        Scenario.from_dict(data, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"agents": [{"name": "a", "count": 10**12, "queues": ["q"]}]}, r"agents\[0\]\.count"),
        (
            {
                "agents": [
                    {"name": f"g{i}", "count": MAX_GROUP_AGENTS, "queues": ["q"]} for i in range(3)
                ]
            },
            rf"^agents: 300,000 agents in all, more than the limit of {MAX_AGENTS:,}$",
        ),
        ({"replications": MAX_REPLICATIONS + 1}, r"^replications: must be at most 10,000"),
        ({"duration": 10**400}, r"^duration: must be finite, got an int of 401 digits$"),
        ({"duration": 1e12}, r"^duration: must be at most 31,622,400 s \(366 days\)"),
        ({"warmup": 1e12}, r"^warmup: must be at most"),
        ({"drain": 1e12}, r"^drain: must be at most"),
        ({"seed": 10**120}, r"^seed: an int seed has at most 100 digits"),
        (
            {"traffic": {"interval": 1800, "rates": [1e9]}},
            r"^traffic\.rates: about 1,000,000,000 calls",
        ),
        (
            {"traffic": {"interval": 1800, "rates": [1e300], "surge": 1e300}},
            r"^traffic\.rates: about inf",
        ),
        (
            {"traffic": {"interval": 1800, "rates": [0] * 20_000}},
            r"^traffic\.rates: 20,000 intervals",
        ),
        (
            {"traffic": {"interval": 0.0864, "rates": [1]}, "duration": 86400},
            r"^duration: 86400 s is 1,000,000 traffic intervals",
        ),
        (
            {"replications": 3000, "traffic": {"interval": 1800, "rates": [50] * 48}},
            r"^replications: 3,000 replications of about 2,400 calls each",
        ),
        (
            {"replications": 500, "agents": [{"name": "a", "count": 5000, "queues": ["q"]}]},
            r"^replications: 500 replications of 1 intervals with 5,000 agents would keep",
        ),
        (
            {
                "drain": 300 * 86400,
                "agents": [{"name": "a", "count": 10_000, "queues": ["q"], "shift": "08:00-16:00"}],
            },
            r"^agents: the shifts and breaks make 6,000,000 logins",
        ),
        (
            {"agents": [{"name": "a", "queues": ["q"], "shift": [-1e300, 1e300]}]},
            r"^agents\[0\]\.shift\[0\]: must be within \+-31,622,400 s",
        ),
        ({"start": dt.datetime(9999, 12, 31, tzinfo=dt.UTC)}, r"^start: .* end of the calendar"),
        (
            {"distributions": {"d": {"kind": "lognormal", "mean": 1e-10, "sd": 1e200}}},
            r"^distributions\.d\.sd: must be at most 1e100 times the mean",
        ),
        (
            {
                "traffic": {
                    "interval": 1800,
                    "rates": [1],
                    "call_types": [{"name": "a", "weight": 1e308}, {"name": "b", "weight": 1e308}],
                }
            },
            r"^traffic\.call_types: the weights add up to more than a float holds",
        ),
    ],
)
def test_sizes_that_would_exhaust_memory_are_refused_before_allocating(
    change: dict[str, Any], expected: str
) -> None:
    data = scenario_with({}, "fifo")
    if "traffic" in change and "call_types" not in change["traffic"]:
        change["traffic"]["call_types"] = data["traffic"]["call_types"]
    data.update(change)
    with pytest.raises(ConfigError, match=expected):
        Scenario.from_dict(data)


def test_replayed_files_are_bounded_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = scenario_with({}, "fifo")
    del data["traffic"]["rates"]
    data["traffic"]["replay"] = "calls.csv"
    (tmp_path / "calls.csv").write_bytes(b"t\n1\n\xff\n")
    with pytest.raises(ConfigError, match=r"calls\.csv' is not UTF-8 text \(byte 0xff"):
        Scenario.from_dict(data, base_dir=tmp_path)
    (tmp_path / "calls.csv").write_text("t,note\n1,a\n2," + "x" * 200_000 + "\n")
    with pytest.raises(ConfigError, match=r"^traffic\.replay: .*calls\.csv' near line 3: field"):
        Scenario.from_dict(data, base_dir=tmp_path)
    assert MAX_CALLS == 1_000_000
    # the limit as load_replay finds it: the same code, quicker
    monkeypatch.setattr(acdcore._scenario_parts, "MAX_CALLS", 100)
    (tmp_path / "calls.csv").write_text("t\n" + "1\n" * 101)
    with pytest.raises(
        ConfigError, match=r"^traffic\.replay: .*calls\.csv.: more than 100 calls to replay$"
    ):
        Scenario.from_dict(data, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'name = "\xff"\n', r"fuzz\.toml: not UTF-8 text \(byte 0xff on line 1\)$"),
        (("x = " + "[" * 5000 + "]" * 5000).encode(), r"not valid TOML: .*nested too deeply$"),
        (b"x = " + b"9" * 5000, r"not valid TOML: "),
        (
            ("duration = 1" + "0" * 400 + "\n" + toml(VALID)).encode(),
            r"fuzz\.toml: duration: must be finite, got an int of 401 digits$",
        ),
        (b"\x00\x01\x02", r"not valid TOML"),
    ],
)
def test_unreadable_files_are_config_errors(tmp_path: Path, content: bytes, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_text(tmp_path, content)


def test_directories_and_missing_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="it is a directory"):
        Scenario.load(tmp_path)
    with pytest.raises(ConfigError, match="No such file"):
        Scenario.load(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not a regular file"):
        Scenario.load("/dev/null")


def test_replayed_calls_alike_for_the_policy_are_checked_once_but_types_count(
    tmp_path: Path,
) -> None:
    data = scenario_with({}, {"name": "value-urgency", "matrix": [[0, 1]]})
    del data["traffic"]["rates"]
    data["traffic"]["replay"] = "calls.csv"
    rows = "".join(f"{t},C{t},1\n" for t in range(50))
    (tmp_path / "calls.csv").write_text("t,customer,urgency\n" + rows)
    Scenario.from_dict(data, base_dir=tmp_path)
    (tmp_path / "calls.csv").write_text("t,customer,urgency\n" + rows + "60,C60,1.0\n")
    with pytest.raises(ConfigError, match=r"line 52: urgency queue 'q' .* = 1\.0 must be an int"):
        Scenario.from_dict(data, base_dir=tmp_path)


def test_empirical_files_are_checked_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = scenario_with({}, "fifo")
    data["traffic"]["handle"] = {"kind": "empirical", "file": "talk.csv"}
    (tmp_path / "talk.csv").write_bytes(b"120\n\xff\n")
    with pytest.raises(ConfigError, match=r"^traffic\.handle\.file: .*talk\.csv' is not UTF-8"):
        Scenario.from_dict(data, base_dir=tmp_path)
    monkeypatch.setattr(acdcore.distributions, "MAX_SAMPLES", 10)
    (tmp_path / "talk.csv").write_text("seconds\n" + "60\n" * 11)
    with pytest.raises(ConfigError, match=r"talk\.csv': more than 10 values$"):
        Scenario.from_dict(data, base_dir=tmp_path)
    data["traffic"]["handle"] = {"kind": "empirical", "values": [60] * 11}
    with pytest.raises(ConfigError, match=r"^traffic\.handle\.values: at most 10 values, got 11$"):
        Scenario.from_dict(data)


def test_huge_but_finite_distribution_values_are_fine() -> None:
    data = scenario_with({}, "fifo")
    data["traffic"]["patience"] = {"kind": "empirical", "values": [1e308, 1e308]}
    scenario = Scenario.from_dict(data)
    assert scenario.traffic.patience is not None
    assert scenario.traffic.patience.mean == 1e308
