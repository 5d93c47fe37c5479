"""The ``acdcore`` command line.

- ``acdcore demo``: simulate the built-in scenario of a day in a hotline with
  the real distributor and print the KPI table.
- ``acdcore simulate SCENARIO.toml [--reps N] [--seed S] [--json] [--plot out.png]``:
  run a scenario file; the plot (matplotlib, the ``plot`` extra) shows, per
  queue and for all queues over the day, the service level against its
  target, the ASA, the abandon rate, the occupancy, the callbacks if any, and
  the distribution of waits (see :func:`_figure`).
- ``acdcore staffing``: how many agents, by Erlang C (or Erlang A with
  ``--patience``), with the neighbourhood of the answer as a table.

Exit status: 0 on success; 2 for bad input, that is a bad argument or a
scenario file that cannot be read or is not a valid scenario; 1 when a run
fails otherwise (``--plot`` without matplotlib, a plot that cannot be
written). An error is one line on stderr, ``acdcore <command>: error: ...``,
naming the option (or the scenario key) and saying what was expected; never a
traceback.

How arguments are written
-------------------------

- A **duration** (``--interval``, ``--aht``, ``--patience``, ``--max-asa`` and
  the seconds of ``--target``) is a number with a unit, ``s``, ``m`` (or
  ``min``) or ``h``: ``90s``, ``30m``, ``1.5h``. A bare number is seconds
  (``--aht 180``), except that a bare ``--interval`` below 300 is refused as
  ambiguous (``--interval 15``: write ``15m`` or ``15s``). A duration lies
  between 1 ms and 366 days (the seconds of ``--target`` may be 0).
- A **fraction** (``--max-occupancy``, ``--shrinkage``) is ``0.85`` or ``85%``.
  A bare number above 1 is refused as ambiguous (``1.5`` could be 1.5 % or a
  mistake): write ``1.5%``.
- ``--target`` is ``PERCENT/SECONDS``: ``80/20`` or ``80%/20s`` is 80 %
  answered within 20 s. The share is a percentage above 1 and below 100; a
  share of 1 or less (``0.8/20``) is refused as ambiguous: write ``80/20``, or
  ``0.8%/20`` for 0.8 percent.
- ``--calls`` is a number above 0 (``100``, ``12.5``); the load it makes with
  ``--interval`` and ``--aht`` is at most :data:`MAX_LOAD` erlangs, and at most
  :data:`MAX_STAFF` agents are solved for.
- ``--reps`` is a whole number from 1 to 10,000 (and within the scenario's size
  limits, see :meth:`~acdcore.scenario.Scenario.check_size`).
- ``--seed`` is an int of at most 100 digits (``42``), or text that does not
  read as a number (``monday``). Text that looks like a number but is not an
  int (``1.5``, ``1e3``, ``nan``, ``0x10``) is refused as ambiguous.
- A value may start with ``-`` (``--calls -100`` is refused because it is
  negative, not read as an option).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from .backend import describe as backend_description
from .cli_reports import add_report
from .errors import AcdError, ConfigError
from .scenario import MAX_REPLICATIONS, MAX_SPAN, Scenario
from .sim import Estimate, SimulationError, SimulationResult, simulate
from .staffing import StaffingTarget, erlang_a, erlang_c, required_agents

__all__ = [
    "MAX_LOAD",
    "MAX_STAFF",
    "build_parser",
    "main",
    "parse_args",
    "parse_duration",
    "parse_target",
]

MAX_LOAD = 100_000.0
"""The largest load ``acdcore staffing`` solves, in erlangs."""
MAX_STAFF = 1_000_000
"""The most agents ``acdcore staffing`` searches up to (the load over
``--max-occupancy`` is a lower bound of the answer)."""

_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
# Plain ASCII numbers only: float() also takes "nan", "1_000" and Arabic digits.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_DURATION = re.compile(rf"\s*({_NUMBER})\s*([^\s0-9.+-][^\s]*)?\s*")
_FRACTION = re.compile(rf"\s*({_NUMBER})\s*(%)?\s*")
_TARGET = re.compile(rf"\s*({_NUMBER})\s*(%)?\s*/\s*(.*?)\s*")
_INT = re.compile(r"\s*\+?[0-9]+\s*")
_SIGNED_INT = re.compile(r"[+-]?[0-9]+")
_DURATION_HELP = (
    "give a number with a unit, s, m (or min) or h, such as 90s, 30m or 1.5h "
    "(a bare number is seconds)"
)
_BARE_INTERVAL_MIN = 300.0
_SHORTEST = 0.001
_PLOT_SUFFIXES = (".png", ".pdf", ".svg")


class _BadInput(Exception):
    """Bad input found after parsing: reported like an argument error, exit 2."""


class _ArgumentParser(argparse.ArgumentParser):
    """Errors are one line on stderr, ``acdcore staffing: error: ...``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quote(text: str) -> str:
    """``repr(text)``, shortened for an error message."""
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:50] + "..." + shown[-5:]


