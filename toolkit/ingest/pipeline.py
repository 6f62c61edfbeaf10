"""One export -> the store, in one transaction, losing nothing.

Steps (:func:`ingest_file`): read the file; recognise a survey platform's export (its
identifier and metadata columns, :mod:`toolkit.ingest.platforms`); match its headers to the instrument's items;
code and check every row; pseudonymise identifiers; compare with what the store holds;
then write the batch record, accepted rows, quarantined rows (raw cells and reasons) and
the issues table in one transaction. Re-ingesting a file already stored adds nothing.

Duplicates. Within a file, a respondent (survey) or record key (records, see
:mod:`toolkit.ingest.records`) seen on an earlier row is an error. Against the store, a
row whose key is stored already is *skipped* when its answers are the same (a file saved
again, or a corrected file re-ingested: nothing is counted twice) and quarantined when
they differ (``respondent_already_stored`` / ``record_already_stored``). When a
corrected file is re-ingested, rows quarantined earlier for the same survey, cycle and
respondent that are now accepted are marked released by the new batch.

File-level errors (``IngestError``, the store unchanged): the ``read.*`` errors of the
readers, ``ingest.unknown_region``, ``ingest.missing_required_column``,
``ingest.wrong_instrument``, ``ingest.no_year``, ``ingest.bad_mapping`` and
``ingest.strict_refused`` (any row error under ``--strict``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from hashlib import blake2b
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from toolkit import __version__
from toolkit.config import MAX_UNZIPPED_BYTES
from toolkit.errors import IngestError
from toolkit.ingest.batch import (
    PROVENANCE_COLUMNS,
    RECORD_KEYS,
    BatchRecord,
    BatchStore,
    Release,
    key_check,
    table_name,
)
from toolkit.ingest.coding import (
    ISSUE_COLUMNS,
    CodedAnswers,
    code_answers,
    empty_issues,
    issue_rows,
)
from toolkit.ingest.layouts import check_cell_sizes
from toolkit.ingest.mapping import ColumnMatch, match_columns, normalise
from toolkit.ingest.platforms import prepare_platform_export
from toolkit.ingest.raw_export import MAX_CELL_CHARS, TEXT_DTYPE, by_text
from toolkit.ingest.readers import RawExport, read_export
from toolkit.ingest.records import extract_year, record_instrument_name
from toolkit.ingest.sheets import read_back
from toolkit.instruments.model import Instrument

#: Unmatched headers whose values are checked against the batch's cycle.
CYCLE_HEADERS = frozenset({"cycle", "year", "survey year", "survey cycle"})
#: How a pseudonymised identifier is written where a raw one stood (quarantine cells, issues):
#: this mark, then the 32 hex digits of :func:`pseudonymise`. Release takes it as it is.
PSEUDONYM_MARK = "ptw-pseudonym:"
#: Years a survey cycle or records extract may have.
CYCLE_YEARS = (1990, 2100)
_MARKED = re.compile(re.escape(PSEUDONYM_MARK) + r"([0-9a-f]{32})")


@dataclass(frozen=True)
class Target:
    """What a file is ingested as.

    Attributes:
        kind: ``"survey"`` or ``"records"``.
        name: the survey name (``culture``) or the record kind (``workforce``).
        instrument: its definition.
        identifier: the item holding the respondent or person identifier.
        key_items: items besides the identifier that make a row unique (records).
    """

    kind: str
    name: str
    instrument: Instrument
    identifier: str
    key_items: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        """``responses_<survey>`` or ``records_<kind>``."""
        return table_name("responses" if self.kind == "survey" else "records", self.name)

    @property
    def duplicate_rule(self) -> str:
        """Rule name of a key seen twice."""
        return "duplicate_respondent" if self.kind == "survey" else "duplicate_record"


def survey_target(instrument: Instrument) -> Target:
    """A survey: its identifier is the item marked ``identifier`` (else ``respondent_id``)."""
    identifier = next((i.name for i in instrument.items if i.identifier), "respondent_id")
    return Target("survey", instrument.name, instrument, identifier)


def records_target(kind: str, instrument: Instrument) -> Target:
    """Records of ``kind`` against their definition (``<kind>_records``)."""
    record_instrument_name(kind)
    identifier, keys = RECORD_KEYS[kind]
    return Target("records", kind, instrument, identifier, keys)


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did.

    Attributes:
        batch: the batch record (stored, or the existing one when already ingested).
        already_ingested: the file was in the store already; nothing was added.
        issues: every finding (:data:`toolkit.ingest.coding.ISSUE_COLUMNS`).
        ignored_columns: source columns that matched no item.
        near_misses: ignored column -> the item it resembles.
        released: earlier quarantined rows this file's accepted rows released.
    """

    batch: BatchRecord
    already_ingested: bool
    issues: pd.DataFrame
    ignored_columns: tuple[str, ...] = ()
    near_misses: dict[str, str] = field(default_factory=dict)
    released: int = 0


