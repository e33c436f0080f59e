-- The yield curve at an instant: each ISIN's mid yield from its book and its last trade
-- yield, with its maturity when the bond master is loaded.
--
-- The book is the ISIN's book at `at` as book_asof gives it (that Seoul day's latest quote
-- received at or before `at`), mid_yield = (bid_yield_1 + ask_yield_1) / 2, exact, NULL while
-- a side is empty (level-1 quantity 0: KIS sends an empty level as zeros). The last trade is
-- the latest received at or before `at` the same way, on any day (a bond may not trade for
-- days). name and maturity come from the view bonds (`bondtape bonds --master F --save`), NULL
-- for an ISIN it does not list; days_to_maturity counts from the Seoul date of `at`, and
-- years_to_maturity = days / 365 (ACT/365, a DOUBLE). An ISIN with neither a quote nor a trade
-- by then has no row. By maturity (unknown last), then ISIN.
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $at TIMESTAMPTZ, required: the instant, e.g. '2026-11-26 15:30:00+09:00'; text
--       without an offset is read in the session's TimeZone, which `bondtape query` sets
--       to Asia/Seoul.
--   $isins VARCHAR[], default all ISINs: the ISINs to show (comma-separated on the
--       command line: isins=KR103502GD31,KR101501DD41).
WITH
books AS (
    SELECT
        isin, recv_ts AS book_recv_ts, bid_yield_1, ask_yield_1,
        CASE
            WHEN bid_qty_1 > 0 AND ask_qty_1 > 0 THEN (bid_yield_1 + ask_yield_1) * 0.5
        END AS mid_yield
    FROM bondtape_books_asof(CAST($at AS TIMESTAMPTZ))
    WHERE CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin)
),
last_trades AS (
    SELECT isin, recv_ts AS trade_recv_ts, trade_price, trade_yield
    FROM trades_between(NULL, CAST(timezone('Asia/Seoul', CAST($at AS TIMESTAMPTZ)) AS DATE))
    WHERE recv_ts <= CAST($at AS TIMESTAMPTZ)
        AND (CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin))
    QUALIFY row_number() OVER (
        PARTITION BY isin ORDER BY recv_ns DESC, segment DESC, "offset" DESC, record_index DESC
    ) = 1
)
SELECT
    isin, bonds.name, bonds.maturity,
    bonds.maturity - CAST(timezone('Asia/Seoul', CAST($at AS TIMESTAMPTZ)) AS DATE)
        AS days_to_maturity,
    (bonds.maturity - CAST(timezone('Asia/Seoul', CAST($at AS TIMESTAMPTZ)) AS DATE)) / 365
        AS years_to_maturity,
    books.bid_yield_1, books.ask_yield_1, books.mid_yield, books.book_recv_ts,
    last_trades.trade_yield AS last_trade_yield,
    last_trades.trade_price AS last_trade_price,
    last_trades.trade_recv_ts
FROM books
FULL OUTER JOIN last_trades USING (isin)
LEFT JOIN bonds USING (isin)
ORDER BY bonds.maturity NULLS LAST, isin
