"""Workforce, training and recruitment records: what identifies a record and its year.

A record file is ingested like a survey export (same coding, validation, quarantine and
provenance) against the record definition ``surveys/<kind>_records.yaml`` into
``records_<kind>``. Two things differ from surveys:

- **Identity.** A person can hold several posts, so a record is identified by its
  identifier *and* its start date (:data:`toolkit.ingest.batch.RECORD_KEYS`); the identifier is pseudonymised
  into ``respondent`` as for surveys. A record already stored with the same answers is
  skipped; one stored with different answers is quarantined (``record_already_stored``).
- **Year.** Records have no survey cycle. The ``cycle`` column holds the *extract year*:
  ``--year`` when given, else the year of the latest date that is not after the file's own
  date (planned end dates lie in the future), else of the latest start date (for
  recruitment, whose rows carry no dates, the latest ``year``); :func:`extract_year` says
  which, and ingest reports it as an info issue. It identifies the batch; the analysis
  reads the record's own dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import IngestError
from toolkit.ingest.batch import RECORD_KINDS
from toolkit.instruments.model import Instrument


def record_kind(name: str) -> str:
    """The record kind, named either way: ``workforce`` or ``workforce_records`` (the name
    of its definition, as ``ptw survey`` lists it) -> ``workforce``."""
    kind = name.strip().removesuffix("_records")
    check_kind(kind)
    return kind


def record_instrument_name(kind: str) -> str:
    """``workforce`` (or ``workforce_records``) -> ``workforce_records`` (the definition in
    ``surveys/``)."""
    return f"{record_kind(kind)}_records"


def check_kind(kind: str) -> None:
    """Refuse an unknown record kind, listing the known ones."""
    if kind not in RECORD_KINDS:
        raise IngestError(
            code="ingest.unknown_record_kind",
            message="unknown kind of records",
            value=kind,
            expected=" or ".join(RECORD_KINDS),
            fix="pass --kind workforce, --kind training or --kind recruitment "
            "(workforce_records and the like are accepted too)",
        )


@dataclass(frozen=True)
class ExtractYear:
    """The extract year of a records file and, in words, where it came from."""

    year: int
    source: str


def extract_year(
    values: pd.DataFrame, instrument: Instrument, *, as_of: dt.date, start_items: tuple[str, ...]
) -> ExtractYear | None:
    """The year of the latest date in the file that is not after ``as_of`` (the file's own
    date: planned end dates lie in the future and say nothing of when the file was made);
    else of the latest start date (``start_items``); else the latest ``year``; ``None`` if
    the file has none of these."""
    dates = {
        item.name: pd.to_datetime(values[item.name], errors="coerce", format="%Y-%m-%d")
        for item in instrument.items
        if item.base_type == "date" and item.name in values
    }
    limit = pd.Timestamp(as_of)
    past = {name: column[column <= limit].max() for name, column in dates.items()}
    past = {name: when for name, when in past.items() if pd.notna(when)}
    if past:
        name = max(past, key=past.__getitem__)
        return ExtractYear(past[name].year, f"the latest date on or before the file's date "
                           f"{as_of.isoformat()} ({name} {past[name].date().isoformat()})")  # fmt: skip
    starts = {n: dates[n].max() for n in start_items if n in dates and pd.notna(dates[n].max())}
    if starts:
        name = max(starts, key=starts.__getitem__)
        return ExtractYear(starts[name].year, f"the latest start date ({name} "
                           f"{starts[name].date().isoformat()}); every date is after the file's date")  # fmt: skip
    if "year" in values:
        year = pd.to_numeric(values["year"], errors="coerce").max()
        if np.isfinite(year):
            return ExtractYear(int(year), "the latest year in the file")
    return None
