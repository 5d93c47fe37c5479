"""acdcore's KPIs from an Asterisk ``queue_log``.

:func:`to_items` turns the lines :func:`~acdcore.queuelog_read.read_queue_log`
read into the acdcore events and actions they describe, and :func:`report`
feeds them to a :class:`~acdcore.metrics.Metrics`: the figures come from the
same code and the same definitions as acdcore's live KPIs (see
docs/metrics.md), so a queue_log written by
:class:`~acdcore.queuelog.QueueLogWriter` reads back to the KPIs computed live.

How lines become events (a call is its ``callid``):

- ENTERQUEUE: the call arrives (its first queue: every KPI is attributed to
  it, as live), or, right after an exit or a transfer of the same call, it
  moves to that queue (when it enters within 2 s of leaving the last one). Wazo's FULL / JOINEMPTY / CLOSED: it arrives and is
  rejected (or sent to self-service).
- RINGNOANSWER / RINGCANCELED: an offer that rang that many milliseconds and
  timed out / was withdrawn. CONNECT: an offer that rang its ring time (0 when
  the field is absent, before 1.6), answered. COMPLETECALLER / COMPLETEAGENT:
  the call ends.
- ABANDON: the caller hung up. EXITWITHTIMEOUT / EXITEMPTY: an overflow, to
  the next queue when the call enters one next, else out (``overflowed``).
  EXITWITHKEY: a callback accepted when the call carries on later, else a
  self-service exit. TRANSFER / BLINDTRANSFER / ATTENDEDTRANSFER: a transfer to
  the queue the call enters next, else the end of the call.
- ADDMEMBER (the first queue of an agent) and AGENTLOGIN: a login; the last
  REMOVEMEMBER and AGENTLOGOFF: a logout; PAUSE / PAUSEALL and UNPAUSE /
  UNPAUSEALL: pause and resume (a PAUSE with Asterisk's reason ``Auto-Pause``:
  an auto-pause). An agent whose first line is not a login (a static member
  of queues.conf, or one added before the log begins) is logged in from the
  log's first line; its time figures (occupancy) mean nothing and are
  reported as unknown.
- QUEUESTART (Asterisk restarted): calls still open are lost with the old
  process; they are counted as ``unfinished``, as are calls the log never ends.

Cost: O(lines log lines).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from .actions import Action, CancelOffer, Offer, Overflow, PauseAgent, Queued, Reject, SelfService
from .config import AgentProfile, QueueConfig
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    CallAbandoned,
    CallArrived,
    CallbackRequested,
    CallEnded,
    CallTransferred,
    Event,
    OfferAnswered,
)
from .metrics import Metrics
from .queuelog import AUTO_PAUSE
from .queuelog_read import KNOWN, Line, QueueLogRead
from .skills import Channel

__all__ = ["Conversion", "QueueLogReport", "report", "to_items"]

_CALL_EVENTS = {
    "ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "EXITWITHTIMEOUT",
    "EXITEMPTY", "EXITWITHKEY", "WITHDRAW", "RINGNOANSWER", "RINGCANCELED", "TRANSFER",
    "BLINDTRANSFER", "ATTENDEDTRANSFER", "FULL", "JOINEMPTY", "CLOSED",
}  # fmt: skip
_MOVE_GAP = 2.0  # seconds: an exit or transfer and the ENTERQUEUE it leads to


def _enters_next(ln: Line, nxt: Line | None) -> bool:
    """True when the call's next line enters a queue at once: a move."""
    return nxt is not None and nxt.event == "ENTERQUEUE" and nxt.time - ln.time <= _MOVE_GAP


@attrs.frozen
class Conversion:
    """The events and actions a queue_log describes, in time order, and what
    the conversion noticed: the queues and agents named, the agents with
    login events, calls never finished, lines about calls that entered before
    the log begins, and unknown events (by name)."""

    items: tuple[Event | Action, ...]
    queues: tuple[str, ...]
    agents: tuple[str, ...]
    logged: frozenset[str]
    unfinished: int
    orphans: int
    unknown: dict[str, int]


