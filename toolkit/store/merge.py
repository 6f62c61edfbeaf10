"""Export a store to Parquet, and merge another store (or its Parquet export) into this one.

Export writes pseudonymised microdata: ``batches.parquet`` and one ``<table>.parquet`` per
responses or records table (rows in a stable order), without the free-text items the caller
names, and ``manifest.json`` (toolkit version, key fingerprints, row counts, columns left
out) into a folder; Parquet is also the way into any larger engine. Respondents appear only
as keyed pseudonyms (the store never holds a raw identifier). The ``quarantine`` and
``issues`` tables hold the raw cells of rows that failed their checks, which may be anything
a respondent typed, so they stay in the store: merging a store file brings them along,
merging a Parquet export does not.

Merge (a regional store into the national one) adds every batch of the other store that
this store does not hold, with its rows, quarantine and issues, in one transaction. A batch
held already is not added again. An incoming row whose key (respondent and cycle for
surveys; respondent and start date for workforce and training records) is stored here
already is *skipped* when its answers are the same, and otherwise quarantined with the
reason ``respondent_already_stored (merge)`` and reported: the same outcome as ingesting
both exports into one store. Both stores must pseudonymise with the same key (the same
``.ptw-secret``), or the same person would not be recognised across them: every incoming
batch must carry the keyed check of its batch id made with this workspace's key
(:func:`toolkit.ingest.batch.key_check`, compared in constant time). The public ``key_id``
fingerprint is shown in messages but never trusted, since anyone can copy it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit import __version__
from toolkit.errors import StoreError
from toolkit.ingest.batch import PROVENANCE_COLUMNS, RECORD_KEYS, key_check
from toolkit.store.database import FIXED_TABLES, ResponseStore, quote

MANIFEST = "manifest.json"
_ORDER = {
    "batches": "batch_id",
    "quarantine": "quarantine_id",
    "issues": 'batch_id, source_row, rule, "column"',
    "audit": "done_at, action, batch_id, quarantine_id",
}


def export_parquet(
    store: ResponseStore, folder: Path, *, free_text: Mapping[str, Collection[str]]
) -> dict[str, int]:
    """Write the batches and data tables to ``folder/<table>.parquet`` and a manifest.

    Args:
        store: the store.
        folder: where to write (created).
        free_text: data table -> its free-text item columns, which are left out.

    Returns:
        Rows per table written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    counts = {t: n for t, n in store.row_counts().items() if t not in FIXED_TABLES[1:]}
    left_out: dict[str, list[str]] = {}
    for table in counts:
        order = _ORDER.get(table, "batch_id, source_row")
        stored = [row[0] for row in store.con.execute(f"DESCRIBE {quote(table)}").fetchall()]
        left_out[table] = sorted(set(free_text.get(table, ())) & set(stored))
        columns = ", ".join(quote(c) for c in stored if c not in left_out[table])
        target = str(folder / f"{table}.parquet").replace("'", "''")
        store.con.execute(
            f"COPY (SELECT {columns} FROM {quote(table)} ORDER BY {order}) "
            f"TO '{target}' (FORMAT parquet)"
        )
    manifest = {
        "toolkit_version": __version__,
        "key_ids": sorted(store.key_ids()),
        "rows": counts,
        "free_text_left_out": {t: c for t, c in left_out.items() if c},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return counts


@dataclass(frozen=True)
class MergeReport:
    """What a merge did.

    Attributes:
        batches_added: ids of the batches added.
        batches_present: ids of incoming batches this store held already (not added again).
        rows_added: rows added per data table.
        skipped: incoming rows already stored with the same answers.
        conflicts: incoming rows whose key is stored with different answers (quarantined):
            table, batch_id, source_row, respondent, stored_batch_id.
    """

    batches_added: tuple[str, ...]
    batches_present: tuple[str, ...]
    rows_added: dict[str, int]
    skipped: int
    conflicts: pd.DataFrame


@contextmanager
def _source(store: ResponseStore, other: Path) -> Iterator[dict[str, str]]:
    """SQL relations of the other store's tables: table name -> FROM clause."""
    if other.is_dir():
        files = sorted(other.glob("*.parquet"))
        if not any(f.stem == "batches" for f in files):
            raise _not_a_store(other, "the folder holds no batches.parquet")
        yield {f.stem: "read_parquet('" + str(f).replace("'", "''") + "')" for f in files}
        return
    if not other.is_file():
        raise _not_a_store(other, "there is no store or folder here")
    try:
        store.con.execute(
            f"ATTACH '{str(other).replace(chr(39), chr(39) * 2)}' AS other_store (READ_ONLY)"
        )
    except Exception as exc:  # duckdb raises several exception types for a bad file
        raise _not_a_store(
            other, f"cannot open it as a ptw store ({exc.__class__.__name__})"
        ) from exc
    try:
        names = [r[0] for r in store.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'other_store'"
        ).fetchall()]  # fmt: skip
        if "batches" not in names:
            raise _not_a_store(other, "it has no batches table")
        yield {name: f"other_store.main.{quote(name)}" for name in names}
    finally:
        store.con.execute("DETACH other_store")


