"""One survey export -> the store, in one transaction, losing nothing.

``ingest_survey_file`` reads a file, matches its columns to the instrument, codes and
validates every row, pseudonymises respondents, and writes the batch record, accepted
rows, quarantined rows (with their raw cells and reasons) and the issues table together.
Re-ingesting a file already stored adds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit import __version__
from toolkit.errors import IngestError
from toolkit.ingest.coding import (
    ISSUE_COLUMNS,
    code_answers,
    duplicate_issues,
    empty_issues,
    match_columns,
    normalise,
)
from toolkit.ingest.readers import RawExport, read_export
from toolkit.instrument import Instrument
from toolkit.store import BatchRecord, ResponseStore, table_name


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did.

    Attributes:
        batch: the batch record (stored, or the existing one when already ingested).
        already_ingested: the file was in the store already; nothing was added.
        issues: every finding (:data:`toolkit.ingest.coding.ISSUE_COLUMNS`).
        ignored_columns: source columns that matched no item.
    """

    batch: BatchRecord
    already_ingested: bool
    issues: pd.DataFrame
    ignored_columns: tuple[str, ...]


def pseudonymise(identifiers: pd.Series, secret: bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256, first 32 hex digits) of each identifier; blanks stay <NA>."""
    return identifiers.map(
        lambda v: (
            hmac.new(secret, str(v).strip().encode(), hashlib.sha256).hexdigest()[:32]
            if isinstance(v, str) and v.strip()
            else pd.NA
        )
    ).astype("string")


def batch_identifier(sha256: str, survey: str, cycle: int, region: str) -> str:
    """Deterministic batch id: the same file for the same survey, cycle and region -> same id."""
    return hashlib.sha256(f"{sha256}|{survey}|{cycle}|{region}".encode()).hexdigest()[:20]


def _consistency_issues(
    values: pd.DataFrame, raw: RawExport, *, column: str, expected: str, rule: str
) -> pd.DataFrame:
    """Rows whose own ``column`` disagrees with the batch's ``expected`` value."""
    if column not in values or not expected:
        return empty_issues()
    mask = (values[column].notna() & (values[column].astype("string") != expected)).to_numpy()
    if not mask.any():
        return empty_issues()
    return pd.DataFrame(
        {
            "source_row": raw.source_rows[mask],
            "respondent": pd.NA,
            "column": column,
            "value": values[column][mask].astype("string").to_numpy(),
            "rule": rule,
            "severity": "error",
            "message": f"{column} differs from the batch's {column} {expected!r}",
            "position": np.flatnonzero(mask),
        }
    )


