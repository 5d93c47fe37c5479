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
import random
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from ._cli_plots import _figure as _figure
from ._cli_plots import _matplotlib, _plot
from ._cli_plots import _plot_lines as _plot_lines
from ._cli_plots import _plot_series as _plot_series
from ._cli_service import _replay, _serve
from ._cli_staffing import MAX_LOAD, MAX_STAFF, _staffing
from ._cli_staffing import _from_library as _from_library
from ._cli_values import (
    _answer_time,
    _BadInput,
    _calls,
    _instant,
    _interval,
    _occupancy,
    _one_line,
    _plot_path,
    _port,
    _quote,
    _reps,
    _seed,
    _shrinkage,
    _target_fraction,
    parse_duration,
    parse_target,
)
from .backend import describe as backend_description
from .cli_reports import add_report
from .errors import AcdError, ConfigError
from .scenario import Scenario
from .sim import SimulationError, SimulationResult, simulate

# The command line is split by concept: the value parsers in _cli_values,
# staffing in _cli_staffing, the --plot figure in _cli_plots, serve and
# replay in _cli_service, report and whatif in cli_reports. Here: the
# simulation commands (demo, simulate), the argument parser and main. The
# private names imported "as" themselves are read from here by the tests.

__all__ = [
    "MAX_LOAD",
    "MAX_STAFF",
    "build_parser",
    "main",
    "parse_args",
    "parse_duration",
    "parse_target",
]


class _ArgumentParser(argparse.ArgumentParser):
    """Errors are one line on stderr, ``acdcore staffing: error: ...``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


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
