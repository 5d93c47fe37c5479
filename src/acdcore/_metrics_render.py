"""Plain-text tables and reports of :class:`~acdcore.metrics.Metrics`
results, for a terminal (internal; import :func:`render_table` and
:func:`render_report` from :mod:`acdcore.metrics` or :mod:`acdcore`).

Cost: O(rows x columns) to format and lay out the cells.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._metrics_stats import AgentStats, Breach, IntervalStats, QueueStats
from .errors import InvalidValue

__all__ = ["render_report", "render_table"]

_RATIOS = frozenset(
    {
        "answer_rate",
        "abandon_rate",
        "reject_rate",
        "sl_a",
        "sl_b",
        "sl_c",
        "sl_d",
        "service_level",
        "target",
        "occupancy",
        "utilisation",
        "csat_top2",
    }
)

_DEFAULT_COLUMNS: dict[type, tuple[str, ...]] = {
    QueueStats: (
        "queue",
        "offered",
        "answered",
        "abandoned",
        "rejected",
        "service_level",
        "asa",
        "aht",
        "avg_wait",
        "longest_wait",
        "wait_p90",
        "abandon_rate",
        "csat",
    ),
    AgentStats: (
        "agent_id",
        "time_logged_in",
        "occupancy",
        "utilisation",
        "answered",
        "aht",
        "rona",
        "declined",
        "auto_pauses",
        "csat",
    ),
    IntervalStats: (
        "label",
        "offered",
        "answered",
        "abandoned",
        "service_level",
        "asa",
        "aht",
        "wait_p90",
        "abandon_rate",
    ),
    Breach: ("label", "queue", "variant", "service_level", "target"),
}


def _cell(name: str, value: object) -> str:
    if value is None:
        return "-" if name != "queue" else "(all)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value * 100:.1f}%" if name in _RATIOS else f"{value:.1f}"
    return str(value)


def render_table(
    rows: Sequence[QueueStats] | Sequence[AgentStats] | Sequence[IntervalStats] | Sequence[Breach],
    columns: Sequence[str] | None = None,
) -> str:
    """A plain-text table of stats objects, one row each, for a terminal.

    ``columns`` are field names (for :class:`IntervalStats` rows, ``label``,
    ``start``, ``end`` or any :class:`QueueStats` field of ``overall``); by
    default a short set per type. Rates show as percentages, seconds with one
    decimal, missing values as ``-``.
    """
    if not rows:
        return ""
    kind = type(rows[0])
    cols = tuple(columns) if columns is not None else _DEFAULT_COLUMNS.get(kind, ())
    if not cols:
        raise InvalidValue(f"no default columns for {kind.__name__}; pass columns")
    table = [list(cols)]
    for row in rows:
        cells = []
        for name in cols:
            source: object = row
            if isinstance(row, IntervalStats) and name not in ("label", "start", "end"):
                source = row.overall
            if not hasattr(source, name):
                raise InvalidValue(f"{type(source).__name__} has no field {name!r}")
            cells.append(_cell(name, getattr(source, name)))
        table.append(cells)
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    lines = []
    for r in table:
        parts = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_report(stats: IntervalStats) -> str:
    """A plain-text report of one period: a line naming it, the queues (all
    together first), then the agents."""
    head = f"{stats.label}  [{stats.start:g}, {stats.end:g})"
    parts = [head, render_table([stats.overall, *stats.queues.values()])]
    if stats.agents:
        parts.append(render_table(list(stats.agents.values())))
    return "\n\n".join(parts) + "\n"
