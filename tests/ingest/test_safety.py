"""Issue 11: identifiers stay inside, ptw's own files are safe, guards on size, cycles and numbers.

Every file a person may open (issues file, quarantine export, Parquet microdata) and every
table of the store is searched for every raw identifier of the files ingested (the results
workbook is written from the bundle, which holds no row-level data, with the same safe cells,
see tests/reports/test_excel_export.py); every workbook ptw
writes is opened and checked for live formulas; the quarantine round trip is run with
hostile text in CSV and .xlsx and must give back exactly what a clean ingest stores.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.ingest.bad.make_bad_inputs import good_recruitment, zip_bomb
from tests.ingest.conftest import culture_codes, ptw, to_labels
from toolkit.cli import app
from toolkit.config import init_workspace
from toolkit.errors import IngestError, PtwError, StoreError
from toolkit.ingest.coding import LARGEST_NUMBER, code_number
from toolkit.ingest.pipeline import quarantine_sheet, read_quarantine_sheet
from toolkit.ingest.readers import read_export
from toolkit.ingest.sheets import (
    FORMULA_STARTS,
    escape,
    neutralise,
    restore,
    unescape,
    write_sheet,
)
from toolkit.instruments.model import Item
from toolkit.store.database import ResponseStore
from toolkit.store.merge import merge_store

KEY = "ab" * 32
HOSTILE = [
    "=1+1\x00after a NUL",
    "\x00starts with NUL",
    "line one\rline two",
    "windows\r\nline\nunix",
    "\ttab first",
    "middle\ttab",
    "+SUM(A1:A9)",
    "-2+3",
    '@HYPERLINK("http://example.org")',
    "'=already quoted",
    "''+two apostrophes",
    "_x000D_ looks escaped",
    "_x005F_x0041_ nested",
    "日本語のテキスト",
    "مرحبا بالعالم",
    "Ελληνικά \u2028 separator",
    "-" + "long text " * 3_200,
]
#: Text of many control characters (a CSV of it reads as binary, so only the sheet test has it).
CONTROL_HEAVY = "=" + "é\r\x01" * 2_000


def _workspace(folder: Path, key: str = KEY, *, max_unzipped_mb: str = "300") -> Path:
    space = init_workspace(folder)
    (space.root / ".ptw-secret").write_text(key)
    config = space.root / "ptw.toml"
    setting = config.read_text().replace(
        "max_unzipped_mb = 300", f"max_unzipped_mb = {max_unzipped_mb}"
    )
    config.write_text(setting)
    return space.root


def _fails(*args: str | Path) -> str:
    """Run `ptw`; assert it failed with a message and no traceback; return the output."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


# --- safe cells ------------------------------------------------------------------------------


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet=st.sampled_from("=+-@'\t\r\n\x00\x01_x0Dab日 "), max_size=12))
def test_neutralise_and_escape_are_reversible_and_safe(text):
    safe = neutralise(text)
    assert restore(safe) == text
    assert not safe.startswith(FORMULA_STARTS)
    written = escape(safe)
    assert unescape(written) == safe
    assert not any(ch in written for ch in "\x00\x01\r")
    assert not written.startswith(FORMULA_STARTS)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_quarantine_sheet_reads_back_byte_identical(tmp_path, suffix):
    cells = pd.DataFrame({"quarantine_id": [f"b:{k}" for k in range(len(HOSTILE))],
                          "batch_id": "b", "source_file": "f.csv",
                          "source_row": np.arange(2, len(HOSTILE) + 2), "reasons": HOSTILE,
                          "=header": HOSTILE, "free text": [CONTROL_HEAVY, *HOSTILE[1:]]})  # fmt: skip
    path = write_sheet(cells, tmp_path / f"held{suffix}")
    back = read_quarantine_sheet(path).frame
    assert list(back.columns) == list(cells.columns)
    for column in ("reasons", "=header", "free text"):
        assert back[column].tolist() == cells[column].tolist(), column


def test_a_cell_too_long_for_xlsx_once_made_safe_is_refused_not_cut(tmp_path):
    cells = pd.DataFrame({"text": ["=" + "\r" * 5_000]})  # 35,001 characters once escaped
    with pytest.raises(PtwError) as caught:
        write_sheet(cells, tmp_path / "long.xlsx")
    assert caught.value.code == "sheet.cell_too_long" and caught.value.row == 2
    assert not (tmp_path / "long.xlsx").exists()
    path = write_sheet(cells.assign(quarantine_id="b:2", batch_id="b", source_file="f",
                                    source_row=2, reasons="r"), tmp_path / "long.csv")  # fmt: skip
    assert read_quarantine_sheet(path).frame["text"].tolist() == cells["text"].tolist()


