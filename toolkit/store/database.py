"""The response store: one embedded DuckDB file per workspace (DESIGN.md decision 2).

Tables:

``batches``
    one row per ingested file: batch_id, kind ('survey' or 'records'), survey (instrument
    name, or the record kind 'workforce' / 'training' / 'recruitment'), instrument_version,
    cycle (survey year; for records the extract year), region (code, or 'several'),
    source_file, sha256, reader, encoding, layout, rows_read, accepted, quarantined, warned,
    skipped (rows already stored with the same answers), ingested_at, toolkit_version,
    key_id (fingerprint of the pseudonymisation key), mapping (JSON of ``--mapping``),
    key_check (HMAC of the batch id with the key: :func:`toolkit.ingest.batch.key_check`).
``responses_<survey>`` and ``records_<kind>`` (``records_workforce``, ``records_training``,
``records_recruitment``)
    one row per accepted response or record: the provenance columns
    :data:`PROVENANCE_COLUMNS` (batch_id, respondent (keyed hash of the identifier), cycle,
    region, source_row, flagged (true when the row has warnings)), then one column per item:
    option codes as text (a multi-select's codes joined by one space), numbers as DOUBLE,
    **dates as ISO text 'YYYY-MM-DD'** (cast with ``CAST(col AS DATE)`` in SQL or
    ``pd.to_datetime``), text as given. Columns are added when a later batch brings new items.
``quarantine``
    rows not accepted: quarantine_id ('<batch_id>:<source_row>'), batch_id, kind, survey,
    cycle, region, source_row, respondent, raw (JSON object of the raw cells by source
    header: only columns matched to an item, and a cycle/year column; the identifier's cell
    holds its marked pseudonym, ``ptw-pseudonym:<hash>``), reasons, released, released_by
    (the batch or release that accepted the row), rejected (true when a person decided the
    row is genuinely wrong: no longer held).
``issues``
    every finding of validation: batch_id, source_row, respondent (pseudonym), column, value
    (an identifier's value as its marked pseudonym), rule, severity ('error', 'warning' or
    'info'), message.
``audit``
    decisions that take data out of the store, one row each: action ('remove_batch' or
    'reject_quarantined'), batch_id, source_file, sha256, quarantine_id (for a rejection),
    rows (responses or records removed), quarantined (quarantine rows removed or rejected),
    reason, done_by, done_at.

Every write is one transaction (:meth:`ResponseStore.transaction`): the batch record,
accepted rows, quarantined rows and issues commit together or not at all, so a killed
process leaves the store as it was before the command.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from toolkit.errors import StoreError
from toolkit.ingest.batch import (
    BatchRecord,
    Release,
    table_name,
)

FIXED_TABLES = ("batches", "quarantine", "issues", "audit")

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id VARCHAR PRIMARY KEY, kind VARCHAR, survey VARCHAR, instrument_version VARCHAR,
    cycle INTEGER, region VARCHAR, source_file VARCHAR, sha256 VARCHAR, reader VARCHAR,
    encoding VARCHAR, layout VARCHAR, rows_read BIGINT, accepted BIGINT, quarantined BIGINT,
    warned BIGINT, skipped BIGINT, ingested_at TIMESTAMP, toolkit_version VARCHAR,
    key_id VARCHAR, mapping VARCHAR, key_check VARCHAR);
ALTER TABLE batches ADD COLUMN IF NOT EXISTS key_check VARCHAR;
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id VARCHAR, batch_id VARCHAR, kind VARCHAR, survey VARCHAR, cycle INTEGER,
    region VARCHAR, source_row BIGINT, respondent VARCHAR, raw VARCHAR, reasons VARCHAR,
    released BOOLEAN DEFAULT FALSE, released_by VARCHAR);
CREATE TABLE IF NOT EXISTS issues (
    batch_id VARCHAR, source_row BIGINT, respondent VARCHAR, "column" VARCHAR, value VARCHAR,
    rule VARCHAR, severity VARCHAR, message VARCHAR);
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS rejected BOOLEAN DEFAULT FALSE;
CREATE TABLE IF NOT EXISTS audit (
    action VARCHAR, batch_id VARCHAR, source_file VARCHAR, sha256 VARCHAR,
    quarantine_id VARCHAR, rows BIGINT, quarantined BIGINT, reason VARCHAR, done_by VARCHAR,
    done_at TIMESTAMP);
"""