@attrs.define
class _Call:
    queue: str  # current queue
    entered: float
    state: str = "waiting"  # waiting | connected
    agent: str | None = None


def to_items(lines: Sequence[Line]) -> Conversion:
    """Convert lines (any order) to events and actions (see the module docstring)."""
    ordered = sorted(lines, key=lambda ln: ln.time)  # stable: one second keeps file order
    by_call: dict[str, list[int]] = {}
    for i, ln in enumerate(ordered):
        if ln.event in _CALL_EVENTS:
            by_call.setdefault(ln.callid, []).append(i)
    following: dict[int, Line | None] = {}
    for indices in by_call.values():
        for k, i in enumerate(indices):
            following[i] = ordered[indices[k + 1]] if k + 1 < len(indices) else None
    queues: dict[str, None] = {}
    agents: dict[str, None] = {}
    logged: set[str] = set()  # agents whose first line is a login: their time is known
    for ln in ordered:
        if ln.event in _CALL_EVENTS and ln.queue not in ("", "NONE"):
            queues[ln.queue] = None
        if ln.agent not in ("", "NONE") and ln.agent not in agents:
            agents[ln.agent] = None
            if ln.event in ("ADDMEMBER", "AGENTLOGIN"):
                logged.add(ln.agent)
    for ln in ordered:  # member changes name queues too
        if ln.event in ("ADDMEMBER", "REMOVEMEMBER") and ln.queue not in ("", "NONE"):
            queues.setdefault(ln.queue, None)
    conv = _Converter(ordered, following, tuple(queues), logged)
    conv.run()
    return Conversion(
        tuple(item for _, _, item in sorted(conv.items, key=lambda x: (x[0], x[1]))),
        tuple(queues),
        tuple(agents),
        frozenset(logged),
        conv.unfinished + len(conv.calls),
        conv.orphans,
        conv.unknown,
    )


