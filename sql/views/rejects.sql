-- rejects: every frame, record, event or corrupt region that could not become a row, with
-- its exact bytes and why.
-- Columns as storage/schemas.py defines them (values exact: DECIMAL, BIGINT, UTC timestamps),
-- plus "date", the Seoul trading date. Both tiers, hist (compacted days) and live (the
-- normalizer's files), with the files a compaction has superseded left out, so no row shows
-- twice or goes missing, also while one runs. New live files appear as they are written.
CREATE OR REPLACE VIEW rejects AS
SELECT "segment", "offset", "recv_ts", "recv_ns", "conn_id", "record_index", "raw", "reason",
       "date"
FROM (
    FROM read_parquet(
        bondtape_lake() || '/hist/rejects/*/*.parquet',
        hive_partitioning = true, hive_types = {'date': DATE},
        filename = true, allow_empty = true
    )
    UNION ALL BY NAME
    FROM read_parquet(
        bondtape_lake() || '/live/rejects/*/*.parquet',
        hive_partitioning = true, hive_types = {'date': DATE},
        filename = true, allow_empty = true
    )
    UNION ALL BY NAME
    FROM bondtape_empty_rejects()  -- typed: the columns stay when a tier has no file
)
WHERE filename NOT IN (FROM bondtape_superseded('rejects'));
