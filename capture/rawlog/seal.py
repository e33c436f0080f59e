"""Sealing: a closed segment becomes ``NAME.seg.zst``, verified before the plain file goes.

Raw bytes are the truth (design.md, invariant 1), so the compressed copy is written under a
temporary name, fsynced, read back and compared with the plain bytes, and only then renamed
into place. A crash at any step leaves either the plain file alone, or both files with a
complete ``.zst``; the reader then uses the ``.zst`` and the next seal removes the plain file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO

import zstandard

from capture.durable import fsync_dir
from capture.errors import RawLogError

log = logging.getLogger(__name__)

SEALED_SUFFIX = ".zst"
TMP_SUFFIX = ".tmp"
_CHUNK = 1 << 20
_LEVEL = 3


def sealed_path(plain: Path) -> Path:
    return plain.with_name(plain.name + SEALED_SUFFIX)


def open_sealed(path: Path) -> BinaryIO:
    """A stream of a sealed segment's uncompressed bytes, so readers never hold a whole file.

    Read errors surface as ``zstandard.ZstdError`` from ``read``; callers report them.
    """
    raw = path.open("rb")
    return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)  # type: ignore[return-value]


def seal_segment(path: Path) -> Path:
    """Compress the closed plain segment at ``path``, verify the copy, remove the plain file.

    Safe to call again after a crash at any point: an existing ``.zst`` was verified before
    it got its name, so it is compared once more and the plain file is removed.

    Raises:
        RawLogError: neither file exists, the compressed copy differs from the plain
            bytes, or the filesystem refuses (the plain file is then left in place).
    """
    target = sealed_path(path)
    if not path.exists():
        if target.exists():
            return target
        raise RawLogError(f"cannot seal {path}: no such segment")
    tmp = target.with_name(target.name + TMP_SUFFIX)
    try:
        if not target.exists():
            _compress(path, tmp)
            _check_identical(path, tmp)
            os.replace(tmp, target)
            fsync_dir(path.parent)
        else:
            _check_identical(path, target)
        path.unlink()
        fsync_dir(path.parent)
    except (OSError, zstandard.ZstdError) as exc:
        raise RawLogError(f"cannot seal {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info("sealed %s (%d bytes compressed)", target, target.stat().st_size)
    return target


def _compress(src_path: Path, dst_path: Path) -> None:
    compressor = zstandard.ZstdCompressor(level=_LEVEL, write_checksum=True)
    with src_path.open("rb") as src, dst_path.open("wb") as dst:
        compressor.copy_stream(src, dst, read_size=_CHUNK)
        dst.flush()
        os.fsync(dst.fileno())


def _check_identical(plain_path: Path, sealed: Path) -> None:
    """Raises RawLogError unless ``sealed`` decompresses to exactly the bytes of the plain file."""
    with plain_path.open("rb") as plain, open_sealed(sealed) as unpacked:
        offset = 0
        while True:
            expected = plain.read(_CHUNK)
            got = _read_exactly(unpacked, len(expected)) if expected else unpacked.read(1)
            if got != expected:
                raise RawLogError(
                    f"{sealed} does not match {plain_path} near offset {offset}; plain kept"
                )
            if not expected:
                return
            offset += len(expected)


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, looping because a decompressing stream may return fewer."""
    parts: list[bytes] = []
    while n > 0:
        part = stream.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)
