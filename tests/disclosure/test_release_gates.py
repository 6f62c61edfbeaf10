"""The release gates through the real `ptw` command line, on a small real workspace.

One workspace (synthetic exports for one cycle, ingested; a plan cut to two indicators) is
analysed once with ``ptw analyse --threshold 5`` while its ``ptw.toml`` says 10, so its bundle
is sealed as audited at 5. Each test copies it, breaks one thing, and runs `ptw report` (HTML)
and `ptw export --excel`: a refusal is exit status 1 with a plain message on stderr naming
what is wrong, no exception escaping (so no traceback), and no output written. The untouched
bundle is published where ``ptw.toml`` says 5.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from toolkit.bundle import Bundle, read_bundle, write_bundle
from toolkit.cli import app
from toolkit.config import init_workspace, load_workspace
from toolkit.errors import PtwError
from toolkit.ingest.pipeline import ingest_survey_file
from toolkit.instruments.model import instrument_path, load_instrument
from toolkit.store.database import ResponseStore
from toolkit.synth.responses import parse_cycles, spec_for, write_platform_exports

INDICATORS = ("harassment_public", "think_leaving")
ANALYSED = 5  # `ptw analyse --threshold 5`
WORKSPACE = 10  # what ptw.toml says
OUTPUTS = {"report": Path("out/reports/national.html"), "export": Path("release.xlsx")}


def ptw(root: Path, command: str) -> Result:
    """`ptw report national` or `ptw export --excel` in the workspace ``root``."""
    args = {"report": ["report", "national", "--engine", "builtin"],
            "export": ["export", "--excel", str(root / OUTPUTS["export"])]}[command]  # fmt: skip
    return CliRunner().invoke(app, [*args, "--workspace", str(root)])


def _small_plan(root: Path) -> None:
    """The default plan cut to :data:`INDICATORS`, without pooling, used through ptw.toml."""
    space = load_workspace(root)
    plan = yaml.safe_load(space.plan_path.read_text(encoding="utf-8"))
    plan["indicators"] = [i for i in plan["indicators"] if i["name"] in INDICATORS]
    plan["small_numbers"] |= {"indicators": list(INDICATORS[:1]), "pooling": False}
    (root / "plan.yaml").write_text(yaml.safe_dump(plan), encoding="utf-8")
    toml = root / "ptw.toml"
    toml.write_text(toml.read_text().replace('plan = ""', 'plan = "plan.yaml"'))


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small workspace, analysed with ``--threshold 5`` through the command line."""
    root = tmp_path_factory.mktemp("gates") / "ws"
    space = init_workspace(root)
    _small_plan(root)
    instruments = {s: load_instrument(instrument_path(space.surveys_dir, s))
                   for s in ("culture", "retention")}  # fmt: skip
    exports = write_platform_exports(spec_for(parse_cycles("2025"), 210, 3), instruments,
                                     root / "exports")  # fmt: skip
    with ResponseStore(space.store_path) as store:
        for path in exports:
            survey, cycle, region = path.stem.split("_")
            ingest_survey_file(store, path, instrument=instruments[survey], cycle=int(cycle),
                               region=region, secret=space.secret())  # fmt: skip
    result = CliRunner().invoke(app, ["analyse", "--threshold", str(ANALYSED), "--workspace",
                                      str(root)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load_workspace(root).threshold == WORKSPACE
    return root


def copy_of(analysed: Path, tmp_path: Path, *, threshold: int = ANALYSED) -> Path:
    """A copy of the analysed workspace whose ptw.toml says ``threshold``."""
    root = tmp_path / "ws"
    shutil.copytree(analysed, root)
    toml = root / "ptw.toml"
    toml.write_text(
        toml.read_text().replace(f"threshold = {WORKSPACE}", f"threshold = {threshold}")
    )
    assert load_workspace(root).threshold == threshold
    return root


def refused(root: Path, command: str, *words: str) -> None:
    """``command`` exits 1 with a message holding ``words``, no traceback and no output."""
    result = ptw(root, command)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # no traceback
    message = " ".join(result.output.split())
    assert "error:" in message and "Traceback" not in message, message
    for word in words:
        assert word in message, message
    assert not (root / OUTPUTS[command]).exists()


def comparisons(root: Path) -> Path:
    return root / "out" / "bundle" / "comparisons.parquet"


def edit_a_count(path: Path) -> None:
    """Rewrite ``path`` (the comparisons table) with a published group's n set to 3."""
    table = pq.read_table(path).to_pandas()
    row = table.index[~table["suppressed"] & (table["n"] >= 20)][0]
    table.loc[row, "n"] = 3
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path)


COMMANDS = tuple(OUTPUTS)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_untouched_bundle_is_published(analysed: Path, tmp_path: Path, command: str) -> None:
    root = copy_of(analysed, tmp_path)
    result = ptw(root, command)
    assert result.exit_code == 0, result.output
    assert (root / OUTPUTS[command]).stat().st_size > 10_000


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bundle_analysed_below_the_workspace_threshold_is_refused(
    analysed: Path, tmp_path: Path, command: str
) -> None:
    root = copy_of(analysed, tmp_path, threshold=WORKSPACE)
    refused(root, command, "analysed with a threshold of 5", "below this workspace's 10",
            "ptw analyse")  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_an_edited_count_is_refused(analysed: Path, tmp_path: Path, command: str) -> None:
    root = copy_of(analysed, tmp_path)
    edit_a_count(comparisons(root))
    refused(root, command, "comparisons.parquet", "changed after `ptw analyse` wrote it")


@pytest.mark.parametrize("command", COMMANDS)
def test_an_edited_count_with_its_digest_updated_breaks_the_seal(
    analysed: Path, tmp_path: Path, command: str
) -> None:
    root = copy_of(analysed, tmp_path)
    edit_a_count(comparisons(root))
    path = root / "out" / "bundle" / "manifest.json"
    manifest = json.loads(path.read_text())  # the tamperer updates the digest too
    manifest["digests"]["comparisons"] = hashlib.sha256(comparisons(root).read_bytes()).hexdigest()
    path.write_text(json.dumps(manifest))
    refused(root, command, "no audit seal that this workspace's key verifies", "manifest.json")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bundle_sealed_with_another_key_is_refused(
    analysed: Path, tmp_path: Path, command: str
) -> None:
    root = copy_of(analysed, tmp_path)
    folder = root / "out" / "bundle"
    write_bundle(read_bundle(folder), folder, key=b"another workspace's key 32 bytes",
                 audited_threshold=ANALYSED)  # fmt: skip
    refused(root, command, "no audit seal that this workspace's key verifies")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_manifest_claiming_a_higher_threshold_is_refused(
    analysed: Path, tmp_path: Path, command: str
) -> None:
    root = copy_of(analysed, tmp_path, threshold=WORKSPACE)
    path = root / "out" / "bundle" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["audit"]["threshold"] = WORKSPACE
    manifest["suppression"]["threshold"] = WORKSPACE
    path.write_text(json.dumps(manifest))
    refused(root, command, "no audit seal that this workspace's key verifies")


BREAKAGES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "truncated parquet": (
        lambda b: (b / "comparisons.parquet").write_bytes((b / "comparisons.parquet").read_bytes()[:500]),
        ("comparisons.parquet", "cannot be trusted", "table 'comparisons'", "truncated"),
    ),
    "missing table": (
        lambda b: (b / "likert.parquet").unlink(),
        ("likert.parquet", "table 'likert' is missing"),
    ),
    "malformed manifest": (
        lambda b: (b / "manifest.json").write_text((b / "manifest.json").read_text()[:-40]),
        ("manifest.json", "not readable JSON"),
    ),
    "manifest without digests": (
        lambda b: (b / "manifest.json").write_text(json.dumps(
            {k: v for k, v in json.loads((b / "manifest.json").read_text()).items() if k != "digests"})),
        ("manifest.json", "no table digests"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_bundle_gets_a_clear_error(
    analysed: Path, tmp_path: Path, command: str, breakage: str
) -> None:
    root = copy_of(analysed, tmp_path)
    damage, words = BREAKAGES[breakage]
    damage(root / "out" / "bundle")
    refused(root, command, *words)


def test_a_file_that_matches_a_forged_digest_but_is_not_parquet_is_a_clear_error(
    tmp_path: Path,
) -> None:
    folder = write_bundle(Bundle(tables={"t": pd.DataFrame({"n": [12.0]})},
                                 manifest={"suppression": {"threshold": 10}}), tmp_path / "b")  # fmt: skip
    (folder / "t.parquet").write_bytes(b"PAR1 not really")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["digests"]["t"] = hashlib.sha256(b"PAR1 not really").hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PtwError, match="table 't' is not a readable Parquet file") as error:
        read_bundle(folder)
    assert error.value.file == str(folder / "t.parquet")