# --- the quarantine round trip through the command line -------------------------------------


def _recruitment_with_hostile_posts() -> pd.DataFrame:
    """One recruitment record per hostile text, in the free-text ``post`` item."""
    base = good_recruitment().iloc[[0]]
    frame = pd.concat([base] * len(HOSTILE), ignore_index=True)
    frame["application_id"] = [f"APP-{k:03d}" for k in range(len(HOSTILE))]
    frame["post"] = HOSTILE
    return frame


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """A CSV a survey platform could write: every cell quoted, so CR and NUL stay in cells."""
    frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    return path


def _fix_stage(path: Path) -> None:
    """Edit the export as a person would, correcting only the ``stage`` cells."""
    if path.suffix == ".xlsx":
        book = load_workbook(path)
        sheet = book.active
        header = [cell.value for cell in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            row[header.index("stage")].value = "Applied"
        book.save(path)
        return
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("stage")
    for row in rows[1:]:
        row[column] = "Applied"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _stored_posts(root: Path) -> dict[int, str]:
    with ResponseStore(root / "store" / "ptw.duckdb", read_only=True) as store:
        table = store.read_table("records_recruitment")
    return dict(zip(table["source_row"].astype(int), table["post"], strict=True))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_quarantine_release_restores_hostile_text_exactly(tmp_path, suffix):
    clean = _recruitment_with_hostile_posts()
    broken = clean.assign(stage="Interviewed")  # not an option: every row is quarantined
    clean_root, root = _workspace(tmp_path / "clean"), _workspace(tmp_path / "ws")
    ptw("records", "ingest", _write_csv(clean, tmp_path / "clean.csv"), "--kind", "recruitment",
        "-w", clean_root)  # fmt: skip
    out = ptw("records", "ingest", _write_csv(broken, tmp_path / "broken.csv"),
              "--kind", "recruitment", "-w", root, "--issues", tmp_path / f"issues{suffix}")  # fmt: skip
    assert f"0 accepted, {len(HOSTILE)} quarantined" in out

    held = tmp_path / f"held{suffix}"
    ptw("quarantine", "export", held, "-w", root)
    _fix_stage(held)
    out = ptw("quarantine", "release", held, "-w", root)
    assert f"{len(HOSTILE)} row(s) released, 0 still held" in out
    assert _stored_posts(root) == _stored_posts(clean_root)
    assert len(_stored_posts(root)) == len(HOSTILE)
    assert "=1+1\x00after a NUL" in _stored_posts(root).values()


def test_an_unedited_export_releases_nothing_and_changes_nothing(tmp_path):
    root = _workspace(tmp_path / "ws")
    broken = _recruitment_with_hostile_posts().assign(stage="Interviewed")
    ptw("records", "ingest", _write_csv(broken, tmp_path / "broken.csv"), "--kind", "recruitment",
        "-w", root)  # fmt: skip
    with ResponseStore(root / "store" / "ptw.duckdb", read_only=True) as store:
        before = quarantine_sheet(store.quarantine())
    for suffix in (".csv", ".xlsx"):
        ptw("quarantine", "export", tmp_path / f"held{suffix}", "-w", root)
        assert "0 row(s) released" in ptw("quarantine", "release", tmp_path / f"held{suffix}",
                                          "-w", root)  # fmt: skip
        back = read_quarantine_sheet(tmp_path / f"held{suffix}").frame
        assert back["post"].tolist() == before["post"].tolist()


# --- no raw identifier and no live formula in any output ------------------------------------


def _cells_of(path: Path) -> list[str]:
    """Every text in a file ptw wrote: Parquet cells, every XML part of a workbook, or text."""
    if path.suffix == ".parquet":
        table = pq.read_table(path).to_pandas()
        return [str(v) for v in [*table.columns, *table.to_numpy().ravel()]]
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            return [archive.read(name).decode("utf-8") for name in archive.namelist()]
    return [path.read_text(encoding="utf-8")]


def _no_live_formula(path: Path) -> None:
    book = load_workbook(path)
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (path.name, cell.coordinate)
                assert not (isinstance(cell.value, str) and cell.value.startswith("=")), (
                    path.name, cell.coordinate, cell.value)  # fmt: skip


def test_no_output_holds_a_raw_identifier_or_a_live_formula(culture, tmp_path):
    labels = to_labels(culture_codes(culture, responses=400, seed=3), culture)
    ids = [f"RID-Qx{k:05d}-Z" for k in range(len(labels))]
    labels["respondent_id"] = ids
    labels["email"] = [f"{i}@trust.nhs.uk" for i in ids]  # not an item: never kept
    labels["staff number"] = ids
    labels.loc[[1, 2], "ethnicity"] = ['=HYPERLINK("http://x")', "@cmd"]  # quarantined
    labels.loc[3, "respondent_id"] = ids[4]  # a duplicate: the issue's value is an identifier
    _write_csv(labels, tmp_path / "culture.csv")
    recruitment = _recruitment_with_hostile_posts()
    recruitment.loc[1, "stage"] = "Interviewed"
    _write_csv(recruitment, tmp_path / "recruitment.csv")
    secrets = ids + recruitment["application_id"].tolist()

    root = _workspace(tmp_path / "ws")
    out = tmp_path / "out"
    out.mkdir()
    ptw("ingest", tmp_path / "culture.csv", "--survey", "culture", "--cycle", "2024", "-w", root,
        "--issues", out / "issues.xlsx")  # fmt: skip
    ptw("ingest", tmp_path / "culture.csv", "--survey", "culture", "--cycle", "2024", "-w", root,
        "--issues", out / "issues.csv")  # fmt: skip
    ptw("records", "ingest", tmp_path / "recruitment.csv", "--kind", "recruitment", "-w", root,
        "--issues", out / "records_issues.xlsx")  # fmt: skip
    ptw("quarantine", "export", out / "held.xlsx", "-w", root)
    ptw("quarantine", "export", out / "held.csv", "-w", root)
    ptw("export", "--parquet", out / "parquet", "-w", root)

    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".xlsx", ".csv", ".parquet", ".json"}
    with ResponseStore(root / "store" / "ptw.duckdb", read_only=True) as store:
        assert len(store.quarantine()) == 4  # two unknown options, a duplicate, a record
        issues = store.read_table("issues")
        stored = [store.read_table(t) for t in store.tables()]
    assert {"duplicate_respondent", "unknown_option", "unknown_column"} <= set(issues["rule"])
    texts = [text for path in files for text in _cells_of(path)]
    texts += [str(v) for table in stored for v in table.to_numpy().ravel()]
    everything = "\n".join(texts)
    leaked = sorted(s for s in secrets if s in everything)
    assert not leaked, leaked
    parquet = " ".join(text for p in files if p.suffix == ".parquet" for text in _cells_of(p))
    assert "after a NUL" not in parquet and "tab first" not in parquet  # free text left out
    assert "post" not in pq.read_table(out / "parquet" / "records_recruitment.parquet").schema.names
    for path in files:
        if path.suffix == ".xlsx":
            _no_live_formula(path)
    assert "=HYPERLINK" in " ".join(_cells_of(out / "held.xlsx"))  # present, but as text


