-- The share of each ISIN's trading session that was recorded: per ISIN and Seoul date, the
-- part of the session not inside a gap of any of its TRs.
--
-- Definition: the session of date D is session_open to session_close, Seoul time, cut off
-- at `until` while it is still going on (so today's coverage is of the session so far). An
-- ISIN's gaps are those of every TR it is recorded on (H0BJASP0 quotes, H0BJCNT0 trades),
-- merged, so a moment counts as uncovered when any of its feeds was down: coverage =
-- 1 - gap_s / session_s, from 0 to 1 (a DOUBLE; NULL for an empty session). A gap still
-- open runs to `until`; gaps that opened on an earlier day count where they overlap. Rows:
-- each (date, ISIN) that has a quote, trade or gap in the lake (a day with nothing at all
-- recorded for an ISIN has no row: without the calendar it cannot be told from a holiday).
-- gaps is the number of gaps overlapping the session. By date, then ISIN.
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $date DATE, default every day: the Seoul trading date, or the first of a range.
--   $to_date DATE, default $date: the last date of the range, included.
--   $session_open TIME, default '08:00': when the session opens, Seoul time.
--   $session_close TIME, default '15:30': when the session closes, Seoul time.
--   $until TIMESTAMPTZ, default now: where open gaps and a running session end (text
--       without an offset is read in the session's TimeZone, which `bondtape query` sets to
--       Asia/Seoul).
--   $isins VARCHAR[], default all ISINs: the ISINs to show (comma-separated on the
--       command line: isins=KR103502GD31,KR101501DD41).
WITH
days AS (  -- of the dates asked only
    SELECT date, isin FROM quotes_between(
        CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
    )
    UNION SELECT date, isin FROM trades_between(
        CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
    )
    UNION SELECT date, isin FROM gaps_between(
        CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
    )
),
sessions AS (
    SELECT
        date, isin,
        timezone(
            'Asia/Seoul', date + coalesce(CAST($session_open AS TIME), TIME '08:00')
        ) AS open_ts,
        least(
            timezone('Asia/Seoul', date + coalesce(CAST($session_close AS TIME), TIME '15:30')),
            coalesce(CAST($until AS TIMESTAMPTZ), now())
        ) AS close_ts,
        greatest(date_diff('microsecond', open_ts, close_ts), 0) AS session_us
    FROM days
    WHERE (CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin))
),
clipped AS (  -- each gap of the ISIN, any TR, cut to the session; the empty cuts go
    SELECT *
    FROM (
        SELECT
            s.date, s.isin,
            greatest(g.start_ts, s.open_ts) AS gap_start,
            least(coalesce(g.end_ts, CAST($until AS TIMESTAMPTZ), now()), s.close_ts) AS gap_end
        FROM sessions AS s
        JOIN gaps AS g ON g.isin = s.isin
    )
    WHERE gap_start < gap_end
),
islands AS (  -- overlapping gaps merged: an island starts at a gap after all earlier ones
    SELECT
        date, isin, gap_start, gap_end,
        sum(CASE WHEN gap_start <= earlier_end THEN 0 ELSE 1 END) OVER (
            PARTITION BY date, isin ORDER BY gap_start, gap_end ROWS UNBOUNDED PRECEDING
        ) AS island
    FROM (
        SELECT
            *,
            max(gap_end) OVER (
                PARTITION BY date, isin ORDER BY gap_start, gap_end
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ) AS earlier_end
        FROM clipped
    )
),
uncovered AS (
    SELECT date, isin, sum(island_us) AS gap_us, sum(gaps) AS gaps
    FROM (
        SELECT
            date, isin,
            date_diff('microsecond', min(gap_start), max(gap_end)) AS island_us,
            count(*) AS gaps
        FROM islands
        GROUP BY date, isin, island
    )
    GROUP BY date, isin
)
SELECT
    date, isin,
    CAST(session_us * 0.000001 AS DECIMAL(18, 6)) AS session_s,
    CAST(coalesce(gap_us, 0) * 0.000001 AS DECIMAL(18, 6)) AS gap_s,
    1 - coalesce(gap_us, 0) / nullif(session_us, 0) AS coverage,
    CAST(coalesce(gaps, 0) AS BIGINT) AS gaps
FROM sessions
LEFT JOIN uncovered USING (date, isin)
ORDER BY date, isin
