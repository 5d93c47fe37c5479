"""``acdcore staffing``: how many agents a service-level target needs, by
Erlang C (or Erlang A with ``--patience``), printed with the neighbourhood of
the answer as a table or as JSON; the library's errors are named by the
options that set the parameters.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from ._cli_values import _BadInput
from .errors import AcdError
from .staffing import StaffingTarget, erlang_a, erlang_c, required_agents

MAX_LOAD = 100_000.0
"""The largest load ``acdcore staffing`` solves, in erlangs."""
MAX_STAFF = 1_000_000
"""The most agents ``acdcore staffing`` searches up to (the load over
``--max-occupancy`` is a lower bound of the answer)."""

_LIBRARY_NAMES = {
    "arrival_rate": "--calls / --interval",
    "aht": "--aht",
    "patience": "--patience",
    "answer_within": "--target",
    "service_level": "--target",
    "max_asa": "--max-asa",
    "max_occupancy": "--max-occupancy",
    "shrinkage": "--shrinkage",
}


def _from_library(exc: AcdError) -> _BadInput:
    """A staffing error named by the options instead of the parameters."""
    text = str(exc)
    for name, option in _LIBRARY_NAMES.items():
        if re.match(rf"(StaffingTarget\.)?{name}\b", text):
            return _BadInput(f"argument {option}: {text}")
    return _BadInput(f"these arguments cannot be solved: {text}")


def _staffing(args: argparse.Namespace) -> int:
    share, within = args.target
    rate = args.calls / args.interval
    load = rate * args.aht
    if load > MAX_LOAD:
        raise _BadInput(
            f"arguments --calls, --interval, --aht: {args.calls:g} calls per "
            f"{args.interval:g} s with an AHT of {args.aht:g} s is a load of {load:.4g} "
            f"erlangs; at most {MAX_LOAD:,.0f} erlangs are solved"
        )
    if args.max_occupancy is not None and load / args.max_occupancy > MAX_STAFF:
        raise _BadInput(
            f"argument --max-occupancy: a load of {load:.4g} erlangs at an occupancy of at "
            f"most {args.max_occupancy:g} needs more than {MAX_STAFF:,} agents"
        )
    try:
        target = StaffingTarget(
            service_level=share,
            answer_within=within,
            max_asa=args.max_asa,
            max_occupancy=args.max_occupancy,
        )
        need = required_agents(
            rate, args.aht, target, patience=args.patience, shrinkage=args.shrinkage
        )
        rows = _neighbours(args, rate, within, need.agents)
    except AcdError as exc:
        raise _from_library(exc) from None
    model = "Erlang C" if args.patience is None else f"Erlang A (patience {args.patience:g} s)"
    if args.json:
        out = {
            "model": model,
            "calls": args.calls,
            "interval": args.interval,
            "aht": args.aht,
            "load": need.load,
            "target": {"service_level": share, "answer_within": within},
            "required": need.agents,
            "scheduled": need.scheduled,
            "table": rows,
        }
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{args.calls:g} calls per {args.interval:g} s, AHT {args.aht:g} s: "
        f"load {need.load:.3f} erlangs; {model}; target {share:.0%} in {within:g} s"
    )
    header = f"{'agents':>6}  {'P(wait)':>8}  {'SL':>7}  {'ASA s':>8}  {'occupancy':>9}"
    if args.patience is not None:
        header += f"  {'P(abandon)':>10}"
    print(header)
    for r in rows:
        mark = "  <- required" if r["agents"] == need.agents else ""
        asa = "inf" if r["asa"] == float("inf") else f"{r['asa']:.2f}"
        line = (
            f"{r['agents']:>6}  {r['p_wait']:>8.5f}  {r['service_level']:>7.5f}  {asa:>8}  "
            f"{r['occupancy']:>9.3f}"
        )
        if args.patience is not None:
            line += f"  {r['p_abandon']:>10.5f}"
        print(line + mark)
    print(
        f"required: {need.agents} agents; scheduled with {args.shrinkage:.0%} shrinkage: {need.scheduled}"
    )
    return 0


def _neighbours(
    args: argparse.Namespace, rate: float, within: float, agents: int
) -> list[dict[str, Any]]:
    """The answer and two agent counts either side of it."""
    rows: list[dict[str, Any]] = []
    for n in range(max(1, agents - 2), agents + 3):
        if args.patience is None:
            c = erlang_c(rate, args.aht, n, answer_within=within)
            rows.append(
                {
                    "agents": n,
                    "p_wait": c.wait_probability,
                    "service_level": c.service_level,
                    "asa": c.asa,
                    "occupancy": c.occupancy,
                    "p_abandon": None,
                }
            )
        else:
            a = erlang_a(rate, args.aht, n, args.patience, answer_within=within)
            rows.append(
                {
                    "agents": n,
                    "p_wait": a.wait_probability,
                    "service_level": a.service_level,
                    "asa": a.asa,
                    "occupancy": a.occupancy,
                    "p_abandon": a.abandon_probability,
                }
            )
    return rows
