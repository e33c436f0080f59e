-- The latest top-of-book per ISIN among the quote files given as the one parameter
-- (a list of Parquet paths). Latest by recv_ns, the exact receive order (recv_ts is cut to the
-- microsecond); ties (a multi-record frame) go to the last record.
SELECT isin, exch_time, bid_qty_1, bid_yield_1, bid_price_1, ask_price_1, ask_yield_1, ask_qty_1
FROM read_parquet(?, hive_partitioning = false)
QUALIFY row_number() OVER (PARTITION BY isin ORDER BY recv_ns DESC, record_index DESC) = 1
ORDER BY isin
