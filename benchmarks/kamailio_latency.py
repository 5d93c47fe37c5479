"""Kamailio end to end: from a caller's INVITE to the agent's INVITE.

Run from the repository root (needs kamailio, kamailio-extra-modules and
sip-tester installed)::

    PYTHONPATH=src python benchmarks/kamailio_latency.py
    PYTHONPATH=src python benchmarks/kamailio_latency.py --calls 1000 --rate 20 --agents 40

It starts the shipped kamailio.cfg, a runtime with the Kamailio adapter
(python backend unless ``--backend native``), one SIPp phone answering for
``--agents`` registered agents and one SIPp caller placing ``--calls``
calls at ``--rate`` per second, each talking ``--talk`` ms. Enough agents
are staffed that a call never waits for one; the latency of a call is the
agent phone's receive time of the INVITE minus the caller's send time of
its INVITE, both from SIPp's message logs (same machine, same clock), so it
covers Kamailio's hold, evapi both ways, the runtime, the distributor and
the relay to the phone. Calls that did wait for an agent (acdcore's
``Offer.waited > 0``) are left out and counted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sipnet import Kamailio, Sipp

from acdcore import AgentProfile, Distributor, Offer, QueueConfig
from acdcore.adapters.kamailio import KamailioAdapter
from acdcore.runtime import Runtime


async def measure(args: argparse.Namespace, workdir: Path, kam: Kamailio) -> None:
    acd = Distributor([QueueConfig("support")], backend=args.backend)
    offers: list[Offer] = []
    adapter = KamailioAdapter(
        port=kam.evapi_port,
        rpc_port=kam.rpc_port,
        profiles=lambda a: AgentProfile(a, queues=["support"]),
    )
    runtime = Runtime(
        acd, adapter, observe=lambda e, acts: offers.extend(a for a in acts if isinstance(a, Offer))
    )
    async with runtime:
        serve = asyncio.get_running_loop().create_task(adapter.serve(runtime))
        while not adapter.connected.is_set():
            await asyncio.sleep(0.01)
        names = [f"agent{i:03d}" for i in range(args.agents)]
        phone = Sipp(workdir, "agent_answer", kam.sip_port)
        reg = Sipp(
            workdir,
            "register",
            kam.sip_port,
            rows=[[n, "600"] for n in names],
            calls=len(names),
            port=phone.port,
        )
        await reg.start()
        await reg.wait()
        while len(adapter.contacts) < len(names):
            await asyncio.sleep(0.01)
        await phone.start()
        callers = Sipp(
            workdir,
            "caller",
            kam.sip_port,
            rows=[["0"]] * args.calls,
            calls=args.calls,
            rate=args.rate,
            pause_ms=args.talk,
        )
        await callers.start()
        rc = await callers.wait(timeout=args.calls / args.rate + 120)
        await phone.stop()
        await adapter.close()
        serve.cancel()
    sent = {
        m.split("|")[1]: t
        for t, d, m in callers.messages()
        if d == "sent" and m.startswith("INVITE")
    }
    rang = {
        m.split("|")[1]: t
        for t, d, m in phone.messages()
        if d == "received" and m.startswith("INVITE")
    }
    waited = {o.call_id for o in offers if o.waited > 0}
    lat = sorted((rang[c] - sent[c]) * 1000 for c in rang if c in sent and c not in waited)
    counts = acd.counts()
    print(f"backend {acd.backend}, SIPp caller exit {rc}, acdcore {counts}")
    print(f"calls measured {len(lat)} (left out: {len(waited)} waited for an agent)")
    if lat:
        q = statistics.quantiles(lat, n=100, method="inclusive")
        print(
            f"INVITE to agent INVITE: p50 {q[49]:.2f} ms, p90 {q[89]:.2f} ms, "
            f"p99 {q[98]:.2f} ms, max {lat[-1]:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--talk", type=int, default=300, help="talk time, ms")
    parser.add_argument("--backend", default="python", choices=["python", "native"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        kam = Kamailio(workdir).start()
        try:
            asyncio.run(measure(args, workdir, kam))
        finally:
            kam.stop()


if __name__ == "__main__":
    main()
