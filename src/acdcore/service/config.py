"""The service's configuration: queues and plan, data directory, tokens, limits.

A :class:`ServiceConfig` says everything :func:`acdcore.service.create_app`
needs to build the distributor the same way at every start (so that the data
directory recovers), who may call it, and how much it accepts. Build it in
Python, or read it from TOML with :meth:`ServiceConfig.load`. The queues,
the routing plan and the service level use the scenario format
(:mod:`acdcore.scenario`, parsed by the same code), so a scenario file with
a ``[service]`` table is a service configuration; its simulation-only tables
(``agents``, ``traffic``, ...) are ignored::

    [service]
    data_dir = "acd-data"          # relative to this file
    flush = "flush"                # "fsync", "flush" or an int (see acdcore.journal)
    snapshot_every = 10000         # entries
    snapshot_seconds = 300         # or false: no time schedule
    seed = 0                       # the distributor's random strategies
    interval = 1800                # the metrics' reporting interval (seconds)
    tz_offset = 3600               # seconds east of UTC, for "today" and intervals

    [service.limits]
    max_body = 65536               # bytes of a request body
    rate = 20.0                    # requests per second per token (sustained)
    burst = 40                     # requests a token may make at once
    stream_buffer = 10000          # journal entries kept in memory for resuming streams
    stream_queue = 1000            # entries a slow stream client may fall behind

    [service.replication]          # optional: a hot standby on Redis (docs/standby.md)
    redis_url = "redis://127.0.0.1:6379/0"
    name = "acdcore"               # the Redis keys' prefix, one per distributor
    node = "acd-1"                 # this node's name (default: the host name)
    ttl = 2.0                      # the lease, seconds: the takeover time

    [service.tokens]               # at least 16 characters each
    "a-long-random-supervisor-token" = { role = "supervisor" }
    "a-long-random-token-for-alice" = { role = "agent", agent = "alice" }
    "a-long-random-wallboard-token" = { role = "monitor" }   # read-only

    [service_level]
    threshold = 20
    target = 0.8

    [[queues]]
    name = "support"
    ring_timeout = 15
    wrap_up = 10

    [plan]
    default = { queue = "support" }

Errors are :class:`~acdcore.errors.ConfigError` naming the key path
(``service.tokens: ...``, ``queues[0].ring_timeout: ...``).
"""

from __future__ import annotations

import math
import os
import random
import socket
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..config import QueueConfig
from ..distributor import Distributor
from ..errors import AcdError, ConfigError
from ..estimators import LearnedEstimator
from ..metrics import Metrics
from ..plans import RoutingPlan
from ..scenario import _TOP as _SCENARIO_KEYS
from ..scenario import MAX_SCENARIO_BYTES, ServiceLevel, _Parser

__all__ = ["ROLES", "Grant", "Limits", "Replication", "ServiceConfig"]

ROLES = ("supervisor", "agent", "monitor")
"""Who a token speaks for: a ``supervisor`` may do everything; an ``agent``
acts only for its own agent id; a ``monitor`` (a wallboard, a Prometheus
scraper) reads everything and changes nothing."""

MIN_TOKEN_LENGTH = 16

# Top-level keys of a scenario that the service reads, and those it ignores.
_READ = {"service", "queues", "plan", "service_level", "distributions"}
# The scenario's simulation-only tables (agents, traffic, run lengths...):
# every scenario key the service does not read.
_IGNORED = _SCENARIO_KEYS - _READ
_SERVICE_KEYS = {
    "data_dir",
    "flush",
    "snapshot_every",
    "snapshot_seconds",
    "seed",
    "backend",
    "interval",
    "tz_offset",
    "limits",
    "tokens",
    "replication",
}


def _fail(key: str, problem: str) -> ConfigError:
    return ConfigError(f"{key}: {problem}")


@attrs.frozen
class Grant:
    """What one token may do: its ``role`` (one of :data:`ROLES`) and, for
    an agent token, the ``agent`` id it acts for."""

    role: str
    agent: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if self.role == "agent":
            if not isinstance(self.agent, str) or not self.agent:
                raise ConfigError("an agent token needs agent = the agent's id")
        elif self.agent is not None:
            raise ConfigError(f"a {self.role} token acts for no single agent; remove agent")

    @property
    def label(self) -> str:
        """How logs name whoever holds the token (never the token itself)."""
        return f"agent:{self.agent}" if self.role == "agent" else self.role


