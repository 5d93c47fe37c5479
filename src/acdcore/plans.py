"""Routing plans: rules on call attributes, relaxation steps, exits, schedules
and surge mode, in one declarative, validated model.

A :class:`RoutingPlan` is tried when a call arrives. Its rules are tried in
order; the first whose condition matches decides the queue, the priority (or
attributes that feed the queue's priority policy), the emergency class, an
optional supervisor alert, a preferred agent, and the relaxation steps: the
skill requirement, extra queues whose agents may help and region affinity,
each step expiring a set number of seconds after arrival. When every step has
expired, any agent of the queue may take the call. Per queue, the plan sets a
maximum wait with an exit, join-empty and leave-empty behaviour, business
hours, and a surge (degraded) mode with hysteresis.

Everything can be built from plain data with :meth:`RoutingPlan.from_dict`;
errors name the offending entry (``rules[2].steps[1]: ...``).

Every object validates every field when it is built and raises
:class:`~acdcore.errors.ConfigError` naming the class and the field. The one
shorthand of the dict form, an exit written as the string ``"self-service"``
or ``"reject"``, is accepted the same way by every exit field of the Python
form (``Rule(exit="reject")``, ``QueueRules(when_closed="self-service")``) and
converted to an :class:`Exit`; any other string (``"voicemail"``) is refused,
since it could be a destination or a queue. Every other object field takes
the object itself (a :class:`PreferredAgent`, a :class:`Step`, a condition...).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs

from .conditions import Always, Condition, condition_from_dict
from .errors import ConfigError, InvalidValue
from .schedules import Schedule, schedule_from_dict
from .skills import SkillRequirement, freeze_mapping, freeze_sequence
from .values import check_number, check_seconds, show, show_keys

__all__ = [
    "Exit",
    "LoadGuard",
    "PreferredAgent",
    "QueueRules",
    "RoutingPlan",
    "Rule",
    "Step",
    "Surge",
]

_EXIT_KINDS = ("queue", "destination", "self-service", "reject")


def _seconds(
    obj: object, field: str, what: str, *, allow_none: bool = False, positive: bool = False
) -> None:
    """Check the duration field ``field`` of ``obj`` (0 unless ``positive``, or
    at least 1 ms; ``None`` when allowed) and store it with ``-0.0`` as ``0.0``."""
    value = getattr(obj, field)
    if value is None and allow_none:
        return
    object.__setattr__(obj, field, check_seconds(value, what, positive=positive))


def _name(value: object, what: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, str) or not value:
        expected = "None or a non-empty string" if allow_none else "a non-empty string"
        raise ConfigError(f"{what} must be {expected}, got {show(value)}")


def _flag(value: object, what: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, bool):
        expected = "None or a bool" if allow_none else "a bool"
        raise ConfigError(f"{what} must be {expected}, got {show(value)}")


def _requirement(value: object) -> SkillRequirement | None:
    if value is None or isinstance(value, SkillRequirement):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"a requirement maps skill names to minimum levels, got {show(value)}")
    try:
        return SkillRequirement(value)
    except InvalidValue as exc:
        raise ConfigError(str(exc)) from None


@attrs.frozen
class Exit:
    """Where a call goes when it leaves the queue without an agent.

    ``kind``: ``"queue"`` (move to queue ``target``, keeping its arrival time),
    ``"destination"`` (an external destination such as voicemail, named by
    ``target``), ``"self-service"``, or ``"reject"``. With
    ``callback_next_open``, a self-service exit carries the next opening
    instant of the queue's schedule so the adapter can offer a next-day
    callback.
    """

    kind: str
    target: str | None = None
    callback_next_open: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in _EXIT_KINDS:
            raise ConfigError(f"exit kind {show(self.kind)} is not one of {', '.join(_EXIT_KINDS)}")
        if self.kind in ("queue", "destination"):
            if not isinstance(self.target, str) or not self.target:
                raise ConfigError(f"a {self.kind!r} exit needs a target name")
        elif self.target is not None:
            raise ConfigError(f"a {self.kind!r} exit takes no target")
        _flag(self.callback_next_open, "Exit.callback_next_open")


_SHORTHAND = ("self-service", "reject")


def to_exit(value: object, what: str) -> Exit:
    """``value`` as an :class:`Exit`: an ``Exit`` as it is, the shorthand
    ``"self-service"`` or ``"reject"`` as ``Exit(value)``; anything else
    raises :class:`ConfigError` naming ``what``."""
    if isinstance(value, Exit):
        return value
    if isinstance(value, str) and value in _SHORTHAND:
        return Exit(value)
    if isinstance(value, str):
        raise ConfigError(
            f"{what}: exit {show(value)}: use 'self-service', 'reject' or a table "
            f"(an Exit in Python, such as Exit('destination', {show(value)}))"
        )
    raise ConfigError(f"{what} must be an Exit, 'self-service' or 'reject', got {show(value)}")


# The converters of the exit fields (see to_exit); mypy wants named functions.


def _rule_exit(value: object) -> Exit | None:
    return None if value is None else to_exit(value, "Rule.exit")


def _surge_exit(value: object) -> Exit:
    return to_exit(value, "Surge.exit")


def _on_max_wait(value: object) -> Exit:
    return to_exit(value, "QueueRules.on_max_wait")


def _join_empty(value: object) -> Exit | None:
    return None if value is None else to_exit(value, "QueueRules.join_empty")


def _leave_empty(value: object) -> Exit | None:
    return None if value is None else to_exit(value, "QueueRules.leave_empty")


def _when_closed(value: object) -> Exit:
    return to_exit(value, "QueueRules.when_closed")


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return freeze_sequence(value, "Step.add_queues", ConfigError)


@attrs.frozen
class Step:
    """One relaxation step of a rule.

    While active, the call needs ``requirement`` (``None``: the rule's, or the
    queue's default); agents of ``add_queues`` may take it as well as the
    queue's own (added queues accumulate over the steps); with ``regional``,
    only agents whose region equals the call's ``region`` attribute qualify.
    The step ends ``expires_after`` seconds after the call arrived (``None``:
    never; only the last step may say so). ``skip_if_empty`` skips the step
    at entry when no logged-in agent could take the call under it.
    """

    requirement: SkillRequirement | None = attrs.field(default=None, converter=_requirement)
    add_queues: tuple[str, ...] = attrs.field(default=(), converter=_names)
    regional: bool = False
    expires_after: float | None = None
    skip_if_empty: bool = False

    def __attrs_post_init__(self) -> None:
        _seconds(self, "expires_after", "Step.expires_after", allow_none=True)
        for q in self.add_queues:
            if not isinstance(q, str) or not q:
                raise ConfigError(f"Step.add_queues entry {show(q)} is not a queue name")
        _flag(self.regional, "Step.regional")
        _flag(self.skip_if_empty, "Step.skip_if_empty")


@attrs.frozen
class PreferredAgent:
    """Try the caller's usual agent first.

    The agent id is read from the call attribute ``attribute`` (or the event's
    ``preferred_agent``). The call is reserved for that agent for ``wait``
    seconds. If the agent is not free when the call arrives, ``if_busy``
    decides: ``"wait"`` keeps the reservation, ``"fallback"`` drops it at once;
    either way a ``PreferredAgentBusy`` action tells the adapter which.
    """

    attribute: str = "preferred_agent"
    wait: float = 30.0
    if_busy: str = "wait"

    def __attrs_post_init__(self) -> None:
        _name(self.attribute, "PreferredAgent.attribute")
        _seconds(self, "wait", "PreferredAgent.wait")
        if not isinstance(self.if_busy, str) or self.if_busy not in ("wait", "fallback"):
            raise ConfigError(
                f"PreferredAgent.if_busy must be 'wait' or 'fallback', got {show(self.if_busy)}"
            )


def _steps(value: Sequence[Step]) -> tuple[Step, ...]:
    return freeze_sequence(value, "Rule.steps", ConfigError)


def _rule_attributes(value: Mapping[str, Any]) -> Mapping[str, Any]:
    out = freeze_mapping(value, "Rule.attributes", ConfigError)
    for key in out:
        if not isinstance(key, str):
            raise ConfigError(f"Rule.attributes: attribute name {show(key)} is not a string")
    return out


@attrs.frozen
class Rule:
    """A routing rule: when ``when`` matches, the call goes to ``queue`` (or
    straight to ``exit``) with these settings.

    ``priority`` and ``emergency`` override the call's; ``attributes`` are
    merged into the call's attributes (for example ``customer_value`` and
    ``urgency`` for a value x urgency policy); ``alert`` emits an ``Alert``
    action with that text so a supervisor can listen in. ``exit`` takes an
    :class:`Exit` or the shorthand ``"self-service"`` or ``"reject"`` (see the
    module's docstring); ``preferred`` a :class:`PreferredAgent` (to read the
    agent id from another attribute, ``PreferredAgent(attribute="am")``).
    """

    name: str
    when: Condition = attrs.field(factory=Always)
    queue: str | None = None
    priority: int | None = None
    emergency: bool | None = None
    attributes: Mapping[str, Any] = attrs.field(factory=dict, converter=_rule_attributes)
    requirement: SkillRequirement | None = attrs.field(default=None, converter=_requirement)
    steps: tuple[Step, ...] = attrs.field(default=(), converter=_steps)
    alert: str | None = None
    exit: Exit | None = attrs.field(default=None, converter=_rule_exit)
    preferred: PreferredAgent | None = None

    def __attrs_post_init__(self) -> None:
        _name(self.name, "Rule.name")
        where = f"rule {show(self.name)}: Rule"
        if not isinstance(self.when, Condition):
            raise ConfigError(f"{where}.when={show(self.when)} is not a condition")
        _name(self.queue, f"{where}.queue", allow_none=True)
        if (self.queue is None) == (self.exit is None):
            raise ConfigError(f"rule {show(self.name)}: give exactly one of queue and exit")
        if self.priority is not None:
            if isinstance(self.priority, bool) or not isinstance(self.priority, int):
                raise ConfigError(f"rule {show(self.name)}: priority must be an int")
            check_number(self.priority, f"{where}.priority", ConfigError, integer=True)
        _flag(self.emergency, f"{where}.emergency", allow_none=True)
        _name(self.alert, f"{where}.alert", allow_none=True)
        if self.preferred is not None and not isinstance(self.preferred, PreferredAgent):
            hint = ""
            if isinstance(self.preferred, str) and self.preferred:
                hint = (
                    f"; for the agent id in that attribute: PreferredAgent({show(self.preferred)})"
                )
            raise ConfigError(
                f"{where}.preferred must be a PreferredAgent or None, got "
                f"{show(self.preferred)}{hint}"
            )
        for i, s in enumerate(self.steps):
            if not isinstance(s, Step):
                raise ConfigError(f"rule {self.name!r}: steps[{i}] is not a Step")
            if s.expires_after is None and i != len(self.steps) - 1:
                raise ConfigError(
                    f"rule {self.name!r}: steps[{i}] never expires but is not the last step"
                )
            if i > 0:
                prev = self.steps[i - 1].expires_after
                if prev is not None and s.expires_after is not None and s.expires_after <= prev:
                    raise ConfigError(
                        f"rule {self.name!r}: steps[{i}] expires at {s.expires_after} s, not "
                        f"after steps[{i - 1}] ({prev} s): steps must be in order"
                    )
                if self.steps[i - 1].regional is False and s.regional:
                    raise ConfigError(
                        f"rule {self.name!r}: steps[{i}] narrows to the caller's region after "
                        "an earlier step allowed every region"
                    )


@attrs.frozen
class Surge:
    """Degraded mode for a queue under a surge.

    The mode starts when ``enter_waiting`` or more calls wait in the queue and
    ends when ``leave_waiting`` or fewer wait (hysteresis: ``leave_waiting <
    enter_waiting``). While it is on, arriving calls that match ``simple`` go
    to ``exit`` (self-service by default) instead of waiting; the others queue
    as usual. Entering and leaving are reported as ``SurgeMode`` actions.
    """

    enter_waiting: int
    leave_waiting: int
    simple: Condition
    exit: Exit = attrs.field(factory=lambda: Exit("self-service"), converter=_surge_exit)

    def __attrs_post_init__(self) -> None:
        for name in ("enter_waiting", "leave_waiting"):
            check_number(getattr(self, name), f"Surge.{name}", ConfigError, integer=True, minimum=0)
        if self.leave_waiting >= self.enter_waiting:
            raise ConfigError(
                f"Surge: leave_waiting ({self.leave_waiting}) must be below enter_waiting "
                f"({self.enter_waiting}) for hysteresis"
            )
        if not isinstance(self.simple, Condition):
            raise ConfigError(f"Surge.simple must be a condition, got {show(self.simple)}")


@attrs.frozen
class QueueRules:
    """Per-queue exits and modes.

    ``max_wait``: seconds a call may wait before ``on_max_wait`` sends it on.
    ``join_empty``: where a call goes if no agent of the queue is logged in
    when it arrives (``None``: it waits anyway). ``leave_empty``: where the
    waiting calls go when the last agent logs out (``None``: they stay).
    ``schedule``: the name of the plan schedule giving business hours;
    outside them arriving calls take ``when_closed``. ``surge``: degraded mode.
    Every exit field takes an :class:`Exit` or the shorthand
    ``"self-service"`` or ``"reject"`` (see the module's docstring).
    """

    max_wait: float | None = None
    on_max_wait: Exit = attrs.field(
        factory=lambda: Exit("destination", "voicemail"),
        converter=_on_max_wait,
    )
    join_empty: Exit | None = attrs.field(default=None, converter=_join_empty)
    leave_empty: Exit | None = attrs.field(default=None, converter=_leave_empty)
    schedule: str | None = None
    when_closed: Exit = attrs.field(
        factory=lambda: Exit("reject"),
        converter=_when_closed,
    )
    surge: Surge | None = None

    def __attrs_post_init__(self) -> None:
        _seconds(self, "max_wait", "QueueRules.max_wait", allow_none=True, positive=True)
        if self.max_wait == 0:
            raise ConfigError("QueueRules.max_wait must be > 0")
        _name(self.schedule, "QueueRules.schedule", allow_none=True)
        if self.surge is not None and not isinstance(self.surge, Surge):
            raise ConfigError(f"QueueRules.surge must be a Surge or None, got {show(self.surge)}")


@attrs.frozen
class LoadGuard:
    """Skip agents who keep missing offers, while others are available.

    An agent whose answer rate (answered / offered over its last ``window``
    offers, once it has at least ``min_offers`` of them) is below
    ``min_answer_rate`` is passed over when another free agent can take the
    call.
    """

    min_answer_rate: float = 0.8
    window: int = 20
    min_offers: int = 5

    def __attrs_post_init__(self) -> None:
        rate = check_number(
            self.min_answer_rate, "LoadGuard.min_answer_rate", ConfigError, minimum=0, maximum=1
        )
        object.__setattr__(self, "min_answer_rate", rate)
        for name in ("window", "min_offers"):
            check_number(
                getattr(self, name), f"LoadGuard.{name}", ConfigError, integer=True, minimum=1
            )
        if self.min_offers > self.window:
            raise ConfigError("LoadGuard.min_offers cannot exceed LoadGuard.window")


def _rules(value: Sequence[Rule]) -> tuple[Rule, ...]:
    return freeze_sequence(value, "RoutingPlan.rules", ConfigError)


def _frozen_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return freeze_mapping(value, "RoutingPlan table", ConfigError)


@attrs.frozen
class RoutingPlan:
    """Rules tried in order, then ``default``; per-queue rules; schedules by
    name; an optional load guard. Deciding a call costs O(rules x condition
    size)."""

    rules: tuple[Rule, ...] = attrs.field(converter=_rules)
    default: Rule
    queues: Mapping[str, QueueRules] = attrs.field(factory=dict, converter=_frozen_map)
    schedules: Mapping[str, Schedule] = attrs.field(factory=dict, converter=_frozen_map)
    load_guard: LoadGuard | None = None

    def __attrs_post_init__(self) -> None:
        names: set[str] = set()
        for i, r in enumerate((*self.rules, self.default)):
            where = "default" if i == len(self.rules) else f"rules[{i}]"
            if not isinstance(r, Rule):
                raise ConfigError(f"{where}: {show(r)} is not a Rule")
            if r.name in names:
                raise ConfigError(f"{where}: rule name {r.name!r} is used twice")
            names.add(r.name)
        if not isinstance(self.default.when, Always):
            raise ConfigError("default: the default rule must not have a condition")
        for table in ("schedules", "queues"):
            for name in getattr(self, table):
                _name(name, f"RoutingPlan.{table} key")
        for name, s in self.schedules.items():
            if not isinstance(s, Schedule):
                raise ConfigError(f"schedules.{name}: {show(s)} is not a Schedule")
        if self.load_guard is not None and not isinstance(self.load_guard, LoadGuard):
            raise ConfigError(
                f"RoutingPlan.load_guard must be a LoadGuard or None, got {show(self.load_guard)}"
            )
        for name, qr in self.queues.items():
            if not isinstance(qr, QueueRules):
                raise ConfigError(f"queues.{name}: {show(qr)} is not QueueRules")
            if qr.schedule is not None and qr.schedule not in self.schedules:
                raise ConfigError(f"queues.{name}: unknown schedule {qr.schedule!r}")
            if qr.surge is not None:
                for sched in qr.surge.simple.schedules():
                    if sched not in self.schedules:
                        raise ConfigError(f"queues.{name}.surge.simple: unknown schedule {sched!r}")
        for i, r in enumerate(self.rules):
            for sched in r.when.schedules():
                if sched not in self.schedules:
                    raise ConfigError(f"rules[{i}] {r.name!r}: unknown schedule {sched!r}")

    def all_rules(self) -> tuple[Rule, ...]:
        """The rules in the order they are tried, the default last."""
        return (*self.rules, self.default)

    def validate_for(
        self, queues: Mapping[str, SkillRequirement], skills: Collection[str] | None = None
    ) -> None:
        """Check every queue and (when ``skills`` is given) skill name the plan
        uses against the distributor's configuration; raise
        :class:`ConfigError` naming the entry. ``queues`` maps each queue name
        to its default requirement."""

        def check_queue(name: str | None, where: str) -> None:
            if name is not None and name not in queues:
                raise ConfigError(f"{where}: unknown queue {name!r}")

        def check_exit(e: Exit | None, where: str) -> None:
            if e is not None and e.kind == "queue":
                check_queue(e.target, where)

        def check_req(req: SkillRequirement | None, where: str) -> None:
            if req is None or skills is None:
                return
            for skill, _ in req.items():
                if skill not in skills:
                    raise ConfigError(f"{where}: unknown skill {skill!r}")

        for i, r in enumerate(self.all_rules()):
            where = "default" if r is self.default else f"rules[{i}] {r.name!r}"
            check_queue(r.queue, where)
            check_exit(r.exit, f"{where}.exit")
            check_req(r.requirement, f"{where}.requirement")
            base = r.requirement
            if base is None and r.queue is not None:
                base = queues[r.queue]
            for j, s in enumerate(r.steps):
                sw = f"{where}.steps[{j}]"
                for q in s.add_queues:
                    check_queue(q, f"{sw}.add_queues")
                check_req(s.requirement, f"{sw}.requirement")
                req = s.requirement if s.requirement is not None else base
                if base is not None and req is not None and not _weaker_or_equal(req, base):
                    raise ConfigError(
                        f"{sw}: requirement {dict(req.items())} narrows the previous "
                        f"{dict(base.items())}; relaxation may only widen"
                    )
                base = req
        for name, qr in self.queues.items():
            check_queue(name, f"queues.{name}")
            check_exit(qr.on_max_wait, f"queues.{name}.on_max_wait")
            check_exit(qr.join_empty, f"queues.{name}.join_empty")
            check_exit(qr.leave_empty, f"queues.{name}.leave_empty")
            check_exit(qr.when_closed, f"queues.{name}.when_closed")
            if qr.surge is not None:
                check_exit(qr.surge.exit, f"queues.{name}.surge.exit")
            surge_exit = qr.surge.exit if qr.surge is not None else None
            for e in (qr.on_max_wait, qr.join_empty, qr.leave_empty, qr.when_closed, surge_exit):
                if e is not None and e.kind == "queue" and e.target == name:
                    raise ConfigError(f"queues.{name}: an exit cannot lead back to the same queue")

    def decide(self, attributes: Mapping[str, Any], now: float) -> Rule:
        """The first rule whose condition matches (the default otherwise)."""
        for rule in self.rules:
            if rule.when.matches(attributes, now, self):
                return rule
        return self.default

    def schedule_open(self, name: str, now: float) -> bool:
        """Whether the named schedule is open at ``now`` (Unix seconds)."""
        return self.schedules[name].is_open(now)

    @classmethod
    def from_dict(
        cls,
        spec: Mapping[str, Any],
        *,
        queues: Mapping[str, SkillRequirement] | None = None,
        skills: Collection[str] | None = None,
    ) -> RoutingPlan:
        """Build a plan from plain data (as loaded from TOML or JSON); see
        ``docs/plans.md`` for the format. With ``queues`` (and ``skills``), it
        is also validated against them."""
        if not isinstance(spec, Mapping):
            raise ConfigError(f"a plan is a table, got {show(spec)}")
        unknown = set(spec) - {"rules", "default", "queues", "schedules", "load_guard"}
        if unknown:
            raise ConfigError(f"plan: unknown keys {show_keys(unknown)}")
        rules_spec = spec.get("rules", [])
        if not isinstance(rules_spec, list):
            raise ConfigError("rules: must be a list of rules")
        rules = [_rule_from_dict(r, f"rules[{i}]") for i, r in enumerate(rules_spec)]
        if "default" not in spec:
            raise ConfigError("default: a plan needs a default rule")
        default = _rule_from_dict(spec["default"], "default", default=True)
        schedules = {
            name: schedule_from_dict(s, f"schedules.{name}")
            for name, s in _table(spec.get("schedules", {}), "schedules").items()
        }
        queue_rules = {
            name: _queue_rules_from_dict(q, f"queues.{name}")
            for name, q in _table(spec.get("queues", {}), "queues").items()
        }
        guard = None
        if "load_guard" in spec:
            g = _table(spec["load_guard"], "load_guard")
            guard = _build(LoadGuard, g, "load_guard", {"min_answer_rate", "window", "min_offers"})
        plan = cls(
            rules=tuple(rules),
            default=default,
            queues=queue_rules,
            schedules=schedules,
            load_guard=guard,
        )
        if queues is not None:
            plan.validate_for(queues, skills)
        return plan


def _weaker_or_equal(new: SkillRequirement, old: SkillRequirement) -> bool:
    """Every agent meeting ``old`` also meets ``new``."""
    old_map = dict(old.items())
    return all(skill in old_map and level <= old_map[skill] for skill, level in new.items())


def _table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: must be a table, got {show(value)}")
    return value


def _build(cls: Any, spec: Mapping[str, Any], where: str, allowed: set[str]) -> Any:
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {show_keys(unknown)}")
    try:
        return cls(**spec)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _exit_from_dict(spec: object, where: str) -> Exit:
    if isinstance(spec, (str, Exit)):
        return to_exit(spec, where)
    table = _table(spec, where)
    out: Exit = _build(Exit, table, where, {"kind", "target", "callback_next_open"})
    return out


def _rule_from_dict(spec: object, where: str, default: bool = False) -> Rule:
    table = dict(_table(spec, where))
    allowed = {
        "name", "when", "queue", "priority", "emergency", "attributes", "requirement",
        "steps", "alert", "exit", "preferred",
    }  # fmt: skip
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {show_keys(unknown)}")
    table.setdefault("name", "default" if default else where)
    if "when" in table:
        if default:
            raise ConfigError(f"{where}: the default rule takes no 'when'")
        table["when"] = condition_from_dict(table["when"], f"{where}.when")
    elif not default:
        raise ConfigError(f"{where}: a rule needs a 'when' condition (only the default has none)")
    if "exit" in table:
        table["exit"] = _exit_from_dict(table["exit"], f"{where}.exit")
    if "steps" in table:
        if not isinstance(table["steps"], list):
            raise ConfigError(f"{where}.steps: must be a list")
        table["steps"] = tuple(
            _build(
                Step,
                {**_table(s, f"{where}.steps[{j}]")},
                f"{where}.steps[{j}]",
                {"requirement", "add_queues", "regional", "expires_after", "skip_if_empty"},
            )
            for j, s in enumerate(table["steps"])
        )
    if "preferred" in table:
        table["preferred"] = _build(
            PreferredAgent,
            _table(table["preferred"], f"{where}.preferred"),
            f"{where}.preferred",
            {"attribute", "wait", "if_busy"},
        )
    out: Rule = _build(Rule, table, where, allowed)
    return out


def _queue_rules_from_dict(spec: object, where: str) -> QueueRules:
    table = dict(_table(spec, where))
    for key in ("on_max_wait", "join_empty", "leave_empty", "when_closed"):
        if key in table:
            table[key] = _exit_from_dict(table[key], f"{where}.{key}")
    if "surge" in table:
        s = dict(_table(table["surge"], f"{where}.surge"))
        if "simple" not in s:
            raise ConfigError(f"{where}.surge: needs a 'simple' condition")
        s["simple"] = condition_from_dict(s["simple"], f"{where}.surge.simple")
        if "exit" in s:
            s["exit"] = _exit_from_dict(s["exit"], f"{where}.surge.exit")
        table["surge"] = _build(
            Surge, s, f"{where}.surge", {"enter_waiting", "leave_waiting", "simple", "exit"}
        )
    out: QueueRules = _build(
        QueueRules,
        table,
        where,
        {
            "max_wait",
            "on_max_wait",
            "join_empty",
            "leave_empty",
            "schedule",
            "when_closed",
            "surge",
        },
    )
    return out
