"""The agents' events on the engine: logins, skill changes, logouts, pauses and resumes (internal).

Part of the engine's façade (:class:`~acdcore._engine_facade.EngineFacade`,
whose handlers these are): each checks what the engine cannot (types,
strings, the profile's queues), hands the engine the agent's number and
profile arrays, and keeps the façade's facts (profile, pause reason). A
profile past the engine's numbers hands the state over to the Python
handlers. Cost: O(the profile) a login or skill change, O(1) the rest, plus
the engine's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _engine_hooks
from ._materialize import AgentFacts
from ._native.engine import EngineRefused, profile_arrays
from .actions import Action
from .config import AgentProfile
from .events import AgentLoggedIn, AgentLoggedOut, AgentPaused, AgentResumed, AgentSkillsChanged
from .skills import validate_skills

if TYPE_CHECKING:
    from ._engine_facade import EngineFacade

_EARG = -3  # ACD_EARG: an argument past the engine's limits


def login(f: EngineFacade, ev: AgentLoggedIn) -> list[Action] | None:
    """An agent logs in with a profile (its number given on first sight);
    None: the profile is past the engine's numbers and the state was handed
    over."""
    profile = ev.profile
    if not isinstance(profile, AgentProfile) or any(q not in f.qidx for q in profile.queues):
        f.refuse(ev)
    idx = f.name(profile.agent_id)
    facts = f.agents.get(idx)
    order = facts.order if facts is not None else len(f.agents)
    sk, cap, excl, mems = profile_arrays(profile, f.qidx, f.skill_id)
    try:
        region = f.region_id(profile.region)
        acts = f.eng.login(float(ev.now), idx, order, sk, cap, excl, mems, region)
    except (EngineRefused, OverflowError) as exc:
        if isinstance(exc, EngineRefused) and exc.code != _EARG:
            f.refuse(ev)
        # A profile past the engine's limits (a membership weight above
        # 2**32 - 1, an unbounded delay...) that the reference accepts:
        # the Python handlers take over.
        f.hand_over()
        return None
    f.version += 1
    if f.hooked:
        _engine_hooks.replay(f)
    if facts is None:
        facts = f.agents[idx] = AgentFacts(profile.agent_id, profile, order)
        f.named.pop(idx, None)  # logged in: its index is its for good
    facts.profile = profile
    facts.paused = None
    return f.wrap(acts, None)


def skills_changed(f: EngineFacade, ev: AgentSkillsChanged) -> list[Action] | None:
    """An agent's skills change (the whole profile handed again); None:
    handed over, as for a login."""
    idx = f.agent_index(ev, ev.agent_id)
    facts = f.agents[idx]
    # The reference's check (_agents.check_agent_skills_changed) after
    # known_agent, with its error and message.
    validate_skills(ev.skills, f"agent {ev.agent_id!r}")
    profile = facts.profile.with_skills(ev.skills)
    sk, cap, excl, mems = profile_arrays(profile, f.qidx, f.skill_id)
    try:
        region = f.region_id(profile.region)
        acts = f.eng.skills_changed(float(ev.now), idx, sk, cap, excl, mems, region)
    except (EngineRefused, OverflowError) as exc:
        if isinstance(exc, EngineRefused) and exc.code != _EARG:
            f.refuse(ev)
        f.hand_over()  # skills past the engine's limits: the Python handlers take over
        return None
    f.version += 1
    if f.hooked:
        _engine_hooks.replay(f)
    facts.profile = profile
    return f.wrap(acts, None)


def logout(f: EngineFacade, ev: AgentLoggedOut) -> list[Action]:
    """An agent logs out (at once, or once its calls end)."""
    idx = f.agent_index(ev, ev.agent_id)
    return f.wrap(f.run(ev, f.eng.logout, float(ev.now), idx), None)


def pause(f: EngineFacade, ev: AgentPaused) -> list[Action]:
    """An agent pauses; the façade keeps the reason."""
    idx = f.agent_index(ev, ev.agent_id)
    if not isinstance(ev.reason, str) or not ev.reason:
        f.refuse(ev)
    acts = f.run(ev, f.eng.pause, float(ev.now), idx)
    f.agents[idx].paused = ev.reason
    return f.wrap(acts, None)


def resume(f: EngineFacade, ev: AgentResumed) -> list[Action]:
    """A paused agent resumes."""
    idx = f.agent_index(ev, ev.agent_id)
    acts = f.run(ev, f.eng.resume, float(ev.now), idx)
    f.agents[idx].paused = None
    return f.wrap(acts, None)
