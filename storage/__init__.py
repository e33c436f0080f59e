"""Raw log to tables: normalizer, schemas, lake layout, compaction, DuckDB catalog."""
