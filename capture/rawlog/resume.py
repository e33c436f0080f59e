"""Where a raw writer starting over a previous run's files resumes: a pure decision.

The writer first repairs what it finds (it cuts torn tails and notes damaged segments), then
asks :func:`plan_resume` which segment to append to, which closed ones to seal, and what to
name a new one. Rules:

- Append only to this recorder's latest segment, only if it is plain and undamaged (never
  append after damage: ``raw verify`` keeps reporting it), of today's format version (its
  header says what its records may be) and it belongs to the current Seoul hour or a later
  one (a clock stepped back); otherwise open a new segment.
- A new segment is named for ``now``, or 1 ns after the latest existing segment (plain or
  sealed) when that is not earlier, so names strictly increase and read order is write order.
- Every other plain segment is closed: seal it. One that is also sealed already (a crash after
  the verified rename) is sealed again, which only removes the plain copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from capture.clock import seoul_hour_key


@dataclass(frozen=True, slots=True)
class ExistingSegment:
    """One of this recorder's segments as found on disk, after tail repair."""

    identity: str
    open_ns: int
    plain: bool  # the plain file exists
    sealed: bool  # the .zst exists
    damaged: bool = False  # a corrupt region inside the plain file
    outdated: bool = False  # its header has another format version than today's writer's


@dataclass(frozen=True, slots=True)
class ResumePlan:
    """``append_to``: the identity to continue, else None and ``new_open_ns`` names a new one;
    ``seal``: identities of closed plain segments, oldest first."""

    append_to: str | None
    new_open_ns: int | None
    seal: tuple[str, ...]


def plan_resume(segments: Sequence[ExistingSegment], now_ns: int) -> ResumePlan:
    """Decide where to resume, given this recorder's segments in any order."""
    ordered = sorted(segments, key=lambda s: s.open_ns)
    plain = [s for s in ordered if s.plain]
    latest = ordered[-1] if ordered else None
    if (
        latest is not None
        and latest.plain
        and not latest.sealed
        and not latest.damaged
        and not latest.outdated
        and seoul_hour_key(latest.open_ns) >= seoul_hour_key(now_ns)
    ):
        return ResumePlan(latest.identity, None, tuple(s.identity for s in plain[:-1]))
    new_open_ns = next_open_ns(now_ns, None if latest is None else latest.open_ns)
    return ResumePlan(None, new_open_ns, tuple(s.identity for s in plain))


def next_open_ns(candidate_ns: int, latest_open_ns: int | None) -> int:
    """The ``open_ns`` that names a new segment: ``candidate_ns``, or 1 ns after the latest
    segment if that is not earlier (a restart in the same instant, a clock stepped back)."""
    return candidate_ns if latest_open_ns is None else max(candidate_ns, latest_open_ns + 1)
