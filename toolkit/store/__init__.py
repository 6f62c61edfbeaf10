"""Stage 3 of the flow: the DuckDB store (DESIGN.md decision 2).

Modules: ``database`` (``ResponseStore``: batches, responses, records, quarantine, issues; one
transaction per write) and ``merge`` (Parquet export and merge of regional stores).

Imports from ``toolkit.ingest`` (the batch contract) and ``toolkit.errors`` only.
"""
