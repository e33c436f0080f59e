"""A credential's two REST grants, fetched per credential and held in memory only: the
websocket approval key and the access token of KIS's REST API.

``POST /oauth2/Approval`` with ``{"grant_type", "appkey", "secretkey"}`` answers
``{"approval_key": "<uuid>"}``; ``POST /oauth2/tokenP`` with ``{"grant_type", "appkey",
"appsecret"}`` answers ``{"access_token", "expires_in", ...}``. Both last about 24 h. KIS
issues a token at most once a minute (and texts the account holder at each issue), so a
token is asked for once and reused: :class:`HeldGrant` renews one before it runs out, and
when the server refuses it (OPSP0011 for an approval key, EGW00121/EGW00123 for a token).
No grant, nor the app secret, ever appears in an error message, a log line or raw.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from capture.errors import ApprovalError
from capture.kis import rest_book

RENEW_AFTER_S = 20 * 3600.0
APPROVAL_LASTS_S = 24 * 3600.0


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


def _post_grant(
    url: str, body: bytes, credential: AppCredential, what: str, timeout_s: float
) -> object:
    """POST ``body`` (JSON) to a grant endpoint; the answer's JSON.

    Raises:
        ApprovalError: unreachable, an HTTP error, or an answer that is not JSON; the
            message names the credential and KIS's error code, never a secret.
    """
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"content-type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ApprovalError(
            f"{what} for credential {credential.name!r} refused by {url}: "
            f"HTTP {exc.code} {_error_code(exc)}"
            + (_CHECK_CREDENTIAL if exc.code in (401, 403) else "")
        ) from None
    except (OSError, ValueError) as exc:
        raise ApprovalError(
            f"{what} for credential {credential.name!r} failed at {url}: {type(exc).__name__}"
        ) from None


def request_approval_key(url: str, credential: AppCredential, *, timeout_s: float = 10.0) -> str:
    """Ask the approval endpoint for a new websocket approval key.

    Raises:
        ApprovalError: see :func:`_post_grant`, or an answer without an ``approval_key``.
    """
    body = json.dumps(
        {
            "grant_type": "client_credentials",
            "appkey": credential.app_key,
            "secretkey": credential.app_secret,
        }
    ).encode()
    answer = _post_grant(url, body, credential, "approval", timeout_s)
    key = answer.get("approval_key") if isinstance(answer, dict) else None
    if not isinstance(key, str) or not key:
        raise ApprovalError(f"approval answer from {url} has no approval_key")
    return key


def request_access_token(
    rest_url: str, credential: AppCredential, *, timeout_s: float = 10.0
) -> tuple[str, float]:
    """Ask tokenP of the REST server at ``rest_url`` for an access token: (token, seconds
    it lasts).

    Raises:
        ApprovalError: see :func:`_post_grant`, or an answer without an ``access_token``.
    """
    url = f"{rest_url}{rest_book.TOKEN_PATH}"
    body = rest_book.token_request(credential.app_key, credential.app_secret)
    token = rest_book.read_token(_post_grant(url, body, credential, "access token", timeout_s))
    if token is None:
        raise ApprovalError(f"access token answer from {url} has no access_token")
    return token


def _error_code(exc: urllib.error.HTTPError) -> str:
    """Only the KIS error code from an error body: the rest might echo the request."""
    try:
        answer = json.loads(exc.read())
    except (OSError, ValueError):
        return ""
    return str(answer.get("error_code", "")) if isinstance(answer, dict) else ""


class HeldGrant:
    """The grant in force of one credential, renewed when old or refused.

    ``fetch`` asks for a new one: (the grant, seconds it lasts). It is renewed once
    ``renew_after_s`` or nine tenths of its life has passed, whichever is first.
    ``on_new`` is told each new grant first (the recorder registers it with the redactor
    before it can reach a log line or a frame).
    """

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        *,
        monotonic: Callable[[], float],
        on_new: Callable[[str], None],
        renew_after_s: float = RENEW_AFTER_S,
    ) -> None:
        self._fetch = fetch
        self._monotonic = monotonic
        self._on_new = on_new
        self._renew_after_s = renew_after_s
        self._grant: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        """The grant in force, fetching a new one if there is none or it is old.

        Raises:
            ApprovalError: the fetch failed.
        """
        with self._lock:
            now_s = self._monotonic()
            if self._grant is None or now_s >= self._renew_at:
                grant, lasts_s = self._fetch()
                self._on_new(grant)
                self._grant = grant
                self._renew_at = now_s + min(self._renew_after_s, 0.9 * lasts_s)
            return self._grant

    def invalidate(self, rejected: str) -> None:
        """Forget ``rejected`` (the server refused it) so the next :meth:`get` renews."""
        with self._lock:
            if self._grant == rejected:
                self._grant = None


class ApprovalKeys(HeldGrant):
    """The websocket approval key of one credential (see :class:`HeldGrant`)."""

    def __init__(
        self,
        url: str,
        credential: AppCredential,
        *,
        monotonic: Callable[[], float],
        on_new_key: Callable[[str], None],
        renew_after_s: float = RENEW_AFTER_S,
    ) -> None:
        super().__init__(
            lambda: (request_approval_key(url, credential), APPROVAL_LASTS_S),
            monotonic=monotonic,
            on_new=on_new_key,
            renew_after_s=renew_after_s,
        )


class AccessTokens(HeldGrant):
    """The REST access token of one credential, asked for once and reused until it runs out
    or is refused (see :class:`HeldGrant`)."""

    def __init__(
        self,
        rest_url: str,
        credential: AppCredential,
        *,
        monotonic: Callable[[], float],
        on_new_token: Callable[[str], None],
    ) -> None:
        super().__init__(
            lambda: request_access_token(rest_url, credential),
            monotonic=monotonic,
            on_new=on_new_token,
        )
