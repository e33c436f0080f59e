-- View bonds: KIS's bond master as `bondtape bonds --master F --save` left it in
-- data_dir/ref/bonds.parquet, one row per ISIN (storage/schemas.py BONDS). Before any master is
-- saved it has the same columns and no rows: read_parquet(..., allow_empty) then gives one
-- BOOLEAN column `empty`, so the file is united by name with a typed empty row set and the
-- columns are picked by name. Columns are bound when queried, so a master saved after the
-- catalog was built shows without rebuilding it.
CREATE OR REPLACE VIEW bonds AS
SELECT
    CAST(isin AS VARCHAR) AS isin,
    CAST(name AS VARCHAR) AS name,
    CAST(issuer_kind AS VARCHAR) AS issuer_kind,
    CAST(bond_type AS VARCHAR) AS bond_type,
    CAST(bond_class AS VARCHAR) AS bond_class,
    CAST(interest_class AS VARCHAR) AS interest_class,
    CAST(listed AS DATE) AS listed,
    CAST(issued AS DATE) AS issued,
    CAST(maturity AS DATE) AS maturity
FROM (
    SELECT
        CAST(NULL AS VARCHAR) AS isin,
        CAST(NULL AS VARCHAR) AS name,
        CAST(NULL AS VARCHAR) AS issuer_kind,
        CAST(NULL AS VARCHAR) AS bond_type,
        CAST(NULL AS VARCHAR) AS bond_class,
        CAST(NULL AS VARCHAR) AS interest_class,
        CAST(NULL AS DATE) AS listed,
        CAST(NULL AS DATE) AS issued,
        CAST(NULL AS DATE) AS maturity
    WHERE false
    UNION ALL BY NAME
    SELECT * FROM read_parquet(bondtape_ref() || '/bonds.parquet', allow_empty = true)
)
