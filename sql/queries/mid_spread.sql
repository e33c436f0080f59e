-- Mid and spread of one ISIN's best bid and ask, in price and in yield, quote by quote.
--
-- mid_price = (bid_price_1 + ask_price_1) / 2 and spread_price = ask_price_1 - bid_price_1;
-- mid_yield = (bid_yield_1 + ask_yield_1) / 2 and spread_yield = bid_yield_1 - ask_yield_1
-- (the bid's yield is the higher one in a normal book). All four stay exact DECIMALs (a mid
-- has one more decimal than its inputs), and are NULL while a side is empty: KIS sends an
-- empty level as zeros, so a side is present when its level-1 quantity is above 0. Quotes
-- with start <= recv_ts < end (by recv_ns), in the order received (recv_ns, then lineage).
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $isin VARCHAR, required: the ISIN, e.g. KR103502GD31.
--   $start TIMESTAMPTZ, default the first quote: quotes received at or after this instant
--       ('2026-11-26 09:00:00+09:00'; without an offset, in the session's TimeZone, which
--       `bondtape query` sets to Asia/Seoul).
--   $end TIMESTAMPTZ, default no end: quotes received before this instant.
SELECT
    isin, recv_ts, exch_time, exch_ts,
    bid_price_1, ask_price_1,
    CASE WHEN two_sided THEN (bid_price_1 + ask_price_1) * 0.5 END AS mid_price,
    CASE WHEN two_sided THEN ask_price_1 - bid_price_1 END AS spread_price,
    bid_yield_1, ask_yield_1,
    CASE WHEN two_sided THEN (bid_yield_1 + ask_yield_1) * 0.5 END AS mid_yield,
    CASE WHEN two_sided THEN bid_yield_1 - ask_yield_1 END AS spread_yield,
    segment, "offset", record_index
FROM (
    SELECT *, bid_qty_1 > 0 AND ask_qty_1 > 0 AS two_sided
    FROM quotes
    WHERE isin = CAST($isin AS VARCHAR)
        AND (CAST($start AS TIMESTAMPTZ) IS NULL
            OR recv_ns >= epoch_ns(CAST($start AS TIMESTAMPTZ)))
        AND (CAST($end AS TIMESTAMPTZ) IS NULL OR recv_ns < epoch_ns(CAST($end AS TIMESTAMPTZ)))
        -- implied by the two lines above (date is the Seoul date of recv_ts); skips days
        AND date >= coalesce(
            CAST(timezone('Asia/Seoul', CAST($start AS TIMESTAMPTZ)) AS DATE), DATE '0001-01-01')
        AND date <= coalesce(
            CAST(timezone('Asia/Seoul', CAST($end AS TIMESTAMPTZ)) AS DATE), DATE '9999-12-31')
)
ORDER BY recv_ns, segment, "offset", record_index
