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
    -- typed and empty: the columns stay, also when a tier has no file yet
    SELECT NULL::TIMESTAMPTZ AS "recv_ts",
        NULL::BIGINT AS "recv_ns",
        NULL::VARCHAR AS "exch_time",
        NULL::TIMESTAMPTZ AS "exch_ts",
        NULL::VARCHAR AS "isin",
        NULL::VARCHAR AS "bond_name",
        NULL::TINYINT AS "change_sign",
        NULL::DECIMAL(12,2) AS "change",
        NULL::DECIMAL(8,3) AS "change_rate",
        NULL::DECIMAL(12,2) AS "trade_price",
        NULL::BIGINT AS "trade_qty",
        NULL::DECIMAL(12,2) AS "open_price",
        NULL::DECIMAL(12,2) AS "high_price",
        NULL::DECIMAL(12,2) AS "low_price",
        NULL::DECIMAL(12,2) AS "prev_close_price",
        NULL::DECIMAL(8,3) AS "trade_yield",
        NULL::DECIMAL(8,3) AS "open_yield",
        NULL::DECIMAL(8,3) AS "high_yield",
        NULL::DECIMAL(8,3) AS "low_yield",
        NULL::BIGINT AS "cum_volume",
        NULL::BIGINT AS "prev_volume",
        NULL::VARCHAR AS "trade_type_code",
        NULL::VARCHAR AS "segment",
        NULL::BIGINT AS "offset",
        NULL::INTEGER AS "record_index",
        NULL::BIGINT AS "conn_id",
        NULL::DATE AS "date", NULL::VARCHAR AS filename
    WHERE false
)
WHERE filename NOT IN (FROM bondtape_superseded('trades'));
