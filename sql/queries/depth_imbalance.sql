-- Order book imbalance of one ISIN, quote by quote: at the best level and over 5 levels.
--
-- imbalance_1 = (bid_qty_1 - ask_qty_1) / (bid_qty_1 + ask_qty_1), and imbalance_5 the same
-- over bid_depth = bid_qty_1 + ... + bid_qty_5 and ask_depth likewise: from -1 (only asks)
-- to +1 (only bids); a DOUBLE, as a ratio of quantities is fractional; NULL when both
-- sides are empty. Quotes with start <= recv_ts < end (by recv_ns), in the order received
-- (recv_ns, then lineage).
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $isin VARCHAR, required: the ISIN, e.g. KR103502GD31.
--   $start TIMESTAMPTZ, default the first quote: quotes received at or after this instant
--       ('2026-11-26 09:00:00+09:00'; without an offset, in the session's TimeZone, which
--       `bondtape query` sets to Asia/Seoul).
--   $end TIMESTAMPTZ, default no end: quotes received before this instant.
SELECT
    isin, recv_ts, exch_time, exch_ts,
    bid_qty_1, ask_qty_1,
    (bid_qty_1 - ask_qty_1) / nullif(bid_qty_1 + ask_qty_1, 0) AS imbalance_1,
    bid_depth, ask_depth,
    (bid_depth - ask_depth) / nullif(bid_depth + ask_depth, 0) AS imbalance_5,
    segment, "offset", record_index
FROM (
    SELECT
        *,
        bid_qty_1 + bid_qty_2 + bid_qty_3 + bid_qty_4 + bid_qty_5 AS bid_depth,
        ask_qty_1 + ask_qty_2 + ask_qty_3 + ask_qty_4 + ask_qty_5 AS ask_depth
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
