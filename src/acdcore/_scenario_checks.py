"""The checks of a whole scenario, across its parts, that
``Scenario.__attrs_post_init__`` runs once each part has checked itself: the
routing plan against the queues and skills, the clock and the measured period,
the breaks within the shifts, every kind of call against the priority policy
of every queue it may reach (as the distributor will order it), and the load
one replication would carry.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._scenario_parts import Traffic
from ._scenario_values import (
    DAY,
    MAX_CALLS,
    MAX_INTERVALS,
    MAX_SHIFT_EVENTS,
    MAX_SPAN,
    TimeSpec,
    _fail,
    _key,
    _seconds,
    _show_value,
    _sub,
    _thaw,
    _time_of_day,
)
from .config import EXACT
from .distributor import KEY_LENGTH
from .errors import AcdError, ConfigError
from .plans import RoutingPlan, Rule
from .policies import (
    FIFO,
    AccumulatingPriority,
    CallFacts,
    EmergencyFirst,
    PriorityClasses,
    PriorityPolicy,
    ValueUrgencyMatrix,
)
from .skills import SkillRequirement

if TYPE_CHECKING:
    from .scenario import Scenario

_PLAN_PATH = re.compile(r"^(rules\[|default[ .:]|queues\.|schedules\.|load_guard[ .:])")


def check_plan(
    scenario: Scenario, queues: Mapping[str, SkillRequirement], skills: frozenset[str]
) -> None:
    """Build and check the plan against the queues and skills; set the
    scenario's ``_routing_plan``, ``_rule_paths`` and ``_contexts``."""
    plan: RoutingPlan | None = None
    try:
        if isinstance(scenario.plan, RoutingPlan):
            plan = scenario.plan
            plan.validate_for(queues, skills)
        elif scenario.plan is not None:
            plan = RoutingPlan.from_dict(_thaw(scenario.plan), queues=queues, skills=skills)
    except AcdError as exc:
        message = str(exc)
        if _PLAN_PATH.match(message):
            raise ConfigError(f"plan.{message}") from None
        raise _fail("plan", message.removeprefix("plan: ")) from None
    object.__setattr__(scenario, "_routing_plan", plan)
    paths: dict[int, str] = {}
    contexts: list[_Schedules] | None = []
    if plan is not None:
        paths = {id(r): f"plan.rules[{i}]" for i, r in enumerate(plan.rules)}
        paths[id(plan.default)] = "plan.default"
        names = sorted({n for r in plan.rules for n in r.when.schedules()})
        contexts = None
        if len(names) <= 6:  # every combination of open and closed schedules
            contexts = [
                _Schedules({n for j, n in enumerate(names) if bits >> j & 1})
                for bits in range(1 << len(names))
            ]
    object.__setattr__(scenario, "_rule_paths", paths)
    object.__setattr__(scenario, "_contexts", contexts)


def check_time(scenario: Scenario, traffic: Traffic) -> None:
    """Check ``start`` and the measured period; set the scenario's
    ``_origin``, ``_day_start`` and ``_measured``."""
    if isinstance(scenario.start, dt.datetime):
        try:  # the run, warm-up and drain included, stays inside the calendar
            origin = scenario.start.timestamp()
            scenario.start - dt.timedelta(seconds=MAX_SPAN + DAY)
            scenario.start + dt.timedelta(seconds=2 * MAX_SPAN + DAY)
        except (OverflowError, ValueError):
            raise _fail(
                "start", f"{scenario.start.isoformat()} is too close to the end of the calendar"
            ) from None
        local = scenario.start
        day_start = local.hour * 3600.0 + local.minute * 60.0 + local.second
        day_start += local.microsecond / 1e6
    else:
        origin = 0.0
        day_start = _time_of_day(scenario.start, "start")
    object.__setattr__(scenario, "_origin", origin)
    object.__setattr__(scenario, "_day_start", day_start)
    interval = float(traffic.interval)
    if scenario.duration is not None:
        measured = _seconds(scenario.duration, "duration", positive=True)
    elif traffic.rates:
        measured = len(traffic.rates) * interval
        if measured > MAX_SPAN:
            raise _fail(
                "traffic.rates",
                f"{len(traffic.rates):,} intervals of {interval:g} s last more than 366 "
                "days; give fewer rates, or a duration",
            )
    else:
        last = traffic.replay_calls[-1].t
        measured = max(1, math.floor(last / interval) + 1) * interval
    n = measured / interval
    if n > MAX_INTERVALS:
        raise _fail(
            "duration",
            f"{measured:g} s is {n:,.0f} traffic intervals of {interval:g} s, more than the "
            f"limit of {MAX_INTERVALS:,}; use a longer interval or a shorter run",
        )
    if abs(n - round(n)) > 1e-9 * max(1.0, n):
        raise _fail(
            "duration",
            f"{_show_value(measured)} s is not a whole number of traffic intervals ({_show_value(interval)} s)",
        )
    object.__setattr__(scenario, "_measured", round(n) * interval)