def _file_level_checks(
    raw: RawExport, instrument: Instrument, ignored: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    if missing:
        raise IngestError(
            code="ingest.missing_required_column",
            message=f"required column(s) missing: {', '.join(missing)}",
            file=str(raw.path),
            row=raw.header_row,
            expected=f"a header for every required item of {instrument.name}",
            fix="add the columns, or map your headers with --mapping (draft one with --suggest-mapping)",
        )
    if ignored and len(ignored) == len(raw.frame.columns):
        raise IngestError(
            code="ingest.wrong_instrument",
            message=f"no column matches an item of {instrument.name!r}",
            file=str(raw.path),
            row=raw.header_row,
            value=", ".join(ignored[:5]),
            fix="check --survey, or map your headers with --mapping",
        )


def _region_code(instrument: Instrument, region: str) -> str:
    if not region or "region" not in instrument.item_map:
        return region
    lookup = {
        normalise(t): c.code
        for c in instrument.choices("region")
        for t in (c.code, c.label, *c.synonyms)
    }
    if normalise(region) not in lookup:
        raise IngestError(
            code="ingest.unknown_region",
            message="unknown region",
            value=region,
            expected=", ".join(c.label for c in instrument.choices("region")),
            fix="pass --region with one of the NHS England regions (name or code)",
        )
    return lookup[normalise(region)]


def ingest_survey_file(
    store: ResponseStore,
    path: Path,
    *,
    instrument: Instrument,
    cycle: int,
    region: str,
    secret: bytes,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
) -> IngestReport:
    """Ingest one survey export into ``store``.

    Args:
        store: an open writable store.
        path: the export (CSV, TSV, Excel, ODS, SPSS or Parquet).
        instrument: the survey it answers.
        cycle: the survey year of every row.
        region: NHS England region of the batch (name or code); '' to take each row's own.
        secret: the workspace key for pseudonymising respondent identifiers.
        mapping: explicit ``source header -> item`` for headers that do not match.
        strict: refuse the whole file if any row has an error.

    Returns:
        An :class:`IngestReport`. Rows with errors are quarantined with their reasons;
        nothing is dropped.

    Raises:
        IngestError: the file as a whole cannot be accepted (unreadable, wrong
            instrument, missing required columns, or any error under ``strict``); the
            store is unchanged.
    """
    raw = read_export(path)
    region_code = _region_code(instrument, region)
    batch_id = batch_identifier(raw.sha256, instrument.name, cycle, region_code)
    existing = store.find_batch(batch_id)
    if existing is not None:
        return IngestReport(BatchRecord(**existing), True, empty_issues()[list(ISSUE_COLUMNS)], ())
    match = match_columns(list(raw.frame.columns), instrument, mapping)
    _file_level_checks(raw, instrument, match.unknown, match.missing_required)
    coded = code_answers(raw.frame, raw.source_rows, instrument, match)
    values = coded.values
    respondent_ids = values.get(
        "respondent_id", pd.Series(pd.NA, index=values.index, dtype="string")
    )
    keys = pseudonymise(respondent_ids, secret)
    table = table_name("responses", instrument.name)
    issues = pd.concat(
        [
            coded.issues,
            duplicate_issues(
                keys, raw.source_rows, respondent_ids, store.known_respondents(table, cycle)
            ),
            _consistency_issues(
                values, raw, column="region", expected=region_code, rule="region_mismatch"
            ),
            _consistency_issues(
                values, raw, column="cycle", expected=str(cycle), rule="cycle_mismatch"
            ),
        ],
        ignore_index=True,
    )
    error_positions = np.unique(issues.loc[issues["severity"] == "error", "position"].astype(int))
    if strict and error_positions.size:
        first = issues[issues["severity"] == "error"].iloc[0]
        raise IngestError(
            code="ingest.strict_refused",
            message=f"{error_positions.size} row(s) have errors; --strict refuses the whole file. "
            f"First: {first['message']}",
            file=str(path),
            row=int(first["source_row"]),
            column=str(first["column"]),
            value=first["value"],
            fix="fix the rows listed by `ptw ingest` without --strict, or correct the file",
        )
    bad = np.zeros(len(values), dtype=bool)
    bad[error_positions] = True
    accepted = values.loc[~bad].drop(columns=["respondent_id"], errors="ignore")
    accepted.insert(0, "batch_id", batch_id)
    accepted.insert(1, "respondent", keys[~bad].to_numpy())
    accepted.insert(2, "cycle", cycle)
    if "region" in accepted:
        accepted = accepted.drop(columns=["region"])
    row_regions = (
        values.loc[~bad, "region"]
        if "region" in values
        else pd.Series(region_code, index=accepted.index)
    )
    accepted.insert(
        3, "region", (row_regions.fillna(region_code) if region_code else row_regions).to_numpy()
    )
    accepted.insert(4, "source_row", raw.source_rows[~bad])
    accepted.insert(5, "flagged", False)
    quarantined = _quarantine_rows(raw, issues, error_positions, keys, batch_id, instrument.name)
    batch = BatchRecord(
        batch_id=batch_id,
        kind="survey",
        survey=instrument.name,
        instrument_version=instrument.version,
        cycle=cycle,
        region=region_code or "several",
        source_file=path.name,
        sha256=raw.sha256,
        reader=raw.reader,
        encoding=raw.encoding or "",
        layout=raw.layout,
        rows_read=len(values),
        accepted=int((~bad).sum()),
        quarantined=int(bad.sum()),
        warned=int(issues.loc[issues["severity"] == "warning", "position"].nunique()),
        ingested_at=pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
        toolkit_version=__version__,
    )
    stored_issues = issues[list(ISSUE_COLUMNS)].assign(batch_id=batch_id)
    stored_issues = stored_issues[["batch_id", *ISSUE_COLUMNS]].astype(
        {"value": "string", "respondent": "string"}
    )
    store.write_batch(
        batch, table=table, accepted=accepted, quarantined=quarantined, issues=stored_issues
    )
    return IngestReport(batch, False, issues[list(ISSUE_COLUMNS)], match.unknown)


def _quarantine_rows(
    raw: RawExport,
    issues: pd.DataFrame,
    positions: np.ndarray,
    keys: pd.Series,
    batch_id: str,
    survey: str,
) -> pd.DataFrame:
    """Quarantine records: raw cells as JSON and every reason, for each rejected row."""
    if positions.size == 0:
        return pd.DataFrame()
    errors = issues[issues["severity"] == "error"]
    reasons = errors.groupby("position")["message"].agg(lambda m: "; ".join(dict.fromkeys(m)))
    rows = raw.frame.iloc[positions]
    return pd.DataFrame(
        {
            "batch_id": batch_id,
            "survey": survey,
            "source_row": raw.source_rows[positions],
            "respondent": keys.iloc[positions].to_numpy(),
            "raw": [
                json.dumps(r, ensure_ascii=False, default=str)
                for r in rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
            ],
            "reasons": reasons.reindex(positions).to_numpy(),
            "released": False,
        }
    )
