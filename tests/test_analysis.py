"""The analysis recovers every injected effect (issue 5 acceptance).

Known truth: :mod:`toolkit.synth.responses` multiplies one factor per characteristic, so the
population relative likelihood of each group against its reference is exactly the injected
ratio (``truth_table``). Here the synthetic respondents (6,000 per cycle, fixed seed) are
written as platform exports, ingested into the real DuckDB store and the real plan runs over them; every injected RL
(ethnicity, disability, each sector, each career stage, the ethnicity x disability
intersection) must lie inside its reported 99% CI. 99% rather than 95% because some 60 true
values are checked at once: at 95% about three would be expected to fall outside by chance.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.analysis.plan import load_plan
from toolkit.analysis.runner import COMPARISON_COLUMNS, run_plan
from toolkit.disclosure.suppression import SuppressionPolicy, audit_disclosure
from toolkit.ingest.pipeline import ingest_survey_file
from toolkit.instruments.model import load_instrument
from toolkit.resources import analysis_dir, surveys_dir
from toolkit.store.database import ResponseStore
from toolkit.synth.responses import SynthSpec, truth_table, write_platform_exports

SPEC = SynthSpec(cycles=(2024, 2025), responses_per_cycle=6000, seed=99)


def _ingest_exports(store: ResponseStore, folder: Path) -> None:
    """Write the synthetic platform exports and ingest each one for real."""
    instruments = {
        name: load_instrument(surveys_dir() / f"{name}.yaml") for name in ("culture", "retention")
    }
    for path in write_platform_exports(SPEC, instruments, folder):
        survey, cycle, region = path.stem.split("_")
        report = ingest_survey_file(
            store,
            path,
            instrument=instruments[survey],
            cycle=int(cycle),
            region=region,
            secret=b"k" * 32,
        )
        assert report.batch.quarantined == 0


PLAN = load_plan(analysis_dir() / "plan.yaml").model_copy(update={"regions": False, "level": 0.99})


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "ptw.duckdb"
    with ResponseStore(path) as store:
        _ingest_exports(store, path.parent / "exports")
    return path


def _run(store_path: Path):
    with ResponseStore(store_path, read_only=True) as store:
        return run_plan(
            PLAN,
            store=store,
            surveys_dir=surveys_dir(),
            policy=SuppressionPolicy(),
            plan_dir=analysis_dir(),
        )


@pytest.fixture(scope="module")
def bundle(store_path: Path):
    return _run(store_path)


def _labels(dimension: str, code: str) -> str:
    culture = load_instrument(surveys_dir() / "culture.yaml")
    return {c.code: c.label for c in culture.choices(dimension)}[code]


def test_every_injected_relative_likelihood_is_inside_its_ci(bundle) -> None:
    rows = bundle.table("comparisons")
    truth = truth_table(SPEC)
    truth = truth[truth["item"] == "harassment_public"].copy()
    for dimension in ("sector", "career_stage"):
        chosen = truth["dimension"] == dimension
        truth.loc[chosen, "group"] = [_labels(dimension, g) for g in truth.loc[chosen, "group"]]
        truth.loc[chosen, "reference_group"] = [
            _labels(dimension, g) for g in truth.loc[chosen, "reference_group"]
        ]
    truth = truth[truth["group"] != truth["reference_group"]]
    levels = {"ethnicity": "binary", "disability": "binary", "sector": "detailed", "career_stage": "detailed",
              "ethnicity × disability": "binary×binary"}  # fmt: skip
    found = rows[(rows["indicator"] == "harassment_public") & (rows["region"] == "England")]
    checked = 0
    for row in truth.itertuples():
        match = found[(found["cycle"] == row.cycle) & (found["dimension"] == row.dimension)
                      & (found["level"] == levels[row.dimension]) & (found["group"] == row.group)]  # fmt: skip
        assert len(match) == 1, (row.dimension, row.group)
        got = match.iloc[0]
        assert got["reference_group"] == row.reference_group
        assert got["rl_ci_low"] <= row.true_rel_likelihood <= got["rl_ci_high"], (
            row,
            got[["rel_likelihood", "rl_ci_low", "rl_ci_high"]],
        )
        checked += 1
    assert (
        checked == len(truth) == 28
    )  # 2 cycles x (ethnicity, disability, intersection, 7 sectors, 4 stages)


def test_comparisons_have_the_documented_columns_and_name_their_methods(bundle) -> None:
    rows = bundle.table("comparisons")
    assert list(rows.columns) == list(COMPARISON_COLUMNS)
    compared = rows[~rows["is_reference"] & rows["rel_likelihood"].notna()]
    assert set(compared["ci_method"]) == {"wilson"}
    assert set(compared["rl_ci_method"]) == {"katz-log"}
    assert set(compared["adjust_method"].dropna()) == {"benjamini-hochberg"}
    tested = compared[compared["p_value"].notna()]
    assert tested["p_adjusted"].notna().all()
    assert (tested["p_adjusted"] >= tested["p_value"] - 1e-12).all()
    zero_events = compared[compared["events"] == 0]
    assert (
        zero_events["rl_ci_low"].isna().all()
        and zero_events["note"].str.contains("no events").all()
    )


def test_adjusted_models_recover_the_injected_ethnicity_effect_direction(bundle) -> None:
    models = bundle.table("models")
    adjusted = models[(models["model"] == "adjusted") & (models["indicator"] == "harassment_public")
                      & (models["dimension"] == "ethnicity")]  # fmt: skip
    assert len(adjusted) == len(SPEC.cycles)
    assert (adjusted["ci_low"] > 1).all(), "ethnic minority staff were injected with a higher risk"
    assert set(adjusted["covariates"]) == {"sector, career_stage, region"}


def test_reliability_and_scales_are_present_and_bounded(bundle) -> None:
    reliability = bundle.table("reliability")
    assert not reliability.empty and reliability["alpha"].between(-1, 1).all()
    scales = bundle.table("scales")
    published = scales[~scales["suppressed"]]
    assert published["estimate"].between(0, 10).all()


def test_the_bundle_passes_the_disclosure_audit_for_its_own_tables(bundle) -> None:
    from toolkit.analysis.runner import LAYOUTS

    tables = {k: v for k, v in bundle.tables.items() if k in LAYOUTS}
    assert audit_disclosure(
        tables, policy=SuppressionPolicy(), layouts={k: LAYOUTS[k] for k in tables}
    ).empty


def test_the_same_inputs_give_the_same_bundle(bundle, store_path: Path, tmp_path: Path) -> None:
    from toolkit.bundle import write_bundle

    first = write_bundle(bundle, tmp_path / "a")
    second = write_bundle(_run(store_path), tmp_path / "b")
    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_the_manifest_lists_batches_in_a_fixed_order(bundle) -> None:
    """Ingest order (and time) must not change the bundle: batches are listed by batch id."""
    ids = [batch["batch_id"] for batch in bundle.manifest["batches"]]
    assert len(ids) > 1
    assert ids == sorted(ids)
