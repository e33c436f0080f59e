"""A session's feeds, by TR and by (TR, ISIN): counters, last records, and the stale watch.

The thin layer around :mod:`.stale`: it hands the watch the session's hours and connection,
logs each change once (WARNING when a pair turns stale, INFO when it recovers), and gives
``status.json`` and the metrics what they show per TR and the stale pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from capture.clock import NS_PER_S
from capture.kis import Pair
from capture.recorder.options import RecorderOptions
from capture.recorder.stale import Arrivals, Silence, StaleWatch, session_open_ns

log = logging.getLogger(__name__)


class FeedHealth:
    """One session's feeds; :attr:`arrivals` is fed by its receive loop."""

    def __init__(self, pairs: Sequence[Pair], options: RecorderOptions) -> None:
        self.arrivals = Arrivals(pairs)
        self._watch = StaleWatch(factor=options.stale_after_factor, min_s=options.stale_min_s)
        self._hours, self._special = options.session_hours, options.special_hours

    def check(self, now_ns: int, connection: tuple[int, int] | None) -> None:
        """Run the watch with the live connection's (id, connected_ns), or None while down,
        and log what changed."""
        opened = session_open_ns(now_ns, self._hours, self._special)
        since = None if connection is None or opened is None else max(opened, connection[1])
        counters = {
            (tr.decode(), isin.decode()): (seen[0], seen[1])
            for (tr, isin), seen in self.arrivals.by_pair.items()
        }
        changes = self._watch.check(counters, now_ns, since)
        conn = connection[0] if connection else 0
        for silence in changes.became_stale:
            log.warning(
                "conn %d: %s %s stale: silent for %.0f s, usually every %.1f s",
                conn, *silence.pair, silence.silent_s, silence.usual_s,
            )  # fmt: skip
        for tr_id, isin in changes.recovered:
            log.info("conn %d: %s %s recovered: records arrive again", conn, tr_id, isin)

    def stale(self, now_ns: int) -> list[Silence]:
        return self._watch.stale(now_ns)

    def status(self, now_ns: int) -> dict[str, Any]:
        """``by_tr`` (frames, records, last frame age) and ``stale`` (pairs, silences)."""
        return {
            "by_tr": {
                tr.decode(): {
                    "frames": seen[0],
                    "records": seen[1],
                    "last_frame_age_s": (now_ns - seen[2]) / NS_PER_S if seen[2] else None,
                }
                for tr, seen in self.arrivals.by_tr.items()
            },
            "stale": [
                {
                    "tr_id": s.pair[0],
                    "isin": s.pair[1],
                    "silent_s": s.silent_s,
                    "usual_s": s.usual_s,
                }
                for s in self._watch.stale(now_ns)
            ],
        }
