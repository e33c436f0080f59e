"""Lake values compared with what the feed sent, digit for digit: the end-to-end and the
reliability tests hold the lake to the simulator's truth log with these."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from capture.kis.layouts import Kind


def as_sent(kind: Kind, value: Any) -> str:
    """The wire text a typed lake value stands for: prices and yields keep their scale, and
    ``exch_time`` is text, the very characters sent."""
    return comparable(kind, str(value))


def comparable(kind: Kind, text: str) -> str:
    """Rates are DECIMAL(8,3) while KIS sends 2 decimals ("0.05"): compare them exactly as
    numbers (Decimal, never float); every other kind compares as the very digits sent."""
    return str(Decimal(text).normalize()) if kind is Kind.RATE else text
