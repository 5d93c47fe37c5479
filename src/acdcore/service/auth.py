"""Who is calling, and what they may do.

Every route but ``/health`` (and the static ``/wallboard`` page, which holds
no data) needs ``Authorization: Bearer <token>``; a WebSocket client that
cannot set headers (a browser) sends ``{"token": "..."}`` as its first
message instead. Tokens are compared by their SHA-256 digest, so the lookup
does not depend on how much of a wrong token matches, and logs name the
holder (``agent:alice``, ``supervisor``), never the token.

What each role may do (``403 Forbidden`` otherwise):

- ``supervisor``: everything;
- ``monitor``: every query, ``/metrics`` and any stream; no event;
- ``agent``: events about itself only: log in (its own profile), log out,
  pause, resume, answer or decline *its own* offers, end or transfer a call
  *it is connected to*; queries of itself, of the calls offered or
  connected to it, of queues, counts, KPIs and estimates; the stream of its
  own desktop (``agent=<its id>``). Calls arriving, hang-ups, callbacks and
  skill changes are the switch's and the supervisors' to report.

The check of a call's agent is made when the request arrives; the event is
then applied after those submitted before it, which may have ended that
call: the distributor then refuses it as usual.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import attrs

from ..distributor import CallView, Distributor
from ..errors import AcdError, NotPermitted
from ..events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    CallEnded,
    CallTransferred,
    Event,
    OfferAnswered,
    OfferDeclined,
)
from ..runtime import Guard
from .config import Grant
from .errors import ServiceError

__all__ = ["Authenticator", "Principal", "forbid_unless"]


@attrs.frozen
class Principal:
    """The holder of a valid token: its ``role``, its ``agent`` id (agent
    tokens), ``key`` (the token's digest, for rate limits) and ``label``
    (for logs)."""

    role: str
    agent: str | None
    key: str
    label: str

    @property
    def supervisor(self) -> bool:
        """True for a supervisor token."""
        return self.role == "supervisor"

    def acts_for(self, agent_id: str) -> bool:
        """True when this token may act for or read about ``agent_id``."""
        return self.role != "agent" or self.agent == agent_id


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def forbid_unless(allowed: bool, message: str) -> None:
    """Raise ``403 Forbidden`` with ``message`` unless ``allowed``."""
    if not allowed:
        raise ServiceError(403, "Forbidden", message)


_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="acdcore"'}


class Authenticator:
    """Turns a presented token into a :class:`Principal` and says what it
    may do (see the module docstring)."""

    def __init__(self, tokens: Mapping[str, Grant]) -> None:
        self._grants = {_digest(token): grant for token, grant in tokens.items()}

    def token(self, token: str) -> Principal:
        """The principal of ``token``, or ``401 Unauthorized``."""
        key = _digest(token)
        grant = self._grants.get(key)
        if grant is None:
            raise ServiceError(401, "Unauthorized", "the token is not valid", _UNAUTHORIZED)
        return Principal(grant.role, grant.agent, key, grant.label)

    def header(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer <token>`` header, or
        ``401 Unauthorized`` (no header, another scheme, a bad token)."""
        if not authorization:
            raise ServiceError(
                401,
                "Unauthorized",
                "a token is required: Authorization: Bearer <token>",
                _UNAUTHORIZED,
            )
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ServiceError(
                401, "Unauthorized", "use Authorization: Bearer <token>", _UNAUTHORIZED
            )
        return self.token(token.strip())

    # ------------------------------------------------------------ permissions

    @staticmethod
    def check_event(who: Principal, event: Event, acd: Distributor) -> None:
        """Raise ``403`` unless ``who`` may submit ``event``."""
        if who.supervisor:
            return
        kind = type(event).__name__
        forbid_unless(who.role == "agent", f"a {who.role} token cannot submit events")
        me = who.agent
        if isinstance(event, AgentLoggedIn):
            target = event.profile.agent_id
        elif isinstance(
            event, (AgentLoggedOut, AgentPaused, AgentResumed, OfferAnswered, OfferDeclined)
        ):
            target = event.agent_id
        elif isinstance(event, (CallEnded, CallTransferred)):
            try:
                call = acd.call(event.call_id)
            except AcdError:
                return  # checked again when applied (see guard)
            forbid_unless(
                call.agent == me,
                f"agent {me!r} is not connected to call {event.call_id!r}; "
                f"only that call's agent or a supervisor may report {kind}",
            )
            return
        else:
            raise ServiceError(
                403, "Forbidden", f"an agent token cannot submit {kind} (a supervisor's can)"
            )
        forbid_unless(
            target == me, f"the token of agent {me!r} cannot submit {kind} for agent {target!r}"
        )

    @staticmethod
    def guard(who: Principal, event: Event) -> Guard | None:
        """The check the runtime runs just before it applies ``event`` (see
        :meth:`acdcore.runtime.Runtime.submit`): for an agent token ending or
        transferring a call, that the call is connected to that agent *then*.
        :meth:`check_event` saw the state when the request arrived; the
        events queued ahead of this one may have changed it (the call ended
        and its id came back, another agent answered it)."""
        if who.supervisor or not isinstance(event, (CallEnded, CallTransferred)):
            return None
        me, kind = who.agent, type(event).__name__

        def connected_to_me(acd: Distributor, ev: Event) -> None:
            assert isinstance(ev, (CallEnded, CallTransferred))
            try:
                call = acd.call(ev.call_id)
            except AcdError:
                return  # the distributor refuses it (UnknownCall), changing nothing
            if call.agent != me:
                raise NotPermitted(
                    f"agent {me!r} is not connected to call {ev.call_id!r}; "
                    f"only that call's agent or a supervisor may report {kind}"
                )

        return connected_to_me

    @staticmethod
    def check_call(who: Principal, call: CallView) -> None:
        """Raise ``403`` unless ``who`` may read ``call``: an agent only the
        calls offered or connected to it."""
        if who.role != "agent":
            return
        forbid_unless(
            call.agent == who.agent or who.agent in call.offered_to,
            f"call {call.call_id!r} is neither offered nor connected to agent {who.agent!r}",
        )

    @staticmethod
    def check_agent(who: Principal, agent_id: str) -> None:
        """Raise ``403`` unless ``who`` may read agent ``agent_id``."""
        forbid_unless(
            who.acts_for(agent_id),
            f"the token of agent {who.agent!r} cannot read agent {agent_id!r}",
        )

    @staticmethod
    def check_role(who: Principal, *roles: str) -> None:
        """Raise ``403`` unless ``who`` has one of ``roles``."""
        forbid_unless(
            who.role in roles, f"a {who.role} token cannot do this (needs: {' or '.join(roles)})"
        )
