"""The golden lake of schema version 2, and how it was made.

``tests/data/lake-v2/lake/`` holds what the normalizer of schema version 2 made of the golden
raw log (``tests/data/raw-v1/plain/raw``, see golden.py): every table it writes (quotes,
trades, gaps closed and still open, rejects of every kind) as the live files and the
checkpoint it left, byte for byte.

These files are the contract with every lake already on disk: tests read them with today's
code. While ``SCHEMA_VERSION`` is 2 they must be exactly what today's normalizer makes of the
golden raw log; once the schema moves on, they are the older lake that the refusal and
migration tests start from, so no test has to fake an old version by patching the writer. A
change of the lake's schema bumps ``SCHEMA_VERSION`` and adds ``lake-v3/`` beside this one
(this script, copied and renamed); it never rewrites v2.

Made by ``python -m tests.data.lake_v2`` with the schema-2 normalizer.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from storage.normalize.normalizer import normalize
from storage.schemas import SCHEMA_VERSION

DATA = Path(__file__).resolve().parent
RAW = DATA / "raw-v1" / "plain" / "raw"
HERE = DATA / "lake-v2"
VERSION = 2


def make_lake(data_dir: Path) -> Path:
    """Normalize the golden raw log into ``data_dir`` (raw copied in); its lake folder."""
    shutil.copytree(RAW, data_dir / "raw")
    normalize(data_dir)
    return data_dir / "lake"


def main() -> int:
    """Write lake-v2/ afresh (read the diff: the tests hold every later version to it)."""
    if SCHEMA_VERSION != VERSION:
        print(f"this bondtape writes schema {SCHEMA_VERSION}: lake-v2 stays as it is")
        return 1
    if HERE.exists():
        shutil.rmtree(HERE)
    with tempfile.TemporaryDirectory() as tmp:
        lake = make_lake(Path(tmp))
        shutil.copytree(lake / "live", HERE / "lake" / "live")
        shutil.copy(lake / "checkpoint.json", HERE / "lake" / "checkpoint.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
