"""KIS's bond master file (``bond_code.mst``): the list of listed bonds, to choose ISINs from.

The file is cp949 text, one bond a line, fixed width (docs/kis-protocol.md, "The market and
its instruments"): ``[0:2]`` type, ``[2:4]`` class, ``[4:16]`` ISIN, ``[16:-26]`` name,
``[-26:-24]`` interest class, then listing, issue and maturity dates as YYYYMMDD. The trailing
fields are taken from the end of the line, so a name of any width parses the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from capture.errors import BadMasterLine
from capture.kis.isin import isin_problem

ISSUER_KINDS = {"1": "government", "2": "municipal", "3": "special", "6": "corporate"}
"""The third character of a Korean bond ISIN hints at its issuer."""


@dataclass(frozen=True, slots=True)
class Bond:
    isin: str
    name: str
    bond_type: str
    bond_class: str
    interest_class: str
    listed: dt.date | None
    issued: dt.date | None
    maturity: dt.date | None

    @property
    def issuer_kind(self) -> str:
        return ISSUER_KINDS.get(self.isin[2], "other")


def parse_line(line: str, number: int = 1) -> Bond:
    """Line ``number`` of the master file (already decoded).

    Raises:
        BadMasterLine: too short, or no valid ISIN where the ISIN belongs.
    """
    line = line.rstrip("\r\n")
    if len(line) < 16 + 26:
        raise BadMasterLine(number, f"{len(line)} characters is too short for a bond")
    isin = line[4:16]
    problem = isin_problem(isin)
    if problem:
        raise BadMasterLine(number, f"no valid ISIN at [4:16] ({isin!r}): {problem}")
    return Bond(
        isin=isin,
        name=line[16:-26].strip(),
        bond_type=line[0:2],
        bond_class=line[2:4],
        interest_class=line[-26:-24],
        listed=_date(line[-24:-16]),
        issued=_date(line[-16:-8]),
        maturity=_date(line[-8:]),
    )


def _date(text: str) -> dt.date | None:
    """A YYYYMMDD field; blanks or zeros (an unknown date) give None."""
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def read_bond_master(path: Path) -> Iterator[Bond | BadMasterLine]:
    """Every bond in the file, in file order; a line that does not parse is yielded as its
    error, so a caller can report it instead of losing it.

    Raises:
        OSError: the file cannot be read.
    """
    with path.open(encoding="cp949", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield parse_line(line, number)
            except BadMasterLine as exc:
                yield exc
