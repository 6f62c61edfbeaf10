"""Issue 11's scenario: a workspace with known small groups, attacked through what it publishes.

The synthetic exports of one cycle of the culture survey are edited so that, and only so that:

* South West has exactly 3 ethnic minority respondents;
* North West has exactly 4 disabled respondents;
* 2 people in the whole country are Roma, both in London;
* 1 person in the whole country is an ethnic minority working in health and justice (Midlands).

The workspace is ingested and analysed through the command line at its own threshold (10), and
exported to Excel. The independent auditor then attacks the whole bundle: none of these counts,
nor any other suppressed count, may be pinned or bounded narrower than the threshold; and the
workbook prints no number for any of these groups.
"""

from __future__ import annotations

import csv
import math
from numbers import Number
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from toolkit.bundle import Bundle
from toolkit.cli import app
from toolkit.config import init_workspace
from toolkit.disclosure.audit import attack
from toolkit.ingest.pipeline import ingest_survey_file
from toolkit.instruments.model import instrument_path, load_instrument
from toolkit.report.excel import SUPPRESSED, workbook_contents
from toolkit.store.database import ResponseStore
from toolkit.synth.responses import parse_cycles, spec_for, write_platform_exports

pytestmark = pytest.mark.slow

THRESHOLD = 10
WHITE, INDIAN, ROMA = "English, Welsh, Scottish, Northern Irish or British", "Indian", "Roma"
JUSTICE = "Health and justice"
KNOWN = {
    # (region, dimension, level, group): true count
    ("SW", "ethnicity", "binary", "Ethnic minority"): 3,
    ("NW", "disability", "binary", "Disabled"): 4,
    ("England", "ethnicity", "detailed", "Roma"): 2,
    ("England", "ethnicity × sector", "binary×detailed", f"Ethnic minority × {JUSTICE}"): 1,
}


def _plant(rows: list[dict[str, str]], region: str) -> None:
    """Edit one region's rows in place so that the known groups hold exactly as listed."""
    for i, row in enumerate(rows):
        if row["ethnicity"] == ROMA or (row["sector"] == JUSTICE and row["ethnicity"] != WHITE):
            row["ethnicity"] = WHITE
        if region == "South West":
            row["ethnicity"] = INDIAN if i < 3 else WHITE
        if region == "North West":
            disabled = i < 4
            row["long_term_condition"] = "Yes" if disabled else "No"
            row["condition_reduces_activity"] = "Yes, a lot" if disabled else ""
        if region == "London" and i < 2:
            row["ethnicity"] = ROMA
        if region == "Midlands" and i == 0:
            row["ethnicity"], row["sector"] = INDIAN, JUSTICE
        if region == "Midlands" and 1 <= i <= 12:
            row["ethnicity"], row["sector"] = WHITE, JUSTICE  # the margin is not itself small


def _edit(path: Path) -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    _plant(rows, rows[0]["region"])
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, pd.DataFrame], Path]:
    """The analysed workspace's bundle tables and its Excel workbook."""
    root = tmp_path_factory.mktemp("known") / "ws"
    space = init_workspace(root)
    instrument = load_instrument(instrument_path(space.surveys_dir, "culture"))
    exports = write_platform_exports(spec_for(parse_cycles("2025"), 4200, 11),
                                     {"culture": instrument}, root / "exports")  # fmt: skip
    with ResponseStore(space.store_path) as store:
        for path in exports:
            _edit(path)
            _, cycle, region = path.stem.split("_")
            ingest_survey_file(store, path, instrument=instrument, cycle=int(cycle),
                               region=region, secret=space.secret())  # fmt: skip
    runner = CliRunner()
    result = runner.invoke(app, ["analyse", "--workspace", str(root)])
    assert result.exit_code == 0, result.output
    workbook = root / "release.xlsx"
    result = runner.invoke(app, ["export", "--excel", str(workbook), "--workspace", str(root)])
    assert result.exit_code == 0, result.output
    bundle = root / "out" / "bundle"
    tables = {path.stem: pd.read_parquet(path) for path in bundle.glob("*.parquet")}
    return tables, workbook


