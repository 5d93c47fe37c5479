"""The Asterisk -> acdcore half of the ARI adapter: what each ARI event does
to the callers and agent legs the adapter follows, and the events it submits
to acdcore (the mapping is in :mod:`.ari`'s docstring).

:class:`AriEvents` is the base class of
:class:`~acdcore.adapters.ari.AriAdapter`, which sets up the state it
declares; it also holds the bookkeeping shared with :mod:`.ari_actions`,
:mod:`.ari_media` and :mod:`.ari_resync` (forgetting a caller, dropping or
cancelling a leg, requests whose failure is only logged). A subclass may
override a handler (``_leg_failed``, ``_leg_answered``, ...): the dispatch
goes through ``self``.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import (
    CallAbandoned,
    CallArrived,
    CallEnded,
    Distributor,
    Event,
    OfferAnswered,
    OfferDeclined,
)
from ..runtime import Result, Runtime
from .ari_calls import AgentLeg, AriCall, cause_reason, dial_reason, hangup_cause
from .ari_client import AriClient, AriError, AriUnavailable

if TYPE_CHECKING:
    from .ari_actions import AriActions
    from .ari_media import AriMedia

__all__ = ["AriEvents"]

log = logging.getLogger("acdcore.adapters.ari")


class AriEvents:
    """Asterisk's events on acdcore, and the records they update (see the
    module docstring); the attributes are set by :class:`.AriAdapter`."""

    app: str
    client: AriClient
    default_queue: str | None
    calls: dict[str, AriCall]
    legs: dict[str, AgentLeg]
    unrecovered: collections.deque[str]
    counts: collections.Counter[str]
    media: AriMedia
    actions: AriActions
    _ringing: dict[tuple[str, str], str]
    _attempts: dict[str, collections.Counter[str]]
    _runtime: Runtime | None

    # ------------------------------------------------------------ helpers

    def _distributor(self) -> Distributor:
        assert self._runtime is not None
        return self._runtime.distributor

    async def _submit(self, event: Event) -> Result:
        assert self._runtime is not None
        result = await self._runtime.submit(event)
        if not result.accepted:
            log.info("switch event refused: %s (%s)", event, result.error)
        return result

    def _lost(self, what: str) -> None:
        log.warning("could not reconcile: %s", what)
        self.unrecovered.append(what)

    def _malformed(self, what: object, why: object) -> None:
        self.counts["malformed"] += 1
        log.warning("malformed ARI event skipped (%s): %.300r", why, what)

    def _bridge_id(self, call_id: str) -> str:
        return f"{self.app}-{call_id}"

    def _forget(self, call_id: str) -> None:
        """The caller left the application: stop following it."""
        self.calls.pop(call_id, None)
        self._attempts.pop(call_id, None)

    def _drop_leg(self, leg: AgentLeg) -> None:
        leg.state = "done"
        self.legs.pop(leg.leg_id, None)
        self._ringing.pop((leg.call_id, leg.agent_id), None)

    async def _cancel_leg(self, leg: AgentLeg, reason: str = "normal") -> None:
        """Stop following a ringing leg and hang it up (once its originate
        has returned, if it is still out)."""
        self._drop_leg(leg)
        if leg.originating:
            leg.hangup = reason
        else:
            await self._hangup(leg.leg_id, reason)

    async def _quiet(self, method: str, path: str, **params: str | int) -> bool:
        """A request whose failure is only logged (a hangup of a channel that
        is already gone); True if it succeeded."""
        try:
            await self.client.request(method, path, params)
        except AriError as exc:
            level = logging.DEBUG if exc.status == 404 else logging.WARNING
            log.log(level, "%s", exc)
            return False
        except AriUnavailable as exc:
            log.warning("%s", exc)
            return False
        return True

    async def _hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._quiet("DELETE", f"/channels/{channel_id}", reason=reason)

    # ------------------------------------------------------------ Asterisk -> acdcore

    async def on_event(self, event: Mapping[str, Any]) -> None:
        """Handle one ARI event (see the module docstring). A malformed one is
        logged, counted (``counts["malformed"]``) and skipped."""
        if not isinstance(event, Mapping):
            self._malformed(event, "not a JSON object")
            return
        try:
            await self._dispatch(event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # RuntimeFailed (the runtime stopped) is none of these: it goes on up.
            self._malformed(event, repr(exc))

    async def _dispatch(self, event: Mapping[str, Any]) -> None:
        kind = str(event.get("type", ""))
        self.counts[f"event:{kind}"] += 1
        channel = event.get("channel") or {}
        cid = str(channel.get("id", ""))
        if kind == "StasisStart":
            if not cid:
                raise KeyError("StasisStart without a channel id")
            args = [str(a) for a in event.get("args") or []]
            if args and args[0] == "agent":
                await self._leg_answered(cid)
            else:
                await self._caller_entered(channel, args)
        elif kind == "StasisEnd":
            if cid in self.calls:
                await self._caller_left(self.calls[cid])
            elif cid in self.legs:
                await self._leg_ended(self.legs[cid], None)
        elif kind == "ChannelDestroyed":
            if cid in self.legs:
                await self._leg_ended(self.legs[cid], hangup_cause(event.get("cause")))
            elif cid in self.calls:
                await self._caller_left(self.calls[cid])
        elif kind == "Dial":
            leg = self.legs.get(str((event.get("peer") or {}).get("id", "")))
            reason = dial_reason(str(event.get("dialstatus") or ""))
            if leg is not None and leg.state == "ringing" and reason is not None:
                await self._leg_failed(leg, reason)
        elif kind == "PlaybackFinished":
            await self.media.playback_finished(str((event.get("playback") or {}).get("id", "")))

    async def _caller_entered(self, channel: Mapping[str, Any], args: list[str]) -> None:
        cid = str(channel["id"])
        if cid in self.calls:
            return
        queue = args[0] if args and args[0] else self.default_queue
        if queue is None:
            log.warning("caller %s entered %s without a queue", cid, self.app)
            await self.actions.continue_call(cid, "reject", "no-queue")
            return
        priority = 0
        if len(args) > 1 and args[1].strip():
            try:
                priority = int(args[1])
            except ValueError:
                log.warning("caller %s: priority %r is not a number: 0", cid, args[1])
        call = self.calls[cid] = AriCall(cid, queue)
        if channel.get("state") != "Up" and not await self._quiet(
            "POST", f"/channels/{cid}/answer"
        ):
            self._forget(cid)
            return
        caller = channel.get("caller") or {}
        attributes = {"caller": str(caller.get("number") or "")}
        if caller.get("name"):
            attributes["caller_name"] = str(caller["name"])
        result = await self._submit(
            CallArrived(now=0, call_id=cid, queue=queue, priority=priority, attributes=attributes)
        )
        if not result.accepted and self.calls.get(cid) is call:
            await self.actions.continue_call(cid, "reject", type(result.error).__name__)

    async def _caller_left(self, call: AriCall) -> None:
        self._forget(call.call_id)
        if call.state == "leaving":
            return
        if call.state == "orphan":
            await self._teardown(call, call.leg)
        elif call.state == "bridged":
            log.info("caller %s hung up: call ended", call.call_id)
            await self._submit(CallEnded(now=0, call_id=call.call_id))
            await self._teardown(call, call.leg)
        else:
            log.info("caller %s hung up while waiting: abandoned", call.call_id)
            result = await self._submit(CallAbandoned(now=0, call_id=call.call_id))
            # Accepted, acdcore cancels the ringing offers (CancelOffer
            # caller-abandoned), which hangs their legs up; refused, nobody will.
            if not result.accepted:
                for leg in [g for g in self.legs.values() if g.call_id == call.call_id]:
                    await self._cancel_leg(leg)

    async def _teardown(self, call: AriCall, other: str | None) -> None:
        """After a bridged call ended: hang up ``other`` and destroy the bridge."""
        if other is not None:
            leg = self.legs.pop(other, None)
            if leg is not None:
                leg.state = "done"
            if other in self.calls:
                self.calls[other].state = "leaving"
            await self._hangup(other)
        if call.bridge is not None:
            await self._quiet("DELETE", f"/bridges/{call.bridge}")

    async def _leg_answered(self, leg_id: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.state != "ringing":
            if leg is None:
                log.info("agent leg %s answered, but the adapter does not know it: hung up", leg_id)
            await self._hangup(leg_id)
            return
        call = self.calls.get(leg.call_id)
        leg.state = "answered"
        self._ringing.pop((leg.call_id, leg.agent_id), None)
        result = await self._submit(
            OfferAnswered(now=0, call_id=leg.call_id, agent_id=leg.agent_id)
        )
        if not result.accepted or call is None or call.state != "waiting":
            log.info("agent %s answered %s too late: leg hung up", leg.agent_id, leg.call_id)
            leg.state = "done"
            self.legs.pop(leg_id, None)
            await self._hangup(leg_id)
            if result.accepted:  # acdcore connected a caller who is no longer here
                await self._submit(CallEnded(now=0, call_id=leg.call_id))
            return
        call.state, call.agent, call.leg = "bridged", leg.agent_id, leg_id
        await self.media.stop(call)
        if self.calls.get(call.call_id) is not call or call.state != "bridged":
            return  # a side left while the music stopped: its StasisEnd ended the call
        bridge = self._bridge_id(call.call_id)
        try:
            await self.client.post(
                "/bridges", type="mixing", bridgeId=bridge, name=f"acd-{call.queue}"
            )
            call.bridge = bridge
            await self.client.post(
                f"/bridges/{bridge}/addChannel", channel=f"{call.call_id},{leg_id}"
            )
        except (AriError, AriUnavailable) as exc:
            await self._bridge_failed(call, leg, exc)
        else:
            log.info("caller %s bridged with agent %s", call.call_id, leg.agent_id)

    async def _bridge_failed(self, call: AriCall, leg: AgentLeg, exc: Exception) -> None:
        if self.calls.get(call.call_id) is not call or call.state != "bridged":
            return  # a side left meanwhile: its StasisEnd ended the call
        # Both still there but not together: nobody would ever hear the
        # other. End the call in acdcore and on Asterisk rather than leave it.
        self._lost(f"call {call.call_id}: could not bridge it with {leg.agent_id} ({exc}): ended")
        call.state = "leaving"
        await self._submit(CallEnded(now=0, call_id=call.call_id))
        await self._teardown(call, leg.leg_id)
        await self._hangup(call.call_id)

    async def _leg_failed(self, leg: AgentLeg, reason: str) -> None:
        leg.state = "done"
        self._ringing.pop((leg.call_id, leg.agent_id), None)
        log.info("agent %s did not take %s: %s", leg.agent_id, leg.call_id, reason)
        await self._submit(
            OfferDeclined(now=0, call_id=leg.call_id, agent_id=leg.agent_id, reason=reason)
        )

    async def _leg_ended(self, leg: AgentLeg, cause: int | None) -> None:
        self.legs.pop(leg.leg_id, None)
        if leg.state == "ringing":
            await self._leg_failed(leg, cause_reason(cause or 0))
        elif leg.state == "orphan":
            call = self.calls.get(leg.call_id)
            if call is not None and call.state == "orphan":
                call.state = "leaving"
                await self._teardown(call, call.call_id)
        elif leg.state == "answered":
            leg.state = "done"
            call = self.calls.get(leg.call_id)
            if call is not None and call.state == "bridged" and call.leg == leg.leg_id:
                log.info("agent %s hung up: call %s ended", leg.agent_id, call.call_id)
                call.state = "leaving"
                await self._submit(CallEnded(now=0, call_id=call.call_id))
                await self._teardown(call, call.call_id)
