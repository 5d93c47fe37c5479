"""The stream: journal entries for subscribers, filtered, resumable by number.

Every entry the runtime journals (an accepted event, or an advance that
gave actions) is published as::

    {"seq": 1234, "event": {...codec JSON...} | null, "actions": [{...}, ...]}

``seq`` is the entry's number in the data directory's journal, so it goes
on across restarts. An advance with no action carries nothing and is not
published (its number is skipped).

Filters (:class:`StreamFilter`):

- ``agent=ID`` (an agent desktop): the events naming the agent (its login,
  pause, answers...) or about a call offered or connected to it (the call's
  arrival when it is offered at once, its end, its transfer, its caller
  hanging up), and of the actions only those naming the agent: its
  ``Offer`` (with the screen-pop data), ``CancelOffer``, ``PauseAgent``,
  ``PlaceCallback``. Other agents' offers for the same call (ring-all) are
  not shown.
- ``queue=NAME`` (a wallboard): the events and actions about calls in that
  queue (by the queue they are in when it happens) and about agents who
  serve it (by their login profile).
- none: everything.

An entry with nothing left after filtering is not sent; one whose event is
filtered out but some action is not is sent with ``"event": null``.

Who is concerned is worked out by :class:`Concerns`, which follows calls
and agents entry by entry. At start it is rebuilt from the journal kept in
the data directory and from the distributor's live calls. Entries read back
from the journal (see below) are attributed by a :class:`Concerns` that
starts from the snapshot the oldest kept segment follows (its live calls
and agents) and follows the journal from there, so a call connected before
that segment is still known to belong to its agent.

Resuming (``since=N``): the :class:`Hub` keeps the last ``buffer`` entries
in memory; older ones are read back from the journal segments in the data
directory; entries older than the oldest segment kept (the store deletes
them after two snapshots) are gone, which :class:`Trimmed` says. A client
that falls more than ``queue_size`` entries behind is disconnected
(:attr:`Subscription.overflowed`) and resumes from the last ``seq`` it got.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..actions import (
    Action,
    CallbackFailed,
    CancelOffer,
    Offer,
    Overflow,
    PlaceCallback,
    Queued,
    Reject,
    SelfService,
)
from ..codec import to_json
from ..distributor import Distributor
from ..errors import AcdError
from ..events import (
    AgentLoggedIn,
    CallAbandoned,
    CallArrived,
    CallbackCancelled,
    CallEnded,
    CallTransferred,
    Event,
    OfferAnswered,
    OfferDeclined,
)
from ..journal import JournalError, read_journal
from ..snapshots import read_snapshot

__all__ = ["Concerns", "Hub", "StreamFilter", "Subscription", "Tagged", "Trimmed"]

_SEGMENT = re.compile(r"^journal-(\d{20})\.jsonl$")
_PRUNE_EVERY = 10_000


class Trimmed(Exception):
    """The entries asked for are no longer kept (``oldest``: the first one
    that is, ``None`` when none is)."""

    def __init__(self, since: int, oldest: int | None) -> None:
        self.since = since
        self.oldest = oldest
        kept = f"the oldest entry kept is {oldest}" if oldest is not None else "none is kept"
        super().__init__(
            f"entries from {since} on can no longer be replayed ({kept}: the journal is trimmed "
            "after snapshots); read the state over HTTP and subscribe again without since"
        )


@attrs.frozen
class Tagged:
    """One published entry: its JSON parts and who each part concerns."""

    seq: int
    event: dict[str, Any] | None
    actions: tuple[dict[str, Any], ...]
    event_agents: frozenset[str]
    event_queues: frozenset[str]
    action_agents: tuple[frozenset[str], ...]
    action_queues: tuple[frozenset[str], ...]


@attrs.frozen
class StreamFilter:
    """Which part of the stream a subscriber gets (see the module
    docstring): one ``agent``, one ``queue``, or everything."""

    agent: str | None = None
    queue: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.agent is not None and self.queue is not None:
            raise ValueError("filter by agent or by queue, not both")

    def describe(self) -> dict[str, str]:
        """The filter as JSON data."""
        if self.agent is not None:
            return {"agent": self.agent}
        if self.queue is not None:
            return {"queue": self.queue}
        return {}

    def render(self, entry: Tagged) -> dict[str, Any] | None:
        """What this filter lets through of ``entry`` (``None``: nothing)."""
        if self.agent is not None:
            key, event_tags, action_tags = self.agent, entry.event_agents, entry.action_agents
        elif self.queue is not None:
            key, event_tags, action_tags = self.queue, entry.event_queues, entry.action_queues
        else:
            return {"seq": entry.seq, "event": entry.event, "actions": list(entry.actions)}
        show_event = entry.event is not None and key in event_tags
        actions = [a for a, tags in zip(entry.actions, action_tags, strict=True) if key in tags]
        if not show_event and not actions:
            return None
        return {"seq": entry.seq, "event": entry.event if show_event else None, "actions": actions}


@attrs.define
class _Call:
    queue: str | None
    agents: set[str] = attrs.Factory(set)


_ENDS = (CallEnded, CallAbandoned, CallbackCancelled)


class Concerns:
    """Follows calls (their queue, the agents offered or connected) and
    agents (the queues of their profile) entry by entry, to say whom each
    part of an entry concerns."""

    def __init__(self) -> None:
        self.calls: dict[str, _Call] = {}
        self.members: dict[str, frozenset[str]] = {}

    # ------------------------------------------------------------ tagging

    def tag(self, seq: int, event: Event | None, actions: Sequence[Action]) -> Tagged:
        """Tag one entry and follow what it changes."""
        ev_agents: set[str] = set()
        ev_queues: set[str] = set()
        call_id = getattr(event, "call_id", None)
        if event is not None:
            agent = (
                event.profile.agent_id
                if isinstance(event, AgentLoggedIn)
                else getattr(event, "agent_id", None)
            )
            if agent is not None:
                ev_agents.add(agent)
                ev_queues |= self.members.get(agent, frozenset())
            if isinstance(event, AgentLoggedIn):
                ev_queues |= set(event.profile.queues)
            queue = getattr(event, "queue", None)
            if queue is not None:
                ev_queues.add(queue)
            known = self.calls.get(call_id) if call_id is not None else None
            if known is not None:
                ev_agents |= known.agents
                if known.queue is not None:
                    ev_queues.add(known.queue)
            for action in actions:  # offered at once: the agent sees the arrival
                if isinstance(action, (Offer, PlaceCallback)) and action.call_id == call_id:
                    ev_agents.add(action.agent_id)
            self._event_before(event)
        action_agents: list[frozenset[str]] = []
        action_queues: list[frozenset[str]] = []
        for action in actions:
            agents, queues = self._action_tags(action)
            action_agents.append(agents)
            action_queues.append(queues)
            self._action(action)
        if isinstance(event, _ENDS):
            self.calls.pop(event.call_id, None)
        return Tagged(
            seq=seq,
            event=None if event is None else to_json(event),
            actions=tuple(to_json(a) for a in actions),
            event_agents=frozenset(ev_agents),
            event_queues=frozenset(ev_queues),
            action_agents=tuple(action_agents),
            action_queues=tuple(action_queues),
        )

    def _action_tags(self, action: Action) -> tuple[frozenset[str], frozenset[str]]:
        agents: set[str] = set()
        queues: set[str] = set()
        agent = getattr(action, "agent_id", None)
        if agent is not None:
            agents.add(agent)
        for name in ("queue", "target_queue"):
            value = getattr(action, name, None)
            if value is not None:
                queues.add(value)
        if not hasattr(action, "queue"):
            call_id = getattr(action, "call_id", None)
            known = self.calls.get(call_id) if call_id is not None else None
            if known is not None and known.queue is not None:
                queues.add(known.queue)
            elif call_id is None and agent is not None:  # PauseAgent
                queues |= self.members.get(agent, frozenset())
        return frozenset(agents), frozenset(queues)

    def _event_before(self, event: Event) -> None:
        if isinstance(event, (CallArrived, CallTransferred)):
            self.calls[event.call_id] = _Call(event.queue)
        elif isinstance(event, OfferAnswered):
            known = self.calls.get(event.call_id)
            if known is not None:
                known.agents = {event.agent_id}
        elif isinstance(event, OfferDeclined):
            known = self.calls.get(event.call_id)
            if known is not None:
                known.agents.discard(event.agent_id)
        elif isinstance(event, AgentLoggedIn):
            self.members[event.profile.agent_id] = frozenset(event.profile.queues)

    def _action(self, action: Action) -> None:
        if isinstance(action, (Offer, PlaceCallback)):
            call = self.calls.setdefault(action.call_id, _Call(action.queue))
            call.queue = action.queue
            call.agents.add(action.agent_id)
        elif isinstance(action, CancelOffer):
            known = self.calls.get(action.call_id)
            if known is not None:
                known.agents.discard(action.agent_id)
        elif isinstance(action, Queued):
            self.calls.setdefault(action.call_id, _Call(action.queue)).queue = action.queue
        elif isinstance(action, Overflow):
            if action.target_queue is not None:
                self.calls[action.call_id] = _Call(action.target_queue)
            else:
                self.calls.pop(action.call_id, None)
        elif isinstance(action, (Reject, SelfService, CallbackFailed)):
            self.calls.pop(action.call_id, None)

    # ------------------------------------------------------------ the live state

    def seed(self, document: Mapping[str, Any]) -> None:
        """Start from a snapshot document (:func:`acdcore.snapshots.save`):
        its live calls with their queue and the agents offered or connected,
        and its logged-in agents with their queues. A read-back that starts
        at a segment following a snapshot then knows the calls that began
        before it."""
        for call in document.get("calls", ()):
            agents = set(call.get("offers", ()))
            if call.get("agent"):
                agents.add(call["agent"])
            self.calls[call["call_id"]] = _Call(call.get("queue"), agents)
        for agent in document.get("agents", ()):
            if agent.get("logged_in"):
                queues = agent.get("profile", {}).get("queues", {})
                self.members[agent["agent_id"]] = frozenset(queues)

    def align(self, acd: Distributor, agents: Iterable[str] = ()) -> None:
        """Make the calls followed exactly the distributor's live calls
        (after a restart, and now and then against any drift); ``agents``:
        agent ids to look at besides those whose login was followed."""
        for call_id in list(self.calls):
            try:
                acd.call(call_id)
            except AcdError:
                del self.calls[call_id]
        for queue in acd.queues:
            for call_id in acd.waiting(queue):
                self.calls.setdefault(call_id, _Call(queue)).queue = queue
        for agent_id in dict.fromkeys([*self.members, *agents]):
            try:
                calls = acd.agent(agent_id).calls
            except AcdError:
                continue
            for call_id in calls:
                try:
                    view = acd.call(call_id)
                except AcdError:
                    continue  # in wrap-up: the call is over
                call = self.calls.setdefault(call_id, _Call(view.queue))
                call.queue = view.queue
                call.agents = set(view.offered_to) | ({view.agent} if view.agent else set())


def _segments(directory: Path) -> list[int]:
    out = []
    for path in directory.iterdir():
        m = _SEGMENT.match(path.name)
        if m:
            out.append(int(m.group(1)))
    return sorted(out)


def scan_journal(
    directory: Path,
    until: int,
    since: int | None = None,
    wanted: StreamFilter | None = None,
) -> tuple[list[dict[str, Any]], Concerns, int | None]:
    """Read the journal kept in ``directory`` up to entry ``until``
    (excluded): the entries from ``since`` on that ``wanted`` lets through,
    the :class:`Concerns` after them, and the first entry number kept.
    Raises :class:`Trimmed` when ``since`` is older than what is kept."""
    for _attempt in range(3):  # a snapshot may delete a segment while we read
        try:
            return _scan(directory, until, since, wanted)
        except FileNotFoundError:
            continue
    raise Trimmed(since or 0, None)


def _scan(
    directory: Path, until: int, since: int | None, wanted: StreamFilter | None
) -> tuple[list[dict[str, Any]], Concerns, int | None]:
    concerns = Concerns()
    out: list[dict[str, Any]] = []
    oldest: int | None = None
    expected: int | None = None
    segments = _segments(directory)
    if segments:  # the journal kept starts after a snapshot: know the calls it held
        snapshot = directory / f"snapshot-{segments[0]:020d}.json"
        if snapshot.exists():
            concerns.seed(read_snapshot(snapshot))
    for first in segments:
        read = read_journal(directory / f"journal-{first:020d}.jsonl", strict=True)
        for entry in read.entries:
            if entry.seq >= until:
                break
            if expected is not None and entry.seq < expected:
                continue  # a segment a crash left behind mid-rotation
            if oldest is None:
                oldest = entry.seq
            expected = entry.seq + 1
            if entry.event is None and not entry.actions:
                continue
            tagged = concerns.tag(entry.seq, entry.event, entry.actions or ())
            if since is not None and entry.seq >= since:
                rendered = (wanted or StreamFilter()).render(tagged)
                if rendered is not None:
                    out.append(rendered)
    if since is not None and since < until:
        if oldest is None or oldest > since:
            raise Trimmed(since, oldest)
        if expected is None or expected < until:  # not on disk yet: never with a valid config
            raise Trimmed(since, oldest)
    return out, concerns, oldest


class Subscription:
    """One subscriber: its filter, the entries waiting to be sent, and why
    it ended (``overflowed``: it fell too far behind; ``closed``: the
    service is stopping). ``start`` is the first live entry number it gets."""

    def __init__(self, wanted: StreamFilter, size: int, start: int) -> None:
        self.filter = wanted
        self.start = start
        self.backlog: list[dict[str, Any]] = []
        self.older: tuple[int, int] | None = None
        """The entries to read back from the journal first: ``(since, until)``."""
        self._items: deque[dict[str, Any]] = deque()
        self._size = size
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False

    def offer(self, entry: Tagged) -> None:
        """Queue ``entry`` if the filter lets some of it through."""
        if self.overflowed or self.closed:
            return
        rendered = self.filter.render(entry)
        if rendered is None:
            return
        if len(self._items) >= self._size:
            self.overflowed = True
        else:
            self._items.append(rendered)
        self._ready.set()

    def close(self) -> None:
        """End the subscription (the service is stopping)."""
        self.closed = True
        self._ready.set()

    async def next_batch(self) -> list[dict[str, Any]]:
        """Wait for entries (or the end); the entries queued so far."""
        await self._ready.wait()
        self._ready.clear()
        items = list(self._items)
        self._items.clear()
        return items


class Hub:
    """Publishes journal entries to subscribers and keeps the last ones for
    resuming (see the module docstring)."""

    def __init__(self, buffer: int, queue_size: int) -> None:
        self._buffer: deque[Tagged] = deque(maxlen=buffer)
        self._queue_size = queue_size
        self._covered_from = 0  # every published entry from here on is in the buffer
        self._next = 0
        self._subs: set[Subscription] = set()
        self._concerns = Concerns()
        self._directory: Path | None = None
        self.published = 0
        """Entries published since the start."""

    def open(self, directory: Path, next_seq: int, concerns: Concerns) -> None:
        """Start publishing at entry ``next_seq`` of the journal in
        ``directory``, following ``concerns`` (see :func:`scan_journal`)."""
        self._directory = directory
        self._next = self._covered_from = next_seq
        self._concerns = concerns

    @property
    def next_seq(self) -> int:
        """The number the next journal entry will get."""
        return self._next

    @property
    def subscribers(self) -> int:
        """How many subscribers are connected."""
        return len(self._subs)

    def publish(
        self,
        seq: int,
        event: Event | None,
        actions: Iterable[Action],
        live: Callable[[], Distributor] | None = None,
    ) -> None:
        """Publish journal entry ``seq``; ``live`` gives the distributor to
        re-align the calls followed with, now and then."""
        self._next = seq + 1
        items = list(actions)
        if event is None and not items:
            return
        tagged = self._concerns.tag(seq, event, items)
        if len(self._buffer) == self._buffer.maxlen:
            self._covered_from = self._buffer[0].seq + 1
        self._buffer.append(tagged)
        self.published += 1
        for sub in self._subs:
            sub.offer(tagged)
        if live is not None and self.published % _PRUNE_EVERY == 0:
            self._concerns.align(live())

    def subscribe(self, wanted: StreamFilter, since: int | None) -> Subscription:
        """A new subscriber with ``wanted``; with ``since``, the entries from
        ``since`` on that are still in memory are in its ``backlog`` (see
        :meth:`read_older` for the older ones)."""
        sub = Subscription(wanted, self._queue_size, self._next)
        if since is not None:
            if since < self._covered_from:
                sub.older = (since, self._covered_from)
            for entry in self._buffer:
                if entry.seq >= since:
                    rendered = wanted.render(entry)
                    if rendered is not None:
                        sub.backlog.append(rendered)
        self._subs.add(sub)
        return sub

    async def read_older(self, sub: Subscription) -> list[dict[str, Any]]:
        """The entries of ``sub.older`` that its filter lets through, read
        back from the journal. Raises :class:`Trimmed`."""
        if sub.older is None:
            return []
        since, until = sub.older
        if self._directory is None:
            raise Trimmed(since, None)
        try:
            out, _, _ = await asyncio.to_thread(
                scan_journal, self._directory, until, since, sub.filter
            )
        except JournalError as exc:
            raise Trimmed(since, None) from exc
        return out

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget ``sub``."""
        self._subs.discard(sub)

    def close(self) -> None:
        """End every subscription (the service is stopping)."""
        for sub in list(self._subs):
            sub.close()
        self._subs.clear()
