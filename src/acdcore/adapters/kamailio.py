"""Kamailio adapter: real SIP callers and agents' phones, routed by acdcore.

Kamailio runs the configuration shipped beside this module
(:data:`CONFIG`, ``kamailio.cfg``). It holds each caller's INVITE while
acdcore decides, rings the phones acdcore offers the call to, and reports
every SIP outcome over its evapi socket (netstrings around JSON). This
adapter is the other end of that socket and an
:class:`~acdcore.runtime.ActionSink`::

    adapter = KamailioAdapter(port=8448, profiles=my_profiles)
    runtime = Runtime(distributor, adapter, store=store)
    async with runtime:
        await adapter.serve(runtime)      # until adapter.close()

What the switch says, and the event each becomes:

======================================  =========================================
Kamailio (evapi event)                  acdcore event
======================================  =========================================
``invite``: an INVITE to ``<queue>@``   ``CallArrived`` (``X-ACD-Priority`` header
                                        as ``priority``, the From user as
                                        ``attributes["caller"]``)
``cancel``: the caller's CANCEL         ``CallAbandoned`` (queued or ringing)
``answered``: an agent's 2xx            ``OfferAnswered`` (the branch's URI tells
                                        whose phone answered)
``declined``: an agent's final 3xx-6xx  ``OfferDeclined``: 486/600 ``"busy"``,
                                        603 ``"declined"``, 408/480 ``"no-answer"``,
                                        anything else ``"unreachable"``
``failed``: every branch ended          ``OfferDeclined`` for each phone still
                                        ringing (``"no-answer"`` when the ring
                                        timer expired, else by the final code);
                                        the caller is held again
``gone``: a hold expired, or a          ``CallAbandoned`` (and listed in
command found no transaction            ``unrecovered``)
``ended``: BYE or dialog timeout        ``CallEnded``
``register``: a phone registered        the agent's contact; ``AgentLoggedIn`` /
                                        ``AgentLoggedOut`` if ``profiles`` is given
======================================  =========================================

And each action acdcore returns:

- ``Offer``: ring the agent's registered contact until ``ring_grace``
  seconds before acdcore's own ring timeout for that offer (counted from
  when acdcore decided it), so **the switch owns the ring timer** and
  acdcore's is the backstop. Offers decided together (ring-all) go out as
  one command with one branch each, because Kamailio cannot add or cancel
  one branch of a ringing transaction from outside its reply routes. An
  offer decided while the previous offer of that call still rings waits
  until the switch holds the caller again.
- ``CancelOffer``: Kamailio cancels the other branches itself when one
  answers or the caller gives up. For a ring timeout, a logout or a skills
  change while ringing, the phone rings on until its timer (the limit
  above); an offer not yet sent is dropped.
- ``Reject``: a final reply to the caller (486 for a full queue, 480
  otherwise). ``Overflow`` to a ``destination`` and ``SelfService`` (to
  ``self_service_uri``) forward the INVITE there; an overflow to another
  queue changes nothing on the switch.
- ``Queued``, ``Announce`` and the rest are logged (and announcements kept
  in :attr:`KamailioAdapter.announcements`): Kamailio has no media, so hold
  music and prompts need a media server (see ``docs/kamailio.md``).
- ``PlaceCallback`` fails (a proxy cannot originate a call): the runtime
  turns it into ``CallbackUnanswered``.

When the evapi connection drops, :meth:`KamailioAdapter.serve` reconnects
(backing off to ``reconnect_max`` seconds) and resynchronises before
reading on: it reads the switch's table of the calls it holds and the
registered contacts (JSON-RPC ``htable.dump`` and ``ul.dump``), compares
them with the distributor's live calls, and submits what it missed: a call
gone from the switch is abandoned (or ended, if connected), an answer or a
failed ring it did not hear is applied, a held caller the distributor never
saw arrives now. What it cannot reconcile is logged and listed in
:attr:`KamailioAdapter.unrecovered`. While no adapter is connected the
configuration refuses new callers with 503 rather than hold them unseen.

The adapter is in parts: :mod:`.kamailio_commands` (acdcore's actions as
evapi commands, a helper object the adapter owns, and :class:`SipCall`),
:mod:`.kamailio_resync` (the resynchronisation and :func:`rpc`) and
:mod:`.netstring`. This module has the adapter's settings, its life
(connect, reconnect, close) and the switch's events.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .. import (
    Action,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentProfile,
    Announce,
    CallAbandoned,
    CallArrived,
    CallEnded,
    Distributor,
    Event,
    OfferAnswered,
    OfferDeclined,
    UnknownCall,
    UnknownQueue,
)
from ..runtime import Result, Runtime, RuntimeFailed
from ..values import check_number
from . import kamailio_resync
from .kamailio_commands import KamailioCommands, SipCall
from .kamailio_resync import rpc
from .netstring import NetstringError, NetstringReader

__all__ = ["CONFIG", "KamailioAdapter", "SipCall", "config_path", "decline_reason", "rpc"]

log = logging.getLogger("acdcore.adapters.kamailio")

CONFIG = "kamailio.cfg"
"""The name of the Kamailio configuration shipped in this package."""


def config_path() -> Path:
    """Where the shipped Kamailio configuration is on disk."""
    return Path(str(resources.files(__package__).joinpath(CONFIG)))


def decline_reason(code: int) -> str:
    """The ``OfferDeclined`` reason for an agent's final SIP reply ``code``."""
    if code in (486, 600):
        return "busy"
    if code == 603:
        return "declined"
    if code in (408, 480):
        return "no-answer"
    return "unreachable"