# --- guards ----------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_before_it_is_opened_and_the_limit_is_configurable(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    zip_bomb(bomb, expanded_mb=40)
    assert bomb.stat().st_size < 200_000
    strict = _workspace(tmp_path / "strict", max_unzipped_mb="20")
    text = _fails("ingest", bomb, "--survey", "culture", "--cycle", "2024", "-w", strict)
    assert "read.too_large_unzipped" in text and "max_unzipped_mb" in text
    with ResponseStore(strict / "store" / "ptw.duckdb", read_only=True) as store:
        assert store.row_counts()["batches"] == 0
    with pytest.raises(IngestError) as caught:
        read_export(bomb, max_unzipped=20 * 2**20)
    assert caught.value.code == "read.too_large_unzipped"
    assert read_export(bomb, max_unzipped=64 * 2**20).frame.shape[0] == 1  # a real workbook


def test_a_zip_declaring_an_impossible_size_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<x/>" * 100)
    data = bytearray(buffer.getvalue())
    central = data.rindex(b"PK\x01\x02")  # the central directory entry: declared size at +24
    data[central + 24 : central + 28] = (2**31).to_bytes(4, "little")
    (tmp_path / "forged.xlsx").write_bytes(bytes(data))
    with pytest.raises(IngestError) as caught:
        read_export(tmp_path / "forged.xlsx")
    assert caught.value.code == "read.too_large_unzipped"
    assert "impossible size" in str(caught.value)


