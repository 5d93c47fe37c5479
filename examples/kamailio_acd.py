"""acdcore as the ACD behind a Kamailio SIP proxy.

Start Kamailio with the configuration acdcore ships, then this script::

    kamailio -DD -E -f "$(python examples/kamailio_acd.py --config-path)"
    python examples/kamailio_acd.py --data-dir /var/lib/acdcore

Phones that REGISTER to Kamailio log in as agents of the ``support`` and
``sales`` queues (their user part is the agent id); an INVITE to
``support@<proxy>`` or ``sales@<proxy>`` queues the caller, with the
``X-ACD-Priority`` header as its priority. With ``--data-dir`` every
decision is journaled and a restart recovers the calls held. Every second
it prints the live counts. Ctrl-C stops it.

``--demo`` runs the whole thing by itself where Kamailio and SIPp are
installed (Debian: kamailio, kamailio-extra-modules, sip-tester): it starts
Kamailio on free loopback ports, registers two SIPp phones, places five SIPp
calls (one a VIP) and prints what acdcore decided.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from acdcore import AgentProfile, Distributor, PriorityClasses, QueueConfig
from acdcore.adapters.kamailio import KamailioAdapter, config_path
from acdcore.runtime import Runtime
from acdcore.store import Store

QUEUES = [
    QueueConfig("support", policy=PriorityClasses(), ring_timeout=20, wrap_up=5),
    QueueConfig("sales", ring_timeout=20),
]


def profile(agent: str) -> AgentProfile:
    """Every registered phone takes both queues (a real deployment would
    look the agent up in its directory)."""
    return AgentProfile(agent, queues=["support", "sales"])


async def run(args: argparse.Namespace) -> int:
    acd = Distributor(QUEUES)
    store = None
    if args.data_dir:
        store = Store(args.data_dir)
        store.recover(acd)  # the calls and agents of the last run, if any
    adapter = KamailioAdapter(
        host=args.host, port=args.evapi_port, rpc_port=args.rpc_port, profiles=profile
    )
    runtime = Runtime(acd, adapter, store=store)
    async with runtime:
        serve = asyncio.get_running_loop().create_task(adapter.serve(runtime))
        try:
            await asyncio.wait_for(adapter.connected.wait(), args.connect_timeout)
        except TimeoutError:
            print(
                f"cannot reach Kamailio's evapi socket at {args.host}:{args.evapi_port}: "
                f"is kamailio running with {config_path()}?",
                file=sys.stderr,
            )
            await adapter.close()
            serve.cancel()
            return 2
        print(f"connected to Kamailio at {args.host}:{args.evapi_port}", flush=True)
        try:
            while args.seconds is None or args.seconds > 0:
                await asyncio.sleep(1)
                if args.seconds is not None:
                    args.seconds -= 1
                print(runtime.view()["counts"], flush=True)
        finally:
            await adapter.close()
            serve.cancel()
    if store is not None:
        store.close()
    return 0


async def demo() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.sipnet import Kamailio, Sipp

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        kam = Kamailio(work).start()
        try:
            acd = Distributor(QUEUES)
            adapter = KamailioAdapter(port=kam.evapi_port, rpc_port=kam.rpc_port, profiles=profile)
            runtime = Runtime(
                acd,
                adapter,
                observe=lambda e, acts: [print(f"  {type(a).__name__}: {a}") for a in acts],
            )
            async with runtime:
                serve = asyncio.get_running_loop().create_task(adapter.serve(runtime))
                await adapter.connected.wait()
                callers = Sipp(work, "caller", kam.sip_port, rows=[["0"]] * 4 + [["5"]], calls=5)
                await callers.start()
                while acd.counts()["waiting"] < 5:
                    await asyncio.sleep(0.05)
                print("five callers wait; two phones register:")
                phone = Sipp(work, "agent_answer", kam.sip_port)
                rows = [["ann", "60"], ["ben", "60"]]
                reg = Sipp(work, "register", kam.sip_port, rows=rows, calls=2, port=phone.port)
                await reg.start()
                await reg.wait()
                await phone.start()
                await callers.wait(timeout=60)
                while acd.counts()["completed"] < 5:
                    await asyncio.sleep(0.05)
                await phone.stop()
                await adapter.close()
                serve.cancel()
            print("counts:", {k: v for k, v in acd.counts().items() if v})
        finally:
            kam.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="acdcore behind Kamailio")
    parser.add_argument("--host", default="127.0.0.1", help="Kamailio's evapi address")
    parser.add_argument("--evapi-port", type=int, default=8448)
    parser.add_argument("--rpc-port", type=int, default=5071, help="Kamailio's JSON-RPC port")
    parser.add_argument("--data-dir", type=Path, help="journal and snapshots here")
    parser.add_argument("--seconds", type=int, help="stop after this many seconds")
    parser.add_argument("--connect-timeout", type=float, default=5.0)
    parser.add_argument("--config-path", action="store_true", help="print the shipped config")
    parser.add_argument("--demo", action="store_true", help="run Kamailio and SIPp here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if args.config_path:
        print(config_path())
        return 0
    if args.demo:
        return asyncio.run(demo())
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
