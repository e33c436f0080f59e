-- Each trade of one ISIN with the best bid and ask prevailing just before it, and the side
-- it hit.
--
-- The prevailing book is the ISIN's last quote of the same trading date received strictly
-- before the trade (an ASOF join on recv_ns; of quotes sharing one recv_ns, the last by
-- lineage). side, checked in this order: 'ask' when the ask is present and trade_price >=
-- ask_price_1 (a buyer took the offer); 'bid' when the bid is present and trade_price <=
-- bid_price_1 (a seller hit the bid); 'inside' when both are present and the price lies
-- between; otherwise NULL (no book yet that day, or a one-sided book the price does not
-- reach). A side is present when its level-1 quantity is above 0 (KIS sends an empty level
-- as zeros). In the order received (recv_ns, then lineage).
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $isin VARCHAR, required: the ISIN, e.g. KR103502GD31.
--   $date DATE, default every day: the Seoul trading date, or the first of a range.
--   $to_date DATE, default $date: the last date of the range, included.
WITH
books AS (
    SELECT
        isin, date, recv_ns, recv_ts,
        bid_qty_1, bid_yield_1, bid_price_1, ask_price_1, ask_yield_1, ask_qty_1
    FROM quotes_between(
        CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
    )
    WHERE isin = CAST($isin AS VARCHAR)
    QUALIFY row_number() OVER (
        PARTITION BY isin, date, recv_ns ORDER BY segment DESC, "offset" DESC, record_index DESC
    ) = 1
),
day_trades AS (
    SELECT *
    FROM trades_between(
        CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
    )
    WHERE isin = CAST($isin AS VARCHAR)
)
SELECT
    t.isin, t.date, t.recv_ts, t.exch_time, t.exch_ts,
    t.trade_price, t.trade_qty, t.trade_yield,
    b.recv_ts AS book_recv_ts,
    b.bid_qty_1, b.bid_yield_1, b.bid_price_1, b.ask_price_1, b.ask_yield_1, b.ask_qty_1,
    CASE
        WHEN b.ask_qty_1 > 0 AND t.trade_price >= b.ask_price_1 THEN 'ask'
        WHEN b.bid_qty_1 > 0 AND t.trade_price <= b.bid_price_1 THEN 'bid'
        WHEN b.ask_qty_1 > 0 AND b.bid_qty_1 > 0 THEN 'inside'
    END AS side,
    t.segment, t."offset", t.record_index
FROM day_trades AS t
ASOF LEFT JOIN books AS b
    ON t.isin = b.isin AND t.date = b.date AND t.recv_ns > b.recv_ns
ORDER BY t.recv_ns, t.segment, t."offset", t.record_index
