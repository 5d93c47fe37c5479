"""acdcore on a live Asterisk over ARI: one queue, agents on fixed endpoints.

Needs ``pip install acdcore[asterisk]`` and an Asterisk with ARI enabled and
the dialplan of docs/asterisk.md (callers enter ``Stasis(acd,<queue>)``)::

    python examples/asterisk_ari.py --url http://127.0.0.1:8088 \\
        --user acd --password acdsecret --app acd \\
        --queue support --agent alice=PJSIP/alice --agent bob=PJSIP/bob

It logs the agents in, then prints every acdcore event and action as calls
come and go, until Ctrl-C. Exit status 2: Asterisk cannot be reached (or
the extra is not installed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from acdcore import Action, AgentLoggedIn, AgentProfile, Distributor, Event, QueueConfig, Strategy
from acdcore.runtime import Runtime

try:
    from acdcore.adapters.ari import AriAdapter
    from acdcore.adapters.ari_client import AriClient, AriError, AriUnavailable
except ImportError as exc:  # httpx / websockets missing
    print(f"the Asterisk adapter needs: pip install 'acdcore[asterisk]' ({exc})", file=sys.stderr)
    sys.exit(2)


def show(event: Event | None, actions: list[Action]) -> None:
    """The runtime's observer: one line per accepted event and per action."""
    if event is not None:
        print("event ", event)
    for action in actions:
        print("action", action)


async def main(args: argparse.Namespace) -> int:
    probe = AriClient(args.url, args.user, args.password, args.app, timeout=5)
    try:
        info = await probe.get("/asterisk/info")
    except (AriError, AriUnavailable) as exc:
        print(f"cannot reach Asterisk's ARI at {args.url}: {exc}", file=sys.stderr)
        return 2
    finally:
        await probe.aclose()
    print(f"Asterisk {info['system']['version']} at {args.url}, application {args.app!r}")

    agents = dict(spec.split("=", 1) for spec in args.agent)
    strategy = Strategy.RING_ALL if args.ring_all else Strategy.LONGEST_IDLE
    acd = Distributor([QueueConfig(args.queue, ring_timeout=args.ring_timeout, strategy=strategy)])
    adapter = AriAdapter(
        args.url,
        args.user,
        args.password,
        app=args.app,
        endpoints=agents,
        default_queue=args.queue,
    )
    async with Runtime(acd, adapter, observe=show) as runtime:
        for agent_id in agents:
            await runtime.submit(
                AgentLoggedIn(now=0, profile=AgentProfile(agent_id, queues=[args.queue]))
            )
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, lambda: loop.create_task(adapter.close()))
            loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(adapter.close()))
        print(f"queue {args.queue!r} with agents {sorted(agents)}; Ctrl-C to stop")
        await adapter.serve(runtime)
    print("counts:", {k: v for k, v in acd.counts().items() if v})
    if adapter.unrecovered:
        print("unrecovered:", list(adapter.unrecovered))
    return 0


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", default="http://127.0.0.1:8088", help="Asterisk's HTTP server")
    ap.add_argument("--user", default="acd", help="ari.conf user")
    ap.add_argument("--password", default="acdsecret")
    ap.add_argument("--app", default="acd", help="the Stasis application")
    ap.add_argument("--queue", default="support")
    ap.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="ID=ENDPOINT",
        help="an agent and its dial string, e.g. alice=PJSIP/alice (repeat)",
    )
    ap.add_argument("--ring-timeout", type=float, default=15.0)
    ap.add_argument("--ring-all", action="store_true", help="ring every free agent at once")
    ap.add_argument("-v", "--verbose", action="store_true", help="log the adapter's requests")
    args = ap.parse_args()
    for spec in args.agent:
        if "=" not in spec:
            ap.error(f"--agent {spec!r}: expected ID=ENDPOINT")
    return args


if __name__ == "__main__":
    arguments = parse()
    logging.basicConfig(
        level=logging.INFO if arguments.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    sys.exit(asyncio.run(main(arguments)))