def _positive_int(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(key, f"must be an int >= 1, got {value!r}")
    return value


def _positive_number(value: object, key: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise _fail(key, f"must be a number > 0, got {value!r}")
    return float(value)


@attrs.frozen
class Limits:
    """How much the service accepts: ``max_body`` bytes per request body;
    ``rate`` requests per second per token, with bursts of ``burst``;
    ``stream_buffer`` journal entries kept in memory so that a stream can
    resume without reading the journal; ``stream_queue`` entries a stream
    client may fall behind before it is disconnected (it then resumes)."""

    max_body: int = 64 * 1024
    rate: float = 20.0
    burst: int = 40
    stream_buffer: int = 10_000
    stream_queue: int = 1_000

    def __attrs_post_init__(self) -> None:
        _positive_int(self.max_body, "max_body")
        object.__setattr__(self, "rate", _positive_number(self.rate, "rate"))
        for key in ("burst", "stream_buffer", "stream_queue"):
            _positive_int(getattr(self, key), key)


@attrs.frozen
class Replication:
    """A hot standby on Redis Streams (see :mod:`acdcore.replication`):
    where Redis is (``redis_url``), the keys' prefix (``name``), this node's
    name (``node``) and the lease (``ttl`` seconds: the takeover time)."""

    redis_url: str
    name: str = "acdcore"
    node: str = attrs.field(factory=lambda: socket.gethostname())
    ttl: float = 2.0

    def __attrs_post_init__(self) -> None:
        for key in ("redis_url", "name", "node"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{key} must be a non-empty string, got {value!r}")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"redis_url must be a redis:// URL, got {self.redis_url!r}")
        object.__setattr__(self, "ttl", _positive_number(self.ttl, "ttl"))
        if self.ttl < 0.1:
            raise ConfigError(f"ttl must be at least 0.1 seconds, got {self.ttl!r}")


def _tokens(value: Mapping[str, Grant]) -> Mapping[str, Grant]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"tokens must be a mapping of token to Grant, got {type(value).__name__}")
    for token, grant in value.items():
        if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"tokens: every token must be a string of at least {MIN_TOKEN_LENGTH} characters"
            )
        if not isinstance(grant, Grant):
            raise ConfigError(
                f"tokens: a token's grant must be a Grant, got {type(grant).__name__}"
            )
    return dict(value)


def _queues(value: Any) -> tuple[QueueConfig, ...]:
    out = tuple(value)
    if not out:
        raise ConfigError("queues: at least one queue is required")
    for i, q in enumerate(out):
        if not isinstance(q, QueueConfig):
            raise ConfigError(f"queues[{i}]: must be a QueueConfig, got {q!r}")
    return out


@attrs.frozen(kw_only=True)
class ServiceConfig:
    """Everything the service needs (see the module docstring for the TOML
    form). ``queues`` and ``plan`` build the distributor (with a
    :class:`~acdcore.estimators.LearnedEstimator`, so that estimates are
    always available), ``service_level``, ``thresholds``, ``targets``,
    ``interval`` and ``tz_offset`` the metrics; ``data_dir``, ``flush``,
    ``snapshot_every`` and ``snapshot_seconds`` the store. Change none of
    those between two starts on one data directory, except the store's
    schedule: recovery refuses a directory written by a distributor built
    differently. ``tokens`` maps each token to its :class:`Grant`."""

    queues: tuple[QueueConfig, ...] = attrs.field(converter=_queues)
    data_dir: Path = attrs.field(converter=Path)
    tokens: Mapping[str, Grant] = attrs.field(converter=_tokens, repr=False)
    plan: RoutingPlan | None = None
    limits: Limits = attrs.field(factory=Limits)
    service_level: ServiceLevel = attrs.field(factory=ServiceLevel)
    thresholds: Mapping[str, float] = attrs.field(factory=dict)
    targets: Mapping[str, float] = attrs.field(factory=dict)
    interval: float = 1800.0
    tz_offset: float = 0.0
    flush: str | int = "flush"
    snapshot_every: int = 10_000
    snapshot_seconds: float | None = 300.0
    seed: int = 0
    backend: str | None = None
    replication: Replication | None = None

    def __attrs_post_init__(self) -> None:
        if self.replication is not None and not isinstance(self.replication, Replication):
            raise ConfigError(f"replication must be a Replication, got {self.replication!r}")
        if self.plan is not None and not isinstance(self.plan, RoutingPlan):
            raise ConfigError(f"plan must be a RoutingPlan, got {self.plan!r}")
        if not isinstance(self.limits, Limits):
            raise ConfigError(f"limits must be a Limits, got {self.limits!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an int, got {self.seed!r}")
        if self.flush not in ("fsync", "flush") and (
            isinstance(self.flush, bool) or not isinstance(self.flush, int) or self.flush < 1
        ):
            raise ConfigError(f"flush must be 'fsync', 'flush' or an int >= 1, got {self.flush!r}")
        if isinstance(self.flush, int) and self.flush >= self.limits.stream_buffer:
            raise ConfigError(
                f"flush = {self.flush} entries per write must be less than limits.stream_buffer "
                f"({self.limits.stream_buffer}): a stream resumes from the journal on disk only "
                "for entries no longer in memory"
            )
        _positive_int(self.snapshot_every, "snapshot_every")
        if self.snapshot_seconds is not None:
            _positive_number(self.snapshot_seconds, "snapshot_seconds")
        self.build()  # every other check is the distributor's and the metrics'

    # ------------------------------------------------------------ building

    def build(self) -> tuple[Distributor, Metrics]:
        """A fresh distributor and metrics, built the same way at every
        start (the store recovers into them)."""
        sl = self.service_level
        try:
            acd = Distributor(
                list(self.queues),
                plan=self.plan,
                rng=random.Random(self.seed),
                backend=self.backend,
                estimators=[LearnedEstimator()],
            )
            metrics = Metrics(
                list(self.queues),
                interval=self.interval,
                sl_threshold=sl.threshold,
                sl_target=sl.target,
                thresholds=self.thresholds,
                targets=self.targets,
                sl_variant=sl.variant,
                short_abandon=sl.short_abandon,
                tz_offset=self.tz_offset,
            )
        except ConfigError:
            raise
        except AcdError as exc:
            raise ConfigError(str(exc)) from None
        return acd, metrics

    # ------------------------------------------------------------ reading

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None
    ) -> ServiceConfig:
        """Build a configuration from plain data (parsed TOML or JSON); a
        relative ``data_dir`` is taken from ``base_dir`` (default: the
        working directory)."""
        try:
            return _read(data, base_dir)
        except ConfigError:
            raise
        except RecursionError:
            raise ConfigError("the data is nested too deeply") from None
        except (AcdError, ArithmeticError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"invalid service configuration: {type(exc).__name__}: {exc}"
            ) from None

    @classmethod
    def from_toml(
        cls, text: str, *, base_dir: str | os.PathLike[str] | None = None
    ) -> ServiceConfig:
        """Build a configuration from TOML text (see the module docstring)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}") from None
        except (RecursionError, ValueError) as exc:
            raise ConfigError(f"not valid TOML: {exc}") from None
        return cls.from_dict(data, base_dir=base_dir)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ServiceConfig:
        """Read a TOML configuration file; a relative ``data_dir`` is taken
        from the file's directory."""
        name = os.fspath(path)
        try:
            if not stat.S_ISREG(os.stat(name).st_mode):
                raise ConfigError(f"cannot read {name!r}: not a regular file")
            with open(name, "rb") as fh:
                raw = fh.read(MAX_SCENARIO_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read {name!r}: {exc.strerror or exc}") from None
        if len(raw) > MAX_SCENARIO_BYTES:
            raise ConfigError(f"{name}: larger than {MAX_SCENARIO_BYTES // 2**20} MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{name}: not UTF-8 text") from None
        try:
            return cls.from_toml(text, base_dir=os.path.dirname(os.path.abspath(name)))
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None


def _table(value: object, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(key, f"must be a table, got {value!r}")
    return value


def _sub_table(spec: Any, where: str, cls: Any) -> Any:
    """``cls`` (an attrs class) built from the table ``spec`` at ``where``,
    whose keys must be ``cls``'s fields; every error names ``where``."""
    spec = _table(spec, where)
    names = {f.name for f in attrs.fields(cls)}
    for key in spec:
        if key not in names:
            raise _fail(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(names))})")
    required = [f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING]
    for key in required:
        if key not in spec:
            raise _fail(f"{where}.{key}", "missing")
    try:
        return cls(**spec)
    except ConfigError as exc:
        raise _fail(where, str(exc)) from None