def check_shifts(scenario: Scenario) -> None:
    """Every group's breaks, staggered over its agents, fit in its shift."""
    for i, g in enumerate(scenario.agents):
        if g.shift is None:
            continue
        where = f"agents[{i}]"
        start, end = scenario.shift_times(g)
        for j, b in enumerate(g.breaks):
            b0 = scenario._break_start(b, start)
            last = b0 + g.stagger * max(g.count - 1, 0) + b.duration
            if b0 < start or last > end:
                raise _fail(
                    f"{where}.breaks[{j}]",
                    f"the break ({_show(b.start)} for {b.duration:g} s, staggered over "
                    f"{g.count} agents) does not fit in the shift "
                    f"{_show(g.shift[0])}-{_show(g.shift[1])}",
                )


def check_calls(scenario: Scenario) -> None:
    """Every kind of call the traffic makes can be ordered by the
    priority policy of every queue it may reach, as the distributor will
    order it; otherwise the distributor would refuse it mid-run."""
    traffic = scenario.traffic
    first = scenario.queues[0].name
    for i, ct in enumerate(traffic.call_types):
        _check_call(
            scenario,
            f"traffic.call_types[{i}]",
            ct.queue or first,
            ct.attributes,
            ct.priority,
            ct.emergency,
        )
    if not traffic.call_types and traffic.rates:
        _check_call(scenario, "traffic", first, _NO_ATTRIBUTES, 0, False)
    types = {ct.name: ct for ct in traffic.call_types}
    seen: set[Any] = set()
    passed: set[Any] = set()  # (queue policy, what it reads) known to pass
    for i, c in enumerate(traffic.replay_calls):
        kind = types.get(c.call_type) if c.call_type is not None else None
        attributes = c.attributes
        if kind is not None and kind.attributes:
            attributes = {**kind.attributes, **c.attributes}
        priority = c.priority if c.priority is not None else (kind.priority if kind else 0)
        emergency = kind.emergency if kind is not None else False
        queue = c.queue or (kind.queue if kind is not None else None) or first
        try:  # calls alike are checked once
            alike: Any = (queue, priority, emergency, frozenset(attributes.items()))
            if alike in seen:
                continue
            seen.add(alike)
        except TypeError:  # an attribute value that is not hashable
            pass
        found = _order_problem(scenario, queue, attributes, priority, emergency, passed)
        if found is not None:
            field, problem = found
            if field.startswith("plan."):
                raise ConfigError(f"{field}: {problem} (replayed call {i})")
            if field.startswith("attributes.") and traffic._lines is not None:
                field = field.removeprefix("attributes.")  # a CSV column
            raise traffic._error(i, field or "call", problem)


def _check_call(
    scenario: Scenario,
    where: str,
    queue: str,
    attributes: Mapping[str, Any],
    priority: int,
    emergency: bool,
) -> None:
    found = _order_problem(scenario, queue, attributes, priority, emergency)
    if found is None:
        return
    field, problem = found
    if field.startswith("plan."):
        raise ConfigError(f"{field}: {problem} (the calls of {where})")
    raise _fail(_sub(where, field) if field else where, problem)


