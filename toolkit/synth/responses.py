"""Synthetic survey responses with known, injected equality gaps (DESIGN.md decision 7).

How the truth is built, so that tests can recover it exactly:

* Each respondent's characteristics are drawn independently of each other (ethnicity
  varies by region, but no outcome depends on region).
* The chance of an adverse (or favourable) answer is a product of one factor per
  characteristic: ``p = base[cycle] * m_ethnicity[cycle] * m_disability[cycle] *
  m_sector * m_career_stage``. Because the other factors are independent of ethnicity,
  the population relative likelihood of ethnic minority vs White staff is exactly
  ``m_ethnicity[cycle]`` for every indicator; likewise for the other dimensions, and the
  ethnicity x disability intersection has RL ``m_ethnicity * m_disability`` against White,
  not disabled staff.
* Response bias: the chance of responding is a product of a factor for ethnicity and one
  for sector. That changes who responds but not the conditional rates above.
* Item non-response and "Prefer not to say" are added at stated rates.

:func:`synthetic_responses` returns the microdata as a DataFrame of choice codes;
:func:`write_platform_exports` writes it as survey-platform CSV files (item names as
headers, answer labels as values, one file per survey x cycle x region) together with
``truth.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.instruments.model import Instrument

REGIONS = {"EOE": 0.13, "LON": 0.17, "MID": 0.19, "NEY": 0.15, "NW": 0.13, "SE": 0.14, "SW": 0.09}
MINORITY_SHARE_BY_REGION = {
    "EOE": 0.14, "LON": 0.45, "MID": 0.20, "NEY": 0.10, "NW": 0.13, "SE": 0.12, "SW": 0.07,
}  # fmt: skip
WHITE_DETAILED = {"WBRI": 0.88, "WIRI": 0.02, "WGRT": 0.002, "WROM": 0.003, "WOTH": 0.095}
MINORITY_DETAILED = {
    "MWBC": 0.04, "MWBA": 0.02, "MWAS": 0.04, "MOTH": 0.03, "AIND": 0.22, "APKN": 0.14,
    "ABAN": 0.06, "ACHN": 0.04, "AOTH": 0.08, "BCRB": 0.07, "BAFR": 0.17, "BOTH": 0.02,
    "OARB": 0.02, "OOTH": 0.05,
}  # fmt: skip
SECTORS = {
    "COMM": 0.40, "HOSP": 0.38, "GPPCN": 0.10, "MH": 0.04, "CHS": 0.03, "HJ": 0.02,
    "ICB": 0.02, "OTHER": 0.01,
}  # fmt: skip
CAREER_STAGES = {"PTPT": 0.15, "LT2": 0.12, "Y2TO5": 0.20, "Y5TO10": 0.20, "GT10": 0.33}
SEXES = {"F": 0.91, "M": 0.08, "PNTS": 0.01}
AGE_BANDS = {"16-24": 0.10, "25-34": 0.27, "35-44": 0.26, "45-54": 0.23, "55-64": 0.12, "65+": 0.02}


@dataclass(frozen=True)
class IndicatorTruth:
    """The injected model of one binary indicator.

    ``base`` is the rate among White, not disabled, hospital staff registered over 10
    years, by cycle; ``event_codes`` are the answer codes that count as the event (drawn
    with ``event_weights``), ``other_codes`` the substantive answers that do not (drawn
    uniformly), and ``unsure_code`` a non-substantive answer ("Don't know") that 5% give
    at random, independently of everything, so the rates among those answering are
    unchanged. ``disabled_only`` items are asked of disabled staff only (the instrument's
    skip logic: a long-term condition that reduces activity), so everyone else leaves them
    blank; their ``disability`` multiplier is then 1 and the truth has no disability or
    ethnicity x disability comparison.
    """

    survey: str
    item: str
    event_codes: tuple[str, ...]
    base: float
    ethnicity: tuple[float, ...]
    disability: tuple[float, ...]
    sector: dict[str, float] = field(default_factory=dict)
    career_stage: dict[str, float] = field(default_factory=dict)
    other_codes: tuple[str, ...] = ("N",)
    event_weights: tuple[float, ...] | None = None
    unsure_code: str | None = None
    disabled_only: bool = False


@dataclass(frozen=True)
class SynthSpec:
    """What to generate.

    Attributes:
        cycles: survey years.
        responses_per_cycle: respondents per survey per cycle (all regions together).
        seed: random seed; the same spec gives the same data.
        disabled_share: population share of disabled staff.
        item_nonresponse: share of substantive items left blank.
        prefer_not_to_say: share answering "Prefer not to say" to ethnicity and disability.
        response_propensity_minority: relative chance that ethnic minority staff respond.
        indicators: the injected indicator models (multipliers per cycle).
    """

    cycles: tuple[int, ...] = (2023, 2024, 2025)
    responses_per_cycle: int = 5000
    seed: int = 20240626
    disabled_share: float = 0.12
    item_nonresponse: float = 0.03
    prefer_not_to_say: float = 0.04
    response_propensity_minority: float = 0.8
    indicators: tuple[IndicatorTruth, ...] = ()

    def multipliers(self, values: tuple[float, ...]) -> tuple[float, ...]:
        """Per-cycle multipliers stretched or cut to the number of cycles."""
        if len(values) >= len(self.cycles):
            return values[-len(self.cycles) :]
        return (values[0],) * (len(self.cycles) - len(values)) + values


SECTOR_EFFECT = {
    "COMM": 1.3,
    "HOSP": 1.0,
    "GPPCN": 0.9,
    "MH": 1.2,
    "CHS": 1.0,
    "HJ": 1.4,
    "ICB": 0.8,
    "OTHER": 1.0,
}
STAGE_EFFECT = {"PTPT": 1.25, "LT2": 1.15, "Y2TO5": 1.1, "Y5TO10": 1.05, "GT10": 1.0}
HARASSMENT_CODES = ("2", "3", "4", "5")
AGREE_CODES = ("4", "5")

HARASSMENT = {
    "event_codes": HARASSMENT_CODES,
    "other_codes": ("1",),
    "event_weights": (0.55, 0.25, 0.12, 0.08),
}
AGREEMENT = {
    "event_codes": AGREE_CODES,
    "other_codes": ("1", "2", "3"),
    "event_weights": (0.6, 0.4),
}
YES_OR_DONT_KNOW = {"event_codes": ("Y",), "unsure_code": "DK"}
OFFERED_DEVELOPMENT = {
    "event_codes": ("TOOK", "OFFERED"),
    "other_codes": ("NOT_OFFERED",),
    "event_weights": (0.7, 0.3),
    "unsure_code": "NOT_NEEDED",
}
DEVELOPMENT_SECTOR = {
    "COMM": 0.7, "HOSP": 1.0, "GPPCN": 1.1, "MH": 0.9, "CHS": 1.0, "HJ": 0.8, "ICB": 1.0,
    "OTHER": 0.9,
}  # fmt: skip
"""Access to development by sector: community pharmacy least (programme: minimal investment)."""
DEVELOPMENT_STAGE = {"PTPT": 1.3, "LT2": 1.2, "Y2TO5": 1.1, "Y5TO10": 1.0, "GT10": 1.0}
ADJUSTMENTS_SECTOR = {"COMM": 0.85, "HOSP": 1.0, "GPPCN": 0.95, "MH": 1.1}

DEFAULT_INDICATORS = (
    IndicatorTruth("culture", "harassment_public", base=0.22, ethnicity=(1.6, 1.4, 1.2),
                   disability=(1.5, 1.35, 1.2), sector=SECTOR_EFFECT, career_stage=STAGE_EFFECT, **HARASSMENT),
    IndicatorTruth("culture", "harassment_managers", base=0.10, ethnicity=(1.7, 1.5, 1.3),
                   disability=(1.6, 1.45, 1.3), sector=SECTOR_EFFECT, career_stage=STAGE_EFFECT, **HARASSMENT),
    IndicatorTruth("culture", "harassment_colleagues", base=0.14, ethnicity=(1.5, 1.4, 1.3),
                   disability=(1.5, 1.4, 1.3), sector=SECTOR_EFFECT, career_stage=STAGE_EFFECT, **HARASSMENT),
    IndicatorTruth("culture", "discrimination_colleagues", base=0.06, ethnicity=(2.2, 1.9, 1.6),
                   disability=(1.8, 1.6, 1.4), sector=SECTOR_EFFECT, career_stage=STAGE_EFFECT,
                   **YES_OR_DONT_KNOW),
    IndicatorTruth("culture", "equal_opportunities", base=0.62, ethnicity=(0.80, 0.85, 0.90),
                   disability=(0.85, 0.88, 0.92), **YES_OR_DONT_KNOW),
    IndicatorTruth("retention", "think_leaving", base=0.30, ethnicity=(1.3, 1.25, 1.2),
                   disability=(1.3, 1.25, 1.2), sector=SECTOR_EFFECT, career_stage=STAGE_EFFECT, **AGREEMENT),
    IndicatorTruth("retention", "look_new_job", base=0.22, ethnicity=(1.3, 1.25, 1.2),
                   disability=(1.3, 1.25, 1.2), sector=SECTOR_EFFECT, career_stage=STAGE_EFFECT, **AGREEMENT),
    IndicatorTruth("retention", "leave_asap", base=0.15, ethnicity=(1.3, 1.25, 1.2),
                   disability=(1.3, 1.25, 1.2), sector=SECTOR_EFFECT, career_stage=STAGE_EFFECT, **AGREEMENT),
    IndicatorTruth("culture", "discrimination_public", base=0.07, ethnicity=(2.0, 1.8, 1.6),
                   disability=(1.3, 1.25, 1.2), **YES_OR_DONT_KNOW),
    IndicatorTruth("culture", "pressure_to_attend", base=0.18, ethnicity=(1.2, 1.15, 1.1),
                   disability=(1.7, 1.55, 1.4), event_codes=("Y",)),
    IndicatorTruth("culture", "valued_by_organisation", base=0.50, ethnicity=(0.85, 0.88, 0.92),
                   disability=(0.80, 0.85, 0.90), event_codes=AGREE_CODES, other_codes=("1", "2", "3"),
                   event_weights=(0.6, 0.4)),
    IndicatorTruth("retention", "intend_leave_12m", base=0.16, ethnicity=(1.35, 1.3, 1.25),
                   disability=(1.3, 1.25, 1.2), sector=SECTOR_EFFECT, career_stage=STAGE_EFFECT,
                   event_codes=("Y",), other_codes=("N", "UNSURE")),
    # Reform: access to development (WRES 4 analogue). Ethnic minority and disabled staff are
    # less likely to be offered it, a gap that narrows over cycles.
    IndicatorTruth("retention", "dev_clinical_skills", base=0.50, ethnicity=(0.70, 0.80, 0.90),
                   disability=(0.85, 0.88, 0.92), sector=DEVELOPMENT_SECTOR,
                   career_stage=DEVELOPMENT_STAGE, **OFFERED_DEVELOPMENT),
    IndicatorTruth("retention", "dev_mh_ld", base=0.30, ethnicity=(0.75, 0.82, 0.90),
                   disability=(0.90, 0.92, 0.95), sector={**DEVELOPMENT_SECTOR, "MH": 1.6},
                   career_stage=DEVELOPMENT_STAGE, **OFFERED_DEVELOPMENT),
    IndicatorTruth("retention", "dev_digital", base=0.35, ethnicity=(0.80, 0.85, 0.90),
                   disability=(0.80, 0.85, 0.90), sector=DEVELOPMENT_SECTOR,
                   career_stage=DEVELOPMENT_STAGE, **OFFERED_DEVELOPMENT),
    # WDES 8, asked of disabled staff only: ethnic minority disabled staff less likely to have
    # had adjustments made.
    IndicatorTruth("culture", "adequate_adjustments", base=0.70, ethnicity=(0.80, 0.85, 0.90),
                   disability=(1.0,), sector=ADJUSTMENTS_SECTOR, event_codes=("Y",),
                   unsure_code="NOT_REQUIRED", disabled_only=True),
)  # fmt: skip


def _draw(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    codes = np.array(list(shares))
    weights = np.array(list(shares.values()), dtype=float)
    return rng.choice(codes, size=size, p=weights / weights.sum())


def staff_population(rng: np.random.Generator, size: int) -> pd.DataFrame:
    """Characteristics of ``size`` staff, independent of each other except region/ethnicity."""
    region = _draw(rng, REGIONS, size)
    minority_share = pd.Series(region).map(MINORITY_SHARE_BY_REGION).to_numpy()
    is_minority = rng.random(size) < minority_share
    detailed = np.where(
        is_minority, _draw(rng, MINORITY_DETAILED, size), _draw(rng, WHITE_DETAILED, size)
    )
    return pd.DataFrame(
        {
            "region": region,
            "ethnicity": detailed,
            "minority": is_minority,
            "sector": _draw(rng, SECTORS, size),
            "career_stage": _draw(rng, CAREER_STAGES, size),
            "sex": _draw(rng, SEXES, size),
            "age_band": _draw(rng, AGE_BANDS, size),
        }
    )


def disability_answers(
    rng: np.random.Generator, disabled: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """GSS Q1/Q2 answers consistent with Equality Act status."""
    size = disabled.size
    condition_without_limit = rng.random(size) < 0.2
    q1 = np.where(disabled | condition_without_limit, "Y", "N")
    q2 = np.where(disabled, np.where(rng.random(size) < 0.4, "LOT", "LITTLE"), "NONE")
    q2 = np.where(q1 == "Y", q2, "")
    return q1, q2


def _answer(
    rng: np.random.Generator,
    truth: IndicatorTruth,
    people: pd.DataFrame,
    cycle_index: int,
    spec: SynthSpec,
) -> np.ndarray:
    """Codes for one item: the event with the injected probability, else a non-event code."""
    eth = spec.multipliers(truth.ethnicity)[cycle_index]
    dis = spec.multipliers(truth.disability)[cycle_index]
    probability = (
        truth.base
        * np.where(people["minority"], eth, 1.0)
        * np.where(people["disabled"], dis, 1.0)
        * people["sector"].map(truth.sector or {}).fillna(1.0).to_numpy()
        * people["career_stage"].map(truth.career_stage or {}).fillna(1.0).to_numpy()
    )
    if probability.max() > 1:
        raise ValueError(f"injected probability above 1 for {truth.item}; lower its base")
    size = len(people)
    event = rng.random(size) < probability
    unsure = rng.random(size) < 0.05 if truth.unsure_code else np.zeros(size, dtype=bool)
    events = _codes(rng, truth.event_codes, size, truth.event_weights)
    others = _codes(rng, truth.other_codes, size, None)
    return np.where(unsure, truth.unsure_code or "", np.where(event, events, others))


def _codes(
    rng: np.random.Generator, codes: tuple[str, ...], size: int, weights: tuple[float, ...] | None
) -> np.ndarray | str:
    """``size`` draws from ``codes`` (the code itself when there is only one)."""
    if len(codes) == 1:
        return codes[0]
    return rng.choice(list(codes), size, p=list(weights) if weights else None)


def synthetic_responses(spec: SynthSpec, survey: str) -> pd.DataFrame:
    """Respondents of ``survey`` for every cycle, as choice codes.

    Returns:
        One row per respondent with ``cycle``, ``region``, ``respondent_id``, the
        demographic items, the survey's injected items, and the hidden truth columns
        ``_minority`` and ``_disabled`` (dropped before export).
    """
    indicators = [t for t in (spec.indicators or DEFAULT_INDICATORS) if t.survey == survey]
    rng = np.random.default_rng([spec.seed, sum(map(ord, survey))])
    frames = []
    for index, cycle in enumerate(spec.cycles):
        pool = staff_population(rng, int(spec.responses_per_cycle * 2.2))
        pool["disabled"] = rng.random(len(pool)) < spec.disabled_share
        propensity = np.where(pool["minority"], spec.response_propensity_minority, 1.0) * pool[
            "sector"
        ].map({"COMM": 0.8}).fillna(1.0)
        chosen = rng.random(len(pool)) < propensity / propensity.max() * 0.6
        people = pool[chosen].head(spec.responses_per_cycle).reset_index(drop=True)
        q1, q2 = disability_answers(rng, people["disabled"].to_numpy())
        frame = pd.DataFrame(
            {
                "cycle": cycle,
                "region": people["region"],
                "respondent_id": [
                    f"{survey[0].upper()}{cycle}-{i:06d}" for i in range(len(people))
                ],
                "ethnicity": people["ethnicity"],
                "long_term_condition": q1,
                "condition_reduces_activity": q2,
                "sex": people["sex"],
                "age_band": people["age_band"],
                "sector": people["sector"],
                "career_stage": people["career_stage"],
            }
        )
        for truth in indicators:
            answers = _answer(rng, truth, people, index, spec)
            blank = rng.random(len(people)) < spec.item_nonresponse
            frame[truth.item] = np.where(blank, "", answers)
        not_said = rng.random(len(people)) < spec.prefer_not_to_say
        frame.loc[not_said, "ethnicity"] = "PNTS"
        disability_not_said = rng.random(len(people)) < spec.prefer_not_to_say * 0.75
        frame.loc[disability_not_said, ["long_term_condition", "condition_reduces_activity"]] = [
            "PNTS",
            "",
        ]
        asked = frame["long_term_condition"].eq("Y") & frame["condition_reduces_activity"].isin(
            ["LOT", "LITTLE"]
        )
        for truth in (t for t in indicators if t.disabled_only):
            frame.loc[~asked, truth.item] = ""
        frame["_minority"] = people["minority"].to_numpy()
        frame["_disabled"] = people["disabled"].to_numpy()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def to_labels(frame: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Replace codes by answer labels, as survey platforms export them."""
    labelled = frame.copy()
    for column in labelled.columns:
        item = instrument.item_map.get(column)
        if item is None or not item.list_name:
            continue
        labels = {choice.code: choice.label for choice in instrument.choices(item)}
        labelled[column] = labelled[column].map(lambda code, m=labels: m.get(code, code))
    return labelled


