"""Snapshot and restore: a distributor's whole live state as a versioned JSON document.

:func:`save` writes everything a distributor holds that events have changed:
the clock, every live call (its place, stages, offers, announcements and
callback attempts), every agent ever seen (profile, sessions, counters,
no-answer delay), every queue's members, free agents, round-robin position
and surge, the live deadlines with their scheduling numbers, the sequence
counters, the random generator, the callers remembered for sticky routing,
the outcome counts, and what each estimator has learned (and, optionally,
a :class:`~acdcore.metrics.Metrics`' state). :func:`restore` loads such a
document into a fresh distributor built with the same queues, plan and
estimators, on either backend. From then on the restored distributor makes
exactly the decisions the saved one would have made, given the same events
and advances: recovery is the last snapshot plus the journal after it.

The document::

    {"snapshot": "acdcore", "v": 1, "config": {...}, "now": 12.5, "calls": [...], ...}

The configuration is not in it (queues, plan and estimators are code or a
configuration file); ``config`` names the queues, estimators and the plan's
presence so that restoring into a differently built distributor is refused.
Nothing of the backend is in it: a native distributor's C state is rebuilt
from the records.

Every refusal is an :class:`~acdcore.errors.InvalidValue` naming what is
wrong (``snapshot.calls[2].state must be one of ...``), and leaves the
distributor, its estimators and the metrics exactly as they were; a restored
state that breaks an invariant of :meth:`~acdcore.Distributor.check` is
refused the same way. Cost: O(size of the state) each way, plus the check.
"""

from __future__ import annotations

import heapq
import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from . import _deadlines, _routing
from . import _records as rec
from ._agents import is_available, is_guarded
from ._deadlines import TIMER_NAMES, WRAP
from ._state import (
    FINAL,
    AgentRecord,
    CallRecord,
    CallState,
    QueueRecord,
    Session,
    SessionState,
    Stage,
)
from .codec import _no_constant, _plain, _profile, _profile_json
from .distributor import Distributor
from .errors import AcdError, InvalidValue
from .journal import write_whole
from .skills import Channel, SkillRequirement, freeze_mapping
from .values import show

if TYPE_CHECKING:
    from .metrics import Metrics

__all__ = ["VERSION", "dumps", "loads", "read_snapshot", "restore", "save", "write_snapshot"]

VERSION = 1
"""The version of the document :func:`save` writes."""

_HEADER = {"snapshot": "acdcore", "v": VERSION}


def _load_requirement(data: Any, where: str) -> SkillRequirement:
    if not isinstance(data, dict):
        raise InvalidValue(f"{where} must be a JSON object of skill levels, got {show(data)}")
    try:
        return SkillRequirement(data)
    except AcdError as exc:
        raise InvalidValue(f"{where}: {exc}") from None


