"""The snapshot worker on its own, against a small REST server on loopback: a refused token
is forgotten and a new one asked for, every answer goes to raw, a new ack of a queued bond
replaces its request, and requests keep the pace."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from capture.clock import SystemClock
from capture.kis import rest_book
from capture.rawlog import RecordKind, rest
from capture.recorder.approval import AccessTokens, AppCredential
from capture.recorder.snapshots import BookSnapshots, SnapshotOptions
from tests.support.recorder import isins, wait_until
from tests.support.samples import REST_BOOK_SAMPLE, REST_REFUSED_SAMPLE

CREDENTIAL = AppCredential(name="c0", app_key="app", app_secret="secret")


class _Kis(BaseHTTPRequestHandler):
    """tokenP hands out token-1, token-2, ...; the book refuses token-1 as expired."""

    tokens: list[str]
    books: list[tuple[float, str, str]]  # (monotonic time, token, isin)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.tokens.append(f"token-{len(self.tokens) + 1}")
        self._send(200, json.dumps({"access_token": self.tokens[-1], "expires_in": 86400}))

    def do_GET(self) -> None:
        token = self.headers["authorization"].removeprefix("Bearer ")
        isin = parse_qs(urlsplit(self.path).query)["FID_INPUT_ISCD"][0]
        self.books.append((time.monotonic(), token, isin))
        refused = token == "token-1"
        self._send(500 if refused else 200, REST_REFUSED_SAMPLE if refused else REST_BOOK_SAMPLE)

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def kis() -> Iterator[tuple[str, type[_Kis]]]:
    handler = type("_Bound", (_Kis,), {"tokens": [], "books": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def worker(url: str, written: list[tuple[int, bytes]], rate: float = 50.0) -> BookSnapshots:
    clock = SystemClock()
    options = SnapshotOptions(rest_url=url, custtype="P", rate_per_s=rate, attempts=3,
                              backoff_base_s=0.01, backoff_cap_s=0.02, timeout_s=5.0)  # fmt: skip
    tokens = AccessTokens(url, CREDENTIAL, monotonic=clock.monotonic, on_new_token=lambda _: None)

    def append(kind: RecordKind, conn: int, payload: bytes) -> None:
        assert kind is RecordKind.REST_RECV
        written.append((conn, payload))

    return BookSnapshots(options, CREDENTIAL, tokens, clock=clock, rng=random.Random(1),
                         append=append)  # fmt: skip


def test_a_refused_token_is_forgotten_and_the_next_try_asks_for_a_new_one() -> None:
    written: list[tuple[int, bytes]] = []
    with kis() as (url, server):
        snapshots = worker(url, written)
        snapshots.start()
        try:
            snapshots.request(7, isins(1)[0])
            wait_until(lambda: snapshots.fetched == 1, 5, "the book")
        finally:
            snapshots.stop()
        assert server.tokens == ["token-1", "token-2"]
        assert [token for _, token, _ in server.books] == ["token-1", "token-2"]
    answers = [rest.read_rest(payload) for _, payload in written]
    assert [(a.status, a.body.decode()) for a in answers] == [
        (500, REST_REFUSED_SAMPLE), (200, REST_BOOK_SAMPLE)
    ]  # fmt: skip
    assert {conn for conn, _ in written} == {7}
    assert (snapshots.retries, snapshots.failed) == (1, 0)
    assert snapshots.status()["last_error"].startswith(rest_book.TOKEN_EXPIRED)


def test_requests_keep_the_pace_and_a_second_ack_of_a_queued_bond_adds_none() -> None:
    written: list[tuple[int, bytes]] = []
    bonds = isins(4)
    with kis() as (url, server):
        server.tokens.append("token-1")  # so the first token handed out is token-2: accepted
        snapshots = worker(url, written, rate=10.0)
        for isin in bonds:
            snapshots.request(1, isin)
        snapshots.request(2, bonds[-1])  # its reconnect's ack, before the first one was sent
        snapshots.start()
        try:
            wait_until(lambda: snapshots.fetched == len(bonds), 5, "every book")
        finally:
            snapshots.stop()
        times = [t for t, _, _ in server.books]
        assert [isin for _, _, isin in server.books] == bonds
    assert [conn for conn, _ in written] == [1, 1, 1, 2]
    spacing = [b - a for a, b in itertools.pairwise(times)]
    # 10 a second: sent 0.1 s apart; seen by the server give or take each request's latency.
    assert times[-1] - times[0] >= 3 * 0.1 - 0.02 and min(spacing) >= 0.05, spacing
