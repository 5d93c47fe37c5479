"""acdcore's actions as commands to Kamailio, for the Kamailio adapter.

:class:`KamailioCommands` is owned by the
:class:`~acdcore.adapters.kamailio.KamailioAdapter` (``adapter.commands``);
:meth:`.KamailioAdapter.perform` hands it each action. It keeps, on each
:class:`SipCall`, the offers and the final answer decided for the caller,
and sends them over evapi (netstrings around JSON) once the switch holds
the caller's INVITE: offers decided together (ring-all) go out as one
command, on the next turn of the event loop. The mapping is in
:mod:`.kamailio`'s docstring.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .. import (
    Action,
    Announce,
    CancelOffer,
    Offer,
    Overflow,
    PlaceCallback,
    Queued,
    Reject,
    SelfService,
)
from ..runtime import ActionFailed
from .netstring import encode

if TYPE_CHECKING:
    from .kamailio import KamailioAdapter

__all__ = ["KamailioCommands", "SipCall"]

log = logging.getLogger("acdcore.adapters.kamailio")


@attrs.define
class SipCall:
    """What the adapter knows of one caller's INVITE held by Kamailio.

    ``held``: the transaction is suspended, waiting for a command.
    ``ringing``: branch URI to agent id, for the offer now ringing.
    ``pending``: offers decided but not sent yet (the call was ringing).
    ``final``: a final command (reply or forward) waiting for ``held``.
    ``agent``: the agent connected, once answered.
    """

    call_id: str
    tindex: int
    tlabel: int
    held: bool = True
    ringing: dict[str, str] = attrs.field(factory=dict)
    pending: list[tuple[Offer, str]] = attrs.field(factory=list)
    final: dict[str, Any] | None = None
    agent: str | None = None


class KamailioCommands:
    """Performs acdcore's actions on the Kamailio of ``adapter``."""

    def __init__(self, adapter: KamailioAdapter) -> None:
        self.adapter = adapter
        self._flushes: set[str] = set()

    async def perform(self, action: Action) -> None:
        """Perform one of acdcore's actions on Kamailio (see :meth:`.KamailioAdapter.perform`)."""
        self.adapter.counts[f"action:{type(action).__name__}"] += 1
        if isinstance(action, Offer):
            self.offer(action)
        elif isinstance(action, CancelOffer):
            self.cancel_offer(action)
        elif isinstance(action, Reject):
            code = 486 if action.reason == "queue-full" else 480
            self.final(
                action.call_id, {"cmd": "reply", "code": code, "reason": "ACD " + action.reason}
            )
        elif isinstance(action, Overflow):
            if action.destination is not None:
                self.final(action.call_id, {"cmd": "forward", "uri": action.destination})
            else:
                log.info("call %s overflows to queue %s", action.call_id, action.target_queue)
        elif isinstance(action, SelfService):
            if self.adapter.self_service_uri is not None:
                self.final(action.call_id, {"cmd": "forward", "uri": self.adapter.self_service_uri})
            else:
                self.final(
                    action.call_id, {"cmd": "reply", "code": 480, "reason": "ACD Self Service"}
                )
        elif isinstance(action, PlaceCallback):
            raise ActionFailed("Kamailio is a proxy: it cannot originate a callback")
        elif isinstance(action, Announce):
            self.adapter.announcements.append(action)
            log.info(
                "announce to %s: position %d, %s (Kamailio has no media: needs a media server)",
                action.call_id,
                action.position,
                action.phrase,
            )
        elif isinstance(action, Queued):
            log.info(
                "call %s waits in %s at %d (%s)",
                action.call_id,
                action.queue,
                action.position,
                action.reason,
            )
        else:
            log.info("%s", action)

    def offer(self, offer: Offer) -> None:
        """Ring the agent's registered phone for the caller (with the offers
        decided in the same turn, once the switch holds the caller)."""
        call = self.adapter.calls.get(offer.call_id)
        if call is None or call.agent is not None:
            raise ActionFailed(f"Kamailio holds no waiting caller {offer.call_id!r}")
        contact = self.adapter.contacts.get(offer.agent_id)
        if contact is None:
            raise ActionFailed(f"agent {offer.agent_id!r} has no registered phone")
        call.pending.append((offer, contact))
        self.schedule_flush(call)

    def cancel_offer(self, cancel: CancelOffer) -> None:
        """Drop an offer not sent yet; a ringing phone rings on (see the
        module docstring of :mod:`.kamailio`)."""
        call = self.adapter.calls.get(cancel.call_id)
        if call is None:
            return
        before = len(call.pending)
        call.pending = [(o, c) for o, c in call.pending if o.agent_id != cancel.agent_id]
        if len(call.pending) == before and cancel.reason not in (
            "answered-elsewhere",
            "caller-abandoned",
        ):
            log.info(
                "%s's phone rings on for %s until the switch's timer (%s): Kamailio cannot "
                "cancel one branch from outside",
                cancel.agent_id,
                cancel.call_id,
                cancel.reason,
            )

    def final(self, call_id: str, command: dict[str, Any]) -> None:
        """Answer the caller with ``command`` (a reply or a forward) once the
        switch holds it; the offers not sent yet are dropped."""
        call = self.adapter.calls.get(call_id)
        if call is None:
            return
        call.final = command
        call.pending.clear()
        self.schedule_flush(call)

    def schedule_flush(self, call: SipCall) -> None:
        """:meth:`flush` ``call`` on the next turn of the event loop."""
        # Offers decided together (ring-all) are performed in tasks started in
        # one go; flushing on the next loop turn sends them as one command.
        if call.call_id not in self._flushes:
            self._flushes.add(call.call_id)
            asyncio.get_running_loop().call_soon(self.flush, call.call_id)

    def flush(self, call_id: str) -> None:
        """Send what was decided for a caller the switch holds: its final
        answer, else its offers still fresh enough to ring."""
        self._flushes.discard(call_id)
        call = self.adapter.calls.get(call_id)
        if call is None or not call.held or self.adapter._writer is None:
            return
        if call.final is not None:
            del self.adapter.calls[call_id]
            self.send(call.final, {"callid": call_id, "tindex": call.tindex, "tlabel": call.tlabel})
            return
        if not call.pending:
            return
        # The switch's ring must end before acdcore's backstop, which runs
        # from when the offer was decided (it may have waited for the last
        # ring of this call to end). An offer with under a second left is
        # not rung at all: acdcore's timer takes it back in a moment.
        now = self.adapter._runtime.now() if self.adapter._runtime is not None else 0.0
        fresh: list[tuple[Offer, str]] = []
        stale: list[tuple[Offer, str]] = []
        for o, c in call.pending:
            left = o.at + o.ring_timeout - self.adapter.ring_grace - now
            (fresh if left >= 1.0 else stale).append((o, c))
        if stale:
            log.info("call %s: offers too old to ring: %s", call_id, [o.agent_id for o, _ in stale])
        call.pending = fresh
        if not fresh:
            return
        left = min(o.at + o.ring_timeout - self.adapter.ring_grace - now for o, _ in fresh)
        ring_ms = round(left * 1000)
        call.ringing = {contact: o.agent_id for o, contact in call.pending}
        call.pending = []
        call.held = False
        self.send(
            {"cmd": "offer", "uris": list(call.ringing), "ring_ms": ring_ms},
            {"callid": call_id, "tindex": call.tindex, "tlabel": call.tlabel},
        )

    def flush_all(self) -> None:
        """:meth:`flush` every call (after a reconnect)."""
        for cid in list(self.adapter.calls):
            self.flush(cid)

    def send(self, command: dict[str, Any], tx: Mapping[str, Any]) -> None:
        """Send ``command`` for the transaction ``tx`` (``callid``, ``tindex``,
        ``tlabel``) over evapi; lost, and logged, when not connected."""
        writer = self.adapter._writer
        if writer is None:
            log.warning("not connected to Kamailio: %s lost", command)
            return
        command = {
            **command,
            "callid": tx["callid"],
            "tindex": int(tx["tindex"]),
            "tlabel": int(tx["tlabel"]),
        }
        self.adapter.counts[f"command:{command['cmd']}"] += 1
        writer.write(encode(json.dumps(command).encode()))
