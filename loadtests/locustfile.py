"""Locust users for pnav: visitors (start a tchat, wait in the queue, chat with think times, sometimes drop and
resume, sometimes quick-exit) and operators (sign in with password + TOTP, take from the queue, answer, close).

Delivery latency is measured from the send time carried in each message body (``lt <client_id> <unix time>``:
locust runs on the same host as the server, so sender and receiver share one clock) and reported as requests of
type ``WS`` named ``visitor→operator`` and ``operator→visitor``.

Operators sign in with accounts listed in the JSON file named by ``PNAV_LOADTEST_OPERATORS`` (``run_locust``
creates them); without it only visitors run. Run it through ``make loadtest`` (python -m loadtests.run_locust).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
import pyotp
from gevent.lock import Semaphore  # type: ignore[import-untyped]
from locust import HttpUser, between, task
from locust.env import Environment
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

CATEGORIES = ("sexual_violence", "domestic_violence", "discrimination_hate")
# Paris and a few other single-force postal codes of the routing data: every tchat gets a competent force.
POSTAL_CODES = ("75011", "75018", "69003", "13001", "33000", "54120")
# An operator handles at most this many tchats at once, as on the real platform (a few in parallel).
MAX_TCHATS_PER_OPERATOR = 3
# An operator closes a tchat after this many of its own answers: long enough to exercise the conversation.
ANSWERS_BEFORE_CLOSE = 4
# Opening handshakes wait 10 s at most: the server is local, anything slower is a failure worth counting.
OPEN_TIMEOUT = 10.0
# A reader wakes at least this often to notice the user stopped.
RECV_POLL = 1.0


def fire(env: Environment, name: str, started: float, error: Exception | None = None, length: int = 0) -> None:
    env.events.request.fire(  # type: ignore[no-untyped-call]
        request_type="WS", name=name, response_time=(time.time() - started) * 1000, response_length=length,
        exception=error, context={},
    )


def stamp(client_id: str) -> str:
    return f"lt {client_id} {time.time():.6f}"


def sent_at(body: str) -> float | None:
    parts = body.split(" ")
    if len(parts) == 3 and parts[0] == "lt":
        try:
            return float(parts[2])
        except ValueError:
            return None
    return None


class Socket:
    """A websockets sync connection read by one greenlet; ``on_frame`` gets every decoded frame."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.stack = contextlib.ExitStack()
        self.ws: ClientConnection = self.stack.enter_context(
            connect(url, additional_headers=headers, compression=None, open_timeout=OPEN_TIMEOUT, max_size=65_536)
        )
        self.lock = Semaphore()
        self.closed = False

    def send(self, frame: dict[str, Any]) -> None:
        with self.lock:
            self.ws.send(json.dumps(frame))

    def recv(self) -> dict[str, Any] | None:
        try:
            raw = self.ws.recv(timeout=RECV_POLL)
        except TimeoutError:
            return None
        frame: dict[str, Any] = json.loads(raw)
        return frame

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(ConnectionClosed, OSError):
            self.stack.close()