class _Converter:
    """The state machine of :func:`to_items` (one pass in time order)."""

    def __init__(
        self,
        lines: list[Line],
        following: dict[int, Line | None],
        queues: tuple[str, ...],
        logged: set[str],
    ) -> None:
        self.lines = lines
        self.following = following
        self.queues = queues
        self.logged = logged
        self.items: list[tuple[float, int, Event | Action]] = []
        self.calls: dict[str, _Call] = {}
        self.moving: dict[str, str] = {}  # call -> "overflow" | "transferred": its next ENTERQUEUE
        self.members: dict[str, set[str]] = {}  # logged-in agent -> its queues
        self.paused: set[str] = set()
        self.unfinished = 0
        self.orphans = 0
        self.unknown: dict[str, int] = {}
        self.n = 0

    def add(self, when: float, item: Event | Action) -> None:
        self.n += 1
        self.items.append((when, self.n, item))

    def run(self) -> None:
        start = self.lines[0].time if self.lines else 0.0
        statics = sorted(
            {ln.agent for ln in self.lines if ln.event in _CALL_EVENTS} - {"", "NONE"} - self.logged
        )
        for agent in statics:  # static members: logged in from the start
            self.login(start, agent, self.queues)
        for i, ln in enumerate(self.lines):
            handler = getattr(self, "on_" + ln.event.lower(), None)
            if handler is None:
                if ln.event not in KNOWN:
                    self.unknown[ln.event] = self.unknown.get(ln.event, 0) + 1
                continue
            handler(ln, self.following.get(i))

    # ------------------------------------------------------------ agents

    def login(self, t: float, agent: str, queues: Sequence[str]) -> None:
        self.members[agent] = set(queues)
        profile = AgentProfile(agent, queues=list(queues) or list(self.queues[:1]))
        self.add(t, AgentLoggedIn(now=t, profile=profile))

    def on_addmember(self, ln: Line, _: Line | None) -> None:
        if ln.agent in self.members:
            self.members[ln.agent].add(ln.queue)
        else:
            self.login(ln.time, ln.agent, [ln.queue] if ln.queue in self.queues else [])

    def on_agentlogin(self, ln: Line, _: Line | None) -> None:
        if ln.agent not in self.members:
            self.login(ln.time, ln.agent, [])

    def on_removemember(self, ln: Line, _: Line | None) -> None:
        queues = self.members.get(ln.agent)
        if queues is None:
            return
        queues.discard(ln.queue)
        if not queues:
            self.logout(ln)

    def on_agentlogoff(self, ln: Line, _: Line | None) -> None:
        if ln.agent in self.members:
            self.logout(ln)

    def logout(self, ln: Line) -> None:
        del self.members[ln.agent]
        self.paused.discard(ln.agent)
        self.add(ln.time, AgentLoggedOut(now=ln.time, agent_id=ln.agent))

    def on_pause(self, ln: Line, _: Line | None) -> None:
        if ln.agent in self.members and ln.agent not in self.paused:
            self.paused.add(ln.agent)
            reason = ln.data[0] if ln.data and ln.data[0] else "paused"
            if reason == AUTO_PAUSE:  # paused by the switch after a missed call
                self.add(ln.time, PauseAgent(at=ln.time, agent_id=ln.agent, reason=reason))
            else:
                self.add(ln.time, AgentPaused(now=ln.time, agent_id=ln.agent, reason=reason))

    def on_unpause(self, ln: Line, _: Line | None) -> None:
        if ln.agent in self.paused:
            self.paused.discard(ln.agent)
            self.add(ln.time, AgentResumed(now=ln.time, agent_id=ln.agent))

    on_pauseall = on_pause
    on_unpauseall = on_unpause

    # ------------------------------------------------------------ calls

    def on_queuestart(self, ln: Line, _: Line | None) -> None:
        self.unfinished += len(self.calls)  # lost with the old process
        self.calls.clear()
        self.moving.clear()

    def call(self, ln: Line) -> _Call | None:
        call = self.calls.get(ln.callid)
        if call is None:
            self.orphans += 1  # it entered before the log begins
        return call

    def on_enterqueue(self, ln: Line, _: Line | None) -> None:
        position = int(ln.number_at(2, 1.0)) if len(ln.data) >= 3 else 1
        call = self.calls.get(ln.callid)
        reason = self.moving.pop(ln.callid, None)
        if call is not None and reason is not None:
            call.queue, call.entered, call.state = ln.queue, ln.time, "waiting"
            self.add(ln.time, Queued(at=ln.time, call_id=ln.callid, queue=ln.queue,
                                     position=max(1, position), reason=reason))  # fmt: skip
            return
        if call is not None:  # entered again with no exit: the old one is lost
            self.unfinished += 1
        caller = ln.data[1] if len(ln.data) >= 2 else ""
        self.calls[ln.callid] = _Call(ln.queue, ln.time)
        attributes = {"caller": caller} if caller else {}
        self.add(ln.time, CallArrived(now=ln.time, call_id=ln.callid, queue=ln.queue,
                                      attributes=attributes))  # fmt: skip
        self.add(ln.time, Queued(at=ln.time, call_id=ln.callid, queue=ln.queue,
                                 position=max(1, position), reason="arrived"))  # fmt: skip

    def offer(self, call: _Call, ln: Line, rang: float) -> None:
        at = max(call.entered, ln.time - max(0.0, rang))
        self.add(at, Offer(at=at, call_id=ln.callid, agent_id=ln.agent, queue=call.queue,
                           channel=Channel.VOICE, attributes={}, waited=at - call.entered,
                           ring_timeout=max(0.0, ln.time - at), rule="default"))  # fmt: skip

    def on_ringnoanswer(self, ln: Line, _: Line | None, reason: str = "ring-timeout") -> None:
        call = self.call(ln)
        if call is None or ln.agent in ("", "NONE"):
            return
        self.offer(call, ln, ln.number_at(0) / 1000.0)
        self.add(
            ln.time, CancelOffer(at=ln.time, call_id=ln.callid, agent_id=ln.agent, reason=reason)
        )

    def on_ringcanceled(self, ln: Line, nxt: Line | None) -> None:
        self.on_ringnoanswer(ln, nxt, reason="caller-abandoned")

    def on_connect(self, ln: Line, _: Line | None) -> None:
        call = self.call(ln)
        if call is None:
            return
        self.offer(call, ln, ln.number_at(2) if len(ln.data) >= 3 else 0.0)
        call.state, call.agent = "connected", ln.agent
        self.add(ln.time, OfferAnswered(now=ln.time, call_id=ln.callid, agent_id=ln.agent))

    def end(self, ln: Line) -> None:
        if self.calls.pop(ln.callid, None) is not None:
            self.add(ln.time, CallEnded(now=ln.time, call_id=ln.callid))

    def on_completecaller(self, ln: Line, _: Line | None) -> None:
        if self.call(ln) is not None:
            self.end(ln)

    on_completeagent = on_completecaller

    def on_abandon(self, ln: Line, _: Line | None) -> None:
        call = self.call(ln)
        if call is None:
            return
        del self.calls[ln.callid]
        self.add(ln.time, CallAbandoned(now=ln.time, call_id=ln.callid))

    def exit(self, ln: Line, nxt: Line | None, reason: str, out: str) -> None:
        call = self.call(ln)
        if call is None:
            return
        if nxt is not None and _enters_next(ln, nxt):  # on to another queue
            self.moving[ln.callid] = "overflow"
            self.add(ln.time, Overflow(at=ln.time, call_id=ln.callid, queue=call.queue,
                                       target_queue=nxt.queue, reason=reason))  # fmt: skip
            return
        del self.calls[ln.callid]
        self.add(ln.time, Overflow(at=ln.time, call_id=ln.callid, queue=call.queue,
                                   destination=out, reason=reason))  # fmt: skip

    def on_exitwithtimeout(self, ln: Line, nxt: Line | None) -> None:
        self.exit(ln, nxt, "max-wait", "timeout")

    def on_exitempty(self, ln: Line, nxt: Line | None) -> None:
        self.exit(ln, nxt, "leave-empty", "empty")

    def on_withdraw(self, ln: Line, nxt: Line | None) -> None:
        self.exit(ln, nxt, "withdrawn", "withdrawn")

    def on_exitwithkey(self, ln: Line, nxt: Line | None) -> None:
        call = self.call(ln)
        if call is None:
            return
        if nxt is not None and nxt.event != "ENTERQUEUE":  # it carries on: a callback
            self.add(ln.time, CallbackRequested(now=ln.time, call_id=ln.callid))
            return
        if _enters_next(ln, nxt):  # on to another queue
            self.exit(ln, nxt, "key", "key")
            return
        del self.calls[ln.callid]
        self.add(
            ln.time, SelfService(at=ln.time, call_id=ln.callid, queue=call.queue, reason="key")
        )

    def on_blindtransfer(self, ln: Line, nxt: Line | None) -> None:
        call = self.call(ln)
        if call is None:
            return
        if nxt is not None and _enters_next(ln, nxt) and call.state == "connected":
            self.moving[ln.callid] = "transferred"
            self.add(ln.time, CallTransferred(now=ln.time, call_id=ln.callid, queue=nxt.queue))
            return
        self.end(ln)

    on_transfer = on_blindtransfer
    on_attendedtransfer = on_blindtransfer

    def refused(self, ln: Line, kind: str) -> None:
        if ln.callid not in self.calls:
            self.add(ln.time, CallArrived(now=ln.time, call_id=ln.callid, queue=ln.queue))
        self.calls.pop(ln.callid, None)
        if kind == "CLOSED":
            self.add(
                ln.time, SelfService(at=ln.time, call_id=ln.callid, queue=ln.queue, reason="closed")
            )
        else:
            reason = "queue-full" if kind == "FULL" else "join-empty"
            self.add(ln.time, Reject(at=ln.time, call_id=ln.callid, queue=ln.queue, reason=reason))

    def on_full(self, ln: Line, _: Line | None) -> None:
        self.refused(ln, "FULL")

    def on_joinempty(self, ln: Line, _: Line | None) -> None:
        self.refused(ln, "JOINEMPTY")

    def on_closed(self, ln: Line, _: Line | None) -> None:
        self.refused(ln, "CLOSED")


