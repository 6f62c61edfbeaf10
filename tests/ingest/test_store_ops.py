"""Store operations through the real `ptw` command: merge of regional stores (equal to one
store ingesting both exports), Parquet export, quarantine fix-and-release without double
counting, records ingest, status JSON, suggested and explicit mappings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.ingest.conftest import culture_codes, ptw, to_labels
from toolkit.analysis.runner import NOT_ANALYSED
from toolkit.config import init_workspace
from toolkit.errors import StoreError
from toolkit.instruments.model import Instrument
from toolkit.store.database import ResponseStore
from toolkit.store.merge import merge_store

KEY = "cd" * 32


def _workspace(folder: Path, key: str = KEY) -> Path:
    space = init_workspace(folder)
    (space.root / ".ptw-secret").write_text(key)
    return space.root


def _exports(instrument: Instrument, folder: Path) -> dict[str, Path]:
    """One label CSV per region of synthetic culture responses."""
    labels = to_labels(culture_codes(instrument, responses=300), instrument)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for region, part in labels.groupby("region"):
        paths[region] = folder / f"culture_{region.split()[0]}.csv"
        part.to_csv(paths[region], index=False)
    return paths


def _ingest(root: Path, path: Path, *extra: str) -> str:
    return ptw("ingest", path, "--survey", "culture", "--cycle", "2024", "-w", root, *extra)


def _tables(root: Path) -> dict[str, pd.DataFrame]:
    """Every table, rows sorted, without ingest times (which differ by run)."""
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        tables = {t: store.read_table(t) for t in store.tables()}
    out = {}
    for name, frame in tables.items():
        frame = frame.drop(columns=["ingested_at"], errors="ignore")
        frame = frame[sorted(frame.columns)]
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def test_merge_of_regional_stores_equals_one_store(culture, tmp_path):
    paths = list(_exports(culture, tmp_path / "exports").values())
    north, south, national = (_workspace(tmp_path / n) for n in ("north", "south", "national"))
    for path in paths[:3]:
        _ingest(north, path)
    for path in paths[3:]:
        _ingest(south, path)
    for path in paths:
        _ingest(national, path)
    merged = _workspace(tmp_path / "merged")
    ptw("merge", north / "store" / "ptw.duckdb", "-w", merged)
    ptw("export", "--parquet", tmp_path / "south_parquet", "-w", south)
    ptw("merge", tmp_path / "south_parquet", "-w", merged)
    expected, got = _tables(national), _tables(merged)
    assert expected.keys() == got.keys()
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], check_dtype=False)
    again = ptw("merge", north / "store" / "ptw.duckdb", "-w", merged)
    assert "0 batch(es) added" in again and "3 already present" in again
    assert _tables(merged)["responses_culture"].shape == expected["responses_culture"].shape


def test_merge_reports_conflicting_respondents_and_refuses_another_key(culture, tmp_path):
    path = next(iter(_exports(culture, tmp_path / "exports").values()))
    first, second = _workspace(tmp_path / "a"), _workspace(tmp_path / "b")
    _ingest(first, path)
    changed = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed.loc[0, "sex"] = "Male" if changed.loc[0, "sex"] != "Male" else "Female"
    changed.to_csv(tmp_path / "changed.csv", index=False)
    _ingest(second, tmp_path / "changed.csv")
    with ResponseStore(first / "store" / "ptw.duckdb") as store:
        report = merge_store(store, second / "store" / "ptw.duckdb", secret=bytes.fromhex(KEY))
        assert len(report.conflicts) == 1
        assert report.skipped == len(changed) - 1
        assert store.row_counts()["responses_culture"] == len(changed)
        held = store.quarantine()
        assert len(held) == 1 and "respondent_already_stored (merge)" in held["reasons"].iloc[0]
    other = _workspace(tmp_path / "c", key="ef" * 32)
    _ingest(other, path)
    with (
        ResponseStore(first / "store" / "ptw.duckdb") as store,
        pytest.raises(StoreError) as caught,
    ):
        merge_store(store, other / "store" / "ptw.duckdb", secret=bytes.fromhex(KEY))
    assert caught.value.code == "store.key_mismatch"


def test_quarantine_fix_and_release_counts_each_row_once(culture, tmp_path):
    path = next(iter(_exports(culture, tmp_path / "exports").values()))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    broken = frame.copy()
    broken.loc[[1, 4], "ethnicity"] = "Martian"
    broken.to_csv(tmp_path / "broken.csv", index=False)
    root = _workspace(tmp_path / "ws")
    out = _ingest(root, tmp_path / "broken.csv", "--issues", tmp_path / "issues.csv")
    assert f"{len(frame) - 2} accepted, 2 quarantined" in out
    issues = pd.read_csv(tmp_path / "issues.csv")
    assert sorted(issues["source_row"]) == [3, 6] and set(issues["rule"]) == {"unknown_option"}
    listed = json.loads(ptw("quarantine", "list", "--json", "-w", root))
    assert [row["source_row"] for row in listed] == [3, 6]

    ptw("quarantine", "export", tmp_path / "held.csv", "-w", root)
    held = pd.read_csv(tmp_path / "held.csv", dtype=str, keep_default_na=False)
    held.loc[0, "ethnicity"] = frame.loc[1, "ethnicity"]  # fix one row only
    held.to_csv(tmp_path / "fixed.csv", index=False)
    out = ptw("quarantine", "release", tmp_path / "fixed.csv", "-w", root)
    assert "1 row(s) released, 1 still held" in out
    out = ptw("quarantine", "release", tmp_path / "fixed.csv", "-w", root)
    assert "0 row(s) released, 1 still held, 1 released before" in out
    status = json.loads(ptw("status", "--json", "-w", root))
    assert status["responses"] == len(frame) - 1 and status["quarantined"] == 1

    out = _ingest(root, path)  # the corrected whole file
    assert f"1 accepted, 0 quarantined, 0 flagged, {len(frame) - 1} already stored" in out
    assert "1 row(s) quarantined earlier are now released" in out
    status = json.loads(ptw("status", "--json", "-w", root))
    assert status["responses"] == len(frame) and status["quarantined"] == 0
    assert status["by_cycle"] == {"2024": len(frame)}
    assert sum(status["by_region"].values()) == len(frame) and status["batches"] == 2


def test_records_ingest_and_status(tmp_path):
    root = _workspace(tmp_path / "ws")
    records = pd.DataFrame({
        "Person identifier": ["P1", "P2", "P3"], "Start date in post": ["2019-04-01", "01/09/2021", "45300"],
        "end_date": ["", "31/03/2024", ""], "leaving_reason": ["", "Retirement", ""], "fte": ["1", "60%", "0.8"],
        "ethnicity": ["A", "H", "N"], "long_term_condition": ["N", "N", "N"], "region": ["LON"] * 3,
        "sector": ["HOSP"] * 3, "career_stage": ["GT10"] * 3,
    })  # fmt: skip
    records.to_excel(tmp_path / "workforce.xlsx", index=False)
    out = ptw("records", "ingest", tmp_path / "workforce.xlsx", "--kind", "workforce", "-w", root)
    assert "2 accepted, 1 quarantined" in out  # fte 60% is above the maximum of 1.5
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        table = store.read_table("records_workforce").sort_values("source_row")
    assert table["start_date"].tolist() == ["2019-04-01", "2024-01-09"]  # serial 45300 = 2024-01-09
    assert table["end_date"].tolist()[0] is None or pd.isna(table["end_date"].tolist()[0])
    assert table["cycle"].unique().tolist() == [2024]  # extract year: the latest date in the file
    status = json.loads(ptw("status", "--json", "-w", root))
    assert status["records"] == 2 and status["responses"] == 0 and status["quarantined"] == 1


def test_suggested_mapping_drafts_and_then_maps_headers(culture, tmp_path):
    path = next(iter(_exports(culture, tmp_path / "exports").values()))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    renamed = frame.rename(
        columns={"sector": "Main sectr", "respondent_id": "Response ID", "sex": "Gender?"}
    )
    renamed.to_csv(tmp_path / "forms.csv", index=False)
    root = _workspace(tmp_path / "ws")
    # a flag on the file being ingested: the file is given once, where it always goes
    draft = ptw(
        "ingest", tmp_path / "forms.csv", "--survey", "culture", "--suggest-mapping", "-w", root
    )
    mapping = yaml.safe_load(draft)
    assert mapping["ethnicity"] == "ethnicity"
    assert mapping["Main sectr"] == "sector"  # fuzzy, marked for checking
    assert "# check: fuzzy match" in draft
    mapping.update({"Response ID": "respondent_id", "Gender?": "sex"})
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(mapping))
    out = _ingest(root, tmp_path / "forms.csv", "--mapping", tmp_path / "map.yaml")
    assert f"{len(frame)} accepted, 0 quarantined" in out
    shutil.rmtree(root)


def test_a_table_read_without_some_columns_has_all_the_others(culture, tmp_path):
    """Known truth: the stored table itself, less the columns left out; ``ptw analyse`` reads
    responses without their batch, keyed identifier, export row and warning flag."""
    root = _workspace(tmp_path / "ws")
    _ingest(root, next(iter(_exports(culture, tmp_path).values())))
    with ResponseStore(root / "store" / "ptw.duckdb") as store:
        whole = store.read_table("responses_culture")
        left_out = ("batch_id", "respondent", "source_row", "flagged")
        fewer = store.read_table("responses_culture", leave_out=left_out)
    assert len(whole) > 0 and not set(left_out) & set(fewer.columns)
    pd.testing.assert_frame_equal(fewer, whole.drop(columns=list(left_out)))
    assert set(NOT_ANALYSED) == set(left_out)