def pseudonymise(identifiers: pd.Series, secret: bytes, *, marked: bool = False) -> pd.Series:
    """Keyed hash of each stripped identifier: BLAKE2b in keyed (MAC) mode with the
    workspace key, 16-byte digest as 32 hex digits. Computed once per distinct identifier;
    blanks stay ``<NA>``. (BLAKE2b's keyed mode is a MAC by design, about three times as
    fast here as HMAC-SHA256.)

    With ``marked`` (a quarantine release), an identifier written as :data:`PSEUDONYM_MARK`
    and 32 hex digits is that pseudonym already and is kept, not hashed a second time.
    """
    positions, uniques = pd.factorize(identifiers.astype(TEXT_DTYPE).str.strip())
    # the key is absorbed once; each identifier continues from a copy of that state
    keyed = blake2b(key=secret[:64], digest_size=16)

    def hashed_one(value: str) -> str | None:
        if not value:
            return None
        if marked and (found := _MARKED.fullmatch(value)):
            return found.group(1)
        mac = keyed.copy()
        mac.update(value.encode())
        return mac.hexdigest()

    hashed = [hashed_one(v) for v in uniques.tolist()]
    taken = pa.array(hashed, type=pa.large_string()).take(pa.array(positions, mask=positions < 0))
    return pd.Series(pd.array(taken, dtype=TEXT_DTYPE), index=identifiers.index)


def key_fingerprint(secret: bytes) -> str:
    """A short public fingerprint of the workspace key (stores to merge must share it)."""
    return hmac.new(secret, b"ptw key fingerprint", hashlib.sha256).hexdigest()[:16]


def check_cycle(cycle: int, *, source: str, path: Path | None = None) -> None:
    """``ingest.implausible_cycle`` unless ``cycle`` is a year in :data:`CYCLE_YEARS`."""
    low, high = CYCLE_YEARS
    if not low <= cycle <= high:
        raise IngestError(
            code="ingest.implausible_cycle",
            message=f"the cycle (survey or extract year) taken from {source} is not a "
            "plausible year",
            file=str(path) if path else None,
            value=cycle,
            expected=f"a year from {low} to {high}",
            fix="give the year the survey ran or the records were extracted, e.g. --cycle 2025 "
            "(records: --year 2025)",
        )


def batch_identifier(sha256: str, name: str, cycle: int | str, region: str) -> str:
    """Deterministic batch id: the same file for the same target, cycle and region -> same id."""
    return hashlib.sha256(f"{sha256}|{name}|{cycle}|{region}".encode()).hexdigest()[:20]


def region_code(instrument: Instrument, region: str) -> str:
    """The option code of ``--region`` (name, code or synonym); ``''`` stays ``''``.

    A batch's region must be a region: a non-substantive option ("Prefer not to say") is
    refused like an unknown one.
    """
    if not region or "region" not in instrument.item_map:
        return region
    code = instrument.accepted_answers("region").get(normalise(region))
    if code is None or code not in instrument.substantive_codes("region"):
        raise IngestError(
            code="ingest.unknown_region",
            message="unknown region" if code is None else "not a region a batch can belong to",
            value=region,
            expected=", ".join(c.label for c in instrument.choices("region") if not c.missing),
            fix="pass --region with one of the NHS England regions (name or code), or leave "
            "it out to take each row's own region",
        )
    return str(code)


def _file_level_checks(raw: RawExport, target: Target, match: ColumnMatch) -> None:
    """Refuse a file whose columns do not fit the instrument.

    ``ingest.wrong_instrument``: no column matches, more columns are unknown than matched,
    or only the shared (equality monitoring) items match and none of the instrument's own.
    ``ingest.missing_required_column``: a required item has no column.
    """
    matched = len(match.items) + sum(len(c) for c in match.spread.values())
    own = {i.name for i in target.instrument.items if not i.equality_role and not i.identifier}
    own_matched = own & (set(match.items.values()) | set(match.spread))
    if not matched or len(match.unknown) > matched or (own and not own_matched):
        raise IngestError(
            code="ingest.wrong_instrument",
            message=f"{len(match.unknown)} of {len(raw.frame.columns)} columns match no item of "
            f"{target.instrument.name!r}",
            file=str(raw.path),
            row=raw.header_row or None,
            value=", ".join(match.unknown[:5]),
            expected=f"headers that are {target.instrument.name} item names or question texts",
            fix="check --survey / --kind, or map your headers with --mapping "
            "(draft one with --suggest-mapping)",
        )
    if match.missing_required:
        raise IngestError(
            code="ingest.missing_required_column",
            message=f"required column(s) missing: {', '.join(match.missing_required)}",
            file=str(raw.path),
            row=raw.header_row or None,
            expected=f"a column for every required item of {target.instrument.name}",
            fix="add the columns, or map your headers with --mapping "
            "(draft one with --suggest-mapping)",
        )