def _rows(frame: pd.DataFrame, cell: tuple[str, str, str, str]) -> pd.DataFrame:
    columns = ["region", "dimension", "level", "group"]
    if not set(columns) <= set(frame.columns):
        return frame.iloc[0:0]
    return frame[(frame[columns].astype(str) == list(cell)).all(axis=1)]


def test_the_planted_groups_are_what_the_data_holds(released) -> None:
    # The true counts, read from the unsuppressed side: the store's own analysis marks each
    # planted group as under the threshold (a primary suppression), never as published.
    tables, _ = released
    profile = tables["response_profile"]
    for cell in KNOWN:
        rows = _rows(profile, cell)
        if len(rows):
            assert rows["suppressed"].all(), cell
            assert rows["suppression_reason"].str.startswith("primary").all(), cell


def test_no_suppressed_count_can_be_recovered_from_the_bundle(released) -> None:
    tables, _ = released
    result = attack(tables, threshold=THRESHOLD)
    found = result[~result["protected"]]
    assert found.empty, found.to_string()
    for cell in KNOWN:
        targets = _rows(result, cell)
        assert len(targets), cell  # each planted group is suppressed somewhere and attacked
        base = targets[targets["measure"].isin(["n"])]
        assert ((base["upper"] - base["lower"] >= THRESHOLD) | (base["lower"] >= THRESHOLD)).all()


def test_the_workbook_prints_no_number_for_a_planted_group(released) -> None:
    _, workbook = released
    sheets = pd.read_excel(workbook, sheet_name=None, engine="openpyxl")
    checked = 0
    for name, sheet in sheets.items():
        keyed = sheet.rename(columns={"Region": "region", "Dimension": "dimension",
                                      "Level": "level", "Group": "group"})  # fmt: skip
        for cell in KNOWN:
            rows = _rows(keyed, cell)
            numbers = [c for c in ("Respondents", "Events", "Count", "Estimate") if c in rows]
            checked += len(rows)
            shown = rows[numbers].apply(pd.to_numeric, errors="coerce")  # "suppressed" is text
            assert shown.isna().all().all(), (name, cell, rows[numbers])
    assert checked >= len(KNOWN)


def _same_cell(value: object, shown: object, *, hidden: bool) -> bool:
    """Whether the workbook's ``shown`` says what the bundle's ``value`` says and no more: a
    number is the same number, a missing value is blank (or "suppressed" in a hidden row)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return shown is None or (hidden and shown == SUPPRESSED)
    if isinstance(value, bool):
        return shown == value
    if isinstance(value, Number):
        return isinstance(shown, Number) and math.isclose(float(shown), float(value),
                                                          rel_tol=1e-12, abs_tol=1e-12)  # fmt: skip
    return not isinstance(shown, Number) or isinstance(shown, bool)  # text stays text


def test_the_workbook_holds_the_bundles_numbers_and_no_others(released) -> None:
    """The workbook is covered by the attack on the bundle above: each of its sheets is one
    bundle table, cell by cell (the same numbers, "suppressed" only where the bundle has none),
    so arithmetic on the workbook reaches no further than arithmetic on the bundle."""
    tables, workbook = released
    book = load_workbook(workbook, read_only=True)
    contents = workbook_contents(Bundle(tables=tables, manifest={}))
    checked = 0
    for entry in contents[contents["table"] != ""].itertuples(index=False):
        table = tables[entry.table].reset_index(drop=True)
        rows = list(book[entry.sheet].iter_rows(min_row=2, values_only=True))
        assert len(rows) == len(table), entry.sheet
        hidden = (table["suppressed"].astype("boolean").fillna(False).tolist()
                  if "suppressed" in table else [False] * len(table))  # fmt: skip
        for values, shown, flag in zip(table.itertuples(index=False, name=None), rows, hidden,
                                       strict=True):  # fmt: skip
            for column, value, cell in zip(table.columns, values, shown, strict=True):
                assert _same_cell(value, cell, hidden=flag), (entry.sheet, column, value, cell)
                checked += 1
    book.close()
    assert checked > 100_000
