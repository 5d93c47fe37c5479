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

The adapter is in parts: :mod:`.ari_calls` (the records and the reasons),
:mod:`.ari_events` (Asterisk's events, the base class of
:class:`AriAdapter`), :mod:`.ari_actions` and :mod:`.ari_media` (acdcore's
actions and the callers' media, helper objects the adapter owns),
:mod:`.ari_resync` and :mod:`.ari_client`. This module has the adapter's
public face: its settings, its life (connect, reconnect, close) and
:meth:`AriAdapter.perform`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
from collections.abc import Callable, Mapping

import websockets
from websockets.asyncio.client import ClientConnection

from .. import Action, Announce
from ..runtime import Runtime
from ..values import check_number
from . import ari_resync
from .ari_actions import AriActions
from .ari_calls import AgentLeg, AriCall, cause_reason, dial_reason, prompt_media, safe_token
from .ari_client import AriClient, AriError, AriUnavailable, Tap, decode_event
from .ari_events import AriEvents
from .ari_media import AriMedia

__all__ = ["AgentLeg", "AriAdapter", "AriCall", "cause_reason", "dial_reason", "prompt_media"]

log = logging.getLogger("acdcore.adapters.ari")


class AriAdapter(AriEvents):
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
        self.instance = safe_token(instance) if instance else secrets.token_hex(3)
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
        self.media = AriMedia(self)
        """Hold music and prompts for the waiting callers."""
        self.actions = AriActions(self)
        """Performs acdcore's actions (see :meth:`perform`)."""

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

    def endpoint(self, agent_id: str) -> str | None:
        """The dial string for ``agent_id`` (``None``: it has none)."""
        e = self._endpoints
        if e is None:
            return f"PJSIP/{agent_id}"
        if callable(e):
            return e(agent_id)
        return e.get(agent_id)

    # ------------------------------------------------------------ acdcore -> Asterisk

    async def perform(self, action: Action) -> None:
        """Perform one of acdcore's actions on Asterisk (the runtime calls this;
        see :class:`.ari_actions.AriActions`)."""
        await self.actions.perform(action)