_URI = re.compile(r"<([^>]*)>")


def _contact_uri(contact: str) -> str:
    """The URI of a Contact header value (``<sip:...>;params`` or bare)."""
    m = _URI.search(contact)
    return (m.group(1) if m else contact.split(";", 1)[0]).strip()


def _contact_expires(contact: str, header: str) -> int | None:
    m = re.search(r";\s*expires\s*=\s*(\d+)", contact.split(">", 1)[-1])
    if m:
        return int(m.group(1))
    return int(header) if header.strip().isdigit() else None


_EVENTS = frozenset(
    {"invite", "cancel", "answered", "declined", "failed", "ended", "register", "gone"}
)
"""The evapi events kamailio.cfg sends; each has a handler ``_on_<event>``."""


class KamailioAdapter:
    """acdcore on Kamailio (see the module docstring for the whole mapping).

    ``host``/``port``: Kamailio's evapi socket. ``rpc_host``/``rpc_port``:
    its JSON-RPC over HTTP, for resynchronising (``None`` port: no resync,
    reconnects only log what they may have missed). ``ring_grace``: seconds
    by which the switch's ring timer is shorter than the offer's.
    ``profiles``: maps an agent id to the profile it logs in with when its
    phone registers (``None``: registration does not log in; use the
    runtime, e.g. the service's API). ``self_service_uri``: where
    ``SelfService`` sends a caller (``None``: reply 480).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8448,
        rpc_host: str = "127.0.0.1",
        rpc_port: int | None = 5071,
        ring_grace: float = 1.0,
        profiles: Callable[[str], AgentProfile | None] | Mapping[str, AgentProfile] | None = None,
        self_service_uri: str | None = None,
        reconnect_max: float = 2.0,
    ) -> None:
        check_number(port, "port", integer=True, minimum=1, maximum=65535)
        if rpc_port is not None:
            check_number(rpc_port, "rpc_port", integer=True, minimum=1, maximum=65535)
        self.host, self.port = host, port
        self.rpc_host, self.rpc_port = rpc_host, rpc_port
        self.ring_grace = check_number(ring_grace, "ring_grace", minimum=0)
        self._profiles = profiles
        self.self_service_uri = self_service_uri
        self.reconnect_max = check_number(reconnect_max, "reconnect_max", positive=True)
        self.calls: dict[str, SipCall] = {}
        """The calls Kamailio holds for acdcore, by Call-ID."""
        self.contacts: dict[str, str] = {}
        """Each registered agent's contact URI."""
        self.announcements: collections.deque[Announce] = collections.deque(maxlen=1000)
        """The latest ``Announce`` actions (Kamailio cannot play them)."""
        self.unrecovered: collections.deque[str] = collections.deque(maxlen=1000)
        """What a resynchronisation could not reconcile, in words."""
        self.connected = asyncio.Event()
        self.counts: collections.Counter[str] = collections.Counter()
        """Events received and commands sent, by name."""
        self._runtime: Runtime | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._closing = False
        self.commands = KamailioCommands(self)
        """Performs acdcore's actions (see :meth:`perform`)."""

    # ------------------------------------------------------------ lifecycle

    async def serve(self, runtime: Runtime) -> None:
        """Connect to Kamailio and turn what it says into events, for ever:
        reconnect and resynchronise whenever the connection drops. Returns
        after :meth:`close`."""
        self._runtime = runtime
        delay = 0.05
        while not self._closing:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError as exc:
                log.warning("cannot reach Kamailio's evapi at %s:%s: %s", self.host, self.port, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect_max)
                continue
            delay = 0.05
            self._writer = writer
            try:
                await self.resync()
                self.connected.set()
                self.commands.flush_all()
                await self._read(reader)
            except (OSError, NetstringError) as exc:
                log.warning("evapi connection lost: %s", exc)
            except (KeyError, TypeError, ValueError) as exc:  # an unreadable RPC answer
                log.error("could not resynchronise with Kamailio: %r", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect_max)
            finally:
                self.connected.clear()
                self._writer = None
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    async def close(self) -> None:
        """Stop :meth:`serve` (it returns once the connection is closed)."""
        self._closing = True
        if self._writer is not None:
            self._writer.close()

    def drop_connection(self) -> None:
        """Close the evapi connection as if the network had dropped it
        (:meth:`serve` reconnects and resynchronises); for tests and drills."""
        if self._writer is not None:
            transport = self._writer.transport
            transport.abort()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        frames = NetstringReader()
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for payload in frames.feed(data):
                try:
                    message = json.loads(payload)
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    self.counts["malformed"] += 1
                    log.error("evapi message is not a JSON object: %r", payload[:200])
                    continue
                await self.on_message(message)

    # ------------------------------------------------------------ switch -> acdcore

    async def on_message(self, message: dict[str, Any]) -> None:
        """Handle one evapi event from Kamailio (see the module docstring)."""
        kind = message.get("event")
        if kind not in _EVENTS:
            self.counts["malformed"] += 1
            log.warning("unknown evapi event %r", message)
            return
        self.counts[f"event:{kind}"] += 1
        try:
            await getattr(self, f"_on_{kind}")(message)
        except RuntimeFailed:
            raise  # the runtime stopped: so does the adapter
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A message this configuration would not send: skip it, keep serving.
            self.counts["malformed"] += 1
            log.error("evapi %s event %r could not be handled: %r", kind, message, exc)

    async def _submit(self, event: Event) -> Result:
        assert self._runtime is not None
        result = await self._runtime.submit(event)
        if not result.accepted:
            log.info("switch event refused: %s (%s)", event, result.error)
        return result

    async def _on_invite(self, m: dict[str, Any]) -> None:
        cid = str(m["callid"])
        known = self.calls.get(cid)
        if known is not None and (known.tindex, known.tlabel) == (m["tindex"], m["tlabel"]):
            return  # already taken from the switch's table when resynchronising
        if known is not None:
            log.warning("a second INVITE transaction for call %s: refused", cid)
            self.commands.send({"cmd": "reply", "code": 482, "reason": "Merged Request"}, m)
            return
        call = SipCall(cid, int(m["tindex"]), int(m["tlabel"]))
        self.calls[cid] = call
        result = await self._submit(self._arrival(m))
        if not result.accepted and self.calls.get(cid) is call:
            del self.calls[cid]
            code = 404 if isinstance(result.error, UnknownQueue) else 400
            self.commands.send({"cmd": "reply", "code": code, "reason": "ACD Refused"}, m)

    @staticmethod
    def _arrival(m: Mapping[str, Any]) -> CallArrived:
        raw = str(m.get("priority") or "0").strip()
        try:
            priority = int(raw)
        except ValueError:
            log.warning("X-ACD-Priority %r is not a number: priority 0", raw)
            priority = 0
        return CallArrived(
            now=0,
            call_id=str(m["callid"]),
            queue=str(m.get("queue") or ""),
            priority=priority,
            attributes={"caller": str(m.get("caller") or "")},
        )

    async def _on_cancel(self, m: dict[str, Any]) -> None:
        call = self.calls.get(str(m["callid"]))
        if call is None or call.agent is not None:
            return  # unknown, or already answered: the CANCEL came too late
        del self.calls[call.call_id]
        await self._submit(CallAbandoned(now=0, call_id=call.call_id))

    async def _on_gone(self, m: dict[str, Any]) -> None:
        # A command found no transaction: the switch no longer holds the caller.
        call = self.calls.pop(str(m["callid"]), None)
        if call is None or call.agent is not None:
            return
        self._lost(f"call {call.call_id}: the switch no longer held the caller; abandoned")
        await self._submit(CallAbandoned(now=0, call_id=call.call_id))

    async def _on_answered(self, m: dict[str, Any]) -> None:
        call = self.calls.get(str(m["callid"]))
        if call is None or call.agent is not None:
            return  # a retransmitted 2xx, or a call acdcore no longer holds
        agent = call.ringing.get(str(m["uri"]))
        if agent is None:
            self._lost(f"call {call.call_id}: answered by {m['uri']}, which was not offered it")
            return
        call.agent = agent
        call.ringing.clear()
        call.pending.clear()
        call.held = False
        result = await self._submit(OfferAnswered(now=0, call_id=call.call_id, agent_id=agent))
        if not result.accepted:
            # The offer had ended in acdcore (its backstop ring timer, a
            # logout) but the phone answered: the caller is talking to the
            # agent. Stop routing the call, and say so.
            self._lost(
                f"call {call.call_id}: {agent} answered after acdcore withdrew the offer "
                f"({result.error}); the caller is connected but acdcore records no answer"
            )
            with contextlib.suppress(UnknownCall):
                self._distributor().call(call.call_id)
                await self._submit(CallAbandoned(now=0, call_id=call.call_id))

    async def _on_declined(self, m: dict[str, Any]) -> None:
        call = self.calls.get(str(m["callid"]))
        agent = None if call is None else call.ringing.pop(str(m["uri"]), None)
        if call is None or agent is None:
            return
        reason = decline_reason(int(m.get("code") or 0))
        await self._submit(
            OfferDeclined(now=0, call_id=call.call_id, agent_id=agent, reason=reason)
        )

    async def _on_failed(self, m: dict[str, Any]) -> None:
        call = self.calls.get(str(m["callid"]))
        if call is None:
            return
        call.tindex, call.tlabel = int(m["tindex"]), int(m["tlabel"])
        call.held = True
        ringing, call.ringing = call.ringing, {}
        code = int(m.get("code") or 0)
        reason = "no-answer" if m.get("timeout") else decline_reason(code)
        for agent in ringing.values():
            await self._submit(
                OfferDeclined(now=0, call_id=call.call_id, agent_id=agent, reason=reason)
            )
        self.commands.schedule_flush(call)

    async def _on_ended(self, m: dict[str, Any]) -> None:
        call = self.calls.pop(str(m["callid"]), None)
        if call is None:
            return
        if call.agent is not None:
            await self._submit(CallEnded(now=0, call_id=call.call_id))
            return
        # A talk acdcore never connected (an answer it could not place) ended:
        # the caller is gone, so the call must end in acdcore too.
        self._lost(f"call {call.call_id}: ended on the switch while acdcore had no agent on it")
        with contextlib.suppress(UnknownCall):
            self._distributor().call(call.call_id)
            await self._submit(CallAbandoned(now=0, call_id=call.call_id))

    async def _on_register(self, m: dict[str, Any]) -> None:
        agent = str(m.get("agent") or "")
        contact = str(m.get("contact") or "")
        if not agent or not contact:
            return
        expires = _contact_expires(contact, str(m.get("expires") or ""))
        known = agent in self.contacts
        if contact.strip() == "*" or expires == 0:
            self.contacts.pop(agent, None)
            if known and self._profile(agent) is not None:
                await self._submit(AgentLoggedOut(now=0, agent_id=agent))
            return
        self.contacts[agent] = _contact_uri(contact)
        profile = self._profile(agent)
        if profile is not None and not known:
            await self._submit(AgentLoggedIn(now=0, profile=profile))

    def _profile(self, agent: str) -> AgentProfile | None:
        p = self._profiles
        if p is None:
            return None
        if callable(p):
            return p(agent)
        return p.get(agent)

    # ------------------------------------------------------------ acdcore -> switch

    async def perform(self, action: Action) -> None:
        """Perform one of acdcore's actions on Kamailio (the runtime calls this;
        see :class:`.kamailio_commands.KamailioCommands`)."""
        await self.commands.perform(action)

    # ------------------------------------------------------------ resync

    def _distributor(self) -> Distributor:
        assert self._runtime is not None
        return self._runtime.distributor

    def _lost(self, what: str) -> None:
        log.warning("could not reconcile: %s", what)
        self.unrecovered.append(what)

    async def resync(self) -> None:
        """Reconcile with what Kamailio holds now (after a reconnect, or at
        start with a restored distributor); see the module docstring and
        :func:`.kamailio_resync.resync`."""
        await kamailio_resync.resync(self)
