"""The websocket approval key, fetched over REST per credential and held in memory only.

``POST /oauth2/Approval`` with ``{"grant_type", "appkey", "secretkey"}`` answers
``{"approval_key": "<uuid>"}``. The key lasts about 24 h and is checked when a subscription
is registered, so :class:`ApprovalKeys` renews it before that and whenever the server says
OPSP0011. Neither the key nor the app secret ever appears in an error message.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from capture.errors import ApprovalError

RENEW_AFTER_S = 20 * 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AppCredential:
    """One KIS app: ``name`` is what logs and status show; the rest is secret."""

    name: str
    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)


_CHECK_CREDENTIAL = (
    "; check the app key and secret in the environment variables its [[kis.credentials]] "
    "table names"
)


def request_approval_key(url: str, credential: AppCredential, *, timeout_s: float = 10.0) -> str:
    """Ask the approval endpoint for a new websocket approval key.

    Raises:
        ApprovalError: the endpoint is unreachable, answers an HTTP error, or answers
            without an ``approval_key``; the message names the credential, never its secrets.
    """
    body = json.dumps(
        {
            "grant_type": "client_credentials",
            "appkey": credential.app_key,
            "secretkey": credential.app_secret,
        }
    ).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"content-type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ApprovalError(
            f"approval for credential {credential.name!r} refused by {url}: "
            f"HTTP {exc.code} {_error_code(exc)}"
            + (_CHECK_CREDENTIAL if exc.code in (401, 403) else "")
        ) from None
    except (OSError, ValueError) as exc:
        raise ApprovalError(
            f"approval for credential {credential.name!r} failed at {url}: {type(exc).__name__}"
        ) from None
    key = answer.get("approval_key") if isinstance(answer, dict) else None
    if not isinstance(key, str) or not key:
        raise ApprovalError(f"approval answer from {url} has no approval_key")
    return key


def _error_code(exc: urllib.error.HTTPError) -> str:
    """Only the KIS error code from an error body: the rest might echo the request."""
    try:
        answer = json.loads(exc.read())
    except (OSError, ValueError):
        return ""
    return str(answer.get("error_code", "")) if isinstance(answer, dict) else ""


class ApprovalKeys:
    """The current approval key of one credential, renewed when old or rejected.

    ``on_new_key`` is told each new key first (the recorder registers it with the redactor
    before the key can reach a log line or a frame).
    """

    def __init__(
        self,
        url: str,
        credential: AppCredential,
        *,
        monotonic: Callable[[], float],
        on_new_key: Callable[[str], None],
        renew_after_s: float = RENEW_AFTER_S,
    ) -> None:
        self._url = url
        self._credential = credential
        self._monotonic = monotonic
        self._on_new_key = on_new_key
        self._renew_after_s = renew_after_s
        self._key: str | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        """The key in force, fetching a new one if there is none or it is old.

        Raises:
            ApprovalError: see :func:`request_approval_key`.
        """
        with self._lock:
            now = self._monotonic()
            if self._key is None or now - self._fetched_at >= self._renew_after_s:
                key = request_approval_key(self._url, self._credential)
                self._on_new_key(key)
                self._key, self._fetched_at = key, now
            return self._key

    def invalidate(self, rejected: str) -> None:
        """Forget ``rejected`` (the server said OPSP0011) so the next :meth:`get` renews."""
        with self._lock:
            if self._key == rejected:
                self._key = None
