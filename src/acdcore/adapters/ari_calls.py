"""The ARI adapter's vocabulary and records: what Asterisk's outcomes mean to
acdcore, the prompts it plays, and what the adapter knows of each caller and
agent leg.

Pure data and pure functions, shared by :mod:`.ari` (the adapter),
:mod:`.ari_events`, :mod:`.ari_actions`, :mod:`.ari_media` and
:mod:`.ari_resync`; the public names are re-exported by :mod:`.ari`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re

import attrs

__all__ = [
    "AgentLeg",
    "AriCall",
    "cause_reason",
    "dial_reason",
    "hangup_cause",
    "prompt_media",
    "safe_token",
]

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


def safe_token(text: str) -> str:
    """``text`` fit for a channel or playback id (anything but letters,
    digits, ``_``, ``.`` and ``-`` becomes ``_``)."""
    return _SAFE.sub("_", text)


def hangup_cause(value: object) -> int:
    """A hangup cause from an event (0, unknown, when absent or not a number)."""
    if isinstance(value, int | str):
        with contextlib.suppress(ValueError):
            return int(value)
    if value is not None:
        log.warning("hangup cause %.50r is not a number: taken as unknown", value)
    return 0
