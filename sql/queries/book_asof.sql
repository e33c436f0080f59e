-- The 5-level order book of every ISIN, or of the ISINs given, at an instant.
--
-- An ISIN's book at `at` is its latest quote received at or before `at`: the largest
-- recv_ns not after it (recv_ns is exact; recv_ts is cut to the microsecond), a tie going
-- to the last record by lineage (segment, offset, record_index). Quotes of earlier days
-- count, so a bond that has not quoted today shows its last book: `date` and `recv_ts` say
-- how old it is. An ISIN with no quote by then has no row. One row per ISIN, by ISIN; each
-- level reads outwards from the middle (bid qty, yield, price | ask price, yield, qty).
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $at TIMESTAMPTZ, required: the instant, e.g. '2026-11-26 10:30:00+09:00'; text
--       without an offset is read in the session's TimeZone, which `bondtape query` sets
--       to Asia/Seoul.
--   $isins VARCHAR[], default all ISINs: the ISINs to show (comma-separated on the
--       command line: isins=KR103502GD31,KR101501DD41).
SELECT
    isin, date, recv_ts, exch_time, exch_ts,
    bid_qty_1, bid_yield_1, bid_price_1, ask_price_1, ask_yield_1, ask_qty_1,
    bid_qty_2, bid_yield_2, bid_price_2, ask_price_2, ask_yield_2, ask_qty_2,
    bid_qty_3, bid_yield_3, bid_price_3, ask_price_3, ask_yield_3, ask_qty_3,
    bid_qty_4, bid_yield_4, bid_price_4, ask_price_4, ask_yield_4, ask_qty_4,
    bid_qty_5, bid_yield_5, bid_price_5, ask_price_5, ask_yield_5, ask_qty_5,
    total_bid_qty, total_ask_qty,
    segment, "offset", record_index
FROM quotes
WHERE recv_ns <= epoch_ns(CAST($at AS TIMESTAMPTZ))
    -- implied by the line above (date is the Seoul date of recv_ts); lets DuckDB skip days
    AND date <= CAST(timezone('Asia/Seoul', CAST($at AS TIMESTAMPTZ)) AS DATE)
    AND (CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin))
QUALIFY row_number() OVER (
    PARTITION BY isin ORDER BY recv_ns DESC, segment DESC, "offset" DESC, record_index DESC
) = 1
ORDER BY isin
