"""The committed set of the manifest is the superseded rule's plain definition, partition by
partition across both tiers: a file is committed unless another file of its partition holds
its range (on equal ranges the hist file wins). The rule lives only in Python now
(storage/lake/ranges.py); the catalog lists what this commits, and no SQL re-derives it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from capture.rawlog import Position
from storage.lake.manifest import scan
from storage.lake.ranges import HIST_PREFIX, LIVE_PREFIX, RawRange

SEGMENTS = [f"2026-11-26/17956548{n}0000000000-rec1.seg" for n in range(3)]
PARTITIONS = ["quotes/date=2026-11-26/isin=KR103502GD31", "rejects/date=2026-11-26"]

position = st.builds(Position, st.sampled_from(SEGMENTS), st.integers(0, 6))
ranged_file = st.tuples(
    st.sampled_from(PARTITIONS),
    st.booleans(),
    st.tuples(position, position).map(
        lambda pair: sorted(pair, key=lambda p: (p.segment, p.offset))
    ),
)


def inside(inner: RawRange, outer: RawRange) -> bool:
    def key(p: Position) -> tuple[str, int]:
        return p.segment, p.offset

    return key(outer.start) <= key(inner.start) and key(inner.end) <= key(outer.end)


@settings(max_examples=60, deadline=None)
@given(st.lists(ranged_file, max_size=12))
def test_the_committed_files_are_those_no_other_file_of_their_partition_holds(
    files: list[tuple[str, bool, list[Position]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        made: dict[str, tuple[str, bool, RawRange]] = {}
        for partition, hist, (start, end) in files:
            rng = RawRange(start, end)
            tier = "hist" if hist else "live"
            rel = f"{tier}/{partition}/{rng.file_name(HIST_PREFIX if hist else LIVE_PREFIX)}"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).touch()
            made[rel] = (partition, hist, rng)
        (root / "live" / PARTITIONS[0] / "open.parquet").parent.mkdir(parents=True, exist_ok=True)
        (root / "live" / PARTITIONS[0] / "open.parquet").touch()  # read by glob: not listed

        manifest = scan(root, now_ns=7)

        expected = {
            rel
            for rel, (part, hist, rng) in made.items()
            if not any(
                o != rel
                and o_part == part
                and inside(rng, o_rng)
                and (o_rng != rng or (o_hist and not hist))
                for o, (o_part, o_hist, o_rng) in made.items()
            )
        }
        committed = {rel for days in manifest.files.values() for r in days.values() for rel in r}
        assert committed == expected
        assert set(manifest.tombstones) == set(made) - expected
        assert set(manifest.tombstones.values()) <= {7}
