"""toolkit.analysis.models: the slice's respondents counted into cells fit exactly as rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.analysis.models import _Cell, _coded, _indicator_models, _slice_units, _Units


def _survey(size: int) -> pd.DataFrame:
    """Respondents with missing groups, covariates and outcomes, and a constant covariate."""
    rng = np.random.default_rng(13)
    frame = pd.DataFrame({
        "group": rng.choice(["Minority", "White", None], size, p=[0.3, 0.6, 0.1]),
        "sector": rng.choice(["Hospital", "Community", "Primary care", None], size),
        "stage": rng.choice(["Trainee", "Qualified"], size),
        "region": "London",
        "y": rng.choice([0.0, 1.0, np.nan], size, p=[0.5, 0.4, 0.1]),
    })  # fmt: skip
    return frame.astype({"group": "string", "sector": "string", "stage": "string"})


def test_counted_cells_give_the_rows_of_the_respondents() -> None:
    frame = _survey(400)
    coded = _coded(frame, ["group", "sector", "stage", "region"], ["y"], None)
    rows = np.flatnonzero(np.arange(len(frame)) % 3 != 0)
    cells = _slice_units(coded, rows, "y")
    respondents = _Units(cells.levels, {c: codes[rows] for c, (_, codes) in coded.factors.items()},
                         coded.outcomes["y"][rows], np.ones(len(rows)), None)  # fmt: skip
    assert len(cells.count) < len(rows) and cells.count.sum() == len(rows)
    cell = _Cell("y", "group", "White", ("sector", "stage", "region"), {"sector": "Nowhere"})
    expected = pd.DataFrame(_indicator_models(respondents, cell, level=0.95))
    result = pd.DataFrame(_indicator_models(cells, cell, level=0.95))
    pd.testing.assert_frame_equal(result, expected, check_exact=True)
    assert set(result["model"]) == {"unadjusted", "adjusted"}
    assert result["note"].str.contains("region").all()
