"""The ``acdcore`` command line.

- ``acdcore demo``: simulate the built-in scenario of a day in a hotline with
  the real distributor and print the KPI table.
- ``acdcore simulate SCENARIO.toml [--reps N] [--seed S] [--json] [--plot out.png]``:
  run a scenario file; the plot (matplotlib, the ``plot`` extra) shows service
  level and ASA per interval and the wait distribution.
- ``acdcore staffing``: how many agents, by Erlang C (or Erlang A with
  ``--patience``), with the neighbourhood of the answer as a table.

Exit status 0 on success, 2 on bad arguments (with a message naming the
argument), 1 on any other acdcore error (a bad scenario names its key).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import AcdError
from .scenario import Scenario
from .sim import SimulationResult, simulate
from .staffing import StaffingTarget, erlang_a, erlang_c, required_agents

__all__ = ["main", "parse_duration", "parse_target"]

_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``"30m"`` -> 1800.0, ``"90s"`` or ``"90"`` -> 90.0, ``"1h"`` -> 3600.0."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|m|min|h)?\s*", text)
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 30m, 90s, 1h)")
    value = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be longer than zero")
    return value


def parse_target(text: str) -> tuple[float, float]:
    """``"80/20"`` -> (0.8, 20.0): a share answered within a number of seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*/\s*([0-9]*\.?[0-9]+)\s*", text)
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a target like 80/20")
    share, seconds = float(m.group(1)), float(m.group(2))
    if not 0 < share < 100:
        raise argparse.ArgumentTypeError(f"{text!r}: the percentage must be between 0 and 100")
    return share / 100.0, seconds


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value > 1:
        value /= 100.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a fraction in [0, 1) or a percentage")
    return value


def _staffing(args: argparse.Namespace) -> int:
    share, within = args.target
    rate = args.calls / args.interval
    target = StaffingTarget(
        service_level=share,
        answer_within=within,
        max_asa=args.max_asa,
        max_occupancy=args.max_occupancy,
    )
    need = required_agents(rate, args.aht, target, patience=args.patience, shrinkage=args.shrinkage)
    rows: list[dict[str, Any]] = []
    for n in range(max(1, need.agents - 2), need.agents + 3):
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


def _progress(done: int, total: int) -> None:
    """A one-line progress bar on stderr (only when it is a terminal)."""
    if not sys.stderr.isatty():
        return
    width = 30
    filled = round(width * done / total)
    end = "\n" if done == total else ""
    sys.stderr.write(
        f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} replications{end}"
    )
    sys.stderr.flush()


def _run(scenario: Scenario, args: argparse.Namespace) -> SimulationResult:
    reps = args.reps if args.reps is not None else scenario.replications
    if not args.json:
        print(f"simulating {scenario.name!r}: {reps} replications", file=sys.stderr)
    return simulate(scenario, replications=reps, seed=args.seed, progress=_progress)


def _show(result: SimulationResult, args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.report())
    if getattr(args, "plot", None):
        _plot(result, args.plot)
        if not args.json:
            print(f"plot written to {args.plot}")
    return 0


def _plot(result: SimulationResult, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise AcdError("--plot needs matplotlib: pip install 'acdcore[plot]'") from None
    labels = [iv.label for iv in result.intervals]
    sl = [iv.kpis.get("service_level") for iv in result.intervals]
    asa = [iv.kpis.get("asa") for iv in result.intervals]
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(10, 10))
    xs = range(len(labels))
    ax1.errorbar(
        xs,
        [100 * e.mean if e else float("nan") for e in sl],
        yerr=[100 * e.half_width if e else 0 for e in sl],
        fmt="o-",
        capsize=3,
    )
    ax1.set_ylabel("service level %")
    ax1.set_title("service level per interval (95% CI)")
    ax2.errorbar(
        xs,
        [e.mean if e else float("nan") for e in asa],
        yerr=[e.half_width if e else 0 for e in asa],
        fmt="o-",
        capsize=3,
        color="tab:orange",
    )
    ax2.set_ylabel("ASA s")
    ax2.set_title("average speed of answer per interval (95% CI)")
    for ax in (ax1, ax2):
        ax.set_xticks(list(xs), labels, rotation=90, fontsize=7)
    hist = result.wait_histogram(5.0)
    ax3.bar([b for b, _ in hist], [c for _, c in hist], width=5.0, align="edge")
    ax3.set_xlabel("wait of answered calls, s (5 s bins, all replications)")
    ax3.set_ylabel("calls")
    ax3.set_title("wait distribution")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _demo(args: argparse.Namespace) -> int:
    text = resources.files("acdcore").joinpath("data/hotline.toml").read_text()
    scenario = Scenario.from_toml(text)
    if not args.json:
        print(scenario.description or scenario.name)
    return _show(_run(scenario, args), args)


def _simulate(args: argparse.Namespace) -> int:
    path = Path(args.scenario)
    if not path.is_file():
        print(f"acdcore: error: no scenario file {str(path)!r}", file=sys.stderr)
        return 2
    return _show(_run(Scenario.load(path), args), args)


def _seed(text: str) -> int | str:
    """A seed as scenarios allow it: an int when it reads as one, else the text."""
    try:
        return int(text)
    except ValueError:
        return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="acdcore", description="acdcore: automatic call distribution tools"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="simulate a day in a hotline and print the KPIs")
    demo.add_argument("--reps", type=_positive_int, default=None, help="replications")
    demo.add_argument("--seed", type=_seed, default=None, help="seed (default: the scenario's)")
    demo.add_argument("--json", action="store_true", help="print JSON instead of tables")
    demo.add_argument("--plot", default=None, help="write a PNG plot here (needs matplotlib)")
    demo.set_defaults(func=_demo)
    sim = sub.add_parser("simulate", help="simulate a scenario file (TOML)")
    sim.add_argument("scenario", help="a scenario TOML file")
    sim.add_argument("--reps", type=_positive_int, default=None, help="replications")
    sim.add_argument("--seed", type=_seed, default=None, help="seed (default: the scenario's)")
    sim.add_argument("--json", action="store_true", help="print JSON instead of tables")
    sim.add_argument("--plot", default=None, help="write a PNG plot here (needs matplotlib)")
    sim.set_defaults(func=_simulate)
    st = sub.add_parser("staffing", help="agents needed for a service-level target (Erlang C/A)")
    st.add_argument("--calls", type=float, required=True, help="calls offered per interval")
    st.add_argument("--interval", type=parse_duration, default=1800.0, help="interval (30m)")
    st.add_argument("--aht", type=parse_duration, required=True, help="average handle time (s)")
    st.add_argument("--target", type=parse_target, default=(0.8, 20.0), help="e.g. 80/20")
    st.add_argument("--patience", type=parse_duration, default=None, help="mean patience: Erlang A")
    st.add_argument("--max-asa", type=parse_duration, default=None, help="ASA ceiling (s)")
    st.add_argument("--max-occupancy", type=_fraction, default=None, help="e.g. 0.85")
    st.add_argument("--shrinkage", type=_fraction, default=0.0, help="e.g. 0.3 or 30")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    st.set_defaults(func=_staffing)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "calls", 1.0) <= 0:
        parser.error("argument --calls: must be greater than zero")
    try:
        status: int = args.func(args)
    except AcdError as exc:
        print(f"acdcore: error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
