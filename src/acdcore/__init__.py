"""acdcore: an embeddable, sans-IO automatic call distributor.

Feed a :class:`Distributor` events (calls arriving, agents logging in, offers
answered...) and perform the actions it returns (offer this call to that
agent, cancel that offer...). It owns queues, priorities, skill-based routing
and agent state; it owns no clock, socket or thread.
"""

from __future__ import annotations

from ._state import AgentState, CallState
from .actions import Action, CancelOffer, Offer, PauseAgent, Queued, Reject
from .backend import BACKEND, native_available
from .config import AgentProfile, NoAnswerPolicy, QueueConfig, QueueMembership, Strategy
from .distributor import AgentView, CallView, Distributor
from .errors import (
    AcdError,
    AdvanceRequired,
    ConfigError,
    DuplicateCall,
    InvalidAgentState,
    InvalidCallState,
    InvalidValue,
    NoSuchOffer,
    TimeWentBackwards,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentSkillsChanged,
    CallAbandoned,
    CallArrived,
    CallEnded,
    Event,
    OfferAnswered,
    OfferDeclined,
)
from .policies import (
    FIFO,
    AccumulatingPriority,
    CallFacts,
    EmergencyFirst,
    PriorityClasses,
    PriorityPolicy,
    SortKey,
    ValueUrgencyMatrix,
)
from .skills import MAX_PROFICIENCY, MIN_PROFICIENCY, Channel, SkillRequirement

__version__ = "0.1.0"

__all__ = [
    "BACKEND",
    "FIFO",
    "MAX_PROFICIENCY",
    "MIN_PROFICIENCY",
    "AccumulatingPriority",
    "AcdError",
    "Action",
    "AdvanceRequired",
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentPaused",
    "AgentProfile",
    "AgentResumed",
    "AgentSkillsChanged",
    "AgentState",
    "AgentView",
    "CallAbandoned",
    "CallArrived",
    "CallEnded",
    "CallFacts",
    "CallState",
    "CallView",
    "CancelOffer",
    "Channel",
    "ConfigError",
    "Distributor",
    "DuplicateCall",
    "EmergencyFirst",
    "Event",
    "InvalidAgentState",
    "InvalidCallState",
    "InvalidValue",
    "NoAnswerPolicy",
    "NoSuchOffer",
    "Offer",
    "OfferAnswered",
    "OfferDeclined",
    "PauseAgent",
    "PriorityClasses",
    "PriorityPolicy",
    "QueueConfig",
    "QueueMembership",
    "Queued",
    "Reject",
    "SkillRequirement",
    "SortKey",
    "Strategy",
    "TimeWentBackwards",
    "UnknownAgent",
    "UnknownCall",
    "UnknownQueue",
    "ValueUrgencyMatrix",
    "__version__",
    "native_available",
]
