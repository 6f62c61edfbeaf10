"""Synthetic records: the injected effects are there, and the exports are what ingest expects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.instruments.model import Instrument, load_instrument
from toolkit.resources import surveys_dir
from toolkit.synth.records import (
    RECORD_KINDS,
    RecordsSpec,
    records_spec_for,
    records_truth,
    synthetic_records,
    write_record_exports,
)
from toolkit.synth.responses import REGIONS, SynthSpec

SMALL = RecordsSpec(staff=1500, trainees_per_cohort=300, shortlisted_per_year=600)


@pytest.fixture(scope="module")
def record_instruments() -> dict[str, Instrument]:
    return {k: load_instrument(surveys_dir() / f"{k}_records.yaml") for k in RECORD_KINDS}


@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_columns_are_instrument_items(kind, record_instruments):
    records = synthetic_records(SMALL, kind)
    items = set(record_instruments[kind].item_map)
    assert set(records.columns) - {"_minority", "_disabled"} <= items
    assert set(records["region"]) == set(REGIONS)


def test_same_spec_same_records():
    first = synthetic_records(SMALL, "workforce")
    pd.testing.assert_frame_equal(first, synthetic_records(SMALL, "workforce"))


def test_spec_follows_survey_spec():
    spec = records_spec_for(SynthSpec(cycles=(2024, 2025), seed=7), staff=10)
    assert (spec.years, spec.seed, spec.staff) == ((2024, 2025), 7, 10)
    assert spec.white_rl_by_year() == {2024: 1.35, 2025: 1.2}


def test_workforce_dates_are_consistent():
    records = synthetic_records(SMALL, "workforce")
    start = pd.to_datetime(records["start_date"])
    end = pd.to_datetime(records["end_date"].replace("", None))
    assert (end.dropna() >= start[end.notna()]).all()
    assert end.max() <= SMALL.as_of
    assert ((records["leaving_reason"] == "") == end.isna()).all()


def test_injected_rates_over_many_trainees():
    """Population truth (module docstring): attrition of White, not disabled trainees is
    withdrawal_base and ethnic minority trainees' is 1.5 times that; conversion (registered
    within 182 days of the planned end, over all starters) of White, not disabled trainees is
    conversion_base. 60,000 trainees: binomial SE < 0.005, tolerance 0.015 (3 SE)."""
    spec = RecordsSpec(trainees_per_cohort=20000)
    trainees = synthetic_records(spec, "training")
    reference = trainees[~trainees["_minority"] & ~trainees["_disabled"]]
    minority = trainees[trainees["_minority"] & ~trainees["_disabled"]]
    withdrew = lambda frame: (frame["withdrawal_date"] != "").mean()  # noqa: E731
    assert withdrew(reference) == pytest.approx(spec.withdrawal_base, abs=0.015)
    assert withdrew(minority) == pytest.approx(spec.withdrawal_base * 1.5, abs=0.015 * 1.5)
    planned = pd.to_datetime(reference["planned_end"])
    registered = pd.to_datetime(reference["registration_date"].replace("", None))
    in_window = (registered <= planned + pd.Timedelta(days=182)).mean()
    assert in_window == pytest.approx(spec.conversion_base, abs=0.015)


def test_appointment_relative_likelihood_over_many_applicants():
    """WRES 2 truth: appointment rate from shortlisting of White / ethnic minority (not
    disabled) applicants = white_rl of the year (1.6 here). 150,000 applications, SE of log RL
    about 0.03: tolerance 0.1 (about 2 SE on the ratio scale at 1.6)."""
    spec = RecordsSpec(shortlisted_per_year=60000, years=(2023,), white_rl=(1.6,))
    apps = synthetic_records(spec, "recruitment")
    apps = apps[(apps["stage"] != "APPLIED") & ~apps["_disabled"]]
    appointed = apps["stage"] == "APPOINTED"
    ratio = appointed[~apps["_minority"]].mean() / appointed[apps["_minority"]].mean()
    assert spec.white_rl_by_year() == {2023: 1.6}
    assert ratio == pytest.approx(1.6, abs=0.1)


def test_exports_use_labels_and_write_truth(tmp_path: Path, record_instruments):
    paths = write_record_exports(SMALL, record_instruments, tmp_path)
    assert [p.name for p in paths][:2] == ["workforce_records_EOE.csv", "workforce_records_LON.csv"]
    assert len(paths) == len(RECORD_KINDS) * len(REGIONS)
    workforce = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    assert "Midlands" not in set(workforce["region"]) and set(workforce["region"]) == {
        "East of England"
    }
    assert workforce["start_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert "Retirement" in set(workforce["leaving_reason"])
    truth = json.loads((tmp_path / "truth_records.json").read_text())
    assert len(truth["effects"]) == len(records_truth(SMALL))
    hr = [e for e in truth["effects"] if e["measure"] == "leaving hazard ratio"]
    assert {e["dimension"]: e["true_value"] for e in hr} == {"ethnicity": 1.4, "disability": 1.3}
    assert not np.isnan([e["true_value"] for e in truth["effects"]]).any()
