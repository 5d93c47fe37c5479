"""Asterisk adapter: callers in a Stasis application, routed by acdcore over ARI.

Callers reach the ACD through the dialplan (``Stasis(acd,<queue>[,<priority>])``);
agents are dialled by the adapter (an ARI originate of the agent's endpoint
into the same application). This adapter is an
:class:`~acdcore.runtime.ActionSink`::

    adapter = AriAdapter("http://127.0.0.1:8088", "acd", "secret",
                         endpoints={"alice": "PJSIP/alice"})
    runtime = Runtime(distributor, adapter)
    async with runtime:
        await adapter.serve(runtime)      # until adapter.close()

What Asterisk says, and the event each becomes:

=========================================  =======================================
ARI event                                  acdcore event
=========================================  =======================================
``StasisStart`` of a dialplan channel      ``CallArrived`` (``args[0]`` the queue,
                                           ``args[1]`` the priority; the caller
                                           is answered first)
``StasisStart`` of an agent leg            ``OfferAnswered``; the caller and the
(``appArgs`` ``agent,<call>,<agent>``)     leg are put in a mixing bridge
``Dial`` on a ringing leg with             ``OfferDeclined``: BUSY ``"busy"``,
``dialstatus`` BUSY/NOANSWER/...           NOANSWER ``"no-answer"``, CONGESTION
                                           and CHANUNAVAIL ``"unreachable"``
``ChannelDestroyed`` of a ringing leg      ``OfferDeclined`` (reason from the
(no Dial outcome seen)                     hangup cause)
``StasisEnd`` of a waiting/ringing         ``CallAbandoned``
caller
``StasisEnd`` of a bridged caller or leg   ``CallEnded``; the other side is hung
                                           up and the bridge destroyed
=========================================  =======================================

And each action: ``Queued`` starts music on hold (once); ``Announce`` stops
it, plays Asterisk's own queue prompts (:func:`prompt_media`) and starts it
again on ``PlaybackFinished``; ``Offer`` originates the agent's endpoint with
``timeout`` = ring timeout + ``ring_grace`` (**acdcore owns the ring timer**;
Asterisk's is the backstop); ``CancelOffer`` hangs that one leg up;
``Reject``, ``Overflow`` to a ``destination`` and ``SelfService`` continue
the caller in the dialplan (:attr:`AriAdapter.exit_context`, extension
``reject`` / the destination / ``self-service``) with ``ACD_REASON`` set;
``PlaceCallback`` fails (the runtime makes it ``CallbackUnanswered``).

When the events socket drops, :meth:`AriAdapter.serve` reconnects (backing
off to ``reconnect_max`` seconds) and resynchronises from ``GET /channels``
and ``GET /bridges`` before reading on (:mod:`.ari_resync`). What the
adapter cannot reconcile is logged and listed in :attr:`AriAdapter.unrecovered`.
A malformed event (not a JSON object, a field missing or of the wrong type)
is logged, counted in ``counts["malformed"]`` and skipped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import websockets
from websockets.asyncio.client import ClientConnection

from .. import (
    Action,
    Announce,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CancelOffer,
    Distributor,
    Event,
    Offer,
    OfferAnswered,
    OfferDeclined,
    Overflow,
    PlaceCallback,
    Queued,
    Reject,
    SelfService,
)
from ..runtime import ActionFailed, Result, Runtime
from ..values import check_number
from . import ari_resync
from .ari_client import AriClient, AriError, AriUnavailable, Tap, decode_event

__all__ = ["AgentLeg", "AriAdapter", "AriCall", "cause_reason", "dial_reason", "prompt_media"]

log = logging.getLogger("acdcore.adapters.ari")

_DIAL_FAILURES = {
    "BUSY": "busy",
    "NOANSWER": "no-answer",
    "CONGESTION": "unreachable",
    "CHANUNAVAIL": "unreachable",
}


def dial_reason(dialstatus: str) -> str | None:
    """The ``OfferDeclined`` reason for a ``Dial`` event's ``dialstatus``
    (``None``: not a failure: ringing, progress, answer, our own cancel)."""
    return _DIAL_FAILURES.get(dialstatus.upper())


def cause_reason(cause: int) -> str:
    """The ``OfferDeclined`` reason for the Q.850 hangup ``cause`` of a leg
    that ended before answering."""
    if cause == 17:
        return "busy"
    if cause in (18, 19):
        return "no-answer"
    if cause == 21:
        return "declined"
    return "unreachable"


def prompt_media(position: int, wait: float) -> list[str]:
    """The ARI media URIs announcing ``position`` and ``wait`` with Asterisk's
    core sounds (the prompts ``app_queue`` uses)."""
    media = (
        ["sound:queue-youarenext"]
        if position <= 1
        else ["sound:queue-thereare", f"number:{position}"]
    )
    if math.isfinite(wait) and wait > 0:
        media.append("sound:queue-holdtime")
        if wait < 60:
            media += [f"number:{max(1, round(wait))}", "sound:queue-seconds"]
        else:
            minutes = round(wait / 60)
            media += [
                f"number:{minutes}",
                "sound:queue-minute" if minutes == 1 else "sound:queue-minutes",
            ]
    media.append("sound:queue-thankyou")
    return media


@attrs.define
class AriCall:
    """A caller in the Stasis application.

    ``state``: ``"waiting"`` (queued or ringing agents), ``"bridged"`` (with
    ``agent`` on leg ``leg`` in ``bridge``), ``"leaving"`` (the adapter sent
    it back to the dialplan or hung it up), ``"orphan"`` (talking in a bridge
    of this application that acdcore does not know, after a fresh start:
    followed only to hang up the other side when one leaves). ``moh``: hold music is on;
    ``playback``: the id of the announcement playing. ``media``: held while
    a media request (music, prompt) is out, so they reach Asterisk in order.
    """

    call_id: str
    queue: str
    state: str = "waiting"
    moh: bool = False
    playback: str | None = None
    agent: str | None = None
    leg: str | None = None
    bridge: str | None = None
    prompts: int = 0
    media: asyncio.Lock = attrs.field(factory=asyncio.Lock, eq=False, repr=False)


@attrs.define
class AgentLeg:
    """A channel the adapter originated to offer ``call_id`` to ``agent_id``.

    ``state``: ``"ringing"``, ``"answered"`` (bridged), ``"done"`` (declined,
    cancelled or hung up by the adapter: its later events change nothing),
    ``"orphan"`` (the other side of an orphan :class:`AriCall`).
    ``originating``: its ``POST /channels`` is still out; ``hangup``: the
    hangup reason of a cancel that came meanwhile (sent once it returns, so
    the ``DELETE`` never overtakes the originate).
    """

    leg_id: str
    call_id: str
    agent_id: str
    state: str = "ringing"
    originating: bool = False
    hangup: str | None = None


_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class AriAdapter:
    """acdcore on Asterisk over ARI (see the module docstring for the mapping).

    ``url``/``user``/``password``/``app``: Asterisk's HTTP server, an
    ``ari.conf`` user and the Stasis application. ``endpoints``: an agent's
    dial string (``"PJSIP/alice"``, ``"Local/alice@agents"``), as a mapping
    or a callable; default ``PJSIP/<agent id>``. ``default_queue``: for a
    ``Stasis()`` with no argument. ``ring_grace``: seconds Asterisk's ring
    timer runs past acdcore's. ``exit_context``: where ``Reject``,
    ``Overflow`` and ``SelfService`` continue callers. ``moh_class``: the
    music on hold class. ``reconnect_min``/``reconnect_max``: the first and
    the longest pause before reconnecting. ``tap``: sees all ARI traffic (recording, debugging).
    ``instance``: a token put in the ids of the channels and playbacks this
    adapter creates (``<call>-<agent>-<instance>-<n>``), so that they never
    repeat those of an earlier run still alive in Asterisk; default a fresh
    random one per adapter (tests pass a fixed one).
    """

    continue_attempts = 3
    """Tries of a ``continue`` that fails with 5xx or an unreachable Asterisk."""
    retry_delay = 0.2

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        app: str = "acd",
        endpoints: Mapping[str, str] | Callable[[str], str | None] | None = None,
        default_queue: str | None = None,
        ring_grace: float = 2.0,
        exit_context: str = "acd-exit",
        moh_class: str = "default",
        reconnect_min: float = 0.05,
        reconnect_max: float = 2.0,
        tap: Tap | None = None,
        instance: str | None = None,
    ) -> None:
        # Checked before anything is opened: a refused adapter leaves nothing behind.
        ring_grace = check_number(ring_grace, "ring_grace", minimum=0)
        reconnect_min = check_number(reconnect_min, "reconnect_min", positive=True)
        reconnect_max = check_number(reconnect_max, "reconnect_max", minimum=reconnect_min)
        self.client = AriClient(url, user, password, app, tap=tap)
        self.app = app
        self.instance = _SAFE.sub("_", instance) if instance else secrets.token_hex(3)
        """The token in the ids this adapter creates (see the class docstring)."""
        self._endpoints = endpoints
        self.default_queue = default_queue
        self.ring_grace = ring_grace
        self.exit_context = exit_context
        self.moh_class = moh_class
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.calls: dict[str, AriCall] = {}
        """The callers in the application, by channel id (= acdcore call id)."""
        self.legs: dict[str, AgentLeg] = {}
        """The agent legs the adapter originated and still follows, by channel id."""
        self.announcements: collections.deque[Announce] = collections.deque(maxlen=1000)
        """The latest ``Announce`` actions (each also played to its caller)."""
        self.unrecovered: collections.deque[str] = collections.deque(maxlen=1000)
        """What the adapter could not reconcile (a resync, a failed bridge or
        continue), in words: the latest 1000."""
        self.counts: collections.Counter[str] = collections.Counter()
        """Events received and actions performed, by name."""
        self.connected = asyncio.Event()
        self.asterisk_version = ""
        self._ringing: dict[tuple[str, str], str] = {}
        self._attempts: dict[str, collections.Counter[str]] = {}  # call -> agent -> offers
        self._runtime: Runtime | None = None
        self._ws: ClientConnection | None = None
        self._closing = False

    # ------------------------------------------------------------ lifecycle

    async def serve(self, runtime: Runtime) -> None:
        """Connect to Asterisk and turn its events into acdcore events, for
        ever: reconnect and resynchronise whenever the socket drops. Returns
        after :meth:`close`."""
        self._runtime = runtime
        delay = self.reconnect_min
        try:
            while not self._closing:
                try:
                    async with websockets.connect(
                        self.client.events_url(), open_timeout=5, max_size=None
                    ) as ws:
                        self._ws = ws
                        self.client.tap_connection("connect")
                        delay = self.reconnect_min
                        await self._on_connect()
                        self.connected.set()
                        async for raw in ws:
                            event = decode_event(raw)
                            if event is None:
                                self._malformed(raw[:200], "not a JSON object")
                                continue
                            self.client.tap_event(event)
                            await self.on_event(event)
                except (OSError, AriUnavailable, AriError, websockets.WebSocketException) as exc:
                    if not self._closing:
                        log.warning("ARI connection lost or refused: %s", exc)
                finally:
                    if self._ws is not None:
                        self.client.tap_connection("disconnect")
                    self._ws = None
                    self.connected.clear()
                if not self._closing:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.reconnect_max)
        finally:
            await self.client.aclose()

    async def close(self) -> None:
        """Stop :meth:`serve` (it returns once the socket is closed). Callers
        still in the application stay there for the next adapter to adopt."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()

    def drop_connection(self) -> None:
        """Abort the events socket as if the network had dropped it
        (:meth:`serve` reconnects and resynchronises); for tests and drills."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def release_callers(self, reason: str = "shutdown") -> None:
        """Send every waiting caller back to the dialplan (extension
        ``unavailable`` of :attr:`exit_context`, ``ACD_REASON`` = ``reason``)
        and tell acdcore they left (``CallAbandoned``): for a shutdown that no
        restart will follow. Connected calls go on talking."""
        await ari_resync.release_callers(self, reason)

    async def _on_connect(self) -> None:
        info = await self.client.get("/asterisk/info")
        version = str(((info or {}).get("system") or {}).get("version", ""))
        if version != self.asterisk_version:
            log.info("connected to Asterisk %s, application %r", version, self.app)
        self.asterisk_version = version
        await self.resync()

    async def resync(self) -> None:
        """Reconcile with the channels and bridges Asterisk has now (after a
        reconnect, or at start with a restored distributor): see
        :func:`.ari_resync.resync`."""
        try:
            await ari_resync.resync(self)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._malformed("GET /channels or /bridges", exc)
            self._lost(f"resync: Asterisk's answer was malformed ({exc!r}); not reconciled")

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

    def endpoint(self, agent_id: str) -> str | None:
        """The dial string for ``agent_id`` (``None``: it has none)."""
        e = self._endpoints
        if e is None:
            return f"PJSIP/{agent_id}"
        if callable(e):
            return e(agent_id)
        return e.get(agent_id)

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
                await self._leg_ended(self.legs[cid], _cause(event.get("cause")))
            elif cid in self.calls:
                await self._caller_left(self.calls[cid])
        elif kind == "Dial":
            leg = self.legs.get(str((event.get("peer") or {}).get("id", "")))
            reason = dial_reason(str(event.get("dialstatus") or ""))
            if leg is not None and leg.state == "ringing" and reason is not None:
                await self._leg_failed(leg, reason)
        elif kind == "PlaybackFinished":
            await self._playback_finished(str((event.get("playback") or {}).get("id", "")))

    async def _caller_entered(self, channel: Mapping[str, Any], args: list[str]) -> None:
        cid = str(channel["id"])
        if cid in self.calls:
            return
        queue = args[0] if args and args[0] else self.default_queue
        if queue is None:
            log.warning("caller %s entered %s without a queue", cid, self.app)
            await self._continue(cid, "reject", "no-queue")
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
            await self._continue(cid, "reject", type(result.error).__name__)

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
        await self._stop_media(call)
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

    async def _playback_finished(self, playback_id: str) -> None:
        call = next((c for c in self.calls.values() if c.playback == playback_id), None)
        if call is None:
            return  # a duplicate (bridge playbacks come twice), or its caller left
        call.playback = None
        if call.state == "waiting":
            await self._moh(call)

    # ------------------------------------------------------------ acdcore -> Asterisk

    async def perform(self, action: Action) -> None:
        """Perform one of acdcore's actions on Asterisk (the runtime calls this)."""
        self.counts[f"action:{type(action).__name__}"] += 1
        log.info("action %s", action)
        if isinstance(action, Offer):
            await self._offer(action)
        elif isinstance(action, CancelOffer):
            leg_id = self._ringing.pop((action.call_id, action.agent_id), None)
            leg = self.legs.get(leg_id) if leg_id is not None else None
            if leg is not None and leg.state == "ringing":
                await self._cancel_leg(
                    leg, "no_answer" if action.reason == "ring-timeout" else "normal"
                )
        elif isinstance(action, Queued):
            call = self.calls.get(action.call_id)
            if call is not None:
                await self._moh(call)
        elif isinstance(action, Announce):
            self.announcements.append(action)
            log.info(
                "announce to %s: position %d, %s", action.call_id, action.position, action.phrase
            )
            await self._announce(action)
        elif isinstance(action, Reject):
            await self._continue(action.call_id, "reject", action.reason)
        elif isinstance(action, Overflow):
            if action.destination is not None:
                await self._continue(action.call_id, action.destination, action.reason)
        elif isinstance(action, SelfService):
            await self._continue(action.call_id, "self-service", action.reason)
        elif isinstance(action, PlaceCallback):
            raise ActionFailed("the ARI adapter does not place callbacks")

    async def _offer(self, offer: Offer) -> None:
        call = self.calls.get(offer.call_id)
        if call is None or call.state != "waiting":
            raise ActionFailed(f"no waiting caller {offer.call_id!r} in {self.app}")
        endpoint = self.endpoint(offer.agent_id)
        if not endpoint:
            raise ActionFailed(f"agent {offer.agent_id!r} has no endpoint")
        key = (offer.call_id, offer.agent_id)
        attempts = self._attempts.setdefault(offer.call_id, collections.Counter())
        attempts[offer.agent_id] += 1
        agent = _SAFE.sub("_", offer.agent_id)
        leg_id = f"{offer.call_id}-{agent}-{self.instance}-{attempts[offer.agent_id]}"
        leg = self.legs[leg_id] = AgentLeg(leg_id, offer.call_id, offer.agent_id, originating=True)
        self._ringing[key] = leg_id
        params: dict[str, str | int] = {
            "endpoint": endpoint,
            "app": self.app,
            "appArgs": f"agent,{offer.call_id},{offer.agent_id}",
            "timeout": math.ceil(offer.ring_timeout + self.ring_grace),
            "channelId": leg_id,
        }
        if endpoint.startswith("Local/"):
            params["otherChannelId"] = f"{leg_id}-2"
        caller = str(offer.attributes.get("caller") or "")
        if caller:
            params["callerId"] = caller
        failure: AriError | AriUnavailable | None = None
        try:
            await self.client.request("POST", "/channels", params)
        except (AriError, AriUnavailable) as exc:
            failure = exc
        leg.originating = False
        if leg.hangup is not None and not isinstance(failure, AriError):
            # Cancelled (ring timeout, caller gone) while the originate was
            # out: hung up only now, so the DELETE cannot reach Asterisk first.
            log.info("leg %s was cancelled while it was originated: hung up", leg_id)
            await self._hangup(leg_id, leg.hangup)
        if failure is not None and leg.state == "ringing":  # no event has settled it meanwhile
            self._drop_leg(leg)
            raise ActionFailed(f"originate {endpoint} for {offer.call_id}: {failure}") from failure

    async def _moh(self, call: AriCall) -> None:
        """Start the music for a waiting caller (not during a prompt)."""
        async with call.media:
            if call.moh or call.playback is not None or not self._waiting(call):
                return
            if not await self._quiet(
                "POST", f"/channels/{call.call_id}/moh", mohClass=self.moh_class
            ):
                return
            call.moh = True
            if not self._waiting(call):  # bridged or sent on while the music started
                call.moh = False
                await self._quiet("DELETE", f"/channels/{call.call_id}/moh")

    def _waiting(self, call: AriCall) -> bool:
        return call.state == "waiting" and self.calls.get(call.call_id) is call

    async def _stop_media(self, call: AriCall) -> None:
        async with call.media:
            playback, call.playback = call.playback, None
            if playback is not None:
                await self._quiet("DELETE", f"/playbacks/{playback}")
            if call.moh:
                call.moh = False
                await self._quiet("DELETE", f"/channels/{call.call_id}/moh")

    async def _announce(self, action: Announce) -> None:
        call = self.calls.get(action.call_id)
        if call is None:
            return
        async with call.media:
            if call.playback is not None or not self._waiting(call):
                return
            if call.moh:
                call.moh = False
                await self._quiet("DELETE", f"/channels/{call.call_id}/moh")
                if not self._waiting(call):
                    return  # bridged or sent on meanwhile: no prompt
            call.prompts += 1
            playback = call.playback = f"{call.call_id}-{self.instance}-p{call.prompts}"
            media = ",".join(prompt_media(action.position, action.wait))
            played = await self._quiet(
                "POST", f"/channels/{call.call_id}/play/{playback}", media=media
            )
            if played and not self._waiting(call) and call.playback == playback:
                call.playback = None  # bridged or sent on while it started: stop it
                await self._quiet("DELETE", f"/playbacks/{playback}")
            elif not played and call.playback == playback:
                call.playback = None
        if not played:
            await self._moh(call)

    async def _continue(self, call_id: str, destination: str, reason: str) -> None:
        """Send a caller back to the dialplan: ``destination`` is an extension
        of :attr:`exit_context`, or ``context,extension[,priority]``. If
        Asterisk cannot do it (:attr:`continue_attempts` tries,
        :attr:`retry_delay` apart, growing), the caller is hung up rather
        than left in the application, and listed in :attr:`unrecovered`."""
        call = self.calls.get(call_id)
        if call is not None:
            call.state = "leaving"
            await self._stop_media(call)
        parts = destination.split(",")
        context, exten = (parts[0], parts[1]) if len(parts) > 1 else (self.exit_context, parts[0])
        priority = parts[2] if len(parts) > 2 else "1"
        log.info("caller %s continues at %s,%s,%s (%s)", call_id, context, exten, priority, reason)
        await self._quiet(
            "POST", f"/channels/{call_id}/variable", variable="ACD_REASON", value=reason
        )
        try:
            await self.client.retry(
                "POST",
                f"/channels/{call_id}/continue",
                {"context": context, "extension": exten, "priority": priority},
                attempts=self.continue_attempts,
                delay=self.retry_delay,
            )
            return
        except AriError as exc:
            if exc.status in (404, 409):  # gone, or out of the application already
                log.debug("%s", exc)
                return
            error: Exception = exc
        except AriUnavailable as exc:
            error = exc
        self._lost(f"caller {call_id}: could not continue at {context},{exten} ({error}): hung up")
        await self._hangup(call_id)


def _cause(value: object) -> int:
    """A hangup cause from an event (0, unknown, when absent or not a number)."""
    if isinstance(value, int | str):
        with contextlib.suppress(ValueError):
            return int(value)
    if value is not None:
        log.warning("hangup cause %.50r is not a number: taken as unknown", value)
    return 0
