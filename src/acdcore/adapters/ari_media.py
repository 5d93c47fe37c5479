"""What a waiting caller of the ARI adapter hears: music on hold and the
queue prompts of ``Announce``.

:class:`AriMedia` is owned by the :class:`~acdcore.adapters.ari.AriAdapter`
(``adapter.media``). Each caller's media requests are serialised on its
``AriCall.media`` lock so that they reach Asterisk in order, and what the
caller became meanwhile (bridged, sent on) is checked again after every
request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import Announce
from .ari_calls import AriCall, prompt_media

if TYPE_CHECKING:
    from .ari import AriAdapter

__all__ = ["AriMedia"]


class AriMedia:
    """Hold music and prompts for the callers of ``adapter``."""

    def __init__(self, adapter: AriAdapter) -> None:
        self.adapter = adapter

    def waiting(self, call: AriCall) -> bool:
        """``call`` still waits, and is still the adapter's record of its caller."""
        return call.state == "waiting" and self.adapter.calls.get(call.call_id) is call

    async def moh(self, call: AriCall) -> None:
        """Start the music for a waiting caller (not during a prompt)."""
        quiet = self.adapter._quiet
        async with call.media:
            if call.moh or call.playback is not None or not self.waiting(call):
                return
            if not await quiet(
                "POST", f"/channels/{call.call_id}/moh", mohClass=self.adapter.moh_class
            ):
                return
            call.moh = True
            if not self.waiting(call):  # bridged or sent on while the music started
                call.moh = False
                await quiet("DELETE", f"/channels/{call.call_id}/moh")

    async def stop(self, call: AriCall) -> None:
        """Stop the prompt playing and the music, if any."""
        quiet = self.adapter._quiet
        async with call.media:
            playback, call.playback = call.playback, None
            if playback is not None:
                await quiet("DELETE", f"/playbacks/{playback}")
            if call.moh:
                call.moh = False
                await quiet("DELETE", f"/channels/{call.call_id}/moh")

    async def announce(self, action: Announce) -> None:
        """Play the position and wait of ``action`` to its caller, instead of
        the music (which :meth:`playback_finished` starts again)."""
        call = self.adapter.calls.get(action.call_id)
        if call is None:
            return
        quiet = self.adapter._quiet
        async with call.media:
            if call.playback is not None or not self.waiting(call):
                return
            if call.moh:
                call.moh = False
                await quiet("DELETE", f"/channels/{call.call_id}/moh")
                if not self.waiting(call):
                    return  # bridged or sent on meanwhile: no prompt
            call.prompts += 1
            playback = call.playback = f"{call.call_id}-{self.adapter.instance}-p{call.prompts}"
            media = ",".join(prompt_media(action.position, action.wait))
            played = await quiet("POST", f"/channels/{call.call_id}/play/{playback}", media=media)
            if played and not self.waiting(call) and call.playback == playback:
                call.playback = None  # bridged or sent on while it started: stop it
                await quiet("DELETE", f"/playbacks/{playback}")
            elif not played and call.playback == playback:
                call.playback = None
        if not played:
            await self.moh(call)

    async def playback_finished(self, playback_id: str) -> None:
        """A prompt ended: the music again, if its caller still waits."""
        call = next((c for c in self.adapter.calls.values() if c.playback == playback_id), None)
        if call is None:
            return  # a duplicate (bridge playbacks come twice), or its caller left
        call.playback = None
        if call.state == "waiting":
            await self.moh(call)
