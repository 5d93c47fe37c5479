"""Resynchronising the ARI adapter with Asterisk after a reconnect or a restart.

While the events socket was down the adapter saw nothing: callers may have
hung up, agent legs rung out or been answered, and a restarted adapter (with
a distributor restored from its store) knows none of the calls acdcore still
has. :func:`resync` reads ``GET /channels`` and ``GET /bridges`` and
reconciles, in this order:

1. the callers the adapter follows: gone meanwhile, ``CallAbandoned`` (or
   ``CallEnded`` if bridged; the other side is hung up). First, so that
   acdcore never re-offers a caller who already left when one of its legs is
   found gone next;
2. the agent legs: a ringing leg whose caller is gone is dropped (hung up if
   it still exists), not declined; a ringing leg gone is declined
   ``"unreachable"`` (the real reason went with the events); a ringing leg
   now ``Up`` was answered meanwhile and is bridged now;
3. calls acdcore has live that the adapter does not follow (a restart):
   still in the application, followed again (:func:`adopt`); gone, abandoned
   or ended;
4. bridges of the application acdcore does not know (a fresh restart while
   people talk): followed until one side leaves (:func:`follow_orphan`);
5. channels in the application nobody follows: a caller is queued, an agent
   leg hung up.

What cannot be reconciled is listed in ``adapter.unrecovered``. A channel
or bridge in Asterisk's answer that is not an object with an ``id`` is
skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import CallAbandoned, CallEnded, CallState, Event, OfferDeclined, UnknownCall
from .ari_calls import AgentLeg, AriCall

if TYPE_CHECKING:
    from .ari import AriAdapter

__all__ = ["adopt", "follow_orphan", "release_callers", "resync"]

log = logging.getLogger("acdcore.adapters.ari")


def _by_id(items: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(x["id"]): x for x in items if isinstance(x, Mapping) and x.get("id")}


async def resync(adapter: AriAdapter) -> None:
    """Reconcile ``adapter`` with the channels and bridges Asterisk has now
    (see the module docstring)."""
    channels = _by_id(await adapter.client.get("/channels"))
    bridges = {
        bid: [str(m) for m in b.get("channels") or []]
        for bid, b in _by_id(await adapter.client.get("/bridges")).items()
        if bid.startswith(f"{adapter.app}-")
    }
    acd = adapter._distributor()
    live = set(acd.live_calls())
    for call in list(adapter.calls.values()):  # callers first: see the module docstring
        if call.call_id not in channels:
            log.info("resync: caller %s is gone", call.call_id)
            await adapter._caller_left(call)
        elif call.call_id not in live and call.state not in ("leaving", "orphan"):
            adapter._lost(f"call {call.call_id}: acdcore ended it, the caller was still there")
            await adapter.actions.continue_call(call.call_id, "reject", "lost")
    for leg in list(adapter.legs.values()):
        if adapter.legs.get(leg.leg_id) is not leg or leg.originating:
            continue  # settled by the callers' reconciliation, or not created yet
        if leg.state == "ringing" and leg.call_id not in adapter.calls:
            log.info("resync: agent leg %s rang for a caller who left", leg.leg_id)
            if leg.leg_id in channels:
                await adapter._cancel_leg(leg)
            else:
                adapter._drop_leg(leg)
        elif leg.leg_id not in channels:
            log.info("resync: agent leg %s is gone", leg.leg_id)
            await adapter._leg_ended(leg, 0)
        elif leg.state == "ringing" and channels[leg.leg_id].get("state") == "Up":
            await adapter._leg_answered(leg.leg_id)  # answered while we were away
    for cid in acd.live_calls():
        if cid not in adapter.calls:
            await adopt(adapter, cid, channels.get(cid), bridges.get(adapter._bridge_id(cid)))
    for bid, members in bridges.items():  # talks acdcore does not know (a fresh start)
        cid = bid[len(adapter.app) + 1 :]
        if cid not in adapter.calls:
            await follow_orphan(adapter, cid, bid, members, cid in channels)
    for cid, ch in channels.items():
        dialplan = ch.get("dialplan") or {}
        args = str(dialplan.get("app_data", "")).split(",")
        mine = dialplan.get("app_name") == "Stasis" and args[0] == adapter.app
        if not mine or cid in adapter.calls or cid in adapter.legs or cid in live:
            continue
        if len(args) > 1 and args[1] == "agent":
            log.info("resync: hanging up agent leg %s nobody follows", cid)
            await adapter._hangup(cid)
        else:
            log.info("resync: caller %s entered while we were away", cid)
            await adapter._caller_entered(ch, args[1:])


async def adopt(
    adapter: AriAdapter, cid: str, channel: Mapping[str, Any] | None, members: list[str] | None
) -> None:
    """Follow again a live call of acdcore's the adapter does not know
    (the adapter restarted with a restored distributor)."""
    acd = adapter._distributor()
    try:
        view = acd.call(cid)
    except UnknownCall:
        return
    if view.callback or view.channel.value != "voice":
        return
    connected = view.state is CallState.CONNECTED
    bridge = adapter._bridge_id(cid)
    if channel is None:
        event: Event = (
            CallEnded(now=0, call_id=cid) if connected else CallAbandoned(now=0, call_id=cid)
        )
        log.info("resync: call %s is gone from Asterisk: %s", cid, type(event).__name__)
        await adapter._submit(event)
        if members is not None:
            await follow_orphan(adapter, cid, bridge, members, False)
        return
    if connected:
        others = [m for m in members or [] if m != cid]
        if members is None or view.agent is None:
            adapter._lost(f"call {cid}: connected to {view.agent}, but not in its bridge")
        elif others:
            log.info("resync: call %s with %s followed again", cid, view.agent)
            adapter.calls[cid] = AriCall(
                cid, view.queue, "bridged", agent=view.agent, leg=others[0], bridge=bridge
            )
            adapter.legs[others[0]] = AgentLeg(others[0], cid, view.agent, "answered")
        else:  # the agent left while we were away
            call = AriCall(cid, view.queue, "leaving", bridge=bridge)
            await adapter._submit(CallEnded(now=0, call_id=cid))
            await adapter._teardown(call, cid)
        return
    call = adapter.calls[cid] = AriCall(cid, view.queue)
    for agent in view.offered_to:  # their legs are unknown: count them unreachable
        await adapter._submit(
            OfferDeclined(now=0, call_id=cid, agent_id=agent, reason="unreachable")
        )
    await adapter.media.moh(call)


async def follow_orphan(
    adapter: AriAdapter, cid: str, bid: str, members: list[str], present: bool
) -> None:
    """A bridge of this application acdcore knows nothing of: follow it
    without acdcore so that when one side hangs up, the other is hung up
    too (nobody stays alone in a bridge)."""
    others = [m for m in members if m != cid]
    if present and others:
        adapter._lost(f"call {cid}: talking in {bid}, unknown to acdcore; followed until it ends")
        adapter.calls[cid] = AriCall(cid, "", "orphan", leg=others[0], bridge=bid)
        adapter.legs[others[0]] = AgentLeg(others[0], cid, "", "orphan")
        return
    call = AriCall(cid, "", "leaving", bridge=bid)
    for other in others:
        await adapter._teardown(call, other)
    if present:
        await adapter._teardown(call, cid)
    elif not others:
        await adapter._quiet("DELETE", f"/bridges/{bid}")


async def release_callers(adapter: AriAdapter, reason: str) -> None:
    """Send every waiting caller back to the dialplan and abandon it in
    acdcore (see :meth:`.AriAdapter.release_callers`)."""
    for call in [c for c in adapter.calls.values() if c.state == "waiting"]:
        for leg in [g for g in adapter.legs.values() if g.call_id == call.call_id]:
            if leg.state == "ringing":
                await adapter._cancel_leg(leg)
        await adapter.actions.continue_call(call.call_id, "unavailable", reason)
        await adapter._submit(CallAbandoned(now=0, call_id=call.call_id))
