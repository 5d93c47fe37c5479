"""The agent lifecycle: login, logout, pause, resume, skill changes, wrap-up, the no-answer guard and the free sets.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import (
    _deadlines,
    _offers,
    _queueing,
    _routing,
)
from ._state import (
    AgentRecord,
    CallRecord,
    SessionState,
)
from .config import AgentProfile
from .errors import (
    InvalidAgentState,
    InvalidValue,
    UnknownAgent,
    UnknownQueue,
)
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentSkillsChanged,
)
from .skills import (
    validate_skills,
)

if TYPE_CHECKING:
    from .distributor import Distributor


def load_guarded(agent: AgentRecord, guard: Any) -> bool:
    """True when the load guard should pass this agent over."""
    n = len(agent.answers)
    if n < guard.min_offers:
        return False
    return bool(sum(agent.answers) / n < guard.min_answer_rate)


def is_available(agent: AgentRecord, now: float) -> bool:
    """Everything :meth:`AgentRecord.offerable` asks but a free channel."""
    return (
        agent.logged_in
        and agent.paused is None
        and not agent.pending_logout
        and agent.not_before <= now
    )


def check_agent_logged_in(d: Distributor, ev: AgentLoggedIn) -> AgentProfile:
    profile = ev.profile
    if not isinstance(profile, AgentProfile):
        raise InvalidValue(f"AgentLoggedIn.profile must be an AgentProfile, got {profile!r}")
    known = d._agents.get(profile.agent_id)
    if known is not None and known.logged_in:
        raise InvalidAgentState(
            f"agent {profile.agent_id!r} is already logged in ({known.state().value})"
        )
    for qname in profile.queues:
        if qname not in d._queues:
            raise UnknownQueue(f"agent {profile.agent_id!r} serves unknown queue {qname!r}")
    return profile


def apply_agent_logged_in(d: Distributor, ev: AgentLoggedIn, profile: AgentProfile) -> None:
    agent = d._agents.get(profile.agent_id)
    if agent is None:
        agent = AgentRecord(agent_id=profile.agent_id, order=len(d._agents), profile=profile)
        d._agents[profile.agent_id] = agent
    agent.set_profile(profile)
    if d._nat is not None:
        d._nat.profile(agent, _routing.scan_list(d, agent))
    agent.logged_in = True
    agent.paused = None
    agent.pending_logout = False
    agent.misses = 0
    agent.not_before = d._now
    agent.idle_since = d._now
    for qname in profile.queues:
        d._queues[qname].members[agent.agent_id] = None
    staffing(d, agent)
    refresh(d, agent)
    _routing.route_agent(d, agent)


def check_agent_logged_out(d: Distributor, ev: AgentLoggedOut) -> AgentRecord:
    agent = known_agent(d, ev.agent_id)
    if not agent.logged_in:
        raise InvalidAgentState(f"agent {ev.agent_id!r} is not logged in")
    if agent.pending_logout:
        raise InvalidAgentState(
            f"agent {ev.agent_id!r} is already logging out (waiting for its calls to end)"
        )
    return agent


def apply_agent_logged_out(d: Distributor, ev: AgentLoggedOut, agent: AgentRecord) -> None:
    requeued: list[CallRecord] = []
    for session in list(agent.sessions.values()):
        if session.state is SessionState.RINGING:
            call = d._calls[session.call_id]  # a ringing session's call is live
            if _offers.withdraw(d, agent, call, "agent-logged-out"):
                requeued.append(call)
    end_wrapups(d, agent)
    if agent.sessions:
        agent.pending_logout = True
        staffing(d, agent)
        refresh(d, agent)
    else:
        complete_logout(d, agent)
    for call in requeued:
        _queueing.requeue(d, call, "agent-logged-out")


def check_agent_paused(d: Distributor, ev: AgentPaused) -> AgentRecord:
    agent = known_agent(d, ev.agent_id)
    if not agent.logged_in:
        raise InvalidAgentState(f"agent {ev.agent_id!r} is logged out and cannot pause")
    if not isinstance(ev.reason, str) or not ev.reason:
        raise InvalidValue(f"agent {ev.agent_id!r}: pause reason must be a non-empty string")
    return agent


def apply_agent_paused(d: Distributor, ev: AgentPaused, agent: AgentRecord) -> None:
    agent.paused = ev.reason
    staffing(d, agent)
    refresh(d, agent)


def check_agent_resumed(d: Distributor, ev: AgentResumed) -> AgentRecord:
    agent = known_agent(d, ev.agent_id)
    if agent.paused is None or not agent.logged_in:
        raise InvalidAgentState(f"agent {ev.agent_id!r} is {agent.state().value}, not paused")
    return agent


def apply_agent_resumed(d: Distributor, ev: AgentResumed, agent: AgentRecord) -> None:
    agent.paused = None
    agent.misses = 0
    staffing(d, agent)
    refresh(d, agent)
    _routing.route_agent(d, agent)


def check_agent_skills_changed(d: Distributor, ev: AgentSkillsChanged) -> AgentRecord:
    agent = known_agent(d, ev.agent_id)
    validate_skills(ev.skills, f"agent {ev.agent_id!r}")
    return agent


def apply_agent_skills_changed(d: Distributor, ev: AgentSkillsChanged, agent: AgentRecord) -> None:
    agent.set_profile(agent.profile.with_skills(ev.skills))
    d._staff_gen += 1
    if d._nat is not None and agent.slot >= 0:
        d._nat.profile(agent, _routing.scan_list(d, agent))
    if not agent.logged_in:
        return
    # Takes effect at once: an offer the agent no longer qualifies for is
    # withdrawn (not a miss) and the call goes back to its place.
    requeued: list[CallRecord] = []
    for session in list(agent.sessions.values()):
        if session.state is not SessionState.RINGING:
            continue
        call = d._calls[session.call_id]  # a ringing session's call is live
        if call.requirement.met_by(agent.skills):
            continue
        if _offers.withdraw(d, agent, call, "skills-changed"):
            requeued.append(call)
    refresh(d, agent)
    for call in requeued:
        _queueing.requeue(d, call, "skills-changed")
    _routing.route_agent(d, agent)


def known_agent(d: Distributor, agent_id: str) -> AgentRecord:
    agent = d._agents.get(agent_id) if isinstance(agent_id, str) else None
    if agent is None:
        raise UnknownAgent(f"no agent {agent_id!r} has ever logged in")
    return agent


def end_wrapups(d: Distributor, agent: AgentRecord) -> None:
    for seq in [k for k, s in agent.sessions.items() if s.state is SessionState.WRAP_UP]:
        del agent.sessions[seq]


def complete_logout(d: Distributor, agent: AgentRecord) -> None:
    agent.logged_in = False
    agent.pending_logout = False
    agent.paused = None
    agent.wake_at = None
    agent.wake_timer = -1
    staffing(d, agent)
    emptied = []
    for qname in agent.profile.queues:
        q = d._queues[qname]
        q.members.pop(agent.agent_id, None)
        q.free.pop(agent.agent_id, None)
        if not q.members:
            emptied.append(qname)
    if d._nat is not None:
        d._nat.sync(agent, False, False)
    for qname in emptied:
        rules = _queueing.queue_rules(d, qname)
        if rules is None or rules.leave_empty is None:
            continue
        for call in list(d._queues[qname].waiting):
            _queueing.exit_waiting(d, call, rules.leave_empty, "leave-empty")


def refresh(d: Distributor, agent: AgentRecord) -> None:
    """Recompute whether the agent is in its queues' free sets, and make
    sure a wake-up is pending for the end of its no-answer delay.

    An agent is in the free sets of all its queues or of none (``check()``
    verifies it), so the sets are only written when the answer changes."""
    now = d._now
    nat = d._nat
    if nat is not None:
        # The core decides (it holds the sessions) and updates its own lists.
        plan = d._plan
        guard = plan.load_guard if plan is not None else None
        offerable = nat.sync(
            agent,
            agent.logged_in
            and agent.paused is None
            and not agent.pending_logout
            and agent.not_before <= now,
            guard is not None and load_guarded(agent, guard),
        )
    else:
        offerable = agent.offerable(now)
    queues = agent.profile.queues
    if queues:
        aid = agent.agent_id
        records = d._queues
        if (aid in records[next(iter(queues))].free) != offerable:
            if offerable:
                for qname in queues:
                    records[qname].free[aid] = None
            else:
                for qname in queues:
                    records[qname].free.pop(aid, None)
    if agent.logged_in and agent.not_before > now:
        _deadlines.wake_agent(d, agent, agent.not_before)


def is_guarded(d: Distributor, agent: AgentRecord) -> bool:
    guard = d._plan.load_guard if d._plan is not None else None
    return guard is not None and load_guarded(agent, guard)


def staffing(d: Distributor, agent: AgentRecord) -> None:
    """Recount the agent in its queues' staffing after a change of login,
    pause or logout (and invalidate the cached server counts)."""
    d._staff_gen += 1
    now = agent.logged_in and agent.paused is None and not agent.pending_logout
    if now == agent.staffed:
        return
    agent.staffed = now
    delta = 1 if now else -1
    for qname in agent.profile.queues:
        d._queues[qname].staffed += delta
