"""Reading scenarios: a scenario file read and checked (size, UTF-8), TOML
text parsed, and plain data (parsed TOML or JSON) turned into a scenario by
:class:`_Parser`, which puts the key path in every error. The classmethods
``Scenario.load``, ``from_toml`` and ``from_dict`` are built on these;
:mod:`acdcore.service.config` reads its queues with the same parser.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._scenario_parts import (
    AgentGroup,
    Break,
    CallType,
    ReplayCall,
    ServiceLevel,
    SimQueue,
    Traffic,
)
from ._scenario_values import (
    DAY,
    MAX_SCENARIO_BYTES,
    _fail,
    _fraction,
    _int,
    _key,
    _membership_from,
    _name,
    _number,
    _show_value,
    _skills,
    _sub,
    _time_of_day,
    _time_spec,
)
from .config import Announcements, CallbackPolicy, NoAnswerPolicy, QueueConfig, Strategy
from .distributions import Distribution, distribution_from_dict
from .errors import AcdError, ConfigError
from .policies import (
    FIFO,
    AccumulatingPriority,
    EmergencyFirst,
    PriorityClasses,
    PriorityPolicy,
    ValueUrgencyMatrix,
)

if TYPE_CHECKING:
    from .scenario import Scenario


def read_file(name: str) -> str:
    """The text of the scenario file ``name`` (for ``Scenario.load``): a
    regular file of at most :data:`MAX_SCENARIO_BYTES`, in UTF-8."""
    problem = None
    try:
        mode = os.stat(name).st_mode
        if stat.S_ISDIR(mode):
            problem = "it is a directory"
        elif not stat.S_ISREG(mode):  # a device or a pipe could be endless
            problem = "not a regular file"
        else:
            with open(name, "rb") as fh:
                data = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        problem = exc.strerror or str(exc)
    except ValueError as exc:  # a NUL in the name
        problem = str(exc)
    if problem is not None:
        raise ConfigError(f"cannot read {_show_value(name)}: {problem}")
    if len(data) > MAX_SCENARIO_BYTES:
        raise ConfigError(
            f"{name}: larger than {MAX_SCENARIO_BYTES // 2**20} MiB; "
            "replay many calls from a CSV file instead"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{name}: not UTF-8 text (byte {data[exc.start]:#04x} on line {line})"
        ) from None
    return text


def parse_toml(text: str) -> dict[str, Any]:
    """TOML text as plain data (for ``Scenario.from_toml``); what is not
    valid TOML is a :class:`~acdcore.errors.ConfigError`."""
    if not isinstance(text, str):
        raise ConfigError(f"TOML text must be a string, got {_show_value(text)}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError("not valid TOML: arrays or tables nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ConfigError(f"not valid TOML: {exc}") from None
    return data


def parse_data(data: Mapping[str, Any], base_dir: str | os.PathLike[str] | None) -> Scenario:
    """A scenario from plain data (for ``Scenario.from_dict``): a
    :class:`~acdcore.errors.ConfigError` for anything wrong in it."""
    try:
        return _Parser(base_dir).scenario(data)
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError("the data is nested too deeply") from None
    except (AcdError, ArithmeticError, TypeError, ValueError) as exc:
        # Defensive: every check above names its key; whatever slips
        # through is still a configuration error, not a crash.
        raise ConfigError(f"invalid scenario: {type(exc).__name__}: {exc}") from None


_TOP = {
    "name",
    "description",
    "seed",
    "replications",
    "duration",
    "warmup",
    "drain",
    "start",
    "service_level",
    "distributions",
    "queues",
    "agents",
    "plan",
    "traffic",
}
_QUEUE_KEYS = {
    "name",
    "policy",
    "strategy",
    "requirement",
    "ring_timeout",
    "wrap_up",
    "no_answer",
    "max_length",
    "preferred_agent_wait",
    "handle",
    "patience",
    "sl_threshold",
    "sl_target",
    "announce",
    "callback",
}
_AGENT_KEYS = {
    "name",
    "count",
    "skills",
    "queues",
    "region",
    "shift",
    "breaks",
    "stagger",
    "rona",
    "answer_delay",
    "resume_after",
}
_TRAFFIC_KEYS = {"interval", "rates", "surge", "replay", "call_types", "handle", "patience"}
_CALL_TYPE_KEYS = {
    "name",
    "weight",
    "queue",
    "attributes",
    "priority",
    "emergency",
    "requirement",
    "handle",
    "patience",
}
_POLICIES: dict[str, type[Any]] = {
    "fifo": FIFO,
    "priority-classes": PriorityClasses,
    "accumulating": AccumulatingPriority,
    "value-urgency": ValueUrgencyMatrix,
    "emergency-first": EmergencyFirst,
}


class _Parser:
    """Turns plain data into a Scenario, with key paths in every error."""

    def __init__(self, base_dir: str | os.PathLike[str] | None) -> None:
        self.base_dir = None if base_dir is None else os.fspath(base_dir)
        self.named: dict[str, Distribution] = {}

    # ------------------------------------------------------------ helpers

    @staticmethod
    def table(value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise _fail(where, f"must be a table, got {_show_value(value)}")
        return value

    @staticmethod
    def tables(value: object, where: str) -> list[Mapping[str, Any]]:
        if not isinstance(value, list):
            raise _fail(where, f"must be a list of tables ([[{where}]]), got {_show_value(value)}")
        for i, v in enumerate(value):
            if not isinstance(v, Mapping):
                raise _fail(f"{where}[{i}]", f"must be a table, got {_show_value(v)}")
        return value

    @staticmethod
    def keys(spec: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for k in spec:
            if k not in allowed:
                raise _fail(
                    _sub(where, _key(k)), f"unknown key (known: {', '.join(sorted(allowed))})"
                )

    @staticmethod
    def build(cls: Any, where: str, **kwargs: Any) -> Any:
        """Build one of our objects; its errors are relative to ``where``."""
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(_sub(where, str(exc))) from None

    def path(self, value: str) -> str:
        if self.base_dir is None or os.path.isabs(value):
            return value
        return os.path.join(self.base_dir, value)

    def dist(self, value: object, where: str) -> Distribution:
        if isinstance(value, str):
            found = self.named.get(value)
            if found is None:
                known = ", ".join(sorted(self.named)) or "none are defined"
                raise _fail(where, f"unknown distribution {_show_value(value)} (known: {known})")
            return found
        if isinstance(value, Mapping) or (
            isinstance(value, (int, float)) and not isinstance(value, bool)
        ):
            return distribution_from_dict(value, where=where, base_dir=self.base_dir)
        raise _fail(
            where, f"must be a distribution name, a table or a number, got {_show_value(value)}"
        )

    def opt_dist(self, spec: Mapping[str, Any], key: str, where: str) -> Distribution | None:
        if key not in spec:
            return None
        return self.dist(spec[key], _sub(where, key))

    # ----------------------------------------------------------- sections

    def scenario(self, data: Mapping[str, Any]) -> Scenario:
        data = self.table(data, "scenario")
        self.keys(data, _TOP, "")
        for name, spec in self.table(data.get("distributions", {}), "distributions").items():
            self.named[name] = self.dist(spec, f"distributions.{_key(name)}")
        if "queues" not in data:
            raise _fail("queues", "at least one queue is required ([[queues]])")
        if "traffic" not in data:
            raise _fail("traffic", "missing ([traffic] with rates or replay)")
        queues = [
            self.queue(q, f"queues[{i}]")
            for i, q in enumerate(self.tables(data["queues"], "queues"))
        ]
        agents = [
            self.agent(a, f"agents[{i}]")
            for i, a in enumerate(self.tables(data.get("agents", []), "agents"))
        ]
        traffic = self.traffic(self.table(data["traffic"], "traffic"))
        kwargs: dict[str, Any] = {"queues": queues, "agents": agents, "traffic": traffic}
        if "service_level" in data:
            spec = self.table(data["service_level"], "service_level")
            self.keys(spec, {"threshold", "target", "variant", "short_abandon"}, "service_level")
            kwargs["service_level"] = self.build(ServiceLevel, "service_level", **spec)
        if "plan" in data:
            kwargs["plan"] = self.table(data["plan"], "plan")
        for key in (
            "name",
            "description",
            "seed",
            "replications",
            "duration",
            "warmup",
            "drain",
            "start",
        ):
            if key in data:
                kwargs[key] = data[key]
        from .scenario import Scenario  # imported here: acdcore.scenario imports this module

        return self.build(Scenario, "", **kwargs)  # type: ignore[no-any-return]

    def queue(self, spec: Mapping[str, Any], where: str) -> SimQueue:
        self.keys(spec, _QUEUE_KEYS, where)
        if "name" not in spec:
            raise _fail(f"{where}.name", "missing")
        name = _name(spec["name"], f"{where}.name")
        kwargs: dict[str, Any] = {}
        if "policy" in spec:
            kwargs["policy"] = self.policy(spec["policy"], f"{where}.policy")
        if "strategy" in spec:
            value = spec["strategy"]
            try:
                kwargs["strategy"] = Strategy(value)
            except ValueError:
                known = ", ".join(s.value for s in Strategy)
                raise _fail(
                    f"{where}.strategy",
                    f"unknown strategy {_show_value(value)} (use one of {known})",
                ) from None
        if "requirement" in spec:
            kwargs["requirement"] = _skills(spec["requirement"], f"{where}.requirement")
        for key in ("ring_timeout", "wrap_up", "preferred_agent_wait"):
            if key in spec:
                kwargs[key] = _number(spec[key], f"{where}.{key}", positive=key == "ring_timeout")
        if "max_length" in spec:
            kwargs["max_length"] = _int(spec["max_length"], f"{where}.max_length", 0)
        if "no_answer" in spec:
            na = dict(self.table(spec["no_answer"], f"{where}.no_answer"))
            self.keys(na, {"delay", "auto_pause_after", "pause_reason"}, f"{where}.no_answer")
            if na.get("auto_pause_after") is False:
                na["auto_pause_after"] = None
            try:
                kwargs["no_answer"] = NoAnswerPolicy(**na)
            except ConfigError as exc:
                raise _fail(f"{where}.no_answer", str(exc)) from None
        if "announce" in spec:
            an = dict(self.table(spec["announce"], f"{where}.announce"))
            self.keys(
                an, {"every", "first", "min_change", "prompts", "segment_by"}, f"{where}.announce"
            )
            try:
                kwargs["announce"] = Announcements(**an)
            except (ConfigError, TypeError) as exc:
                raise _fail(f"{where}.announce", str(exc)) from None
        accept, answer = 0.0, 1.0
        if "callback" in spec:
            cb = dict(self.table(spec["callback"], f"{where}.callback"))
            self.keys(
                cb,
                {"threshold", "retries", "retry_delay", "dial_timeout", "accept", "answer"},
                f"{where}.callback",
            )
            accept = _fraction(cb.pop("accept", 0.0), f"{where}.callback.accept")
            answer = _fraction(cb.pop("answer", 1.0), f"{where}.callback.answer")
            try:
                kwargs["callback"] = CallbackPolicy(**cb)
            except (ConfigError, TypeError) as exc:
                raise _fail(f"{where}.callback", str(exc)) from None
        try:
            config = QueueConfig(name, **kwargs)
        except ConfigError as exc:
            raise _fail(where, str(exc)) from None
        return self.build(  # type: ignore[no-any-return]
            SimQueue,
            where,
            config=config,
            handle=self.opt_dist(spec, "handle", where),
            patience=self.opt_dist(spec, "patience", where),
            sl_threshold=spec.get("sl_threshold"),
            sl_target=spec.get("sl_target"),
            callback_accept=accept,
            callback_answer=answer,
        )

    def policy(self, spec: object, where: str) -> PriorityPolicy:
        name: object
        args: dict[str, Any]
        if isinstance(spec, str):
            name, args = spec, {}
        elif isinstance(spec, Mapping):
            name = spec.get("name")
            args = {k: v for k, v in spec.items() if k != "name"}
        else:
            raise _fail(where, f"must be a policy name or a table, got {_show_value(spec)}")
        cls = _POLICIES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise _fail(
                where if isinstance(spec, str) else f"{where}.name",
                f"unknown policy {_show_value(name)} (use one of {', '.join(_POLICIES)})",
            )
        if cls is EmergencyFirst and "inner" in args:
            args["inner"] = self.policy(args["inner"], f"{where}.inner")
        try:
            return cls(**args)  # type: ignore[no-any-return]
        except TypeError:
            raise _fail(
                where, f"bad parameters {sorted(args)} for policy {_show_value(name)}"
            ) from None
        except ConfigError as exc:
            raise _fail(where, str(exc)) from None

    def agent(self, spec: Mapping[str, Any], where: str) -> AgentGroup:
        self.keys(spec, _AGENT_KEYS, where)
        if "name" not in spec:
            raise _fail(f"{where}.name", "missing")
        kwargs: dict[str, Any] = {
            k: spec[k]
            for k in ("name", "count", "skills", "region", "stagger", "rona")
            if k in spec
        }
        if "skills" in spec:
            kwargs["skills"] = _skills(spec["skills"], f"{where}.skills")
        if "queues" in spec:
            queues = spec["queues"]
            if isinstance(queues, Mapping):
                queues = {
                    q: _membership_from(
                        self.table(m, f"{where}.queues.{_key(q)}"), f"{where}.queues.{_key(q)}"
                    )
                    for q, m in queues.items()
                }
            kwargs["queues"] = queues
        if "shift" in spec:
            kwargs["shift"] = spec["shift"]
        if "breaks" in spec:
            breaks = []
            for j, b in enumerate(self.tables(spec["breaks"], f"{where}.breaks")):
                bw = f"{where}.breaks[{j}]"
                self.keys(b, {"start", "duration", "end", "reason"}, bw)
                if "start" not in b:
                    raise _fail(f"{bw}.start", "missing")
                args = {k: b[k] for k in ("start", "duration", "reason") if k in b}
                if "end" in b:
                    if "duration" in b:
                        raise _fail(f"{bw}.end", "give duration or end, not both")
                    args["duration"] = self.span(b["start"], b["end"], bw)
                elif "duration" not in b:
                    raise _fail(f"{bw}.duration", "missing (or give end)")
                breaks.append(self.build(Break, bw, **args))
            kwargs["breaks"] = breaks
        for key in ("answer_delay", "resume_after"):
            if key in spec:
                kwargs[key] = self.dist(spec[key], f"{where}.{key}")
        return self.build(AgentGroup, where, **kwargs)  # type: ignore[no-any-return]

    @staticmethod
    def span(start: object, end: object, where: str) -> float:
        a = _time_spec(start, f"{where}.start")
        b = _time_spec(end, f"{where}.end")
        if isinstance(a, str) != isinstance(b, str):
            raise _fail(f"{where}.end", "use the same form (time of day or seconds) as start")
        if isinstance(a, str) and isinstance(b, str):
            d = _time_of_day(b, f"{where}.end") - _time_of_day(a, f"{where}.start")
            return d if d > 0 else d + DAY
        assert isinstance(a, float) and isinstance(b, float)
        if b <= a:
            raise _fail(f"{where}.end", f"must be after start ({a:g}), got {b:g}")
        return b - a

    def traffic(self, spec: Mapping[str, Any]) -> Traffic:
        self.keys(spec, _TRAFFIC_KEYS, "traffic")
        kwargs: dict[str, Any] = {k: spec[k] for k in ("interval", "rates", "surge") if k in spec}
        if "replay" in spec:
            replay = spec["replay"]
            if isinstance(replay, str):
                kwargs["replay"] = self.path(replay)
            else:
                calls = []
                for i, c in enumerate(self.tables(replay, "traffic.replay")):
                    cw = f"traffic.replay[{i}]"
                    self.keys(
                        c,
                        {"t", "queue", "type", "attributes", "priority", "handle", "patience"},
                        cw,
                    )
                    if "t" not in c:
                        raise _fail(f"{cw}.t", "missing")
                    args = {k: v for k, v in c.items() if k != "type"}
                    if "type" in c:
                        args["call_type"] = c["type"]
                    if "attributes" in c:
                        args["attributes"] = self.table(c["attributes"], f"{cw}.attributes")
                    calls.append(self.build(ReplayCall, cw, **args))
                kwargs["replay"] = calls
        if "handle" in spec:
            kwargs["handle"] = self.dist(spec["handle"], "traffic.handle")
        if "patience" in spec:
            kwargs["patience"] = self.dist(spec["patience"], "traffic.patience")
        if "call_types" in spec:
            types = []
            for i, c in enumerate(self.tables(spec["call_types"], "traffic.call_types")):
                cw = f"traffic.call_types[{i}]"
                self.keys(c, _CALL_TYPE_KEYS, cw)
                if "name" not in c:
                    raise _fail(f"{cw}.name", "missing")
                args = {
                    k: c[k] for k in ("name", "weight", "queue", "priority", "emergency") if k in c
                }
                if "attributes" in c:
                    args["attributes"] = self.table(c["attributes"], f"{cw}.attributes")
                if "requirement" in c:
                    args["requirement"] = _skills(c["requirement"], f"{cw}.requirement")
                args["handle"] = self.opt_dist(c, "handle", cw)
                args["patience"] = self.opt_dist(c, "patience", cw)
                types.append(self.build(CallType, cw, **args))
            kwargs["call_types"] = types
        return self.build(Traffic, "traffic", **kwargs)  # type: ignore[no-any-return]
