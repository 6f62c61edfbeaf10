"""What one ingest hands to the store: the batch record, released rows and where they go.

The ingest stage checks a file and decides which rows are accepted and which are held in
quarantine; the store keeps them. This module is the contract between the two: the
provenance columns of every stored row, record identity, the batch and release records, the
table a batch goes to, and :class:`BatchStore`, the part of the store's interface the ingest
pipeline uses (so ingest never imports the store: data flows instrument -> ingest -> store).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from toolkit.errors import StoreError

PROVENANCE_COLUMNS = ("batch_id", "respondent", "cycle", "region", "source_row", "flagged")
RECORD_KINDS = ("workforce", "training", "recruitment")
#: Record kind -> (identifier item, other items that make a record unique): a person can hold
#: several posts, so a workforce record is its identifier and its start date.
RECORD_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "workforce": ("person_id", ("start_date",)),
    "training": ("trainee_id", ("cohort_start",)),
    "recruitment": ("application_id", ()),
}
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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
    skipped: int
    ingested_at: pd.Timestamp
    toolkit_version: str
    key_id: str
    mapping: str
    key_check: str


@dataclass(frozen=True)
class Release:
    """Quarantined rows accepted after a fix: the rows, the batch they join and the marks.

    Attributes:
        batch_id: the batch the rows came from (they keep its id and their source rows).
        table: the responses or records table.
        accepted: rows to add (provenance columns first).
        released_ids: quarantine ids now released (accepted or found already stored).
        reasons: quarantine id -> new reasons, for rows that still fail.
        issues: the findings of the re-validation.
        released_by: what released them (e.g. ``release:<sha256 of the edited file>``).
    """

    batch_id: str
    table: str
    accepted: pd.DataFrame
    released_ids: tuple[str, ...]
    reasons: dict[str, str]
    issues: pd.DataFrame
    released_by: str


def key_check(secret: bytes, batch_id: str) -> str:
    """Proof that a batch was written with the key ``secret``: HMAC-SHA256 of the batch id.

    Stored with each batch (``key_check``); a store merging it recomputes the value with its
    own key and compares in constant time. Unlike the public ``key_id`` fingerprint, it cannot
    be made for a new batch without the key, nor copied from another batch.
    """
    message = b"ptw batch key check\x00" + batch_id.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def table_name(kind: str, name: str) -> str:
    """``responses_retention`` / ``records_workforce``, refusing unsafe names."""
    if not _SAFE_NAME.match(name):
        raise StoreError(code="store.bad_name", message=f"not a valid table name part: {name!r}")
    return f"{kind}_{name}"


class BatchStore(Protocol):
    """The store operations the ingest pipeline needs (``toolkit.store.database.ResponseStore``)."""

    def find_batch(self, batch_id: str) -> dict[str, object] | None:
        """The stored batch record, or ``None``."""
        ...

    def stored_rows(self, table: str, respondents: Sequence[str]) -> pd.DataFrame:
        """Rows of ``table`` held for these pseudonymised respondents."""
        ...

    def quarantine(
        self, *, batch_id: str | None = None, include_released: bool = False
    ) -> pd.DataFrame:
        """Quarantined rows (held ones unless ``include_released``), optionally of one batch."""
        ...

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
        """Write one batch in one transaction."""
        ...

    def write_release(self, release: Release) -> None:
        """Write a quarantine release in one transaction."""
        ...
