"""Workforce, training and recruitment records: what identifies a record and its year.

A record file is ingested like a survey export (same coding, validation, quarantine and
provenance) against the record definition ``surveys/<kind>_records.yaml`` into
``records_<kind>``. Two things differ from surveys:

- **Identity.** A person can hold several posts, so a record is identified by its
  identifier *and* its start date (:data:`toolkit.ingest.batch.RECORD_KEYS`); the identifier is pseudonymised
  into ``respondent`` as for surveys. A record already stored with the same answers is
  skipped; one stored with different answers is quarantined (``record_already_stored``).
- **Year.** Records have no survey cycle. The ``cycle`` column holds the *extract year*:
  ``--year`` when given, else the latest year of any date in the file (for recruitment,
  whose rows carry no dates, the latest ``year``). It identifies the batch; the analysis
  reads the record's own dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.errors import IngestError
from toolkit.ingest.batch import RECORD_KINDS
from toolkit.instruments.model import Instrument


def record_instrument_name(kind: str) -> str:
    """``workforce`` -> ``workforce_records`` (the definition in ``surveys/``)."""
    check_kind(kind)
    return f"{kind}_records"


def check_kind(kind: str) -> None:
    """Refuse an unknown record kind, listing the known ones."""
    if kind not in RECORD_KINDS:
        raise IngestError(
            code="ingest.unknown_record_kind",
            message="unknown kind of records",
            value=kind,
            expected=" or ".join(RECORD_KINDS),
            fix="pass --kind workforce, --kind training or --kind recruitment",
        )


def extract_year(values: pd.DataFrame, instrument: Instrument) -> int | None:
    """The latest year among the file's date items, else its ``year`` item; ``None`` if neither."""
    years: list[float] = []
    for item in instrument.items:
        if item.name not in values:
            continue
        column = values[item.name]
        if item.base_type == "date":
            years.append(pd.to_numeric(column.str.slice(0, 4), errors="coerce").max())
        elif item.name == "year":
            years.append(pd.to_numeric(column, errors="coerce").max())
    found = [y for y in years if y is not None and np.isfinite(y)]
    return int(max(found)) if found else None
