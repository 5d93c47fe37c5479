"""The error model: one base class, specific subclasses that also subclass a builtin.

Every error raised by the distributor for a bad event or a bad configuration is an
:class:`AcdError`. Each subclass also derives from the builtin exception it most
resembles, so ``except KeyError`` keeps working for code that does not know
acdcore. Messages name the offending id and the state it was in.

A distributor that raises for an event has not changed: validation happens before
any mutation.
"""

from __future__ import annotations

__all__ = [
    "AcdError",
    "AdvanceRequired",
    "ConfigError",
    "DuplicateCall",
    "DuplicateItem",
    "InvalidAgentState",
    "InvalidCallState",
    "InvalidValue",
    "NoSuchOffer",
    "NotPermitted",
    "TimeWentBackwards",
    "UnknownAgent",
    "UnknownCall",
    "UnknownItem",
    "UnknownQueue",
]


class AcdError(Exception):
    """Base class of every error acdcore raises on purpose."""

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes; keep it readable.
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigError(AcdError, ValueError):
    """A configuration object (queue, agent profile, policy) is invalid."""


class InvalidValue(AcdError, ValueError):
    """A number in an event is NaN, infinite, negative or out of its range."""


class TimeWentBackwards(AcdError, ValueError):
    """An event or advance carries a ``now`` earlier than the distributor's clock."""


class AdvanceRequired(AcdError, RuntimeError):
    """An event arrived at a time when a deadline is due; call ``advance(now)`` first.

    Deadlines (ring timeouts, wrap-up ends, ...) due at or before the event's
    ``now`` must be processed before the event, so that their actions are not
    lost if the event is then refused.
    """


class UnknownCall(AcdError, KeyError):
    """An event names a call id that is not live in the distributor."""


class UnknownAgent(AcdError, KeyError):
    """An event names an agent id the distributor has never seen."""


class UnknownQueue(AcdError, KeyError):
    """A call or a profile names a queue that is not configured."""


class DuplicateCall(AcdError, ValueError):
    """A call arrived with the id of a call that is still live."""


class DuplicateItem(AcdError, ValueError):
    """An item was put in a :class:`~acdcore.workqueue.Queue` that already
    holds it, or a piece of work was assigned to an agent while it is still
    held by one (:class:`~acdcore.skillrouter.SkillRouter`)."""


class UnknownItem(AcdError, KeyError):
    """A :class:`~acdcore.workqueue.Queue` or a
    :class:`~acdcore.skillrouter.SkillRouter` was asked about an item or a
    piece of work it does not hold."""


class NoSuchOffer(AcdError, LookupError):
    """An answer or decline refers to an offer that was never made or is gone."""


class InvalidAgentState(AcdError, ValueError):
    """An agent event is impossible in the agent's current state."""


class InvalidCallState(AcdError, ValueError):
    """A call event is impossible in the call's current state."""


class NotPermitted(AcdError, PermissionError):
    """The one who submitted an event may not submit it (a runtime's guard:
    an agent acting on another agent's call, for example)."""
