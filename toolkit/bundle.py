"""Results bundles: the only thing reports read (DESIGN.md decision 3).

A bundle is a folder of Parquet tables plus ``manifest.json`` (plan, instrument versions,
batches used, parameters, toolkit version, data time). Writing is deterministic: rows are
sorted, no index is stored, and the manifest holds no wall-clock time, so the same inputs
give byte-identical files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.errors import PtwError

MANIFEST = "manifest.json"


@dataclass
class Bundle:
    """Tables by name and the manifest describing how they were made."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    manifest: dict[str, object] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """Table ``name`` (an empty DataFrame if the bundle has none)."""
        return self.tables.get(name, pd.DataFrame())


def write_bundle(bundle: Bundle, folder: Path) -> Path:
    """Write ``bundle`` to ``folder`` (replacing what was there) and return the folder."""
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, frame in sorted(bundle.tables.items()):
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
    manifest = {**bundle.manifest, "tables": sorted(bundle.tables)}
    (staging / MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True, default=str), encoding="utf-8"
    )
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def read_bundle(folder: Path, tables: Mapping[str, object] | None = None) -> Bundle:
    """Read a bundle written by :func:`write_bundle` (all tables, or those named)."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise PtwError(
            code="bundle.missing",
            message="no results bundle here",
            file=str(folder),
            fix="run `ptw analyse` first",
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    names = list(tables) if tables else manifest.get("tables", [])
    return Bundle(
        tables={name: pq.read_table(folder / f"{name}.parquet").to_pandas() for name in names},
        manifest=manifest,
    )
