"""The REST half of the loopback exchange: ``/oauth2/Approval``, ``/oauth2/tokenP`` and the
book snapshot ``GET /uapi/domestic-bond/v1/quotations/inquire-asking-price``.

Issued approval keys go into an :class:`ApprovalRegistry` that the websocket half reads from
its own thread, to learn which app key a session belongs to (one session per app key) and
whether the key is still valid (24 h); access tokens too, which the book endpoint checks
(issued, under a day old, for the ``appkey`` header). The book comes from ``books``, the
current book of the same market the websocket feeds draw from. Bodies and headers carry
secrets: nothing here logs either.

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
from collections.abc import Callable, Collection
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from capture.clock import NS_PER_S, Clock, seoul_datetime
from capture.errors import ConfigError
from capture.kis import rest_book

logger = logging.getLogger(__name__)

APPROVAL_TTL_NS = 24 * 3600 * NS_PER_S
TOKEN_TTL_S = 86_400

Credential = tuple[str, str]  # (appkey, secret)
BookSource = Callable[[str], list[str] | None]
"""The current H0BJASP0 record of an ISIN (None: no such bond), read without moving it."""


class ApprovalRegistry:
    """Approval keys issued so far, each with its app key and issue time; thread-safe."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[str, tuple[str, int]] = {}
        self._tokens: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def issue(self, app_key: str) -> str:
        approval_key = str(uuid.uuid4())
        with self._lock:
            self._keys[approval_key] = (app_key, self._clock.now_ns())
        return approval_key

    def issue_token(self, app_key: str) -> str:
        token = secrets.token_urlsafe(96)
        with self._lock:
            self._tokens[token] = (app_key, self._clock.now_ns())
        return token

    def token_refusal(self, token: str, app_key: str) -> str | None:
        """Why a request with ``token`` for ``app_key`` is refused (KIS's msg_cd), or None:
        an unknown token, or another app key's, is invalid; one a day old has expired."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[0] != app_key:
            return rest_book.TOKEN_INVALID
        if self._clock.now_ns() - entry[1] >= TOKEN_TTL_S * NS_PER_S:
            return rest_book.TOKEN_EXPIRED
        return None

    def issued(self) -> list[str]:
        """Every approval key issued so far (tests look for them where they must not be)."""
        with self._lock:
            return list(self._keys)

    def tokens_issued(self) -> list[str]:
        """Every access token issued so far, likewise."""
        with self._lock:
            return list(self._tokens)

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
        books: BookSource | None = None,
    ) -> None:
        handler = type(
            "_BoundHandler",
            (_ApprovalHandler,),
            {"registry": registry, "accepted": accepted, "clock": clock, "books": books},
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
    books: BookSource | None
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """The book snapshot: ``GET BOOK_PATH?FID_COND_MRKT_DIV_CODE=B&FID_INPUT_ISCD=ISIN``
        with ``authorization: Bearer TOKEN``, ``appkey``, ``appsecret`` and ``tr_id``."""
        url = urlsplit(self.path)
        if url.path != rest_book.BOOK_PATH:
            self._reply(404, _error("EGW00002", f"no such endpoint {url.path}"))
            return
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        app_key, secret = self.headers.get("appkey") or "", self.headers.get("appsecret") or ""
        isin = query.get("FID_INPUT_ISCD", "")
        refusal = self.registry.token_refusal(token, app_key)
        if refusal is None and self.accepted is not None and (app_key, secret) not in self.accepted:
            refusal = rest_book.TOKEN_INVALID
        if refusal is not None:
            self._book_refused(refusal, _TOKEN_MESSAGES[refusal])
        elif self.headers.get("tr_id") != rest_book.BOOK_TR_ID:
            self._book_refused("EGW00002", f"tr_id must be {rest_book.BOOK_TR_ID}")
        elif query.get("FID_COND_MRKT_DIV_CODE") != rest_book.MARKET_CODE:
            self._book_refused("EGW00002", "FID_COND_MRKT_DIV_CODE must be B")
        elif self.books is None:
            self._book_refused("EGW00002", "this exchange serves no book over REST")
        elif (record := self.books(isin)) is None:
            self._book_refused("EGW00002", f"no bond {isin!r}")
        else:
            output = rest_book.book_output(record)
            self._send(200, rest_book.answer_body(output, "MCA00000", "정상처리 되었습니다."))

    def _book_refused(self, msg_cd: str, msg1: str) -> None:
        self._send(500, rest_book.answer_body(None, msg_cd, msg1))

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
            "access_token": self.registry.issue_token(app_key),
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
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def _send(self, status: int, data: bytes) -> None:
        """Standard headers capitalised, KIS's own lower case (``tr_id``, ``tr_cont``): KIS's
        sample reads every all-lower-case header name as a Python identifier."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if urlsplit(self.path).path == rest_book.BOOK_PATH:
            self.send_header("tr_id", rest_book.BOOK_TR_ID)
            self.send_header("tr_cont", "D")  # D or E: the last (here the only) page
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # Request lines only (never bodies, which carry secrets), at debug level.
        logger.debug("approval server: " + format, *args)


_TOKEN_MESSAGES = {
    rest_book.TOKEN_INVALID: "유효하지 않은 token 입니다.",
    rest_book.TOKEN_EXPIRED: "기간이 만료된 token 입니다.",
}


def _error(code: str, description: str) -> dict[str, object]:
    return {"error_code": code, "error_description": description}