def _unknown_column_issues(raw: RawExport, match: ColumnMatch) -> pd.DataFrame:
    """A warning per ignored header (position -1: no row is flagged)."""
    if not match.unknown:
        return empty_issues()
    messages = [
        "column matches no item and is ignored"
        + (f"; did you mean {match.near_misses[c]!r}?" if c in match.near_misses else "")
        for c in match.unknown
    ]
    return pd.DataFrame({"source_row": raw.header_row, "respondent": None, "column": list(match.unknown),
                         "value": list(match.unknown), "rule": "unknown_column", "severity": "warning",
                         "message": messages, "position": -1})  # fmt: skip


def _cycle_issues(raw: RawExport, match: ColumnMatch, cycle: int, where: dict) -> pd.DataFrame:
    """Errors for rows whose own cycle/year column disagrees with the batch's cycle."""
    column = next((c for c in match.unknown if normalise(c) in CYCLE_HEADERS), None)
    if column is None:
        return empty_issues()
    cells = by_text(raw.frame[column], lambda texts: texts.str.strip())
    mask = (cells.notna() & (cells != "") & (cells != str(cycle))).to_numpy(dtype=bool)
    if not mask.any():
        return empty_issues()
    return issue_rows(mask, column=column, values=cells, rule="cycle_mismatch", severity="error",
                      message=f"the row's {column} differs from the batch's cycle {cycle}", **where)  # fmt: skip


def _region_issues(values: pd.DataFrame, expected: str, where: dict) -> pd.DataFrame:
    """Errors for rows whose region answer differs from the batch's ``--region``."""
    if not expected or "region" not in values:
        return empty_issues()
    region = values["region"]
    mask = (region.notna() & (region != expected)).to_numpy(dtype=bool)
    if not mask.any():
        return empty_issues()
    return issue_rows(mask, column="region", values=region, rule="region_mismatch", severity="error",
                      message=f"the row's region differs from the batch's region {expected!r}", **where)  # fmt: skip


