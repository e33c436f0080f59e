"""Where bondtape talks to KIS and how fast: the ``[kis]`` URLs and ``[capture]
rest_rate_per_s``, validated here for :mod:`jobs.config.config`.

KIS serves the approval key, the access token and the REST book snapshot from one server, so
``rest_url`` (the REST API's base URL, under which tokenP and the book hang) defaults to the
server of ``approval_url``: a config pointed at ``bondtape simulate`` needs no third URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from capture.errors import ConfigError
from jobs.config.section import Section

REST_RATE_LIMIT = 20.0
"""REST requests a second KIS takes per app key of a real account (EGW00201 beyond)."""


def server_of(url: str) -> str:
    """``scheme://host:port`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def kis_urls(section: Section) -> tuple[str, str, str | None]:
    """(ws_url, approval_url, rest_url) of the ``[kis]`` section; rest_url None when left
    out (it is then approval_url's server).

    Raises:
        ConfigError: a URL of the wrong scheme, an approval_url without its path, or a
            rest_url with one.
    """
    ws_url = section.take("ws_url", str)
    if not ws_url.startswith(("ws://", "wss://")):
        raise ConfigError(section.key("ws_url"), ws_url, "must start with ws:// or wss://")
    approval_url = section.take("approval_url", str)
    if not approval_url.startswith(("http://", "https://")):
        raise ConfigError(
            section.key("approval_url"), approval_url, "must be the http(s) URL of /oauth2/Approval"
        )
    if urlsplit(approval_url).path in ("", "/"):  # the server's root, as simulate prints it
        raise ConfigError(
            section.key("approval_url"), approval_url,
            f"add the endpoint's path: {approval_url.rstrip('/')}/oauth2/Approval",
        )  # fmt: skip
    return ws_url, approval_url, _rest_url(section)


def _rest_url(section: Section) -> str | None:
    given = section.take("rest_url", str)
    if given is None:
        return None
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            section.key("rest_url"), given,
            "must be the http(s) base URL of KIS's REST API, e.g. "
            '"https://openapi.koreainvestment.com:9443", or leave it out to use approval_url\'s',
        )  # fmt: skip
    if parts.path not in ("", "/") or parts.query:
        raise ConfigError(
            section.key("rest_url"), given,
            f"give the server only, without a path: {parts.scheme}://{parts.netloc}",
        )  # fmt: skip
    return server_of(given)


def rest_rate(section: Section) -> float:
    """``rest_rate_per_s`` of ``[capture]``: above 0, at most KIS's limit.

    Raises:
        ConfigError: not a number above 0, or above :data:`REST_RATE_LIMIT`.
    """
    rate = section.positive("rest_rate_per_s")
    if rate > REST_RATE_LIMIT:
        raise ConfigError(
            section.key("rest_rate_per_s"), rate,
            f"KIS takes at most about {REST_RATE_LIMIT:g} REST requests a second per app key "
            "(it answers EGW00201 beyond): use 20 or less, and less again if other programs "
            "use the same app key",
        )  # fmt: skip
    return rate
