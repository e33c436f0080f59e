-- Each ISIN's trading day: number of trades, volume, VWAP, and first, last, high and low of
-- the trade price and of the trade yield.
--
-- First and last are by receive order (recv_ns, then lineage). High and low are taken for
-- each column on its own: the highest yield usually comes with the lowest price. vwap =
-- sum(trade_price * trade_qty) / sum(trade_qty), rounded half up to 4 decimals in integer
-- arithmetic (DuckDB would divide DECIMALs as DOUBLE). Computed from the trades recorded,
-- not from the open/high/low fields KIS sends with each trade. By ISIN, then date.
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $date DATE, default every day: the Seoul trading date, or the first of a range.
--   $to_date DATE, default $date: the last date of the range, included.
--   $isins VARCHAR[], default all ISINs: the ISINs to show (comma-separated on the
--       command line: isins=KR103502GD31,KR101501DD41).
SELECT
    isin, date,
    count(*) AS trades,
    CAST(sum(trade_qty) AS BIGINT) AS volume,
    -- in units of 0.0001: (100 * sum(cents * qty) + sum(qty) // 2) // sum(qty)
    bondtape_vwap(trade_price, trade_qty) AS vwap,
    first(trade_price ORDER BY recv_ns, segment, "offset", record_index) AS first_price,
    last(trade_price ORDER BY recv_ns, segment, "offset", record_index) AS last_price,
    max(trade_price) AS high_price,
    min(trade_price) AS low_price,
    first(trade_yield ORDER BY recv_ns, segment, "offset", record_index) AS first_yield,
    last(trade_yield ORDER BY recv_ns, segment, "offset", record_index) AS last_yield,
    max(trade_yield) AS high_yield,
    min(trade_yield) AS low_yield
FROM trades_between(
    CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
)
WHERE (CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin))
GROUP BY isin, date
ORDER BY isin, date