def _bad(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)


def _float(text: str, match: str) -> float:
    """The number ``match`` (already checked against _NUMBER) of ``text``."""
    value = float(match)
    if not math.isfinite(value):
        raise _bad(f"{_quote(text)} is too large a number")
    return value


# ------------------------------------------------------------------ parsers


def _duration(
    text: str, *, zero: bool = False, bare_min: float = 0.0, what: str = "a duration"
) -> float:
    m = _DURATION.fullmatch(text)
    if m is None:
        raise _bad(f"{_quote(text)} is not {what}: {_DURATION_HELP}")
    unit = m.group(2)
    if unit is not None and unit not in _UNITS:
        raise _bad(f"{_quote(text)}: unknown unit {_quote(unit)}; {_DURATION_HELP}")
    number = _float(text, m.group(1))
    if unit is None and 0 < number < bare_min:
        n = m.group(1)
        raise _bad(
            f"{_quote(text)} has no unit: write {n}m for {n} minutes, or {n}s if you "
            f"mean seconds (a bare number is seconds only from {bare_min:g} up)"
        )
    seconds = number * _UNITS[unit or "s"]
    if seconds < 0 or (seconds == 0 and not zero):
        raise _bad(f"{_quote(text)} must be {'0 or more' if zero else 'longer than zero'}")
    if 0 < seconds < _SHORTEST:
        raise _bad(f"{_quote(text)} is shorter than 1 ms")
    if seconds > MAX_SPAN:
        raise _bad(f"{_quote(text)} is longer than 366 days")
    return seconds


def parse_duration(text: str) -> float:
    """Seconds from a duration: ``"30m"`` -> 1800.0, ``"90s"`` or ``"90"``
    -> 90.0, ``"1.5h"`` -> 5400.0. Units: ``s``, ``m`` (or ``min``), ``h``;
    a bare number is seconds. From 1 ms to 366 days; anything else raises
    ``argparse.ArgumentTypeError`` saying what is expected."""
    return _duration(text)


def _interval(text: str) -> float:
    return _duration(text, bare_min=_BARE_INTERVAL_MIN, what="an interval")


def _answer_time(text: str) -> float:
    return _duration(text, what="a duration")


def parse_target(text: str) -> tuple[float, float]:
    """``"80/20"`` -> (0.8, 20.0): a share answered within a duration. The
    share is a percentage (``80`` or ``80%``) above 1 and below 100; the
    duration is as in :func:`parse_duration` and may be 0 (``80/20s``,
    ``90%/1m``). A bare share of 1 or less is refused as ambiguous."""
    m = _TARGET.fullmatch(text)
    if m is None:
        raise _bad(f"{_quote(text)} is not a target: write PERCENT/SECONDS, such as 80/20")
    share = _float(text, m.group(1))
    within = _duration(m.group(3), zero=True, what="a number of seconds")
    if not m.group(2) and 0 < share <= 1:
        n, rest = m.group(1), m.group(3)
        raise _bad(
            f"{_quote(text)}: the share is a percentage, so write {share * 100:g}/{rest} "
            f"for {share * 100:g} %, or {n}%/{rest} if you mean {n} percent"
        )
    if not 0 < share < 100:
        raise _bad(f"{_quote(text)}: the percentage must be above 0 and below 100")
    return share / 100.0, within


def _fraction(text: str, *, what: str, one: bool) -> float:
    m = _FRACTION.fullmatch(text)
    if m is None:
        raise _bad(f"{_quote(text)} is not a fraction: write {what} as 0.85 or 85%")
    value = _float(text, m.group(1))
    n = m.group(1)
    if m.group(2):
        value /= 100.0
    elif value > 1:
        raise _bad(
            f"{_quote(text)} is ambiguous: a bare number is a fraction from 0 to 1; "
            f"write {n}% for {n} percent"
        )
    if value < 0:
        raise _bad(f"{_quote(text)} must be at least 0")
    if one and value == 0:
        raise _bad(f"{_quote(text)} must be above 0")
    if not one and value >= 1:
        hint = "" if m.group(2) else f" (for {n} percent, write {n}%)"
        raise _bad(f"{_quote(text)} must be below 1 (100%){hint}")
    if value > 1:
        raise _bad(f"{_quote(text)} must be at most 100%")
    return value


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise _bad(f"expected a port number, got {_quote(text)}") from None
    if not 0 <= port <= 65535:
        raise _bad(f"a port is 0 to 65535, got {port}")
    return port


