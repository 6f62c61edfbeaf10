"""Synthetic workforce, training and recruitment records with known, injected effects.

The companion of :mod:`toolkit.synth.responses` (DESIGN.md decision 7): the same staff characteristics
(region, ethnicity by region, sector, career stage, sex, age band, GSS disability answers; drawn
by :mod:`toolkit.synth.responses`'s own functions), the same years as the survey cycles, and effects that
the analysis must recover exactly in expectation:

* **Workforce** (one row per person in post at some time in the window): time to leaving is
  exponential with annual hazard ``-ln(1 - leaving_base) * hr_minority^[minority] *
  hr_disabled^[disabled]``; nothing else changes the hazard, and ethnicity and disability are
  drawn independently, so the Cox hazard ratio of ethnic minority vs White staff is
  ``hr_minority`` (and of disabled vs not disabled staff ``hr_disabled``). Staff in post at the
  window start keep a memoryless residual time; joiners arrive evenly over the window at the
  expected leaving rate, so headcount stays roughly level.
* **Training** (one row per PTPT trainee, one cohort per year starting 1 September): withdrawal
  with probability ``withdrawal_base * withdrawal_rl_minority^[minority] *
  withdrawal_rl_disabled^[disabled]``; registration with the GPhC within 182 days of the planned
  end (start + 104 weeks) with probability ``conversion_base * conversion_rl_minority^[minority]
  * conversion_rl_disabled^[disabled]`` over all starters (drawn among those who did not
  withdraw, with the conditional probability that gives that marginal rate). So the attrition RL
  of ethnic minority vs White trainees is ``withdrawal_rl_minority`` and the conversion RL
  ``conversion_rl_minority``.
* **Recruitment** (one row per application): among shortlisted applicants the chance of
  appointment is ``appointment_base * white_rl[year]^[White] * non_disabled_rl^[not disabled]``,
  so the WRES 2 relative likelihood (White vs ethnic minority) is ``white_rl[year]`` and the WDES
  2 one (not disabled vs disabled) ``non_disabled_rl``.

"Prefer not to say" answers to ethnicity and disability are added independently of everything,
so they change no rate among those who declared.

:func:`synthetic_records` returns one kind of record as answer codes; :func:`write_record_exports`
writes every kind as CSV files per region (item names as headers, choice labels as values, ISO
dates) and ``truth_records.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from toolkit.instruments.model import Instrument
from toolkit.synth.responses import SynthSpec, disability_answers, staff_population, to_labels

RecordKind = Literal["workforce", "training", "recruitment"]
RECORD_KINDS: tuple[RecordKind, ...] = ("workforce", "training", "recruitment")
LEAVING_REASONS = {
    "OTHER_NHS": 0.30, "OTHER_SECTOR": 0.25, "LEFT_PHARMACY": 0.20, "RETIRED": 0.15,
    "DISMISSAL": 0.02, "OTHER": 0.08,
}  # fmt: skip
FTE_VALUES = {1.0: 0.6, 0.8: 0.15, 0.6: 0.15, 0.4: 0.1}
DAYS_PER_YEAR = 365.25
PLANNED_WEEKS = 104
REGISTRATION_WINDOW_DAYS = 182
TRUTH_COLUMNS = ["kind", "measure", "year", "dimension", "group", "reference_group", "true_value"]
_SURVEY_DEFAULTS = SynthSpec()


@dataclass(frozen=True)
class RecordsSpec:
    """What to generate (module docstring for the model).

    Attributes:
        years: record years, matching the survey cycles; workforce year Y is the NHS financial
            year 1 April Y to 31 March Y+1; training cohort Y starts 1 September Y.
        staff: headcount in post at the start of the first year.
        trainees_per_cohort: PTPT starters per cohort.
        shortlisted_per_year: shortlisted applications per year (applications are about 2.5
            times as many).
        seed: random seed; the same spec gives the same records.
        disabled_share, prefer_not_to_say: as :class:`toolkit.synth.responses.SynthSpec`.
        leaving_base: annual leaving probability of White, not disabled staff.
        hr_minority, hr_disabled: injected leaving hazard ratios.
        withdrawal_base, withdrawal_rl_minority, withdrawal_rl_disabled: PTPT attrition model.
        conversion_base, conversion_rl_minority, conversion_rl_disabled: registration model.
        appointment_base: appointment rate from shortlisting of ethnic minority disabled
            applicants.
        white_rl: WRES 2 relative likelihood per year (stretched or cut to the years as
            :meth:`toolkit.synth.responses.SynthSpec.multipliers` does).
        non_disabled_rl: WDES 2 relative likelihood.
    """

    years: tuple[int, ...] = _SURVEY_DEFAULTS.cycles
    staff: int = 6000
    trainees_per_cohort: int = 1500
    shortlisted_per_year: int = 4000
    seed: int = _SURVEY_DEFAULTS.seed
    disabled_share: float = _SURVEY_DEFAULTS.disabled_share
    prefer_not_to_say: float = _SURVEY_DEFAULTS.prefer_not_to_say
    leaving_base: float = 0.10
    hr_minority: float = 1.4
    hr_disabled: float = 1.3
    withdrawal_base: float = 0.15
    withdrawal_rl_minority: float = 1.5
    withdrawal_rl_disabled: float = 1.3
    conversion_base: float = 0.70
    conversion_rl_minority: float = 0.85
    conversion_rl_disabled: float = 0.9
    appointment_base: float = 0.15
    white_rl: tuple[float, ...] = (1.5, 1.35, 1.2)
    non_disabled_rl: float = 1.25

    def white_rl_by_year(self) -> dict[int, float]:
        """The WRES 2 relative likelihood of each year."""
        stretched = SynthSpec(cycles=self.years).multipliers(self.white_rl)
        return dict(zip(self.years, stretched, strict=True))

    @property
    def window_start(self) -> pd.Timestamp:
        """First day of the first workforce year (1 April)."""
        return pd.Timestamp(self.years[0], 4, 1)

    @property
    def as_of(self) -> pd.Timestamp:
        """Last day of the last workforce year (31 March): the extract date."""
        return pd.Timestamp(self.years[-1] + 1, 3, 31)


def records_spec_for(survey: SynthSpec, **overrides: object) -> RecordsSpec:
    """A :class:`RecordsSpec` whose years, seed and shares match a survey spec."""
    return RecordsSpec(
        **{
            "years": survey.cycles,
            "seed": survey.seed,
            "disabled_share": survey.disabled_share,
            "prefer_not_to_say": survey.prefer_not_to_say,
            **overrides,
        }
    )


def _people(rng: np.random.Generator, spec: RecordsSpec, size: int) -> pd.DataFrame:
    """Staff characteristics (from :mod:`toolkit.synth.responses`) with Equality Act disability status."""
    people = staff_population(rng, size)
    people["disabled"] = rng.random(size) < spec.disabled_share
    return people


def _demographic_codes(
    rng: np.random.Generator, spec: RecordsSpec, people: pd.DataFrame
) -> pd.DataFrame:
    """The demographic items as answer codes, with "Prefer not to say" added at random."""
    q1, q2 = disability_answers(rng, people["disabled"].to_numpy())
    codes = pd.DataFrame(
        {
            "ethnicity": people["ethnicity"].to_numpy(),
            "long_term_condition": q1,
            "condition_reduces_activity": q2,
            "sex": people["sex"].to_numpy(),
            "age_band": people["age_band"].to_numpy(),
            "region": people["region"].to_numpy(),
            "sector": people["sector"].to_numpy(),
            "career_stage": people["career_stage"].to_numpy(),
        }
    )
    codes.loc[rng.random(len(codes)) < spec.prefer_not_to_say, "ethnicity"] = "PNTS"
    hidden = rng.random(len(codes)) < spec.prefer_not_to_say * 0.75
    codes.loc[hidden, ["long_term_condition", "condition_reduces_activity"]] = ["PNTS", ""]
    return codes


def _iso(days: pd.Series | np.ndarray, origin: pd.Timestamp) -> np.ndarray:
    """``origin + days`` as ISO dates; NaN days give ``""``."""
    values = np.asarray(days, dtype=float)
    dates = origin + pd.to_timedelta(np.nan_to_num(values), unit="D")
    return np.where(np.isnan(values), "", dates.strftime("%Y-%m-%d"))


def _leaving_hazard(spec: RecordsSpec, people: pd.DataFrame) -> np.ndarray:
    """Annual leaving hazard per person (module docstring)."""
    return (
        -np.log1p(-spec.leaving_base)
        * np.where(people["minority"], spec.hr_minority, 1.0)
        * np.where(people["disabled"], spec.hr_disabled, 1.0)
    )


def _workforce(rng: np.random.Generator, spec: RecordsSpec) -> pd.DataFrame:
    """Workforce records: staff in post at the window start plus joiners over the window."""
    origin, window_days = spec.window_start, (spec.as_of - spec.window_start).days
    stock = _people(rng, spec, spec.staff)
    stock_start = -rng.uniform(0, 20, spec.staff) * DAYS_PER_YEAR
    expected_joiners = (
        spec.staff * _leaving_hazard(spec, stock).mean() * window_days / DAYS_PER_YEAR
    )
    joiners = _people(rng, spec, round(expected_joiners))
    joiner_start = rng.uniform(1, window_days, len(joiners))
    people = pd.concat([stock, joiners], ignore_index=True)
    start = np.concatenate([np.floor(stock_start), np.floor(joiner_start)])
    stay = rng.exponential(1.0 / _leaving_hazard(spec, people)) * DAYS_PER_YEAR
    entered = np.maximum(start, 0.0)
    end = np.floor(entered + stay)
    end = np.where(end <= window_days, np.maximum(end, entered), np.nan)
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i:07d}" for i in range(len(people))],
            "start_date": _iso(start, origin),
            "end_date": _iso(end, origin),
        }
    )
    reasons = rng.choice(list(LEAVING_REASONS), len(people), p=list(LEAVING_REASONS.values()))
    frame["leaving_reason"] = np.where(np.isnan(end), "", reasons)
    frame["fte"] = rng.choice(list(FTE_VALUES), len(people), p=list(FTE_VALUES.values()))
    return pd.concat([frame, _demographic_codes(rng, spec, people)], axis=1).assign(
        _minority=people["minority"].to_numpy(), _disabled=people["disabled"].to_numpy()
    )


def _cohort(rng: np.random.Generator, spec: RecordsSpec, year: int) -> pd.DataFrame:
    """One PTPT cohort: withdrawal, completion and registration dates (module docstring)."""
    people = _people(rng, spec, spec.trainees_per_cohort)
    people["career_stage"] = "PTPT"
    size, minority, disabled = len(people), people["minority"], people["disabled"]
    withdraw_p = (
        spec.withdrawal_base
        * np.where(minority, spec.withdrawal_rl_minority, 1.0)
        * np.where(disabled, spec.withdrawal_rl_disabled, 1.0)
    )
    convert_p = (
        spec.conversion_base
        * np.where(minority, spec.conversion_rl_minority, 1.0)
        * np.where(disabled, spec.conversion_rl_disabled, 1.0)
    )
    if (convert_p > 1 - withdraw_p).any():
        raise ValueError("conversion above the share who do not withdraw; lower conversion_base")
    withdrew = rng.random(size) < withdraw_p
    registered_in_window = ~withdrew & (rng.random(size) < convert_p / (1 - withdraw_p))
    registered_late = ~withdrew & ~registered_in_window & (rng.random(size) < 0.5)
    start = pd.Timestamp(year, 9, 1)
    planned = PLANNED_WEEKS * 7.0
    completion = np.where(withdrew, np.nan, planned + rng.integers(-30, 60, size))
    registration = np.where(
        registered_in_window,
        planned + rng.integers(20, REGISTRATION_WINDOW_DAYS, size),
        np.where(registered_late, planned + rng.integers(200, 500, size), np.nan),
    )
    frame = pd.DataFrame(
        {
            "trainee_id": [f"T{year}-{i:05d}" for i in range(size)],
            "cohort_start": start.strftime("%Y-%m-%d"),
            "planned_end": (start + pd.Timedelta(weeks=PLANNED_WEEKS)).strftime("%Y-%m-%d"),
            "withdrawal_date": _iso(np.where(withdrew, rng.integers(30, 700, size), np.nan), start),
            "completion_date": _iso(completion, start),
            "registration_date": _iso(registration, start),
        }
    )
    return pd.concat([frame, _demographic_codes(rng, spec, people)], axis=1).assign(
        _minority=minority.to_numpy(), _disabled=disabled.to_numpy()
    )


def _applications(rng: np.random.Generator, spec: RecordsSpec, year: int) -> pd.DataFrame:
    """One year's applications: stage reached, appointment injected among the shortlisted."""
    size = int(spec.shortlisted_per_year * 2.5)
    people = _people(rng, spec, size)
    shortlisted = rng.random(size) < 0.4
    appoint_p = (
        spec.appointment_base
        * np.where(people["minority"], 1.0, spec.white_rl_by_year()[year])
        * np.where(people["disabled"], 1.0, spec.non_disabled_rl)
    )
    appointed = shortlisted & (rng.random(size) < appoint_p)
    stage = np.where(appointed, "APPOINTED", np.where(shortlisted, "SHORTLISTED", "APPLIED"))
    frame = pd.DataFrame(
        {
            "application_id": [f"A{year}-{i:06d}" for i in range(size)],
            "year": year,
            "post": [f"V{year}-{i:04d}" for i in rng.integers(0, size // 20, size)],
            "stage": stage,
        }
    )
    return pd.concat([frame, _demographic_codes(rng, spec, people)], axis=1).assign(
        _minority=people["minority"].to_numpy(), _disabled=people["disabled"].to_numpy()
    )


def synthetic_records(spec: RecordsSpec, kind: RecordKind) -> pd.DataFrame:
    """One kind of record for every year and region, as answer codes.

    Args:
        spec: what to generate.
        kind: ``"workforce"``, ``"training"`` or ``"recruitment"``.

    Returns:
        One row per person (workforce), trainee (training) or application (recruitment) with the
        record instrument's item columns (dates as ISO text, ``""`` when blank) and the hidden
        truth columns ``_minority`` and ``_disabled`` (dropped before export).
    """
    rng = np.random.default_rng([spec.seed, sum(map(ord, kind))])
    if kind == "workforce":
        return _workforce(rng, spec)
    builder = _cohort if kind == "training" else _applications
    return pd.concat([builder(rng, spec, year) for year in spec.years], ignore_index=True)


def _truth_row(
    kind: str,
    measure: str,
    year: int | None,
    dimension: str,
    group: str,
    reference: str,
    value: float,
) -> dict[str, object]:
    return dict(zip(TRUTH_COLUMNS, (kind, measure, year, dimension, group, reference, value),
                    strict=True))  # fmt: skip


def records_truth(spec: RecordsSpec) -> pd.DataFrame:
    """The injected effects, one row per kind x measure x year x comparison.

    Columns ``TRUTH_COLUMNS``; ``year`` is None for effects constant over the years. Measures:
    "leaving hazard ratio", "attrition relative likelihood", "conversion relative likelihood",
    "WRES 2 relative likelihood", "WDES 2 relative likelihood".
    """
    eth = ("ethnicity", "Ethnic minority", "White")
    dis = ("disability", "Disabled", "Not disabled")
    rows = [
        _truth_row("workforce", "leaving hazard ratio", None, *eth, spec.hr_minority),
        _truth_row("workforce", "leaving hazard ratio", None, *dis, spec.hr_disabled),
        _truth_row("training", "attrition relative likelihood", None, *eth,
                   spec.withdrawal_rl_minority),
        _truth_row("training", "attrition relative likelihood", None, *dis,
                   spec.withdrawal_rl_disabled),
        _truth_row("training", "conversion relative likelihood", None, *eth,
                   spec.conversion_rl_minority),
        _truth_row("training", "conversion relative likelihood", None, *dis,
                   spec.conversion_rl_disabled),
    ]  # fmt: skip
    for year, rl in spec.white_rl_by_year().items():
        rows.append(_truth_row("recruitment", "WRES 2 relative likelihood", year, "ethnicity",
                               "White", "Ethnic minority", rl))  # fmt: skip
        rows.append(_truth_row("recruitment", "WDES 2 relative likelihood", year, "disability",
                               "Not disabled", "Disabled", spec.non_disabled_rl))  # fmt: skip
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


def write_record_exports(
    spec: RecordsSpec, instruments: Mapping[str, Instrument], out_dir: Path
) -> list[Path]:
    """Write ``{kind}_records_{region}.csv`` for every kind and region, and ``truth_records.json``.

    Args:
        spec: what to generate.
        instruments: kind (``workforce``, ``training``, ``recruitment``) -> its record instrument
            (``surveys/{kind}_records.yaml``); kinds not given are not written.
        out_dir: created if needed.

    Returns:
        The CSV paths in a stable order (kind, then region code). Headers are item names, answers
        are choice labels, dates ISO (YYYY-MM-DD), blanks empty.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for kind in (k for k in RECORD_KINDS if k in instruments):
        records = synthetic_records(spec, kind).drop(columns=["_minority", "_disabled"])
        labelled = to_labels(records, instruments[kind])
        for region, part in labelled.groupby(records["region"], sort=True):
            path = out_dir / f"{kind}_records_{region}.csv"
            part.to_csv(path, index=False)
            paths.append(path)
    truth = {
        "spec": asdict(spec),
        "effects": records_truth(spec).replace({np.nan: None}).to_dict(orient="records"),
    }
    (out_dir / "truth_records.json").write_text(json.dumps(truth, indent=2), encoding="utf-8")
    return paths
