"""``acdcore report QUEUE_LOG``: acdcore's KPIs from an Asterisk queue_log;
``acdcore whatif QUEUE_LOG --scenario FILE``: its calls replayed against a
scenario.

``report`` reads the file (see :mod:`acdcore.queuelog_read` for the layouts
it takes), turns it into events (:mod:`acdcore.queuelog_report`) and prints
per queue, per agent and per interval figures as tables, or everything as
JSON. ``whatif`` replays the log's calls against a scenario (its staffing and
routing plan; see :mod:`acdcore.whatif`) and prints the KPIs observed in the
log beside the simulated ones with their confidence intervals, and the
parameters estimated from the log. Exit status: 0; 2 for bad arguments, a
file that cannot be read (the first bad line in strict mode), a scenario
that is not valid, or a queue of the log the scenario lacks, one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from datetime import UTC, datetime
from typing import Any

from .errors import AcdError
from .queuelog_read import QueueLogError, read_queue_log
from .queuelog_report import QueueLogReport, report
from .scenario import MAX_REPLICATIONS, Scenario
from .whatif import whatif

__all__ = ["add_report", "format_report", "run_whatif"]


def add_report(sub: Any, seconds: Any, fraction: Any, interval: Any) -> None:
    """Add the ``report`` subcommand to ``sub`` (the CLI's subparsers), with
    the CLI's own value parsers for durations and fractions."""
    rp = sub.add_parser("report", help="KPIs from an Asterisk queue_log")
    rp.add_argument("queue_log", help="a queue_log file, or a realtime-table CSV export")
    rp.add_argument(
        "--threshold", type=seconds, default=20.0, help="service-level threshold (default 20s)"
    )
    rp.add_argument("--target", type=fraction, default=0.8, help="service-level target (80%%)")
    rp.add_argument("--interval", type=interval, default=1800.0, help="report interval (30m)")
    rp.add_argument(
        "--wrap-up", type=seconds, default=0.0, help="wrap-up after each call (not in the log)"
    )
    rp.add_argument(
        "--tz-offset",
        type=_hours,
        default=0.0,
        help="hours east of UTC for local intervals (and a CSV export's local times)",
    )
    rp.add_argument("--lenient", action="store_true", help="skip bad lines instead of failing")
    rp.add_argument("--json", action="store_true", help="print JSON instead of tables")
    rp.set_defaults(func=run_report)
    wi = sub.add_parser(
        "whatif", help="replay a queue_log's calls against a scenario, observed beside simulated"
    )
    wi.add_argument("queue_log", help="a queue_log file, or a realtime-table CSV export")
    wi.add_argument(
        "--scenario", required=True, help="a scenario TOML file: the staffing and routing to try"
    )
    wi.add_argument("--reps", type=_reps, default=None, help="replications, 1 to 10000")
    wi.add_argument(
        "--seed", type=_seed, default=None, help="an int or a word (default: the scenario's)"
    )
    wi.add_argument(
        "--threshold",
        type=seconds,
        default=None,
        help="one service-level threshold for every queue (default: the scenario's)",
    )
    wi.add_argument(
        "--tz-offset",
        type=_hours,
        default=0.0,
        help="hours east of UTC of the log's local time (where the scenario's start falls)",
    )
    wi.add_argument("--lenient", action="store_true", help="skip bad lines instead of failing")
    wi.add_argument("--json", action="store_true", help="print JSON instead of tables")
    wi.set_defaults(func=run_whatif)


def _reps(text: str) -> int:
    """Replications: digits only, 1 to MAX_REPLICATIONS."""
    if re.fullmatch(r"\s*\+?[0-9]+\s*", text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of replications (such as 10)"
        )
    value = int(text)
    if not 1 <= value <= MAX_REPLICATIONS:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 1 to {MAX_REPLICATIONS:,}")
    return value


def _seed(text: str) -> int | str:
    """A seed: an int (at most 100 digits) when it reads as one, else a word
    that does not look like a number."""
    if re.fullmatch(r"[+-]?[0-9]+", text):
        if len(text.lstrip("+-")) > 100:
            raise argparse.ArgumentTypeError(f"{text!r}: an int seed has at most 100 digits")
        return int(text)
    if not text.strip() or text != text.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: a seed is an int or a word, without spaces")
    try:
        float(text)
    except ValueError:
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} looks like a number but is not a whole number; a seed is an int "
        "(such as 42) or a word (such as monday)"
    )