def _target_fraction(text: str) -> float:
    return _fraction(text, what="--target", one=True)


def _occupancy(text: str) -> float:
    return _fraction(text, what="an occupancy cap", one=True)


def _shrinkage(text: str) -> float:
    return _fraction(text, what="a shrinkage", one=False)


def _calls(text: str) -> float:
    m = re.fullmatch(rf"\s*({_NUMBER})\s*", text)
    if m is None:
        raise _bad(f"{_quote(text)} is not a number of calls: give a number above 0, such as 100")
    value = _float(text, m.group(1))
    if value <= 0:
        raise _bad(f"{_quote(text)} must be above 0")
    return value


def _reps(text: str) -> int:
    if _INT.fullmatch(text) is None:
        raise _bad(f"{_quote(text)} is not a whole number of replications (such as 10)")
    value = int(text)
    if value < 1:
        raise _bad(f"{_quote(text)} must be at least 1")
    if value > MAX_REPLICATIONS:
        raise _bad(f"{_quote(text)} is more than {MAX_REPLICATIONS:,} replications")
    return value


def _looks_like_a_number(text: str) -> bool:
    for read in (float, lambda t: int(t, 0)):
        try:
            read(text)
        except ValueError:
            continue
        return True
    return False


def _seed(text: str) -> int | str:
    """A seed as scenarios allow it: an int (at most 100 digits) when it
    reads as one, else the text itself; text that looks like another kind of
    number, blank text or text with spaces around it is ambiguous."""
    if _SIGNED_INT.fullmatch(text):
        if len(text.lstrip("+-")) > 100:
            raise _bad(f"{_quote(text)}: an int seed has at most 100 digits")
        return int(text)
    if not text.strip():
        raise _bad("a seed is an int (such as 42) or a word (such as monday), not blank")
    if text != text.strip():
        raise _bad(f"{_quote(text)} has spaces around it; write the seed without them")
    if _looks_like_a_number(text):
        raise _bad(
            f"{_quote(text)} looks like a number but is not a whole number; a seed is an "
            "int (such as 42) or text that is not a number (such as monday)"
        )
    return text


def _plot_path(text: str) -> str:
    """``--plot``'s file, checked when the arguments are parsed (so before
    the run): a name ending in .png, .pdf or .svg, in a directory that exists
    and can be written, and not itself a directory or a read-only file."""
    path = Path(text)
    if path.name.lower() in _PLOT_SUFFIXES:
        raise _bad(f"{_quote(text)}: give a file name before the extension, such as out.png")
    if path.suffix.lower() not in _PLOT_SUFFIXES:
        raise _bad(f"{_quote(text)}: the file name must end in .png, .pdf or .svg")
    if path.is_dir():
        raise _bad(f"{_quote(text)} is a directory")
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise _bad(f"{_quote(text)}: {_quote(str(folder))} is not a directory")
    if not folder.is_dir():
        raise _bad(f"{_quote(text)}: there is no directory {_quote(str(folder))}")
    if not os.access(folder, os.W_OK):
        raise _bad(f"{_quote(text)}: cannot write in {_quote(str(folder))}")
    if path.exists() and not os.access(path, os.W_OK):
        raise _bad(f"{_quote(text)}: the file exists and cannot be written")
    return text


# ----------------------------------------------------------------- staffing


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


# --------------------------------------------------------------- simulation


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


def _replications(scenario: Scenario, args: argparse.Namespace) -> int:
    """The replications to run, checked (with --plot's needs) before the run."""
    reps: int = args.reps if args.reps is not None else scenario.replications
    if args.reps is not None:
        try:
            scenario.check_size(reps)
        except ConfigError as exc:
            raise _BadInput(f"argument --reps: {str(exc).removeprefix('replications: ')}") from None
    if args.plot is not None:
        _matplotlib()  # before a long run, not after it
    return reps


def _run(scenario: Scenario, args: argparse.Namespace, reps: int) -> SimulationResult:
    """Simulate (saying so on stderr unless --json), with a progress bar."""
    if not args.json:
        plural = "s" if reps != 1 else ""
        print(f"simulating {scenario.name!r}: {reps} replication{plural}", file=sys.stderr)
    return simulate(scenario, replications=reps, seed=args.seed, progress=_progress)


def _show(result: SimulationResult, args: argparse.Namespace) -> int:
    """Print the report (or the JSON) and write the plot if asked for."""
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.report())
    if args.plot is not None:
        _plot(result, args.plot)
        if not args.json:
            print(f"plot written to {args.plot}")
    return 0


def _matplotlib() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend, or an error that
    says how to install it (checked before a run, see _replications)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise AcdError("--plot needs matplotlib: pip install 'acdcore[plot]'") from None
    return plt


