"""``acdcore serve`` (the ACD over HTTP and WebSocket, the ``service``
extra) and ``acdcore replay`` (a journal replayed into a fresh distributor
built from a scenario's queues and plan, reporting any divergence).
"""

from __future__ import annotations

import argparse
import random
import sys

from ._cli_values import _BadInput
from .errors import ConfigError
from .scenario import Scenario


def _serve(args: argparse.Namespace) -> int:
    """Serve the ACD over HTTP and WebSocket until SIGINT or SIGTERM (see
    acdcore.service); a configuration that cannot be read exits with 2."""
    try:
        from .service.config import ServiceConfig
        from .service.server import serve
    except ImportError as exc:
        missing = exc.name or str(exc)
        raise _BadInput(
            f"needs the service extra: pip install 'acdcore[service]' ({missing} is not installed)"
        ) from None
    try:
        config = ServiceConfig.load(args.config)
    except ConfigError as exc:
        raise _BadInput(f"--config: {exc}") from None
    if args.standby and config.replication is None:
        raise _BadInput("--standby needs [service.replication] in the configuration")
    return serve(
        config, host=args.host, port=args.port, log_level=args.log_level, standby=args.standby
    )


def _replay(args: argparse.Namespace) -> int:
    """Replay a journal into a fresh distributor built from a scenario's queues
    and plan; 0 when every entry gives the recorded actions, 1 otherwise."""
    from .distributor import Distributor
    from .journal import JournalError, read_journal, replay

    try:
        scenario = Scenario.load(args.config)
    except ConfigError as exc:
        raise _BadInput(f"--config: {exc}") from None
    try:
        read = read_journal(args.journal, strict=not args.lenient)
    except JournalError as exc:
        raise _BadInput(f"{args.journal}: {exc}") from None
    except OSError as exc:
        raise _BadInput(f"{args.journal}: {exc.strerror or exc}") from None
    for warning in read.warnings:
        print(f"acdcore replay: warning: {warning}", file=sys.stderr)
    first = 0.0
    if read.entries:
        head = read.entries[0]
        first = float(head.event.now if head.event is not None else head.advance or 0.0)
    acd = Distributor(
        scenario.queue_configs,
        plan=scenario.routing_plan,
        rng=random.Random(args.seed),
        start=args.start if args.start is not None else first,
    )
    report = replay(read.entries, acd)
    events: dict[str, int] = {}
    for entry in read.entries:
        kind = type(entry.event).__name__ if entry.event is not None else "advance"
        events[kind] = events.get(kind, 0) + 1
    print(f"entries {report.entries:,}, actions {report.actions:,}")
    for kind, n in sorted(events.items()):
        print(f"  {kind:<20} {n:>8,}")
    print(f"counts: {acd.counts()}")
    for line, why in read.skipped:
        print(f"skipped line {line}: {why}")
    for seq, why in report.refused:
        print(f"refused entry {seq}: {why}")
    if report.divergence is not None:
        seq, recorded, replayed = report.divergence
        print(f"diverges at entry {seq}:")
        print(f"  recorded {[type(a).__name__ for a in recorded]}")
        print(f"  replayed {[type(a).__name__ for a in replayed]}")
        return 1
    if report.refused or read.skipped:
        return 1  # not all of it was replayed as recorded
    print("the same decisions as recorded")
    return 0
