-- trades: every H0BJCNT0 trade, one row per record.
-- Columns as storage/schemas.py defines them (values exact: DECIMAL, BIGINT, UTC timestamps),
-- plus "date", the Seoul trading date. Both tiers, hist (compacted days) and live (the
-- normalizer's files), with the files a compaction has superseded left out, so no row shows
-- twice or goes missing, also while one runs. New live files appear as they are written.
CREATE OR REPLACE VIEW trades AS
SELECT "recv_ts", "recv_ns", "exch_time", "exch_ts", "isin", "bond_name", "change_sign",
       "change", "change_rate", "trade_price", "trade_qty", "open_price", "high_price",
       "low_price", "prev_close_price", "trade_yield", "open_yield", "high_yield", "low_yield",
       "cum_volume", "prev_volume", "trade_type_code", "segment", "offset", "record_index",
       "conn_id", "date"
FROM (
    FROM read_parquet(
        bondtape_lake() || '/hist/trades/*/*/*.parquet',
        hive_partitioning = true, hive_types = {'date': DATE, 'isin': VARCHAR},
        filename = true, allow_empty = true
    )
    UNION ALL BY NAME
    FROM read_parquet(
        bondtape_lake() || '/live/trades/*/*/*.parquet',
        hive_partitioning = true, hive_types = {'date': DATE, 'isin': VARCHAR},
        filename = true, allow_empty = true
    )
    UNION ALL BY NAME
    FROM bondtape_empty_trades()  -- typed: the columns stay when a tier has no file
)
WHERE filename NOT IN (FROM bondtape_superseded('trades'));
