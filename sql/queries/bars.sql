-- Bars per ISIN: open, high, low and close of the mid price, with the trades' VWAP and
-- volume, per interval of receive time.
--
-- A bar holds the records with bar_start <= recv_ts < bar_start + interval, intervals aligned
-- on Seoul midnight. The mid is (bid_price_1 + ask_price_1) / 2 of quotes with both sides
-- present (level-1 quantity above 0; KIS sends an empty level as zeros); open and close are
-- the first and last such quote by recv_ns, then raw offset and record index (one integer key:
-- ordering by the segment's name as well cost a third of the query, and two records of one
-- ISIN received in the same nanosecond come from one frame, in one segment). vwap = sum(price
-- * qty) / sum(qty), rounded half up to 4 decimals in integer arithmetic (DuckDB would divide
-- DECIMALs as DOUBLE). A bar with quotes but no trades has trades 0, volume 0 and a NULL vwap;
-- one with trades but no two-sided quote has quotes 0 and a NULL mid. By ISIN, then time.
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $date DATE, default every day: the Seoul trading date, or the first of a range.
--   $to_date DATE, default $date: the last date of the range, included.
--   $interval INTERVAL, default '1 minute': the bar width, e.g. '5 minutes', '1 hour',
--       '1 day' (a fixed width: a month counts as 30 days).
--   $isins VARCHAR[], default all ISINs: the ISINs to show (comma-separated on the
--       command line: isins=KR103502GD31,KR101501DD41).
WITH
-- A bar is numbered by integer arithmetic on recv_ns (a third faster than time_bucket):
-- bar = (recv_ns + 9 h) // width, so bars are aligned on Seoul midnight (UTC+9, no DST).
width AS (
    SELECT CAST(
        epoch(coalesce(CAST($interval AS INTERVAL), INTERVAL '1 minute')) * 1e9 AS BIGINT
    ) AS ns
),
mids AS (
    SELECT
        isin,
        (recv_ns + 32400000000000) // width.ns AS bar,
        (bid_price_1 + ask_price_1) * 0.5 AS mid_price,
        (CAST(recv_ns AS HUGEINT) << 48) + ("offset" << 16) + record_index AS received
    FROM quotes_between(
        CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
    ), width
    WHERE bid_qty_1 > 0 AND ask_qty_1 > 0
        AND (CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin))
),
quote_bars AS (
    SELECT
        isin, bar,
        count(*) AS quotes,
        arg_min(mid_price, received) AS mid_open,
        max(mid_price) AS mid_high,
        min(mid_price) AS mid_low,
        arg_max(mid_price, received) AS mid_close
    FROM mids
    GROUP BY isin, bar
),
trade_bars AS (
    SELECT
        isin,
        (recv_ns + 32400000000000) // width.ns AS bar,
        count(*) AS trades,
        CAST(sum(trade_qty) AS BIGINT) AS volume,
        -- in units of 0.0001: (100 * sum(cents * qty) + sum(qty) // 2) // sum(qty)
        bondtape_vwap(trade_price, trade_qty) AS vwap
    FROM trades_between(
        CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
    ), width
    WHERE (CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin))
    GROUP BY isin, bar
)
SELECT
    isin,
    timezone('UTC', make_timestamp((bar * width.ns - 32400000000000) // 1000)) AS bar_start,
    coalesce(q.quotes, 0) AS quotes,
    q.mid_open, q.mid_high, q.mid_low, q.mid_close,
    coalesce(t.trades, 0) AS trades,
    coalesce(t.volume, 0) AS volume,
    t.vwap
FROM quote_bars AS q
FULL OUTER JOIN trade_bars AS t USING (isin, bar), width
ORDER BY isin, bar