def truth_table(spec: SynthSpec) -> pd.DataFrame:
    """The injected relative likelihoods, one row per survey x item x cycle x comparison.

    Columns: survey, item, cycle, dimension, group, reference_group, true_rel_likelihood.
    An item asked of disabled staff only has no disability or ethnicity x disability row: its
    ethnicity, sector and career stage rows hold within disabled staff.
    """
    rows = []
    for truth in spec.indicators or DEFAULT_INDICATORS:
        eth = spec.multipliers(truth.ethnicity)
        dis = spec.multipliers(truth.disability)
        for index, cycle in enumerate(spec.cycles):
            base = {"survey": truth.survey, "item": truth.item, "cycle": cycle}
            compared = [("ethnicity", "Ethnic minority", "White", eth[index])]
            if not truth.disabled_only:
                compared += [
                    ("disability", "Disabled", "Not disabled", dis[index]),
                    ("ethnicity × disability", "Ethnic minority × Disabled",
                     "White × Not disabled", eth[index] * dis[index]),
                ]  # fmt: skip
            for dimension, factors, reference in (("sector", truth.sector, "HOSP"),
                                                  ("career_stage", truth.career_stage, "GT10")):  # fmt: skip
                compared += [(dimension, code, reference, factor / factors[reference])
                             for code, factor in (factors or {}).items()]  # fmt: skip
            rows += [
                {**base, "dimension": dimension, "group": group, "reference_group": reference,
                 "true_rel_likelihood": value}
                for dimension, group, reference, value in compared
            ]  # fmt: skip
    return pd.DataFrame(rows)


