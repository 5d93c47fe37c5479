"""The simulator's direct lane: its commonest steps straight to the engine's contract.

When the C engine holds a replication's distributor (the native backend and a
configuration the engine covers), :class:`_Lane` carries the steps that make
up nearly all of a run (arrivals, answers, call ends, abandons and the
deadlines that fall due) to the engine's façade (:mod:`~acdcore._engine_lane`) as plain values, and takes
the engine's records back: no event or action object is built for them,
except an arrival's event (the routing plan and the queue's policy read it)
and the action objects of the rarer kinds (a plan's notes, pauses, moves,
exits, surge modes). The records feed the simulator's reactions
(:meth:`~acdcore._sim_run._Run.rang` for an offer) and the KPI collection
(``Metrics``' field handlers: ``_offer_made``, ``_call_queued``...) in the
order the object lane feeds them, so both lanes make the same decisions and
the same KPIs; the agents' steps stay on the object lane.

With a journal, the lane builds the event and action objects too (only then),
from the same records: the object lane's journal and the direct lane's are
equal (``tests/test_sim.py`` runs every example scenario both ways).

Cost per step: the engine's handler, plus O(1) per record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._sim_state import _WAITING
from .errors import AcdError
from .events import CallAbandoned, CallArrived, CallEnded, OfferAnswered

if TYPE_CHECKING:
    from ._engine_facade import EngineFacade
    from ._sim_run import _Run

# The record kinds the lane keeps as records (acd_engine.h's ACD_A_*).
_OFFER, _QUEUED, _CANCEL, _REJECT = 1, 2, 3, 4

ENABLED = True
"""Whether runs take the direct lane where they can (the tests turn it off
to compare the two lanes)."""


class _Lane:
    """The direct lane of one replication ``run`` over the façade ``f`` of
    its distributor's engine (see the module docstring)."""

    def __init__(self, run: _Run, f: EngineFacade) -> None:
        from . import _engine_lane  # (built, since an engine exists)
        from ._native.engine import EngineRefused

        self.el = _engine_lane
        self.refused = EngineRefused
        self.run = run
        self.f = f
        self.m = run.metrics
        self.objects = run.journal is not None  # build the journal's objects

    @staticmethod
    def of(run: _Run) -> _Lane | None:
        """The lane of ``run``, or None when the engine does not hold its
        distributor (or the lane is turned off)."""
        f = run.acd._eng
        if f is None or not ENABLED:
            return None
        return _Lane(run, f)

    def live(self) -> bool:
        """Whether the engine still holds the state (an event it does not
        cover hands the state over to the Python handlers for good)."""
        return self.run.acd._eng is self.f

    # ----------------------------------------------------------- steps

    def arrive(self, ev: CallArrived) -> bool:
        """An arrival; False when the engine handed the state over instead
        (nothing was done: send the event on the object lane)."""
        try:
            got = self.el.arrive(self.f, ev, self.objects)
        except AcdError as exc:  # as the object lane words it (a simulator bug)
            from ._sim_run import SimulationError

            raise SimulationError(f"the distributor refused {ev!r}: {exc}") from exc
        if got is None:
            return False
        notes, recs, objs = got
        run = self.run
        run.n_events += 1
        now = float(ev.now)
        m = self.m
        m._at(now)
        m._call_arrived(now, ev.call_id, ev.queue)
        if run.journal is not None:
            assert objs is not None
            run.journal.append((ev, [*notes, *objs]))
        if notes:
            for a in notes:
                m._apply_action(a)
            run.react(notes)
        self.take(recs)
        return True

    def answer(self, now: float, cid: str, aid: str) -> None:
        f = self.f
        recs, objs = self.call(self.el.answer, f, now, f.seq_of[cid], f.aidx[aid], aid)
        m = self.m
        m._at(now)
        m._offer_answered(now, cid, aid)
        self.close(OfferAnswered, now, cid, aid, recs, objs)

    def end(self, now: float, cid: str) -> None:
        recs, objs = self.call(self.el.end, self.f, now, self.f.seq_of[cid])
        m = self.m
        m._at(now)
        m._call_ended(now, cid)
        self.close(CallEnded, now, cid, None, recs, objs)

    def abandon(self, now: float, cid: str) -> None:
        recs, objs = self.call(self.el.abandon, self.f, now, self.f.seq_of[cid])
        m = self.m
        m._at(now)
        m._call_abandoned(now, cid)
        self.close(CallAbandoned, now, cid, None, recs, objs)

    def advance(self, now: float) -> None:
        """``advance(now)``, a deadline being due by then."""
        recs, objs = self.call(self.el.advance, self.f, now)
        run = self.run
        run.n_advances += 1
        if run.journal is not None:
            run.journal.append((now, objs))
        self.take(recs)

    # ------------------------------------------------------- internals

    def call(self, fn: Any, *args: Any) -> tuple[list[Any], list[Any] | None]:
        try:
            got: tuple[list[Any], list[Any] | None] = fn(*args, self.objects)
        except self.refused as exc:  # a simulator bug: nothing changed
            from ._sim_run import SimulationError

            raise SimulationError(f"the engine refused {fn.__name__}{args}: {exc}") from exc
        return got

    def close(
        self,
        kind: type[Any],
        now: float,
        cid: str,
        aid: str | None,
        recs: list[Any],
        objs: list[Any] | None,
    ) -> None:
        """After a call's event: count it, journal it, take its records."""
        run = self.run
        run.n_events += 1
        if run.journal is not None:
            if aid is None:
                ev = kind(now=now, call_id=cid)
            else:
                ev = kind(now=now, call_id=cid, agent_id=aid)
            run.journal.append((ev, objs))
        self.take(recs)

    def take(self, recs: list[Any]) -> None:
        """React to the engine's records, and collect their KPIs, in order."""
        run = self.run
        m = self.m
        for rec in recs:
            if rec.__class__ is not tuple:  # an action object (the rarer kinds)
                m._apply_action(rec)
                run.react([rec])
                continue
            kind, reason, cid, aid, queue, _, _, _, at = rec
            m._at(at)
            if kind == _OFFER:
                m._offer_made(at, cid, aid, queue)
                run.rang(at, cid, aid, queue)
            elif kind == _QUEUED:
                m._call_queued(cid, queue)
                run.calls[cid].state = _WAITING
            elif kind == _CANCEL:
                m._offer_cancelled(at, cid, aid, reason)
                del run.offers[(cid, aid)]
            else:  # _REJECT
                m._exit(cid, "rejected")
                del run.calls[cid]
