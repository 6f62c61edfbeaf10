"""The bad-input corpus (tests/ingest/bad, written by make_bad_inputs.py): every file gives
exactly the error code or quarantine reason listed in EXPECTED.csv, and a refused file leaves
the store as it was (same tables, same row counts)."""

from __future__ import annotations

import csv
import shutil
from functools import cache
from pathlib import Path

import pytest

import tests.ingest.bad.make_bad_inputs as corpus
from toolkit.errors import PtwError
from toolkit.ingest.mapping import read_mapping
from toolkit.ingest.pipeline import Target, ingest_file, records_target, survey_target
from toolkit.instruments.model import load_instrument
from toolkit.resources import surveys_dir
from toolkit.store.database import ResponseStore

BAD = Path(__file__).parent / "bad"
CASES = list(csv.DictReader((BAD / "EXPECTED.csv").open(encoding="utf-8")))
SECRET = b"corpus-key" * 4


@cache
def _target(name: str) -> Target:
    if name == "culture":
        return survey_target(load_instrument(surveys_dir() / "culture.yaml"))
    return records_target(name, load_instrument(surveys_dir() / f"{name}_records.yaml"))


def _ingest(store: ResponseStore, path: Path, target_name: str) -> object:
    target = _target(target_name)
    mapping_file = path.with_suffix(".yaml")
    return ingest_file(
        store, path, target,
        cycle=2024 if target.kind == "survey" else None,
        region="Atlantis" if "unknown_region" in path.name else "London",
        secret=SECRET,
        mapping=read_mapping(mapping_file) if mapping_file.exists() else None,
        strict="strict" in path.name,
    )  # fmt: skip


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one good survey batch and one good records batch."""
    folder = tmp_path_factory.mktemp("seed")
    with ResponseStore(folder / "store.duckdb") as store:
        for name, target in (("good_survey.csv", "culture"), ("good_workforce.csv", "workforce")):
            frame = corpus.good_survey() if target == "culture" else corpus.good_workforce()
            frame = frame.assign(**{frame.columns[0]: "seed-" + frame[frame.columns[0]]})
            frame.to_csv(folder / name, index=False)
            report = _ingest(store, folder / name, target)
            assert report.batch.quarantined == 0, report.issues
    return folder / "store.duckdb"


def test_corpus_has_one_file_per_kind_and_at_least_30():
    files = {
        p.name
        for p in BAD.iterdir()
        if p.suffix not in (".py", ".yaml") and p.name != "EXPECTED.csv"
    }
    assert files == {case["file"] for case in CASES}
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_input_gives_its_expected_outcome(case, seeded_store, tmp_path):
    store_path = tmp_path / "store.duckdb"
    shutil.copy(seeded_store, store_path)
    with ResponseStore(store_path) as store:
        before = store.row_counts()
        if case["outcome"] == "refused":
            with pytest.raises(PtwError) as caught:
                _ingest(store, BAD / case["file"], case["target"])
            assert caught.value.code == case["code"]
            assert case["message"] in str(caught.value)
            if case["source_row"]:
                assert caught.value.row == int(case["source_row"])
            assert store.row_counts() == before
            return
        report = _ingest(store, BAD / case["file"], case["target"])
        severity = "error" if case["outcome"] == "quarantined" else "warning"
        hits = report.issues[
            (report.issues["rule"] == case["code"]) & (report.issues["severity"] == severity)
        ]
        assert int(case["source_row"]) in hits["source_row"].astype(int).tolist(), report.issues
        assert any(case["message"] in m for m in hits["message"]), hits["message"].tolist()
        table = _target(case["target"]).table
        held = store.read_table("quarantine", where="batch_id = ?", params=[report.batch.batch_id])
        stored = store.read_table(table, where="batch_id = ?", params=[report.batch.batch_id])
        if case["outcome"] == "quarantined":
            row = held[held["source_row"] == int(case["source_row"])]
            assert len(row) == 1 and f"({case['code']})" in row["reasons"].iloc[0]
            assert int(case["source_row"]) not in stored["source_row"].tolist()
        elif case["code"] != "unknown_column":
            assert held.empty
            assert stored.loc[stored["source_row"] == int(case["source_row"]), "flagged"].item()
        assert report.batch.rows_read == report.batch.accepted + report.batch.quarantined