REGISTERED_TECHNICIANS = 26_193  # GPhC register, April 2024 (DOMAIN.md section 1)


def population_margins(spec: SynthSpec, total: int = REGISTERED_TECHNICIANS) -> pd.DataFrame:
    """Population totals by region and by sector for each cycle, for raking.

    The synthetic population draws region and sector independently with the shares in
    :data:`REGIONS` and :data:`SECTORS`, so the totals are those shares times ``total``.
    Columns: cycle, variable, level, total.
    """
    rows = [
        {
            "cycle": cycle,
            "variable": variable,
            "level": code,
            "total": total * share / sum(shares.values()),
        }
        for cycle in spec.cycles
        for variable, shares in (("region", REGIONS), ("sector", SECTORS))
        for code, share in shares.items()
    ]
    return pd.DataFrame(rows)


def write_platform_exports(
    spec: SynthSpec, instruments: dict[str, Instrument], out_dir: Path
) -> list[Path]:
    """Write one platform-style CSV per survey x cycle x region, ``truth.json`` and margins.

    Files are named ``{survey}_{cycle}_{region}.csv``; headers are item names and answers
    are labels. ``population_margins.csv`` holds the population totals for raking.
    Returns the CSV paths in a stable order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for survey, instrument in sorted(instruments.items()):
        responses = synthetic_responses(spec, survey)
        exported = to_labels(responses.drop(columns=["_minority", "_disabled"]), instrument)
        for (cycle, region), part in exported.groupby(["cycle", "region"], sort=True):
            path = out_dir / f"{survey}_{cycle}_{region}.csv"
            part.drop(columns=["cycle"]).to_csv(path, index=False)
            paths.append(path)
    truth = {
        "spec": {k: v for k, v in asdict(spec).items() if k != "indicators"},
        "relative_likelihoods": truth_table(spec).to_dict(orient="records"),
    }
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=2), encoding="utf-8")
    population_margins(spec).to_csv(out_dir / "population_margins.csv", index=False)
    return paths


def parse_cycles(text: str) -> tuple[int, ...]:
    """``"2023,2024"`` -> ``(2023, 2024)``; a range ``"2023-2025"`` is accepted too."""
    if "-" in text and "," not in text:
        start, end = (int(part) for part in text.split("-"))
        return tuple(range(start, end + 1))
    return tuple(int(part) for part in text.split(",") if part.strip())


def spec_for(
    cycles: Sequence[int] | None = None, responses: int | None = None, seed: int | None = None
) -> SynthSpec:
    """A :class:`SynthSpec` with the given overrides."""
    spec = SynthSpec()
    return SynthSpec(
        cycles=tuple(cycles) if cycles else spec.cycles,
        responses_per_cycle=responses or spec.responses_per_cycle,
        seed=spec.seed if seed is None else seed,
    )
