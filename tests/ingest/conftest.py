"""Synthetic exports for the ingest tests: codes from toolkit.synth.responses, labels from the instrument."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.instruments.model import Instrument
from toolkit.synth.responses import SynthSpec, synthetic_responses

GROUNDS = ("ETHNIC", "GENDER", "AGE", "DISABILITY")


def culture_codes(instrument: Instrument, responses: int = 240, seed: int = 7) -> pd.DataFrame:
    """Culture respondents as option codes, with a multi-select answer where it is asked.

    ``discrimination_grounds`` is added (1-2 grounds, space-joined codes in list order) for
    respondents who reported discrimination, so the multi-select layouts are exercised.
    """
    frame = synthetic_responses(
        SynthSpec(cycles=(2024,), responses_per_cycle=responses, seed=seed), "culture"
    )
    frame = frame.drop(columns=["_minority", "_disabled", "cycle"])
    rng = np.random.default_rng(seed)
    order = {c.code: k for k, c in enumerate(instrument.choices("discrimination_grounds"))}
    picks = [
        sorted(set(rng.choice(GROUNDS, size=rng.integers(1, 3))), key=order.get)
        for _ in range(len(frame))
    ]
    asked = frame["discrimination_colleagues"] == "Y"
    frame["discrimination_grounds"] = np.where(asked, [" ".join(p) for p in picks], "")
    return frame


def to_labels(codes: pd.DataFrame, instrument: Instrument, *, join: str = ";") -> pd.DataFrame:
    """Codes -> answer labels as a platform exports them (multi-selects joined by ``join``)."""
    labelled = codes.copy()
    for column in labelled.columns:
        item = instrument.item_map[column]
        labels = {c.code: c.label for c in instrument.choices(item)}
        if not labels:
            continue
        if item.base_type == "select_multiple":
            labelled[column] = labelled[column].map(
                lambda v, m=labels: join.join(m[c] for c in v.split())
            )
        else:
            labelled[column] = labelled[column].map(lambda v, m=labels: m.get(v, v))
    return labelled


def ptw(*args: str | Path) -> str:
    """Run the real `ptw` command; assert it succeeded; return its output."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture()
def culture(instruments: dict[str, Instrument]) -> Instrument:
    return instruments["culture"]