# -------------------------------------------------------------------- plots

# Matplotlib's tab10 without its grey (kept for the target lines): queue colours.
_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf",
)  # fmt: skip
_ALL_COLOUR = "black"
_TARGET_COLOUR = "#555555"
_MOST_TICKS = 24  # interval labels on a time axis; more are thinned out
_MOST_MARKERS = 48  # intervals; beyond, lines without markers
_BIN_WIDTHS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
_MOST_BINS = 60


def _plot_series(
    estimates: Sequence[Estimate | None], scale: float = 1.0
) -> tuple[list[float], list[float], list[float]]:
    """A plotted line from per-interval estimates: the means and the ends of
    their clipped confidence intervals, times ``scale`` (100 for percent);
    NaN where there is no value (a gap in the line) or no interval (no
    band: one replication)."""
    means: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for e in estimates:
        means.append(math.nan if e is None else e.mean * scale)
        banded = e is not None and e.has_interval
        lows.append(e.low * scale if e is not None and banded else math.nan)
        highs.append(e.high * scale if e is not None and banded else math.nan)
    return means, lows, highs


def _plot_lines(
    result: SimulationResult,
) -> list[tuple[str, str, list[Mapping[str, Estimate | None]]]]:
    """The lines of the per-interval panels, as (name, colour, each
    interval's estimates by KPI): one per queue, then all queues together
    (left out with a single queue, where it is the same line)."""
    queues = list(result.queue_kpis)
    lines: list[tuple[str, str, list[Mapping[str, Estimate | None]]]] = [
        (
            q,
            _COLOURS[i % len(_COLOURS)],
            [iv.queue_kpis.get(q, {}) for iv in result.intervals],
        )
        for i, q in enumerate(queues)
    ]
    if len(queues) != 1:
        lines.append(("all queues", _ALL_COLOUR, [iv.kpis for iv in result.intervals]))
    return lines


def _draw(
    ax: Any,
    series: Sequence[Estimate | None],
    colour: str,
    label: str,
    scale: float = 1.0,
    shift: float = 0.0,
    style: Mapping[str, Any] | None = None,
) -> list[float]:
    """One line of a per-interval panel with its confidence intervals: error
    bars moved ``shift`` along x (so that the bars of several lines stand
    side by side), or a band past _MOST_MARKERS intervals; none without
    intervals. ``style``: line properties that override the defaults (so
    that lines that may coincide stay apart). Returns the values drawn
    (means and interval ends), for fitting the axis."""
    means, lows, highs = _plot_series(series, scale)
    xs = list(range(len(means)))
    thick = colour == _ALL_COLOUR
    few = len(xs) <= _MOST_MARKERS
    line: dict[str, Any] = {
        "color": colour,
        "label": label,
        "linewidth": 2.2 if thick else 1.5,
        "marker": "o" if few else None,
        "markersize": 3.5,
        "clip_on": False,  # a point at 0 or 100 % sits on the frame, whole
        "zorder": 3 if thick else 2,
    }
    line.update(style or {})
    if not few:
        line["marker"] = None
    ax.plot(xs, means, **line)
    if any(not math.isnan(v) for v in lows):
        if few:
            ax.errorbar(
                [x + shift for x in xs],
                means,
                yerr=[
                    [m - lo for m, lo in zip(means, lows, strict=True)],
                    [hi - m for m, hi in zip(means, highs, strict=True)],
                ],
                fmt="none",
                ecolor=colour,
                elinewidth=1.0,
                capsize=2.0,
                alpha=0.7,
                zorder=1,
            )
        else:
            ax.fill_between(xs, lows, highs, color=colour, alpha=0.12, linewidth=0)
    return [v for v in (*means, *lows, *highs) if not math.isnan(v)]


def _shifts(count: int) -> list[float]:
    """x offsets that put ``count`` lines' error bars side by side within
    an interval's slot."""
    step = min(0.12, 0.6 / max(count, 1))
    return [(i - (count - 1) / 2) * step for i in range(count)]


def _time_axis(ax: Any, labels: Sequence[str]) -> None:
    """Interval labels on the x axis (thinned out past _MOST_TICKS; the
    date said once when a dated scenario's intervals share it), a grid."""
    where = "local time"
    dates = {label.partition(" ")[0] for label in labels}
    if len(dates) == 1 and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", x) for x in labels):
        where = f"local time, {dates.pop()}"
        labels = [label.partition(" ")[2] for label in labels]
    step = max(1, math.ceil(len(labels) / _MOST_TICKS))
    ticks = list(range(0, len(labels), step))
    slanted = len(ticks) > 12 or max((len(label) for label in labels), default=0) > 5
    ax.set_xticks(
        ticks,
        [labels[i] for i in ticks],
        rotation=45 if slanted else 0,
        ha="right" if slanted else "center",
        rotation_mode="anchor",
        fontsize=8,
    )
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_xlabel(f"interval starting at ({where})")
    ax.grid(alpha=0.3)