def _read(data: Mapping[str, Any], base_dir: str | os.PathLike[str] | None) -> ServiceConfig:
    data = _table(data, "configuration")
    for key in data:
        if key not in _READ and key not in _IGNORED:
            known = ", ".join(sorted(_READ | _IGNORED))
            raise _fail(str(key), f"unknown key (known: {known})")
    if "service" not in data:
        raise _fail("service", "missing ([service] with data_dir and tokens)")
    service = _table(data["service"], "service")
    for key in service:
        if key not in _SERVICE_KEYS:
            raise _fail(
                f"service.{key}", f"unknown key (known: {', '.join(sorted(_SERVICE_KEYS))})"
            )
    for key in ("data_dir", "tokens"):
        if key not in service:
            raise _fail(f"service.{key}", "missing")

    # The queues, the plan and the service level: the scenario's parser.
    parser = _Parser(base_dir)
    for name, spec in _table(data.get("distributions", {}), "distributions").items():
        parser.named[name] = parser.dist(spec, f"distributions.{name}")
    if "queues" not in data:
        raise _fail("queues", "at least one queue is required ([[queues]])")
    queues = [
        parser.queue(q, f"queues[{i}]")
        for i, q in enumerate(parser.tables(data["queues"], "queues"))
    ]
    seen: set[str] = set()
    for i, q in enumerate(queues):
        if q.name in seen:
            raise _fail(f"queues[{i}].name", f"{q.name!r} is used twice")
        seen.add(q.name)
    kwargs: dict[str, Any] = {
        "queues": [q.config for q in queues],
        "thresholds": {q.name: q.sl_threshold for q in queues if q.sl_threshold is not None},
        "targets": {q.name: q.sl_target for q in queues if q.sl_target is not None},
    }
    if "service_level" in data:
        spec = _table(data["service_level"], "service_level")
        parser.keys(spec, {"threshold", "target", "variant", "short_abandon"}, "service_level")
        kwargs["service_level"] = parser.build(ServiceLevel, "service_level", **spec)
    if "plan" in data:
        requirements = {q.name: q.config.requirement for q in queues}
        try:
            kwargs["plan"] = RoutingPlan.from_dict(
                _table(data["plan"], "plan"), queues=requirements
            )
        except AcdError as exc:
            raise ConfigError(f"plan: {str(exc).removeprefix('plan: ')}") from None

    # The [service] table.
    directory = service["data_dir"]
    if not isinstance(directory, str) or not directory:
        raise _fail("service.data_dir", f"must be a directory name, got {directory!r}")
    path = Path(directory)
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    kwargs["data_dir"] = path
    tokens = {}
    for token, spec in _table(service["tokens"], "service.tokens").items():
        if len(token) < MIN_TOKEN_LENGTH:
            raise _fail(
                "service.tokens",
                f"a token of {len(token)} characters is too short to be secret "
                f"(at least {MIN_TOKEN_LENGTH})",
            )
        spec = _table(spec, "service.tokens.<token>")
        for key in spec:
            if key not in ("role", "agent"):
                raise _fail("service.tokens.<token>", f"unknown key {key!r} (known: agent, role)")
        try:
            tokens[token] = Grant(**spec)
        except (ConfigError, TypeError) as exc:
            raise _fail("service.tokens.<token>", str(exc)) from None
    kwargs["tokens"] = tokens
    for key, cls in (("limits", Limits), ("replication", Replication)):
        if key in service:
            kwargs[key] = _sub_table(service[key], f"service.{key}", cls)
    for key in ("flush", "snapshot_every", "seed", "backend", "interval", "tz_offset"):
        if key in service:
            kwargs[key] = service[key]
    if "snapshot_seconds" in service:
        value = service["snapshot_seconds"]
        kwargs["snapshot_seconds"] = None if value is False else value
    try:
        return ServiceConfig(**kwargs)
    except ConfigError as exc:
        raise _fail("service", str(exc)) from None