def _order_problem(
    scenario: Scenario,
    queue: str,
    attributes: Mapping[str, Any],
    priority: int,
    emergency: bool,
    passed: set[Any] | None = None,
) -> tuple[str, str] | None:
    """``(field, problem)`` when a queue the call may reach cannot order
    it: ``field`` is the call's own (``"priority"``,
    ``"attributes.tier"``, ``""`` for the whole call) or a plan rule's
    (``"plan.rules[0].priority"``)."""
    plan = scenario._routing_plan
    if plan is None:
        routes: list[tuple[Rule | None, str, str]] = [(None, queue, queue)]
    else:
        routes = []
        for decided in _rules_for(scenario, plan, attributes):
            exit_ = decided.exit
            start = decided.queue
            if start is None and exit_ is not None and exit_.kind == "queue":
                start = exit_.target
            if start is not None:  # else straight to an exit: it never waits
                routes.extend((decided, q, start) for q in _moves(plan, start))
    for rule, dest, start in routes:
        attrs_, prio, emer = attributes, priority, emergency
        if rule is not None:
            if rule.attributes:
                attrs_ = {**attributes, **rule.attributes}
            prio = priority if rule.priority is None else rule.priority
            emer = emergency if rule.emergency is None else rule.emergency
        policy = scenario._policies[dest]
        known = None
        if passed is not None:  # many replayed calls differ only in what no policy reads
            known = _what_policy_reads(policy, attrs_, prio, emer)
            if known is not None and known in passed:
                continue
        problem = _key_problem(policy, scenario._origin, attrs_, prio, emer)
        if problem is None:
            if known is not None and passed is not None:
                passed.add(known)
            continue
        name = getattr(policy, "name", type(policy).__name__)
        text = f"queue {dest!r} ({name}) cannot order these calls: {problem}"
        here = scenario._rule_paths.get(id(rule), "plan") if rule is not None else ""
        if rule is not None:
            text += f" (routed by plan rule {rule.name!r}"
            if dest != start:
                text += f" to queue {start!r}, then moved on by the plan's queue exits"
            text += ")"
        own_attrs = [k for k in attrs_ if rule is None or k not in rule.attributes]
        # Which field is to blame: the first whose neutral value passes.
        trials: list[tuple[str, Mapping[str, Any], int, bool]] = []
        if prio != 0:
            by_rule = rule is not None and rule.priority is not None
            trials.append((f"{here}.priority" if by_rule else "priority", attrs_, 0, emer))
        for k in attrs_:
            rest = {a: v for a, v in attrs_.items() if a != k}
            field = f"attributes.{_key(k)}"
            if k not in own_attrs:
                field = f"{here}.{field}"
            trials.append((field, rest, prio, emer))
        if emer:
            by_rule = rule is not None and rule.emergency is not None
            trials.append((f"{here}.emergency" if by_rule else "emergency", attrs_, prio, False))
        for field, a, p, e in trials:
            if _key_problem(policy, scenario._origin, a, p, e) is None:
                return field, text
        return "", text
    return None


def _rules_for(scenario: Scenario, plan: RoutingPlan, attributes: Mapping[str, Any]) -> list[Rule]:
    """The rules that may decide a call with these attributes: the first
    match for each combination of open and closed schedules the rules ask
    about (every rule when they ask about too many)."""
    contexts = scenario._contexts
    if contexts is None:
        return list(plan.all_rules())
    out: list[Rule] = []
    for context in contexts:
        chosen = plan.default
        for rule in plan.rules:
            try:
                hit = rule.when.matches(attributes, scenario._origin, context)
            except (AcdError, ArithmeticError, TypeError, ValueError) as exc:
                where = scenario._rule_paths.get(id(rule), "plan")
                raise ConfigError(
                    f"{where}.when: cannot test {_show_value(dict(attributes))}: {exc}"
                ) from None
            if hit:
                chosen = rule
                break
        if all(chosen is not r for r in out):
            out.append(chosen)
    return out


