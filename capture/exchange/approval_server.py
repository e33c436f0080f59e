"""The REST half of the loopback exchange: ``/oauth2/Approval`` and ``/oauth2/tokenP``.

Issued approval keys go into an :class:`ApprovalRegistry` that the websocket half reads from
its own thread, to learn which app key a session belongs to (one session per app key) and
whether the key is still valid (24 h). Bodies carry secrets: nothing here logs a body.

Error shape follows docs/kis-protocol.md, ``{"error_code", "error_description"}``: ``EGW00103``
with HTTP 403 for credentials that are not accepted; ``EGW00002`` with HTTP 400 for a body
that is not JSON or lacks a field *(the code is a guess; KIS does not document it)*.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Collection
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from capture.clock import NS_PER_S, Clock, seoul_datetime
from capture.errors import ConfigError

logger = logging.getLogger(__name__)

APPROVAL_TTL_NS = 24 * 3600 * NS_PER_S
TOKEN_TTL_S = 86_400

Credential = tuple[str, str]  # (appkey, secret)


class ApprovalRegistry:
    """Approval keys issued so far, each with its app key and issue time; thread-safe."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def issue(self, app_key: str) -> str:
        approval_key = str(uuid.uuid4())
        with self._lock:
            self._keys[approval_key] = (app_key, self._clock.now_ns())
        return approval_key

    def issued(self) -> list[str]:
        """Every approval key issued so far (tests look for them where they must not be)."""
        with self._lock:
            return list(self._keys)

    def app_key_for(self, approval_key: str) -> str | None:
        """The app key an approval key was issued to; None if unknown or older than 24 h."""
        with self._lock:
            entry = self._keys.get(approval_key)
        if entry is None or self._clock.now_ns() - entry[1] >= APPROVAL_TTL_NS:
            return None
        return entry[0]


def parse_credential(text: str) -> Credential:
    """``APPKEY:SECRET`` as given to ``--credential`` (the secret may itself contain ':').

    Raises:
        ConfigError: no ':' or an empty side.
    """
    app_key, sep, secret = text.strip().partition(":")
    if not sep or not app_key or not secret:
        raise ConfigError("credential", "(hidden)", "write it as APPKEY:SECRET, both non-empty")
    return app_key, secret


def load_credentials(path: Path) -> list[Credential]:
    """``APPKEY:SECRET`` lines; blank lines and ``#`` comments are skipped.

    Raises:
        ConfigError: the file cannot be read, or a line is not APPKEY:SECRET.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError("accept_credentials", str(path), f"cannot read it: {exc}") from exc
    return [parse_credential(line) for line in lines if line.strip() and not line.startswith("#")]


class ApprovalServer:
    """A ThreadingHTTPServer on its own thread; ``accepted`` None accepts any non-empty pair.

    Raises:
        OSError: the port cannot be bound.
    """

    def __init__(
        self,
        host: str,
        port: int,
        registry: ApprovalRegistry,
        accepted: Collection[Credential] | None,
        clock: Clock,
    ) -> None:
        handler = type(
            "_BoundHandler",
            (_ApprovalHandler,),
            {"registry": registry, "accepted": accepted, "clock": clock},
        )
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        # A short poll interval so stop() (and every test teardown) returns promptly.
        serve = partial(self._httpd.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name="approval-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()


class _ApprovalHandler(BaseHTTPRequestHandler):
    """Minimal request: ``POST /oauth2/Approval`` with
    ``{"grant_type": "client_credentials", "appkey": "…", "secretkey": "…"}``."""

    registry: ApprovalRegistry
    accepted: Collection[Credential] | None
    clock: Clock
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        routes = {
            "/oauth2/Approval": ("secretkey", self._approval),
            "/oauth2/tokenP": ("appsecret", self._token),
        }
        route = routes.get(self.path.split("?", 1)[0])
        body = self._read_json()
        if route is None:
            self._reply(404, _error("EGW00002", f"no such endpoint {self.path}"))
            return
        secret_field, answer = route
        fields = ("grant_type", "appkey", secret_field)
        if body is None or not all(isinstance(body.get(f), str) and body[f] for f in fields):
            self._reply(400, _error("EGW00002", f"a JSON body with non-empty {fields} is needed"))
        elif body["grant_type"] != "client_credentials":
            self._reply(400, _error("EGW00002", "grant_type must be client_credentials"))
        elif (
            self.accepted is not None and (body["appkey"], body[secret_field]) not in self.accepted
        ):
            self._reply(403, _error("EGW00103", "유효하지 않은 AppKey입니다. (invalid appkey)"))
        else:
            self._reply(200, answer(body["appkey"]))

    def _approval(self, app_key: str) -> dict[str, object]:
        return {"approval_key": self.registry.issue(app_key)}

    def _token(self, app_key: str) -> dict[str, object]:
        expires = seoul_datetime(self.clock.now_ns()) + dt.timedelta(seconds=TOKEN_TTL_S)
        return {
            "access_token": secrets.token_urlsafe(96),
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
            "access_token_token_expired": expires.strftime("%Y-%m-%d %H:%M:%S"),
        }

    def _read_json(self) -> dict[str, object] | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _reply(self, status: int, obj: dict[str, object]) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # Request lines only (never bodies, which carry secrets), at debug level.
        logger.debug("approval server: " + format, *args)


def _error(code: str, description: str) -> dict[str, object]:
    return {"error_code": code, "error_description": description}