def _load_attributes(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise InvalidValue(f"{where} must be a JSON object, got {show(data)}")
    return freeze_mapping(_plain(data, where, 0), where)


def _dump_ordered_set(value: Any, where: str) -> list[str]:
    # Saved sorted: a queue's members and free agents are sets whose order
    # carries no meaning (every choice among them is made by an explicit
    # key), so the document is the same whichever way the set was built
    # (the Python handlers' insertion order, or the engine's free lists).
    return rec.list_of(rec.STR).dump(sorted(value), where)  # type: ignore[no-any-return]


def _load_ordered_set(data: Any, where: str) -> dict[str, None]:
    items = rec.list_of(rec.STR).load(data, where)
    if len(set(items)) != len(items):
        raise InvalidValue(f"{where}: an id appears twice")
    return dict.fromkeys(items)


_REQUIREMENT = rec.Form(lambda v, w: dict(v.items()), _load_requirement)
_CHANNEL = rec.enum_of(Channel)
_ORDERED_SET = rec.Form(_dump_ordered_set, _load_ordered_set)
_IDS = rec.tuple_of(rec.STR)
_STAGE = rec.record(Stage, {"requirement": _REQUIREMENT, "extra_queues": _IDS})


@attrs.define
class _CallV1:
    """The snapshot layout of a call (version 1): these fields, in this order.
    A :class:`CallRecord` keeps some of them in its extras (properties of the
    same names), so the layout is written down here rather than derived from
    the record's slots. Never instantiated: it only names and types fields."""

    call_id: str
    seq: int
    queue: str
    channel: Channel
    attributes: Mapping[str, Any]
    requirement: SkillRequirement
    priority: int
    emergency: bool
    preferred_agent: str | None
    arrived: float
    entered: float
    key: tuple[float, ...]
    state: CallState
    offers: list[str]
    ring_round: int
    agent: str | None
    answered_at: float | None
    recheck_at: float | None
    last_agent: str | None
    rule: str
    stages: tuple[Stage, ...]
    stage: int
    stage_gen: int
    region: str | None
    regional: bool
    extra_queues: tuple[str, ...]
    preferred_until: float
    transfers: int
    slot: int
    callback: bool
    number: str | None
    attempts: int
    callback_offered: bool
    announced: int
    last_position: int
    last_wait: float
    next_announce: float | None
    offered_at: float
    stage_timer: int
    max_wait_timer: int
    announce_timer: int
    recheck_timer: int


_CALL_FIELDS = rec.record(
    _CallV1,
    {
        "channel": _CHANNEL,
        "attributes": rec.Form(lambda v, w: _plain(v, w, 0), _load_attributes),
        "requirement": _REQUIREMENT,
        "key": rec.tuple_of(rec.NUMBER),
        "state": rec.enum_of(CallState),
        "offers": rec.list_of(rec.STR),
        "stages": rec.tuple_of(_STAGE),
        "extra_queues": _IDS,
    },
    derived=("slot",),  # the native core's slot: given when the call is put back
    build=False,
)
_CALL_CORE = frozenset(f.name for f in attrs.fields(CallRecord))


def _load_call(data: Any, where: str) -> CallRecord:
    fields = _CALL_FIELDS.load(data, where)
    call = CallRecord(**{k: v for k, v in fields.items() if k in _CALL_CORE})
    for name, value in fields.items():
        if name not in _CALL_CORE:
            setattr(call, name, value)
    return call


# Dumping reads every field by name (the extras through their properties).
_CALL = rec.Form(_CALL_FIELDS.dump, _load_call)

_SESSION = rec.record(Session, {"channel": _CHANNEL, "state": rec.enum_of(SessionState)})
_AGENT = rec.record(
    AgentRecord,
    {
        "profile": rec.Form(_profile_json, _profile),
        "sessions": rec.pairs(rec.INT, _SESSION),
        "answers": rec.list_of(rec.BOOL),
    },
    derived=("skills", "slot"),  # a copy of the profile's skills; the native index
)
_QUEUE = rec.record(
    QueueRecord,
    {
        "members": _ORDERED_SET,
        "free": _ORDERED_SET,
        "sampled": rec.fixed(rec.INT, rec.INT),
    },
    derived=("config", "waiting"),  # the distributor's own; rebuilt from the calls
    build=False,
)
_LIST = rec.list_of(rec.Form(lambda v, w: v, lambda d, w: d))  # items checked one by one
_KINDS = {name: kind for kind, name in TIMER_NAMES.items()}
_RNG = rec.fixed(rec.INT, rec.tuple_of(rec.INT), rec.optional(rec.FLOAT))
_TOP = (
    "snapshot", "v", "config", "now", "call_seq", "timer_seq", "arrived", "transfers",
    "outcomes", "rng", "callers", "queues", "calls", "agents", "deadlines", "estimators",
    "metrics",
)  # fmt: skip


def _config(d: Distributor) -> dict[str, Any]:
    return {
        "queues": list(d._queues),
        "estimators": [e.name for e in d._ests],
        "plan": d._plan is not None,
        "remember_callers": d._remember,
    }


# ---------------------------------------------------------------- saving


def save(distributor: Distributor, *, metrics: Metrics | None = None) -> dict[str, Any]:
    """The distributor's state (and ``metrics``' state, if given) as a JSON
    document. A pure read: saving changes nothing."""
    if not isinstance(distributor, Distributor):
        raise InvalidValue(f"distributor must be a Distributor, got {show(distributor)}")
    d = distributor._reads()  # the engine's state as records, when it holds it
    deadlines = []
    for when, tseq, kind, record, token in sorted(d._timers, key=lambda t: t[:2]):
        if not _deadlines.timer_live(d, tseq, kind, record, token):
            continue
        if kind == WRAP:
            ref, token = record.agent_id, token.seq
        elif isinstance(record, AgentRecord):
            ref = record.agent_id
        else:
            ref = record.seq
        deadlines.append([rec.FLOAT.dump(when, "deadline"), tseq, TIMER_NAMES[kind], ref, token])
    state = d._rng.getstate()
    return {
        **_HEADER,
        "config": _config(d),
        "now": rec.FLOAT.dump(d._now, "snapshot.now"),
        "call_seq": d._call_seq,
        "timer_seq": d._timer_seq,
        "arrived": d._arrived,
        "transfers": d._transfers,
        "outcomes": {s.value: n for s, n in d._outcomes.items()},
        "rng": _RNG.dump(state, "snapshot.rng"),
        "callers": [[c, a] for c, a in d._callers.items()],
        "queues": {n: _QUEUE.dump(q, f"snapshot.queues.{n}") for n, q in d._queues.items()},
        "calls": [_CALL.dump(c, f"snapshot.calls[{i}]") for i, c in enumerate(d._calls.values())],
        "agents": [
            _AGENT.dump(a, f"snapshot.agents[{i}]") for i, a in enumerate(d._agents.values())
        ],
        "deadlines": deadlines,
        "estimators": {e.name: e.save_state() for e in d._ests},
        "metrics": None if metrics is None else metrics.save_state(),
    }


def dumps(document: dict[str, Any]) -> str:
    """A snapshot document as compact JSON text."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def loads(text: str | bytes) -> dict[str, Any]:
    """JSON text back to a document (checked when restored)."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise InvalidValue(f"snapshot: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidValue(f"snapshot must be a JSON object, got {show(data)}")
    return data


def write_snapshot(path: str | os.PathLike[str], document: dict[str, Any]) -> None:
    """Write ``document`` to ``path`` atomically: to a temporary file beside
    it, fsync-ed, then renamed over ``path`` (and the directory fsync-ed), so
    a crash leaves either the old file or the new one, never half of one."""
    write_whole(Path(path), dumps(document))


def read_snapshot(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The document in the file at ``path``."""
    return loads(Path(path).read_bytes())


# ---------------------------------------------------------------- restoring


def restore(document: Any, distributor: Distributor, *, metrics: Metrics | None = None) -> None:
    """Load ``document`` (from :func:`save`) into ``distributor``, a fresh
    one built with the same queues, plan and estimators (either backend),
    and into ``metrics`` (a fresh one built as the saved one was) if given
    (without ``metrics``, a metrics state in the document is left unread)."""
    d = distributor
    if not isinstance(d, Distributor):
        raise InvalidValue(f"distributor must be a Distributor, got {show(d)}")
    on_engine = d._eng is not None
    if on_engine:
        assert d._eng is not None
        if not d._eng.fresh():
            raise InvalidValue("restore needs a fresh distributor: this one has handled events")
        # The records are restored and checked on the Python handlers first;
        # then a fresh engine is loaded with them (_engine_load, below).
        d._eng.hand_over()
    if d._arrived or d._agents or d._timer_seq or d._call_seq:
        raise InvalidValue("restore needs a fresh distributor: this one has handled events")
    doc = rec.require_keys(document, "snapshot", _TOP)
    if doc["snapshot"] != "acdcore" or doc["v"] != VERSION:
        raise InvalidValue(
            f"snapshot: not an acdcore snapshot of version {VERSION}: "
            f"{show({'snapshot': doc['snapshot'], 'v': doc['v']})}"
        )
    if doc["config"] != _config(d):
        raise InvalidValue(
            f"snapshot.config {show(doc['config'])} does not match this distributor's "
            f"{show(_config(d))}: restore into a distributor built the same way"
        )
    if metrics is not None and doc["metrics"] is None:
        raise InvalidValue("snapshot.metrics: the snapshot holds no metrics state to restore")
    new = _decode(doc, d)
    rng_state = _RNG.load(doc["rng"], "snapshot.rng")
    ests = list(d._ests)
    saved = rec.require_keys(doc["estimators"], "snapshot.estimators", [e.name for e in ests])
    before = [e.save_state() for e in ests]
    old_rng = d._rng.getstate()
    old = {name: getattr(d, name) for name in (*new, "_nat", "_eng")}
    try:
        for e in ests:
            e.load_state(saved[e.name])
        try:
            d._rng.setstate(rng_state)
        except (TypeError, ValueError) as exc:
            raise InvalidValue(f"snapshot.rng: not a random generator's state: {exc}") from None
        for name, value in new.items():
            setattr(d, name, value)
        if d._nat is not None:
            _rebuild_native(d)
        try:
            d.check()
        except AssertionError as exc:
            raise InvalidValue(f"snapshot: the state it describes is inconsistent: {exc}") from None
        if on_engine:
            # The engine takes the restored state (verified: the same saved
            # document); else the Python handlers keep it, deciding the same.
            from ._engine_load import load

            d._eng = load(d)
        if metrics is not None:  # last: it cannot be taken back, and refuses atomically
            metrics.load_state(doc["metrics"])
    except BaseException:
        for name, value in old.items():
            setattr(d, name, value)
        d._rng.setstate(old_rng)
        for e, state in zip(ests, before, strict=True):
            e.load_state(state)
        raise


def _decode(doc: dict[str, Any], d: Distributor) -> dict[str, Any]:
    """The distributor's new attributes, decoded from ``doc`` (nothing assigned)."""
    now = rec.FLOAT.load(doc["now"], "snapshot.now")
    counters = {}
    for key in ("call_seq", "timer_seq", "arrived", "transfers"):
        value = rec.INT.load(doc[key], f"snapshot.{key}")
        if value < 0:
            raise InvalidValue(f"snapshot.{key} must be >= 0, got {value}")
        counters[key] = value
    outcomes_data = rec.require_keys(doc["outcomes"], "snapshot.outcomes", [s.value for s in FINAL])
    outcomes = {
        s: rec.INT.load(outcomes_data[s.value], f"snapshot.outcomes.{s.value}") for s in FINAL
    }
    callers: OrderedDict[str, str] = OrderedDict(
        (c, a)
        for c, a in rec.pairs(rec.STR, rec.STR).load(doc["callers"], "snapshot.callers").items()
    )
    # Agents first (calls' sessions and deadlines name them), then calls.
    agents: dict[str, AgentRecord] = {}
    for i, data in enumerate(_LIST.load(doc["agents"], "snapshot.agents")):
        agent: AgentRecord = _AGENT.load(data, f"snapshot.agents[{i}]")
        if agent.agent_id in agents:
            raise InvalidValue(f"snapshot.agents[{i}]: agent {agent.agent_id!r} appears twice")
        if agent.profile.agent_id != agent.agent_id:
            raise InvalidValue(f"snapshot.agents[{i}].profile is agent {agent.profile.agent_id!r}")
        agent.set_profile(agent.profile)
        for seq, s in agent.sessions.items():
            if s.seq != seq:
                raise InvalidValue(
                    f"snapshot.agents[{i}].sessions: session {s.seq} filed under {seq}"
                )
        agents[agent.agent_id] = agent
    calls: dict[str, CallRecord] = {}
    by_seq: dict[int, CallRecord] = {}
    for i, data in enumerate(_LIST.load(doc["calls"], "snapshot.calls")):
        call: CallRecord = _CALL.load(data, f"snapshot.calls[{i}]")
        if call.call_id in calls or call.seq in by_seq:
            raise InvalidValue(f"snapshot.calls[{i}]: call {call.call_id!r} appears twice")
        if call.queue not in d._queues:
            raise InvalidValue(f"snapshot.calls[{i}].queue: unknown queue {call.queue!r}")
        calls[call.call_id] = by_seq[call.seq] = call
    queues: dict[str, QueueRecord] = {}
    qdata = rec.require_keys(doc["queues"], "snapshot.queues", list(d._queues))
    for name, old in d._queues.items():
        q = QueueRecord(config=old.config, **_QUEUE.load(qdata[name], f"snapshot.queues.{name}"))
        for aid in (*q.members, *q.free):
            if aid not in agents:
                raise InvalidValue(f"snapshot.queues.{name}: unknown agent {aid!r}")
        queues[name] = q
    for call in calls.values():
        if call.state is CallState.WAITING:
            waiting = queues[call.queue].waiting
            if waiting.holder(call.key) is not None:
                raise InvalidValue(f"snapshot.calls: two calls wait under key {call.key!r}")
            waiting.insert_own(call)  # the key follows the distributor's rule
    timers = [
        _deadline(item, f"snapshot.deadlines[{i}]", agents, by_seq, counters["timer_seq"])
        for i, item in enumerate(_LIST.load(doc["deadlines"], "snapshot.deadlines"))
    ]
    heapq.heapify(timers)
    return {
        "_now": now,
        "_call_seq": counters["call_seq"],
        "_timer_seq": counters["timer_seq"],
        "_arrived": counters["arrived"],
        "_transfers": counters["transfers"],
        "_outcomes": outcomes,
        "_callers": callers,
        "_agents": agents,
        "_calls": calls,
        "_queues": queues,
        "_timers": timers,
        "_staff_cache": {},
        "_staff_gen": d._staff_gen + 1,
    }


def _deadline(
    item: Any,
    where: str,
    agents: dict[str, AgentRecord],
    calls: dict[int, CallRecord],
    timer_seq: int,
) -> tuple[float, int, int, Any, Any]:
    if not isinstance(item, list) or len(item) != 5:
        raise InvalidValue(
            f"{where} must be [instant, number, kind, owner, token], got {show(item)}"
        )
    when = rec.FLOAT.load(item[0], f"{where}[0]")
    tseq = rec.INT.load(item[1], f"{where}[1]")
    if not 0 <= tseq < timer_seq:
        raise InvalidValue(
            f"{where}[1]: scheduling number {tseq} is not below timer_seq {timer_seq}"
        )
    kind = _KINDS.get(item[2]) if isinstance(item[2], str) else None
    if kind is None:
        raise InvalidValue(f"{where}[2] must be one of {', '.join(_KINDS)}, got {show(item[2])}")
    ref, token = item[3], item[4]
    if item[2] in ("wrap", "wake"):
        agent = agents.get(ref) if isinstance(ref, str) else None
        if agent is None:
            raise InvalidValue(f"{where}[3]: unknown agent {show(ref)}")
        if kind == WRAP:
            session = agent.sessions.get(token) if isinstance(token, int) else None
            if session is None:
                raise InvalidValue(
                    f"{where}[4]: agent {agent.agent_id!r} has no session {show(token)}"
                )
            return (when, tseq, kind, agent, session)
        return (when, tseq, kind, agent, None)
    call = calls.get(ref) if isinstance(ref, int) and not isinstance(ref, bool) else None
    if call is None:
        raise InvalidValue(f"{where}[3]: no live call with sequence number {show(ref)}")
    if token is not None and (isinstance(token, bool) or not isinstance(token, int)):
        raise InvalidValue(f"{where}[4] must be an integer or null, got {show(token)}")
    return (when, tseq, kind, call, token)


def _rebuild_native(d: Distributor) -> None:
    """Give a native distributor a new C core holding the restored state."""
    from ._native.core import NativeCore

    nat = NativeCore(list(d._queues), [q.config.strategy for q in d._queues.values()])
    d._nat = nat
    now = d._now
    for agent in sorted(d._agents.values(), key=lambda a: a.order):
        nat.profile(agent, _routing.scan_list(d, agent))
        nat.sync(agent, is_available(agent, now), is_guarded(d, agent))
    for q in d._queues.values():
        for call in q.waiting:
            nat.put(call)