def check_load(scenario: Scenario) -> None:
    """Refuse what one replication could not hold: too many expected
    calls, or too many shift events."""
    calls = scenario.expected_arrivals
    if calls > MAX_CALLS:
        t = scenario.traffic
        which = "traffic.rates" if t.rates else "traffic.replay"
        raise _fail(
            which,
            f"about {calls:,.0f} calls per replication (warm-up included), more than the "
            f"limit of {MAX_CALLS:,}; lower the rates or the surge, or shorten the run",
        )
    span = scenario._measured + float(scenario.drain)
    events = 0
    days = 0
    for g in scenario.agents:
        if g.shift is None:
            events += g.count
            continue
        start, _ = scenario.shift_times(g)
        days = max(0, math.ceil((span - start) / DAY))
        events += g.count * days * (2 + len(g.breaks))
    if events > MAX_SHIFT_EVENTS:
        raise _fail(
            "agents",
            f"the shifts and breaks make {events:,} logins, logouts and breaks per "
            f"replication (over {days:,} days), more than the limit of "
            f"{MAX_SHIFT_EVENTS:,}; shorten the run or the drain, or use fewer agents",
        )


def _show(value: TimeSpec) -> str:
    return value if isinstance(value, str) else f"{value:g}"


_NO_ATTRIBUTES: Mapping[str, Any] = MappingProxyType({})
_CALL_PREFIX = re.compile(r"^call (#\d+|'[^']*'): ")


class _Schedules:
    """A condition context in which the named schedules are open."""

    def __init__(self, open_: set[str]) -> None:
        self.open = open_

    def schedule_open(self, name: str, now: float) -> bool:
        return name in self.open


def _moves(plan: RoutingPlan, start: str) -> list[str]:
    """``start`` and every queue a plan's queue exits (closed hours,
    join-empty, surge, maximum wait, leave-empty) may move a call to."""
    out = [start]
    todo = [start]
    while todo:
        rules = plan.queues.get(todo.pop())
        if rules is None:
            continue
        surge = rules.surge.exit if rules.surge is not None else None
        for e in (rules.when_closed, rules.join_empty, surge, rules.on_max_wait, rules.leave_empty):
            target = e.target if e is not None and e.kind == "queue" else None
            if target is not None and target not in out:
                out.append(target)
                todo.append(target)
    return out


def _reads(policy: PriorityPolicy) -> tuple[str, ...] | None:
    """The attributes a built-in policy reads (``None``: any, for all we know)."""
    kind = type(policy)
    if kind in (FIFO, PriorityClasses, AccumulatingPriority):
        return ()
    if kind is ValueUrgencyMatrix:
        assert isinstance(policy, ValueUrgencyMatrix)
        return (policy.value_attribute, policy.urgency_attribute)
    if kind is EmergencyFirst:
        assert isinstance(policy, EmergencyFirst)
        return _reads(policy.inner)
    return None


def _what_policy_reads(
    policy: PriorityPolicy, attributes: Mapping[str, Any], priority: int, emergency: bool
) -> Any:
    """What a built-in policy's key depends on for such a call (besides the
    arrival), as a hashable value; ``None`` when that is not known."""
    names = _reads(policy)
    if names is None:
        return None
    values = tuple((n, type(attributes.get(n)), attributes.get(n)) for n in names)
    try:
        hash(values)
    except TypeError:
        return None
    return (id(policy), priority, emergency, values)


def _exact(x: object) -> bool:
    """A sort-key element the distributor accepts (see ``_policy_key``)."""
    if isinstance(x, int):
        return -EXACT <= x <= EXACT
    return isinstance(x, float) and not math.isnan(x)


def _key_problem(
    policy: PriorityPolicy,
    arrived: float,
    attributes: Mapping[str, Any],
    priority: int,
    emergency: bool,
) -> str | None:
    """Why ``policy`` cannot order such a call, or ``None``: the checks the
    distributor makes on a policy's key when a call arrives."""
    facts = CallFacts(
        seq=0,
        arrived=arrived,
        priority=priority,
        emergency=emergency,
        attributes=MappingProxyType(dict(attributes)),
    )
    try:
        key = policy.key(facts)
    except AcdError as exc:
        return _CALL_PREFIX.sub("", str(exc))
    except (ArithmeticError, TypeError, ValueError) as exc:  # a policy that fails outright
        return f"{type(exc).__name__}: {exc}"
    try:
        fine = bool(key) and key[-1] == 0 and len(key) <= KEY_LENGTH and all(map(_exact, key))
    except (TypeError, ValueError):
        fine = False
    if fine:
        return None
    return (
        f"its key {_show_value(key)} is not at most {KEY_LENGTH} numbers (integers within "
        "+-2**53, no NaN) ending in the arrival sequence"
    )
