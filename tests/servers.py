"""Real servers on loopback for the notifier tests: an SMTP server (aiosmtpd) and a plain
`http.server` speaking Zalo's OA and ZNS APIs. Their fixtures are shared through conftest.

The Zalo fake's tokens choose its behaviour: `good`, `expired` (error -216 in an HTTP 200
body), `limited` (error -32, rate limit), `flaky` (HTTP 500 once, then success).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import warnings
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class FakeZalo(ThreadingHTTPServer):
    """Zalo's OA and ZNS message APIs, and its OAuth endpoint (`/v4/oa/access_token`): with
    `oauth(refresh)` set, only the access tokens it issued are valid, each refresh token works
    once, and `revoke(token)` makes one invalid early (an expiry during a batch)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ZaloHandler)
        self.requests: list[dict[str, Any]] = []
        self.failed_once: set[str] = set()
        self.refreshes: list[dict[str, str]] = []  # OAuth requests: form and secret_key
        self.valid: set[str] | None = None  # issued access tokens (None: any token but the named ones)
        self.refresh_tokens: set[str] = set()
        self.issued = 0
        self.lock = threading.Lock()

    def oauth(self, refresh: str) -> None:
        self.valid, self.refresh_tokens = set(), {refresh}

    def revoke(self, token: str) -> None:
        assert self.valid is not None
        self.valid.discard(token)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ZaloHandler(BaseHTTPRequestHandler):
    server: FakeZalo

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _oauth(self, raw: bytes) -> None:
        _answer(self, *_oauth_answer(self, raw))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v4/oa/access_token":
            self._oauth(raw)
            return
        body = json.loads(raw)
        token = self.headers.get("access_token", "")
        self.server.requests.append({"path": self.path, "token": token, "body": body})
        if token == "flaky" and token not in self.server.failed_once:
            self.server.failed_once.add(token)
            self.send_response(500)
            self.end_headers()
            return
        known = {"/v3.0/oa/message/cs", "/message/template"}
        answer: dict[str, Any]
        if self.path not in known:
            answer = {"error": -201, "message": "unknown API"}
        elif token == "expired" or (self.server.valid is not None and token not in self.server.valid):
            answer = {"error": -216, "message": "Access token is invalid"}
        elif token == "limited":
            answer = {"error": -32, "message": "The request exceeded the rate limit"}
        elif self.path == "/message/template" and not re.fullmatch(r"84[0-9]{9,10}", str(body.get("phone"))):
            # ZNS takes a phone in its country-code form only: 84912345678, not 0912345678
            answer = {"error": -108, "message": "Phone number is invalid"}
        else:
            n = len(self.server.requests)
            answer = {"error": 0, "message": "Success", "data": {"message_id": f"m{n}"}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _oauth_answer(handler: ZaloHandler, raw: bytes) -> tuple[int, dict[str, Any]]:
    from urllib.parse import parse_qs

    server = handler.server
    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    with server.lock:
        server.refreshes.append({**form, "secret_key": handler.headers.get("secret_key", "")})
        if handler.headers.get("secret_key") != "app-secret" or form.get("grant_type") != "refresh_token":
            return 400, {"error": -14002, "error_description": "Invalid secret key"}
        if form.get("refresh_token") not in server.refresh_tokens:
            return 400, {"error": -14014, "error_description": "Invalid refresh token"}
        server.refresh_tokens.discard(form["refresh_token"])  # single use
        server.issued += 1
        access, refresh = f"access-{server.issued}", f"refresh-{server.issued}"
        assert server.valid is not None
        server.valid.add(access)
        server.refresh_tokens.add(refresh)
    return 200, {"access_token": access, "refresh_token": refresh, "expires_in": "90000"}


def _answer(handler: BaseHTTPRequestHandler, status: int, answer: dict[str, Any]) -> None:
    data = json.dumps(answer).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture
def zalo() -> Iterator[FakeZalo]:
    server = FakeZalo()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class Inbox:
    """What the SMTP server received. `refuse`: recipients answered 550; `defer`: how many
    messages to answer 451 (try again later) before accepting."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.refuse: set[str] = set()
        self.defer = 0
        self.delay = 0.0  # seconds before answering DATA
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.defer:
                self.defer -= 1
                return "451 4.3.0 try again later"
            self.messages.append(envelope)
        return "250 OK"

    def parsed(self) -> list[Message]:
        return [message_from_bytes(m.content) for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"mailto://127.0.0.1:{port}?from=cascade@example.vn&mode=insecure", inbox
    controller.stop()


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"cascade",
        b"secret",
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp_auth() -> Iterator[tuple[int, Inbox]]:
    """An SMTP server that wants the login cascade / secret (without TLS: loopback only)."""
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
    port = free_port()
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield port, inbox
    controller.stop()
