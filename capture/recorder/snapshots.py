"""A REST book snapshot for each bond whose H0BJASP0 subscription is acked, so a bond whose
first streamed book comes hours later still has a book from its first minute.

One :class:`BookSnapshots` per session (per app key): the session only queues an ISIN
(:meth:`BookSnapshots.request`, never blocking the websocket), and a worker thread sends the
requests paced under ``rate_per_s`` (KIS limits REST calls per app key and second: about 20
for a real account, 2 for a paper one), each response into raw as a REST_RECV record exactly
as received, whatever its status. A request that fails (unreachable, refused, not a book)
is tried again after the recorder's backoff (full jitter), up to ``attempts`` times in all;
a refused token is forgotten first, so the next try asks for a new one. Then the fetch is
given up, logged and counted, and the bond waits for its first streamed book. A new ack of
a bond already queued replaces its request rather than adding one. The recorder only
records: an answer is read for its ``rt_cd``/``msg_cd``, never for the book's values.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from capture.backoff import full_jitter_delay
from capture.clock import Clock
from capture.errors import ApprovalError, DiskFull
from capture.kis import rest_book
from capture.rawlog import RecordKind, rest
from capture.recorder.approval import AccessTokens, AppCredential
from capture.recorder.options import RecorderOptions

log = logging.getLogger(__name__)


def book_snapshots(
    options: RecorderOptions,
    credential: AppCredential,
    *,
    clock: Clock,
    rng: random.Random,
    on_new_token: Callable[[str], None],
    append: Callable[[RecordKind, int, bytes], None],
) -> BookSnapshots | None:
    """The snapshot worker of a session for ``credential``; None when snapshots are off."""
    if not options.rest_snapshots:
        return None
    tokens = AccessTokens(
        options.rest_url, credential, monotonic=clock.monotonic, on_new_token=on_new_token
    )
    snapshot_options = SnapshotOptions(
        rest_url=options.rest_url, custtype=options.custtype,
        rate_per_s=options.rest_rate_per_s, attempts=options.rest_attempts,
        backoff_base_s=options.backoff_base_s, backoff_cap_s=options.backoff_cap_s,
        timeout_s=options.connect_timeout_s,
    )  # fmt: skip
    return BookSnapshots(snapshot_options, credential, tokens, clock=clock, rng=rng, append=append)


@dataclass(slots=True)
class _Job:
    conn: int
    isin: str
    attempt: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotOptions:
    """How the snapshots of one app key are fetched; times in seconds."""

    rest_url: str
    custtype: str
    rate_per_s: float
    attempts: int
    backoff_base_s: float
    backoff_cap_s: float
    timeout_s: float


class BookSnapshots:
    """The snapshot worker of one credential; ``append(kind, conn, payload)`` writes raw."""

    def __init__(
        self,
        options: SnapshotOptions,
        credential: AppCredential,
        tokens: AccessTokens,
        *,
        clock: Clock,
        rng: random.Random,
        append: Callable[[RecordKind, int, bytes], None],
    ) -> None:
        self._options = options
        self._credential = credential
        self._tokens = tokens
        self._clock = clock
        self._rng = rng
        self._append = append
        self._due: list[tuple[float, int, str]] = []  # (monotonic due, seq, isin): a heap
        self._jobs: dict[str, _Job] = {}  # queued or retrying, by ISIN
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._next_send_s = 0.0
        self._thread = threading.Thread(
            target=self._run, name=f"rest-{credential.name}", daemon=True
        )
        self.fetched = self.failed = self.retries = 0
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def request(self, conn: int, isin: str) -> None:
        """Queue the snapshot of ``isin`` for connection ``conn``; returns at once."""
        with self._cond:
            job = self._jobs.get(isin)
            if job is not None:
                job.conn, job.attempt = conn, 0  # the newer ack's, from the first attempt
                return
            self._jobs[isin] = _Job(conn, isin)
            heapq.heappush(self._due, (self._clock.monotonic(), next(self._seq), isin))
            self._cond.notify()

    def stop(self) -> None:
        """Stop the worker without waiting for it (a request in flight ends by its own
        timeout, the thread is a daemon): once this returns nothing more is appended to raw,
        as appending and stopping take the same lock."""
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def status(self) -> dict[str, Any]:
        """This worker's part of a session's ``status.json`` entry."""
        with self._cond:
            pending = len(self._jobs)
        return {"fetched": self.fetched, "failed": self.failed, "retries": self.retries,
                "pending": pending, "last_error": self.last_error}  # fmt: skip

    # --- the worker -------------------------------------------------------------------------

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            problem = self._fetch(job)
            with self._cond:
                if self._stopped:
                    return
                if problem is None:
                    self.fetched += 1
                    self._jobs.pop(job.isin, None)
                    continue
                self.last_error = problem
                job.attempt += 1
                if job.attempt < self._options.attempts:
                    self.retries += 1
                    delay = full_jitter_delay(
                        job.attempt - 1, self._rng,
                        base_s=self._options.backoff_base_s, cap_s=self._options.backoff_cap_s,
                    )  # fmt: skip
                    due = self._clock.monotonic() + delay
                    heapq.heappush(self._due, (due, next(self._seq), job.isin))
                    log.info("conn %d: REST book of %s: %s; trying again in %.1f s",
                             job.conn, job.isin, problem, delay)  # fmt: skip
                    continue
                self.failed += 1
                self._jobs.pop(job.isin, None)
            log.warning(
                "conn %d: no REST book for %s after %d attempt(s) (%s); it waits for its first "
                "streamed book", job.conn, job.isin, job.attempt, problem,
            )  # fmt: skip

    def _next_job(self) -> _Job | None:
        """The next job due, once the pace allows it; None once stopped."""
        with self._cond:
            while True:
                if self._stopped:
                    return None
                now_s = self._clock.monotonic()
                if self._due and self._due[0][0] <= now_s and self._next_send_s <= now_s:
                    _, _, isin = heapq.heappop(self._due)
                    self._next_send_s = now_s + 1.0 / self._options.rate_per_s
                    return self._jobs[isin]
                wake = [self._next_send_s, self._due[0][0]] if self._due else []
                self._cond.wait(max(max(wake) - now_s, 0.0) if wake else None)

    def _fetch(self, job: _Job) -> str | None:
        """One request: its response into raw; None if it is a book, else why not."""
        options = self._options
        try:
            token = self._tokens.get()
        except ApprovalError as exc:
            return str(exc)
        headers = rest_book.book_headers(
            token, self._credential.app_key, self._credential.app_secret, options.custtype
        )
        query = rest_book.book_query(job.isin)
        request = urllib.request.Request(
            f"{options.rest_url}{rest_book.BOOK_PATH}?{query}", headers=headers
        )
        sent_ns = self._clock.now_ns()
        try:
            with urllib.request.urlopen(request, timeout=options.timeout_s) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            try:
                status, body = exc.code, exc.read()
            except OSError as read_failed:
                return f"HTTP {exc.code}, its body lost: {type(read_failed).__name__}"
        except (OSError, ValueError) as exc:  # the URL's and the socket's errors
            return f"request failed: {type(exc).__name__}"
        self._record(job, rest.RestResponse(
            method="GET", path=rest_book.BOOK_PATH, query=query, tr_id=rest_book.BOOK_TR_ID,
            isin=job.isin, status=status, sent_ns=sent_ns, body=body,
        ))  # fmt: skip
        answer = rest_book.classify_book_answer(status, body)
        if answer.ok:
            return None
        if answer.token_refused:
            self._tokens.invalidate(token)
        return f"{answer.msg_cd or 'HTTP ' + str(status)} {answer.msg1}".strip()

    def _record(self, job: _Job, response: rest.RestResponse) -> None:
        with self._cond:
            if self._stopped:  # the recorder may be writing its stop: nothing after it
                return
            with contextlib.suppress(DiskFull):  # counted by the writer; the time, a gap
                self._append(RecordKind.REST_RECV, job.conn, rest.encode_rest(response))