# ------------------------------------------------------------------ the report


@attrs.frozen
class QueueLogReport:
    """The KPIs of a queue_log: the :class:`~acdcore.metrics.Metrics` fed
    with its events, the conversion's notes, and what was read."""

    metrics: Metrics
    conversion: Conversion
    read: QueueLogRead

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON data: per queue, per agent, per interval, and the notes."""
        m, conv = self.metrics, self.conversion
        agents = {}
        for aid in conv.agents:
            try:
                stats = m.agent_stats(aid).to_dict()
            except Exception:  # an agent only named in lines the metrics ignored
                continue
            if aid not in conv.logged:
                for key in list(stats):
                    if key.startswith("time_") or key in ("occupancy", "utilisation"):
                        stats[key] = None  # no login events: its time means nothing
            agents[aid] = stats
        return {
            "form": self.read.form,
            "lines": len(self.read.lines),
            "skipped": [{"line": n, "why": why} for n, why in self.read.skipped],
            "warnings": list(self.read.warnings),
            "events": dict(sorted(self.read.events.items())),
            "unknown_events": dict(sorted(conv.unknown.items())),
            "unfinished_calls": conv.unfinished,
            "lines_about_earlier_calls": conv.orphans,
            "all": m.queue_stats().to_dict(),
            "queues": {q: m.queue_stats(q).to_dict() for q in conv.queues},
            "agents": agents,
            "intervals": [iv.to_dict() for iv in m.intervals()],
        }


def report(
    read: QueueLogRead,
    *,
    threshold: float = 20.0,
    target: float = 0.8,
    interval: float = 1800.0,
    tz_offset: float = 0.0,
    wrap_up: Mapping[str, float] | float = 0.0,
    queues: Sequence[QueueConfig] | None = None,
) -> QueueLogReport:
    """The KPIs of what :func:`~acdcore.queuelog_read.read_queue_log` read:
    service level at ``threshold`` seconds against ``target``, intervals of
    ``interval`` seconds in local time (``tz_offset`` seconds east of UTC).
    ``wrap_up`` (seconds, per queue or for all) or ``queues`` (their
    configurations) say how long wrap-up lasts after each call, which the
    queue_log does not record."""
    conv = to_items(read.lines)
    configs = {q.name: q for q in queues or ()}
    for name in conv.queues:
        if name not in configs:
            w = wrap_up.get(name, 0.0) if isinstance(wrap_up, Mapping) else wrap_up
            configs[name] = QueueConfig(name, wrap_up=float(w))
    if not configs:
        configs["(none)"] = QueueConfig("(none)")
    metrics = Metrics(
        list(configs.values()),
        interval=interval,
        sl_threshold=threshold,
        sl_target=target,
        tz_offset=tz_offset,
        epoch=datetime(1970, 1, 1),
        start=_first_time(conv.items),
    )
    for item in conv.items:
        if isinstance(item, Event):
            metrics.observe_event(item)
        else:
            metrics.observe_actions([item])
    if conv.items:
        metrics.advance(max(metrics.now, _last_time(conv.items)))
    return QueueLogReport(metrics, conv, read)


def _first_time(items: Sequence[Event | Action]) -> float:
    if not items:
        return 0.0
    first = items[0]
    return float(first.now if isinstance(first, Event) else first.at)


def _last_time(items: Sequence[Event | Action]) -> float:
    last = items[-1]
    return float(last.now if isinstance(last, Event) else last.at)
