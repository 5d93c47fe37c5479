"""acdcore's actions as ARI requests, for the ARI adapter.

:class:`AriActions` is owned by the :class:`~acdcore.adapters.ari.AriAdapter`
(``adapter.actions``); :meth:`.AriAdapter.perform` hands it each action.
An ``Offer`` originates the agent's endpoint into the application, a
``CancelOffer`` hangs that leg up, ``Queued`` and ``Announce`` go to the
caller's media (:mod:`.ari_media`), and ``Reject``, ``Overflow`` and
``SelfService`` send the caller back to the dialplan
(:meth:`AriActions.continue_call`, which the event handlers and the
resynchronisation use too). The mapping is in :mod:`.ari`'s docstring.
"""

from __future__ import annotations

import collections
import logging
import math
from typing import TYPE_CHECKING

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
from .ari_calls import AgentLeg, safe_token
from .ari_client import AriError, AriUnavailable

if TYPE_CHECKING:
    from .ari import AriAdapter

__all__ = ["AriActions"]

log = logging.getLogger("acdcore.adapters.ari")


class AriActions:
    """Performs acdcore's actions on the Asterisk of ``adapter``."""

    def __init__(self, adapter: AriAdapter) -> None:
        self.adapter = adapter

    async def perform(self, action: Action) -> None:
        """Perform one of acdcore's actions on Asterisk (see :meth:`.AriAdapter.perform`)."""
        a = self.adapter
        a.counts[f"action:{type(action).__name__}"] += 1
        log.info("action %s", action)
        if isinstance(action, Offer):
            await self.offer(action)
        elif isinstance(action, CancelOffer):
            leg_id = a._ringing.pop((action.call_id, action.agent_id), None)
            leg = a.legs.get(leg_id) if leg_id is not None else None
            if leg is not None and leg.state == "ringing":
                await a._cancel_leg(
                    leg, "no_answer" if action.reason == "ring-timeout" else "normal"
                )
        elif isinstance(action, Queued):
            call = a.calls.get(action.call_id)
            if call is not None:
                await a.media.moh(call)
        elif isinstance(action, Announce):
            a.announcements.append(action)
            log.info(
                "announce to %s: position %d, %s", action.call_id, action.position, action.phrase
            )
            await a.media.announce(action)
        elif isinstance(action, Reject):
            await self.continue_call(action.call_id, "reject", action.reason)
        elif isinstance(action, Overflow):
            if action.destination is not None:
                await self.continue_call(action.call_id, action.destination, action.reason)
        elif isinstance(action, SelfService):
            await self.continue_call(action.call_id, "self-service", action.reason)
        elif isinstance(action, PlaceCallback):
            raise ActionFailed("the ARI adapter does not place callbacks")

    async def offer(self, offer: Offer) -> None:
        """Originate the agent's endpoint into the application: a ringing
        :class:`~.ari_calls.AgentLeg` (see :class:`~.ari.AriAdapter` for its id)."""
        a = self.adapter
        call = a.calls.get(offer.call_id)
        if call is None or call.state != "waiting":
            raise ActionFailed(f"no waiting caller {offer.call_id!r} in {a.app}")
        endpoint = a.endpoint(offer.agent_id)
        if not endpoint:
            raise ActionFailed(f"agent {offer.agent_id!r} has no endpoint")
        key = (offer.call_id, offer.agent_id)
        attempts = a._attempts.setdefault(offer.call_id, collections.Counter())
        attempts[offer.agent_id] += 1
        agent = safe_token(offer.agent_id)
        leg_id = f"{offer.call_id}-{agent}-{a.instance}-{attempts[offer.agent_id]}"
        leg = a.legs[leg_id] = AgentLeg(leg_id, offer.call_id, offer.agent_id, originating=True)
        a._ringing[key] = leg_id
        params: dict[str, str | int] = {
            "endpoint": endpoint,
            "app": a.app,
            "appArgs": f"agent,{offer.call_id},{offer.agent_id}",
            "timeout": math.ceil(offer.ring_timeout + a.ring_grace),
            "channelId": leg_id,
        }
        if endpoint.startswith("Local/"):
            params["otherChannelId"] = f"{leg_id}-2"
        caller = str(offer.attributes.get("caller") or "")
        if caller:
            params["callerId"] = caller
        failure: AriError | AriUnavailable | None = None
        try:
            await a.client.request("POST", "/channels", params)
        except (AriError, AriUnavailable) as exc:
            failure = exc
        leg.originating = False
        if leg.hangup is not None and not isinstance(failure, AriError):
            # Cancelled (ring timeout, caller gone) while the originate was
            # out: hung up only now, so the DELETE cannot reach Asterisk first.
            log.info("leg %s was cancelled while it was originated: hung up", leg_id)
            await a._hangup(leg_id, leg.hangup)
        if failure is not None and leg.state == "ringing":  # no event has settled it meanwhile
            a._drop_leg(leg)
            raise ActionFailed(f"originate {endpoint} for {offer.call_id}: {failure}") from failure

    async def continue_call(self, call_id: str, destination: str, reason: str) -> None:
        """Send a caller back to the dialplan: ``destination`` is an extension
        of :attr:`.AriAdapter.exit_context`, or ``context,extension[,priority]``.
        If Asterisk cannot do it (:attr:`.AriAdapter.continue_attempts` tries,
        :attr:`.AriAdapter.retry_delay` apart, growing), the caller is hung up
        rather than left in the application, and listed in
        :attr:`.AriAdapter.unrecovered`."""
        a = self.adapter
        call = a.calls.get(call_id)
        if call is not None:
            call.state = "leaving"
            await a.media.stop(call)
        parts = destination.split(",")
        context, exten = (parts[0], parts[1]) if len(parts) > 1 else (a.exit_context, parts[0])
        priority = parts[2] if len(parts) > 2 else "1"
        log.info("caller %s continues at %s,%s,%s (%s)", call_id, context, exten, priority, reason)
        await a._quiet("POST", f"/channels/{call_id}/variable", variable="ACD_REASON", value=reason)
        try:
            await a.client.retry(
                "POST",
                f"/channels/{call_id}/continue",
                {"context": context, "extension": exten, "priority": priority},
                attempts=a.continue_attempts,
                delay=a.retry_delay,
            )
            return
        except AriError as exc:
            if exc.status in (404, 409):  # gone, or out of the application already
                log.debug("%s", exc)
                return
            error: Exception = exc
        except AriUnavailable as exc:
            error = exc
        a._lost(f"caller {call_id}: could not continue at {context},{exten} ({error}): hung up")
        await a._hangup(call_id)