def _not_a_store(path: Path, why: str) -> StoreError:
    return StoreError(
        code="store.not_a_store",
        message=f"cannot merge: {why}",
        file=str(path),
        expected="a ptw store file (.duckdb) or a folder written by `ptw export --parquet`",
        fix="give the path of the other workspace's store/ptw.duckdb or of its Parquet export",
    )


def _key_columns(table: str) -> list[str]:
    """The columns that identify a row of a data table."""
    if table.startswith("responses_"):
        return ["respondent", "cycle"]
    return ["respondent", *RECORD_KEYS[table.removeprefix("records_")][1]]


def _signature(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    return frame[columns].astype("string").fillna("\x00").agg("\x1f".join, axis=1)


def _split_incoming(
    store: ResponseStore, table: str, incoming: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Incoming rows -> (to add, already stored the same, conflicting) by the table's key."""
    keys = _key_columns(table)
    stored = store.stored_rows(table, incoming["respondent"].dropna().unique())
    if stored.empty:
        return incoming, incoming.iloc[:0], incoming.iloc[:0]
    items = [c for c in incoming.columns if c not in PROVENANCE_COLUMNS and c in stored.columns]
    held = stored[keys].assign(
        _stored=_signature(stored, items), stored_batch_id=stored["batch_id"]
    )
    held = held.drop_duplicates(keys)
    joined = incoming.assign(_sig=_signature(incoming, items)).merge(held, on=keys, how="left")
    found = joined["_stored"].notna()
    same = found & (joined["_stored"] == joined["_sig"])
    conflict = found & ~same
    return (
        incoming.loc[~found.to_numpy()],
        incoming.loc[same.to_numpy()],
        joined.loc[
            conflict, ["batch_id", "source_row", "respondent", "stored_batch_id", *keys[1:]]
        ],
    )


def _conflict_quarantine(
    conflicts: pd.DataFrame, rows: pd.DataFrame, batches: pd.DataFrame, table: str
) -> pd.DataFrame:
    """Quarantine records for conflicting merged rows (raw: the incoming stored values)."""
    if conflicts.empty:
        return pd.DataFrame()
    picked = rows.merge(
        conflicts[["batch_id", "source_row", "stored_batch_id"]], on=["batch_id", "source_row"]
    )
    info = batches.set_index("batch_id")
    kind, _, name = table.partition("_")
    return pd.DataFrame({
        "quarantine_id": picked["batch_id"] + ":" + picked["source_row"].astype(str),
        "batch_id": picked["batch_id"], "kind": "survey" if kind == "responses" else "records",
        "survey": name, "cycle": picked["cycle"].astype(int), "region": picked["region"],
        "source_row": picked["source_row"], "respondent": picked["respondent"],
        "raw": picked.drop(columns=["stored_batch_id"]).astype(object).where(picked.notna(), None)
        .apply(lambda r: json.dumps(r.to_dict(), default=str, ensure_ascii=False), axis=1),
        "reasons": "respondent_already_stored (merge): already stored from batch " + picked["stored_batch_id"]
        + " (" + picked["stored_batch_id"].map(info["source_file"]).fillna("") + ")",
        "released": False, "released_by": pd.Series([None] * len(picked), dtype="string"),
    })  # fmt: skip


def merge_store(store: ResponseStore, other: Path, *, secret: bytes) -> MergeReport:
    """Merge another store file or Parquet export into ``store`` (module docstring).

    Args:
        store: this workspace's store.
        other: the other store file or Parquet export folder.
        secret: this workspace's pseudonymisation key.

    Raises:
        StoreError: ``store.not_a_store`` (not a store or export), ``store.key_mismatch``
            (the stores pseudonymise with different keys); the store is unchanged.
    """
    with _source(store, other) as source:
        incoming_batches = store.con.execute(f"SELECT * FROM {source['batches']}").df()
        _check_keys(incoming_batches, other, secret)
        present = set(store.batches()["batch_id"])
        new = incoming_batches[~incoming_batches["batch_id"].isin(present)].copy()
        new_ids = pd.DataFrame({"batch_id": new["batch_id"].astype("string")})
        store.con.register("_new_batches", new_ids)
        try:
            parts = {
                table: store.con.execute(f"SELECT * FROM {relation} SEMI JOIN _new_batches USING (batch_id)").df()
                for table, relation in source.items() if table != "batches"
            }  # fmt: skip
        finally:
            store.con.unregister("_new_batches")
    return _write_merge(
        store, new, parts, tuple(sorted(present & set(incoming_batches["batch_id"])))
    )


def _check_keys(incoming: pd.DataFrame, other: Path, secret: bytes) -> None:
    """``store.key_mismatch`` unless every incoming batch carries this key's check."""
    checks = incoming.get("key_check", pd.Series(None, index=incoming.index, dtype=object))
    for batch_id, found, source in zip(
        incoming["batch_id"], checks, incoming["source_file"], strict=True
    ):
        claimed = found if isinstance(found, str) else ""
        if not hmac.compare_digest(key_check(secret, str(batch_id)), claimed):
            raise StoreError(
                code="store.key_mismatch",
                message="the other store was not made with this workspace's pseudonymisation "
                f"key (batch {batch_id}, from {source}, fails the keyed check), so the same "
                "person could not be recognised in both",
                file=str(other),
                expected="batches made with this workspace's .ptw-secret",
                fix="use one key for every regional workspace: copy the national .ptw-secret "
                "into each workspace before ingesting (a store made by a ptw without key checks "
                "must be ingested again)",
            )


def _write_merge(
    store: ResponseStore,
    new: pd.DataFrame,
    parts: dict[str, pd.DataFrame],
    present: tuple[str, ...],
) -> MergeReport:
    """Add the new batches and their rows in one transaction, skipping and quarantining by key."""
    added: dict[str, int] = {}
    conflicts: list[pd.DataFrame] = []
    skipped = 0
    with store.transaction() as con:
        store.append(con, "batches", new)
        for table in FIXED_TABLES[1:]:
            store.append(con, table, parts.get(table, pd.DataFrame()))
        for table, rows in parts.items():
            if table in FIXED_TABLES or rows.empty:
                continue
            fresh, same, conflict = _split_incoming(store, table, rows)
            store.append(con, table, fresh)
            store.append(con, "quarantine", _conflict_quarantine(conflict, rows, new, table))
            added[table] = len(fresh)
            skipped += len(same)
            conflicts.append(conflict.assign(table=table))
            for batch_id in set(same["batch_id"]) | set(conflict["batch_id"]):
                store.refresh_counts(con, batch_id)
                con.execute(
                    "UPDATE batches SET skipped = skipped + ? WHERE batch_id = ?",
                    [int((same["batch_id"] == batch_id).sum()), batch_id],
                )
    columns = ["table", "batch_id", "source_row", "respondent", "stored_batch_id"]
    found = (
        pd.concat([c[columns] for c in conflicts if not c.empty], ignore_index=True)
        if any(not c.empty for c in conflicts)
        else pd.DataFrame(columns=columns)
    )
    return MergeReport(tuple(new["batch_id"]), present, added, skipped, found)
