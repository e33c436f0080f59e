-- gaps: when a connection was down, per (TR, ISIN): from start_ts (the last record known
-- complete) to end_ts (the ack that ended it; NULL while open), with why and where the
-- gap_open and gap_close events sit in raw. "date" is the Seoul date of the gap_open.
-- Each gap shows once: one that just closed can sit both in open.parquet and in a part file
-- for a moment, and then the closed one is shown. The isin is the file's, not the folder's
-- (a gap of a code that is no ISIN is filed under isin=_unknown).
CREATE OR REPLACE VIEW gaps AS
SELECT "conn_id", "tr_id", "isin", "start_ts", "end_ts", "reason", "segment", "offset",
       "close_segment", "close_offset",
       regexp_extract(filename, '/date=(\d{4}-\d{2}-\d{2})/', 1)::DATE AS "date"
FROM (
    FROM read_parquet(
        bondtape_lake() || '/hist/gaps/*/*/*.parquet', hive_partitioning = false, filename = true,
        allow_empty = true
    )
    UNION ALL BY NAME
    FROM read_parquet(
        bondtape_lake() || '/live/gaps/*/*/*.parquet', hive_partitioning = false, filename = true,
        allow_empty = true
    )
    UNION ALL BY NAME
    FROM bondtape_empty_gaps()  -- typed: the columns stay when a tier has no file
)
WHERE filename NOT IN (FROM bondtape_superseded('gaps'))
QUALIFY row_number() OVER (
    PARTITION BY "segment", "offset" ORDER BY "end_ts" IS NULL, "close_segment", "close_offset"
) = 1;
