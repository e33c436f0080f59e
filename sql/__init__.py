"""View definitions and named queries, shipped as package data (*.sql)."""
