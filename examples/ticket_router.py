"""A support desk that routes tickets to staff: a SkillRouter and a Queue on
their own, no Distributor, behind a small JSON web app (standard library only).

    python examples/ticket_router.py [--port 8080]   serve until Ctrl-C
    python examples/ticket_router.py --demo          serve on a free loopback
                                                     port, post tickets and
                                                     staff changes, print the
                                                     assignments, exit

Endpoints (JSON bodies and answers):

    POST /staff                {"id": "ana", "skills": {"billing": 5}, "capacity": {"email": 2}}
    POST /staff/<id>/pause     POST /staff/<id>/resume
    POST /tickets              {"id": "T1", "needs": {"billing": 3}, "channel": "email", "priority": 1}
    POST /tickets/<id>/done    the holder is free again and takes the next ticket it may
    GET  /state                waiting tickets in order, and each person's tickets

A new ticket goes to the free person the strategy picks (longest idle here),
else waits in priority order (higher priority first, then first come). When
someone gains room (joins, finishes, resumes) they take the first waiting
ticket they have the skills and a free slot for. A refused request (unknown
person, duplicate ticket, bad skill level) is answered 400 with the error's
type and message; nothing changed.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from acdcore.config import Strategy
from acdcore.errors import AcdError, DuplicateItem, InvalidValue
from acdcore.policies import PriorityClasses
from acdcore.skillrouter import SkillRouter
from acdcore.skills import Channel, SkillRequirement
from acdcore.workqueue import Queue


class Desk:
    """The app's state: who works, what waits, who holds what. One lock: the
    router and the queue are plain objects, not thread-safe on their own."""

    def __init__(self) -> None:
        self.router = SkillRouter(Strategy.LONGEST_IDLE)
        self.waiting: Queue[str] = Queue(PriorityClasses())
        self.tickets: dict[str, tuple[SkillRequirement, Channel]] = {}
        self.lock = threading.Lock()
        self.start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.start  # the app owns the clock, not acdcore

    def _needs(self, ticket: str) -> SkillRequirement:
        return self.tickets[ticket][0]

    def _channel(self, ticket: str) -> Channel:
        return self.tickets[ticket][1]

    def _fill(self, person: str, now: float) -> list[str]:
        """Give ``person`` waiting tickets until they are full or none fits."""
        taken = []
        while True:
            ticket = self.router.next_for(
                person, self.waiting, self._needs, channel_of=self._channel, now=now
            )
            if ticket is None:
                return taken
            self.waiting.remove(ticket)
            self.router.assign(person, ticket, channel=self._channel(ticket), now=now)
            taken.append(ticket)

    def add_staff(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        capacity = {Channel(k): v for k, v in body.get("capacity", {"voice": 1}).items()}
        self.router.add_agent(
            body["id"], skills=body.get("skills", {}), capacity=capacity, exclusive=(), now=now
        )
        return {"staff": body["id"], "took": self._fill(body["id"], now)}

    def new_ticket(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        ticket = body["id"]
        if not isinstance(ticket, str) or not ticket:
            raise InvalidValue(f"ticket id must be a non-empty string, got {ticket!r}")
        if ticket in self.tickets:
            where = (
                f"waiting at position {self.waiting.position(ticket)}"
                if ticket in self.waiting
                else f"held by {self.router.holder(ticket)}"
            )
            raise DuplicateItem(f"ticket {ticket!r} is already open ({where})")
        needs = SkillRequirement(body.get("needs", {}))
        channel = Channel(body.get("channel", "voice"))
        priority = body.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            # refused before pick(), which moves the router's clock and memory
            raise InvalidValue(f"priority must be an integer, got {priority!r}")
        who = self.router.pick(needs, channel=channel, now=now)
        self.tickets[ticket] = (needs, channel)
        if who:
            self.router.assign(who[0], ticket, channel=channel, now=now)
            return {"ticket": ticket, "assigned": who[0]}
        try:
            position = self.waiting.insert(ticket, arrived=now, priority=priority)
        except AcdError:
            del self.tickets[ticket]
            raise
        return {"ticket": ticket, "queued": position}

    def done(self, ticket: str) -> dict[str, Any]:
        now = self.now()
        person = self.router.holder(ticket)
        if person is None:
            raise InvalidValue(f"ticket {ticket!r} is not being handled by anyone")
        self.router.release(person, ticket, now=now)
        del self.tickets[ticket]
        return {"ticket": ticket, "closed_by": person, "took": self._fill(person, now)}

    def pause(self, person: str) -> dict[str, Any]:
        self.router.pause(person, reason="break")
        return {"staff": person, "paused": True}

    def resume(self, person: str) -> dict[str, Any]:
        now = self.now()
        self.router.resume(person, now=now)
        return {"staff": person, "paused": False, "took": self._fill(person, now)}

    def state(self) -> dict[str, Any]:
        return {
            "waiting": list(self.waiting),
            "staff": {
                a: {"paused": v.paused, "tickets": list(v.work)}
                for a in self.router.agents()
                for v in [self.router.agent(a)]
            },
        }


def make_handler(desk: Desk) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/state":
                with desk.lock:
                    self._answer(200, desk.state())
            else:
                self._answer(404, {"error": "NotFound", "message": self.path})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._answer(400, {"error": "BadJSON", "message": "the body is not JSON"})
                return
            parts = self.path.strip("/").split("/")
            routes = {
                ("staff",): lambda: desk.add_staff(body),
                ("tickets",): lambda: desk.new_ticket(body),
            }
            if len(parts) == 3 and parts[0] == "staff" and parts[2] in ("pause", "resume"):
                action = getattr(desk, parts[2])
                routes[tuple(parts)] = lambda: action(parts[1])
            if len(parts) == 3 and parts[0] == "tickets" and parts[2] == "done":
                routes[tuple(parts)] = lambda: desk.done(parts[1])
            handler = routes.get(tuple(parts))
            if handler is None:
                self._answer(404, {"error": "NotFound", "message": self.path})
                return
            try:
                with desk.lock:
                    result = handler()
            except AcdError as exc:
                self._answer(400, {"error": type(exc).__name__, "message": str(exc)})
            except (KeyError, TypeError, ValueError) as exc:
                self._answer(400, {"error": "BadRequest", "message": repr(exc)})
            else:
                self._answer(200, result)

    return Handler


def post(base: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer: dict[str, Any] = json.load(resp)
    except urllib.error.HTTPError as exc:
        answer = json.load(exc)
    return answer


def demo() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Desk()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"ticket desk on {base}")

    def show(what: str, answer: dict[str, Any]) -> None:
        print(f"{what:<34} {json.dumps(answer, sort_keys=True)}")

    try:
        show("staff ana (billing 5)", post(base, "/staff", {"id": "ana", "skills": {"billing": 5}}))
        show("staff ben (tech 4, 2 emails)", post(base, "/staff", {
            "id": "ben", "skills": {"tech": 4}, "capacity": {"email": 2}}))  # fmt: skip
        show("ticket T1 needs billing 3", post(base, "/tickets", {
            "id": "T1", "needs": {"billing": 3}}))  # fmt: skip
        for t in ("T2", "T3", "T4"):
            show(f"ticket {t} needs tech 2 (email)", post(base, "/tickets", {
                "id": t, "needs": {"tech": 2}, "channel": "email"}))  # fmt: skip
        show("ticket T5 needs billing 4", post(base, "/tickets", {
            "id": "T5", "needs": {"billing": 4}}))  # fmt: skip
        show("ticket T6 billing, priority 1", post(base, "/tickets", {
            "id": "T6", "needs": {"billing": 1}, "priority": 1}))  # fmt: skip
        show("ticket T1 again", post(base, "/tickets", {"id": "T1"}))
        show("ticket T7 needs billing 11", post(base, "/tickets", {
            "id": "T7", "needs": {"billing": 11}}))  # fmt: skip
        show("ben closes T2", post(base, "/tickets/T2/done"))
        show("ana pauses", post(base, "/staff/ana/pause"))
        show("ana closes T1", post(base, "/tickets/T1/done"))
        show("ana resumes", post(base, "/staff/ana/resume"))
        show("staff cara (billing 9)", post(base, "/staff", {
            "id": "cara", "skills": {"billing": 9}}))  # fmt: skip
        show("pause nobody", post(base, "/staff/zoe/pause"))
        with urllib.request.urlopen(base + "/state", timeout=10) as resp:
            show("state", json.load(resp))
    finally:
        server.shutdown()
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="port to serve on (loopback)")
    parser.add_argument("--demo", action="store_true", help="run the scripted demo and exit")
    args = parser.parse_args(argv)
    if args.demo:
        return demo()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Desk()))
    print(f"ticket desk on http://127.0.0.1:{server.server_address[1]} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
