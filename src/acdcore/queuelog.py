"""Asterisk's ``queue_log``, written from acdcore's events and actions.

Contact centres on Asterisk read their figures from ``queue_log`` with the
tools they already run (QueueMetrics, qstats, Wazo's statistics). A
:class:`QueueLogWriter` watches what a distributor is told and what it
decides (live as a runtime's ``observe`` hook, from a simulation or from a
journal) and writes the lines Asterisk would have written::

    1733300000|c17|support|NONE|ENTERQUEUE||+15551234|1
    1733300012|c17|support|alice|CONNECT|12|acd-c17-alice|3
    1733300190|c17|support|alice|COMPLETECALLER|12|178|1

The layout is that of Asterisk 13 to 23 (the one QueueMetrics expects, and
that every release since 13 writes; ``../notes`` in the repository's history
compared it with 1.4 to 23): ``epoch|callid|queue|agent|EVENT|data...``, an
event with no data ending in one ``|``.

=================  ==================================================  ==========================
acdcore            line                                                data
=================  ==================================================  ==========================
enters a queue     ENTERQUEUE (arrival, transfer, overflow to a queue)  url | caller | position
ring timeout       RINGNOANSWER (also a declined offer)                  ring time in milliseconds
offer withdrawn    RINGCANCELED (caller hung up, agent left, ring-all)   ring time in milliseconds
answered           CONNECT                                               hold | agent leg id | ring
ended              COMPLETECALLER (or COMPLETEAGENT: ``completed_by``)   hold | talk | position
hung up waiting    ABANDON                                               position | orig | wait
maximum wait       EXITWITHTIMEOUT (overflow: to a queue or elsewhere)   position | orig | wait
queue emptied      EXITEMPTY (a plan's leave-empty exit)                 position | orig | wait
callback accepted  EXITWITHKEY with key 1                                key | position | orig | wait
self-service exit  EXITWITHKEY with key 0 (a plan's exit while waiting)  key | position | orig | wait
transferred        BLINDTRANSFER to the new queue, context ``acdcore``   queue | ctx | hold | talk | orig
rejected           FULL (queue full), CLOSED (self-service at arrival)   (none)
agent login        AGENTLOGIN, then ADDMEMBER per queue                  channel; (none)
agent logout       REMOVEMEMBER per queue, then AGENTLOGOFF              (none); channel | seconds
pause, resume      PAUSE, UNPAUSE, per queue                             reason
auto-pause         PAUSE, per queue                                      ``Auto-Pause``
=================  ==================================================  ==========================

Choices where acdcore and Asterisk differ (each also in docs/reports.md):

- ``FULL`` and ``CLOSED`` are what Wazo's Asterisk writes; upstream Asterisk
  writes nothing for a caller refused at the door, so a tool that knows only
  upstream skips them. acdcore writes them so that every call that entered
  has its outcome in the log.
- acdcore's ``CallEnded`` does not say who hung up: ``completed_by`` chooses
  COMPLETECALLER (default) or COMPLETEAGENT.
- Ring-all: when one agent answers, the others' offers end with RINGCANCELED
  (Asterisk writes nothing for them), so that their ring time is in the log.
- A position is the last one acdcore reported for the call (its ``Queued`` or
  ``Announce``); Asterisk recomputes it at that instant.
- Times are whole seconds (Asterisk's ``%ld``), durations rounded; with
  ``exact=True`` they keep their fractions (lossless: the round trip through
  :mod:`acdcore.queuelog_read` then gives exactly the live KPIs).
- ``epoch`` is added to acdcore's clock (a simulation's clock starts at 0).
- A callid is the call's id; an id used again by a later call (acdcore allows
  it once the first call has ended) is written ``id.2``, ``id.3``..., since a
  queue_log's callid names one call (Asterisk's channel uniqueid).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

import attrs

from .actions import (
    Action,
    Announce,
    CancelOffer,
    Offer,
    Overflow,
    PauseAgent,
    Queued,
    Reject,
    SelfService,
)
from .errors import InvalidValue
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
    OfferDeclined,
)
from .values import check_number, show

if TYPE_CHECKING:
    from .journal import Entry

__all__ = ["AUTO_PAUSE", "QueueLogWriter", "format_line", "write_journal"]

AUTO_PAUSE = "Auto-Pause"
"""The reason Asterisk writes for a member paused after a missed call."""

_ENTERS = {"arrived", "transferred", "overflow"}  # Queued reasons that enter a queue


def format_line(epoch: str, callid: str, queue: str, agent: str, event: str, *data: str) -> str:
    """One queue_log line (with its newline), as Asterisk's file backend
    writes it: the fields joined by ``|``, and a trailing ``|`` when there is
    no data. A ``|`` or a line break inside a field would break the line, so
    it is replaced by ``_`` (as Asterisk does for a caller's name)."""
    head = [_clean(x) for x in (epoch, callid, queue, agent, event)]
    body = "|".join(_clean(x) for x in data)
    return "|".join(head) + "|" + body + "\n"


def _clean(text: str) -> str:
    return text.replace("|", "_").replace("\n", "_").replace("\r", "_")


@attrs.define
class _Call:
    queue: str
    arrived: float  # entered the first queue
    entered: float  # entered the current queue
    original: int = 1  # position on entering the current queue
    position: int = 1  # the last position reported
    ringing: dict[str, float] = attrs.Factory(dict)  # agent -> when its offer started
    agent: str | None = None
    answered: float = 0.0
    caller: str = ""
    moving_to: str | None = None  # sent on to this queue, not yet entered


class QueueLogWriter:
    """Writes queue_log lines to ``out`` (a text file) from events and actions.

    Feed it as the runtime feeds ``observe``: ``observe(event, actions)`` for
    each accepted event with its actions, ``observe(None, actions)`` for the
    actions of each advance. ``epoch`` is added to every instant; ``exact``
    keeps fractions of seconds; ``completed_by`` is ``"caller"`` or
    ``"agent"``; ``caller_attribute`` names the call attribute written as the
    caller's number; ``queue_start`` writes a QUEUESTART line first. Memory:
    O(live calls + agents). Cost per line: O(1).
    """

    def __init__(
        self,
        out: IO[str],
        *,
        epoch: float = 0.0,
        exact: bool = False,
        completed_by: str = "caller",
        caller_attribute: str = "caller",
        queue_start: bool = False,
    ) -> None:
        self._epoch = check_number(epoch, "epoch")
        if completed_by not in ("caller", "agent"):
            raise InvalidValue(
                f"completed_by must be 'caller' or 'agent', got {show(completed_by)}"
            )
        self._out = out
        self._exact = bool(exact)
        self._complete = "COMPLETECALLER" if completed_by == "caller" else "COMPLETEAGENT"
        self._caller_attr = caller_attribute
        self._calls: dict[str, _Call] = {}
        self._ids: dict[str, str] = {}  # acdcore id -> callid of its current call
        self._uses: dict[str, int] = {}  # acdcore id -> calls that used it
        self._pending: dict[str, tuple[float, str]] = {}  # call -> (arrived, caller) until Queued
        self._agents: dict[str, tuple[float, tuple[str, ...]]] = {}  # agent -> (login, queues)
        self.lines = 0
        """Lines written so far."""
        self._started = False
        self._queue_start = queue_start

    # ------------------------------------------------------------ formatting

    def _time(self, t: float) -> str:
        t = t + self._epoch
        return repr(t) if self._exact else str(math.floor(t))

    def _secs(self, d: float) -> str:
        return repr(max(0.0, d)) if self._exact else str(round(max(0.0, d)))

    def _ms(self, d: float) -> str:
        ms = max(0.0, d) * 1000.0
        return repr(ms) if self._exact else str(round(ms))

    def _write(self, t: float, callid: str, queue: str, agent: str, event: str, *data: str) -> None:
        callid = self._ids.get(callid, callid)
        if self._queue_start and not self._started:
            self._started = True
            self._out.write(format_line(self._time(t), "NONE", "NONE", "NONE", "QUEUESTART"))
            self.lines += 1
        self._out.write(format_line(self._time(t), callid, queue, agent, event, *data))
        self.lines += 1

    # ------------------------------------------------------------ observing

    def observe(self, event: Event | None, actions: Iterable[Action] = ()) -> None:
        """Write the lines of one step: ``event`` (``None`` for an advance)
        and the actions it produced, in order."""
        acts = list(actions)
        if event is not None:
            self._event(event, acts)
        for action in acts:
            self._action(action)

    def _event(self, ev: Event, actions: list[Action]) -> None:
        now = float(ev.now)
        if isinstance(ev, CallArrived):
            n = self._uses[ev.call_id] = self._uses.get(ev.call_id, 0) + 1
            self._ids[ev.call_id] = ev.call_id if n == 1 else f"{ev.call_id}.{n}"
            caller = ev.attributes.get(self._caller_attr, "")
            self._pending[ev.call_id] = (now, caller if isinstance(caller, str) else str(caller))
        elif isinstance(ev, OfferAnswered):
            call = self._calls.get(ev.call_id)
            if call is None:
                return
            self._first(actions, ev.call_id)  # ring-all: the others stop ringing first
            rang = call.ringing.pop(ev.agent_id, now)
            call.agent, call.answered = ev.agent_id, now
            self._write(
                now, ev.call_id, call.queue, ev.agent_id, "CONNECT",
                self._secs(now - call.entered), f"acd-{ev.call_id}-{ev.agent_id}",
                self._secs(now - rang),
            )  # fmt: skip
        elif isinstance(ev, OfferDeclined):
            self._ring_end(ev.call_id, ev.agent_id, now, "RINGNOANSWER")
        elif isinstance(ev, CallEnded):
            call = self._calls.pop(ev.call_id, None)
            if call is not None and call.agent is not None:
                self._write(
                    now, ev.call_id, call.queue, call.agent, self._complete,
                    self._secs(call.answered - call.entered), self._secs(now - call.answered),
                    str(call.original),
                )  # fmt: skip
        elif isinstance(ev, CallTransferred):
            call = self._calls.get(ev.call_id)
            if call is not None and call.agent is not None:
                self._write(
                    now, ev.call_id, call.queue, call.agent, "BLINDTRANSFER", ev.queue, "acdcore",
                    self._secs(call.answered - call.entered), self._secs(now - call.answered),
                    str(call.original),
                )  # fmt: skip
                call.agent = None
        elif isinstance(ev, CallAbandoned):
            call = self._calls.get(ev.call_id)
            if call is None:
                return
            self._first(actions, ev.call_id)  # the offers it cancels end first, as in Asterisk
            self._calls.pop(ev.call_id)
            if call.agent is None:  # hung up waiting or ringing
                self._write(
                    now, ev.call_id, call.queue, "NONE", "ABANDON",
                    str(call.position), str(call.original), self._secs(now - call.entered),
                )  # fmt: skip
        elif isinstance(ev, CallbackRequested):
            call = self._calls.get(ev.call_id)
            if call is not None:
                self._write(
                    now, ev.call_id, call.queue, "NONE", "EXITWITHKEY", "1",
                    str(call.position), str(call.original), self._secs(now - call.entered),
                )  # fmt: skip
        elif isinstance(ev, AgentLoggedIn):
            aid, queues = ev.profile.agent_id, tuple(ev.profile.queues)
            self._agents[aid] = (now, queues)
            self._write(now, f"agent-{aid}", "NONE", aid, "AGENTLOGIN", f"Agent/{aid}")
            for q in queues:
                self._write(now, "MANAGER", q, aid, "ADDMEMBER", "")
        elif isinstance(ev, AgentLoggedOut):
            known = self._agents.pop(ev.agent_id, None)
            if known is None:
                return
            since, queues = known
            for q in queues:
                self._write(now, "MANAGER", q, ev.agent_id, "REMOVEMEMBER", "")
            self._write(
                now, f"agent-{ev.agent_id}", "NONE", ev.agent_id, "AGENTLOGOFF",
                f"Agent/{ev.agent_id}", self._secs(now - since),
            )  # fmt: skip
        elif isinstance(ev, AgentPaused):
            self._pause(ev.agent_id, now, "PAUSE", ev.reason)
        elif isinstance(ev, AgentResumed):
            self._pause(ev.agent_id, now, "UNPAUSE", "")

    def _first(self, actions: list[Action], call_id: str) -> None:
        """Write the ends of ``call_id``'s offers among ``actions`` now (and
        take them out), before the line of the event that caused them."""
        for action in actions:
            if isinstance(action, CancelOffer) and action.call_id == call_id:
                self._action(action)
        actions[:] = [
            a for a in actions if not (isinstance(a, CancelOffer) and a.call_id == call_id)
        ]

    def _pause(self, agent: str, now: float, verb: str, reason: str) -> None:
        known = self._agents.get(agent)
        for q in known[1] if known is not None else ():
            self._write(now, "NONE", q, agent, verb, reason)

    def _ring_end(self, call_id: str, agent: str, now: float, verb: str) -> None:
        call = self._calls.get(call_id)
        if call is None:
            return
        rang = call.ringing.pop(agent, None)
        if rang is not None:
            self._write(now, call_id, call.queue, agent, verb, self._ms(now - rang))

    def _action(self, a: Action) -> None:
        at = float(a.at)
        if isinstance(a, Queued):
            self._queued(a, at)
        elif isinstance(a, Offer):
            call = self._calls.get(a.call_id)
            if call is not None:
                call.ringing[a.agent_id] = at
        elif isinstance(a, CancelOffer):
            if a.reason == "ring-timeout":
                self._ring_end(a.call_id, a.agent_id, at, "RINGNOANSWER")
            else:
                self._ring_end(a.call_id, a.agent_id, at, "RINGCANCELED")
        elif isinstance(a, Announce):
            call = self._calls.get(a.call_id)
            if call is not None:
                call.position = a.position
        elif isinstance(a, Overflow):
            self._overflow(a, at)
        elif isinstance(a, Reject):
            self._refused(a.call_id, a.queue, at, "FULL")
        elif isinstance(a, SelfService):
            if a.call_id in self._pending:
                self._refused(a.call_id, a.queue, at, "CLOSED")
            else:  # a plan's exit to self-service while waiting: the caller chose a menu
                self._exit(a.call_id, at, "EXITWITHKEY")
        elif isinstance(a, PauseAgent):  # Asterisk's own reason for an auto-pause
            self._pause(a.agent_id, at, "PAUSE", AUTO_PAUSE)

    def _queued(self, a: Queued, at: float) -> None:
        if a.reason not in _ENTERS:
            call = self._calls.get(a.call_id)
            if call is not None:
                call.position = a.position
            return
        pending = self._pending.pop(a.call_id, None)
        call = self._calls.get(a.call_id)
        if call is not None:
            call.moving_to = None
        if call is None:
            arrived, caller = pending if pending is not None else (at, "")
            call = self._calls[a.call_id] = _Call(a.queue, arrived, at, caller=caller)
        call.queue, call.entered = a.queue, at
        call.original = call.position = a.position
        call.agent = None
        self._write(at, a.call_id, a.queue, "NONE", "ENTERQUEUE", "", call.caller, str(a.position))

    def _overflow(self, a: Overflow, at: float) -> None:
        if a.call_id in self._pending:  # sent elsewhere at arrival: it never waited
            arrived, caller = self._pending.pop(a.call_id)
            self._calls[a.call_id] = _Call(a.queue, arrived, at, caller=caller)
            self._write(at, a.call_id, a.queue, "NONE", "ENTERQUEUE", "", caller, "1")
        verb = "EXITEMPTY" if a.reason == "leave-empty" else "EXITWITHTIMEOUT"
        self._exit(a.call_id, at, verb, keep=a.target_queue is not None)
        call = self._calls.get(a.call_id)
        if call is not None and a.target_queue is not None:
            call.moving_to = a.target_queue

    def _arrive_if_moving(self, call: _Call, call_id: str, at: float) -> None:
        """A call sent on to a queue leaves it again at once: it entered it."""
        if call.moving_to is not None:
            call.queue, call.entered, call.moving_to = call.moving_to, at, None
            call.original = call.position = 1
            self._write(at, call_id, call.queue, "NONE", "ENTERQUEUE", "", call.caller, "1")

    def _exit(self, call_id: str, at: float, verb: str, keep: bool = False) -> None:
        call = self._calls.get(call_id) if keep else self._calls.pop(call_id, None)
        if call is None:
            return
        self._arrive_if_moving(call, call_id, at)
        data = [str(call.position), str(call.original), self._secs(at - call.entered)]
        if verb == "EXITWITHKEY":
            data.insert(0, "0")
        self._write(at, call_id, call.queue, "NONE", verb, *data)

    def _refused(self, call_id: str, queue: str, at: float, verb: str) -> None:
        self._pending.pop(call_id, None)
        call = self._calls.pop(call_id, None)
        if call is not None:  # refused by a plan's exit after it entered a queue
            self._arrive_if_moving(call, call_id, at)
            queue = call.queue
        self._write(at, call_id, queue, "NONE", verb)

    def flush(self) -> None:
        """Flush the output."""
        self._out.flush()


def write_journal(entries: Iterable[Entry], out: IO[str], **options: Any) -> int:
    """Write the queue_log of journal ``entries`` (from
    :func:`acdcore.journal.read_journal`, recorded with their actions) to
    ``out``; ``options`` are :class:`QueueLogWriter`'s. Returns the lines
    written. An entry recorded without its actions raises InvalidValue: the
    lines are made from the actions."""
    writer = QueueLogWriter(out, **options)
    for entry in entries:
        if entry.actions is None:
            raise InvalidValue(f"journal entry {entry.seq} was recorded without its actions")
        writer.observe(entry.event, entry.actions)
    return writer.lines
