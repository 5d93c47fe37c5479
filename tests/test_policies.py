"""Priority policies against hand-worked orderings, ties included."""

from __future__ import annotations

import pytest

from acdcore import (
    FIFO,
    AccumulatingPriority,
    CallArrived,
    ConfigError,
    Distributor,
    EmergencyFirst,
    InvalidValue,
    PriorityClasses,
    QueueConfig,
    ValueUrgencyMatrix,
)

from .helpers import feed


def order_of(policy: object, calls: list[dict[str, object]]) -> list[str]:
    """Queue calls (no agents) and return the waiting order."""
    acd = Distributor([QueueConfig("q", policy=policy)])  # type: ignore[arg-type]
    for spec in calls:
        feed(acd, CallArrived(queue="q", **spec))  # type: ignore[arg-type]
    return acd.waiting("q")


def test_fifo_orders_by_arrival_and_breaks_ties_by_sequence() -> None:
    calls = [
        {"now": 0.0, "call_id": "a", "priority": 5},
        {"now": 1.0, "call_id": "b"},
        {"now": 1.0, "call_id": "c", "emergency": True},
    ]
    assert order_of(FIFO(), calls) == ["a", "b", "c"]


def test_priority_classes_put_vip_first_and_fifo_within_a_class() -> None:
    calls = [
        {"now": 0.0, "call_id": "n1"},
        {"now": 1.0, "call_id": "vip1", "priority": 10},
        {"now": 2.0, "call_id": "n2"},
        {"now": 3.0, "call_id": "vip2", "priority": 10},
        {"now": 3.0, "call_id": "gold", "priority": 5},
        {"now": 3.0, "call_id": "vip3", "priority": 10},
    ]
    assert order_of(PriorityClasses(), calls) == ["vip1", "vip2", "vip3", "gold", "n1", "n2"]


def test_accumulating_priority_lets_a_long_waiter_overtake_a_higher_class() -> None:
    # 60 s head start per level: key = arrived - 60 * priority.
    calls = [
        {"now": 0.0, "call_id": "low"},  # key 0
        {"now": 30.0, "call_id": "high-early", "priority": 1},  # key -30
        {"now": 60.0, "call_id": "late-low"},  # key 60
        {"now": 61.0, "call_id": "high-late", "priority": 1},  # key 1
    ]
    order = order_of(AccumulatingPriority(seconds_per_level=60.0), calls)
    assert order == ["high-early", "low", "high-late", "late-low"]


def test_accumulating_priority_equal_scores_go_by_arrival_sequence() -> None:
    # b arrives 60 s later with one level: the same score as a at every instant.
    calls = [
        {"now": 0.0, "call_id": "a"},
        {"now": 60.0, "call_id": "b", "priority": 1},
    ]
    assert order_of(AccumulatingPriority(60.0), calls) == ["a", "b"]


def test_accumulating_priority_with_zero_rate_is_fifo() -> None:
    calls = [{"now": float(i), "call_id": f"c{i}", "priority": 3 - i} for i in range(4)]
    assert order_of(AccumulatingPriority(0.0), calls) == ["c0", "c1", "c2", "c3"]


def test_value_urgency_matrix_maps_attributes_to_classes() -> None:
    matrix = ValueUrgencyMatrix([[0, 1], [2, 3]])
    calls = [
        {"now": 0.0, "call_id": "low-low"},
        {"now": 1.0, "call_id": "low-urgent", "attributes": {"urgency": 1}},
        {"now": 2.0, "call_id": "high-urgent", "attributes": {"customer_value": 1, "urgency": 1}},
        {"now": 3.0, "call_id": "high-calm", "attributes": {"customer_value": 1, "urgency": 0}},
        {"now": 4.0, "call_id": "high-urgent-2", "attributes": {"customer_value": 1, "urgency": 1}},
    ]
    assert order_of(matrix, calls) == [
        "high-urgent",
        "high-urgent-2",
        "high-calm",
        "low-urgent",
        "low-low",
    ]


def test_value_urgency_matrix_refuses_out_of_range_levels_without_change() -> None:
    acd = Distributor([QueueConfig("q", policy=ValueUrgencyMatrix([[0, 1], [2, 3]]))])
    before = acd.snapshot()
    for bad in ({"urgency": 2}, {"customer_value": -1}, {"urgency": "high"}, {"urgency": True}):
        with pytest.raises(InvalidValue, match=r"urgency|customer_value"):
            acd.handle(CallArrived(now=0.0, call_id="x", queue="q", attributes=bad))
        assert acd.snapshot() == before


def test_emergency_first_beats_every_class() -> None:
    calls = [
        {"now": 0.0, "call_id": "vip", "priority": 9},
        {"now": 1.0, "call_id": "e1", "emergency": True},
        {"now": 2.0, "call_id": "plain"},
        {"now": 3.0, "call_id": "e2", "emergency": True, "priority": 0},
    ]
    assert order_of(EmergencyFirst(PriorityClasses()), calls) == ["e1", "e2", "vip", "plain"]


@pytest.mark.parametrize(
    "build",
    [
        lambda: AccumulatingPriority(-1.0),
        lambda: AccumulatingPriority(float("nan")),
        lambda: ValueUrgencyMatrix([]),
        lambda: ValueUrgencyMatrix([[0, 1], [2]]),
        lambda: ValueUrgencyMatrix([[0, "x"]]),
        lambda: EmergencyFirst("fifo"),
    ],
)
def test_bad_policy_configuration_fails_at_build(build: object) -> None:
    with pytest.raises(ConfigError):
        build()  # type: ignore[operator]


def test_a_custom_policy_must_end_its_key_with_the_sequence() -> None:
    class Broken:
        name = "broken"

        def key(self, call: object) -> tuple[float, ...]:
            return (0.0,)

    with pytest.raises(ConfigError, match="sequence number"):
        QueueConfig("q", policy=Broken())