def _signature(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One text per row joining the given columns (for comparing answers)."""
    parts = [frame[c].astype("string").fillna("\x00") for c in columns]
    joined = parts[0] if parts else pd.Series("", index=frame.index, dtype="string")
    for part in parts[1:]:
        joined = joined + "\x1f" + part
    return joined


@dataclass(frozen=True)
class StoreComparison:
    """How a file's rows relate to the rows already stored.

    Attributes:
        duplicate: repeated key within the file (after its first row).
        conflict: key stored already with different answers.
        same: key stored already with the same answers (skipped).
    """

    duplicate: np.ndarray
    conflict: np.ndarray
    same: np.ndarray


def compare_with_store(
    store: BatchStore, target: Target, keyed: pd.DataFrame, items: list[str]
) -> StoreComparison:
    """Find repeated keys and keys already stored.

    Args:
        keyed: ``respondent`` (hash), ``cycle`` and the item columns, aligned with rows.
        items: the item columns whose answers decide "same" or "conflict".
    """
    key_columns = ["respondent", *(["cycle"] if target.kind == "survey" else target.key_items)]
    present = keyed["respondent"].notna().to_numpy()
    # a key column holding one value throughout (a survey batch's cycle) tells no rows apart
    varying = [c for c in key_columns[1:] if keyed[c].nunique(dropna=False) > 1]
    duplicate = keyed.duplicated(["respondent", *varying], keep="first").to_numpy() & present
    # a respondent named twice selects the same stored rows: no need to make them unique first
    stored = store.stored_rows(target.table, keyed.loc[present, "respondent"])
    if stored.empty:
        none = np.zeros(len(keyed), dtype=bool)
        return StoreComparison(duplicate, none, none.copy())
    shared = [c for c in items if c in stored.columns]
    incoming = keyed[key_columns].assign(_sig=_signature(keyed, shared).to_numpy())
    held = (
        stored[key_columns]
        .astype({"respondent": "string"})
        .assign(_sig=_signature(stored, shared).to_numpy())
    )
    if "cycle" in key_columns:
        incoming["cycle"] = incoming["cycle"].astype("int64")
        held["cycle"] = held["cycle"].astype("int64")
    held = held.drop_duplicates(key_columns).rename(columns={"_sig": "_stored"})
    joined = incoming.reset_index(drop=True).merge(held, on=key_columns, how="left")
    found = joined["_stored"].notna().to_numpy() & present
    same = found & (joined["_stored"] == joined["_sig"]).fillna(False).to_numpy(dtype=bool)
    return StoreComparison(duplicate, found & ~same & ~duplicate, same & ~duplicate)


@dataclass(frozen=True)
class Validated:
    """A file checked against the instrument and the store, not yet written.

    Attributes:
        coded: the coded values and the issues of coding.
        provenance: provenance columns for every row (batch_id left blank).
        issues: every finding (:data:`ISSUE_COLUMNS` plus ``position``).
        bad: rows with errors (quarantined).
        skipped: rows already stored with the same answers.
        flagged: rows with warnings.
    """

    coded: CodedAnswers
    provenance: pd.DataFrame
    issues: pd.DataFrame
    bad: np.ndarray
    skipped: np.ndarray
    flagged: np.ndarray

    def accepted(self, batch_id: str, identifier: str) -> pd.DataFrame:
        """The rows to store: provenance columns, then the items (identifier and region dropped)."""
        keep = ~self.bad & ~self.skipped
        items = self.coded.values.loc[keep].drop(columns=[identifier, "region"], errors="ignore")
        provenance = self.provenance.loc[keep].assign(batch_id=batch_id, flagged=self.flagged[keep])
        frame = pd.concat([provenance[list(PROVENANCE_COLUMNS)], items], axis=1)
        return frame.reset_index(drop=True)


def validate_rows(
    store: BatchStore,
    raw: RawExport,
    target: Target,
    *,
    cycle: int,
    region: str,
    secret: bytes,
    match: ColumnMatch,
    coded: CodedAnswers,
    marked_ids: bool = False,
) -> Validated:
    """Check coded rows for consistency with the batch and the store (module docstring).

    The issues name each row's respondent by its pseudonym, and an identifier cell's value
    as :data:`PSEUDONYM_MARK` and the pseudonym, never the raw identifier. ``marked_ids``:
    identifiers may be marked pseudonyms already (:func:`pseudonymise`).
    """
    values = coded.values
    respondent_raw = values.get(
        target.identifier, pd.Series(pd.NA, index=values.index, dtype="string")
    )
    keys = pseudonymise(respondent_raw, secret, marked=marked_ids)
    row_region = (
        values["region"].astype(TEXT_DTYPE)
        if "region" in values
        else pd.Series(pd.NA, index=values.index, dtype="string")
    )
    provenance = pd.DataFrame({"batch_id": "", "respondent": keys, "cycle": cycle,
                               "region": row_region.fillna(region) if region else row_region,
                               "source_row": raw.source_rows, "flagged": False}, index=values.index)  # fmt: skip
    where = {"source_rows": raw.source_rows, "respondents": respondent_raw}
    items = [c for c in values.columns if c not in (target.identifier, "region")]
    compared = compare_with_store(
        store,
        target,
        pd.concat([provenance[["respondent", "cycle"]], values[items]], axis=1),
        items,
    )
    stored_rule = (
        "respondent_already_stored" if target.kind == "survey" else "record_already_stored"
    )
    found = [
        coded.issues,
        _unknown_column_issues(raw, match),
        _cycle_issues(raw, match, cycle, where) if target.kind == "survey" else empty_issues(),
        _region_issues(values, region, where),
        _key_issues(compared.duplicate, target.duplicate_rule, "appears on an earlier row of this file", where, target),
        _key_issues(compared.conflict, stored_rule,
                    "is already stored with different answers; fix the stored data or the row, "
                    "or release it with `ptw quarantine`", where, target),
        _key_issues(compared.same, "already_stored", "is already stored with the same answers; skipped",
                    where, target, severity="info"),
    ]  # fmt: skip
    issues = (
        pd.concat([f for f in found if not f.empty], ignore_index=True)
        if any(not f.empty for f in found)
        else empty_issues()
    )
    issues = _pseudonymised_issues(
        issues, keys, {target.identifier, *_identifier_columns(match, target)}
    )
    positions = issues["position"].astype(int).to_numpy()
    severity = issues["severity"].to_numpy()
    bad = np.zeros(len(values), dtype=bool)
    bad[positions[(severity == "error") & (positions >= 0)]] = True
    flagged = np.zeros(len(values), dtype=bool)
    flagged[positions[(severity == "warning") & (positions >= 0)]] = True
    skipped = compared.same & ~bad
    return Validated(coded, provenance, issues, bad, skipped, flagged & ~bad)


def _identifier_columns(match: ColumnMatch, target: Target) -> list[str]:
    """The source column(s) holding the identifier (none when the file has no such column)."""
    return [column for column, item in match.items.items() if item == target.identifier]


def _pseudonymised_issues(issues: pd.DataFrame, keys: pd.Series, columns: set[str]) -> pd.DataFrame:
    """``issues`` with each row's respondent as its pseudonym and identifier values marked."""
    positions = issues["position"].astype(int).to_numpy()
    pseudonyms = keys.to_numpy(dtype=object, na_value=None)
    respondent = [pseudonyms[p] if p >= 0 else None for p in positions]
    identifier = issues["column"].isin(columns).to_numpy(dtype=bool)
    marked = [PSEUDONYM_MARK + r if r else None for r in respondent]
    value = np.where(identifier, marked, issues["value"].to_numpy(dtype=object))
    return issues.assign(respondent=pd.array(respondent, dtype="string"),
                         value=pd.array(value, dtype="string"))  # fmt: skip


def _key_issues(
    mask: np.ndarray, rule: str, what: str, where: dict, target: Target, *, severity: str = "error"
) -> pd.DataFrame:
    if not mask.any():
        return empty_issues()
    respondents = where["respondents"]
    subject = "this respondent" if target.kind == "survey" else "this record"
    return issue_rows(mask, column=target.identifier, values=respondents, rule=rule, severity=severity,
                      message=f"{subject} {what}", **where)  # fmt: skip


def refuse_if_strict(validated: Validated, path: Path) -> None:
    """``ingest.strict_refused`` naming the first error, when any row has one."""
    errors = validated.issues[validated.issues["severity"] == "error"]
    if errors.empty:
        return
    first = errors.iloc[0]
    raise IngestError(
        code="ingest.strict_refused",
        message=f"{int(validated.bad.sum())} row(s) have errors and --strict refuses the whole "
        f"file; the first: {first['message']} ({first['rule']})",
        file=str(path),
        row=int(first["source_row"]),
        column=str(first["column"]),
        value=first["value"],
        fix="correct the rows listed by `ptw ingest` without --strict (see --issues FILE.csv)",
    )


def row_reasons(issues: pd.DataFrame) -> pd.Series:
    """Position -> the row's errors as one text: ``column: message (rule); ...``."""
    errors = issues[(issues["severity"] == "error") & (issues["position"].astype(int) >= 0)]
    text = errors["column"].astype(str) + ": " + errors["message"] + " (" + errors["rule"] + ")"
    return text.groupby(errors["position"].astype(int)).agg(lambda m: "; ".join(dict.fromkeys(m)))


def kept_columns(raw: RawExport, match: ColumnMatch) -> list[str]:
    """The source columns the quarantine keeps: those matched to an item (spread multi-select
    columns included) and a cycle/year column (checked again on release), in file order.

    Other columns (names, e-mail addresses, staff numbers, notes) are not instrument items:
    they are never stored, and the issues table names each as an ``unknown_column`` warning.
    """
    matched = set(match.items) | {c for columns in match.spread.values() for c in columns}
    return [c for c in raw.frame.columns if c in matched or normalise(c) in CYCLE_HEADERS]


def quarantine_rows(
    raw: RawExport,
    validated: Validated,
    *,
    batch_id: str,
    target: Target,
    cycle: int,
    match: ColumnMatch,
) -> pd.DataFrame:
    """Quarantine records for the rows with errors: raw cells as JSON and every reason.

    The cells are those of :func:`kept_columns`; the identifier's cell holds the row's
    pseudonym marked with :data:`PSEUDONYM_MARK` (release accepts it as it is).
    """
    positions = np.flatnonzero(validated.bad)
    if positions.size == 0:
        return pd.DataFrame()
    reasons = row_reasons(validated.issues)
    cells = raw.frame[kept_columns(raw, match)].iloc[positions].astype(object)
    pseudonyms = validated.provenance["respondent"].iloc[positions]
    for column in _identifier_columns(match, target):
        cells[column] = (PSEUDONYM_MARK + pseudonyms).to_numpy(dtype=object, na_value=None)
    rows = cells.where(cells.notna(), None).to_dict(orient="records")
    source_rows = raw.source_rows[positions]
    return pd.DataFrame(
        {
            "quarantine_id": [f"{batch_id}:{r}" for r in source_rows],
            "batch_id": batch_id,
            "kind": target.kind,
            "survey": target.name,
            "cycle": cycle,
            "region": validated.provenance["region"].iloc[positions].to_numpy(),
            "source_row": source_rows,
            "respondent": validated.provenance["respondent"].iloc[positions].to_numpy(),
            "raw": [json.dumps(r, ensure_ascii=False, default=str) for r in rows],
            "reasons": reasons.reindex(positions).to_numpy(),
            "released": False,
            "released_by": pd.Series([None] * positions.size, dtype="string"),
        }
    )


def released_by_reingest(store: BatchStore, target: Target, accepted: pd.DataFrame) -> list[str]:
    """Held quarantine ids for the same survey, cycle and respondent as newly accepted rows.

    Records are matched by respondent only for kinds whose identifier alone is the key.
    """
    if accepted.empty or (target.kind == "records" and target.key_items):
        return []
    held = store.quarantine()
    held = held[
        (held["kind"] == target.kind) & (held["survey"] == target.name) & held["respondent"].notna()
    ]
    if held.empty:
        return []
    pairs = set(zip(accepted["respondent"], accepted["cycle"].astype(int), strict=True))
    hits = [(r, int(c)) in pairs for r, c in zip(held["respondent"], held["cycle"], strict=True)]
    return held.loc[hits, "quarantine_id"].tolist()


def stored_issues(issues: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The issues as the ``issues`` table stores them."""
    frame = issues[list(ISSUE_COLUMNS)].assign(batch_id=batch_id)[["batch_id", *ISSUE_COLUMNS]]
    return frame.astype({"value": "string", "respondent": "string", "column": "string",
                         "source_row": "Int64"})  # fmt: skip


def ingest_file(
    store: BatchStore,
    path: Path,
    target: Target,
    *,
    cycle: int | None,
    region: str,
    secret: bytes,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
) -> IngestReport:
    """Ingest one survey export or records file into ``store`` (module docstring).

    Args:
        store: an open writable store.
        path: the file (CSV, TSV, Excel, ODS, SPSS or Parquet).
        target: what it is (:func:`survey_target` / :func:`records_target`).
        cycle: the survey year, or the records' extract year (``None``: from the data).
        region: NHS England region of the batch (name or code); ``''`` to take each row's own.
        secret: the workspace key for pseudonymising identifiers.
        mapping: explicit ``source header -> item`` for headers that do not match.
        strict: refuse the whole file if any row has an error.
        max_unzipped: bytes an .xlsx/.ods may expand to (``read.too_large_unzipped``).

    Returns:
        An :class:`IngestReport`. Rows with errors are quarantined with their reasons.

    Raises:
        IngestError: the file as a whole cannot be accepted; the store is unchanged.
    """
    if cycle is not None:
        check_cycle(cycle, source="--cycle" if target.kind == "survey" else "--year")
    raw = read_export(path, max_unzipped=max_unzipped)
    code = region_code(target.instrument, region)
    batch_id = batch_identifier(raw.sha256, target.name, cycle or "auto", code)
    existing = store.find_batch(batch_id)
    if existing is not None:
        stored = BatchRecord(**{k: existing[k] for k in BatchRecord.__dataclass_fields__})
        return IngestReport(stored, True, empty_issues()[list(ISSUE_COLUMNS)])
    platform_note = empty_issues()
    if target.kind == "survey":
        raw, platform_note = prepare_platform_export(
            raw, target.instrument, target.identifier, list(mapping or {})
        )
    match = match_columns(list(raw.frame.columns), target.instrument, mapping, raw.question_text)
    _file_level_checks(raw, target, match)
    id_column = next((c for c, i in match.items.items() if i == target.identifier), None)
    respondents = (
        raw.frame[id_column]
        if id_column
        else pd.Series(pd.NA, index=raw.frame.index, dtype="string")
    )
    coded = code_answers(raw, target.instrument, match, respondents)
    notes = [platform_note]
    if cycle is None:
        file_date = dt.date.fromtimestamp(path.stat().st_mtime)
        found = extract_year(
            coded.values, target.instrument, as_of=file_date, start_items=target.key_items
        )
        if found is None:
            raise IngestError(code="ingest.no_year", message="the file has no dates to take the extract year from",
                              file=str(path), fix="pass --year YEAR")  # fmt: skip
        cycle = found.year
        check_cycle(cycle, source=found.source, path=path)
        notes.append(pd.DataFrame({"source_row": [raw.header_row], "respondent": [None], "column": [None],
                                   "value": [str(cycle)], "rule": ["extract_year"], "severity": ["info"],
                                   "message": [f"extract year {cycle} taken from {found.source}; "
                                               "pass --year to set it"], "position": [-1]}))  # fmt: skip
    validated = validate_rows(
        store, raw, target, cycle=cycle, region=code, secret=secret, match=match, coded=coded
    )
    notes = [n for n in notes if not n.empty]
    if notes:
        validated = replace(
            validated, issues=pd.concat([*notes, validated.issues], ignore_index=True)
        )
    if strict:
        refuse_if_strict(validated, path)
    accepted = validated.accepted(batch_id, target.identifier)
    quarantined = quarantine_rows(
        raw, validated, batch_id=batch_id, target=target, cycle=cycle, match=match
    )
    batch = BatchRecord(
        batch_id=batch_id, kind=target.kind, survey=target.name,
        instrument_version=target.instrument.version, cycle=cycle, region=code or "several",
        source_file=path.name, sha256=raw.sha256, reader=raw.reader, encoding=raw.encoding or "",
        layout=raw.layout, rows_read=len(raw.frame), accepted=len(accepted),
        quarantined=len(quarantined), warned=int(validated.flagged[~validated.skipped].sum()),
        skipped=int(validated.skipped.sum()),
        ingested_at=pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
        toolkit_version=__version__, key_id=key_fingerprint(secret),
        mapping=json.dumps(dict(mapping or {}), ensure_ascii=False, sort_keys=True),
        key_check=key_check(secret, batch_id),
    )  # fmt: skip
    released = released_by_reingest(store, target, accepted)
    store.write_batch(batch, table=target.table, accepted=accepted, quarantined=quarantined,
                      issues=stored_issues(validated.issues, batch_id), released_ids=released)  # fmt: skip
    return IngestReport(batch, False, validated.issues[list(ISSUE_COLUMNS)], match.unknown,
                        match.near_misses, len(released))  # fmt: skip


def ingest_survey_file(
    store: BatchStore,
    path: Path,
    *,
    instrument: Instrument,
    cycle: int,
    region: str,
    secret: bytes,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
) -> IngestReport:
    """Ingest one survey export (:func:`ingest_file` with :func:`survey_target`)."""
    return ingest_file(store, Path(path), survey_target(instrument), cycle=cycle, region=region,
                       secret=secret, mapping=mapping, strict=strict, max_unzipped=max_unzipped)  # fmt: skip


def ingest_records_file(
    store: BatchStore,
    path: Path,
    *,
    kind: str,
    instrument: Instrument,
    year: int | None,
    region: str,
    secret: bytes,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
) -> IngestReport:
    """Ingest one records file (:func:`ingest_file` with :func:`records_target`)."""
    return ingest_file(store, Path(path), records_target(kind, instrument), cycle=year, region=region,
                       secret=secret, mapping=mapping, strict=strict, max_unzipped=max_unzipped)  # fmt: skip


#: Columns of a quarantine export besides the raw cells (which follow, under their headers).
QUARANTINE_SHEET_COLUMNS = ("quarantine_id", "batch_id", "source_file", "source_row", "reasons")
#: The longest cell a quarantine export may hold as written: every character of a cell of
#: :data:`MAX_CELL_CHARS` escaped (7 characters each) after its apostrophe.
SHEET_CELL_CHARS = 7 * (MAX_CELL_CHARS + 1)


def quarantine_sheet(held: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows as a sheet to fix: :data:`QUARANTINE_SHEET_COLUMNS`, then the raw cells.

    Write it with :func:`toolkit.ingest.sheets.write_sheet`, which makes every cell safe in a
    way :func:`release_quarantined` undoes, so a cell nobody edited comes back exactly.

    Args:
        held: rows of :meth:`BatchStore.quarantine`.
    """
    cells = pd.DataFrame([json.loads(text) for text in held["raw"]], index=held.index)
    sheet = pd.concat([held[list(QUARANTINE_SHEET_COLUMNS)], cells], axis=1)
    return sheet.reset_index(drop=True)


@dataclass(frozen=True)
class ReleaseReport:
    """What ``ptw quarantine release`` did: rows released and still held (of the file's
    rows), rows released or rejected before (ignored), and the re-validation's issues."""

    released: int
    still_held: int
    already_released: int
    issues: pd.DataFrame


def release_quarantined(
    store: BatchStore,
    path: Path,
    *,
    instruments: Mapping[tuple[str, str], Instrument],
    secret: bytes,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
) -> ReleaseReport:
    """Re-validate rows fixed in a quarantine export and accept those that now pass.

    Each fixed row is checked exactly as at ingest, with its batch's instrument, cycle,
    region and mapping; a row that passes joins its original batch (same batch id and source
    row) and its quarantine entry is marked released, so it can never be counted twice. A
    row found already stored with the same answers is marked released without adding it.
    Rows that still fail stay held with their new reasons.

    Args:
        store: the open store.
        path: the edited export (CSV/XLSX with :data:`QUARANTINE_SHEET_COLUMNS`).
        instruments: ``(kind, name)`` -> instrument, for every batch in the file.
        secret: the workspace key.
        max_unzipped: bytes an .xlsx may expand to.
    """
    sheet = read_quarantine_sheet(path, max_unzipped=max_unzipped)
    held = store.quarantine(include_released=True).set_index("quarantine_id")
    ids = sheet.frame["quarantine_id"].astype(str).str.strip()
    known = ids.isin(held.index).to_numpy()
    closed = held["released"] | held["rejected"]
    open_rows = known & ~closed.reindex(ids).fillna(True).to_numpy(dtype=bool)
    totals = {"released": 0, "held": 0}
    found: list[pd.DataFrame] = []
    for batch_id, positions in pd.Series(np.flatnonzero(open_rows)).groupby(
        sheet.frame["batch_id"].to_numpy()[open_rows]
    ):
        report = _release_batch(
            store, sheet, positions.to_numpy(), str(batch_id), instruments, secret
        )
        totals["released"] += report[0]
        totals["held"] += report[1]
        found.append(report[2])
    issues = pd.concat(found, ignore_index=True) if found else empty_issues()[list(ISSUE_COLUMNS)]
    return ReleaseReport(
        totals["released"], totals["held"], int((known & ~open_rows).sum()), issues
    )


def read_quarantine_sheet(path: Path, *, max_unzipped: int = MAX_UNZIPPED_BYTES) -> RawExport:
    """A quarantine export (perhaps edited), headers and cells as they were before
    :func:`toolkit.ingest.sheets.write_sheet` made them safe.

    Raises:
        IngestError: a ``read.*`` error, ``read.cell_too_large`` for a cell over
            :data:`MAX_CELL_CHARS` once read back, or ``ingest.not_a_quarantine_export``.
    """
    sheet = read_export(path, max_unzipped=max_unzipped, max_cell_chars=SHEET_CELL_CHARS)

    def original(text: str) -> str:
        return read_back(text, reader=sheet.reader)

    frame = sheet.frame.apply(lambda cells: cells.map(original, na_action="ignore"))
    frame = frame.astype(TEXT_DTYPE).rename(columns=original)
    check_cell_sizes(frame, sheet.source_rows, path=sheet.path)
    sheet = replace(sheet, frame=frame)
    _check_sheet(sheet)
    return sheet


def _check_sheet(sheet: RawExport) -> None:
    missing = [c for c in QUARANTINE_SHEET_COLUMNS if c not in sheet.frame.columns]
    if missing:
        raise IngestError(
            code="ingest.not_a_quarantine_export",
            message=f"the file lacks the column(s) {', '.join(missing)} of a quarantine export",
            file=str(sheet.path),
            row=sheet.header_row or None,
            fix="edit the file written by `ptw quarantine export` and keep its first columns",
        )


def _release_batch(
    store: BatchStore,
    sheet: RawExport,
    positions: np.ndarray,
    batch_id: str,
    instruments: Mapping[tuple[str, str], Instrument],
    secret: bytes,
) -> tuple[int, int, pd.DataFrame]:
    """Re-validate one batch's fixed rows and write the release; (released, held, issues)."""
    batch = store.find_batch(batch_id)
    kind, name = str(batch["kind"]), str(batch["survey"])
    instrument = instruments[(kind, name)]
    target = survey_target(instrument) if kind == "survey" else records_target(name, instrument)
    frame = (
        sheet.frame.iloc[positions]
        .drop(columns=list(QUARANTINE_SHEET_COLUMNS))
        .reset_index(drop=True)
    )
    rows = pd.to_numeric(sheet.frame["source_row"].iloc[positions]).to_numpy(dtype=np.int64)
    # the cells are the original file's text cells: code them as its reader's were
    raw = RawExport(frame=frame, source_rows=rows, path=sheet.path, sha256=sheet.sha256,
                    reader=str(batch["reader"]), encoding=sheet.encoding, layout="plain",
                    header_row=sheet.header_row, sheet=sheet.sheet)  # fmt: skip
    match = match_columns(list(frame.columns), instrument, json.loads(batch["mapping"] or "{}"))
    ids = sheet.frame["quarantine_id"].iloc[positions].str.strip().to_numpy()
    id_column = next((c for c, i in match.items.items() if i == target.identifier), None)
    respondents = (
        frame[id_column] if id_column else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    region = "" if batch["region"] == "several" else str(batch["region"])
    validated = validate_rows(store, raw, target, cycle=int(batch["cycle"]), region=region, secret=secret,
                              match=match, coded=code_answers(raw, instrument, match, respondents),
                              marked_ids=True)  # fmt: skip
    reasons = row_reasons(validated.issues)
    accepted = validated.accepted(batch_id, target.identifier)
    store.write_release(Release(
        batch_id=batch_id, table=target.table, accepted=accepted,
        released_ids=tuple(ids[~validated.bad]),
        reasons={ids[int(p)]: r for p, r in reasons.items() if p >= 0},
        issues=stored_issues(validated.issues, batch_id), released_by=f"release:{sheet.sha256[:16]}",
    ))  # fmt: skip
    return (
        int((~validated.bad).sum()),
        int(validated.bad.sum()),
        validated.issues[list(ISSUE_COLUMNS)],
    )
