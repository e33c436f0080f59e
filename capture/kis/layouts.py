"""The field layouts of the two bond TRs, as data: one table each.

Each entry pairs the KIS field name with our column name and a value kind. The kind says how
the string from the wire is typed downstream (storage/schemas maps kinds to Arrow/DuckDB
types); this module stays free of any storage library. Order is wire order.

Sources: docs/kis-protocol.md ("H0BJASP0: the order book", "H0BJCNT0: trades"), whose
"Errata" correct the KIS portal page's misspelt level-5 quantity names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a field's text is typed. Feed values are never floats."""

    ISIN = "isin"  # 12-character ISIN, kept as text
    TIME = "time"  # HHMMSS, Asia/Seoul wall time
    PRICE = "price"  # KRW per 10,000 face, 2 decimals, may be negative for changes
    YIELD = "yield"  # percent, 3 decimals
    RATE = "rate"  # percent change, up to 3 decimals
    QTY = "qty"  # integer quantity
    SIGN = "sign"  # one-digit code (1 up limit, 2 up, 3 flat, 4 down limit, 5 down)
    TEXT = "text"  # free UTF-8 text (Korean bond names)


@dataclass(frozen=True, slots=True)
class Field:
    kis_name: str
    column: str
    kind: Kind
    doc: str


@dataclass(frozen=True, slots=True)
class Layout:
    tr_id: str
    table: str
    fields: tuple[Field, ...]

    @property
    def width(self) -> int:
        return len(self.fields)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields)


def _book_levels() -> tuple[Field, ...]:
    fields: list[Field] = []
    for n in range(1, 6):
        fields += [
            Field(f"ASKP_ERT{n}", f"ask_yield_{n}", Kind.YIELD, f"ask yield, level {n} (%)"),
            Field(f"BIDP_ERT{n}", f"bid_yield_{n}", Kind.YIELD, f"bid yield, level {n} (%)"),
            Field(f"ASKP{n}", f"ask_price_{n}", Kind.PRICE, f"ask price, level {n}"),
            Field(f"BIDP{n}", f"bid_price_{n}", Kind.PRICE, f"bid price, level {n}"),
            Field(f"ASKP_RSQN{n}", f"ask_qty_{n}", Kind.QTY, f"ask quantity, level {n}"),
            Field(f"BIDP_RSQN{n}", f"bid_qty_{n}", Kind.QTY, f"bid quantity, level {n}"),
        ]
    return tuple(fields)


ORDER_BOOK = Layout(
    tr_id="H0BJASP0",
    table="quotes",
    fields=(
        Field("STND_ISCD", "isin", Kind.ISIN, "bond ISIN"),
        Field("STCK_CNTG_HOUR", "exch_time", Kind.TIME, "exchange time HHMMSS (Seoul)"),
        *_book_levels(),
        Field("TOTAL_ASKP_RSQN", "total_ask_qty", Kind.QTY, "total ask quantity"),
        Field("TOTAL_BIDP_RSQN", "total_bid_qty", Kind.QTY, "total bid quantity"),
    ),
)

TRADES = Layout(
    tr_id="H0BJCNT0",
    table="trades",
    fields=(
        Field("STND_ISCD", "isin", Kind.ISIN, "bond ISIN"),
        Field("BOND_ISNM", "bond_name", Kind.TEXT, "bond name (Korean)"),
        Field("STCK_CNTG_HOUR", "exch_time", Kind.TIME, "exchange time HHMMSS (Seoul)"),
        Field("PRDY_VRSS_SIGN", "change_sign", Kind.SIGN, "sign of change vs previous close"),
        Field("PRDY_VRSS", "change", Kind.PRICE, "change vs previous close"),
        Field("PRDY_CTRT", "change_rate", Kind.RATE, "change vs previous close (%)"),
        Field("STCK_PRPR", "trade_price", Kind.PRICE, "trade price"),
        Field("CNTG_VOL", "trade_qty", Kind.QTY, "trade quantity"),
        Field("STCK_OPRC", "open_price", Kind.PRICE, "open price"),
        Field("STCK_HGPR", "high_price", Kind.PRICE, "high price"),
        Field("STCK_LWPR", "low_price", Kind.PRICE, "low price"),
        Field("STCK_PRDY_CLPR", "prev_close_price", Kind.PRICE, "previous close price"),
        Field("BOND_CNTG_ERT", "trade_yield", Kind.YIELD, "trade yield (%)"),
        Field("OPRC_ERT", "open_yield", Kind.YIELD, "open yield (%)"),
        Field("HGPR_ERT", "high_yield", Kind.YIELD, "yield at the high price (%)"),
        Field("LWPR_ERT", "low_yield", Kind.YIELD, "yield at the low price (%)"),
        Field("ACML_VOL", "cum_volume", Kind.QTY, "cumulative volume today"),
        Field("PRDY_VOL", "prev_volume", Kind.QTY, "previous day's volume"),
        Field("CNTG_TYPE_CLS_CODE", "trade_type_code", Kind.TEXT, "trade type class code"),
    ),
)

LAYOUTS: dict[str, Layout] = {layout.tr_id: layout for layout in (ORDER_BOOK, TRADES)}
"""Every data TR bondtape knows, by TR ID."""

assert ORDER_BOOK.width == 34 and TRADES.width == 19
