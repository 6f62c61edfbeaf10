"""The public face of toolkit.stats reads as one API (issue 10, "one researcher API").

Every public function takes its data first and everything else by keyword, names its grouping
column ``group``, refuses text outcomes and unknown reference groups with a located PtwError.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import toolkit.stats as stats
from toolkit.errors import PtwError

FUNCTIONS = [
    getattr(stats, name) for name in stats.__all__ if inspect.isfunction(getattr(stats, name))
]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_data_first_then_keyword_only(function) -> None:
    parameters = list(inspect.signature(function).parameters.values())
    positional = [p for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert len(positional) <= 1, [p.name for p in positional]
    names = {p.name for p in parameters}
    assert not names & {"by", "group_col", "group_column"}


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ethnicity": ["White"] * 6 + ["Asian"] * 6,
            "sector": ["Hospital", "Community"] * 6,
            "y": [1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0],
            "answer": ["Yes", "No", None] * 4,
            "time": np.arange(1.0, 13.0),
            "cycle": [2024, 2025] * 6,
        }
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda d: stats.proportions(d, outcome="answer", group="ethnicity"),
        lambda d: stats.relative_likelihood(
            d, outcome="answer", group="ethnicity", reference="White"
        ),
        lambda d: stats.association(d, outcome="answer", group="ethnicity"),
        lambda d: stats.logistic(d, outcome="answer", group="ethnicity", reference="White"),
    ],
    ids=["proportions", "relative_likelihood", "association", "logistic"],
)
def test_a_text_outcome_is_an_error_naming_the_column_and_values(call) -> None:
    with pytest.raises(PtwError) as raised:
        call(_rows())
    assert raised.value.code == "stats.outcome_not_binary"
    assert raised.value.column == "answer"
    assert raised.value.value == ["No", "Yes"]


@pytest.mark.parametrize(
    "call",
    [
        lambda d: stats.relative_likelihood(d, outcome="y", group="ethnicity", reference="white"),
        lambda d: stats.difference(d, outcome="y", group="ethnicity", reference="white"),
        lambda d: stats.logistic(d, outcome="y", group="ethnicity", reference="white"),
        lambda d: stats.logistic(
            d,
            outcome="y",
            group="ethnicity",
            reference="White",
            covariates=["sector"],
            references={"sector": "GP"},
        ),
        lambda d: stats.proportional_odds(d, item="y", group="ethnicity", reference="white"),
        lambda d: stats.rank_tests(d, item="y", group="ethnicity", reference="white"),
        lambda d: stats.gap_trend(
            d, outcome="y", group="ethnicity", reference="white", cycle="cycle"
        ),
        lambda d: stats.cox(d, time="time", event="y", group="ethnicity", reference="white"),
    ],
    ids=[
        "relative_likelihood",
        "difference",
        "logistic",
        "logistic_covariate",
        "proportional_odds",
        "rank_tests",
        "gap_trend",
        "cox",
    ],
)
def test_an_unknown_reference_is_an_error_naming_the_levels_found(call) -> None:
    with pytest.raises(PtwError) as raised:
        call(_rows())
    assert raised.value.code == "stats.unknown_reference"
    assert raised.value.column in ("ethnicity", "sector")
    assert "Asian" in raised.value.expected or "Community" in raised.value.expected


def test_logistic_covariate_reference_defaults_to_the_largest_level() -> None:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "g": rng.choice(["A", "B"], n),
            "sector": rng.choice(["Community", "Hospital", "GP"], n, p=[0.2, 0.6, 0.2]),
            "y": rng.integers(0, 2, n).astype(float),
        }
    )
    result = stats.logistic(frame, outcome="y", group="g", reference="A", covariates=["sector"])
    sector = result[result["variable"] == "sector"]
    assert set(sector["reference_level"]) == {"Hospital"}
    assert set(sector["level"]) == {"Community", "GP"}
    chosen = stats.logistic(
        frame,
        outcome="y",
        group="g",
        reference="A",
        covariates=["sector"],
        references={"sector": "GP"},
    )
    assert set(chosen.loc[chosen["variable"] == "sector", "reference_level"]) == {"GP"}
    assert set(chosen.loc[chosen["variable"] == "g", "reference_level"]) == {"A"}


COUNTS = pd.DataFrame(
    {
        "sex": ["Female", "Female", "Male", "Male", "Male"],
        "band": ["A", "B", "A", "B", "B"],
        "events": [30, 0, 7, 12, 3],
        "base": [80, 5, 40, 30, 10],
    }
)


def _expand(counts: pd.DataFrame) -> pd.DataFrame:
    """One row per person: ``events`` rows of 1 and ``base - events`` rows of 0 per count row."""
    rows = [
        pd.DataFrame(
            {
                "sex": row.sex,
                "band": row.band,
                "y": [1] * row.events + [0] * (row.base - row.events),
            }
        )
        for row in counts.itertuples()
    ]
    return pd.concat(rows, ignore_index=True)


def _assert_frames_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    for column in want.columns:
        if pd.api.types.is_float_dtype(want[column]):
            np.testing.assert_allclose(
                got[column].to_numpy(float), want[column].to_numpy(float),
                rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=column,
            )  # fmt: skip
        else:
            assert got[column].astype(object).tolist() == want[column].astype(object).tolist()


@pytest.mark.parametrize("group", ["sex", ["sex", "band"]], ids=["one", "intersection"])
@pytest.mark.parametrize("ci_method", ["wilson", "clopper-pearson"])
def test_proportions_from_counts_equal_the_rows(group, ci_method) -> None:
    got = stats.proportions_from_counts(
        COUNTS, events="events", n="base", group=group, ci_method=ci_method
    )
    want = stats.proportions(_expand(COUNTS), outcome="y", group=group, ci_method=ci_method)
    _assert_frames_equal(got, want)


@pytest.mark.parametrize(
    ("group", "reference"),
    [("sex", "Male"), (["sex", "band"], "Male × B"), (["sex", "band"], "Female × A")],
)
def test_comparisons_from_counts_equal_the_rows(group, reference) -> None:
    rows = _expand(COUNTS)
    _assert_frames_equal(
        stats.relative_likelihood_from_counts(
            COUNTS, events="events", n="base", group=group, reference=reference
        ),
        stats.relative_likelihood(rows, outcome="y", group=group, reference=reference),
    )
    _assert_frames_equal(
        stats.difference_from_counts(
            COUNTS, events="events", n="base", group=group, reference=reference
        ),
        stats.difference(rows, outcome="y", group=group, reference=reference),
    )


def test_bad_counts_are_errors() -> None:
    with pytest.raises(PtwError) as raised:
        stats.proportions_from_counts(
            COUNTS.assign(events=[30, 6, 7, 12, 3]), events="events", n="base", group="sex"
        )
    assert raised.value.code == "stats.events_above_base" and raised.value.row == 2
    with pytest.raises(PtwError) as raised:
        stats.proportions_from_counts(
            COUNTS.assign(base=[80, 5, 40.5, 30, 10]), events="events", n="base", group="sex"
        )
    assert raised.value.code == "stats.bad_count" and raised.value.column == "base"


def test_every_method_label_written_is_in_the_vocabulary() -> None:
    from toolkit.stats import methods

    rows = _rows()
    weighted = rows.assign(w=np.linspace(0.5, 2.0, len(rows)))
    tables = [
        stats.proportions(rows, outcome="y", group="ethnicity"),
        stats.proportions(weighted, outcome="y", group="ethnicity", weights="w"),
        stats.relative_likelihood(rows, outcome="y", group="ethnicity", reference="White"),
        stats.difference(weighted, outcome="y", group="ethnicity", reference="White", weights="w"),
        stats.association(rows, outcome="y", group="ethnicity"),
        stats.association(weighted, outcome="y", group="ethnicity", weights="w"),
        stats.mean_score(weighted, item="y", group="ethnicity", weights="w"),
        stats.rank_tests(rows, item="time", group="ethnicity", reference="White"),
        stats.logrank(rows, time="time", event="y", group="ethnicity"),
        stats.adjust_p_values(pd.DataFrame({"p_value": [0.01, 0.2]})),
        stats.minimum_detectable_difference(n_group=50, n_reference=500, p_reference=0.2),
    ]
    columns = ["ci_method", "rl_ci_method", "diff_ci_method", "test", "adjust_method", "method"]
    written = {
        label
        for table in tables
        for column in columns
        if column in table
        for label in table[column].dropna()
    }
    assert written and written <= set(methods.DESCRIPTIONS), written - set(methods.DESCRIPTIONS)
    trend = stats.gap_trend(rows, outcome="y", group="ethnicity", reference="White", cycle="cycle")
    assert set(trend.per_cycle["ci_method"]) == {methods.both(methods.NEWCOMBE, methods.KATZ_LOG)}
    assert set(trend.interaction["model"]) <= set(methods.DESCRIPTIONS)


def test_result_objects_give_their_tables_the_same_way() -> None:
    rows = _rows()
    trend = stats.gap_trend(rows, outcome="y", group="ethnicity", reference="White", cycle="cycle")
    km = stats.kaplan_meier(rows, time="time", event="y", group="ethnicity")
    assert list(trend.tables()) == ["per_cycle", "interaction", "change", "verdict"]
    assert list(km.tables()) == ["curve", "summary", "at"]
    for result in (trend, km):
        assert all(isinstance(table, pd.DataFrame) for table in result.tables().values())
    assert trend.tables()["verdict"] is trend.verdict
    assert list(trend.cycles) == [2024, 2025]
    assert all(type(cycle) is int for cycle in trend.cycles)
    assert all(type(value) is float for value in trend.cycles.values())


def test_docs_api_lists_every_public_function_and_method_label() -> None:
    from pathlib import Path

    from toolkit.stats import methods

    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    missing = [f.__name__ for f in FUNCTIONS if f"`{f.__name__}`" not in text]
    missing += [label for label in methods.DESCRIPTIONS if f"`{label}`" not in text]
    assert not missing
