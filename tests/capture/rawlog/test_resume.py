from __future__ import annotations

from capture.rawlog.resume import ExistingSegment, plan_resume
from tests.support.rawlog import seoul_ns

NINE, TEN = seoul_ns(2026, 11, 26, 9, 0, 0), seoul_ns(2026, 11, 26, 10, 0, 0)


def seg(open_ns: int, **flags: bool) -> ExistingSegment:
    plain, sealed, damaged = (flags.get(k, d) for k, d in (("plain", True), ("sealed", False),
                                                            ("damaged", False)))  # fmt: skip
    return ExistingSegment(f"2026-11-26/{open_ns:019d}-rec1.seg", open_ns, plain, sealed, damaged,
                           outdated=flags.get("outdated", False))  # fmt: skip


def test_a_first_start_names_a_new_segment_for_now() -> None:
    plan = plan_resume([], NINE + 5)
    assert (plan.append_to, plan.new_open_ns, plan.seal) == (None, NINE + 5, ())


def test_the_latest_plain_segment_of_this_hour_is_continued_and_older_ones_sealed() -> None:
    old, latest = seg(NINE - 3600), seg(NINE + 10)
    plan = plan_resume([latest, old], NINE + 20)
    assert (plan.append_to, plan.new_open_ns, plan.seal) == (latest.identity, None, (old.identity,))


def test_an_earlier_hour_a_damaged_an_outdated_or_a_sealed_latest_segment_means_a_new_one() -> None:
    for latest, now in ((seg(NINE + 10), TEN + 1), (seg(NINE + 10, damaged=True), NINE + 20),
                        (seg(NINE + 10, outdated=True), NINE + 20)):  # fmt: skip
        plan = plan_resume([latest], now)
        assert (plan.append_to, plan.seal) == (None, (latest.identity,))
        assert plan.new_open_ns == now
    both = seg(NINE + 10, sealed=True)  # a crash after the verified rename
    plan = plan_resume([both], NINE + 20)
    assert (plan.append_to, plan.new_open_ns, plan.seal) == (None, NINE + 20, (both.identity,))


def test_a_clock_behind_the_latest_segment_names_the_new_one_just_after_it() -> None:
    sealed = seg(TEN, plain=False, sealed=True)
    plan = plan_resume([sealed], NINE)
    assert (plan.append_to, plan.new_open_ns, plan.seal) == (None, TEN + 1, ())
