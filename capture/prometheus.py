"""Serving a Prometheus registry as /metrics: the recorder's and the daemon's endpoints alike.

Each process keeps a registry of its own (not prometheus_client's global one) and serves it
from a daemon thread; a port that cannot be bound is a config error naming the key.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import start_http_server

from capture.errors import ConfigError


def serve(registry: CollectorRegistry, address: str, port: int, key: str) -> Callable[[], None]:
    """Serve ``registry`` as /metrics on ``address:port`` from a daemon thread; the function
    that stops it. ``key`` is the config key of the port, for the error.

    Raises:
        ConfigError: the port cannot be bound (in use, or privileged).
    """
    try:
        server, thread = start_http_server(port, addr=address, registry=registry)
    except OSError as exc:
        raise ConfigError(
            key, port, f"cannot listen on {address}:{port} ({exc.strerror}): choose a free "
            "port, or 0 for no metrics",
        ) from None  # fmt: skip

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop
