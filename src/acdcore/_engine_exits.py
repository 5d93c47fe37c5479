"""A routing plan's live-state rules on the C engine: maximum wait, leave-empty, surge, load guard (internal).

The engine runs these exits itself (``acd_engine_queue_exits``): a call that
has waited its queue's ``max_wait`` leaves by ``on_max_wait``; when a
queue's last logged-in member logs out, its waiting calls leave by
``leave_empty``; a call whose offer ends past either leaves then; a queue
enters and leaves surge mode by its waiting count; the load guard passes
over agents who keep missing offers. What only the façade knows is here:

- the guard, each queue's exits and surge thresholds in the engine's
  numbers (:func:`configure`);
- a call's move table (:func:`give_moves`): for each queue an exit may move
  it to, the class (that queue's requirement) and the sort key (its policy,
  the arrival instant kept) that ``_queueing.move`` would give it there,
  computed once when the call arrives or is transferred, so that the engine
  moves it without calling back;
- the wording of the engine's records (:func:`moved`, :func:`exited`): the
  reference's ``Overflow`` to the new queue, or its terminal exit's action
  (``_queueing.exit_action``), and the façade's facts updated to match.

Join-empty and surge exits are decided at arrival by the reference's
``_calls.arrival_exit``, which reads the queue's members and surge mode from
the engine (``_calls.has_members``, ``_calls.surge_on``).
Cost: nothing for a queue without these exits; a move table is O(queues
reachable by exits) per call that may be moved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _calls, _queueing
from .actions import Action, Overflow
from .plans import Exit

if TYPE_CHECKING:
    from ._engine_state import EngineState
    from ._materialize import CallFacts

__all__ = ["configure", "exited", "give_moves", "moved"]

# An exit's kind in the engine's numbers (ACD_O_* and ACD_X_QUEUE).
_KIND = {"reject": 0, "destination": 1, "self-service": 2, "queue": 3}


def configure(state: EngineState) -> dict[str, tuple[str, ...]]:
    """Hand the engine the load guard and each queue's maximum wait,
    leave-empty exit and surge mode; return, per queue whose calls an exit may move, the queues of its move
    table (the queue itself first: a chain of exits may lead back to it)."""
    d = state.d
    plan = d._plan
    if plan is None:
        return {}
    guard = plan.load_guard
    if guard is not None:
        state.eng.load_guard(guard.min_answer_rate, guard.window, guard.min_offers)

    def code(exit_: Exit) -> tuple[int, int]:
        target = state.qidx[exit_.target] if exit_.kind == "queue" and exit_.target else -1
        return _KIND[exit_.kind], target

    for name, rules in plan.queues.items():  # the plan's order: surge modes are checked in it
        if rules.surge is not None:
            state.eng.queue_surge(
                state.qidx[name], rules.surge.enter_waiting, rules.surge.leave_waiting
            )
        if rules.max_wait is None and rules.leave_empty is None:
            continue
        leave = None if rules.leave_empty is None else code(rules.leave_empty)
        state.eng.queue_exits(state.qidx[name], rules.max_wait, code(rules.on_max_wait), leave)
    return {name: (name, *reach) for name, reach in d._reachable.items() if reach}


def give_moves(state: EngineState, seq: int, facts: CallFacts, queue: str, arrived: float) -> None:
    """Give the engine live call ``seq``'s move table for a call that
    entered ``queue`` (arrival or transfer), arrived at ``arrived``;
    nothing when no exit can move it."""
    targets = state.moves.get(queue)
    if targets is None:
        return
    d = state.d
    table = []
    for name in targets:
        key = _calls.policy_key(
            d,
            facts.call_id,
            name,
            seq,
            arrived,
            facts.priority,
            facts.emergency,
            facts.attributes,
        )
        cls = state.klass(state.configs[state.qidx[name]].requirement, facts.channel)
        table.append((state.qidx[name], cls, key))
    state.eng.call_moves(seq, table)
    state.move_arrived[seq] = arrived


def moved(state: EngineState, seq: int, queue: int, target: int, reason: str, at: float) -> Action:
    """A call the engine moved from ``queue`` to ``target`` by an exit: the
    reference's ``Overflow``, and the façade's facts as ``_queueing.move``
    leaves the call (that queue's key and requirement, one plain stage, no
    preferred agent)."""
    f = state.calls[seq]
    name = state.qnames[target]
    arrived = state.move_arrived[seq]  # the engine may have ended the call since
    f.key = _calls.policy_key(
        state.d, f.call_id, name, seq, arrived, f.priority, f.emergency, f.attributes
    )
    f.requirement = state.configs[target].requirement
    f.stages = None
    if f.preferred_agent is not None:
        state.unhold(f.preferred_agent)
    f.preferred_agent = None
    f.moves += 1
    return Overflow(
        at=at, call_id=f.call_id, queue=state.qnames[queue], target_queue=name, reason=reason
    )


def exited(state: EngineState, seq: int, queue: int, reason: str, at: float) -> Action:
    """A call the engine sent away from ``queue`` by its maximum-wait or
    leave-empty exit (``reason``): the reference's action for that exit,
    and the call forgotten."""
    d = state.d
    assert d._plan is not None
    name = state.qnames[queue]
    rules = d._plan.queues[name]
    exit_ = rules.on_max_wait if reason == "max-wait" else rules.leave_empty
    assert exit_ is not None
    action, _ = _queueing.exit_action(d._plan, state.calls[seq].call_id, name, exit_, reason, at)
    state.forget(seq, at)
    return action
