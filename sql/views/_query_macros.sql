-- Macros the named queries share (sql/queries/), so that twins cannot drift apart.
--
-- bondtape_quotes_window(isin, start_ts, end_ts): one ISIN's quotes received in
-- [start_ts, end_ts) (TIMESTAMPTZ; NULL: no bound), reading only the Seoul dates the window
-- touches (date is the Seoul date of recv_ts). mid_spread and depth_imbalance read it.
CREATE OR REPLACE MACRO bondtape_quotes_window(isin_wanted, start_ts, end_ts) AS TABLE
FROM quotes_between(
    CAST(timezone('Asia/Seoul', CAST(start_ts AS TIMESTAMPTZ)) AS DATE),
    CAST(timezone('Asia/Seoul', CAST(end_ts AS TIMESTAMPTZ)) AS DATE)
)
WHERE isin = CAST(isin_wanted AS VARCHAR)
    AND (CAST(start_ts AS TIMESTAMPTZ) IS NULL
        OR recv_ns >= epoch_ns(CAST(start_ts AS TIMESTAMPTZ)))
    AND (CAST(end_ts AS TIMESTAMPTZ) IS NULL OR recv_ns < epoch_ns(CAST(end_ts AS TIMESTAMPTZ)));

-- bondtape_vwap(price, qty): the volume-weighted average price of a group's trades, exact, in
-- units of 0.0001 rounded half up: (100 * sum(cents * qty) + sum(qty) // 2) // sum(qty).
-- bars and trades_summary use it (an aggregate: call it where a GROUP BY applies).
CREATE OR REPLACE MACRO bondtape_vwap(price, qty) AS CAST(
    ((100 * sum(CAST(price * 100 AS HUGEINT) * qty) + sum(qty) // 2) // sum(qty)) * 0.0001
    AS DECIMAL(18, 4)
);