def quote(name: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def _never_written(path: Path) -> bool:
    """A store file that a command killed at the moment it created it left empty (0 bytes, no
    write-ahead log with anything in it): it holds nothing, so it is started again; DuckDB
    would refuse it as "not a valid DuckDB database file" for ever after."""
    wal = path.with_name(path.name + ".wal")
    empty_log = not wal.exists() or wal.stat().st_size == 0
    return path.is_file() and path.stat().st_size == 0 and empty_log


class ResponseStore:
    """The DuckDB store of a workspace.

    Use as a context manager; the connection closes on exit. ``read_only`` opens without
    taking the write lock, for analysis while another process reads.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        if _never_written(path):
            path.unlink()
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
        self.con.execute("SET enable_progress_bar = false")
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

    def data_tables(self) -> list[str]:
        """The ``responses_*`` and ``records_*`` tables."""
        return [t for t in self.tables() if t.startswith(("responses_", "records_"))]

    def row_counts(self) -> dict[str, int]:
        """Rows per table (for checking that a refused file changed nothing)."""
        return {
            t: int(self.con.execute(f"SELECT count(*) FROM {quote(t)}").fetchone()[0])
            for t in sorted(self.tables())
        }

    def find_batch(self, batch_id: str) -> dict[str, object] | None:
        """The batch record with ``batch_id``, or ``None``."""
        frame = self.con.execute("SELECT * FROM batches WHERE batch_id = ?", [batch_id]).df()
        return None if frame.empty else frame.iloc[0].to_dict()

    def batches(self) -> pd.DataFrame:
        """All batch records, oldest first."""
        return self.con.execute("SELECT * FROM batches ORDER BY ingested_at, batch_id").df()

    def stored_rows(self, table: str, respondents: Sequence[str]) -> pd.DataFrame:
        """Rows of ``table`` whose respondent is one of ``respondents`` (all columns)."""
        if table not in self.tables() or not len(respondents):
            return pd.DataFrame()
        keys = pd.DataFrame({"respondent": pd.Series(list(respondents), dtype="string")})
        self.con.register("_wanted", keys)
        try:
            return self.con.execute(
                f"SELECT t.* FROM {quote(table)} t SEMI JOIN _wanted USING (respondent)"
            ).df()
        finally:
            self.con.unregister("_wanted")

    def read_table(
        self,
        table: str,
        *,
        where: str = "",
        params: list[object] | None = None,
        leave_out: Sequence[str] = (),
    ) -> pd.DataFrame:
        """A whole table (optionally filtered, without the columns ``leave_out`` names) as a
        DataFrame.

        Read through Arrow (text columns become pandas' Arrow-backed ``str``): about ten times
        faster than DuckDB's own DataFrame conversion on a million rows of text answers, with
        the same values and dtypes for the stored responses and records.
        """
        if table not in self.tables():
            return pd.DataFrame()
        clause = f" WHERE {where}" if where else ""
        columns = f"* EXCLUDE ({', '.join(quote(c) for c in leave_out)})" if leave_out else "*"
        query = self.con.sql(f"SELECT {columns} FROM {quote(table)}{clause}", params=params or None)
        return query.to_arrow_table().to_pandas()

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

    def append(self, con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
        """Insert ``frame`` into ``table`` by column name, creating the table or columns."""
        if frame.empty:
            return
        con.register("_incoming", pa.Table.from_pandas(frame, preserve_index=False))
        try:
            if table not in self.tables():
                con.execute(f"CREATE TABLE {quote(table)} AS SELECT * FROM _incoming")
                return
            existing = {row[0] for row in con.execute(f"DESCRIBE {quote(table)}").fetchall()}
            for column in frame.columns:
                if column not in existing:
                    kind = "DOUBLE" if pd.api.types.is_float_dtype(frame[column]) else "VARCHAR"
                    con.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {kind}")
            columns = ", ".join(quote(c) for c in frame.columns)
            con.execute(f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} FROM _incoming")
        finally:
            con.unregister("_incoming")

    def _mark_released(
        self, con: duckdb.DuckDBPyConnection, ids: Sequence[str], released_by: str
    ) -> None:
        if not len(ids):
            return
        con.register(
            "_released", pd.DataFrame({"quarantine_id": pd.Series(list(ids), dtype="string")})
        )
        try:
            con.execute(
                "UPDATE quarantine SET released = TRUE, released_by = ? "
                "WHERE NOT released AND quarantine_id IN (SELECT quarantine_id FROM _released)",
                [released_by],
            )
        finally:
            con.unregister("_released")

    def write_batch(
        self,
        batch: BatchRecord,
        *,
        table: str,
        accepted: pd.DataFrame,
        quarantined: pd.DataFrame,
        issues: pd.DataFrame,
        released_ids: Sequence[str] = (),
    ) -> None:
        """Store one ingested file atomically.

        Args:
            batch: its provenance record.
            table: the responses or records table the accepted rows go to.
            accepted: rows to store (provenance columns first, then items).
            quarantined: rows held back, columns as the ``quarantine`` table.
            issues: validation findings, columns as the ``issues`` table.
            released_ids: earlier quarantined rows this batch now accepts (a fixed file
                re-ingested); they are marked released by this batch.
        """
        with self.transaction() as con:
            self.append(con, "batches", pd.DataFrame([asdict(batch)]))
            self.append(con, table, accepted)
            self.append(con, "quarantine", quarantined)
            self.append(con, "issues", issues)
            self._mark_released(con, released_ids, batch.batch_id)
            for earlier in sorted({i.rsplit(":", 1)[0] for i in released_ids}):
                self.refresh_counts(con, earlier)

    def write_release(self, release: Release) -> None:
        """Accept fixed quarantined rows into their batch, atomically.

        The rows join ``release.table`` under their original batch id; the batch's
        ``accepted`` and ``quarantined`` counts move by the number of rows released.
        """
        with self.transaction() as con:
            self.append(con, release.table, release.accepted)
            self.append(con, "issues", release.issues)
            self._mark_released(con, release.released_ids, release.released_by)
            for quarantine_id, reasons in release.reasons.items():
                con.execute(
                    "UPDATE quarantine SET reasons = ? WHERE quarantine_id = ?",
                    [reasons, quarantine_id],
                )
            self.refresh_counts(con, release.batch_id)

    def refresh_counts(self, con: duckdb.DuckDBPyConnection, batch_id: str) -> None:
        """Recount a batch's accepted and quarantined rows from the tables."""
        table = self.batch_table(batch_id)
        accepted = (
            con.execute(
                f"SELECT count(*) FROM {quote(table)} WHERE batch_id = ?", [batch_id]
            ).fetchone()[0]
            if table in self.tables()
            else 0
        )
        held = con.execute(
            "SELECT count(*) FROM quarantine WHERE batch_id = ? AND NOT released AND NOT rejected",
            [batch_id],
        ).fetchone()[0]
        con.execute(
            "UPDATE batches SET accepted = ?, quarantined = ? WHERE batch_id = ?",
            [accepted, held, batch_id],
        )

    def batch_table(self, batch_id: str) -> str:
        """The responses or records table of a batch."""
        batch = self.find_batch(batch_id)
        if batch is None:
            raise StoreError(code="store.unknown_batch", message="no such batch", value=batch_id,
                             file=str(self.path), fix="`ptw status` lists the batches")  # fmt: skip
        prefix = "responses" if batch["kind"] == "survey" else "records"
        return table_name(prefix, str(batch["survey"]))

    def quarantine(
        self, *, batch_id: str | None = None, include_released: bool = False
    ) -> pd.DataFrame:
        """Quarantined rows (held ones, neither released nor rejected, unless
        ``include_released``), optionally of one batch."""
        columns = {r[0] for r in self.con.execute("DESCRIBE quarantine").fetchall()}
        # a store written before rejections existed, opened read-only (so not yet upgraded)
        rejected = "" if "rejected" in columns else ", FALSE AS rejected"
        where = ["TRUE"]
        params: list[object] = []
        if not include_released:
            where.append("NOT q.released" + (" AND NOT q.rejected" if not rejected else ""))
        if batch_id:
            where.append("q.batch_id = ?")
            params.append(batch_id)
        return self.con.execute(
            f"SELECT q.*{rejected}, b.source_file FROM quarantine q JOIN batches b USING (batch_id) "
            f"WHERE {' AND '.join(where)} ORDER BY b.ingested_at, q.batch_id, q.source_row",
            params,
        ).df()

    def remove_batch(self, batch_id: str, *, reason: str, by: str) -> dict[str, object]:
        """Take one batch out of the store, atomically, and record it in ``audit``.

        Removes the batch's stored rows (including rows released into it later), its
        quarantine rows and issues and its batch record, so the same file can be ingested
        again. Rows of earlier batches that this batch released (a corrected file) are held
        in quarantine again. Returns the audit row.
        """
        batch = self.find_batch(batch_id)
        table = self.batch_table(batch_id)
        with self.transaction() as con:
            rows = (
                con.execute(
                    f"DELETE FROM {quote(table)} WHERE batch_id = ?", [batch_id]
                ).fetchone()[0]
                if table in self.tables()
                else 0
            )
            held = con.execute("DELETE FROM quarantine WHERE batch_id = ?", [batch_id]).fetchone()[
                0
            ]
            con.execute("DELETE FROM issues WHERE batch_id = ?", [batch_id])
            earlier = [r[0] for r in con.execute(
                "UPDATE quarantine SET released = FALSE, released_by = NULL "
                "WHERE released_by = ? RETURNING batch_id", [batch_id]).fetchall()]  # fmt: skip
            con.execute("DELETE FROM batches WHERE batch_id = ?", [batch_id])
            for other in sorted(set(earlier)):
                self.refresh_counts(con, other)
            entry = self._audit(con, "remove_batch", batch, rows=rows, quarantined=held,
                                reason=reason, by=by)  # fmt: skip
        return entry

    def reject_quarantined(
        self, quarantine_ids: Sequence[str], *, reason: str, by: str
    ) -> list[dict[str, object]]:
        """Mark held quarantine rows as rejected (genuinely wrong), atomically, with an
        ``audit`` row each. Raises ``store.not_held`` naming ids that are not held rows."""
        held = self.quarantine().set_index("quarantine_id")
        missing = [i for i in quarantine_ids if i not in held.index]
        if missing:
            raise StoreError(
                code="store.not_held",
                message=f"{len(missing)} row(s) are not held in quarantine",
                file=str(self.path),
                value=", ".join(missing[:5]),
                expected="quarantine ids of held rows, as `ptw quarantine list` shows them",
                fix="copy the ids from `ptw quarantine list` (released or rejected rows "
                "cannot be rejected)",
            )
        entries = []
        with self.transaction() as con:
            for quarantine_id in dict.fromkeys(quarantine_ids):
                con.execute("UPDATE quarantine SET rejected = TRUE WHERE quarantine_id = ?",
                            [quarantine_id])  # fmt: skip
                batch = self.find_batch(str(held.loc[quarantine_id, "batch_id"]))
                entries.append(self._audit(con, "reject_quarantined", batch, rows=0, quarantined=1,
                                           reason=reason, by=by, quarantine_id=quarantine_id))  # fmt: skip
            for batch_id in sorted(set(held.loc[list(quarantine_ids), "batch_id"])):
                self.refresh_counts(con, batch_id)
        return entries

    def _audit(
        self,
        con: duckdb.DuckDBPyConnection,
        action: str,
        batch: dict[str, object] | None,
        *,
        rows: int,
        quarantined: int,
        reason: str,
        by: str,
        quarantine_id: str | None = None,
    ) -> dict[str, object]:
        """Append one row to ``audit`` and return it."""
        entry: dict[str, object] = {
            "action": action, "batch_id": (batch or {}).get("batch_id"),
            "source_file": (batch or {}).get("source_file"), "sha256": (batch or {}).get("sha256"),
            "quarantine_id": quarantine_id, "rows": int(rows), "quarantined": int(quarantined),
            "reason": reason, "done_by": by,
            "done_at": pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
        }  # fmt: skip
        columns = ", ".join(quote(c) for c in entry)
        marks = ", ".join("?" for _ in entry)
        con.execute(f"INSERT INTO audit ({columns}) VALUES ({marks})", list(entry.values()))
        return entry

    def audit(self) -> pd.DataFrame:
        """The audit table, oldest first."""
        return self.con.execute("SELECT * FROM audit ORDER BY done_at").df()

    def counts(self) -> pd.DataFrame:
        """Batches and accepted, quarantined, warned and skipped rows by kind, survey, cycle, region."""
        return self.con.execute(
            """SELECT kind, survey, cycle, region, count(*) AS batches,
                      sum(rows_read)::BIGINT AS rows_read, sum(accepted)::BIGINT AS accepted,
                      sum(quarantined)::BIGINT AS quarantined, sum(warned)::BIGINT AS warned,
                      sum(skipped)::BIGINT AS skipped
               FROM batches GROUP BY ALL ORDER BY ALL"""
        ).df()

    def stored_counts(self) -> pd.DataFrame:
        """Stored rows by table, cycle and region, counted in the data tables themselves.

        Columns: table, kind ('responses' or 'records'), name, cycle, region, rows.
        """
        parts = [
            f"SELECT '{t}' AS \"table\", cycle, region, count(*) AS rows FROM {quote(t)} GROUP BY ALL"
            for t in self.data_tables()
        ]
        if not parts:
            return pd.DataFrame(columns=["table", "kind", "name", "cycle", "region", "rows"])
        frame = self.con.execute(" UNION ALL ".join(parts) + " ORDER BY ALL").df()
        split = frame["table"].str.split("_", n=1)
        frame.insert(1, "kind", split.str[0])
        frame.insert(2, "name", split.str[1])
        return frame

    def key_ids(self) -> set[str]:
        """Fingerprints of the pseudonymisation keys used by the stored batches."""
        return {
            row[0] for row in self.con.execute("SELECT DISTINCT key_id FROM batches").fetchall()
        }