def _no_data(ax: Any, drawn: Sequence[float], why: str) -> None:
    """Say ``why`` across a panel that has nothing to draw (a blank panel
    would look like a bug)."""
    if not drawn:
        ax.text(
            0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center",
            fontsize=11, color=_TARGET_COLOUR,
        )  # fmt: skip


def _percent_axis(ax: Any, top: float = 100.0) -> None:
    """A y axis from 0 to ``top`` percent (at most 100)."""
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0.0, min(100.0, top))
    ax.yaxis.set_major_formatter(PercentFormatter(100.0, decimals=None))


def _figure(result: SimulationResult, plt: Any) -> Any:
    """The ``--plot`` figure: service level against target, ASA, abandon
    rate and occupancy over the day (a line per queue and one for all
    queues, shaded confidence intervals), the callbacks per interval when
    the scenario has them, and the distribution of answered calls' waits.
    Each axis is labelled with its unit and its name (``ax.get_label()``,
    the KPI) for tests."""
    labels = [iv.label for iv in result.intervals]
    lines = _plot_lines(result)
    reps = len(result.replications)
    targets = result.sl_targets
    callbacks = "callbacks_offered" in result.kpis
    rows = 4 if callbacks else 3
    fig = plt.figure(figsize=(14, 4.3 * rows + 1), layout="constrained")
    grid = fig.add_gridspec(rows, 2)
    sl_ax = fig.add_subplot(grid[0, :], label="service_level")
    asa_ax = fig.add_subplot(grid[1, 0], label="asa")
    abandon_ax = fig.add_subplot(grid[1, 1], label="abandon_rate")
    occupancy_ax = fig.add_subplot(grid[2, 0], label="occupancy")
    if callbacks:
        _callback_panel(fig.add_subplot(grid[2, 1], label="callbacks"), result, labels)
        wait_ax = fig.add_subplot(grid[3, :], label="waits")
    else:
        wait_ax = fig.add_subplot(grid[2, 1], label="waits")

    if reps > 1:
        shape = "bars" if len(labels) <= _MOST_MARKERS else "shaded"
        bands = (
            f"{shape}: {result.level:.0%} confidence intervals (Student t over {reps} "
            "replications), clipped to what each figure can take"
        )
    else:
        bands = "one replication: no confidence intervals (they need 2 or more replications)"
    fig.suptitle(
        f"{result.scenario.name}: {reps} replication{'s' if reps != 1 else ''}, "
        f"seed {result.seed!r}\n{bands}",
        fontsize=13,
    )

    # Service level against target.
    shared_t = {t for t, _ in targets.values()}
    shifts = _shifts(len(lines))
    drawn: list[float] = []
    for (name, colour, series), shift in zip(lines, shifts, strict=True):
        label = name
        if name in targets and len(shared_t) > 1:
            label = f"{name} (T = {targets[name][0]:g} s)"
        values = [s.get("service_level") for s in series]
        drawn += _draw(sl_ax, values, colour, label, 100.0, shift)
    _no_data(sl_ax, drawn, "no call was answered or abandoned")
    by_target: dict[float, list[str]] = {}
    for q, (_, target) in targets.items():
        by_target.setdefault(target, []).append(q)
    for target, queues in sorted(by_target.items(), reverse=True):
        alone = len(queues) == 1 and len(targets) > 1
        colour = lines[list(targets).index(queues[0])][1] if alone else _TARGET_COLOUR
        whose = f" ({', '.join(queues)})" if len(by_target) > 1 else ""
        sl_ax.axhline(
            100.0 * target,
            color=colour,
            linestyle="--",
            linewidth=1.4,
            label=f"target {100 * target:.4g}%{whose}",
            zorder=1,
        )
    (threshold,) = shared_t if len(shared_t) == 1 else ("T s",)
    threshold_text = threshold if isinstance(threshold, str) else f"{threshold:g} s"
    sl_ax.set_title(f"Service level: {result.sl_definition(threshold_text)}")
    sl_ax.set_ylabel("service level")
    _percent_axis(sl_ax)
    _time_axis(sl_ax, labels)
    sl_ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=9)

    # ASA.
    drawn = []
    for (name, colour, series), shift in zip(lines, shifts, strict=True):
        drawn += _draw(asa_ax, [s.get("asa") for s in series], colour, name, 1.0, shift)
    _no_data(asa_ax, drawn, "no call was answered")
    asa_ax.set_ylim(0.0, max(drawn, default=0.0) * 1.08 or 1.0)
    asa_ax.legend(loc="upper left", fontsize=8)
    asa_ax.set_title("Average speed of answer (arrival to answer, ringing included)")
    asa_ax.set_ylabel("seconds")
    _time_axis(asa_ax, labels)

    # Abandon rate: from 0 to a little above the highest value, at most 100 %.
    drawn = []
    for (name, colour, series), shift in zip(lines, shifts, strict=True):
        rates = [s.get("abandon_rate") for s in series]
        drawn += _draw(abandon_ax, rates, colour, name, 100.0, shift)
    _no_data(abandon_ax, drawn, "no call was resolved")
    abandon_ax.set_title("Abandon rate (abandoned over resolved calls)")
    abandon_ax.set_ylabel("abandoned")
    _percent_axis(abandon_ax, max(5.0, max(drawn, default=0.0) * 1.1))
    _time_axis(abandon_ax, labels)
    abandon_ax.legend(loc="upper left", fontsize=8)

    # Occupancy: agents are shared between queues, so one line.
    drawn = _draw(
        occupancy_ax,
        [iv.kpis.get("occupancy") for iv in result.intervals],
        _ALL_COLOUR,
        "all agents",
        100.0,
    )
    _no_data(occupancy_ax, drawn, "no agent was logged in (or all were paused)")
    occupancy_ax.set_title("Agent occupancy (busy + wrap-up over time logged in, not paused)")
    occupancy_ax.set_ylabel("occupancy, all agents")
    _percent_axis(occupancy_ax)
    _time_axis(occupancy_ax, labels)

    _wait_panel(wait_ax, result, lines)
    return fig


