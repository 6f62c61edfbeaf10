"""Results bundles: the only thing reports read (DESIGN.md decision 3).

A bundle is a folder of Parquet tables plus ``manifest.json`` (plan, instrument versions,
batches used, parameters, toolkit version, data time). Writing is deterministic: rows are
sorted, no index is stored, and the manifest holds no wall-clock time, so the same inputs
give byte-identical files.

Integrity: the manifest records the SHA-256 digest of every table file (``digests``), and
:func:`read_bundle` refuses a bundle whose files do not match (an edited count, a truncated
file) or whose manifest is broken, with a :class:`PtwError`, never a traceback. When the
disclosure audit passed at write time, the manifest also holds an *audit seal*: an HMAC, keyed
by the workspace's secret, over the digests and the threshold audited. A reader holding the key
can trust a matching seal and skip re-running the attack (:func:`audited_threshold`); an edited
manifest or table breaks the seal, and the bundle is then audited again in full.
"""

from __future__ import annotations

import hashlib
import hmac
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
_SEAL_CONTEXT = b"ptw results bundle audit seal v1"


@dataclass
class Bundle:
    """Tables by name and the manifest describing how they were made."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    manifest: dict[str, object] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """Table ``name`` (an empty DataFrame if the bundle has none)."""
        return self.tables.get(name, pd.DataFrame())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _seal(key: bytes, digests: Mapping[str, str], threshold: int) -> str:
    """HMAC-SHA256 over the table digests and the audited threshold, with a derived key."""
    derived = hmac.new(key, _SEAL_CONTEXT, hashlib.sha256).digest()
    message = json.dumps({"digests": dict(sorted(digests.items())), "threshold": threshold})
    return hmac.new(derived, message.encode("utf-8"), hashlib.sha256).hexdigest()


def write_bundle(
    bundle: Bundle, folder: Path, *, audited: int | None = None, key: bytes | None = None
) -> Path:
    """Write ``bundle`` to ``folder`` (replacing what was there) and return the folder.

    ``audited`` (with ``key``, the workspace secret): the threshold at which the caller's
    disclosure audit passed; the manifest then carries the audit seal.
    """
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    digests = {}
    for name, frame in sorted(bundle.tables.items()):
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
        digests[name] = _digest(staging / f"{name}.parquet")
    manifest = {**bundle.manifest, "tables": sorted(bundle.tables), "digests": digests}
    manifest.pop("audit", None)
    if audited is not None and key is not None:
        manifest["audit"] = {"threshold": audited, "seal": _seal(key, digests, audited)}
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
    manifest = _manifest(manifest_path)
    digests = manifest["digests"]
    names = list(tables) if tables else list(manifest["tables"])
    return Bundle(tables={name: _table(folder, name, digests) for name in names}, manifest=manifest)


def _broken(path: Path, problem: str, code: str = "bundle.broken") -> PtwError:
    return PtwError(
        code=code,
        message=f"the results bundle cannot be trusted: {problem}",
        file=str(path),
        fix="re-run `ptw analyse` to write the bundle again; never edit a results bundle by hand",
    )


def _manifest(path: Path) -> dict[str, object]:
    """The manifest, checked for the fields a reader relies on."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _broken(path, f"manifest.json is not readable JSON ({error})") from error
    if not isinstance(manifest, dict):
        raise _broken(path, "manifest.json does not hold an object")
    tables, digests = manifest.get("tables"), manifest.get("digests")
    if not isinstance(tables, list) or not isinstance(digests, dict):
        raise _broken(path, "manifest.json lists no tables or no table digests "
                      "(written by an older ptw, or edited)")  # fmt: skip
    if set(tables) != set(digests) or not all(isinstance(v, str) for v in digests.values()):
        raise _broken(path, "manifest.json's table list and digests disagree")
    return manifest


def _table(folder: Path, name: str, digests: Mapping[str, str]) -> pd.DataFrame:
    """Table ``name``, after checking its file against the manifest's digest."""
    path = folder / f"{name}.parquet"
    if name not in digests:
        raise _broken(path, f"table '{name}' is not in the manifest")
    if not path.exists():
        raise _broken(path, f"table '{name}' is missing")
    if _digest(path) != digests[name]:
        raise _broken(path, f"table '{name}' was changed after it was written (its digest "
                      "does not match the manifest)", "bundle.tampered")  # fmt: skip
    try:
        return pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as error:
        raise _broken(path, f"table '{name}' is not a readable Parquet file ({error})") from error


def audited_threshold(bundle: Bundle, key: bytes) -> int | None:
    """The threshold at which the bundle's audit passed, if its seal verifies with ``key``.

    ``None`` when there is no seal or it does not match (the manifest's digests or threshold
    were edited, or another workspace wrote it): the caller must then audit in full.
    """
    audit = bundle.manifest.get("audit")
    if not isinstance(audit, dict) or not isinstance(audit.get("threshold"), int):
        return None
    digests = bundle.manifest.get("digests", {})
    expected = _seal(key, digests, audit["threshold"])  # type: ignore[arg-type]
    return audit["threshold"] if hmac.compare_digest(expected, str(audit.get("seal"))) else None
