-- Macros the views share. bondtape_lake() and bondtape_ref() are the lake and reference
-- folders of data_dir: `bondtape catalog` defines them; in a session of your own, first
--   CREATE MACRO bondtape_lake() AS '/path/to/data/lake';
--   CREATE MACRO bondtape_ref() AS '/path/to/data/ref';
--
-- bondtape_superseded(table_name): the files of a table (both tiers) that the views leave
-- out. Every lake file is named for the raw range it holds (part-<from>-<to>.parquet live,
-- data-<from>-<to>.parquet hist, see storage/lake/ranges.py); within one partition a file whose
-- range lies inside another file's range is superseded, and on equal ranges the hist file
-- wins. A compaction writes its merged file before it deletes the sources, so at every
-- instant each row is read once.
CREATE OR REPLACE MACRO bondtape_superseded(table_name) AS TABLE
WITH files AS (
    SELECT file, tier,
           regexp_extract(file, '/(date=[^/]+(?:/isin=[^/]+)?)/[^/]+$', 1) AS part,
           regexp_extract(
               file,
               '/(?:part|data)-(\d{19}-[A-Za-z0-9_.]+)-(\d+)'
               || '-(\d{19}-[A-Za-z0-9_.]+)-(\d+)\.parquet$',
               ['from_seg', 'from_off', 'to_seg', 'to_off']
           ) AS r
    FROM (
        SELECT file, 1 AS tier
        FROM glob(bondtape_lake() || '/hist/' || table_name || '/**/*.parquet')
        UNION ALL
        SELECT file, 0 AS tier
        FROM glob(bondtape_lake() || '/live/' || table_name || '/**/*.parquet')
    )
),
ranged AS (
    -- Positions as text that sorts in raw read order: "<stem>.seg:<offset, 20 digits>".
    SELECT file, tier, part,
           r.from_seg || '.seg:' || lpad(r.from_off, 20, '0') AS lo,
           r.to_seg || '.seg:' || lpad(r.to_off, 20, '0') AS hi
    FROM files
    WHERE r.from_seg <> ''
)
SELECT DISTINCT inner_file.file
FROM ranged AS inner_file
JOIN ranged AS outer_file
  ON outer_file.part = inner_file.part
 AND outer_file.file <> inner_file.file
 AND outer_file.lo <= inner_file.lo
 AND inner_file.hi <= outer_file.hi
 AND (outer_file.lo < inner_file.lo OR inner_file.hi < outer_file.hi
      OR outer_file.tier > inner_file.tier);

-- bondtape_empty_<table>(): the table's columns, typed, and no row. A view unions it with
-- its tiers, so its columns stay when a tier has no file yet (a glob that matches nothing
-- reads as one BOOLEAN column named empty).
CREATE OR REPLACE MACRO bondtape_empty_quotes() AS TABLE
SELECT NULL::TIMESTAMPTZ AS "recv_ts",
    NULL::BIGINT AS "recv_ns",
    NULL::VARCHAR AS "exch_time",
    NULL::TIMESTAMPTZ AS "exch_ts",
    NULL::VARCHAR AS "isin",
    NULL::DECIMAL(8,3) AS "ask_yield_1",
    NULL::DECIMAL(8,3) AS "bid_yield_1",
    NULL::DECIMAL(12,2) AS "ask_price_1",
    NULL::DECIMAL(12,2) AS "bid_price_1",
    NULL::BIGINT AS "ask_qty_1",
    NULL::BIGINT AS "bid_qty_1",
    NULL::DECIMAL(8,3) AS "ask_yield_2",
    NULL::DECIMAL(8,3) AS "bid_yield_2",
    NULL::DECIMAL(12,2) AS "ask_price_2",
    NULL::DECIMAL(12,2) AS "bid_price_2",
    NULL::BIGINT AS "ask_qty_2",
    NULL::BIGINT AS "bid_qty_2",
    NULL::DECIMAL(8,3) AS "ask_yield_3",
    NULL::DECIMAL(8,3) AS "bid_yield_3",
    NULL::DECIMAL(12,2) AS "ask_price_3",
    NULL::DECIMAL(12,2) AS "bid_price_3",
    NULL::BIGINT AS "ask_qty_3",
    NULL::BIGINT AS "bid_qty_3",
    NULL::DECIMAL(8,3) AS "ask_yield_4",
    NULL::DECIMAL(8,3) AS "bid_yield_4",
    NULL::DECIMAL(12,2) AS "ask_price_4",
    NULL::DECIMAL(12,2) AS "bid_price_4",
    NULL::BIGINT AS "ask_qty_4",
    NULL::BIGINT AS "bid_qty_4",
    NULL::DECIMAL(8,3) AS "ask_yield_5",
    NULL::DECIMAL(8,3) AS "bid_yield_5",
    NULL::DECIMAL(12,2) AS "ask_price_5",
    NULL::DECIMAL(12,2) AS "bid_price_5",
    NULL::BIGINT AS "ask_qty_5",
    NULL::BIGINT AS "bid_qty_5",
    NULL::BIGINT AS "total_ask_qty",
    NULL::BIGINT AS "total_bid_qty",
    NULL::VARCHAR AS "segment",
    NULL::BIGINT AS "offset",
    NULL::INTEGER AS "record_index",
    NULL::BIGINT AS "conn_id",
    NULL::DATE AS "date",
    NULL::VARCHAR AS filename
WHERE false;

CREATE OR REPLACE MACRO bondtape_empty_trades() AS TABLE
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
    NULL::DATE AS "date",
    NULL::VARCHAR AS filename
WHERE false;

CREATE OR REPLACE MACRO bondtape_empty_gaps() AS TABLE
SELECT NULL::BIGINT AS "conn_id",
    NULL::VARCHAR AS "tr_id",
    NULL::VARCHAR AS "isin",
    NULL::TIMESTAMPTZ AS "start_ts",
    NULL::TIMESTAMPTZ AS "end_ts",
    NULL::VARCHAR AS "reason",
    NULL::VARCHAR AS "segment",
    NULL::BIGINT AS "offset",
    NULL::VARCHAR AS "close_segment",
    NULL::BIGINT AS "close_offset",
    NULL::DATE AS "date",
    NULL::VARCHAR AS filename
WHERE false;

CREATE OR REPLACE MACRO bondtape_empty_rejects() AS TABLE
SELECT NULL::VARCHAR AS "segment",
    NULL::BIGINT AS "offset",
    NULL::TIMESTAMPTZ AS "recv_ts",
    NULL::BIGINT AS "recv_ns",
    NULL::BIGINT AS "conn_id",
    NULL::INTEGER AS "record_index",
    NULL::BLOB AS "raw",
    NULL::VARCHAR AS "reason",
    NULL::DATE AS "date",
    NULL::VARCHAR AS filename
WHERE false;
