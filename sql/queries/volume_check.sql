-- Volume continuity per ISIN and day: KIS's day counter ACML_VOL (cum_volume) against the
-- trades the lake holds, and the volume missing, silent or explained, with its instants.
--
-- In receive order (recv_ns, then lineage) each trade's cum_volume must be the previous
-- trade's plus its own trade_qty (CNTG_VOL); the day's first trade checks against 0. A larger
-- step is a jump: volume traded that the lake holds no trade for. A jump is explained when a
-- gap of that (H0BJCNT0, ISIN) pair overlaps the time between its two trades (starts before
-- the later, ends after the earlier; for the day's first trade: from the open to it), or, before the first trade, when the recording started
-- late (the ISIN's first record that day, book or trade, came at or after the open); else it
-- is silent: lost while connected. A step smaller than the trade's quantity counts as a
-- counter_anomaly, no missing volume. jumps lists each jump: before_ts and after_ts are the
-- receive times of the trades around it (before_ts NULL: the open). The same rules as
-- storage/report/volume.py, which the integrity report uses. By ISIN, then date.
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $date DATE, default every day: the Seoul trading date, or the first of a range.
--   $to_date DATE, default $date: the last date of the range, included.
--   $isins VARCHAR[], default all ISINs: the ISINs to show (comma-separated on the
--       command line: isins=KR103502GD31,KR101501DD41).
--   $open TIME, default 09:00:00: the Seoul time the day's counter starts (KRX general
--       bonds trade from 09:00).
WITH picked AS (
    SELECT isin, date, recv_ns, recv_ts, segment, "offset", record_index, trade_qty,
        cum_volume
    FROM trades_between(
        CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
    )
    WHERE (CAST($isins AS VARCHAR[]) IS NULL
            OR list_contains(CAST($isins AS VARCHAR[]), isin))
),
stepped AS (
    SELECT *,
        row_number() OVER day_order AS n,
        lag(recv_ts) OVER day_order AS before_ts,
        cum_volume - coalesce(lag(cum_volume) OVER day_order, 0) - trade_qty AS missing,
        timezone(
            'Asia/Seoul', date + coalesce(CAST($open AS TIME), TIME '09:00:00')
        ) AS open_ts
    FROM picked
    WINDOW day_order AS (
        PARTITION BY isin, date ORDER BY recv_ns, segment, "offset", record_index)
),
first_record AS (
    SELECT isin, date, min(recv_ts) AS first_ts
    FROM (
        SELECT isin, date, recv_ts FROM picked
        UNION ALL
        SELECT isin, date, recv_ts FROM quotes_between(
            CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
        )
        WHERE (isin, date) IN (SELECT DISTINCT isin, date FROM picked)
    )
    GROUP BY isin, date
),
jump AS (
    SELECT s.isin, s.date, s.before_ts, s.recv_ts AS after_ts, s.missing,
        (s.before_ts IS NULL AND f.first_ts >= s.open_ts) OR EXISTS (
            FROM gaps AS g
            WHERE g.tr_id = 'H0BJCNT0' AND g.isin = s.isin AND g.start_ts < s.recv_ts
                AND (g.end_ts IS NULL OR g.end_ts > coalesce(s.before_ts, s.open_ts))
        ) AS explained
    FROM stepped AS s
    JOIN first_record AS f USING (isin, date)
    WHERE s.missing > 0
),
by_day AS (
    SELECT isin, date,
        CAST(sum(missing) FILTER (WHERE NOT explained) AS BIGINT) AS silent_volume,
        CAST(sum(missing) FILTER (WHERE explained) AS BIGINT) AS explained_volume,
        count(*) FILTER (WHERE NOT explained) AS silent_jumps,
        count(*) FILTER (WHERE explained) AS explained_jumps,
        list(
            {'before_ts': before_ts, 'after_ts': after_ts, 'missing': missing,
             'explained': explained}
            ORDER BY after_ts, before_ts NULLS FIRST
        ) AS jumps
    FROM jump
    GROUP BY isin, date
)
SELECT s.isin, s.date,
    count(*) AS trades,
    last(s.cum_volume ORDER BY s.n) AS last_cum_volume,
    CAST(sum(s.trade_qty) AS BIGINT) AS lake_volume,
    coalesce(any_value(j.silent_volume), 0) + coalesce(any_value(j.explained_volume), 0)
        AS missing_volume,
    coalesce(any_value(j.silent_volume), 0) AS silent_volume,
    coalesce(any_value(j.explained_volume), 0) AS explained_volume,
    coalesce(any_value(j.silent_jumps), 0) AS silent_jumps,
    coalesce(any_value(j.explained_jumps), 0) AS explained_jumps,
    count(*) FILTER (WHERE s.missing < 0) AS counter_anomalies,
    any_value(j.jumps) AS jumps
FROM stepped AS s
LEFT JOIN by_day AS j USING (isin, date)
GROUP BY s.isin, s.date
ORDER BY s.isin, s.date
