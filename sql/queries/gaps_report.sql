-- The gaps of a date range, per TR and ISIN, with how long each lasted.
--
-- A gap is a time a (TR, ISIN) feed was not being recorded (a dropped connection, until
-- its resubscription); its date is the Seoul date it opened. duration_s is end_ts -
-- start_ts in seconds, exact to the microsecond; a gap still open (end_ts NULL, is_open
-- true) is measured up to `until`. By TR, ISIN, then start.
--
-- Parameters (the text given is cast to the type shown; one left out is NULL):
--   $date DATE, default every day: the Seoul date the gaps opened, or the first of a range.
--   $to_date DATE, default $date: the last date of the range, included.
--   $until TIMESTAMPTZ, default now: where an open gap is measured to (text without an
--       offset is read in the session's TimeZone, which `bondtape query` sets to
--       Asia/Seoul).
--   $isins VARCHAR[], default all ISINs: the ISINs to show (comma-separated on the
--       command line: isins=KR103502GD31,KR101501DD41).
SELECT
    date, tr_id, isin, conn_id, start_ts, end_ts,
    end_ts IS NULL AS is_open,
    CAST(
        date_diff(
            'microsecond',
            start_ts,
            coalesce(end_ts, CAST($until AS TIMESTAMPTZ), now())
        ) * 0.000001
        AS DECIMAL(18, 6)
    ) AS duration_s,
    reason, segment, "offset", close_segment, close_offset
FROM gaps_between(
    CAST($date AS DATE), coalesce(CAST($to_date AS DATE), CAST($date AS DATE))
)
WHERE (CAST($isins AS VARCHAR[]) IS NULL OR list_contains(CAST($isins AS VARCHAR[]), isin))
ORDER BY tr_id, isin, start_ts, segment, "offset"
