-- bondtape_books_asof(instant): every ISIN's book at `instant` (TIMESTAMPTZ): its latest quote
-- of `instant`'s Seoul trading day received at or before `instant`, to the microsecond (a
-- book received within `instant`'s microsecond counts: a `recv_ts` copied from a row finds
-- that row); the latest is the largest recv_ns, a tie going to the larger raw offset and
-- record index (two records of one ISIN received in the same nanosecond are of one frame). Books do not carry over from earlier
-- days: each session builds its book afresh. Columns: those of quotes.
--
-- It reads a few thousand rows, not the day. A compacted day has book indexes (see
-- storage/compact/day_index.py): the snapshot of every ISIN's book at the start of `instant`'s minute
-- (books_by_minute) and the day's quotes by receive time, of which only that minute's are read
-- (quotes_by_time). Whatever the live tier holds of the day (all of it for a day not
-- compacted, what was normalized since for one that was) is read too. A row read twice (a
-- compaction in progress) is the same row, so the latest is the same.
CREATE OR REPLACE MACRO bondtape_books_asof(instant) AS TABLE
WITH candidates AS (
    SELECT * EXCLUDE (minute)
    FROM (
        FROM read_parquet(
            bondtape_lake() || '/hist/books_by_minute/date='
                || strftime(timezone('Asia/Seoul', instant), '%Y-%m-%d') || '/*.parquet',
            hive_partitioning = true, hive_types = {'date': DATE}, allow_empty = true
        )
        UNION ALL BY NAME
        SELECT NULL::TIMESTAMPTZ AS minute, * FROM bondtape_empty_quotes()
    )
    WHERE minute = time_bucket(INTERVAL 1 minute, instant)
    UNION ALL BY NAME
    FROM (
        FROM read_parquet(
            bondtape_lake() || '/hist/quotes_by_time/date='
                || strftime(timezone('Asia/Seoul', instant), '%Y-%m-%d') || '/*.parquet',
            hive_partitioning = true, hive_types = {'date': DATE}, allow_empty = true
        )
        UNION ALL BY NAME
        FROM bondtape_empty_quotes()
    )
    WHERE recv_ts >= time_bucket(INTERVAL 1 minute, instant) AND recv_ts <= instant
    UNION ALL BY NAME
    FROM (
        FROM read_parquet(
            bondtape_lake() || '/live/quotes/date='
                || strftime(timezone('Asia/Seoul', instant), '%Y-%m-%d') || '/*/*.parquet',
            hive_partitioning = true, hive_types = {'date': DATE, 'isin': VARCHAR},
            allow_empty = true
        )
        UNION ALL BY NAME
        FROM bondtape_empty_quotes()
    )
    WHERE recv_ts <= instant
)
-- One pass keeping each ISIN's latest row: of a day not compacted it reads every row so far,
-- and a hash aggregate over them costs half of what sorting them by ISIN and time did.
SELECT latest.* EXCLUDE (filename, received)
FROM (
    SELECT arg_max(candidates, received) AS latest
    FROM (
        SELECT *, (CAST(recv_ns AS HUGEINT) << 48) + ("offset" << 16) + record_index AS received
        FROM candidates
    ) AS candidates
    GROUP BY isin
);
