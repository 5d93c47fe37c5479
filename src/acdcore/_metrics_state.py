"""A :class:`~acdcore.metrics.Metrics`' live state as plain JSON data (internal).

This is the code behind :meth:`Metrics.save_state` and
:meth:`Metrics.load_state`, for crash recovery: a snapshot holds the saved
state, and after a crash a new Metrics built with the same arguments loads it
and observes the journal's tail, ending exactly where a Metrics that observed
the whole run ends.

The saved data is a JSON object::

    {"v": 1, "config": {...}, "now": ..., "calls": [...], "agents": [...], ...}

``config`` holds the construction arguments that shape every figure (the
queues with their wrap-up seconds, interval, thresholds, targets, variant,
short_abandon, tz_offset, remember_calls, epoch); loading compares it with the
loading Metrics' own and names the first item that differs. The other keys are
the mutable attributes, one each (see ``_STATE``). Records (calls, agents,
sessions, accumulators) go through :func:`acdcore._records.record`, so a field
added to one of them later fails at import until it is given a form; and every
save and load checks that each attribute of the Metrics is either saved here
or listed as configuration, so an attribute added later fails loudly too.

Floats are written exactly (JSON's ``repr``; infinities as ``"inf"``); the
wait arrays (``array('d')``) keep their order, so sums come out the same.
Loading decodes everything into new objects and checks them before assigning
any, so a refused load leaves the Metrics as it was. Cost: O(size).
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from datetime import datetime
from typing import Any

import attrs

from ._metrics_records import (
    _AVAILABLE,
    _BUSY,
    _PAUSED,
    _RINGING,
    _WRAP,
    _Agent,
    _AgentAcc,
    _Answered,
    _Call,
    _CallAcc,
    _Session,
)
from ._metrics_stats import SLVariant
from ._records import (
    FLOAT,
    INT,
    STR,
    Form,
    dict_of,
    enum_of,
    list_of,
    optional,
    pairs,
    record,
    require_keys,
)
from .config import QueueConfig
from .errors import InvalidValue
from .metrics import Metrics
from .values import show

__all__ = ["VERSION", "load_state", "save_state"]

VERSION = 1
"""The version of the saved layout; loading refuses any other."""

_TOP = "metrics"  # where error messages start: "metrics.calls[2].bucket ..."


# ------------------------------------------------------------- extra forms


def _choice(*allowed: str) -> Form:
    """One of the strings ``allowed`` (a record's state or category)."""
    names = ", ".join(repr(a) for a in allowed)

    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise InvalidValue(f"{where} must be one of {names}, got {show(value)}")
        return value

    return Form(check, check)


def _check_count(value: Any, where: str) -> int:
    number: int = INT.load(value, where)
    if number < 0:
        raise InvalidValue(f"{where} must be an integer >= 0, got {show(value)}")
    return number


COUNT = Form(_check_count, _check_count)
"""An integer >= 0 (sequence numbers, the ignored count)."""


_FLOATS = list_of(FLOAT)


def _dump_doubles(value: Any, where: str) -> list[Any]:
    if not isinstance(value, array) or value.typecode != "d":
        raise InvalidValue(f"{where} must be an array('d'), got {show(value)}")
    dumped: list[Any] = _FLOATS.dump(value, where)
    return dumped


DOUBLES = Form(_dump_doubles, lambda data, where: array("d", _FLOATS.load(data, where)))
"""An ``array('d')`` (the waits), as a JSON list of exact numbers in order."""


def _fixed(*forms: Form) -> Form:
    """A tuple of ``len(forms)`` values, the i-th of ``forms[i]`` (a JSON list)."""
    what = f"a list of {len(forms)} items"

    def dump(value: Any, where: str) -> list[Any]:
        if not isinstance(value, tuple) or len(value) != len(forms):
            raise InvalidValue(f"{where} must be a tuple of {len(forms)} items, got {show(value)}")
        return [
            f.dump(x, f"{where}[{i}]") for i, (f, x) in enumerate(zip(forms, value, strict=True))
        ]

    def load(data: Any, where: str) -> tuple[Any, ...]:
        if not isinstance(data, list) or len(data) != len(forms):
            raise InvalidValue(f"{where} must be {what}, got {show(data)}")
        return tuple(
            f.load(x, f"{where}[{i}]") for i, (f, x) in enumerate(zip(forms, data, strict=True))
        )

    return Form(dump, load)


def _keyed(form: Form, cls: type[Any], key: str) -> Form:
    """A dict of ``cls`` records keyed by their own field ``key`` (calls by
    ``call_id``, agents by ``agent_id``), as a JSON list of the records in the
    dict's order; the keys are rebuilt from the records when loading."""
    if key not in attrs.fields_dict(cls):
        raise TypeError(f"{cls.__name__} has no field {key}")
    items = list_of(form)

    def dump(value: Any, where: str) -> list[Any]:
        for k, item in value.items():
            if getattr(item, key) != k:
                raise InvalidValue(
                    f"{where}: the entry for {show(k)} has {key} {show(getattr(item, key))}"
                )
        dumped: list[Any] = items.dump(list(value.values()), where)
        return dumped

    def load(data: Any, where: str) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for i, item in enumerate(items.load(data, where)):
            k = getattr(item, key)
            if k in out:
                raise InvalidValue(f"{where}[{i}].{key}: {show(k)} appears twice")
            out[k] = item
        return out

    return Form(dump, load)


def _ordered(form: Form) -> Form:
    """``form`` (a dict form) loading into an OrderedDict."""
    return Form(form.dump, lambda data, where: OrderedDict(form.load(data, where)))


def _dump_names(value: Any, where: str) -> list[str]:
    if not isinstance(value, (set, frozenset)):
        raise InvalidValue(f"{where} must be a set, got {show(value)}")
    return [STR.dump(x, f"{where}[{i}]") for i, x in enumerate(sorted(value))]


def _load_names(data: Any, where: str) -> set[str]:
    out: set[str] = set()
    for i, name in enumerate(list_of(STR).load(data, where)):
        if name in out:
            raise InvalidValue(f"{where}[{i}]: {show(name)} appears twice")
        out.add(name)
    return out


NAMES = Form(_dump_names, _load_names)
"""A set of strings, as a sorted JSON list (the same data every save)."""


def _dump_epoch(value: Any, where: str) -> str:
    if not isinstance(value, datetime):
        raise InvalidValue(f"{where} must be a datetime, got {show(value)}")
    return value.isoformat()


def _load_epoch(data: Any, where: str) -> datetime:
    if isinstance(data, str):
        try:
            return datetime.fromisoformat(data)
        except ValueError:
            pass
    raise InvalidValue(f"{where} must be an ISO 8601 date-time, got {show(data)}")


EPOCH = Form(_dump_epoch, _load_epoch)
"""A datetime, as its ISO 8601 text."""


# ----------------------------------------------------------------- records

CALL_ACC = record(_CallAcc, {"answered_waits": DOUBLES, "abandoned_waits": DOUBLES})
AGENT_ACC = record(_AgentAcc, {"calls": CALL_ACC})
CALL = record(_Call, {"state": _choice("waiting", "ringing", "connected")})
SESSION = record(_Session, {"state": _choice("ringing", "connected", "wrap")})
AGENT = record(
    _Agent,
    {
        "sessions": pairs(INT, SESSION),  # keyed by the call's arrival number
        "category": optional(_choice(_BUSY, _WRAP, _RINGING, _PAUSED, _AVAILABLE)),
    },
)
ANSWERED = record(_Answered)
WRAP = _fixed(FLOAT, INT, STR, INT)  # (until, seq, agent, call number)


# ------------------------------------------------------- the Metrics' fields

_STATE: tuple[tuple[str, str, Form], ...] = (
    ("now", "_now", FLOAT),
    ("calls", "_calls", _keyed(CALL, _Call, "call_id")),
    ("agents", "_agents", _keyed(AGENT, _Agent, "agent_id")),
    ("wraps", "_wraps", list_of(WRAP)),  # a heap: its list order is kept
    ("wrap_seq", "_wrap_seq", COUNT),
    ("call_seq", "_call_seq", COUNT),
    ("queue_acc", "_queue_acc", pairs(INT, dict_of(CALL_ACC))),
    ("agent_acc", "_agent_acc", pairs(INT, dict_of(AGENT_ACC))),
    ("answered", "_answered", _ordered(pairs(STR, ANSWERED))),  # oldest first
    ("ignored", "_ignored", COUNT),
    ("unhandled", "_unhandled", NAMES),
)
"""(key in the data, Metrics attribute, form) of every mutable attribute."""

_CONFIG: tuple[tuple[str, str, Form], ...] = (
    ("queues", "_wrap", pairs(STR, FLOAT)),  # [name, wrap-up seconds], in order
    ("interval", "_interval", FLOAT),
    ("thresholds", "_threshold", dict_of(FLOAT)),
    ("targets", "_target", dict_of(FLOAT)),
    ("variant", "_variant", enum_of(SLVariant)),
    ("short_abandon", "_short", FLOAT),
    ("tz_offset", "_tz", FLOAT),
    ("remember_calls", "_remember", INT),
    ("epoch", "_epoch", optional(EPOCH)),
)
"""(key, Metrics attribute, form) of the configuration that loading compares."""

_DERIVED = frozenset({"_per_day"})
"""Attributes computed from the configuration (``_per_day`` from the interval)."""

_KNOWN = frozenset(attr for _, attr, _ in (*_STATE, *_CONFIG)) | _DERIVED


def _check_attributes(metrics: Metrics) -> None:
    """Raise :class:`TypeError` (a programming error) if ``metrics`` has an
    attribute this module neither saves nor knows as configuration, or lacks
    one it saves: a field added to Metrics must be given a place here."""
    have = set(vars(metrics))
    unknown = sorted(have - _KNOWN)
    if unknown:
        raise TypeError(
            f"Metrics.{unknown[0]} has no place in the saved state: give it a form in "
            "acdcore._metrics_state (_STATE, or _CONFIG if it never changes)"
        )
    missing = sorted(_KNOWN - have)
    if missing:
        raise TypeError(f"Metrics has no attribute {missing[0]} that acdcore._metrics_state saves")


# Checked once at import on a new Metrics; save and load check again, for
# attributes set after construction.
_check_attributes(Metrics([QueueConfig("probe")]))


# --------------------------------------------------------------- save, load


def config_of(metrics: Metrics) -> dict[str, Any]:
    """The ``config`` section of ``metrics``' saved state."""
    where = f"{_TOP}.config"
    return {key: form.dump(getattr(metrics, attr), f"{where}.{key}") for key, attr, form in _CONFIG}


def save_state(metrics: Metrics) -> dict[str, Any]:
    """``metrics``' whole state as JSON data (see the module docstring).
    It changes nothing and shares no mutable object with ``metrics``."""
    _check_attributes(metrics)
    out: dict[str, Any] = {"v": VERSION, "config": config_of(metrics)}
    for key, attr, form in _STATE:
        out[key] = form.dump(getattr(metrics, attr), f"{_TOP}.{key}")
    return out


def load_state(metrics: Metrics, data: Any) -> None:
    """Load ``data`` (from :func:`save_state`, maybe through JSON) into
    ``metrics``, a Metrics that has observed nothing yet (its clock may have
    moved: the saved clock replaces it). Raises
    :class:`~acdcore.errors.InvalidValue` naming the first problem found, and
    then ``metrics`` is unchanged."""
    _check_attributes(metrics)
    for key, attr, _ in _STATE:
        if key != "now" and getattr(metrics, attr):
            raise InvalidValue(
                f"load_state needs a Metrics that has observed nothing yet, and this one "
                f"has ({key} is not empty): load into a newly built Metrics"
            )
    if not isinstance(data, dict):
        raise InvalidValue(f"{_TOP} must be a JSON object, got {show(data)}")
    version = data.get("v")
    if type(version) is not int or version != VERSION:
        raise InvalidValue(
            f"{_TOP}.v: this acdcore reads version {VERSION} of the metrics state, "
            f"got {show(version)}"
        )
    data = require_keys(data, _TOP, ["v", "config", *(key for key, _, _ in _STATE)])
    _same_config(config_of(metrics), data["config"])
    values = {attr: form.load(data[key], f"{_TOP}.{key}") for key, attr, form in _STATE}
    _check_loaded(values, frozenset(metrics._wrap))
    for attr, value in values.items():  # nothing can fail from here on
        setattr(metrics, attr, value)


# ------------------------------------------------------------------ checks


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


_MISSING: Any = _Missing()


def _first_difference(mine: Any, theirs: Any, where: str) -> tuple[str, Any, Any] | None:
    """Where the JSON data ``theirs`` first differs from ``mine``, with the
    two values there (numbers compare by value: 1800 and 1800.0 agree)."""
    if isinstance(mine, dict):
        if not isinstance(theirs, dict):
            return where, mine, theirs
        for k, value in mine.items():
            found = _first_difference(value, theirs.get(k, _MISSING), f"{where}.{k}")
            if found is not None:
                return found
        for k, value in theirs.items():
            if k not in mine:
                return f"{where}.{k}", _MISSING, value
        return None
    if isinstance(mine, list):
        if not isinstance(theirs, list):
            return where, mine, theirs
        for i, value in enumerate(mine):
            other = theirs[i] if i < len(theirs) else _MISSING
            found = _first_difference(value, other, f"{where}[{i}]")
            if found is not None:
                return found
        if len(theirs) > len(mine):
            return f"{where}[{len(mine)}]", _MISSING, theirs[len(mine)]
        return None
    numbers = (int, float)
    same_kind = (
        isinstance(mine, numbers)
        and isinstance(theirs, numbers)
        and not isinstance(mine, bool)
        and not isinstance(theirs, bool)
    ) or type(mine) is type(theirs)
    if same_kind and mine == theirs:
        return None
    return where, mine, theirs


def _same_config(mine: dict[str, Any], theirs: Any) -> None:
    found = _first_difference(mine, theirs, f"{_TOP}.config")
    if found is not None:
        where, own, saved = found
        raise InvalidValue(
            f"{where}: the state was saved with {show(saved)}, this Metrics has {show(own)}; "
            "load into a Metrics built with the same arguments"
        )


def _check_loaded(values: dict[str, Any], queues: frozenset[str]) -> None:
    """Cross-checks of the decoded state (the forms checked each piece): what
    the Metrics relies on and a wrong value would break silently or later."""
    call_seq: int = values["_call_seq"]
    seen: dict[int, int] = {}
    for i, call in enumerate(values["_calls"].values()):
        at = f"{_TOP}.calls[{i}]"
        if call.seq >= call_seq:
            raise InvalidValue(f"{at}.seq: {call.seq} is not below call_seq {call_seq}")
        if call.seq in seen:
            raise InvalidValue(f"{at}.seq: {call.seq} is also the seq of calls[{seen[call.seq]}]")
        seen[call.seq] = i
        _known_queue(call.queue, f"{at}.queue", queues)
        if call.state == "connected" and call.answered_at is None:
            raise InvalidValue(f"{at}.answered_at: a connected call must have one, got None")
    for i, agent in enumerate(values["_agents"].values()):
        for j, (seq, session) in enumerate(agent.sessions.items()):
            at = f"{_TOP}.agents[{i}].sessions[{j}]"
            if not 0 <= seq < call_seq:
                raise InvalidValue(f"{at}[0]: {seq} is not a call number below call_seq {call_seq}")
            _known_queue(session.queue, f"{at}[1].queue", queues)
    wraps: list[tuple[float, int, str, int]] = values["_wraps"]
    wrap_seq: int = values["_wrap_seq"]
    for i, (_, seq, _, _) in enumerate(wraps):
        if seq >= wrap_seq:
            raise InvalidValue(f"{_TOP}.wraps[{i}][1]: {seq} is not below wrap_seq {wrap_seq}")
        if i and wraps[i] < wraps[(i - 1) // 2]:
            raise InvalidValue(
                f"{_TOP}.wraps[{i}]: not a heap (it sorts before its parent wraps[{(i - 1) // 2}])"
            )
    for i, (_, per) in enumerate(values["_queue_acc"].items()):
        for name in per:
            _known_queue(name, f"{_TOP}.queue_acc[{i}][1].{name}", queues)
    for i, info in enumerate(values["_answered"].values()):
        _known_queue(info.queue, f"{_TOP}.answered[{i}][1].queue", queues)


def _known_queue(name: str, where: str, queues: frozenset[str]) -> None:
    if name not in queues:
        raise InvalidValue(f"{where}: no queue named {show(name)} in this Metrics")
