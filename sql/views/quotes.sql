-- quotes: every H0BJASP0 book update (5 levels), one row per record.
-- Columns as storage/schemas.py defines them (values exact: DECIMAL, BIGINT, UTC timestamps),
-- plus "date", the Seoul trading date. Both tiers, hist (compacted days) and live (the
-- normalizer's files), with the files a compaction has superseded left out, so no row shows
-- twice or goes missing, also while one runs. New live files appear as they are written.
CREATE OR REPLACE VIEW quotes AS
SELECT "recv_ts", "recv_ns", "exch_time", "exch_ts", "isin", "ask_yield_1", "bid_yield_1",
       "ask_price_1", "bid_price_1", "ask_qty_1", "bid_qty_1", "ask_yield_2", "bid_yield_2",
       "ask_price_2", "bid_price_2", "ask_qty_2", "bid_qty_2", "ask_yield_3", "bid_yield_3",
       "ask_price_3", "bid_price_3", "ask_qty_3", "bid_qty_3", "ask_yield_4", "bid_yield_4",
       "ask_price_4", "bid_price_4", "ask_qty_4", "bid_qty_4", "ask_yield_5", "bid_yield_5",
       "ask_price_5", "bid_price_5", "ask_qty_5", "bid_qty_5", "total_ask_qty",
       "total_bid_qty", "segment", "offset", "record_index", "conn_id", "date"
FROM (
    FROM read_parquet(
        bondtape_lake() || '/hist/quotes/*/*/*.parquet',
        hive_partitioning = true, hive_types = {'date': DATE, 'isin': VARCHAR},
        filename = true, allow_empty = true
    )
    UNION ALL BY NAME
    FROM read_parquet(
        bondtape_lake() || '/live/quotes/*/*/*.parquet',
        hive_partitioning = true, hive_types = {'date': DATE, 'isin': VARCHAR},
        filename = true, allow_empty = true
    )
    UNION ALL BY NAME
    FROM bondtape_empty_quotes()  -- typed: the columns stay when a tier has no file
)
WHERE filename NOT IN (FROM bondtape_superseded('quotes'));
