"""toolkit.stats.rake.rake against R survey::rake, plus capping, trimming and errors.

Expected weights: tests/reference/expected/models_rake.csv (survey::rake of
svydesign(ids = ~1, weights = ~w), and of equal weights, to the margins in
models_margins.csv), written by tests/reference/models_reference.R. Compared to 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import PtwError
from toolkit.stats.rake import rake

REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = pd.read_csv(REFERENCE / "data" / "models_input.csv")
    return frame[frame["region"].notna()]


@pytest.fixture(scope="module")
def margins() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "expected" / "models_margins.csv")


@pytest.mark.parametrize(("column", "weights"), [("weight_from_w", "w"), ("weight_from_1", None)])
def test_rake_matches_r(data, margins, column, weights):
    expected = pd.read_csv(REFERENCE / "expected" / "models_rake.csv")
    result = rake(data, margins, weights=weights)
    assert result.converged
    assert result.weights.index.equals(data.index)
    assert np.array_equal(data["id"].to_numpy(), expected["id"].to_numpy())
    np.testing.assert_allclose(result.weights.to_numpy(), expected[column], rtol=0, atol=1e-6)
    check = result.margins_check
    np.testing.assert_allclose(check["achieved"], check["target"], rtol=1e-9)
    assert list(result.history.columns) == ["iteration", "max_margin_error"]
    assert result.history["max_margin_error"].iloc[-1] < 1e-10
    assert result.iterations == len(result.history)


def test_diagnostics_formulas(data, margins):
    result = rake(data, margins, weights="w")
    w = result.weights.to_numpy()
    assert result.design_effect == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2, rel=1e-12)
    assert result.effective_sample_size == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)


def test_margin_forms_agree(data, margins):
    tidy = rake(data, margins).weights
    as_series = {v: part.set_index("level")["total"] for v, part in margins.groupby("variable")}
    as_frames = {v: part[["level", "total"]] for v, part in margins.groupby("variable")}
    np.testing.assert_allclose(rake(data, as_series).weights, tidy, rtol=1e-12)
    np.testing.assert_allclose(rake(data, as_frames).weights, tidy, rtol=1e-12)


def test_cap_keeps_margins_and_bound(data, margins):
    uncapped = rake(data, margins, weights="w")
    cap = 3.0
    assert uncapped.weights.max() > cap * uncapped.weights.mean()
    capped = rake(data, margins, weights="w", cap=cap, max_iter=500)
    assert capped.converged
    assert capped.weights.max() <= cap * capped.weights.mean() * (1 + 1e-9)
    check = capped.margins_check
    np.testing.assert_allclose(check["achieved"], check["target"], rtol=1e-8)
    assert capped.design_effect < uncapped.design_effect


def test_trim_bounds_weights_and_reports_margin_drift(data, margins):
    result = rake(data, margins, weights="w", trim=(0.5, 2.0))
    w = result.weights
    total = margins.loc[margins["variable"] == "region", "total"].sum()
    assert w.sum() == pytest.approx(total, rel=1e-12)
    check = result.margins_check
    assert (check["achieved"] - check["target"]).abs().max() > 1.0


def test_impossible_cap_does_not_converge(data, margins):
    result = rake(data, margins, weights="w", cap=1.0001, max_iter=20)
    assert not result.converged
    assert result.iterations == 20


def test_level_without_margin_names_variable_and_level(data, margins):
    frame = data.copy()
    frame.loc[frame.index[0], "sector"] = "Prison pharmacy"
    with pytest.raises(PtwError) as caught:
        rake(frame, margins)
    assert caught.value.code == "weights.level_without_margin"
    assert caught.value.column == "sector" and "Prison pharmacy" in str(caught.value)


def test_margin_level_without_sample_raises(data, margins):
    extra = pd.concat(
        [
            margins,
            pd.DataFrame({"variable": ["sector"], "level": ["Prison pharmacy"], "total": [0.0]}),
        ]
    )
    extra.loc[extra["level"] == "Prison pharmacy", "total"] = 100.0
    extra.loc[extra["level"] == "Hospital", "total"] -= 100.0
    with pytest.raises(PtwError) as caught:
        rake(data, extra)
    assert caught.value.code == "weights.empty_margin_level"
    assert "Prison pharmacy" in str(caught.value) and caught.value.column == "sector"


def test_inconsistent_totals_and_missing_values_raise(data, margins):
    bigger = margins.copy()
    bigger.loc[bigger["variable"] == "sector", "total"] *= 2
    with pytest.raises(PtwError, match="different sizes"):
        rake(data, bigger)
    with pytest.raises(PtwError) as caught:
        rake(data.assign(region=data["region"].where(data.index != data.index[3])), margins)
    assert caught.value.code == "weights.missing_raking_value"
