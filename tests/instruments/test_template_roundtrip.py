"""Acceptance: a template exported by `ptw survey export retention --format template`, filled
with synthetic answers (labels, skip logic respected, select_multiple joined by ';'),
ingests through toolkit.ingest.pipeline with zero quarantined rows."""

from __future__ import annotations

import csv

import numpy as np
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.ingest.pipeline import ingest_survey_file
from toolkit.instruments.export.tables import MULTIPLE_JOIN
from toolkit.instruments.model import Instrument
from toolkit.instruments.relevance import evaluate_relevant
from toolkit.store.database import ResponseStore

ROWS = 300


def _synthetic_row(
    instrument: Instrument, columns: list[str], rng: np.random.Generator, index: int
) -> dict:
    """One respondent: a random option per asked item, blank where `relevant` is false."""
    codes: dict[str, str | None] = {}
    row: dict[str, str] = {}
    for name in columns:
        item = instrument.item_map[name]
        options = instrument.choices(item)
        if item.identifier:
            row[name] = f"R{index:05d}"
            continue
        if not evaluate_relevant(item.relevant or "", codes) or not options:
            row[name], codes[name] = "", None
            continue
        if item.base_type == "select_multiple":
            chosen = rng.choice(len(options), size=rng.integers(1, 4), replace=False)
            row[name] = MULTIPLE_JOIN.join(options[i].label for i in sorted(chosen))
            codes[name] = " ".join(options[i].code for i in sorted(chosen))
        else:
            choice = options[rng.integers(len(options))]
            row[name], codes[name] = choice.label, choice.code
    return row


def test_filled_template_ingests_with_zero_quarantined_rows(tmp_path, retention):
    result = CliRunner().invoke(
        app, ["survey", "export", "retention", "--format", "template", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    template = tmp_path / "retention-2025.1-template.csv"
    with template.open(encoding="utf-8", newline="") as handle:
        columns = next(csv.reader(handle))
    rng = np.random.default_rng(20250601)
    rows = [_synthetic_row(retention, columns, rng, index) for index in range(ROWS)]
    with template.open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, fieldnames=columns).writerows(rows)
    trainees = sum(
        row["career_stage"] == "Pre-registration trainee pharmacy technician" for row in rows
    )
    assert trainees > 10  # the PTPT skip logic is exercised

    with ResponseStore(tmp_path / "store.duckdb") as store:
        report = ingest_survey_file(
            store, template, instrument=retention, cycle=2025, region="", secret=b"k" * 32
        )
    assert report.batch.rows_read == ROWS
    assert report.batch.quarantined == 0, report.issues.head(10).to_string()
    assert report.batch.accepted == ROWS
