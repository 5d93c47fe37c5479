"""The engine's numbers for skills, regions and call classes, and the routing plans' relaxation tables (internal).

The C engine knows a skill, a region and a call class only by number.
:class:`EngineNumbers` gives those numbers on first sight and remembers
them for the life of the engine (an engine's classes are never dropped):
a skill by name, a region by name (0: none), a class by its requirement,
channel, the queues a plan step added and a regional stage's region. It
also keeps, per (rule, requirement, queue, channel, region), an arriving
call's relaxation stages timed from 0 and their classes, so an arrival only
shifts them to its instant. :class:`~acdcore._engine_state.EngineState`
extends it.

Costs: a number already given, O(1) (a class: the requirement's items
hashed, or its identity for a plain class); a new class, O(requirement)
plus the engine's; a relaxation table already made, O(stages).
"""

from __future__ import annotations

from typing import Any

from . import _calls
from ._native.core import CHANNELS
from ._native.engine import NativeEngine
from ._state import Stage
from .skills import Channel, SkillRequirement

__all__ = ["PLAIN_MEMO", "TABLES", "EngineNumbers"]

PLAIN_MEMO = 4096
"""Requirement objects remembered by identity for their plain class
(:meth:`EngineNumbers.klass`) before the memo is emptied."""

TABLES = 4096
"""Relaxation tables kept (:meth:`EngineNumbers.stage_table`) before the
table is emptied."""


class EngineNumbers:
    """The numbering of one engine ``eng`` whose queues are numbered by
    ``qidx`` (see the module docstring)."""

    def __init__(self, eng: NativeEngine, qidx: dict[str, int]) -> None:
        self.eng = eng
        self.qidx = qidx
        self.skills: dict[str, int] = {}
        self.regions: dict[str | None, int] = {None: 0}  # as the core numbers them
        self.classes: dict[tuple[Any, ...], int] = {}
        # Plain classes by (id(requirement), id(channel)): (requirement, class).
        self.plain: dict[tuple[int, int], tuple[SkillRequirement, int]] = {}
        # Relaxation tables timed from 0, with their classes (stage_table).
        self.tables: dict[tuple[Any, ...], tuple[tuple[Stage, ...], list[int]]] = {}

    def skill_id(self, name: str) -> int:
        """A skill's number, given on first sight."""
        skills = self.skills
        sid = skills.get(name)
        if sid is None:
            sid = skills[name] = len(skills)
        return sid

    def region_id(self, region: str | None) -> int:
        """A region's number, given on first sight (0: no region)."""
        rid = self.regions.get(region)
        if rid is None:
            rid = self.regions[region] = len(self.regions)
        return rid

    def klass(
        self,
        requirement: SkillRequirement,
        channel: Channel,
        extra: tuple[str, ...] = (),
        region: int = -1,
    ) -> int:
        """The engine's class of a requirement, channel, the queues a plan
        step added and a regional stage's region id (-1: any region),
        numbered on first sight. A plain class (no added queue, any region)
        is also remembered by the requirement object's identity: the same
        object arrives again and again (a queue's own requirement, an
        adapter's shared ones), and its identity is cheaper than its
        items' hash. The memo holds the object, so its id stays its own,
        and is emptied past PLAIN_MEMO entries."""
        plain = not extra and region < 0
        if plain:
            hit = self.plain.get((id(requirement), id(channel)))
            if hit is not None and hit[0] is requirement:
                return hit[1]
        items = tuple(requirement.items())
        ident = (items, channel, extra, region)
        cid = self.classes.get(ident)
        if cid is None:
            cid = self.classes[ident] = self.eng.klass(
                [self.skill_id(n) for n, _ in items],
                [m for _, m in items],
                CHANNELS[channel],
                [self.qidx[q] for q in extra],
                region,
            )
        if plain:
            if len(self.plain) >= PLAIN_MEMO:
                self.plain.clear()
            self.plain[(id(requirement), id(channel))] = (requirement, cid)
        return cid

    def stage_table(
        self, decision: _calls.Arrival, channel: Channel, now: float
    ) -> tuple[tuple[Stage, ...], list[int]]:
        """An arriving call's relaxation stages (as ``_calls.resolve_stages``
        gives them, timed from ``now``) and the engine's class of each (a
        regional stage's for the call's region). The stages timed from 0
        and their classes depend only on the rule, the requirement, the
        queue, the channel and the region, so they are resolved once (a
        table bounded like the plain stages' cache) and only shifted to
        ``now`` per call: ``now + (0.0 + after)`` is ``now + after``."""
        region = _calls.region_of(decision.attributes)
        key = (decision.rule_name, decision.requirement, decision.queue, channel, region)
        hit = self.tables.get(key)
        if hit is None:
            rel = _calls.resolve_stages(decision.queue, 0.0, decision.requirement, decision.steps)
            rid = self.region_id(region)
            classes = [
                self.klass(s.requirement, channel, s.extra_queues, rid if s.regional else -1)
                for s in rel
            ]
            if len(self.tables) >= TABLES:
                self.tables.clear()
            hit = self.tables[key] = (rel, classes)
        rel, classes = hit
        stages = tuple(
            s
            if s.expires_at is None
            else Stage(
                s.requirement, s.extra_queues, s.regional, now + s.expires_at, s.skip_if_empty
            )
            for s in rel
        )
        return stages, classes
