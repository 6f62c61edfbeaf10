"""Acceptance: `ptw ingest` of the same synthetic responses in every supported layout stores
the same responses (the stored tables are compared), and re-ingesting a file adds 0 rows.

Truth: the codes drawn by toolkit.synth.responses (plus a multi-select answer); each layout writes them
the way a platform would (labels or codes, header style, encoding, format)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from openpyxl import Workbook

from tests.ingest.conftest import culture_codes, ptw, to_labels
from toolkit.config import init_workspace
from toolkit.instruments.model import Instrument
from toolkit.store.database import ResponseStore

MULTI = "discrimination_grounds"
COMPARED = ["respondent", "cycle", "region", "flagged"]


def _with_accent(codes: pd.DataFrame) -> pd.DataFrame:
    """Identifiers with a non-ASCII letter, so a wrong decoding changes the stored hash."""
    return codes.assign(respondent_id=codes["respondent_id"] + "-é")


def _spread(
    frame: pd.DataFrame, instrument: Instrument, header: str, cell: str, *, labels: bool
) -> pd.DataFrame:
    """Codes with the multi-select as one column per option (``header``/``cell`` use {code}
    {label} {k}); other answers as labels when ``labels``."""
    out = (to_labels(frame, instrument) if labels else frame).drop(columns=[MULTI])
    for k, choice in enumerate(instrument.choices(MULTI), start=1):
        chosen = frame[MULTI].str.split().map(lambda codes, c=choice.code: c in codes)
        name = header.format(code=choice.code.lower(), label=choice.label, k=k)
        out[name] = np.where(chosen, cell.format(label=choice.label), "")
    return out


def _qualtrics(frame: pd.DataFrame, instrument: Instrument, *, values: str) -> list[list[str]]:
    """Three header rows (export tag, question text, import id), metadata columns first."""
    text = values == "text"
    spread = _spread(frame, instrument, "QM_{k}", "{label}" if text else "1", labels=text)
    tags, texts = ["StartDate", "Finished"], ["Start Date", "Finished"]
    for column in spread.columns:
        if column.startswith("QM_"):
            k = int(column.split("_")[1])
            option = instrument.choices(MULTI)[k - 1].label
            tags.append(column)
            texts.append(f"{instrument.item_map[MULTI].label} - Selected Choice - {option}")
        else:
            tags.append(f"Q{len(tags)}")
            texts.append(instrument.item_map[column].label)
    ids = [json.dumps({"ImportId": f"QID{k}"}) for k in range(len(tags))]
    body = [["2024-05-01 10:00:00", "True", *row] for row in spread.astype(str).to_numpy().tolist()]
    return [tags, texts, ids, *body]


def _write_csv_rows(rows: list[list[str]], path: Path) -> None:
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(path, index=False)


def _write_spss(codes: pd.DataFrame, instrument: Instrument, path: Path) -> None:
    """Numeric codes with value labels; blank likert answers as user-missing 99; the
    multi-select as 0/1 dichotomies named item_CODE."""
    data: dict[str, object] = {}
    labels: dict[str, dict[float, str]] = {}
    missing: dict[str, list[float]] = {}
    for column in codes.columns:
        item = instrument.item_map[column]
        choices = instrument.choices(item)
        if item.base_type == "select_multiple":
            for choice in choices:
                data[f"{column}_{choice.code}"] = (
                    codes[column].str.split().map(lambda c, x=choice.code: float(x in c))
                )
        elif choices:
            number = {c.code: float(k) for k, c in enumerate(choices, start=1)}
            data[column] = codes[column].map(number).fillna(99.0)
            labels[column] = {v: c.label for c, v in zip(choices, number.values(), strict=True)} | {
                99.0: "No answer"
            }
            missing[column] = [99.0]
        else:
            data[column] = codes[column]
    pyreadstat.write_sav(
        pd.DataFrame(data), str(path), variable_value_labels=labels, missing_ranges=missing
    )


def _write_xlsx_with_preamble(frame: pd.DataFrame, path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Culture survey 2024: responses"])
    sheet.append(["Exported by the regional team"])
    sheet.append([])
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    book.save(path)


def write_layout(layout: str, codes: pd.DataFrame, instrument: Instrument, folder: Path) -> Path:
    """One export of ``codes`` in ``layout``; returns its path."""
    labels = to_labels(codes, instrument)
    writers = {
        "plain.csv": lambda p: labels.to_csv(p, index=False),
        "tab.tsv": lambda p: labels.to_csv(p, index=False, sep="\t"),
        "utf16.csv": lambda p: labels.to_csv(p, index=False, encoding="utf-16"),
        "cp1252.csv": lambda p: labels.to_csv(p, index=False, encoding="cp1252"),
        "bom.csv": lambda p: labels.to_csv(p, index=False, encoding="utf-8-sig"),
        "preamble.xlsx": lambda p: _write_xlsx_with_preamble(labels, p),
        "labels.sav": lambda p: _write_spss(codes, instrument, p),
        "codes.parquet": lambda p: codes.to_parquet(p, index=False),
        "qualtrics_text.csv": lambda p: _write_csv_rows(_qualtrics(codes, instrument, values="text"), p),
        "qualtrics_codes.csv": lambda p: _write_csv_rows(_qualtrics(codes, instrument, values="codes"), p),
        "question_text.csv": lambda p: labels.rename(columns=lambda c: instrument.item_map[c].label.upper()).to_csv(p, index=False),
        "spread.csv": lambda p: _spread(codes, instrument, MULTI + "_{code}", "{label}", labels=True).to_csv(p, index=False),
    }  # fmt: skip
    path = folder / layout
    writers[layout](path)
    return path


LAYOUTS = ("plain.csv", "tab.tsv", "utf16.csv", "cp1252.csv", "bom.csv", "preamble.xlsx", "labels.sav",
           "codes.parquet", "qualtrics_text.csv", "qualtrics_codes.csv", "question_text.csv", "spread.csv")  # fmt: skip


@pytest.fixture(scope="module")
def expected(
    instruments: dict[str, Instrument], tmp_path_factory: pytest.TempPathFactory
) -> pd.DataFrame:
    """The stored table of the plain CSV, the reference every layout must equal."""
    return _stored("plain.csv", instruments["culture"], tmp_path_factory.mktemp("plain"))


def _stored(layout: str, instrument: Instrument, folder: Path) -> pd.DataFrame:
    codes = _with_accent(culture_codes(instrument))
    space = init_workspace(folder / "ws")
    (space.root / ".ptw-secret").write_text("ab" * 32)
    path = write_layout(layout, codes, instrument, folder)
    first = ptw("ingest", path, "--survey", "culture", "--cycle", "2024", "-w", space.root)
    assert f"{len(codes)} accepted, 0 quarantined" in first, first
    with ResponseStore(space.store_path) as store:
        before = store.row_counts()
    again = ptw("ingest", path, "--survey", "culture", "--cycle", "2024", "-w", space.root)
    assert "already ingested" in again
    with ResponseStore(space.store_path) as store:
        assert store.row_counts() == before
        table = store.read_table("responses_culture")
    items = sorted(c for c in table.columns if c not in ("batch_id", "source_row", *COMPARED))
    return table[COMPARED + items].sort_values("respondent").reset_index(drop=True)


@pytest.mark.parametrize("layout", LAYOUTS[1:])
def test_every_layout_stores_the_same_responses(layout, instruments, expected, tmp_path):
    stored = _stored(layout, instruments["culture"], tmp_path)
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False)


def test_reference_table_holds_the_synthetic_codes(expected, instruments):
    codes = culture_codes(instruments["culture"])
    assert len(expected) == len(codes)
    assert sorted(expected["discrimination_grounds"].dropna()) == sorted(
        codes.loc[codes[MULTI] != "", MULTI]
    )
    assert (
        expected["ethnicity"].value_counts().sort_index()
        == codes["ethnicity"].value_counts().sort_index()
    ).all()
    assert not expected["flagged"].any()