class VisitorUser(HttpUser):
    weight = 6
    # A person reads the answer and types the next message: 2 to 8 seconds between messages.
    wait_time = between(2, 8)

    def on_start(self) -> None:
        self.sock: Socket | None = None
        self.reader: gevent.Greenlet[Any, Any] | None = None
        self.token = ""
        self.last_seq = 0
        self.counter = 0
        self.active = False
        self.start_tchat()

    def on_stop(self) -> None:
        self.disconnect()

    def start_tchat(self) -> None:
        body = {"category": random.choice(CATEGORIES), "role": "victim", "postal_code": random.choice(POSTAL_CODES)}
        with self.client.post("/api/v1/conversations", json=body, name="start tchat", catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(f"status {resp.status_code}")
                return
            self.token = resp.json()["token"]
        self.last_seq, self.active = 0, False
        self.connect()

    def connect(self) -> None:
        started = time.time()
        url = str(self.host).replace("http", "ws", 1) + "/ws/visitor"
        try:
            self.sock = Socket(url)
            self.sock.send({"type": "hello", "token": self.token, "after": self.last_seq})
            welcome = self.sock.recv()
            while welcome is not None and welcome.get("type") != "welcome":
                welcome = self.sock.recv()
            if welcome is None:
                raise TimeoutError("no welcome")
            self.active = welcome.get("status") == "active"
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            fire(self.environment, "visitor connect", started, exc)
            self.sock = None
            return
        fire(self.environment, "visitor connect", started)
        self.reader = gevent.spawn(self.read, self.sock)

    def read(self, sock: Socket) -> None:
        while not sock.closed:
            try:
                frame = sock.recv()
            except (ConnectionClosed, OSError):
                return
            if frame is None:
                continue
            kind = frame.get("type")
            if kind == "message":
                self.last_seq = max(self.last_seq, int(frame["seq"]))
                at = sent_at(str(frame.get("body", "")))
                if frame.get("author") == "operator" and at is not None:
                    fire(self.environment, "operator→visitor", at)
            elif kind == "joined":
                self.active = True
            elif kind == "closed":
                self.active = False
                self.token = ""

    def disconnect(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    @task(20)
    def chat(self) -> None:
        if not self.token:
            self.start_tchat()  # the operator closed the last one: this person comes back with a new question
            return
        if self.sock is None:
            self.connect()
            return
        if not self.active:
            return  # still in the queue: the person waits
        self.counter += 1
        try:
            self.sock.send({"type": "send", "client_id": f"v{id(self)}-{self.counter}",
                            "body": stamp(f"v{self.counter}")})
        except (ConnectionClosed, OSError) as exc:
            fire(self.environment, "visitor send", time.time(), exc)
            self.disconnect()

    @task(2)
    def drop_and_resume(self) -> None:
        """The phone loses its network for a moment, then the page resumes from the last seq it saw."""
        if self.sock is None or not self.token:
            return
        self.disconnect()
        gevent.sleep(random.uniform(0.5, 3.0))
        self.connect()

    @task(1)
    def quick_exit(self) -> None:
        """The « quitter rapidement » button: leave, and (later) maybe start again."""
        if self.sock is not None and self.token:
            with contextlib.suppress(ConnectionClosed, OSError):
                self.sock.send({"type": "leave"})
        self.disconnect()
        self.token = ""


def _accounts() -> list[dict[str, str]]:
    path = os.environ.get("PNAV_LOADTEST_OPERATORS")
    if not path:
        return []
    with open(path, encoding="utf-8") as handle:
        accounts: list[dict[str, str]] = json.load(handle)
    return accounts


_free_accounts = _accounts()


class OperatorUser(HttpUser):
    weight = 1
    fixed_count = len(_free_accounts)
    # A police officer or gendarme reads and types an answer: 1 to 4 seconds.
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.sock: Socket | None = None
        self.tchats: dict[str, int] = {}  # conversation → answers given
        self.pending: dict[str, float] = {}  # conversation → send time of the visitor message to answer
        self.queue: dict[str, list[str]] = {}
        self.counter = 0
        if not _free_accounts:
            self.stop()
            return
        self.account = _free_accounts.pop()
        if self.sign_in():
            self.open_console()

    def sign_in(self) -> bool:
        form = self.client.get("/login", name="login form")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        code = pyotp.TOTP(self.account["secret"]).now()
        with self.client.post("/login", name="login", allow_redirects=False, catch_response=True, data={
            "username": self.account["username"], "password": self.account["password"], "totp": code,
            "csrf": csrf.group(1) if csrf else "",
        }) as resp:
            if resp.status_code != 303:
                resp.failure(f"status {resp.status_code}")
                return False
        return True

    def open_console(self) -> None:
        cookie = self.client.cookies.get("pnav_session")
        url = str(self.host).replace("http", "ws", 1) + "/ws/operator"
        started = time.time()
        try:
            self.sock = Socket(url, {"Cookie": f"pnav_session={cookie}", "Origin": str(self.host)})
        except (OSError, InvalidHandshake) as exc:
            fire(self.environment, "operator connect", started, exc)
            return
        fire(self.environment, "operator connect", started)
        gevent.spawn(self.read, self.sock)

    def read(self, sock: Socket) -> None:
        while not sock.closed:
            try:
                frame = sock.recv()
            except (ConnectionClosed, OSError):
                return
            if frame is None:
                continue
            kind = frame.get("type")
            conversation = str(frame.get("conversation", ""))
            if kind == "queue_state":
                self.queue[f"{frame['force']}:{frame['category']}"] = [item["id"] for item in frame["items"]]
            elif kind == "taken":
                self.tchats.setdefault(conversation, 0)
            elif kind == "message" and frame.get("author") == "visitor":
                at = sent_at(str(frame.get("body", "")))
                if at is not None and conversation in self.tchats:
                    fire(self.environment, "visitor→operator", at)
                    self.pending[conversation] = at
            elif kind in ("closed", "released"):
                self.tchats.pop(conversation, None)
                self.pending.pop(conversation, None)

    def on_stop(self) -> None:
        if self.sock is not None:
            self.sock.close()

    @task
    def work(self) -> None:
        if self.sock is None:
            return
        try:
            if self.pending:
                self.answer(random.choice(list(self.pending)))
            elif len(self.tchats) < MAX_TCHATS_PER_OPERATOR:
                waiting = [c for items in self.queue.values() for c in items[:1]]
                if waiting:
                    self.sock.send({"type": "take", "conversation": random.choice(waiting)})
        except (ConnectionClosed, OSError) as exc:
            fire(self.environment, "operator send", time.time(), exc)
            self.sock = None

    def answer(self, conversation: str) -> None:
        assert self.sock is not None
        self.pending.pop(conversation, None)
        answers = self.tchats.get(conversation, 0)
        if answers >= ANSWERS_BEFORE_CLOSE:
            self.sock.send({"type": "close", "conversation": conversation, "outcome": "information_given"})
            self.tchats.pop(conversation, None)
            return
        self.counter += 1
        self.tchats[conversation] = answers + 1
        self.sock.send({"type": "send", "conversation": conversation, "client_id": f"o{self.counter}",
                        "body": stamp(f"o{self.counter}")})