def _hours(text: str) -> float:
    """A UTC offset in hours, from -24 to 24 exclusive."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -24 < value < 24:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours from -24 to 24")
    return value


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` command."""
    offset = float(args.tz_offset) * 3600.0
    try:
        read = read_queue_log(args.queue_log, strict=not args.lenient, tz_offset=offset)
        rep = report(
            read,
            threshold=args.threshold,
            target=args.target,
            interval=args.interval,
            tz_offset=offset,
            wrap_up=args.wrap_up,
        )
    except AcdError as exc:
        print(f"acdcore report: error: {exc}", file=sys.stderr)
        return 2
    for warning in read.warnings:
        print(f"acdcore report: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(rep.to_dict(), indent=2, allow_nan=False, default=str))
    else:
        print(format_report(rep, args.threshold, args.target, offset))
    return 0


def run_whatif(args: argparse.Namespace) -> int:
    """The ``whatif`` command."""
    offset = float(args.tz_offset) * 3600.0
    try:
        scenario = Scenario.load(args.scenario)
        try:
            read = read_queue_log(args.queue_log, strict=not args.lenient, tz_offset=offset)
        except QueueLogError as exc:
            text = str(exc)
            raise QueueLogError(
                text if text.startswith(str(args.queue_log)) else f"{args.queue_log}: {text}"
            ) from None
        for warning in read.warnings:
            print(f"acdcore whatif: warning: {warning}", file=sys.stderr)
        result = whatif(
            read,
            scenario,
            replications=args.reps,
            seed=args.seed,
            threshold=args.threshold,
            tz_offset=offset,
        )
    except AcdError as exc:
        print(f"acdcore whatif: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False, default=str))
    else:
        print(result.report())
    return 0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _sec(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _when(t: float, offset: float) -> str:
    return datetime.fromtimestamp(t + offset, tz=UTC).strftime("%Y-%m-%d %H:%M")


def format_report(rep: QueueLogReport, threshold: float, target: float, offset: float) -> str:
    """The tables of a report, as text."""
    d = rep.to_dict()
    read, conv = rep.read, rep.conversion
    out: list[str] = []
    times = [ln.time for ln in read.lines]
    period = f"{_when(min(times), offset)} to {_when(max(times), offset)}" if times else "empty"
    out.append(
        f"queue_log: {len(read.lines):,} lines ({read.form} form), {len(read.skipped)} skipped; "
        f"{period} (UTC{offset / 3600:+g})"
    )
    out.append(
        f"service level: calls answered within {threshold:g} s of calls answered or abandoned "
        f"(acdcore's variant B), target {100 * target:g}%"
    )
    out.append("")
    out.append(
        f"{'queue':<16}{'offered':>8}{'answered':>9}{'abandoned':>10}{'SL':>8}{'ASA':>8}"
        f"{'AHT':>8}{'abandon':>9}{'longest':>9}"
    )
    rows = [*d["queues"].items(), ("all", d["all"])]
    for name, q in rows:
        out.append(
            f"{name[:15]:<16}{q['offered']:>8}{q['answered']:>9}{q['abandoned']:>10}"
            f"{_pct(q['service_level']):>8}{_sec(q['asa']):>8}{_sec(q['aht']):>8}"
            f"{_pct(q['abandon_rate']):>9}{_sec(q['longest_wait']):>9}"
        )
    if d["agents"]:
        out.append("")
        out.append(
            f"{'agent':<28}{'answered':>9}{'talk s':>9}{'AHT':>8}{'RONA':>6}{'occupancy':>11}"
        )
        for aid, a in d["agents"].items():
            occ = _pct(a["occupancy"]) if aid in conv.logged else "no login"
            out.append(
                f"{aid[:27]:<28}{a['answered']:>9}{a['talk_time']:>9.0f}{_sec(a['aht']):>8}"
                f"{a['rona']:>6}{occ:>11}"
            )
    intervals = [iv for iv in d["intervals"] if iv["overall"]["offered"]]
    if intervals:
        out.append("")
        out.append(f"{'interval':<18}{'offered':>8}{'SL':>8}{'ASA':>8}{'abandon':>9}")
        for iv in intervals:
            q = iv["overall"]
            out.append(
                f"{iv['label'][:17]:<18}{q['offered']:>8}{_pct(q['service_level']):>8}"
                f"{_sec(q['asa']):>8}{_pct(q['abandon_rate']):>9}"
            )
    notes = []
    if conv.unfinished:
        notes.append(
            f"{conv.unfinished} call(s) never ended in the log (or were lost at a restart)"
        )
    if conv.orphans:
        notes.append(f"{conv.orphans} line(s) about calls that entered before the log begins")
    if conv.unknown:
        names = ", ".join(f"{k} {v}" for k, v in sorted(conv.unknown.items()))
        notes.append(f"events not used: {names}")
    static = [a for a in d["agents"] if a not in conv.logged]
    if static:
        notes.append(
            f"{len(static)} agent(s) with no login in the log (static members): no occupancy"
        )
    for number, why in read.skipped[:10]:
        notes.append(f"skipped line {number}: {why}")
    if len(read.skipped) > 10:
        notes.append(f"... and {len(read.skipped) - 10} more skipped lines")
    if notes:
        out.append("")
        out.extend(f"note: {n}" for n in notes)
    return "\n".join(out)