def _callback_panel(ax: Any, result: SimulationResult, labels: Sequence[str]) -> None:
    """Callbacks per interval, all queues: offered, accepted, answered, failed."""
    drawn = [0.0]
    # Accepted and answered callbacks coincide when none fails: a wide pale
    # line under a dashed one keeps both visible.
    kinds: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
        ("callbacks_offered", "offered a callback", "#1f77b4", {}),
        ("callbacks_accepted", "accepted", "#ff7f0e", {"linewidth": 4.0, "alpha": 0.55}),
        ("callbacks_answered", "answered by the customer", "#2ca02c", {"linestyle": "--"}),
        ("callbacks_failed", "failed (no attempt answered)", "#d62728", {"marker": "x"}),
    )
    for (kpi, name, colour, style), shift in zip(kinds, _shifts(len(kinds)), strict=True):
        values = [iv.kpis.get(kpi) for iv in result.intervals]
        drawn += _draw(ax, values, colour, name, 1.0, shift, style)
    ax.set_ylim(0.0, max(drawn) * 1.08 or 1.0)
    ax.set_title("Callbacks, by the interval of the first call (mean per replication)")
    ax.set_ylabel("calls")
    _time_axis(ax, labels)
    ax.legend(loc="upper left", fontsize=8)


def _wait_panel(
    ax: Any,
    result: SimulationResult,
    lines: Sequence[tuple[str, str, Sequence[Mapping[str, Estimate | None]]]],
) -> None:
    """The waits of answered calls (all replications pooled), as the share of
    each queue's answered calls per bin, with the service-level thresholds."""
    ax.set_title("Wait before answer (answered calls, all replications pooled)")
    ax.set_ylabel("% of answered calls, per queue")
    pooled = sorted(result.waits())
    if not pooled:
        _no_data(ax, [], "no call was answered")
        ax.set_xlabel("wait, s")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    targets = result.sl_targets
    longest_t = max((t for t, _ in targets.values()), default=0.0)
    p99 = pooled[min(len(pooled) - 1, math.ceil(0.99 * len(pooled)) - 1)]
    span = max(p99, 1.5 * longest_t, 1.0)
    width = next((w for w in _BIN_WIDTHS if span / w <= _MOST_BINS), _BIN_WIDTHS[-1])
    bins = max(1, math.ceil(span / width))
    cap = bins * width
    edges = [k * width for k in range(bins + 1)]
    top = 0.0
    for name, colour, _ in lines:
        waits = result.waits(None if name == "all queues" else name)
        if not waits:
            continue
        counts = [0] * bins
        for w in waits:
            if w < cap:
                counts[int(w // width)] += 1
        shares = [100.0 * c / len(waits) for c in counts]
        top = max(top, *shares)
        thick = colour == _ALL_COLOUR
        ax.stairs(shares, edges, color=colour, linewidth=2.2 if thick else 1.5, label=name)
    by_t: dict[float, list[str]] = {}
    for q, (t, _) in targets.items():
        by_t.setdefault(t, []).append(q)
    colours = {name: colour for name, colour, _ in lines}
    for t, queues in sorted(by_t.items()):
        whose = f" ({', '.join(queues)})" if len(by_t) > 1 else ""
        colour = colours[queues[0]] if len(queues) == 1 and len(by_t) > 1 else _TARGET_COLOUR
        ax.axvline(t, color=colour, linestyle=":", linewidth=1.6, label=f"T = {t:g} s{whose}")
    beyond = sum(1 for w in pooled if w >= cap)
    note = (
        f"; {100 * beyond / len(pooled):.1g}% of answered calls waited {cap:g} s or more "
        "(not shown)"
        if beyond
        else ""
    )
    ax.set_xlim(0.0, cap)
    ax.set_ylim(0.0, min(100.0, max(top * 1.08, 1.0)))
    ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel(f"wait, s (bins of {width:g} s{note})")
    ax.grid(alpha=0.3)


def _plot(result: SimulationResult, path: str) -> None:
    """Write the ``--plot`` figure to ``path`` (its format by its suffix)."""
    plt = _matplotlib()
    fig = _figure(result, plt)
    try:
        fig.savefig(path, format=Path(path).suffix[1:].lower(), dpi=100)
    except (OSError, ValueError) as exc:
        raise AcdError(f"cannot write the plot {path!r}: {exc}") from None
    finally:
        plt.close(fig)


def _demo(args: argparse.Namespace) -> int:
    text = resources.files("acdcore").joinpath("data/hotline.toml").read_text()
    scenario = Scenario.from_toml(text)
    reps = _replications(scenario, args)
    if not args.json:
        print(scenario.description or scenario.name)
    return _show(_run(scenario, args, reps), args)


def _simulate(args: argparse.Namespace) -> int:
    try:
        scenario = Scenario.load(args.scenario)
    except ConfigError as exc:
        raise _BadInput(str(exc)) from None
    reps = _replications(scenario, args)
    if args.journal is not None:
        _check_output(args.journal, "--journal")
    code = _show(_run(scenario, args, reps), args)
    if args.journal is not None:
        _write_journal(scenario, args)
    return code


def _check_output(path: str, option: str) -> None:
    """Refuse, before a long run, an output file that cannot be written."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise _BadInput(f"{option}: no directory {str(parent)!r}")
    if Path(path).is_dir():
        raise _BadInput(f"{option}: {path!r} is a directory")


def _write_journal(scenario: Scenario, args: argparse.Namespace) -> None:
    """Journal replication 0 (run again: it is deterministic) to --journal."""
    from .journal import JournalWriter
    from .sim import run_replication

    steps: list[Any] = []
    seed = args.seed if args.seed is not None else scenario.seed
    run_replication(scenario, random.Random(f"{seed}:0"), journal=steps)
    path = Path(args.journal)
    path.unlink(missing_ok=True)
    with JournalWriter(path, flush=10_000) as journal:
        for what, actions in steps:
            if isinstance(what, float):
                journal.advance(what, actions)
            else:
                journal.event(what, actions)
    if not args.json:
        print(f"journal of replication 0: {len(steps):,} entries in {path}", file=sys.stderr)


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


def _instant(text: str) -> float:
    match = re.fullmatch(_NUMBER, text.strip())
    if match is None:
        raise _bad(f"expected a number of seconds, got {_quote(text)}")
    return _float(text, match.group(0))


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


# ------------------------------------------------------------------- parser


class _Version(argparse.Action):
    """``--version``: one line, unwrapped (argparse's own wraps it)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kw: object) -> None:
        from . import __version__

        print(f"acdcore {__version__}, backend {backend_description()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = _ArgumentParser(
        prog="acdcore", description="acdcore: automatic call distribution tools"
    )
    parser.add_argument(
        "--version",
        action=_Version,
        nargs=0,
        help="print the version and the backend in use, then exit",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="simulate a day in a hotline and print the KPIs")
    sim = sub.add_parser("simulate", help="simulate a scenario file (TOML)")
    sim.add_argument("scenario", help="a scenario TOML file")
    for p in (demo, sim):
        p.add_argument("--reps", type=_reps, default=None, help="replications, 1 to 10000")
        p.add_argument(
            "--seed", type=_seed, default=None, help="an int or a word (default: the scenario's)"
        )
        p.add_argument("--json", action="store_true", help="print JSON instead of tables")
        p.add_argument(
            "--plot", type=_plot_path, default=None, help="write a plot here (.png, .pdf, .svg)"
        )
    sim.add_argument(
        "--journal",
        default=None,
        help="also write replication 0's journal here (for acdcore replay)",
    )
    demo.set_defaults(func=_demo)
    sim.set_defaults(func=_simulate)
    add_report(sub, parse_duration, _target_fraction, _interval)
    sv = sub.add_parser(
        "serve", help="serve the ACD over HTTP and WebSocket (needs the service extra)"
    )
    sv.add_argument(
        "--config", required=True, help="a service configuration (TOML, see docs/service.md)"
    )
    sv.add_argument("--host", default="127.0.0.1", help="the address to listen on (127.0.0.1)")
    sv.add_argument("--port", type=_port, default=8000, help="the port to listen on (8000)")
    sv.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"],
        help="the least important log lines written (info)",
    )  # fmt: skip
    sv.add_argument(
        "--standby", action="store_true",
        help="with [service.replication]: follow the primary, take over when its lease lapses",
    )  # fmt: skip
    sv.set_defaults(func=_serve)
    rp = sub.add_parser("replay", help="replay a journal and report any divergence")
    rp.add_argument("journal", help="a journal (JSON Lines, see acdcore.journal)")
    rp.add_argument(
        "--config", required=True, help="a scenario TOML file: its queues and plan build the ACD"
    )
    rp.add_argument("--seed", type=int, default=0, help="the seed of the ACD's rng (default 0)")
    rp.add_argument(
        "--start", type=_instant, default=None,
        help="the ACD's start clock (default: the journal's first instant)",
    )  # fmt: skip
    rp.add_argument("--lenient", action="store_true", help="skip bad lines instead of failing")
    rp.set_defaults(func=_replay)
    st = sub.add_parser(
        "staffing",
        help="agents needed for a service-level target (Erlang C/A)",
        description="Durations take a unit: 90s, 30m, 1.5h (a bare number is seconds; "
        "a bare --interval must be at least 300). Fractions are 0.85 or 85%. A target is "
        "PERCENT/SECONDS.",
    )
    st.add_argument("--calls", type=_calls, required=True, help="calls offered per interval")
    st.add_argument("--interval", type=_interval, default=1800.0, help="e.g. 30m (default)")
    st.add_argument(
        "--aht", type=parse_duration, required=True, help="average handle time, e.g. 180s or 3m"
    )
    st.add_argument(
        "--target", type=parse_target, default=(0.8, 20.0), help="PERCENT/SECONDS, e.g. 80/20"
    )
    st.add_argument(
        "--patience", type=parse_duration, default=None, help="mean patience, e.g. 5m: Erlang A"
    )
    st.add_argument("--max-asa", type=_answer_time, default=None, help="ASA ceiling, e.g. 30s")
    st.add_argument("--max-occupancy", type=_occupancy, default=None, help="e.g. 0.85 or 85%%")
    st.add_argument("--shrinkage", type=_shrinkage, default=0.0, help="e.g. 0.3 or 30%%")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    st.set_defaults(func=_staffing)
    return parser


def _long_options(parser: argparse.ArgumentParser) -> tuple[set[str], set[str]]:
    """Every long option of every subcommand, and those that take a value."""
    every: set[str] = set()
    valued: set[str] = set()
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            parsers.extend(action.choices.values())
    for p in parsers:
        for action in p._actions:
            for name in action.option_strings:
                if name.startswith("--"):
                    every.add(name)
                    if action.nargs != 0:
                        valued.add(name)
    return every, valued


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise LookupError(name)  # pragma: no cover - every command has a parser


def _attach_values(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``--calls -100`` becomes ``--calls=-100``: argparse would take a
    value that starts with ``-`` (``-1e5``, ``-inf``) for an option."""
    every, valued = _long_options(parser)
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        name = arg
        if arg.startswith("--") and "=" not in arg and arg not in every:
            matches = [o for o in every if o.startswith(arg)]  # an abbreviation
            name = matches[0] if len(matches) == 1 else arg
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if (
            name in valued
            and "=" not in arg
            and nxt is not None
            and nxt.startswith("-")
            and not nxt.startswith("--")
            and nxt != "-h"
        ):
            out.append(f"{arg}={nxt}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse a command line as :func:`main` does: values may start with
    ``-``, and a bad argument exits with status 2 and one line on stderr."""
    parser = build_parser()
    args, extra = parser.parse_known_args(_attach_values(list(argv), parser))
    if extra:  # reported by the subcommand, which lists what it takes
        command = _subcommand(parser, args.command)
        options = sorted(o for a in command._actions for o in a.option_strings if o[:2] == "--")
        command.error(
            f"unrecognized arguments: {_quote(' '.join(extra))[1:-1]} "
            f"(it takes {', '.join(options)})"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argument errors exit
    through ``SystemExit(2)``, as with argparse)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    where = f"acdcore {args.command}"
    try:
        status: int = args.func(args)
    except _BadInput as exc:
        print(f"{where}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except AcdError as exc:
        print(f"{where}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except SimulationError as exc:  # a simulator bug: still one line
        print(f"{where}: error: the simulation failed: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
