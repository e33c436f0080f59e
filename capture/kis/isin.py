"""ISIN validation for Korean bonds: ``KR`` + 9 alphanumerics + a Luhn check digit."""

from __future__ import annotations

import re

_SHAPE = re.compile(r"KR[0-9A-Z]{9}[0-9]")


def check_digit(body: str) -> str:
    """The ISIN check digit of the first 11 characters (letters count as A=10 … Z=35).

    Raises:
        ValueError: ``body`` is not 11 characters of 0-9/A-Z.
    """
    if len(body) != 11 or not body.isalnum() or not body.isascii() or body != body.upper():
        raise ValueError(f"an ISIN body is 11 characters of 0-9 and A-Z, got {body!r}")
    digits = "".join(str(int(c, 36)) for c in body)
    total = 0
    # Luhn: double every second digit from the right, starting with the rightmost.
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def isin_problem(isin: str) -> str | None:
    """Why ``isin`` is not a valid Korean ISIN, or None when it is."""
    if not _SHAPE.fullmatch(isin):
        return "an ISIN is 'KR', 9 characters of 0-9/A-Z and a check digit (12 in all)"
    expected = check_digit(isin[:11])
    if isin[11] != expected:
        return f"check digit is {isin[11]}, expected {expected}"
    return None


def is_valid_isin(isin: str) -> bool:
    return isin_problem(isin) is None