@pytest.mark.parametrize("cycle", ["1066", "2101", "-5", "99999999999999999999"])
def test_a_cycle_outside_1990_to_2100_is_refused(culture, tmp_path, cycle):
    root = _workspace(tmp_path / "ws")
    labels = to_labels(culture_codes(culture, responses=20), culture)
    labels.to_csv(tmp_path / "c.csv", index=False)
    text = _fails("ingest", tmp_path / "c.csv", "--survey", "culture", "--cycle", cycle, "-w", root)
    assert "ingest.implausible_cycle" in text and "1990 to 2100" in text
    text = _fails("records", "ingest", tmp_path / "c.csv", "--kind", "recruitment",
                  "--year", cycle, "-w", root)  # fmt: skip
    assert "ingest.implausible_cycle" in text


def test_a_bad_ingest_setting_is_a_clear_error(tmp_path):
    root = _workspace(tmp_path / "ws", max_unzipped_mb="-1")
    text = _fails("status", "-w", root)
    assert "workspace.bad_max_unzipped" in text


def test_numbers_beyond_what_a_double_holds_exactly_are_out_of_range():
    item = Item(name="count", type="integer", label="A count without bounds")
    raw = pd.Series(["12", "9007199254740993", "-1e400", "1e400", "9007199254740991",
                     "9007199254740992", "-9007199254740991"], dtype="string[pyarrow]")  # fmt: skip
    values, problems = code_number(item, raw)
    out = next(p for p in problems if p.rule == "out_of_range")
    assert out.mask.tolist() == [False, True, True, True, False, True, False]
    assert "between -9007199254740991 and 9007199254740991" in out.message
    assert values.iloc[4] == LARGEST_NUMBER == 2**53 - 1


# --- merge -----------------------------------------------------------------------------------


def _one_batch_store(tmp_path: Path, name: str, key: str) -> Path:
    root = _workspace(tmp_path / name, key=key)
    frame = good_recruitment().assign(application_id=lambda f: name + "-" + f["application_id"])
    frame.to_csv(tmp_path / f"{name}.csv", index=False)
    ptw("records", "ingest", tmp_path / f"{name}.csv", "--kind", "recruitment", "-w", root)
    return root / "store" / "ptw.duckdb"


def test_merge_refuses_another_key_even_with_a_forged_key_id_or_copied_check(tmp_path):
    ours = _one_batch_store(tmp_path, "ours", KEY)
    same_key = _one_batch_store(tmp_path, "friend", KEY)
    theirs = _one_batch_store(tmp_path, "theirs", "ef" * 32)
    with duckdb.connect(str(ours), read_only=True) as con:
        key_id, check = con.execute("SELECT key_id, key_check FROM batches").fetchone()
    with duckdb.connect(str(theirs)) as con:  # forge: our public key id and a real check of ours
        con.execute("UPDATE batches SET key_id = ?, key_check = ?", [key_id, check])
    with ResponseStore(ours) as store:
        with pytest.raises(StoreError) as caught:
            merge_store(store, theirs, secret=bytes.fromhex(KEY))
        assert caught.value.code == "store.key_mismatch"
        assert store.row_counts()["records_recruitment"] == 3
        report = merge_store(store, same_key, secret=bytes.fromhex(KEY))
        assert report.rows_added == {"records_recruitment": 3}
    text = _fails("merge", theirs, "-w", ours.parents[1])
    assert "store.key_mismatch" in text and "keyed check" in text
    manifest = tmp_path / "parquet"
    ptw("export", "--parquet", manifest, "-w", theirs.parents[1])
    assert json.loads((manifest / "manifest.json").read_text())["rows"]["batches"] == 1
    assert "store.key_mismatch" in _fails("merge", manifest, "-w", ours.parents[1])


@pytest.mark.parametrize("name", ["issues.ods", "issues.xls", "issues"])
def test_a_sheet_is_written_only_in_a_format_its_name_promises(tmp_path: Path, name: str) -> None:
    from toolkit.ingest.sheets import write_sheet

    with pytest.raises(PtwError) as caught:
        write_sheet(pd.DataFrame({"a": ["x"]}), tmp_path / name)
    assert caught.value.code == "sheet.unsupported_format"
    assert not (tmp_path / name).exists()


def test_ingest_refuses_an_issues_file_it_cannot_write_before_storing_anything(
    tmp_path: Path,
) -> None:
    space = tmp_path / "ws"
    init_workspace(space)
    export = tmp_path / "export.csv"
    export.write_text("respondent_id\nR1\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["ingest", str(export), "--survey", "culture", "--cycle", "2025", "--region", "LON",
         "--issues", str(tmp_path / "issues.ods"), "--workspace", str(space)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--issues writes a .csv or .xlsx file" in result.output
    from toolkit.config import load_workspace

    assert not load_workspace(space).store_path.exists()
