"""``--plot`` of ``acdcore simulate`` and ``acdcore demo``: the figure of a
simulation result, drawn with matplotlib (the ``plot`` extra) and written to
a .png, .pdf or .svg file. See :func:`_figure` for what it shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import AcdError
from .sim import Estimate, SimulationResult


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
