"""The response store: one embedded DuckDB file per workspace (DESIGN.md decision 2).

Tables:

``batches``
    one row per ingested file: batch_id, kind ('survey' or 'records'), survey (instrument
    or record kind), instrument_version, cycle, region, source_file, sha256, reader,
    encoding, layout, rows_read, accepted, quarantined, warned, ingested_at,
    toolkit_version.
``responses_<survey>``
    one row per accepted response: batch_id, respondent (keyed hash), cycle, region,
    source_row, flagged, then one column per item (answer codes as text; numbers as
    DOUBLE). Columns are added when a new instrument version adds items.
``records_<kind>``
    workforce, training or recruitment records, same provenance columns.
``quarantine``
    rows not accepted: batch_id, survey, source_row, respondent, raw (JSON of the raw
    cells), reasons, released.
``issues``
    every finding of validation: batch_id, source_row, respondent, column, value, rule,
    severity, message.

Each ingest is one transaction (:meth:`ResponseStore.write_batch`): the batch record,
accepted rows, quarantined rows and issues commit together or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pandas as pd

from toolkit.errors import StoreError

PROVENANCE_COLUMNS = ("batch_id", "respondent", "cycle", "region", "source_row", "flagged")
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id VARCHAR PRIMARY KEY, kind VARCHAR, survey VARCHAR, instrument_version VARCHAR,
    cycle INTEGER, region VARCHAR, source_file VARCHAR, sha256 VARCHAR, reader VARCHAR,
    encoding VARCHAR, layout VARCHAR, rows_read BIGINT, accepted BIGINT, quarantined BIGINT,
    warned BIGINT, ingested_at TIMESTAMP, toolkit_version VARCHAR);
CREATE TABLE IF NOT EXISTS quarantine (
    batch_id VARCHAR, survey VARCHAR, source_row BIGINT, respondent VARCHAR, raw VARCHAR,
    reasons VARCHAR, released BOOLEAN DEFAULT FALSE);
CREATE TABLE IF NOT EXISTS issues (
    batch_id VARCHAR, source_row BIGINT, respondent VARCHAR, "column" VARCHAR, value VARCHAR,
    rule VARCHAR, severity VARCHAR, message VARCHAR);
"""


@dataclass(frozen=True)
class BatchRecord:
    """Provenance of one ingested file (a row of ``batches``)."""

    batch_id: str
    kind: str
    survey: str
    instrument_version: str
    cycle: int
    region: str
    source_file: str
    sha256: str
    reader: str
    encoding: str
    layout: str
    rows_read: int
    accepted: int
    quarantined: int
    warned: int
    ingested_at: pd.Timestamp
    toolkit_version: str


def table_name(kind: str, name: str) -> str:
    """``responses_retention`` / ``records_workforce``, refusing unsafe names."""
    if not _SAFE_NAME.match(name):
        raise StoreError(code="store.bad_name", message=f"not a valid table name part: {name!r}")
    return f"{kind}_{name}"


class ResponseStore:
    """The DuckDB store of a workspace.

    Use as a context manager; the connection closes on exit. ``read_only`` opens without
    taking the write lock, for analysis while another process reads.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        if read_only and not path.exists():
            raise StoreError(
                code="store.missing",
                message="the store does not exist yet",
                file=str(path),
                fix="ingest a file first with `ptw ingest FILE --survey NAME --cycle YEAR`",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreError(
                code="store.locked",
                message=f"cannot open the store: {exc}",
                file=str(path),
                fix="wait for the other ptw command using this workspace to finish",
            ) from exc
        self.path = path
        if not read_only:
            self.con.execute(SCHEMA)

    def __enter__(self) -> ResponseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def tables(self) -> list[str]:
        """Names of the tables in the store."""
        return [row[0] for row in self.con.execute("SHOW TABLES").fetchall()]

    def find_batch(self, batch_id: str) -> dict[str, object] | None:
        """The batch record with ``batch_id``, or ``None``."""
        frame = self.con.execute("SELECT * FROM batches WHERE batch_id = ?", [batch_id]).df()
        return None if frame.empty else frame.iloc[0].to_dict()

    def batches(self) -> pd.DataFrame:
        """All batch records, oldest first."""
        return self.con.execute("SELECT * FROM batches ORDER BY ingested_at, batch_id").df()

    def known_respondents(self, table: str, cycle: int) -> set[str]:
        """Pseudonymised respondents already stored in ``table`` for ``cycle``."""
        if table not in self.tables():
            return set()
        rows = self.con.execute(
            f'SELECT respondent FROM "{table}" WHERE cycle = ?', [cycle]
        ).fetchall()
        return {row[0] for row in rows}

    def read_table(
        self, table: str, *, where: str = "", params: list[object] | None = None
    ) -> pd.DataFrame:
        """A whole table (optionally filtered) as a DataFrame."""
        if table not in self.tables():
            return pd.DataFrame()
        clause = f" WHERE {where}" if where else ""
        return self.con.execute(f'SELECT * FROM "{table}"{clause}', params or []).df()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One atomic unit of work: commits on success, rolls back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def _ensure_columns(
        self, con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame
    ) -> None:
        existing = {row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}
        for column in frame.columns:
            if column not in existing:
                sql_type = "DOUBLE" if pd.api.types.is_float_dtype(frame[column]) else "VARCHAR"
                con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sql_type}')

    def _append(self, con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        con.register("_incoming", frame)
        try:
            if table not in self.tables():
                con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM _incoming')
                return
            self._ensure_columns(con, table, frame)
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            con.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM _incoming')
        finally:
            con.unregister("_incoming")

    def write_batch(
        self,
        batch: BatchRecord,
        *,
        table: str,
        accepted: pd.DataFrame,
        quarantined: pd.DataFrame,
        issues: pd.DataFrame,
    ) -> None:
        """Store one ingested file atomically.

        Args:
            batch: its provenance record.
            table: the responses or records table the accepted rows go to.
            accepted: rows to store (provenance columns first, then items).
            quarantined: rows held back, columns as the ``quarantine`` table.
            issues: validation findings, columns as the ``issues`` table.
        """
        with self.transaction() as con:
            self._append(con, "batches", pd.DataFrame([asdict(batch)]))
            self._append(con, table, accepted)
            self._append(con, "quarantine", quarantined)
            self._append(con, "issues", issues)

    def counts(self) -> pd.DataFrame:
        """Accepted, quarantined and warned rows by kind, survey, cycle and region."""
        return self.con.execute(
            """SELECT kind, survey, cycle, region, count(*) AS batches, sum(rows_read) AS rows_read,
                      sum(accepted) AS accepted, sum(quarantined) AS quarantined, sum(warned) AS warned
               FROM batches GROUP BY ALL ORDER BY ALL"""
        ).df()
