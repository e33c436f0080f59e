-- Macros the views share. bondtape_lake() is the lake folder: `bondtape catalog` defines it
-- from data_dir; in a session of your own, define it first:
--   CREATE MACRO bondtape_lake() AS '/path/to/data/lake';
--
-- bondtape_superseded(table_name): the files of a table (both tiers) that the views leave
-- out. Every lake file is named for the raw range it holds (part-<from>-<to>.parquet live,
-- data-<from>-<to>.parquet hist, see storage/ranges.py); within one partition a file whose
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
