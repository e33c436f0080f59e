-- The 5-level order book of every ISIN, or of the ISINs given, at an instant.
--
-- An ISIN's book at `at` is its latest quote of that Seoul trading day received at or
-- before `at`, to the microsecond (a quote received within `at`'s microsecond counts, so a
-- `recv_ts` copied from a row finds that row): the largest recv_ns, a tie going to the larger
-- raw offset and record index (records of one ISIN received in the same nanosecond are of one
-- frame).
-- Books do not carry over from earlier days (each session builds its book afresh); `recv_ts`
-- says how old a book is. An ISIN with no quote that day by then has no row. One row per
-- ISIN, by ISIN; each level reads outwards from the middle (bid qty, yield, price | ask
-- price, yield, qty). A compacted day is read through its book indexes: milliseconds, not
-- the whole day (macro bondtape_books_asof, sql/views/_quotes_asof.sql).
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
FROM bondtape_books_asof(CAST($at AS TIMESTAMPTZ))
WHERE CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin)
ORDER BY isin
