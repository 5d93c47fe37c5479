"""Resynchronising the Kamailio adapter with the switch after a reconnect
or a restart, and the JSON-RPC client it reads the switch with.

While the evapi connection was down the adapter heard nothing: callers may
have hung up, phones answered or rung out, new callers been held. A
restarted adapter (with a distributor restored from its store) knows none
of the calls acdcore still has. :func:`resync` reads the switch's table of
the calls it holds and the registered contacts (:func:`rpc`
``htable.dump`` and ``ul.dump``), compares them with the distributor's
live calls (:func:`reconcile`) and submits what was missed: a call gone
from the switch is abandoned (or ended, if connected), an answer or a
failed ring it did not hear is applied, a held caller acdcore finished is
given its final answer, a held caller the distributor never saw arrives
now. What cannot be reconciled is listed in ``adapter.unrecovered``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from .. import CallAbandoned, CallEnded, Event, OfferAnswered, OfferDeclined
from .kamailio_commands import SipCall

if TYPE_CHECKING:
    from .kamailio import KamailioAdapter

__all__ = ["reconcile", "resync", "rpc", "switch_calls", "sync_contacts"]

log = logging.getLogger("acdcore.adapters.kamailio")


async def rpc(host: str, port: int, method: str, params: list[Any] | None = None) -> Any:
    """Call Kamailio's JSON-RPC ``method`` over HTTP (its xhttp module, path
    ``/RPC``) and return the ``result``; raises ``ConnectionError`` when
    Kamailio does not answer or answers with an error."""
    body = json.dumps(
        {"jsonrpc": "2.0", "method": method, "params": params or [], "id": 1}
    ).encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            b"POST /RPC HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (host.encode(), len(body), body)
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if not status.startswith(b"HTTP/1.") or status.split(b" ")[1:2] != [b"200"]:
            raise ConnectionError(f"Kamailio RPC {method}: {status!r}")
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
        if m is None:
            raise ConnectionError(f"Kamailio RPC {method}: no Content-Length")
        payload = await reader.readexactly(int(m.group(1)))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise ConnectionError(f"Kamailio RPC {method}: {exc}") from exc
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    answer = json.loads(payload)
    if "error" in answer:
        raise ConnectionError(f"Kamailio RPC {method}: {answer['error']}")
    return answer.get("result")


async def resync(adapter: KamailioAdapter) -> None:
    """Reconcile ``adapter`` with what Kamailio holds now (after a
    reconnect, or at start with a restored distributor); see the module
    docstring."""
    if adapter.rpc_port is None:
        if adapter.calls:
            adapter._lost("no JSON-RPC port: calls held before the reconnect are not checked")
        return
    table = await switch_calls(adapter)
    await sync_contacts(adapter)
    acd = adapter._distributor()
    for cid in acd.live_calls():
        view = acd.call(cid)
        if view.callback or view.channel.value != "voice":
            continue
        rec = table.pop(cid, None)
        await reconcile(adapter, cid, view.state.value, view.offered_to, view.agent, rec)
    live = set(acd.live_calls())
    for cid in [c for c in adapter.calls if c not in live]:
        call = adapter.calls.pop(cid)
        rec = table.pop(cid, None)
        if rec is None or rec.get("state") != "held":
            continue
        call.tindex, call.tlabel, call.held = int(rec["tindex"]), int(rec["tlabel"]), True
        if call.final is None:  # acdcore is done with it, and said nothing the switch heard
            call.final = {"cmd": "reply", "code": 480, "reason": "ACD Finished"}
        adapter.calls[cid] = call  # commands.flush_all sends its final answer
    for cid, rec in table.items():  # held by the switch, never seen by acdcore
        if rec.get("state") == "held":
            adapter.calls[cid] = SipCall(cid, int(rec["tindex"]), int(rec["tlabel"]))
            result = await adapter._submit(adapter._arrival({**rec, "callid": cid}))
            if not result.accepted:
                del adapter.calls[cid]
                adapter.commands.send(
                    {"cmd": "reply", "code": 503, "reason": "ACD Refused"},
                    {**rec, "callid": cid},
                )
        else:
            adapter._lost(f"call {cid}: the switch has it {rec.get('state')}, acdcore never saw it")


async def reconcile(
    adapter: KamailioAdapter,
    cid: str,
    state: str,
    offered: tuple[str, ...],
    agent: str | None,
    rec: dict[str, Any] | None,
) -> None:
    """Bring one live call of acdcore's (``state``, offered to ``offered``,
    connected to ``agent``) in line with the switch's record ``rec`` of it
    (``None``: the switch no longer has it)."""
    call = adapter.calls.get(cid)
    if rec is None:  # the switch no longer has it: it ended while we were away
        adapter.calls.pop(cid, None)
        event: Event = (
            CallEnded(now=0, call_id=cid)
            if state == "connected"
            else CallAbandoned(now=0, call_id=cid)
        )
        log.info("resync: call %s is gone from the switch: %s", cid, type(event).__name__)
        await adapter._submit(event)
        return
    if call is None:
        call = adapter.calls[cid] = SipCall(cid, int(rec["tindex"]), int(rec["tlabel"]))
    call.tindex, call.tlabel = int(rec["tindex"]), int(rec["tlabel"])
    where = rec.get("state")
    if where == "talking":
        call.held, call.ringing, call.pending = False, {}, []
        if state == "connected":
            call.agent = agent
            return
        uri = str(rec.get("uri", ""))
        who = next((a for a, c in adapter.contacts.items() if c == uri), None)
        if state == "ringing" and who in offered:
            call.agent = who
            await adapter._submit(OfferAnswered(now=0, call_id=cid, agent_id=who))
        else:
            adapter._lost(f"call {cid}: the switch connected it to {uri}, acdcore has it {state}")
            await adapter._submit(CallAbandoned(now=0, call_id=cid))
            adapter.calls.pop(cid, None)
    elif where == "held":
        call.held = True
        if state == "ringing" and not call.ringing and not call.pending:
            for who in offered:  # the offer never reached a phone, or its end was missed
                await adapter._submit(
                    OfferDeclined(now=0, call_id=cid, agent_id=who, reason="unreachable")
                )
        elif call.ringing:
            for who in list(call.ringing.values()):
                await adapter._submit(
                    OfferDeclined(now=0, call_id=cid, agent_id=who, reason="no-answer")
                )
            call.ringing = {}
    elif where == "ringing":
        call.held = False
        if not call.ringing:
            call.ringing = {adapter.contacts[a]: a for a in offered if a in adapter.contacts}


async def switch_calls(adapter: KamailioAdapter) -> dict[str, dict[str, Any]]:
    """The switch's table of the calls it holds, by Call-ID (an unreadable
    record is logged and left out)."""
    assert adapter.rpc_port is not None
    dump = await rpc(adapter.rpc_host, adapter.rpc_port, "htable.dump", ["acd"])
    table: dict[str, dict[str, Any]] = {}
    for entry in dump or []:
        for slot in entry.get("slot", []):
            try:
                table[str(slot["name"])] = json.loads(slot["value"])
            except (KeyError, TypeError, ValueError):
                log.warning("unreadable switch record %r", slot)
    return table


async def sync_contacts(adapter: KamailioAdapter) -> None:
    """Take the registered contacts from the switch, as if each change had
    been heard as a ``register`` event."""
    assert adapter.rpc_port is not None
    dump = await rpc(adapter.rpc_host, adapter.rpc_port, "ul.dump")
    contacts: dict[str, str] = {}
    for domain in (dump or {}).get("Domains", []):
        for aor in domain.get("Domain", {}).get("AoRs", []):
            info = aor.get("Info", {})
            for c in info.get("Contacts", []):
                contacts[str(info.get("AoR"))] = str(c.get("Contact", {}).get("Address"))
    for agent in set(adapter.contacts) - set(contacts):
        await adapter._on_register({"agent": agent, "contact": "*"})
    for agent, uri in contacts.items():
        if adapter.contacts.get(agent) != uri:
            await adapter._on_register({"agent": agent, "contact": f"<{uri}>", "expires": "60"})
